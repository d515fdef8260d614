"""assess(): stored run, JSON result, failures Parquet, masked examples, history, report and CSV safety."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench import Workspace
from workbench.assess import assess, from_run, history, report_html, write_report
from workbench.checks import RuleSet, matches, not_null, valid_email
from workbench.errors import ConfigError, WorkbenchError
from workbench.templating import stylesheet

HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_FORMULA = '=HYPERLINK("http://x")'


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace(tmp_path / "ws", user="tester")


def _csv(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def hostile(ws, tmp_path):
    src = _csv(tmp_path, "hostile.csv",
               "customer_id,email,note\n"
               f'C1,john.smith@gmail.com,"{HOSTILE_SCRIPT}"\n'
               f'C2,not-an-email,"{HOSTILE_FORMULA.replace(chr(34), chr(34) * 2)}"\n'
               "C3,,fine\n")
    # "note" declared safe (shown, so its markup must be escaped); undeclared it would be masked
    return ws.load(src, key="customer_id", name="hostile", schema={"note": {"role": "other", "safe": True}})


def test_zero_config_result_has_issue_keys_and_is_stored(ws, samples_dir):
    ds = ws.load(samples_dir / "acquired.csv", key="lead_id", name="acquired")
    a = assess(ws, ds)
    r = a.result
    for key in ("rows", "rejected", "checks", "scores", "health", "fitness", "critical_failed", "failures_path",
                "dataset", "version"):
        assert key in r
    assert r["rows"] == ds.rows_kept and r["rejected"] == ds.rows_rejected and r["dataset"] == "acquired"
    for c in r["checks"]:
        assert {"name", "check", "column", "dimension", "severity", "tested", "failed", "examples"} <= set(c)
        assert len(c["examples"]) == min(c["failed"], 5)
    assert all(0 <= v <= 100 for v in r["scores"].values()) and 0 <= r["health"] <= 100
    assert set(r["fitness"]) == {"email_marketing", "postal_mailing", "analytics", "identity_resolution"}
    assert r["rules"] == "defaults"
    stored = ws.latest_result("assess", ds)
    assert stored == json.loads(json.dumps(r))
    # every failure is in the Parquet file, tied to the key
    failures = a.failures
    assert len(failures) == sum(c["failed"] for c in r["checks"]) == r["failures"]
    assert failures["key"].str.startswith("L").all()


def test_examples_are_masked(ws, samples_dir):
    ds = ws.load(samples_dir / "acquired.csv", key="lead_id", name="acquired")
    a = assess(ws, ds)
    raw = set(ds.frame["email"].dropna()) | set(ds.frame["phone"].dropna())
    shown = [e["value"] for c in a.result["checks"] for e in c["examples"] if e["value"]]
    assert shown and not [v for v in shown if v in raw and len(v) > 4]
    assert any("***" in v for v in shown)
    ex = a.examples("valid_email:email")
    assert list(ex.columns) == ["key", "value"] and ex["key"].str.startswith("L").all()


def test_failing_rows_masked_and_from_stored_run(ws, hostile):
    a = assess(ws, hostile)
    rows = a.failing_rows("valid_email:email")
    assert rows["customer_id"].tolist() == ["C2"] and rows["email"].iloc[0] != "not-an-email"
    again = from_run(ws, a.run_id)
    assert again.result == json.loads(json.dumps(a.result))
    assert again.failing_rows("valid_email:email", masked=False)["email"].tolist() == ["not-an-email"]
    assert from_run(ws, dataset="hostile").run_id == a.run_id


def test_rules_from_python_and_file_and_purposes(ws, hostile, tmp_path):
    rules = RuleSet([not_null("email", severity="critical"), valid_email("email")],
                    {"mail": ["valid_email:email", "not_null:email"]})
    a = assess(ws, hostile, rules)
    assert a.critical_failed and a.result["critical_rules_failed"] == ["not_null:email"]
    assert a.fitness == {"mail": pytest.approx(100 / 3, abs=0.01)}

    path = _csv(tmp_path, "rules.yaml", "rules:\n  - check: matches\n    column: note\n    pattern: '^[a-z]+$'\n")
    b = assess(ws, hostile, path, purposes={"tidy": ["matches"]})
    assert b.result["rules"] == str(path) and b.fitness == {"tidy": pytest.approx(100 / 3, abs=0.01)}
    assert not b.critical_failed

    with pytest.raises(WorkbenchError, match="unknown purpose 'nope'"):
        assess(ws, hostile, purposes=["nope"])
    bad = _csv(tmp_path, "bad.yaml", "rules:\n  - check: not_null\n    column: emial\n")
    with pytest.raises(ConfigError) as err:
        assess(ws, hostile, bad)
    assert "bad.yaml" in str(err.value) and "line 3" in str(err.value) and "emial" in str(err.value)


def test_wrong_type_rule_is_reported_as_warning(ws, hostile):
    from workbench.checks import in_range

    a = assess(ws, hostile, [in_range("email", 0, 10)])
    assert any("in_range" in w and "email" in w for w in a.result["warnings"])


def test_all_rows_rejected_dataset_gives_valid_sad_scorecard(ws, tmp_path):
    src = _csv(tmp_path, "bad.csv", "customer_id,email\nC1,a@b.co,extra\nC2,c@d.co,extra\n")
    ds = ws.load(src, key="customer_id", name="bad")
    assert ds.rows_kept == 0 and ds.rows_rejected == 2
    a = assess(ws, ds)
    assert a.result["rows"] == 0 and a.result["rejected"] == 2
    assert a.scores == {} and a.health == 0.0 and not a.critical_failed
    html = report_html(a)
    assert "no records" in html


def test_one_row_and_all_null_column(ws, tmp_path):
    one = ws.load(_csv(tmp_path, "one.csv", "customer_id,email\nC1,a@example.com\n"), key="customer_id")
    a = assess(ws, one)
    assert a.health == 100.0 and a.result["failures"] == 0
    nulls = ws.load(_csv(tmp_path, "nulls.csv", "customer_id,email,date_of_birth\nC1,,\nC2,,\n"), key="customer_id")
    b = assess(ws, nulls)
    assert b.scores["completeness"] < 100 and "validity" not in b.scores  # nothing readable to validate
    assert all(0 <= v <= 100 for v in b.fitness.values())
    report_html(b)


def test_history_across_two_runs(ws, hostile, tmp_path):
    first = assess(ws, hostile)
    src = _csv(tmp_path, "hostile2.csv", "customer_id,email,note\nC1,a@example.com,x\nC2,b@example.com,y\n")
    v2 = ws.load(src, key="customer_id", name="hostile")
    second = assess(ws, v2)
    h = history(ws, "hostile")
    assert h["run_id"].tolist() == [first.run_id, second.run_id]
    assert h["version"].tolist() == [1, 2]
    assert h["health"].tolist() == [first.health, second.health] and second.health > first.health
    assert {"completeness", "validity", "uniqueness"} <= set(h.columns)
    assert history(ws, "unknown").empty


def test_report_escapes_hostile_values_and_embeds_plotly_once(ws, hostile, tmp_path):
    a = assess(ws, hostile, [matches("note", r"^[a-z]+$"), not_null("email"), valid_email("email")])
    path = write_report(a, tmp_path / "out" / "report.html")
    html = path.read_text(encoding="utf-8")
    assert HOSTILE_SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the note is not PII: shown, escaped
    assert HOSTILE_FORMULA not in html and "=HYPERLINK(&#34;http://x&#34;)" in html
    assert "john.smith@gmail.com" not in html and "not-an-email" not in html  # emails masked
    assert html.count("Plotly.newPlot(") == 3
    assert html.count("window.PlotlyConfig") == 1  # plotly.js inline, once
    assert "<script src=" not in html  # works offline: nothing loaded from a network
    assert html.count(stylesheet()) == 1 and html.count("<style") == 1  # the workbench stylesheet, inline
    assert ws.audit_log()["action"].eq("report").any()


def test_export_failures_neutralizes_formulas(ws, hostile, tmp_path):
    a = assess(ws, hostile, [matches("note", r"^[a-z]+$"), valid_email("email")])
    path = a.export_failures(tmp_path / "failures.csv")
    text = path.read_text(encoding="utf-8")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert "'=HYPERLINK" in text and not back["value"].str.startswith("=").any()
    assert HOSTILE_SCRIPT in back["value"].tolist()  # CSV is not HTML: text kept as it is
    assert "not-an-email" in back["value"].tolist()
    masked = pd.read_csv(a.export_failures(tmp_path / "masked.csv", masked=True), dtype=str, keep_default_na=False)
    assert "not-an-email" not in masked["value"].tolist() and "n***" in masked["value"].tolist()
    assert "'=HYPERLINK(\"http://x\")" in masked["value"].tolist()


ORGS = ("Site Name,Address,Zip,Phone,Website,CC fund,Services\n"
        'North,"12 Main St, Springfield, IL",62701,555-1234,Y,Y,Child care\n'
        'South,"4 Oak Ave, Springfield, IL",62702,555-9876,N,,"Tutoring, call 555-1234"\n'
        'East,"9 Elm Rd, Salem, IL",62881,(217) 555-0101,Y,,info@x.org\n'
        'West,"1 Pine Ct, Salem, IL",62881,12,,N,\n')


def test_zero_config_on_an_organization_list_marks_purposes_not_assessable(ws, tmp_path):
    ds = ws.load(_csv(tmp_path, "orgs.csv", ORGS), name="orgs")
    a = assess(ws, ds)
    r = a.result
    assert "email_marketing" not in r["fitness"] and "email_marketing" in r["not_assessable"]
    assert "consent column" in r["not_assessable"]["email_marketing"]
    assert not [c for c in r["checks"] if c["check"] in ("consent_present", "valid_email")]
    phone = next(c for c in r["checks"] if c["name"] == "valid_phone:Phone")
    assert (phone["tested"], phone["failed"]) == (4, 1)  # 7-digit local numbers are valid-local
    assert r["default_region"] == "US"
    html = report_html(a)
    assert "not assessable" in html.lower() and "Not assessable with these columns: email marketing" in html
    stored = from_run(ws, a.run_id)
    assert stored.result["not_assessable"] == r["not_assessable"]


def test_default_region_setting_reads_local_formats(ws, tmp_path):
    ds = ws.load(_csv(tmp_path, "uk.csv", "id,phone\n1,020 7946 0958\n2,+1 212 555 0123\n"), key="id", name="uk")
    us = assess(ws, ds).result
    gb = assess(ws, ds, default_region="GB").result
    def failed(r):
        return next(c["failed"] for c in r["checks"] if c["name"] == "valid_phone:phone")
    assert (failed(us), failed(gb)) == (1, 0)
    assert gb["default_region"] == "GB"
    with pytest.raises(ConfigError, match="default_region 'Britain'"):
        assess(ws, ds, default_region="Britain")


def test_asking_for_an_unassessable_purpose_says_what_is_missing(ws, tmp_path):
    ds = ws.load(_csv(tmp_path, "orgs.csv", ORGS), name="orgs")
    with pytest.raises(WorkbenchError, match="email_marketing.*not assessable: needs an email column"):
        assess(ws, ds, purposes=["email_marketing"])
