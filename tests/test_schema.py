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
    assert schema["flag"].role == Role.CONSENT
    assert schema["notes"].role == Role.OTHER and not schema["notes"].pii


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
