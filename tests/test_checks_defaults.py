"""Zero-config rules from field roles, built-in purposes, suggested YAML."""

from __future__ import annotations

import pandas as pd

from workbench.checks import (
    RuleSet,
    confident_schema,
    default_rules,
    load_rules,
    run_checks,
    suggest_rules_yaml,
    unassessable_purposes,
)
from workbench.schema import Field, Role, Schema, infer_schema


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
    assert by_name["valid_phone:phone"].params == {"country_column": "country"}  # each row's own country
    assert rules.default_region == "GB"  # most common country, for rows without one
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
    assert rules.default_region == "US" and "region" not in rules["valid_phone:phone"].params
    assert default_rules(infer_schema(frame, key="id"), default_region="gb").default_region == "GB"
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


def programs() -> pd.DataFrame:
    """Organization records like the public list in the issue: site, one-line address, zip, local phones."""
    return pd.DataFrame({
        "Site Name": ["North Center", "South Center", "East Center", "West Center", "Mid Center"],
        "Address": ["12 Main St, Springfield, IL", "4 Oak Ave, Springfield, IL", "9 Elm Rd, Salem, IL",
                    "1 Pine Ct, Salem, IL", "7 Ash Ln, Salem, IL"],
        "Zip": ["62701", "62702", "62881", "62881", None],
        "Phone": ["555-1234", "555-9876", "(217) 555-0101", "12", "555-0000"],
        "Website": ["Y", "N", "Y", None, "N"],
        "CC fund": ["Y", None, None, "N", None],
        "Services": ["Child care", "Tutoring, call 555-1234", "info@x.org", None, "Food bank"],
    })


def test_organization_list_gets_no_consent_or_email_rules_and_local_phones_pass():
    frame = programs()
    schema = infer_schema(frame)
    rules = default_rules(schema, frame)
    checks = {r.check for r in rules}
    assert not checks & {"consent_present", "consent_consistent", "valid_email"}
    assert {r.column for r in rules} <= {"Site Name", "Address", "Zip", "Phone"}
    results = run_checks(frame, rules)
    assert results.row_status["valid_phone:Phone"].tolist() == [True, True, True, False, True]
    assert "email_marketing" not in results.fitness()
    assert set(rules.purposes) == {"postal_mailing", "identity_resolution"}
    why = unassessable_purposes(schema, rules.purposes)
    assert set(why) == {"email_marketing", "analytics"}
    assert "consent column" in why["email_marketing"] and "email column" in why["email_marketing"]


def test_only_confident_roles_get_rules():
    fields = (Field("id", Role.ID, False, "key", 1.0), Field("reach", Role.EMAIL, True, "values", 0.79),
              Field("mail", Role.EMAIL, True, "values", 0.96), Field("tel", Role.PHONE, True, "override", 1.0),
              Field("cc", Role.CONSENT, False, "values", 1.0),  # stored by an older workbench
              Field("optin", Role.CONSENT, False, "name", 0.9))
    schema = Schema(fields, key="id")
    names = default_rules(schema).names
    assert "valid_email:mail" in names and "valid_phone:tel" in names and "consent_present:optin" in names
    assert not [n for n in names if n.endswith(":reach") or n.endswith(":cc")]
    assert "valid_email:reach" in default_rules(schema, min_confidence=0.7).names
    assert confident_schema(schema)["cc"].role == Role.OTHER


def test_consent_from_values_makes_no_email_marketing_purpose():
    fields = (Field("email", Role.EMAIL, True, "name", 0.9), Field("CC fund", Role.CONSENT, False, "values", 1.0))
    schema = Schema(fields)
    rules = default_rules(schema)
    assert "email_marketing" not in rules.purposes
    why = unassessable_purposes(schema, rules.purposes)["email_marketing"]
    assert "'CC fund'" in why and "only its name can make a column consent" in why


def test_consistency_and_timeliness_rules_from_roles():
    frame = pd.DataFrame({
        "customer_id": [1, 2, 3, 4],
        "zip": ["10001", "10001", "10001", "60601"],
        "city": ["New York", "new york", "Newark", "Chicago"],
        "state": ["NY", "NY", "NJ", "IL"],
        "date_of_birth": ["1980-01-01", "2021-01-01", None, "1990-01-01"],
        "signup_date": ["2019-01-01", "2020-01-01", "2020-01-01", "2024-06-01"],
        "updated_at": ["2020-01-01", "2019-01-01", "2026-01-01", "2024-07-01"],
    })
    rules = default_rules(infer_schema(frame, key="customer_id"), frame, stale_years=3)
    by_name = {r.name: r for r in rules}
    assert by_name["consistent_mapping:zip"].params["columns"] == ["city", "state"]
    assert by_name["dates_ordered:signup_date"].params["later"] == "updated_at"
    assert by_name["dates_ordered:date_of_birth"].params["later"] == "signup_date"
    assert by_name["freshness:updated_at"].params == {"max_age_years": 3}
    assert by_name["freshness:updated_at"].dimension == "timeliness"
    assert by_name["not_in_future:updated_at"].dimension == "timeliness"
    assert all(by_name[f"{k}:date_of_birth"].params["past"] for k in ("date_parseable", "not_in_future",
                                                                        "age_between"))
    results = run_checks(frame, rules, key="customer_id", as_of="2025-01-01")
    status = results.row_status
    assert status["consistent_mapping:zip"].tolist() == [True, True, False, True]
    assert status["dates_ordered:signup_date"].tolist() == [True, False, True, True]
    assert status["dates_ordered:date_of_birth"].tolist()[:2] == [True, False]
    # 2020-01-01 is more than three years before 2025-01-01; 2026 is in the future, not stale
    assert status["freshness:updated_at"].tolist() == [False, False, True, True]
    assert status["not_in_future:updated_at"].tolist() == [True, True, False, True]
    dims = set(results.summary["dimension"])
    assert {"completeness", "validity", "uniqueness", "consistency", "timeliness"} <= dims
    assert "freshness:updated_at" not in default_rules(infer_schema(frame, key="customer_id"), frame,
                                                        stale_years=0).names


def test_suggested_yaml_quotes_the_region_and_lists_unassessable_purposes(tmp_path):
    frame = programs()
    text = suggest_rules_yaml(infer_schema(frame), frame, default_region="NO")
    assert "default_region: 'NO'" in text  # bare NO would read as false
    assert "# email_marketing: not assessable, needs" in text
    path = tmp_path / "r.yaml"
    path.write_text(text)
    assert load_rules(path).default_region == "NO"
