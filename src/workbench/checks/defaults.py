"""Zero-config rules: what the field roles of a schema imply, and built-in purposes.

An analyst who has only loaded a file should already get a useful
assessment; the rules come from roles (not column names), so ``zip`` and
``PLZ`` get the same postcode check. ``suggest_rules_yaml`` writes the same
rules as a commented file to edit and load back with ``load_rules``.
"""

from __future__ import annotations

import pandas as pd

from workbench.checks import library as lib
from workbench.checks import validators as v
from workbench.checks.library import Rule
from workbench.checks.rules_file import RULES_FORMAT_VERSION, RuleSet, to_yaml
from workbench.schema import Role, Schema

__all__ = ["BUILTIN_PURPOSES", "builtin_purposes", "default_rules", "suggest_rules_yaml"]

#: What each built-in purpose asks of a row, for documentation and widgets.
BUILTIN_PURPOSES: dict[str, str] = {
    "email_marketing": "valid email, consent flag recorded, and given consent dated not before signup",
    "postal_mailing": "street, city and postcode present, postcode of a valid shape",
    "analytics": "date of birth readable with a plausible age, signup date readable and not in the "
                 "future, record key unique",
    "identity_resolution": "first and last name present, and a valid email or a valid phone",
}


def default_rules(schema: Schema, frame: pd.DataFrame | None = None) -> RuleSet:
    """Rules implied by the schema's field roles, plus the built-in purposes they support.

    ``frame`` (optional) refines them: the phone region comes from the most
    common country in the data.
    """
    rules, _ = _rules_with_reasons(schema, frame)
    return RuleSet(rules, builtin_purposes(schema, rules))


def builtin_purposes(schema: Schema, rules: list[Rule]) -> dict[str, list[str]]:
    """Built-in purposes whose required rules are all in ``rules`` (optional ones added when present)."""
    names = {r.name for r in rules}
    out: dict[str, list[str]] = {}
    for purpose, (required, optional) in _purpose_members(schema).items():
        if required and all(n in names for n in required):
            out[purpose] = required + [n for n in optional if n in names]
    return out


def suggest_rules_yaml(schema: Schema, frame: pd.DataFrame | None = None) -> str:
    """The default rules as an editable, commented YAML rules file."""
    rules, reasons = _rules_with_reasons(schema, frame)
    ruleset = RuleSet(rules, builtin_purposes(schema, rules))
    kinds = ", ".join(sorted(lib.check_kinds()))
    lines = [
        "# Rules suggested by workbench from the field roles of this dataset.",
        "# Edit freely, then load with workbench.checks.load_rules(path).",
        "#   severity: warning | error | critical   (error and critical rows go to the failing side of split())",
        "#   mostly: 0.95   passes the rule when at least 95% of tested rows pass",
        f"# Check kinds: {kinds}",
        f"version: {RULES_FORMAT_VERSION}",
        "rules:" if rules else "rules: []",
    ]
    for rule in rules:
        lines.append(f"  # {reasons[rule.name]}")
        lines += ["  " + line for line in to_yaml([rule.to_dict()]).rstrip("\n").splitlines()]
    if ruleset.purposes:
        lines.append("# A row is fit for a purpose when every rule listed passes on it.")
        lines.append("purposes:")
        for purpose, members in ruleset.purposes.items():
            lines.append(f"  # {BUILTIN_PURPOSES[purpose]}")
            lines.append(f"  {purpose}:")
            lines += ["    " + line for line in to_yaml(members, block_lists=True).rstrip("\n").splitlines()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------


def _key(schema: Schema) -> str | None:
    return schema.key or schema.column_for(Role.ID)


def _dated(schema: Schema, *words: str) -> str | None:
    for col in schema.columns_with(Role.DATE):
        if any(w in col.lower() for w in words):
            return col
    return None


def _consent_column(schema: Schema) -> str | None:
    cols = schema.columns_with(Role.CONSENT)
    emailish = [c for c in cols if "mail" in c.lower()]
    return (emailish or cols or [None])[0]


def _phone_region(schema: Schema, frame: pd.DataFrame | None) -> str:
    country = schema.column_for(Role.COUNTRY)
    if frame is not None and country is not None and country in frame.columns:
        counts = frame[country][~v.is_missing(frame[country])].value_counts()
        if len(counts):
            import phonenumbers

            code = v.country_code(counts.index[0])
            if code in phonenumbers.SUPPORTED_REGIONS:
                return code
    return "US"


def _rules_with_reasons(schema: Schema, frame: pd.DataFrame | None) -> tuple[list[Rule], dict[str, str]]:
    rules: list[Rule] = []
    reasons: dict[str, str] = {}

    def add(rule: Rule, reason: str) -> None:
        if rule.name not in reasons:
            rules.append(rule)
            reasons[rule.name] = reason

    key = _key(schema)
    if key:
        add(lib.unique(key), f"{key} is the record key: no two records may share it")
        add(lib.not_null(key), f"{key} is the record key: every record needs one")
    for col in schema.columns_with(Role.FIRST_NAME) + schema.columns_with(Role.LAST_NAME):
        add(lib.not_null(col, severity="warning"), f"{col} is a name: matching and mailing need it")
    for col in schema.columns_with(Role.EMAIL):
        add(lib.valid_email(col, severity="warning", mostly=0.95), f"{col} holds email addresses")
        add(lib.not_null(col, severity="warning"), f"{col}: records without an email cannot be emailed")
    region = _phone_region(schema, frame)
    for col in schema.columns_with(Role.PHONE):
        add(lib.valid_phone(col, region=region, severity="warning"),
            f"{col} holds phone numbers; {region} assumed for numbers without +country code")
    for col in schema.columns_with(Role.STREET) + schema.columns_with(Role.CITY):
        add(lib.not_null(col, severity="warning"), f"{col} is part of the postal address")
    country = schema.column_for(Role.COUNTRY)
    for col in schema.columns_with(Role.POSTCODE):
        add(lib.not_null(col, severity="warning"), f"{col} is part of the postal address")
        if country:
            add(lib.valid_postcode(col, country_column=country), f"{col} should have the shape used in {country}")
        else:
            add(lib.valid_postcode(col, country="US"), f"{col}: no country column, US postcodes assumed -- edit")
    for col in schema.columns_with(Role.DATE_OF_BIRTH):
        add(lib.date_parseable(col), f"{col} is a date of birth: it must read as a date")
        add(lib.not_in_future(col), f"{col}: nobody is born in the future")
        add(lib.age_between(col, 0, 120), f"{col}: ages outside 0-120 are data errors")
    consent = _consent_column(schema)
    consent_date, signup = _dated(schema, "consent"), _dated(schema, "signup", "sign_up", "created")
    for col in schema.columns_with(Role.CONSENT):
        add(lib.consent_present(col), f"{col} is a consent flag: it must say yes or no")
    if consent and consent_date:
        add(lib.consent_consistent(consent, date_column=consent_date, signup_column=signup),
            f"{consent}: given consent needs a date in {consent_date}"
            + (f", not before {signup}" if signup else ""))
    for col in schema.columns_with(Role.DATE):
        add(lib.date_parseable(col), f"{col} is a date: it must read as one")
        add(lib.not_in_future(col), f"{col}: recorded events cannot be in the future")
    email, phone = schema.column_for(Role.EMAIL), schema.column_for(Role.PHONE)
    if email and phone:
        add(lib.any_valid(lib.valid_email(email), lib.valid_phone(phone, region=region), name="email_or_phone",
                          severity="warning"), "a record can be reached or matched by a valid email or phone")
    return rules, reasons


def _purpose_members(schema: Schema) -> dict[str, tuple[list[str], list[str]]]:
    """Per built-in purpose: (required rule names, optional rule names)."""
    def col(role: Role) -> str | None:
        return schema.column_for(role)

    def names(*parts: tuple[str, str | None]) -> list[str]:
        return [f"{check}:{c}" for check, c in parts] if all(c for _, c in parts) else []

    email, consent = col(Role.EMAIL), _consent_column(schema)
    dob, key = col(Role.DATE_OF_BIRTH), _key(schema)
    signup = _dated(schema, "signup", "sign_up", "created")
    first, last = col(Role.FIRST_NAME), col(Role.LAST_NAME)
    phone = col(Role.PHONE)
    if email and phone:
        contact = ["email_or_phone"]
    else:
        contact = names(("valid_email", email)) or names(("valid_phone", phone))
    return {
        "email_marketing": (names(("valid_email", email), ("consent_present", consent)),
                            names(("consent_consistent", consent))),
        "postal_mailing": (names(("not_null", col(Role.STREET)), ("not_null", col(Role.CITY)),
                                 ("not_null", col(Role.POSTCODE)), ("valid_postcode", col(Role.POSTCODE))), []),
        "analytics": (names(("date_parseable", dob), ("age_between", dob), ("unique", key)),
                      names(("date_parseable", signup), ("not_in_future", signup))),
        "identity_resolution": (names(("not_null", first), ("not_null", last)) + contact
                                if first and last and contact else [], []),
    }
