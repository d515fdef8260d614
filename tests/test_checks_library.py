"""Each check kind on a tiny frame with known answers; Rule construction and registry."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.checks import (
    Rule,
    RuleError,
    age_between,
    any_valid,
    check_kinds,
    consent_consistent,
    consent_present,
    consistent_mapping,
    date_parseable,
    dates_ordered,
    expression,
    freshness,
    in_range,
    in_set,
    length,
    list_checks,
    matches,
    not_in_future,
    not_null,
    referential,
    rule_status,
    run_checks,
    unique,
    valid_email,
    valid_phone,
    valid_postcode,
)
from workbench.errors import ConfigError, WorkbenchError

AS_OF = "2025-01-01"
NA = None
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil","x")'


def outcome(frame: pd.DataFrame, rule: Rule) -> list[bool | None]:
    """Per-row outcome as a plain list: True pass, False fail, None not tested."""
    s = rule_status(frame, rule, as_of=AS_OF)
    return [None if pd.isna(x) else bool(x) for x in s]


def col(*values) -> pd.DataFrame:
    return pd.DataFrame({"c": list(values)})


# -- one test per kind ---------------------------------------------------------


def test_not_null_tests_every_row_and_blank_is_missing():
    assert outcome(col("a", None, "", "  ", 0, SCRIPT), not_null("c")) == [True, False, False, False, True, True]


def test_unique_ignores_missing():
    assert outcome(col(1, 2, 2, None, 3), unique("c")) == [True, False, False, None, True]


def test_matches_uses_pattern_at_start():
    rule = matches("c", r"^\d{5}$")
    assert outcome(col("02134", "2134", "02134x", None, 12345, FORMULA), rule) == [True, False, False, None, True, False]


def test_in_set_compares_as_text_and_optionally_ignores_case():
    assert outcome(col("Y", "N", "y", None, "maybe"), in_set("c", ["Y", "N"])) == [True, True, False, None, False]
    assert outcome(col("Y", "y", "n", "x"), in_set("c", ["Y", "N"], case_sensitive=False)) == [True, True, True, False]
    assert outcome(col(1, 0, 2), in_set("c", ["1", "0"])) == [True, True, False]


def test_in_range_numbers_text_and_unparseable_fails():
    assert outcome(col(30, "45", 200, -1, "abc", None), in_range("c", 0, 120)) == [True, True, False, False, False, None]
    assert outcome(col(5, 500), in_range("c", min=10)) == [False, True]


def test_in_range_with_date_bounds():
    rule = in_range("c", "2020-01-01", "2020-12-31")
    assert outcome(col("2020-06-01", "2021-01-01", "junk", None), rule) == [True, False, False, None]


def test_length_between():
    assert outcome(col("CA", "NYC", "T", None, ""), length("c", 2, 2)) == [True, False, False, None, None]


def test_date_parseable():
    rule = date_parseable("c")
    assert outcome(col("2020-01-02", "01/02/2020", "2 Jan 2020", "2020/01/02", "junk", None, SCRIPT),
                   rule) == [True, True, True, True, False, None, False]


def test_not_in_future_skips_unparseable():
    assert outcome(col("2024-12-31", "2025-01-02", "junk", None), not_in_future("c")) == [True, False, None, None]


def test_age_between_uses_as_of():
    rule = age_between("c", 0, 120)
    assert outcome(col("1980-01-01", "1890-01-01", "2030-01-01", None, "junk"), rule) == [True, False, False, None, None]


def test_freshness_days_and_years():
    assert outcome(col("2024-12-01", "2023-01-01", None), freshness("c", max_age_days=90)) == [True, False, None]
    assert outcome(col("2016-01-01", "2010-01-01"), freshness("c", max_age_years=10)) == [True, False]


def test_valid_email_hostile_values_fail_and_stay_unchanged():
    rule = valid_email("c")
    assert outcome(col("a@b.com", "bad", None, SCRIPT, FORMULA), rule) == [True, False, None, False, False]


def test_valid_phone_region():
    assert outcome(col("(212) 555-0123", "12", None, FORMULA), valid_phone("c")) == [True, False, None, False]
    assert outcome(col("020 7946 0958"), valid_phone("c", region="GB")) == [True]


def test_valid_postcode_fixed_country_and_country_column():
    assert outcome(col("02134", "ABC", None), valid_postcode("c", country="US")) == [True, False, None]
    assert outcome(col("02134"), valid_postcode("c", country="Narnia")) == [None]
    frame = pd.DataFrame({"c": ["02134", "SW1A 1AA", "02134", "12345"], "country": ["US", "UK", "GB", "Narnia"]})
    assert outcome(frame, valid_postcode("c", country_column="country")) == [True, True, False, None]


def test_consent_present_tests_every_row():
    assert outcome(col("Y", "no", "TRUE", 0, "maybe", None, ""), consent_present("c")) == [
        True, True, True, True, False, False, False]


def test_consent_consistent_only_where_consent_given():
    frame = pd.DataFrame({
        "consent": ["Y", "Y", "Y", "N", None, "yes"],
        "consent_date": ["2020-02-01", None, "2019-01-01", None, None, "2020-01-01"],
        "signup_date": ["2020-01-01", "2020-01-01", "2020-01-01", "2020-01-01", None, None],
    })
    rule = consent_consistent("consent", date_column="consent_date", signup_column="signup_date")
    assert outcome(frame, rule) == [True, False, False, None, None, True]


def test_expression_over_parsed_columns_and_today():
    frame = pd.DataFrame({"signup_date": ["2020-01-01", "2030-01-01", None, "2024-05-05"],
                          "age": ["30", "10", "20", None]})
    assert outcome(frame, expression("signup_date <= today", name="past")) == [True, False, None, True]
    assert outcome(frame, expression("age >= 18 and signup_date <= today", name="adult")) == [True, False, None, None]


@pytest.mark.parametrize("expr", ["__import__('os').system('x')", "c.str.len() > 1", "c[0] == 1", "lambda: 1"])
def test_expression_refuses_code(expr):
    with pytest.raises(RuleError, match="expression"):
        expression(expr)


def test_referential_values_callable_and_source():
    frame = col(1, 2, 4, None)
    assert outcome(frame, referential("c", [1, 2, 3])) == [True, True, False, None]
    assert outcome(frame, referential("c", lambda: ["1", "4"])) == [True, False, True, None]
    rule = referential("c", source="master.id")
    s = rule_status(frame, rule, references={"master.id": pd.Series([2.0, 4.0])})
    assert s.tolist()[:3] == [False, True, True]
    with pytest.raises(ConfigError, match="master.id"):
        rule_status(frame, rule)


def test_any_valid_email_or_phone():
    frame = pd.DataFrame({"email": ["a@b.com", "bad", "bad", None, None],
                          "phone": ["12", "(212) 555-0123", "12", "12", None]})
    rule = any_valid(valid_email("email"), valid_phone("phone"), name="reach")
    assert outcome(frame, rule) == [True, True, False, False, None]


# -- Rule data -------------------------------------------------------------------


def test_rule_defaults_and_round_trip():
    rule = valid_phone("phone", region="GB", severity="warning", mostly=0.9)
    assert rule.name == "valid_phone:phone" and rule.dimension == "validity"
    d = rule.to_dict()
    assert d == {"check": "valid_phone", "column": "phone", "region": "GB", "severity": "warning", "mostly": 0.9}
    assert Rule.from_dict(d) == rule
    nested = any_valid(valid_email("e"), valid_phone("p"), name="reach")
    assert Rule.from_dict(nested.to_dict()) == nested
    assert Rule.from_dict({"check": "in_set", "column": "c", "params": {"values": ["Y"]}}) == in_set("c", ["Y"])


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"check": "valid_emial", "column": "e"}, "check", "did you mean 'valid_email'"),
        ({"check": "valid_email"}, "column", "needs a column"),
        ({"check": "in_set", "column": "c"}, "values", "needs parameter 'values'"),
        ({"check": "in_set", "column": "c", "params": {"values": "YN"}}, "values", "list of values"),
        ({"check": "matches", "column": "c", "params": {"pattern": "("}}, "pattern", "regular expression"),
        ({"check": "in_range", "column": "c", "params": {}}, None, "at least one of min, max"),
        ({"check": "in_range", "column": "c", "params": {"min": 5, "max": 1}}, "max", "greater than max"),
        ({"check": "valid_email", "column": "e", "severity": "fatal"}, "severity", "warning, error, critical"),
        ({"check": "valid_email", "column": "e", "mostly": 1.5}, "mostly", "between 0 and 1"),
        ({"check": "valid_email", "column": "e", "params": {"regoin": "US"}}, "regoin", "no parameter"),
        ({"check": "valid_phone", "column": "p", "params": {"region": "XX"}}, "region", "not a phone region"),
        ({"check": "valid_postcode", "column": "p", "params": {}}, None, "exactly one of country"),
        ({"check": "expression", "column": "c", "params": {"expr": "c > 1"}}, "column", "not 'column'"),
    ],
)
def test_invalid_rules_raise_rule_error_naming_the_field(kwargs, field, message):
    with pytest.raises(RuleError, match=message) as info:
        Rule(**kwargs)
    assert info.value.field == field


def test_registry_lists_every_kind_with_params_and_dimension():
    listing = list_checks()
    assert set(listing["check"]) == set(check_kinds())
    assert {"not_null", "valid_email", "consent_consistent", "expression", "referential", "freshness"} <= set(
        listing["check"])
    row = listing.set_index("check").loc["valid_phone"]
    assert row["dimension"] == "validity" and "region" in row["params"] and row["description"]


# -- phones by country, local numbers, the run's default region ------------------


def test_valid_phone_local_number_is_valid_local_in_a_region():
    frame = col("555-1234", "(212) 555-0123", "12", "1234567890123456", None)
    assert outcome(frame, valid_phone("c")) == [True, True, False, False, None]
    assert outcome(frame, valid_phone("c", local=False)) == [False, True, False, False, None]


def test_valid_phone_reads_each_row_in_its_country():
    frame = pd.DataFrame({"p": ["020 7946 0958", "(212) 555-0123", "020 7946 0958", "030 901820", None],
                          "country": ["United Kingdom", "USA", "Narnia", "DE", "GB"]})
    rule = valid_phone("p", country_column="country")
    # row 2: unknown country, so the default region (US) reads it, and a 0-leading US number is invalid
    assert outcome(frame, rule) == [True, True, False, True, None]
    gb = rule_status(frame, valid_phone("p", region="GB", country_column="country"), as_of=AS_OF)
    assert gb.tolist()[:3] == [True, True, True]
    assert rule.columns == ["p", "country"] and rule.to_dict()["country_column"] == "country"


def test_run_default_region_applies_where_the_rule_names_none():
    frame = col("020 7946 0958", "(212) 555-0123")
    assert run_checks(frame, [valid_phone("c")]).row_status["valid_phone:c"].tolist() == [False, True]
    gb = run_checks(frame, [valid_phone("c")], default_region="gb").row_status["valid_phone:c"]
    assert gb.tolist() == [True, False]  # (212) 555-0123 is no UK number
    pinned = run_checks(frame, [valid_phone("c", region="US")], default_region="GB")
    assert pinned.row_status["valid_phone:c"].tolist() == [False, True]  # the rule's own region wins
    with pytest.raises(ConfigError, match="default_region 'XX'"):
        run_checks(frame, [valid_phone("c")], default_region="XX")


# -- consistency: mappings across records, dates in order ---------------------


def test_consistent_mapping_postcode_to_city_and_state():
    frame = pd.DataFrame({
        "zip": ["62701", "62701", "62701-1234", "62701", "10001", "10001", "99999", None, "30301"],
        "city": ["Springfield", "SPRINGFIELD", "springfield", "Chicago", "New York", "Newark", "Solo", "X", None],
        "state": ["IL", "IL", "IL", "IL", "NY", "NJ", "AK", "IL", None],
    })
    got = outcome(frame, consistent_mapping("zip", ["city", "state"]))
    # 62701: Chicago disagrees with the three Springfields (ZIP+4 counts as its ZIP, case ignored);
    # 10001: a tie between New York/NY and Newark/NJ, so neither row can be trusted;
    # no zip, or neither city nor state: not tested
    assert got == [True, True, True, False, False, False, True, None, None]
    assert consistent_mapping("zip", ["city"]).dimension == "consistency"


def test_consistent_mapping_compares_only_present_values():
    frame = pd.DataFrame({"zip": ["1", "1", "1"], "city": ["A", None, "A"], "state": [None, "S", "T"]})
    # state: S and T tie for zip 1, so rows 1 and 2 fail; row 0 has no state and agrees on city
    assert outcome(frame, consistent_mapping("zip", ["city", "state"], key_is_postcode=False)) == [True, False, False]


def test_dates_ordered():
    frame = pd.DataFrame({"signup": ["2020-01-01", "2021-06-01", "2020-01-01", None, "junk", "03/04/2020"],
                          "updated": ["2020-02-01", "2021-01-01", "2020-01-01", "2020-01-01", "2020-01-01",
                                      "2020-03-05"]})
    assert outcome(frame, dates_ordered("signup", "updated")) == [True, False, True, None, None, True]
    assert outcome(frame, dates_ordered("signup", "updated", strict=True))[2] is False
    rule = dates_ordered("signup", "updated")
    assert rule.columns == ["signup", "updated"] and rule.dimension == "consistency"
    assert Rule.from_dict(rule.to_dict()) == rule


def test_new_kinds_reject_bad_parameters():
    with pytest.raises(RuleError, match="needs parameter 'later'"):
        Rule.from_dict({"check": "dates_ordered", "column": "a"})
    with pytest.raises(RuleError, match="'columns'"):
        Rule.from_dict({"check": "consistent_mapping", "column": "zip", "columns": "city"})
    with pytest.raises(RuleError, match="column names"):
        Rule.from_dict({"check": "consistent_mapping", "column": "zip", "columns": [3]})


def test_consistent_mapping_reads_one_column_name_and_missing_columns_are_named():
    assert consistent_mapping("zip", "city").params["columns"] == ["city"]
    frame = pd.DataFrame({"zip": ["1"], "city": ["A"]})
    with pytest.raises(WorkbenchError, match="^column state: rule 'consistent_mapping:zip' reads column 'state'"):
        run_checks(frame, [consistent_mapping("zip", ["city", "state"])])


def test_birth_dates_with_two_digit_years_read_in_the_past():
    frame = col("01/02/30", "1980-05-05", "01/02/99")
    assert outcome(frame, not_in_future("c")) == [False, True, True]  # 2030
    assert outcome(frame, not_in_future("c", past=True)) == [True, True, True]  # 1930
    assert outcome(frame, age_between("c", 0, 120, past=True)) == [True, True, True]
    assert outcome(frame, age_between("c", 0, 90, past=True)) == [False, True, True]  # 94 years on AS_OF
    assert Rule.from_dict(age_between("c", past=True).to_dict()).params["past"] is True
