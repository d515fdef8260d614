"""Field roles: what each column of a customer dataset means.

Every later stage (checks, standardization, matching, masking, survivorship)
asks the schema, not the column name, so that ``zip``, ``postcode`` and
``PLZ`` are treated alike. Roles are inferred from column names first and
from values second, and a YAML file can override any of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from workbench.errors import ConfigError

SCHEMA_FORMAT_VERSION = 1


class Role(StrEnum):
    """What a column holds. ``OTHER`` means the workbench attaches no meaning."""

    ID = "id"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    FULL_NAME = "full_name"
    EMAIL = "email"
    PHONE = "phone"
    DATE_OF_BIRTH = "date_of_birth"
    STREET = "street"
    CITY = "city"
    POSTCODE = "postcode"
    STATE = "state"
    COUNTRY = "country"
    CONSENT = "consent"
    SOURCE = "source"
    DATE = "date"
    OTHER = "other"


#: Roles that identify a person. Dashboards mask them by default.
PII_ROLES = frozenset(
    {
        Role.FIRST_NAME,
        Role.LAST_NAME,
        Role.FULL_NAME,
        Role.EMAIL,
        Role.PHONE,
        Role.DATE_OF_BIRTH,
        Role.STREET,
        Role.POSTCODE,
    }
)

# Normalized column-name tokens per role, most specific first. A column name
# is normalized to lower snake case before lookup ("E-Mail Address" -> "e_mail_address").
_NAME_PATTERNS: list[tuple[Role, re.Pattern[str]]] = [
    (Role.DATE_OF_BIRTH, re.compile(r"^(date_?of_?birth|dob|birth_?date|birthday|birth_?day|geburtsdatum|d_o_b)$")),
    (Role.DATE, re.compile(r"(_date|_at|_on|^date|_time|timestamp|created|updated)$")),
    (Role.CONSENT, re.compile(r"(consent|opt_?in|opt_?out|gdpr|newsletter|(^|_)(permission|subscribed|marketing_ok)(_|$))")),
    (Role.EMAIL, re.compile(r"^(e_?mail|email_?address|e_?mail_?address|mail|email\d?)$")),
    (Role.PHONE, re.compile(r"(phone|mobile|(^|_)(cell|tel|fax|msisdn)(_|$))")),
    (Role.FIRST_NAME, re.compile(r"^(first_?name|given_?name|forename|fname|first|vorname|prenom)$")),
    (Role.LAST_NAME, re.compile(r"^(last_?name|surname|family_?name|lname|last|nachname|nom)$")),
    (Role.FULL_NAME, re.compile(r"^(full_?name|name|customer_?name|contact_?name|person_?name)$")),
    (Role.POSTCODE, re.compile(r"^(post_?code|postal_?code|zip|zip_?code|zipcode|plz)$")),
    (Role.STREET, re.compile(r"^(street|street_?address|address|address_?1|address_?line_?1|addr|addr1|line1|strasse)$")),
    (Role.CITY, re.compile(r"^(city|town|locality|ort|municipality)$")),
    (Role.STATE, re.compile(r"^(state|province|region|county|state_?code)$")),
    (Role.COUNTRY, re.compile(r"^(country|country_?code|nation|land)$")),
    (Role.SOURCE, re.compile(r"^(source|source_?system|list_?source|channel|origin|system)$")),
    (Role.ID, re.compile(r"^(id|.*_id|.*_key|uuid|guid|record_?id)$")),
]

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE_RE = re.compile(r"^\+?[\d\s().\-]{7,20}$")
_DATE_RE = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2} [A-Za-z]{3,9} \d{4})"
)
_CONSENT_VALUES = {"y", "n", "yes", "no", "true", "false", "0", "1", "t", "f"}


def normalize_column_name(name: str) -> str:
    """Lower snake case, so 'E-Mail Address' and 'email_address' compare equal."""
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", str(name).strip())
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()
    return s


def role_from_name(name: str) -> Role | None:
    """The role a column name suggests, or None when it suggests nothing."""
    norm = normalize_column_name(name)
    for role, pattern in _NAME_PATTERNS:
        if pattern.search(norm):
            return role
    return None


def role_from_values(values: pd.Series, sample: int = 500) -> Role | None:
    """The role the values suggest (email, phone, date, consent), or None.

    Used only when the name says nothing; 80% of a non-missing sample must fit.
    """
    s = values.dropna()
    if s.empty:
        return None
    s = s.astype(str).str.strip()
    s = s[s != ""]
    if s.empty:
        return None
    if len(s) > sample:
        s = s.sample(sample, random_state=0)
    if s.str.match(_EMAIL_RE).mean() >= 0.8:
        return Role.EMAIL
    if s.str.lower().isin(_CONSENT_VALUES).mean() >= 0.95 and s.nunique() <= 4:
        return Role.CONSENT
    if s.str.match(_DATE_RE).mean() >= 0.8:
        return Role.DATE
    digits = s.str.count(r"\d")
    if (s.str.match(_PHONE_RE) & (digits >= 7)).mean() >= 0.8 and s.str.contains(r"[\s().\-+]").mean() >= 0.5:
        return Role.PHONE
    return None


@dataclass(frozen=True)
class Field:
    """One column: its role, whether it is personal data, and how we know."""

    name: str
    role: Role
    pii: bool
    inferred_by: str = "name"  # name | values | key | override | default

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role.value, "pii": self.pii, "inferred_by": self.inferred_by}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Field:
        return cls(d["name"], Role(d["role"]), bool(d["pii"]), d.get("inferred_by", "override"))


@dataclass(frozen=True)
class Schema:
    """Field roles of one dataset, in column order."""

    fields: tuple[Field, ...]
    key: str | None = None
    version: int = SCHEMA_FORMAT_VERSION

    # -- lookup -----------------------------------------------------------
    def __getitem__(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"no column {name!r} in schema; columns: {', '.join(self.names)}")

    def __iter__(self):
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def columns_with(self, role: Role | str) -> list[str]:
        """Columns having ``role``, in column order."""
        role = Role(role)
        return [f.name for f in self.fields if f.role == role]

    def column_for(self, role: Role | str) -> str | None:
        """The first column having ``role``, or None."""
        cols = self.columns_with(role)
        return cols[0] if cols else None

    @property
    def pii_columns(self) -> list[str]:
        return [f.name for f in self.fields if f.pii]

    def to_frame(self) -> pd.DataFrame:
        """A table for display: column, role, PII, how the role was found."""
        return pd.DataFrame(
            [{"column": f.name, "role": f.role.value, "pii": f.pii, "inferred_by": f.inferred_by} for f in self.fields],
            columns=["column", "role", "pii", "inferred_by"],
        )

    # -- changes ----------------------------------------------------------
    def with_overrides(self, overrides: Mapping[str, Any], *, origin: str = "override") -> Schema:
        """Apply ``{column: role}`` or ``{column: {role:, pii:}}``; unknown columns are an error."""
        by_name = {f.name: f for f in self.fields}
        for col, spec in overrides.items():
            if col not in by_name:
                raise ConfigError(
                    f"schema override names column {col!r}, which the dataset does not have; "
                    f"columns: {', '.join(self.names)}",
                    path=origin if origin != "override" else None,
                )
            f = by_name[col]
            if isinstance(spec, str):
                role = _parse_role(spec, col, origin)
                by_name[col] = replace(f, role=role, pii=role in PII_ROLES, inferred_by="override")
            elif isinstance(spec, Mapping):
                role = _parse_role(spec.get("role", f.role.value), col, origin)
                pii = bool(spec.get("pii", role in PII_ROLES))
                by_name[col] = replace(f, role=role, pii=pii, inferred_by="override")
            else:
                raise ConfigError(f"schema override for {col!r} must be a role name or a mapping, got {spec!r}")
        return replace(self, fields=tuple(by_name[f.name] for f in self.fields))

    # -- (de)serialization ------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "key": self.key, "fields": [f.to_dict() for f in self.fields]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Schema:
        version = int(d.get("version", 1))
        if version > SCHEMA_FORMAT_VERSION:
            raise ConfigError(f"schema format version {version} is newer than this workbench understands")
        return cls(tuple(Field.from_dict(f) for f in d["fields"]), key=d.get("key"), version=version)

    def to_yaml(self) -> str:
        """YAML a user can edit and pass back as overrides (column -> role, pii)."""
        body = {
            "version": self.version,
            "key": self.key,
            "fields": {f.name: {"role": f.role.value, "pii": f.pii} for f in self.fields},
        }
        return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def _parse_role(value: Any, column: str, origin: str) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ConfigError(f"unknown role {value!r} for column {column!r}; known roles: {known}", path=origin) from None


def infer_schema(frame: pd.DataFrame, key: str | None = None) -> Schema:
    """Guess each column's role from its name, then from its values."""
    fields: list[Field] = []
    for col in frame.columns:
        name = str(col)
        if key is not None and name == key:
            fields.append(Field(name, Role.ID, False, "key"))
            continue
        role, how = role_from_name(name), "name"
        if role is None:
            role, how = role_from_values(frame[col]), "values"
        if role == Role.DATE and re.search(r"birth|dob", normalize_column_name(name)):
            role = Role.DATE_OF_BIRTH
        if role is None:
            role, how = Role.OTHER, "default"
        fields.append(Field(name, role, role in PII_ROLES, how))
    return Schema(tuple(fields), key=key)


def load_overrides(path: str | Path) -> dict[str, Any]:
    """Read a schema YAML (as written by ``Schema.to_yaml``) into overrides.

    Accepts ``fields: {col: role}`` or ``fields: {col: {role:, pii:}}``.
    Errors name the file and line.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError("no such schema file", path=str(path))
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path=str(path), line=line) from None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("fields"), Mapping):
        raise ConfigError("expected a mapping with a 'fields:' section (column: role)", path=str(path))
    version = int(doc.get("version", 1))
    if version > SCHEMA_FORMAT_VERSION:
        raise ConfigError(f"schema version {version} is newer than this workbench understands", path=str(path))
    return dict(doc["fields"])


def describe_roles(schema: Schema, roles: Iterable[Role] | None = None) -> str:
    """One line per role found, for CLI output."""
    roles = list(roles) if roles is not None else list(Role)
    parts = []
    for role in roles:
        cols = schema.columns_with(role)
        if cols and role != Role.OTHER:
            parts.append(f"{role.value}: {', '.join(cols)}")
    return "; ".join(parts)
