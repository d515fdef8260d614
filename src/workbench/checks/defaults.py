"""Zero-config rules: what the field roles of a schema imply, and built-in purposes.

An analyst who has only loaded a file should already get a useful
assessment; the rules come from roles (not column names), so ``zip`` and
``PLZ`` get the same postcode check. ``suggest_rules_yaml`` writes the same
rules as a commented file to edit and load back with ``load_rules``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pandas as pd

from workbench.checks import library as lib
from workbench.checks.library import Rule
from workbench.checks.rules_file import RULES_FORMAT_VERSION, RuleSet, to_yaml
from workbench.schema import Field, Role, Schema
from workbench.standardize import common_region

__all__ = ["BUILTIN_PURPOSES", "MIN_CONFIDENCE", "STALE_YEARS", "builtin_purposes", "confident_schema",
           "default_rules", "suggest_rules_yaml", "unassessable_purposes"]

#: What each built-in purpose asks of a row, for documentation and widgets.
BUILTIN_PURPOSES: dict[str, str] = {
    "email_marketing": "valid email, consent flag recorded, and given consent dated not before signup",
    "postal_mailing": "street, city and postcode present (or a one-line address and postcode), postcode of a "
                      "valid shape",
    "analytics": "date of birth readable with a plausible age, signup date readable and not in the "
                 "future, record key unique",
    "identity_resolution": "a name present (first and last, full name or organization), a valid email "
                           "or a valid phone, and the record key present (when there is one)",
}

#: Roles inferred from values with less confidence than this get no zero-config rule.
MIN_CONFIDENCE = 0.8
#: Records whose last update (else creation) is older than this many years are stale.
STALE_YEARS = 3
#: How a role was found that zero-config rules trust whatever the confidence.
_TRUSTED_BY = ("name", "key", "override")
_UPDATED_WORDS = ("updat", "modif", "changed", "edited", "last_")
_CREATED_WORDS = ("signup", "sign_up", "created", "registered", "joined", "opened")


def default_rules(schema: Schema, frame: pd.DataFrame | None = None, *, default_region: str | None = None,
                  min_confidence: float = MIN_CONFIDENCE, stale_years: float = STALE_YEARS) -> RuleSet:
    """Rules implied by the schema's confident field roles, plus the built-in purposes they support.

    A role counts when it came from the column name, the key or an override,
    or from values with at least ``min_confidence`` of them fitting; a
    column is consent only when its name (or an override) says so. Phones
    are read in each row's country when there is a country column, else in
    ``default_region``; without one, the most common country in ``frame``
    (else US) becomes the rule set's ``default_region``. Records whose last
    update (else creation) is older than ``stale_years`` are stale.
    """
    rules, _, region = _rules_with_reasons(schema, frame, default_region, min_confidence, stale_years)
    return RuleSet(rules, builtin_purposes(schema, rules, min_confidence=min_confidence), default_region=region)


def confident_schema(schema: Schema, min_confidence: float = MIN_CONFIDENCE) -> Schema:
    """``schema`` with every role zero-config rules should not trust turned into OTHER."""
    fields = tuple(f if _trusted(f, min_confidence) else replace(f, role=Role.OTHER) for f in schema.fields)
    return replace(schema, fields=fields)


def _trusted(f: Field, min_confidence: float) -> bool:
    if f.role == Role.CONSENT:  # a yes/no column is consent only when its name says so
        return f.inferred_by in ("name", "override")
    return f.inferred_by in _TRUSTED_BY or f.confidence >= min_confidence


def builtin_purposes(schema: Schema, rules: list[Rule], *,
                     min_confidence: float = MIN_CONFIDENCE) -> dict[str, list[str]]:
    """Built-in purposes whose required rules are all in ``rules`` (optional ones added when present)."""
    names = {r.name for r in rules}
    out: dict[str, list[str]] = {}
    for purpose, (required, optional) in _purpose_members(confident_schema(schema, min_confidence)).items():
        if required and all(n in names for n in required):
            out[purpose] = required + [n for n in optional if n in names]
    return out


def unassessable_purposes(schema: Schema, purposes: Iterable[str] = (), *,
                          min_confidence: float = MIN_CONFIDENCE) -> dict[str, str]:
    """Built-in purposes not in ``purposes``, each with why it cannot be assessed (the missing fields).

    Reported as "not assessable" rather than as 0% fit: a list without a
    consent column is not unfit for email marketing, it is unknown.
    """
    trusted = confident_schema(schema, min_confidence)

    def has(*roles: Role) -> bool:
        return any(trusted.column_for(r) for r in roles)

    def missing(label: str, *roles: Role) -> list[str]:
        if has(*roles):
            return []
        unsure = [f for f in schema.fields if f.role in roles and not _trusted(f, min_confidence)]
        if unsure:
            f = unsure[0]
            why = ("only its name can make a column consent" if f.role == Role.CONSENT
                   else f"only {f.confidence:.0%} of its values fit")
            return [f"{label} (column {f.name!r} looked like one, but {why})"]
        return [label]

    needs = {
        "email_marketing": missing("an email column", Role.EMAIL)
        + missing("a consent column (named consent, opt-in, newsletter, ...)", Role.CONSENT),
        "postal_mailing": ([] if has(Role.STREET) and has(Role.CITY) else missing(
            "a city column (or a one-line address)" if has(Role.STREET) else "a street and city, or a one-line "
            "address", Role.ADDRESS)) + missing("a postcode column", Role.POSTCODE),
        "analytics": missing("a date of birth", Role.DATE_OF_BIRTH)
        + ([] if _key(trusted) else ["a record key"]),
        "identity_resolution": ([] if (has(Role.FIRST_NAME) and has(Role.LAST_NAME)) else
                                missing("a name (first and last, full name or organization)", Role.FULL_NAME,
                                        Role.ORGANIZATION))
        + missing("an email or phone column", Role.EMAIL, Role.PHONE),
    }
    taken = set(purposes)
    return {p: "needs " + " and ".join(m) if m else "its rules are not in this rule set"
            for p, m in needs.items() if p not in taken}


def suggest_rules_yaml(schema: Schema, frame: pd.DataFrame | None = None, *, default_region: str | None = None,
                       min_confidence: float = MIN_CONFIDENCE, stale_years: float = STALE_YEARS) -> str:
    """The default rules as an editable, commented YAML rules file."""
    rules, reasons, region = _rules_with_reasons(schema, frame, default_region, min_confidence, stale_years)
    ruleset = RuleSet(rules, builtin_purposes(schema, rules, min_confidence=min_confidence), default_region=region)
    kinds = ", ".join(sorted(lib.check_kinds()))
    lines = [
        "# Rules suggested by workbench from the field roles of this dataset.",
        "# Edit freely, then load with workbench.checks.load_rules(path).",
        "#   severity: warning | error | critical   (error and critical rows go to the failing side of split())",
        "#   mostly: 0.95   passes the rule when at least 95% of tested rows pass",
        f"# Check kinds: {kinds}",
        f"version: {RULES_FORMAT_VERSION}",
        f"# {reasons['__region__']}",
        to_yaml({"default_region": region}).strip(),  # quoted where YAML would misread it ('NO')
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
    for purpose, why in unassessable_purposes(schema, ruleset.purposes, min_confidence=min_confidence).items():
        lines.append(f"# {purpose}: not assessable, {why}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------


def _key(schema: Schema) -> str | None:
    return schema.key or schema.column_for(Role.ID)


def _dated(schema: Schema, *words: str) -> str | None:
    for col in schema.columns_with(Role.DATE):
        if any(w in col.lower() for w in words):
            return col
    return None


def consent_columns(schema: Schema) -> tuple[str | None, str | None]:
    """(the consent flag the built-in purposes read, the date column that dates it), either may be None."""
    return _consent_column(schema), _dated(schema, "consent")


def _consent_column(schema: Schema) -> str | None:
    cols = schema.columns_with(Role.CONSENT)
    emailish = [c for c in cols if "mail" in c.lower()]
    return (emailish or cols or [None])[0]


def _phone_region(schema: Schema, frame: pd.DataFrame | None) -> str | None:
    """The most common country in the data, as a phone region, or None."""
    country = schema.column_for(Role.COUNTRY)
    if frame is not None and country is not None and country in frame.columns:
        return common_region(frame[country])
    return None


def _rules_with_reasons(schema: Schema, frame: pd.DataFrame | None, default_region: str | None,
                        min_confidence: float, stale_years: float) -> tuple[list[Rule], dict[str, str], str]:
    rules: list[Rule] = []
    reasons: dict[str, str] = {}
    schema = confident_schema(schema, min_confidence)

    def add(rule: Rule, reason: str) -> None:
        if rule.name not in reasons:
            rules.append(rule)
            reasons[rule.name] = reason

    key = _key(schema)
    if key:
        add(lib.unique(key), f"{key} is the record key: no two records may share it")
        add(lib.not_null(key), f"{key} is the record key: every record needs one")
    for col in schema.columns_with(Role.FIRST_NAME) + schema.columns_with(Role.LAST_NAME) \
            + schema.columns_with(Role.FULL_NAME) + schema.columns_with(Role.ORGANIZATION):
        add(lib.not_null(col, severity="warning"), f"{col} is a name: matching and mailing need it")
    for col in schema.columns_with(Role.EMAIL):
        add(lib.valid_email(col, severity="warning", mostly=0.95), f"{col} holds email addresses")
        add(lib.not_null(col, severity="warning"), f"{col}: records without an email cannot be emailed")
    country = schema.column_for(Role.COUNTRY)
    if default_region is not None:
        region = lib.checked_region(default_region)
        why = f"default_region {region} was given"
    else:
        found = _phone_region(schema, frame)
        region = found or lib.FALLBACK_REGION
        why = (f"{found} is the most common country in {country}" if found
               else f"no country in the data: {region} assumed -- edit")
    reasons["__region__"] = f"phones without +country code are read in this region ({why})"
    for col in schema.columns_with(Role.PHONE):
        where = f"the country in {country}, else {region}" if country else region
        add(lib.valid_phone(col, country_column=country, severity="warning"),
            f"{col} holds phone numbers, read in {where} when they have no +country code; "
            "local numbers without area code count as valid-local")
    for col in (schema.columns_with(Role.STREET) + schema.columns_with(Role.ADDRESS)
                + schema.columns_with(Role.CITY)):
        add(lib.not_null(col, severity="warning"), f"{col} is part of the postal address")
    for col in schema.columns_with(Role.POSTCODE):
        add(lib.not_null(col, severity="warning"), f"{col} is part of the postal address")
        if country:
            add(lib.valid_postcode(col, country_column=country), f"{col} should have the shape used in {country}")
        else:
            add(lib.valid_postcode(col, country=region), f"{col}: no country column, {region} postcodes assumed "
                                                          "-- edit")
        place = [c for c in (schema.column_for(Role.CITY), schema.column_for(Role.STATE)) if c]
        if place:
            add(lib.consistent_mapping(col, place, severity="warning"),
                f"records sharing a {col} should agree on {' and '.join(place)}")
    for col in schema.columns_with(Role.DATE_OF_BIRTH):
        # past=True: a two-digit birth year is read in the past, as standardization reads it
        add(lib.date_parseable(col, past=True), f"{col} is a date of birth: it must read as a date")
        add(lib.not_in_future(col, past=True), f"{col}: nobody is born in the future")
        add(lib.age_between(col, 0, 120, past=True), f"{col}: ages outside 0-120 are data errors")
    consent = _consent_column(schema)
    consent_date, signup = _dated(schema, "consent"), _dated(schema, *_CREATED_WORDS)
    updated = _dated(schema, *_UPDATED_WORDS)
    for col in schema.columns_with(Role.CONSENT):
        add(lib.consent_present(col), f"{col} is a consent flag: it must say yes or no")
    if consent and consent_date:
        add(lib.consent_consistent(consent, date_column=consent_date, signup_column=signup),
            f"{consent}: given consent needs a date in {consent_date}"
            + (f", not before {signup}" if signup else ""))
    for col in schema.columns_with(Role.DATE):
        add(lib.date_parseable(col), f"{col} is a date: it must read as one")
        if col == updated:
            add(lib.not_in_future(col, dimension="timeliness"), f"{col}: a record cannot be updated in the future")
        else:
            add(lib.not_in_future(col), f"{col}: recorded events cannot be in the future")
    if signup and updated and signup != updated:
        add(lib.dates_ordered(signup, updated, severity="warning"), f"{signup} should not come after {updated}")
    dob = schema.column_for(Role.DATE_OF_BIRTH)
    if dob and signup:
        add(lib.dates_ordered(dob, signup, severity="warning"), f"{dob}: nobody signs up before being born")
    last = updated or signup
    if last and stale_years:
        add(lib.freshness(last, max_age_years=stale_years, severity="warning"),
            f"{last}: records not {'updated' if last == updated else 'created'} in {stale_years:g} years are stale")
    email, phone = schema.column_for(Role.EMAIL), schema.column_for(Role.PHONE)
    if email and phone:
        add(lib.any_valid(lib.valid_email(email), lib.valid_phone(phone, country_column=country),
                          name="email_or_phone", severity="warning"),
            "a record can be reached or matched by a valid email or phone")
    return rules, reasons, region


def _purpose_members(schema: Schema) -> dict[str, tuple[list[str], list[str]]]:
    """Per built-in purpose: (required rule names, optional rule names)."""
    def col(role: Role) -> str | None:
        return schema.column_for(role)

    def names(*parts: tuple[str, str | None]) -> list[str]:
        return [f"{check}:{c}" for check, c in parts] if all(c for _, c in parts) else []

    email, consent = col(Role.EMAIL), _consent_column(schema)
    dob, key = col(Role.DATE_OF_BIRTH), _key(schema)
    signup = _dated(schema, *_CREATED_WORDS)
    first, last = col(Role.FIRST_NAME), col(Role.LAST_NAME)
    phone = col(Role.PHONE)
    if email and phone:
        contact = ["email_or_phone"]
    else:
        contact = names(("valid_email", email)) or names(("valid_phone", phone))
    postcode = col(Role.POSTCODE)
    postal = names(("not_null", col(Role.STREET)), ("not_null", col(Role.CITY)),
                   ("not_null", postcode), ("valid_postcode", postcode))
    if not postal:
        postal = names(("not_null", col(Role.ADDRESS)), ("not_null", postcode), ("valid_postcode", postcode))
    who = (names(("not_null", first), ("not_null", last)) or names(("not_null", col(Role.FULL_NAME)))
           or names(("not_null", col(Role.ORGANIZATION))))
    return {
        "email_marketing": (names(("valid_email", email), ("consent_present", consent)),
                            names(("consent_consistent", consent))),
        "postal_mailing": (postal, []),
        "analytics": (names(("date_parseable", dob), ("age_between", dob), ("unique", key)),
                      names(("date_parseable", signup), ("not_in_future", signup))),
        # A record without its key cannot be tied back to its source: an all-null key is unfit.
        "identity_resolution": (who + contact if who and contact else [], names(("not_null", key))),
    }
