"""run_checks results: summary, row status, failures, split, fitness, edge-case frames, pandera export."""

from __future__ import annotations

import json

import pandas as pd
import pandera.pandas as pa
import pytest

from workbench.checks import (
    RuleSet,
    consent_present,
    expression,
    in_range,
    in_set,
    not_null,
    run_checks,
    to_pandera_schema,
    unique,
    valid_email,
    valid_phone,
)
from workbench.errors import WorkbenchError

AS_OF = "2025-01-01"
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil","x")'


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c3", "c5"],
            "email": ["a@b.com", SCRIPT, None, "d@e.org", FORMULA],
            "phone": ["(212) 555-0123", "12", None, "+44 20 7946 0958", ""],
            "age": [30, 200, None, 40, 50],
            "consent": ["Y", "N", None, "maybe", "yes"],
        },
        index=[10, 11, 12, 13, 14],
    )


RULES = [
    unique("customer_id", severity="critical"),
    not_null("email", severity="warning"),
    valid_email("email", mostly=0.5),
    valid_phone("phone", region="US", severity="warning"),
    in_range("age", 0, 120),
    consent_present("consent"),
]


def test_summary_counts_and_pass_rate(frame):
    s = run_checks(frame, RULES, key="customer_id", as_of=AS_OF).summary.set_index("name")
    assert list(s.columns) == ["check", "column", "dimension", "severity", "mostly", "tested", "failed",
                               "pass_rate", "passed"]
    assert s.loc["unique:customer_id", ["tested", "failed"]].tolist() == [5, 2]
    assert s.loc["not_null:email", ["tested", "failed"]].tolist() == [5, 1]
    assert s.loc["valid_email:email", ["tested", "failed"]].tolist() == [4, 2]
    assert s.loc["valid_email:email", "pass_rate"] == 0.5 and s.loc["valid_email:email", "passed"]  # mostly 0.5
    assert s.loc["valid_phone:phone", ["tested", "failed"]].tolist() == [3, 1]
    assert s.loc["in_range:age", ["tested", "failed"]].tolist() == [4, 1]
    assert s.loc["consent_present:consent", ["tested", "failed"]].tolist() == [5, 2]
    assert s.loc["unique:customer_id", "dimension"] == "uniqueness"


def test_row_status_is_index_aligned_nullable_boolean(frame):
    rs = run_checks(frame, RULES, as_of=AS_OF).row_status
    assert rs.index.equals(frame.index)
    assert list(rs.columns) == [r.name for r in RULES]
    assert all(str(t) == "boolean" for t in rs.dtypes)
    assert rs["valid_email:email"].tolist()[:2] == [True, False] and pd.isna(rs["valid_email:email"].iloc[2])


def test_failures_keep_every_failure_with_key_and_raw_value(frame):
    results = run_checks(frame, RULES, key="customer_id", as_of=AS_OF)
    f = results.failures
    assert list(f.columns) == ["rule", "key", "column", "value", "row"]
    assert len(f) == int(results.summary["failed"].sum())
    emails = f[f["rule"] == "valid_email:email"]
    assert emails["value"].tolist() == [SCRIPT, FORMULA]  # hostile values pass through unchanged, as text
    assert emails["key"].tolist() == ["c2", "c5"] and emails["row"].tolist() == [1, 4]
    assert f[f["rule"] == "not_null:email"]["value"].tolist() == [None]
    assert f[f["rule"] == "in_range:age"]["value"].tolist() == ["200.0"]
    assert results.counts().to_dict() == results.summary.set_index("name")["failed"].to_dict()


def test_frame_level_failure_names_involved_columns():
    frame = pd.DataFrame({"a": [1, 5], "b": [2, 3]})
    f = run_checks(frame, [expression("a < b", name="a_below_b")]).failures
    assert f.to_dict("records") == [{"rule": "a_below_b", "key": 1, "column": "a, b", "value": "a=5; b=3", "row": 1}]


def test_failing_rows_and_split(frame):
    results = run_checks(frame, RULES, key="customer_id", as_of=AS_OF)
    assert results.failing_rows("valid_email:email").index.tolist() == [11, 14]
    assert results.failing_rows().index.tolist() == [11, 12, 13, 14]
    good, bad = results.split()
    # warnings (not_null, phone) do not send a row to the failing side; errors and critical do
    assert good.index.tolist() == [10]
    assert bad.index.tolist() == [11, 12, 13, 14]
    only_warnings = run_checks(frame, [r for r in RULES if r.severity == "warning"], as_of=AS_OF)
    assert len(only_warnings.split()[0]) == 5
    with pytest.raises(WorkbenchError, match="no rule named"):
        results.failing_rows("nope")


def test_fitness_and_critical(frame):
    rules = RuleSet(RULES, {"contact": ["valid_email", "valid_phone:phone"], "all": ["not_null:email"]})
    results = run_checks(frame, rules, as_of=AS_OF)
    assert results.fitness() == {"contact": 40.0, "all": 80.0}
    assert results.fit_rows()["contact"].tolist() == [True, False, False, True, False]
    assert results.fitness({"x": ["unique:customer_id"], "ghost": ["no_such_rule"]}) == {"x": 60.0}
    assert results.critical_failed


def test_to_dict_is_json(frame):
    d = run_checks(frame, RuleSet(RULES, {"contact": ["valid_email"]}), as_of=AS_OF).to_dict()
    text = json.dumps(d)
    assert d["rows"] == 5 and len(d["checks"]) == len(RULES)
    assert set(d["checks"][0]) == {"name", "check", "column", "dimension", "severity", "tested", "failed",
                                   "mostly", "pass_rate", "passed"}
    assert d["fitness"] == {"contact": 40.0} and d["critical_failed"] is True and "as_of" in text


@pytest.mark.parametrize("rows", [0, 1])
def test_empty_and_one_row_frames(frame, rows):
    results = run_checks(frame.iloc[:rows], RULES, key="customer_id", as_of=AS_OF)
    s = results.summary
    assert len(s) == len(RULES) and (s["pass_rate"] <= 1.0).all()
    if rows == 0:
        assert (s["tested"] == 0).all() and (s["pass_rate"] == 1.0).all() and s["passed"].all()
        assert results.failures.empty and len(results.row_status) == 0
        assert results.fitness({"p": ["not_null:email"]}) == {"p": 100.0}
    good, bad = results.split()
    assert len(good) + len(bad) == rows


def test_all_null_column():
    frame = pd.DataFrame({"email": [None, None, None], "age": [None, None, None]})
    s = run_checks(frame, [valid_email("email"), in_range("age", 0, 1), not_null("email")]).summary
    assert s["tested"].tolist() == [0, 0, 3] and s["pass_rate"].tolist() == [1.0, 1.0, 0.0]
    assert s["passed"].tolist() == [True, True, False]


def test_missing_column_names_rule_and_column(frame):
    with pytest.raises(WorkbenchError, match=r"rule 'valid_email:mail' reads column 'mail'"):
        run_checks(frame, [valid_email("mail")])
    with pytest.raises(WorkbenchError, match="two rules are named"):
        run_checks(frame, [valid_email("email"), valid_email("email")])


def test_duplicate_index_labels_are_fine():
    frame = pd.DataFrame({"v": ["Y", "x", "N"]}, index=[0, 0, 1])
    results = run_checks(frame, [in_set("v", ["Y", "N"])])
    assert results.row_status.index.tolist() == [0, 0, 1]
    assert results.failures["row"].tolist() == [1]


def test_to_pandera_schema_validates_with_pandera(frame):
    schema = to_pandera_schema(RULES + [in_set("consent", ["Y", "N"]), expression("age < 150", name="age_sane")],
                               as_of=AS_OF)
    assert isinstance(schema, pa.DataFrameSchema)
    assert set(schema.columns) == {"customer_id", "email", "phone", "age", "consent"}
    with pytest.warns(UserWarning):  # severity warning -> raise_warning
        with pytest.raises(pa.errors.SchemaErrors) as info:
            schema.validate(frame, lazy=True)
    cases = info.value.failure_cases
    assert {"unique:customer_id", "valid_email:email", "in_range:age", "in_set:consent", "age_sane",
            "consent_present:consent"} == set(cases["check"].astype(str))
    emails = cases[cases["check"] == "valid_email:email"]
    assert emails["index"].tolist() == [11, 14] and emails["failure_case"].tolist() == [SCRIPT, FORMULA]
