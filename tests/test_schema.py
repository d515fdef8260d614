import pandas as pd
import pytest

from workbench.errors import ConfigError
from workbench.schema import (
    PII_ROLES,
    Role,
    Schema,
    infer_schema,
    load_overrides,
    normalize_column_name,
    role_from_name,
)


@pytest.mark.parametrize(
    "name, role",
    [
        ("customer_id", Role.ID),
        ("First Name", Role.FIRST_NAME),
        ("surname", Role.LAST_NAME),
        ("E-Mail", Role.EMAIL),
        ("email", Role.EMAIL),
        ("Mobile Phone", Role.PHONE),
        ("phone", Role.PHONE),
        ("DOB", Role.DATE_OF_BIRTH),
        ("birth_date", Role.DATE_OF_BIRTH),
        ("address", Role.STREET),
        ("zip", Role.POSTCODE),
        ("postcode", Role.POSTCODE),
        ("city", Role.CITY),
        ("state", Role.STATE),
        ("country", Role.COUNTRY),
        ("consent_email", Role.CONSENT),
        ("opt_in", Role.CONSENT),
        ("consent_date", Role.DATE),
        ("signup_date", Role.DATE),
        ("list_source", Role.SOURCE),
        ("hotel_name", None),
        ("cancellation_reason", None),
    ],
)
def test_role_from_name(name, role):
    assert role_from_name(name) == role


def test_normalize_column_name():
    assert normalize_column_name(" E-Mail Address ") == "e_mail_address"
    assert normalize_column_name("firstName") == "first_name"


def test_values_decide_when_the_name_says_nothing():
    frame = pd.DataFrame(
        {
            "contact": ["a@example.com", "b@example.org", "c@example.net", None],
            "number": ["(212) 555-0101", "212-555-0102", "+1 212 555 0103", "212.555.0104"],
            "flag": ["Y", "N", "Y", "N"],
            "notes": ["likes cats", "called twice", "vip", "n/a"],
        }
    )
    schema = infer_schema(frame)
    assert schema["contact"].role == Role.EMAIL and schema["contact"].inferred_by == "values"
    assert schema["number"].role == Role.PHONE
    assert schema["flag"].role == Role.OTHER  # values alone never make consent
    assert schema["notes"].role == Role.OTHER and not schema["notes"].pii
    assert schema["contact"].confidence == 1.0  # every non-missing value is an address
    assert schema["notes"].confidence == 0.0 and schema["notes"].inferred_by == "default"


def test_confidence_by_how_the_role_was_found():
    frame = pd.DataFrame({"id": ["1", "2", "3", "4", "5"], "email": ["x", "y", "z", "a@b.co", None],
                          "reach": ["a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com"]})
    schema = infer_schema(frame, key="id").with_overrides({"reach": "email"})
    assert schema["id"].confidence == 1.0 and schema["id"].inferred_by == "key"
    assert schema["email"].confidence == 0.9 and schema["email"].inferred_by == "name"  # dirty, still email
    assert schema["reach"].confidence == 1.0 and schema["reach"].inferred_by == "override"
    assert infer_schema(frame)["reach"].inferred_by == "values"
    assert Schema.from_dict(schema.to_dict()) == schema


def test_phone_share_from_values_is_the_confidence():
    phones = ["(212) 555-0101", "212-555-0102", "555-0103", "212.555.0104", "see notes"]
    f = infer_schema(pd.DataFrame({"contact_no": phones}))["contact_no"]
    assert f.role == Role.PHONE and f.inferred_by == "values" and f.confidence == pytest.approx(0.8)


@pytest.mark.parametrize("values", [["Y", "N", "Y", None, "N"], ["1", "0", "0", "1", "1"], [True, False, True, True, False],
                                    ["yes", "no", "YES", "no", "no"], [1.0, 0.0, None, 1.0, 0.0]])
def test_yes_no_columns_are_flags_not_consent(values):
    frame = pd.DataFrame({"CC fund": values, "Head Start": values, "newsletter": values, "Opt-In": values,
                          "Unsubscribed": values, "marketing permission": values})
    schema = infer_schema(frame)
    assert schema["CC fund"].role == Role.OTHER and schema["Head Start"].role == Role.OTHER
    for col in ("newsletter", "Opt-In", "Unsubscribed", "marketing permission"):
        assert schema[col].role == Role.CONSENT and schema[col].inferred_by == "name", col


def test_website_column_by_name_and_values_and_flag_named_website():
    urls = ["https://a.org", "http://www.b.com/x", "www.c.net", "https://d.io", None]
    frame = pd.DataFrame({"Website": urls, "homepage_link": urls})
    schema = infer_schema(frame)
    assert schema["Website"].role == Role.WEBSITE and schema["Website"].inferred_by == "name"
    assert schema["homepage_link"].role == Role.WEBSITE and schema["homepage_link"].confidence == 1.0
    flagged = infer_schema(pd.DataFrame({"Website": ["Y", "N", "Y", "Y", "N"]}))["Website"]
    assert flagged.role == Role.OTHER and flagged.inferred_by == "values"  # says whether there is one


def test_free_text_with_an_occasional_email_is_not_email():
    services = ["Child care, after school", "Tutoring", "Contact info@x.org for details", "mentoring",
                "Food bank; ann@y.org", "Jane <jane@z.org>", "GED classes", "a@b.com"]
    assert infer_schema(pd.DataFrame({"Services": services}))["Services"].role == Role.OTHER
    # nineteen bare addresses and one typo is still an email column, one in ten off is not
    mostly = [f"user{i}@example.com" for i in range(19)] + ["user19 at example.com"]
    assert infer_schema(pd.DataFrame({"c": mostly}))["c"].role == Role.EMAIL
    assert infer_schema(pd.DataFrame({"c": mostly[:18] + ["n/a", "call"]}))["c"].role == Role.OTHER


def test_key_is_id_and_pii_flags_follow_roles():
    frame = pd.DataFrame({"cust": ["1", "2"], "email": ["a@b.co", "c@d.co"], "city": ["Boston", "Austin"]})
    schema = infer_schema(frame, key="cust")
    assert schema["cust"].role == Role.ID and schema["cust"].inferred_by == "key"
    assert schema["email"].pii and not schema["city"].pii
    assert set(schema.pii_columns) == {"email"}
    assert all((f.role in PII_ROLES) == f.pii for f in schema)


def test_overrides_and_yaml_round_trip(tmp_path):
    frame = pd.DataFrame({"a": ["x"], "zip": ["02134"]})
    schema = infer_schema(frame)
    changed = schema.with_overrides({"a": "full_name", "zip": {"role": "postcode", "pii": False}})
    assert changed["a"].role == Role.FULL_NAME and changed["a"].pii
    assert changed["zip"].pii is False and changed["zip"].inferred_by == "override"
    path = tmp_path / "roles.yaml"
    path.write_text(changed.to_yaml())
    again = schema.with_overrides(load_overrides(path))
    assert again.to_dict()["fields"] == changed.to_dict()["fields"]
    assert Schema.from_dict(changed.to_dict()) == changed


def test_override_errors_name_the_problem(tmp_path):
    schema = infer_schema(pd.DataFrame({"a": ["x"]}))
    with pytest.raises(ConfigError, match="'nope'.*columns: a"):
        schema.with_overrides({"nope": "email"})
    with pytest.raises(ConfigError, match="unknown role 'emale'"):
        schema.with_overrides({"a": "emale"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  a: email\n   b: [\n")
    with pytest.raises(ConfigError) as err:
        load_overrides(bad)
    assert "bad.yaml" in str(err.value) and err.value.line is not None
