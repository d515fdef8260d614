"""Zero-config rules from field roles, built-in purposes, suggested YAML."""

from __future__ import annotations

import pandas as pd

from workbench.checks import RuleSet, default_rules, load_rules, run_checks, suggest_rules_yaml
from workbench.schema import infer_schema


def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [1, 2, 3, 4],
        "first_name": ["Ann", "Bob", None, "Dee"],
        "last_name": ["Lee", "Ray", "Fox", "Kim"],
        "email": ["ann@x.com", "bad", None, "dee@y.org"],
        "phone": ["020 7946 0958", "12", None, "+1 212 555 0123"],
        "date_of_birth": ["1980-01-01", "1890-01-01", None, "2001-05-05"],
        "street": ["1 High St", "2 Low Rd", None, "4 Mid Ln"],
        "city": ["London", "Leeds", "York", None],
        "postcode": ["SW1A 1AA", "LS1", None, "10001"],
        "country": ["GB", "GB", "GB", "US"],
        "consent_email": ["Y", "N", None, "Y"],
        "consent_date": ["2021-01-01", None, None, "2019-01-01"],
        "signup_date": ["2020-01-01", "2020-01-01", "2030-01-01", "2020-01-01"],
    })


def test_default_rules_follow_roles():
    frame = customers()
    rules = default_rules(infer_schema(frame, key="customer_id"), frame)
    by_name = {r.name: r for r in rules}
    assert by_name["unique:customer_id"].severity == "error"
    assert by_name["not_null:customer_id"].severity == "error"
    assert by_name["valid_email:email"].severity == "warning" and by_name["valid_email:email"].mostly == 0.95
    assert by_name["not_null:email"].severity == "warning"
    assert by_name["valid_phone:phone"].params["region"] == "GB"  # most common country
    assert by_name["valid_postcode:postcode"].params == {"country_column": "country"}
    for name in ("date_parseable:date_of_birth", "not_in_future:date_of_birth", "age_between:date_of_birth",
                 "date_parseable:signup_date", "not_in_future:signup_date", "consent_present:consent_email",
                 "not_null:first_name", "not_null:last_name"):
        assert name in by_name
    consistent = by_name["consent_consistent:consent_email"]
    assert consistent.params == {"date_column": "consent_date", "signup_column": "signup_date"}
    assert set(rules.purposes) == {"email_marketing", "postal_mailing", "analytics", "identity_resolution"}
    assert "consent_consistent:consent_email" in rules.purposes["email_marketing"]


def test_defaults_without_frame_assume_us_and_skip_missing_purposes():
    frame = pd.DataFrame({"id": [1], "email": ["a@b.com"], "phone": ["2125550123"]})
    rules = default_rules(infer_schema(frame, key="id"))
    assert rules["valid_phone:phone"].params["region"] == "US"
    assert set(rules.purposes) == set()  # no names, no address, no consent, no DOB


def test_default_rules_run_and_report_fitness():
    frame = customers()
    results = run_checks(frame, default_rules(infer_schema(frame, key="customer_id"), frame),
                         key="customer_id", as_of="2025-01-01")
    fitness = results.fitness()
    assert set(fitness) == {"email_marketing", "postal_mailing", "analytics", "identity_resolution"}
    # row 0 is the only one with a valid email, recorded and dated consent (row 3: consent before signup)
    assert fitness["email_marketing"] == 25.0
    assert results.fit_rows()["email_marketing"].tolist() == [True, False, False, False]
    assert all(0.0 <= p <= 100.0 for p in fitness.values())


def test_suggested_yaml_is_commented_and_loads_back(tmp_path):
    frame = customers()
    schema = infer_schema(frame, key="customer_id")
    text = suggest_rules_yaml(schema, frame)
    assert text.startswith("# Rules suggested")
    assert "  # customer_id is the record key" in text
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    loaded = load_rules(path, columns=frame.columns)
    assert loaded == default_rules(schema, frame)
    assert RuleSet.from_yaml(loaded.to_yaml()) == loaded
