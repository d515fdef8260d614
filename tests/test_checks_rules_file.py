"""Rules files: round trip, and errors that name the file and the line."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from workbench.checks import (
    Rule,
    RuleSet,
    any_valid,
    dump_rules,
    in_range,
    in_set,
    load_rules,
    run_checks,
    valid_email,
    valid_phone,
)
from workbench.errors import ConfigError

GOOD = """\
version: 1
rules:
  - check: valid_email
    column: email
    severity: error
    mostly: 0.98
  - check: in_set
    column: consent_email
    values: [Y, N]
  - check: consent_present
    column: consent_email
    severity: warning
purposes:
  email_marketing: [valid_email, consent_present]
"""


def write(tmp_path, text: str):
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path, text: str, columns=None) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_rules(path, columns=columns)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}, line {info.value.line}")
    return info.value


def test_load_good_file(tmp_path):
    rules = load_rules(write(tmp_path, GOOD), columns=["email", "consent_email"])
    assert rules.names == ["valid_email:email", "in_set:consent_email", "consent_present:consent_email"]
    assert rules["valid_email:email"].mostly == 0.98
    assert rules["in_set:consent_email"].params["values"] == ["Y", "N"]
    assert [r.name for r in rules.purpose_rules("email_marketing")] == [
        "valid_email:email", "consent_present:consent_email"]


def test_round_trip_yaml_and_dump(tmp_path):
    rules = RuleSet(
        [valid_email("email", mostly=0.95), in_range("age", 0, 120, severity="critical"),
         valid_phone("phone", region="GB", name="uk_phone"),
         any_valid(valid_email("email"), valid_phone("phone"), name="reach"),
         in_set("flag", ["yes", "no"])],
        {"contact": ["reach", "valid_email"]},
    )
    assert RuleSet.from_yaml(rules.to_yaml()) == rules
    assert load_rules(dump_rules(rules, tmp_path / "sub" / "r.yaml")) == rules


def test_bad_yaml_syntax(tmp_path):
    err = error_of(tmp_path, "version: 1\nrules:\n  - check: valid_email\n    column: [email\n")
    assert "invalid YAML" in err.message and err.line >= 4


def test_unknown_check_lists_known_and_suggests(tmp_path):
    err = error_of(tmp_path, GOOD.replace("check: valid_email", "check: valid_emial"))
    assert err.line == 3
    assert "did you mean 'valid_email'" in err.message and "not_null" in err.message


def test_unknown_column_lists_columns(tmp_path):
    err = error_of(tmp_path, GOOD, columns=["mail", "consent_email"])
    assert err.line == 4
    assert "'email'" in err.message and "columns: mail, consent_email" in err.message


def test_missing_param_points_at_rule(tmp_path):
    err = error_of(tmp_path, GOOD.replace("    values: [Y, N]\n", ""))
    assert err.line == 7 and "needs parameter 'values'" in err.message


def test_invalid_param_points_at_param(tmp_path):
    err = error_of(tmp_path, GOOD.replace("values: [Y, N]", "values: YN"))
    assert err.line == 9 and "list of values" in err.message


def test_bad_severity_and_mostly(tmp_path):
    err = error_of(tmp_path, GOOD.replace("severity: error", "severity: fatal"))
    assert err.line == 5 and "severity" in err.message
    err = error_of(tmp_path, GOOD.replace("mostly: 0.98", "mostly: 98"))
    assert err.line == 6 and "between 0 and 1" in err.message


def test_purpose_naming_unknown_rule(tmp_path):
    err = error_of(tmp_path, GOOD.replace("[valid_email, consent_present]", "[valid_email, consent_given]"))
    assert err.line == 14 and "consent_given" in err.message


def test_yaml_yes_no_booleans_are_refused_in_values(tmp_path):
    err = error_of(tmp_path, GOOD.replace("values: [Y, N]", "values: [yes, no]"))
    assert err.line == 9 and "quote it" in err.message
    assert load_rules(write(tmp_path, GOOD.replace("values: [Y, N]", "values: ['yes', 'no']")))


def test_unknown_section_and_newer_version(tmp_path):
    err = error_of(tmp_path, GOOD + "purpose:\n  x: [valid_email]\n")
    assert err.line == 15 and "unknown section" in err.message
    err = error_of(tmp_path, GOOD.replace("version: 1", "version: 7"))
    assert err.line == 1 and "newer" in err.message


def test_duplicate_rule_names(tmp_path):
    text = GOOD.replace("  - check: consent_present\n    column: consent_email",
                        "  - check: valid_email\n    column: email")
    err = error_of(tmp_path, text)
    assert err.line == 10 and "two rules are named" in err.message


def test_missing_file():
    with pytest.raises(ConfigError, match="no such rules file"):
        load_rules("/nonexistent/rules.yaml")


def test_validate_against_reports_wrong_types_by_rule_name():
    frame = pd.DataFrame({"age": ["young", "old", "x"], "email": [1, 2, 3], "dob": ["a", "b", "c"]})
    rules = RuleSet([in_range("age", 0, 120), valid_email("email"),
                     RuleSet.from_yaml("rules: [{check: age_between, column: dob}]").rules[0],
                     in_range("missing", 0, 1)])
    problems = rules.validate_against(frame)
    assert len(problems) == 4
    assert problems[0].startswith("rule 'in_range:age'") and "numbers" in problems[0]
    assert "valid_email:email" in problems[1] and "text check" in problems[1]
    assert "age_between:dob" in problems[2] and "dates" in problems[2]
    assert "'missing' is not in the data" in problems[3]
    assert RuleSet([in_range("age", 0, 120)]).validate_against(pd.DataFrame({"age": ["1", "2"]})) == []


CONSISTENCY = """\
version: 1
default_region: GB
rules:
  - check: valid_phone
    column: phone
    country_column: country
  - check: consistent_mapping
    column: zip
    columns: [city, state]
  - check: dates_ordered
    column: signup_date
    later: updated_at
  - check: freshness
    column: updated_at
    max_age_years: 3
"""


def test_default_region_and_consistency_kinds_from_yaml(tmp_path):
    rules = load_rules(write(tmp_path, CONSISTENCY),
                       columns=["phone", "country", "zip", "city", "state", "signup_date", "updated_at"])
    assert rules.default_region == "GB"
    assert [r.dimension for r in rules] == ["validity", "consistency", "consistency", "timeliness"]
    assert rules["consistent_mapping:zip"].columns == ["zip", "city", "state"]
    assert RuleSet.from_yaml(rules.to_yaml()) == rules and RuleSet.from_yaml(rules.to_yaml()).default_region == "GB"
    frame = pd.DataFrame({"phone": ["020 7946 0958", "(212) 555-0123"], "country": [None, "US"],
                          "zip": ["1", "1"], "city": ["A", "A"], "state": ["S", "S"],
                          "signup_date": ["2024-01-01", "2024-05-01"], "updated_at": ["2024-02-01", "2024-04-01"]})
    status = run_checks(frame, rules, as_of="2025-01-01").row_status
    assert status["valid_phone:phone"].tolist() == [True, True]  # no country: the file's default region
    assert status["dates_ordered:signup_date"].tolist() == [True, False]


def test_bad_default_region_names_file_and_line(tmp_path):
    err = error_of(tmp_path, CONSISTENCY.replace("default_region: GB", "default_region: Britain"))
    assert err.line == 2 and "default_region 'Britain' is not a phone region" in err.message
    assert "rules.yaml" in str(err) and "line 2" in str(err)
    err = error_of(tmp_path, CONSISTENCY.replace("    later: updated_at\n", ""))
    assert err.line == 10 and "needs parameter 'later'" in err.message
    err = error_of(tmp_path, CONSISTENCY, columns=["phone", "zip", "city", "state", "signup_date", "updated_at"])
    assert err.line == 6 and "'country'" in err.message


def test_validate_against_flags_dates_ordered_on_text():
    rules = RuleSet([Rule.from_dict({"check": "dates_ordered", "column": "note", "later": "d"})])
    frame = pd.DataFrame({"note": ["hello", "world"], "d": ["2020-01-01", "2020-01-02"]})
    assert rules.validate_against(frame) == [
        "rule 'dates_ordered:note': dates_ordered on column 'note', whose values mostly do not read as dates "
        "(0% of distinct values do)"]
