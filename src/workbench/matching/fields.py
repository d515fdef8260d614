"""Which fields the matcher compares, and how: the comparison plan.

Records are prepared into a frame with one column per match field, named by
role ("first_name", "postcode"...) rather than by the source column, so a
master's ``postcode`` and an acquired list's ``zip`` compare with each other.
Values are standardized copies; the dataset's own values stay untouched.

Every column that carries signal is compared, whatever the data: roles the
schema knows (people, organizations, addresses, websites, ids...) get their
comparator, and columns it calls "other" get one chosen from their values
(a list of items, a category, a number, a date, short text or free text).
Each field says how sure the plan is and why, so an analyst can confirm or
change it (``fields={column: kind or None}``) before labeling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench import standardize as st
from workbench.errors import WorkbenchError
from workbench.matching.kinds import KINDS, LIST_SEPARATORS, kind
from workbench.schema import Role, Schema

#: Match field name and comparator kind per role. Roles not listed (id,
#: consent, source) say nothing about identity, or are decided by values.
ROLE_FIELDS: dict[Role, tuple[str, str]] = {
    Role.FIRST_NAME: ("first_name", "GivenName"),
    Role.LAST_NAME: ("last_name", "Name"),
    Role.FULL_NAME: ("full_name", "Name"),
    Role.ORGANIZATION: ("organization", "OrgName"),
    Role.EMAIL: ("email", "Email"),
    Role.PHONE: ("phone", "String"),
    Role.DATE_OF_BIRTH: ("dob", "Date"),
    Role.STREET: ("street", "Address"),
    Role.ADDRESS: ("address", "Address"),
    Role.CITY: ("city", "ShortString"),
    Role.POSTCODE: ("postcode", "ShortString"),
    Role.STATE: ("state", "Exact"),
    Role.COUNTRY: ("country", "Exact"),
    Role.WEBSITE: ("website", "Exact"),
    Role.REGISTRATION_ID: ("registration_id", "String"),
    Role.GENDER: ("gender", "Exact"),
    Role.DATE: ("date", "DateSpan"),
}

#: Rows looked at to choose a comparator from values.
PROFILE_ROWS = 20_000
#: A column present in fewer rows than this share says too little to compare.
MIN_PRESENT = 0.02


@dataclass(frozen=True)
class MatchField:
    """One compared field: its name in prepared records, source column, comparator kind, and why."""

    name: str
    column: str | None
    kind: str
    role: Role | None = None
    confidence: float = 1.0
    reason: str = ""
    #: Phones: the region numbers without a country code are read in (rows with a country use theirs).
    region: str | None = None

    def variable(self):
        """The dedupe variable comparing this field."""
        return kind(self.kind).variable(self.name)

    def to_dict(self) -> dict:
        """The field as typed config, stored with each run."""
        return {"name": self.name, "column": self.column, "kind": self.kind,
                "role": self.role.value if self.role is not None else None,
                "confidence": round(float(self.confidence), 3), "reason": self.reason, "region": self.region}


@dataclass(frozen=True)
class Skipped:
    """A column the plan does not compare, and why."""

    column: str
    reason: str


def fields_from_schema(schema: Schema, overrides: Mapping[str, str | None] | None = None,
                       frame: pd.DataFrame | None = None) -> list[MatchField]:
    """The comparison plan: match fields implied by roles and values, plus ``overrides``.

    ``overrides`` is ``{column: kind}`` to compare a column a given way, or
    ``{column: None}`` to leave it out. With ``frame`` (the data), columns
    whose role says nothing about how to compare them ("other", a second id,
    an event date) get a comparator chosen from their values; without it only
    roles count. A first and a last name (or a full name alone) also give a
    derived ``name_set`` field (their words as a set), which sees through
    swapped first/last names, and a ``name_suffix`` (jr/sr) field that tells
    a father from a son.
    """
    return plan_fields(schema, overrides, frame)[0]


def plan_fields(schema: Schema, overrides: Mapping[str, str | None] | None = None,
                frame: pd.DataFrame | None = None) -> tuple[list[MatchField], list[Skipped]]:
    """:func:`fields_from_schema` with the columns left out and why."""
    overrides = dict(overrides or {})
    for column, k in overrides.items():
        if column not in schema.names:
            raise WorkbenchError(f"match field override names column {column!r}, which the dataset does not have; "
                                 f"columns: {', '.join(schema.names)}")
        if k is not None and k not in KINDS:
            raise WorkbenchError(f"unknown comparator kind {k!r} for column {column!r}; known: {', '.join(KINDS)}")
    sample = None
    if frame is not None:
        sample = frame if len(frame) <= PROFILE_ROWS else frame.sample(PROFILE_ROWS, random_state=0)
    fields: list[MatchField] = []
    skipped: list[Skipped] = []
    taken: set[str] = set()

    def unique_name(base: str) -> str:
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        return name

    for f in schema:
        col = f.name
        if col == schema.key or f.inferred_by == "key":
            continue
        if col in overrides:
            k = overrides[col]
            if k is None:
                skipped.append(Skipped(col, "left out by the analyst"))
                continue
            base = ROLE_FIELDS[f.role][0] if f.role in ROLE_FIELDS and col == schema.column_for(f.role) else col
            fields.append(MatchField(unique_name(base), col, k, f.role if f.role in ROLE_FIELDS else None, 1.0,
                                     "set by the analyst"))
            continue
        values = sample[col] if sample is not None and col in sample.columns else None
        if values is not None:
            present = values.notna() & (values.astype(str).str.strip() != "")
            if present.mean() < MIN_PRESENT:
                skipped.append(Skipped(col, f"present in {present.mean():.1%} of records"))
                continue
            if values[present].astype(str).nunique() <= 1:
                skipped.append(Skipped(col, "holds one value in every record: it cannot tell records apart"))
                continue
        if f.role in ROLE_FIELDS:
            base, k = ROLE_FIELDS[f.role]
            name = base if col == schema.column_for(f.role) else col
            region = None
            if f.role == Role.PHONE and frame is not None:
                country = schema.column_for(Role.COUNTRY)
                region = st.default_phone_region(frame[country] if country else None)
            why = f"{f.role.value} (role found by {f.inferred_by})"
            if region:
                why += f"; numbers without a country code read as {region}"
            fields.append(MatchField(unique_name(name), col, k, f.role, f.confidence, why, region))
            continue
        if f.role in (Role.CONSENT, Role.SOURCE):
            skipped.append(Skipped(col, f"a {f.role.value} says nothing about who a record is"))
            continue
        if values is None:
            skipped.append(Skipped(col, "no role and no data to choose a comparator from"))
            continue
        k, confidence, why = kind_from_values(values)
        if k is None:
            skipped.append(Skipped(col, why))
            continue
        fields.append(MatchField(unique_name(col), col, k, None, confidence, why))
    names = {f.name for f in fields}
    if {"first_name", "last_name"} <= names or "full_name" in names:
        words = ("first and last name" if {"first_name", "last_name"} <= names else "the full name's words")
        fields.append(MatchField(unique_name("name_set"), None, "TokenSet", None, 1.0,
                                 f"{words} as a set: sees through swapped names ('Smith John', 'John Smith')"))
        fields.append(MatchField(unique_name("name_suffix"), None, "Exact", None, 1.0,
                                 "jr/sr/ii from the names: tells a father from a son"))
    if not fields:
        reasons = "; ".join(f"{s.column}: {s.reason}" for s in skipped) or "no columns besides the key"
        raise WorkbenchError(
            "no usable field for matching: no column can tell records apart "
            f"({reasons}). Set roles with ws.set_schema(ds, {{...}}) or pass fields={{column: 'String'}}."
        )
    return fields, skipped


def kind_from_values(values: pd.Series) -> tuple[str | None, float, str]:
    """A comparator kind for a column with no telling role, from its values: (kind, confidence, why).

    None with the reason when the column says nothing about identity: unique
    per record (an identifier of the row), or long free text.
    """
    v = values.dropna()
    if len(v) and isinstance(v.iloc[0], list | tuple | np.ndarray):
        return "Set", 0.9, "holds lists of items: compared as sets"
    text = v.astype(str).str.strip()
    text = text[text != ""]
    n = len(text)
    if n == 0:
        return None, 0.0, "empty"
    distinct = text.nunique()
    listy = max(text.str.contains(sep, regex=False).mean() for sep in LIST_SEPARATORS)
    if listy >= 0.05:
        return "Set", float(min(1.0, 0.5 + listy)), f"{listy:.0%} of values are lists ('a; b'): compared as sets"
    numeric = pd.to_numeric(text.str.replace(r"[,\s]", "", regex=True), errors="coerce")
    if numeric.notna().mean() >= 0.95:
        if distinct <= 20:
            return "Exact", 0.8, f"a numeric code with {distinct} values: equal or not"
        whole = bool((numeric.dropna() % 1 == 0).all())
        if distinct == n and n >= 50 and whole:
            return None, 0.8, "a different whole number in every record: a row identifier"
        if whole:  # house numbers, account and social security numbers: a typo is a slip, not a distance
            return "String", 0.7, "whole numbers used as codes: edit distance"
        return "Numeric", 0.7, "numbers: compared by relative difference"
    if distinct == n and n >= 50:
        length = text.str.len().mean()
        if text.str.count(" ").mean() < 1 and length < 30:
            return None, 0.7, "a different value in every record: a row identifier"
    dates = st.standardize_date(text.head(2000)).notna().mean()
    if dates >= 0.9:
        return "DateSpan", float(dates), "dates: compared by the days between"
    tokens = text.str.split().str.len().mean()
    length = text.str.len().mean()
    if length > 300:
        return None, 0.6, f"long free text ({length:.0f} characters on average): left out"
    if distinct <= max(20, 0.01 * n) and length < 40:
        return "Exact", 0.8, f"a category with {distinct} values: equal or not"
    if tokens > 3:
        return "TokenSet", 0.6, "free text: the share of words in common"
    return "String", 0.6, "short text: edit distance"


_BY_ROLE = {
    Role.FIRST_NAME: st.standardize_name,
    Role.LAST_NAME: lambda s: st.standardize_name(s, nicknames=False),
    Role.FULL_NAME: st.standardize_name,
    Role.EMAIL: st.standardize_email,
    Role.DATE_OF_BIRTH: lambda s: st.standardize_date(s, past=True),
    Role.DATE: st.standardize_date,
    Role.STREET: st.standardize_street,
    Role.ADDRESS: st.standardize_street,
    Role.POSTCODE: st.standardize_postcode,
}


def _standardizer(f: MatchField):
    if f.kind == "Set":  # lists are lists whatever the role
        return KINDS["Set"].prepare
    if f.role in _BY_ROLE:
        return _BY_ROLE[f.role]
    if f.role == Role.ORGANIZATION or f.kind == "OrgName":
        return KINDS["OrgName"].prepare
    if f.role == Role.WEBSITE:
        return st.standardize_domain
    if f.role == Role.REGISTRATION_ID:
        return st.standardize_identifier
    if f.role == Role.COUNTRY:
        return st.standardize_country
    return kind(f.kind).prepare


def prepare_records(frame: pd.DataFrame, key: str | None, fields: list[MatchField],
                    region: str | None = None) -> pd.DataFrame:
    """Standardized copy of ``frame`` with one column per match field; index = record key as text.

    Phones are read in the region of each row's country when the data has a
    country column, else in ``region`` (default: the data's most common
    country, else US); a number with no international form (a local number)
    is compared by its digits. Missing values are None (dedupe treats '' as a value).
    """
    if key is not None and key not in frame.columns:
        raise WorkbenchError(f"key column {key!r} is not in the data; columns: {', '.join(map(str, frame.columns))}")
    index = frame[key].astype(str) if key is not None else pd.Series(frame.index.astype(str), index=frame.index)
    out = pd.DataFrame(index=frame.index)
    for f in fields:
        if f.column is None:
            continue
        if f.role == Role.PHONE and f.kind != "Set":
            out[f.name] = _none_for_missing(match_phones(frame, f.column, fields, region or f.region))
        else:
            out[f.name] = _none_for_missing(_standardizer(f)(frame[f.column]))
    names = {f.name for f in fields}
    split = {"first_name", "last_name"} <= names
    if "name_set" in names:
        words = ((out["first_name"].fillna("") + " " + out["last_name"].fillna("")) if split
                 else out["full_name"].fillna("")).str.split()
        out["name_set"] = _none_for_missing(words.map(lambda t: " ".join(sorted(set(t))) if t else None))
    if "name_suffix" in names:
        if split:
            suffix = st.name_suffix(frame[schema_column(fields, "last_name")])
            suffix = suffix.where(suffix.notna(), st.name_suffix(frame[schema_column(fields, "first_name")]))
        else:
            suffix = st.name_suffix(frame[schema_column(fields, "full_name")])
        out["name_suffix"] = _none_for_missing(suffix)
    out.index = index.to_numpy()
    out.index.name = "key"
    return out


def match_phones(frame: pd.DataFrame, column: str, fields: list[MatchField], region: str | None) -> pd.Series:
    """Phones as matching compares them: E.164 read by each row's country, else the local digits."""
    country = next((f.column for f in fields if f.role == Role.COUNTRY and f.column in frame.columns), None)
    return st.phone_key(frame[column], st.phone_regions(frame[country] if country else None, region))


def schema_column(fields: list[MatchField], name: str) -> str:
    return next(f.column for f in fields if f.name == name)


def plan_frame(fields: list[MatchField], skipped: list[Skipped] = ()) -> pd.DataFrame:
    """The plan as a table for the analyst: field, column, kind, how sure, why; then the columns left out."""
    rows = [{"field": f.name, "column": f.column or "(derived)", "compared as": f.kind,
             "confidence": round(float(f.confidence), 2), "why": f.reason} for f in fields]
    rows += [{"field": None, "column": s.column, "compared as": "not compared", "confidence": None, "why": s.reason}
             for s in skipped]
    return pd.DataFrame(rows, columns=["field", "column", "compared as", "confidence", "why"])


def _none_for_missing(s: pd.Series) -> pd.Series:
    out = s.astype(object)
    out[out.isna().to_numpy()] = None
    return out
