"""Which fields the matcher compares, and how, derived from the schema's roles.

Records are prepared into a frame with one column per match field, named by
role ("first_name", "postcode"...) rather than by the source column, so a
master's ``postcode`` and an acquired list's ``zip`` compare with each other.
Values are standardized copies; the dataset's own values stay untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from dedupe import variables as dv

from workbench import standardize as st
from workbench.errors import WorkbenchError
from workbench.matching import comparators
from workbench.schema import Role, Schema

#: Match field name and comparator kind per role. Roles not listed (id,
#: consent, source, date, other) say nothing about identity.
ROLE_FIELDS: dict[Role, tuple[str, str]] = {
    Role.FIRST_NAME: ("first_name", "GivenName"),
    Role.LAST_NAME: ("last_name", "Name"),
    Role.FULL_NAME: ("full_name", "Name"),
    Role.EMAIL: ("email", "Email"),
    Role.PHONE: ("phone", "String"),
    Role.DATE_OF_BIRTH: ("dob", "Date"),
    Role.STREET: ("street", "Address"),
    Role.CITY: ("city", "ShortString"),
    Role.POSTCODE: ("postcode", "ShortString"),
    Role.STATE: ("state", "Exact"),
}

KINDS = ("Name", "GivenName", "Email", "Address", "String", "ShortString", "Exact", "Date", "TokenSet", "AffineGap")

#: Comparators replacing dedupe's affine gap for kinds built on its String type
#: (its predicates still drive blocking).
_STRING_COMPARATORS = {
    "Name": comparators.compare_names,
    "GivenName": comparators.compare_given_names,
    "Email": comparators.compare_emails,
    "Address": comparators.compare_addresses,
    "String": comparators.compare_strings,
}


@dataclass(frozen=True)
class MatchField:
    """One compared field: its name in prepared records, source column, comparator kind."""

    name: str
    column: str | None
    kind: str
    role: Role | None = None

    def variable(self):
        """The dedupe variable comparing this field."""
        if self.kind in _STRING_COMPARATORS:
            var = dv.String(self.name, has_missing=True)
            var.comparator = _STRING_COMPARATORS[self.kind]
            return var
        if self.kind == "AffineGap":
            return dv.String(self.name, has_missing=True)
        if self.kind == "ShortString":
            var = dv.ShortString(self.name, has_missing=True)
            var.comparator = comparators.compare_strings
            return var
        if self.kind == "Exact":
            var = dv.Exact(self.name, has_missing=True)
            var.comparator = comparators.compare_exact  # dedupe's returns a similarity; we use distances
            return var
        if self.kind == "Date":
            return dv.Custom(self.name, comparator=comparators.compare_dates, has_missing=True)
        if self.kind == "TokenSet":
            return dv.Custom(self.name, comparator=comparators.compare_token_sets, has_missing=True)
        raise WorkbenchError(f"unknown comparator kind {self.kind!r} for field {self.name!r}; known: {', '.join(KINDS)}")


def fields_from_schema(schema: Schema, overrides: Mapping[str, str | None] | None = None) -> list[MatchField]:
    """Match fields implied by the roles, plus ``overrides`` ({column: kind or None to drop}).

    A first and a last name also give a derived ``name_set`` field (token set of
    both), which sees through swapped first/last names, and a ``name_suffix``
    (jr/sr) field that tells a father from a son of the same name.
    """
    fields: list[MatchField] = []
    used: set[str] = set()
    for role, (name, kind) in ROLE_FIELDS.items():
        column = schema.column_for(role)
        if column is not None:
            fields.append(MatchField(name, column, kind, role))
            used.add(column)
    names = {f.name for f in fields}
    if {"first_name", "last_name"} <= names:
        fields.append(MatchField("name_set", None, "TokenSet"))
        fields.append(MatchField("name_suffix", None, "Exact"))
    for column, kind in (overrides or {}).items():
        if column not in schema.names:
            raise WorkbenchError(f"match field override names column {column!r}, which the dataset does not have; "
                                 f"columns: {', '.join(schema.names)}")
        fields = [f for f in fields if f.column != column]
        if kind is None:
            continue
        if kind not in KINDS:
            raise WorkbenchError(f"unknown comparator kind {kind!r} for column {column!r}; known: {', '.join(KINDS)}")
        role = schema[column].role
        name = ROLE_FIELDS[role][0] if role in ROLE_FIELDS and column == schema.column_for(role) else column
        fields.append(MatchField(name, column, kind, role if role in ROLE_FIELDS else None))
    if not fields:
        raise WorkbenchError(
            "no usable field for matching: no column has a name, email, phone, date of birth or address role. "
            "Set roles with ws.set_schema(ds, {...}) or pass fields={column: 'String'}."
        )
    return fields


_BY_ROLE = {
    Role.FIRST_NAME: st.standardize_name,
    Role.LAST_NAME: lambda s: st.standardize_name(s, nicknames=False),
    Role.FULL_NAME: st.standardize_name,
    Role.EMAIL: st.standardize_email,
    Role.PHONE: st.standardize_phone,
    Role.DATE_OF_BIRTH: st.standardize_date,
    Role.STREET: st.standardize_street,
    Role.POSTCODE: st.standardize_postcode,
}


def prepare_records(frame: pd.DataFrame, key: str | None, fields: list[MatchField]) -> pd.DataFrame:
    """Standardized copy of ``frame`` with one column per match field; index = record key as text.

    Missing values are None (dedupe treats '' as a value).
    """
    if key is not None and key not in frame.columns:
        raise WorkbenchError(f"key column {key!r} is not in the data; columns: {', '.join(map(str, frame.columns))}")
    index = frame[key].astype(str) if key is not None else pd.Series(frame.index.astype(str), index=frame.index)
    out = pd.DataFrame(index=frame.index)
    for f in fields:
        if f.column is None:
            continue
        fn = _BY_ROLE.get(f.role, st.clean_text)
        out[f.name] = _none_for_missing(fn(frame[f.column]))
    names = {f.name for f in fields}
    if "name_set" in names:
        both = (out["first_name"].fillna("") + " " + out["last_name"].fillna("")).str.split()
        out["name_set"] = _none_for_missing(both.map(lambda t: " ".join(sorted(set(t))) if t else None))
    if "name_suffix" in names:
        first = schema_column(fields, "first_name")
        last = schema_column(fields, "last_name")
        suffix = st.name_suffix(frame[last])
        out["name_suffix"] = _none_for_missing(suffix.where(suffix.notna(), st.name_suffix(frame[first])))
    out.index = index.to_numpy()
    out.index.name = "key"
    return out


def schema_column(fields: list[MatchField], name: str) -> str:
    return next(f.column for f in fields if f.name == name)


def _none_for_missing(s: pd.Series) -> pd.Series:
    out = s.astype(object)
    out[out.isna().to_numpy()] = None
    return out
