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
    ORGANIZATION = "organization"      # company, site, agency, employer name
    ADDRESS = "address"                # a whole address on one line
    WEBSITE = "website"                # URL or domain
    REGISTRATION_ID = "registration_id"  # tax, VAT, company or licence number
    GENDER = "gender"
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
        Role.ADDRESS,
        Role.POSTCODE,
    }
)

# Normalized column-name tokens per role, most specific first. A column name
# is normalized to lower snake case before lookup ("E-Mail Address" -> "e_mail_address").
_NAME_PATTERNS: list[tuple[Role, re.Pattern[str]]] = [
    (Role.DATE_OF_BIRTH, re.compile(r"^(date_?of_?birth|dob|birth_?date|birthday|birth_?day|geburtsdatum|d_o_b)$")),
    (Role.DATE, re.compile(r"(_date|_at|_on|^date|_time|timestamp|created|updated)$")),
    (Role.CONSENT, re.compile(r"(consent|opt_?in|opt_?out|gdpr|newsletter|unsubscri|(^|_)(permission|subscribed|marketing_ok)(_|$))")),
    (Role.EMAIL, re.compile(r"^(e_?mail|email_?address|e_?mail_?address|mail|email\d?)$")),
    (Role.PHONE, re.compile(r"(phone|mobile|(^|_)(cell|tel|fax|msisdn)(_|$))")),
    (Role.FIRST_NAME, re.compile(r"^(first_?name|given_?name|forename|fname|first|vorname|prenom)$")),
    (Role.LAST_NAME, re.compile(r"^(last_?name|surname|family_?name|lname|last|nachname|nom)$")),
    (Role.FULL_NAME, re.compile(r"^(full_?name|name|customer_?name|contact_?name|person_?name)$")),
    (Role.GENDER, re.compile(r"^(gender|sex|geschlecht|sexe)$")),
    (Role.WEBSITE, re.compile(r"^(website|web_?site|url|homepage|home_?page|web|domain|web_?address|site_?url)$")),
    (Role.REGISTRATION_ID, re.compile(
        r"(^|_)(vat|tax|ein|tin|duns|lei|abn|acn|crn|siren|siret|ust_?id|company_?(number|no|reg)|"
        r"registration|reg_?no|license|licence|npi|ukprn)(_|$)")),
    (Role.ORGANIZATION, re.compile(
        r"^(company|company_?name|organi[sz]ation|organi[sz]ation_?name|org|org_?name|business|business_?name|"
        r"employer|firm|firm_?name|account_?name|site_?name|agency|agency_?name|vendor|vendor_?name|supplier|"
        r"supplier_?name|legal_?name|trading_?name|store_?name|restaurant|restaurant_?name|institution|"
        r"provider_?name|facility_?name|merchant|merchant_?name|assignee|assignee_?name|firma|societe|raison_?sociale)$")),
    (Role.ADDRESS, re.compile(
        r"^(full_?address|address_?full|address_?line|one_?line_?address|complete_?address|site_?address|location|"
        r"location_?address|mailing_?address|postal_?address|billing_?address|shipping_?address|anschrift)$")),
    (Role.POSTCODE, re.compile(r"^(post_?code|postal_?code|zip|zip_?code|zipcode|plz)$")),
    (Role.STREET, re.compile(r"^(street|street_?address|address|address_?1|address_?line_?1|addr|addr1|line1|strasse)$")),
    (Role.CITY, re.compile(r"^(city|town|locality|ort|municipality)$")),
    (Role.STATE, re.compile(r"^(state|province|region|county|state_?code)$")),
    (Role.COUNTRY, re.compile(r"^(country|country_?code|nation|land)$")),
    (Role.SOURCE, re.compile(r"^(source|source_?system|list_?source|channel|origin|system)$")),
    (Role.ID, re.compile(r"^(id|.*_id|.*_key|uuid|guid|record_?id)$")),
]

#: A bare address: the whole value, nothing around it (not "write to a@b.com", not "Ann <a@b.com>").
_EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[A-Za-z]{2,}$")
_PHONE_RE = re.compile(r"^\+?[\d\s().\-]{7,20}$")
_DECIMAL_RE = re.compile(r"^-?\d+\.\d{1,3}$")
_DATE_RE = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2} [A-Za-z]{3,9} \d{4})"
)
#: Yes/no flag values. Values alone never make a column consent: "CC fund: Y" is a flag.
_FLAG_VALUES = {"y", "n", "yes", "no", "true", "false", "0", "1", "0.0", "1.0", "t", "f"}
_URL_RE = re.compile(r"^(https?://|www\.)[^\s]+$", re.IGNORECASE)
_GENDER_VALUES = {"m", "f", "male", "female", "man", "woman", "u", "x", "unknown", "other", "d", "diverse"}


#: Confidence of a role read from a column name: a name is a strong hint, not proof.
NAME_CONFIDENCE = 0.9
#: Share of sampled values that must fit for a role from values. Email asks
#: for nearly all: a free-text column with an address here and there is not one.
_VALUE_SHARE = {Role.EMAIL: 0.95, Role.WEBSITE: 0.8, Role.GENDER: 0.95, Role.DATE: 0.8, Role.PHONE: 0.8}
#: Roles whose name is overruled when the values are a yes/no flag ("Website: Y" = has a website).
_CONTENT_ROLES = frozenset({Role.EMAIL, Role.PHONE, Role.WEBSITE, Role.DATE, Role.DATE_OF_BIRTH})


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
    """The role the values suggest (email, website, gender, date, phone), or None.

    Used only when the name says nothing. Yes/no flags suggest nothing: a
    column is consent only when its name says so.
    """
    return role_share_from_values(values, sample)[0]


def _sample_text(values: pd.Series, sample: int) -> pd.Series:
    s = values.dropna()
    if s.empty:
        return s.astype(object)
    s = s.astype(str).str.strip()
    s = s[s != ""]
    if len(s) > sample:
        s = s.sample(sample, random_state=0)
    return s


def _flag_share(s: pd.Series) -> float:
    """Share of values that are yes/no flags, 0 unless the column looks like one (at most 4 distinct)."""
    if s.empty or s.nunique() > 4:
        return 0.0
    share = float(s.str.lower().isin(_FLAG_VALUES).mean())
    return share if share >= 0.95 else 0.0


_ONE_LINE_ADDRESS = re.compile(r"^\s*\d[\w\-/]*\s+\S.*,\s*[^\W\d_]")


def _one_line_share(s: pd.Series) -> float:
    """Share of values that read as a whole address on one line: a street with a number, then ', town...'."""
    return float(s.str.contains(_ONE_LINE_ADDRESS).mean()) if len(s) else 0.0


def role_share_from_values(values: pd.Series, sample: int = 500) -> tuple[Role | None, float]:
    """:func:`role_from_values` with the share of sampled values that fit (the confidence)."""
    s = _sample_text(values, sample)
    if s.empty or _flag_share(s):
        return None, 0.0
    bare = s.str.match(_EMAIL_RE)
    if bare.mean() >= _VALUE_SHARE[Role.EMAIL]:
        from workbench.standardize import standardize_email  # the one reading of emails

        share = float((bare & standardize_email(s).notna()).mean())
        if share >= _VALUE_SHARE[Role.EMAIL]:
            return Role.EMAIL, share
    share = float(s.str.match(_URL_RE).mean())
    if share >= _VALUE_SHARE[Role.WEBSITE]:
        return Role.WEBSITE, share
    lower = s.str.lower()
    share = float(lower.isin(_GENDER_VALUES).mean())
    if (share >= _VALUE_SHARE[Role.GENDER] and s.nunique() <= 6
            and lower.isin({"m", "male", "man", "f", "female", "woman"}).any()):
        return Role.GENDER, share
    share = float(s.str.match(_DATE_RE).mean())
    if share >= _VALUE_SHARE[Role.DATE]:
        return Role.DATE, share
    digits = s.str.count(r"\d")
    # A decimal number ("636961.69", "-12.5") is an amount, not a phone written with a dot.
    share = float((s.str.match(_PHONE_RE) & (digits >= 7) & ~s.str.match(_DECIMAL_RE)).mean())
    if share >= _VALUE_SHARE[Role.PHONE] and s.str.contains(r"[\s().\-+]").mean() >= 0.5:
        return Role.PHONE, share
    return None, 0.0


@dataclass(frozen=True)
class Field:
    """One column: its role, whether it is personal data, and how we know."""

    name: str
    role: Role
    pii: bool
    inferred_by: str = "name"  # name | values | key | override | default
    #: How sure the inference is, 0-1: 1 for a key or an override, the share of
    #: sampled values that fit for a role found by values. Zero-config rules and
    #: the comparison plan only trust confident roles.
    confidence: float = 1.0
    #: Declared non-personal by a person (``{safe: true}`` in a schema override):
    #: shown unmasked. Otherwise ``workbench.masking.needs_mask`` decides from the role.
    safe: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role.value, "pii": self.pii, "inferred_by": self.inferred_by,
                "confidence": round(float(self.confidence), 3), **({"safe": True} if self.safe else {})}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Field:
        return cls(d["name"], Role(d["role"]), bool(d["pii"]), d.get("inferred_by", "override"),
                   float(d.get("confidence", 1.0)), bool(d.get("safe", False)))


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
            [{"column": f.name, "role": f.role.value, "pii": f.pii, "inferred_by": f.inferred_by,
              "confidence": round(float(f.confidence), 2)} for f in self.fields],
            columns=["column", "role", "pii", "inferred_by", "confidence"],
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
                by_name[col] = replace(f, role=role, pii=role in PII_ROLES, inferred_by="override", confidence=1.0,
                                       safe=False)
            elif isinstance(spec, Mapping):
                role = _parse_role(spec.get("role", f.role.value), col, origin)
                safe = spec.get("safe") is True  # declared non-personal: shown unmasked
                pii = False if safe else bool(spec.get("pii", role in PII_ROLES))
                by_name[col] = replace(f, role=role, pii=pii, inferred_by="override", confidence=1.0, safe=safe)
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
            "fields": {f.name: {"role": f.role.value, "pii": f.pii, **({"safe": True} if f.safe else {})}
                       for f in self.fields},
        }
        return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def _parse_role(value: Any, column: str, origin: str) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ConfigError(f"unknown role {value!r} for column {column!r}; known roles: {known}", path=origin) from None


def infer_schema(frame: pd.DataFrame, key: str | None = None) -> Schema:
    """Guess each column's role from its name, then from its values, with how sure each guess is.

    Confidence: 1 for the key, 0.9 for a role from the name, the share of
    sampled values that fit for a role from values. A yes/no flag is never
    consent by its values, and a flag named like content ("Website: Y/N")
    is a flag (OTHER, from values), not that content.
    """
    fields: list[Field] = []
    for col in frame.columns:
        name = str(col)
        if key is not None and name == key:
            fields.append(Field(name, Role.ID, False, "key"))
            continue
        role, how, confidence = role_from_name(name), "name", NAME_CONFIDENCE
        if role is None:
            (role, confidence), how = role_share_from_values(frame[col]), "values"
        elif role in _CONTENT_ROLES:
            flag = _flag_share(_sample_text(frame[col], 500))
            if flag:  # "Website: Y/N" says whether there is one, it does not hold it
                role, how, confidence = Role.OTHER, "values", flag
        elif role == Role.STREET:
            whole = _one_line_share(_sample_text(frame[col], 500))
            if whole >= 0.8:  # "Address: 12 Main St, Springfield, IL 62701" is the whole address
                role, how, confidence = Role.ADDRESS, "values", whole
        if role == Role.DATE and re.search(r"birth|dob", normalize_column_name(name)):
            role = Role.DATE_OF_BIRTH
        if role is None:
            role, how, confidence = Role.OTHER, "default", 0.0
        fields.append(Field(name, role, role in PII_ROLES, how, confidence))
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
