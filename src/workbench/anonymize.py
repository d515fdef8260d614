"""Anonymized and pseudonymized exports: data that can be shared, files that still join.

What happens to a column is decided by its schema role, never by its name,
so any customer file (people or organizations, any country) gets the same
treatment:

* **hashed** (pseudonymized) -- the record key, ids, registration/tax ids,
  emails and phones: HMAC-SHA256 with a key the user supplies, hex, the first
  :data:`HASH_LENGTH` characters (128 bits; a collision among a billion values
  has a chance of about 1e-21). Values are normalized first so one customer
  hashes the same in every file: ids as trimmed text (``2134.0`` -> ``2134``),
  emails through the workbench's one email reading
  (``workbench.standardize.standardize_email``: lower case, trimmed, no
  ``+tag``) or, when it reads no address but the value has an ``@``, lower
  case and trimmed; phones in E.164 read in each row's country (the one phone
  reading, ``standardize.read_phones``), else their digits. Missing stays
  missing, and so does a value that cannot be an email or a phone: hashing
  "n/a" would join every record that has it. Without the key nobody can
  recompute or reverse a pseudonym; with it, two exports join.
* **suppressed** -- names, street and one-line address (direct identifiers
  that are not join keys; ``hash_names=True`` hashes them instead, for a
  later join on a name), free text (notes, comments, long or many-valued
  text), columns the schema does not know (unknown is not safe), columns an
  override marks personal, and in records of people their employer and
  website. The column stays, empty, so files keep their layout.
* **generalized** -- quasi-identifiers: date of birth to its year, postcode to
  its district (:func:`postcode_district`, country-aware), event dates to
  their month.
* **kept** -- gender, city, state and country (quasi-identifiers measured in
  the report), consent flags, source systems, numbers, categories with few
  values, and in records of organizations their name and website: a company
  is not a person (GDPR recital 26).

Records are of people when the schema has a person's name, date of birth or
gender; otherwise of organizations.

The re-identification report measures k-anonymity over the generalized
quasi-identifiers (pandas ``groupby``: pycanon and anjana pin exact versions
of numpy, pandas and scipy that would fight this environment): records that
share all quasi-identifier values form an equivalence class; ``k`` is the
smallest class; records in classes smaller than the threshold are at risk.
Text is compared cleaned and countries as ISO codes ("Los Angeles" and "los
angeles" are one place to an attacker); a missing value is a value of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench import standardize as st
from workbench.checks.validators import as_text, distinct
from workbench.checks.validators import postal_country as read_country
from workbench.errors import WorkbenchError
from workbench.masking import is_free_text
from workbench.schema import Field, Role, Schema, normalize_column_name
from workbench.templating import fragment

if TYPE_CHECKING:
    from workbench.golden.build import GoldenResult

__all__ = [
    "ACTIONS",
    "ENV_KEY",
    "HASH_LENGTH",
    "MIN_KEY_BYTES",
    "Anonymized",
    "ColumnTreatment",
    "ReidentificationReport",
    "anonymize_frame",
    "check_key",
    "export_anonymized",
    "k_anonymity",
    "key_id",
    "postcode_district",
    "pseudonym",
    "pseudonymize",
    "read_key",
]

#: Environment variable holding the key when none is given.
ENV_KEY = "WORKBENCH_PSEUDONYM_KEY"
#: Shorter keys are refused: HMAC is only as strong as its key.
MIN_KEY_BYTES = 16
#: Hex characters kept of each HMAC-SHA256 (128 bits).
HASH_LENGTH = 32
DEFAULT_K = 5
ACTIONS = ("hashed", "generalized", "suppressed", "kept")
FORMATS = ("csv", "parquet")
REPORT_VERSION = 1
#: Classes at risk listed in a report, smallest first (the counts cover all of them).
LISTED_CLASSES = 20

_HASHED_ROLES = {
    Role.ID: "an identifier: hashed, so files still join on it",
    Role.REGISTRATION_ID: "a registration or tax id (a sole trader's names a person): hashed, so joins still work",
    Role.EMAIL: "a direct identifier and join key: the normalized address is hashed",
    Role.PHONE: "a direct identifier and join key: the E.164 number is hashed",
}
_DIRECT_ROLES = (Role.FIRST_NAME, Role.LAST_NAME, Role.FULL_NAME, Role.STREET, Role.ADDRESS)
_PERSON_ROLES = (Role.FIRST_NAME, Role.LAST_NAME, Role.FULL_NAME, Role.DATE_OF_BIRTH, Role.GENDER)
#: Kept as they are and measured as quasi-identifiers (with the generalized DOB and postcode).
_QUASI_KEPT = (Role.GENDER, Role.CITY, Role.STATE, Role.COUNTRY)
_QUASI_ROLES = (Role.DATE_OF_BIRTH, Role.POSTCODE, *_QUASI_KEPT)
_NOTE_NAME = re.compile(r"(^|_)(notes?|comments?|remarks?|memo|descriptions?|free_?text|message|narrative)(_|$)")
_KEY_ID_MESSAGE = b"workbench pseudonym key id"


# --------------------------------------------------------------------------
# the key


def check_key(key: bytes | str | None) -> bytes:
    """The key as bytes; None reads ``$WORKBENCH_PSEUDONYM_KEY``. Empty or short keys are refused.

    Text is encoded as UTF-8 and used as it is; a key from the environment or a
    file loses surrounding whitespace (a trailing newline is not part of a key).
    Error messages never show the key.
    """
    origin = "the pseudonymization key"
    if key is None:
        env = os.environ.get(ENV_KEY)
        if env is None:
            raise WorkbenchError(f"no pseudonymization key: pass key=..., give --key-file FILE, or set ${ENV_KEY}")
        key, origin = env.strip(), f"${ENV_KEY}"
    if isinstance(key, str):
        raw = key.encode("utf-8")
    elif isinstance(key, bytes | bytearray | memoryview):
        raw = bytes(key)
    else:
        raise WorkbenchError(f"{origin} must be bytes or text, not {type(key).__name__}")
    if not raw.strip():
        raise WorkbenchError(f"{origin} is empty; use at least {MIN_KEY_BYTES} random bytes "
                             "(python -c 'import secrets; print(secrets.token_hex(32))')")
    if len(raw) < MIN_KEY_BYTES:
        raise WorkbenchError(f"{origin} is too short ({len(raw)} bytes); use at least {MIN_KEY_BYTES} random "
                             "bytes (python -c 'import secrets; print(secrets.token_hex(32))')")
    return raw


def read_key(path: str | Path) -> bytes:
    """The key stored in a file (its bytes without surrounding whitespace), checked like :func:`check_key`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WorkbenchError("no such key file", path=str(path)) from None
    except IsADirectoryError:
        raise WorkbenchError("the key file is a folder", path=str(path)) from None
    try:
        return check_key(raw.strip())
    except WorkbenchError as exc:
        raise WorkbenchError(exc.message.replace("the pseudonymization key", "the key file"),
                             path=str(path)) from None


def key_id(key: bytes | str) -> str:
    """A short fingerprint of the key (not the key): two exports join when their key ids match."""
    return hmac.new(check_key(key), _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:8]


def pseudonym(value: str, key: bytes | str) -> str:
    """HMAC-SHA256 of one normalized value, hex, :data:`HASH_LENGTH` characters."""
    return hmac.new(check_key(key), value.encode("utf-8"), hashlib.sha256).hexdigest()[:HASH_LENGTH]


def _hash(norm: pd.Series, key: bytes) -> pd.Series:
    """Pseudonyms of a normalized Series, once per distinct value; None stays None."""
    codes, uniques = pd.factorize(norm)
    digests = np.array([hmac.new(key, str(u).encode("utf-8"), hashlib.sha256).hexdigest()[:HASH_LENGTH]
                        for u in uniques], dtype=object)
    out = np.full(len(norm), None, dtype=object)
    ok = codes >= 0
    out[ok] = digests[codes[ok]]
    return pd.Series(out, index=norm.index, name=norm.name, dtype=object)


# --------------------------------------------------------------------------
# normalization before hashing


def _per_distinct(s: pd.Series, one: Callable[[Any], str | None]) -> pd.Series:
    """``one`` over the distinct non-blank values, mapped back; blank and missing give None."""
    codes, uniques = distinct(s)
    answers = np.array([one(u) for u in uniques] + [None], dtype=object)  # code -1 -> the trailing None
    return pd.Series(answers[codes], index=s.index, name=s.name, dtype=object)


def _identifier(s: pd.Series) -> pd.Series:
    return _per_distinct(s, lambda v: as_text(v) or None)


def _loose_email(v: Any) -> str | None:
    """Lower case without spaces, for a value with an @ that the email reading does not accept."""
    text = "".join(as_text(v).split()).lower()
    return text if "@" in text else None


def _email(s: pd.Series) -> pd.Series:
    std = st.standardize_email(s)
    out = std.where(std.notna(), _per_distinct(s, _loose_email)).astype(object)
    return out.where(out.notna(), None)


def _phone(s: pd.Series, regions: str | pd.Series) -> pd.Series:
    key = st.phone_key(s, regions)  # E.164, else the digits of a local number: what matching compares
    return key.astype(object).where(key.notna(), None)


def pseudonymize(values: pd.Series, key: bytes | str, role: Role | str = Role.ID, *,
                 region: str | pd.Series = "US") -> pd.Series:
    """Pseudonyms of ``values`` read as ``role`` (id, email, phone, ...), as :func:`anonymize_frame` makes them.

    For looking a customer up in an export: the same value and key give the
    same pseudonym. ``region`` reads phones written without a country code.
    """
    return _hash(_normalized(values, Role(role), region), check_key(key))


def _normalized(s: pd.Series, role: Role, regions: str | pd.Series) -> pd.Series:
    if role == Role.EMAIL:
        return _email(s)
    if role == Role.PHONE:
        return _phone(s, regions)
    if role in (Role.FIRST_NAME, Role.LAST_NAME, Role.FULL_NAME):
        return st.standardize_name(s, nicknames=False)  # Bob and Robert stay two pseudonyms
    if role in (Role.STREET, Role.ADDRESS):
        return st.standardize_street(s)
    return _identifier(s)


# --------------------------------------------------------------------------
# generalization

#: US three-digit ZIP areas of 20,000 people or fewer: "000" under the HIPAA
#: Safe Harbor rule (HHS de-identification guidance, 2000 census).
HIPAA_RESTRICTED_ZIP3 = frozenset({"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830",
                                   "831", "878", "879", "884", "890", "893"})
_GB = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}")
_GB_OUTWARD = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?")
_CA = re.compile(r"[A-Z]\d[A-Z]\d[A-Z]\d")
_NL = re.compile(r"\d{4}(?:[A-Z]{2})?")
_IE = re.compile(r"[A-Z]\d{2}|D6W")
_NON_ALNUM = re.compile(r"[^0-9A-Z]+")


def postcode_district(value: Any, country: str | None = None) -> str | None:
    """The district of one postcode, by its country's rule (ISO code, or None when unknown).

    * US: the first three digits of the ZIP (a ZIP read as a number gets its
      leading zeros back); the 17 sparsely populated areas of the HIPAA Safe
      Harbor rule become ``000``.
    * GB: the outward code (``SW1A 1AA`` -> ``SW1A``). CA: the forward
      sortation area, 3 characters. NL: the 4 digits. IE: the Eircode
      routing key, 3 characters.
    * Any other country, or a value that does not fit its country's shape:
      the part before the first space when there is one (``123 45`` ->
      ``123``), else the first half of the letters and digits, rounded up
      (``10115`` -> ``101``, ``1010`` -> ``10``). Without a country this
      gives the US, UK, Canadian and Dutch answers for their usual shapes.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = as_text(value)
    clean = st.standardize_postcode(pd.Series([text], dtype=object)).iloc[0]
    if clean is None:
        return None
    if country == "US" and clean.isdigit() and len(clean) in (3, 4, 5, 9):
        zip3 = clean.zfill(5)[:3] if len(clean) <= 5 else clean[:3]
        return "000" if zip3 in HIPAA_RESTRICTED_ZIP3 else zip3
    if country == "GB":
        if _GB.fullmatch(clean):
            return clean[:-3]
        if _GB_OUTWARD.fullmatch(clean):
            return clean
    if country == "CA" and _CA.fullmatch(clean):
        return clean[:3]
    if country == "NL" and _NL.fullmatch(clean):
        return clean[:4]
    if country == "IE" and len(clean) == 7 and _IE.fullmatch(clean[:3]):
        return clean[:3]
    parts = text.split()
    if len(parts) > 1:
        head = _NON_ALNUM.sub("", parts[0].upper())
        if head and len(head) < len(clean):
            return head
    return clean[: math.ceil(len(clean) / 2)]


def _districts(postcodes: pd.Series, countries: pd.Series | None, default: str | None) -> pd.Series:
    """:func:`postcode_district` per row, in the row's country (else ``default``), once per distinct pair."""
    if countries is None:
        codes = pd.Series(default, index=postcodes.index, dtype=object)
    else:
        codes = _per_distinct(countries, read_country)
        codes = codes.where(codes.notna(), default)
    pairs = pd.Series(list(zip(postcodes.to_numpy(dtype=object), codes.to_numpy(dtype=object), strict=True)),
                      index=postcodes.index, dtype=object)
    keys, uniques = pd.factorize(pairs)
    answers = np.array([postcode_district(p, c) for p, c in uniques] + [None], dtype=object)
    return pd.Series(answers[keys], index=postcodes.index, name=postcodes.name, dtype=object)


def _birth_year(s: pd.Series) -> pd.Series:
    iso = st.standardize_date(s, past=True)  # the year reads the same day-first or month-first
    return pd.to_numeric(iso.str[:4], errors="coerce").astype("Int64").rename(s.name)


def _month(s: pd.Series) -> pd.Series:
    iso = st.standardize_date(s)
    return iso.str[:7].astype(object).where(iso.notna(), None).rename(s.name)


# --------------------------------------------------------------------------
# what to do with each column


@dataclass(frozen=True)
class ColumnTreatment:
    """What the export did to one column, and why."""

    column: str
    role: str | None
    action: str  # one of ACTIONS
    reason: str
    quasi: bool = False  # measured in the re-identification report

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "role": self.role, "action": self.action, "reason": self.reason,
                "quasi_identifier": self.quasi}


def _about_people(schema: Schema) -> bool:
    return any(schema.column_for(r) for r in _PERSON_ROLES)


def _other(s: pd.Series, name: str) -> tuple[str, str]:
    """(action, reason) for a column the schema attaches no meaning to, from its name's hint and values."""
    if _NOTE_NAME.search(normalize_column_name(name)):
        return "suppressed", "notes or comments: free text can name or describe a person"
    codes, uniques = distinct(s)
    n = int((codes >= 0).sum())
    if n == 0:
        return "kept", "empty"
    if pd.api.types.is_bool_dtype(s.dtype):
        return "kept", "a yes/no flag"
    text = pd.Series([as_text(u) for u in uniques], dtype=object)
    numeric = pd.to_numeric(text.str.replace(r"[,\s]", "", regex=True), errors="coerce")
    n_distinct = len(uniques)
    if numeric.notna().mean() >= 0.95:
        if n_distinct == n and n >= 50 and bool((numeric.dropna() % 1 == 0).all()):
            return "suppressed", "a different whole number in every record: an identifier the schema does not name"
        return "kept", f"numbers ({n_distinct} distinct values)"
    if n_distinct == n and n >= 50 and text.str.len().mean() < 30 and text.str.count(" ").mean() < 1:
        return "suppressed", "a different value in every record: an identifier the schema does not name"
    if st.standardize_date(text.head(2000)).notna().mean() >= 0.9:
        return "generalized", "dates: the month only (a day can be known to others: a visit, a purchase)"
    if is_free_text(text) or text.str.len().mean() >= 40:
        return "suppressed", "free text: long values can name or describe a person"
    if n_distinct <= max(20, 0.01 * n):
        return "kept", f"a category with {n_distinct} values"
    return "suppressed", f"text with many distinct values ({n_distinct} of {n} records): may identify a person"


def _plan(frame: pd.DataFrame, schema: Schema, key_column: str | None, hash_names: bool) -> list[ColumnTreatment]:
    known = {f.name: f for f in schema.fields}
    people = _about_people(schema)
    plan: list[ColumnTreatment] = []
    for i, col in enumerate(frame.columns):
        name = str(col)
        f: Field | None = known.get(name)
        role = f.role if f is not None else None
        rv = role.value if role is not None else None
        if name == key_column:
            plan.append(ColumnTreatment(name, rv, "hashed", "the record key: hashed, so files still join on it"))
        elif f is None:
            plan.append(ColumnTreatment(name, None, "suppressed", "not in the schema: unknown is not safe"))
        elif role in _HASHED_ROLES:
            plan.append(ColumnTreatment(name, rv, "hashed", _HASHED_ROLES[role]))
        elif role in _DIRECT_ROLES:
            what = "a name" if role in (Role.FIRST_NAME, Role.LAST_NAME, Role.FULL_NAME) else "an address"
            if hash_names:
                plan.append(ColumnTreatment(name, rv, "hashed", f"{what} identifies a person: hashed, as asked"))
            else:
                plan.append(ColumnTreatment(name, rv, "suppressed",
                                            f"{what} identifies a person and is not a join key"))
        elif role == Role.DATE_OF_BIRTH:
            plan.append(ColumnTreatment(name, rv, "generalized", "a quasi-identifier: the year of birth only",
                                        quasi=True))
        elif role == Role.POSTCODE:
            plan.append(ColumnTreatment(name, rv, "generalized",
                                        "a quasi-identifier: the postal district only (by the row's country)",
                                        quasi=True))
        elif role in _QUASI_KEPT:
            plan.append(ColumnTreatment(name, rv, "kept",
                                        "a quasi-identifier: kept, measured in the re-identification report",
                                        quasi=True))
        elif f.safe:
            plan.append(ColumnTreatment(name, rv, "kept", "declared non-personal in the schema (safe: true)"))
        elif f.pii:
            plan.append(ColumnTreatment(name, rv, "suppressed", "marked personal in the schema"))
        elif role in (Role.ORGANIZATION, Role.WEBSITE):
            what = "an organization's name" if role == Role.ORGANIZATION else "a website"
            if people:
                plan.append(ColumnTreatment(name, rv, "suppressed",
                                            f"{what} in records of people (employer, homepage) narrows them down"))
            else:
                plan.append(ColumnTreatment(name, rv, "kept",
                                            f"{what} in records of organizations: not personal data"))
        elif role == Role.CONSENT:
            plan.append(ColumnTreatment(name, rv, "kept", "a consent flag: few values, needed to use the data"))
        elif role == Role.SOURCE:
            plan.append(ColumnTreatment(name, rv, "kept", "the source system: few values"))
        elif role == Role.DATE:
            plan.append(ColumnTreatment(name, rv, "generalized",
                                        "an event date: the month only (a day can be known to others)"))
        else:
            action, reason = _other(frame.iloc[:, i], name)
            plan.append(ColumnTreatment(name, rv, action, reason))
    return plan


# --------------------------------------------------------------------------
# the report


def _plain(v: Any) -> Any:
    """A JSON-safe scalar: numpy numbers as Python numbers, missing as None."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v if isinstance(v, int | float | str | bool) else str(v)


@dataclass
class ReidentificationReport:
    """k-anonymity of an anonymized table over its quasi-identifiers, and what was done to each column."""

    quasi_identifiers: tuple[str, ...]
    threshold: int
    records: int
    classes: int
    #: The smallest equivalence class (None without records).
    k: int | None
    #: Records alone in their class: one outside fact away from being named.
    unique_records: int
    records_at_risk: int
    share_at_risk: float
    #: Mean over records of 1 / class size: the chance an attacker who knows a
    #: record's quasi-identifiers picks it out (prosecutor model).
    average_risk: float | None
    classes_at_risk: int
    #: The smallest classes below the threshold (at most LISTED_CLASSES): values and ``size``.
    smallest_classes: list[dict[str, Any]] = field(default_factory=list)
    columns: tuple[ColumnTreatment, ...] = ()
    key_id: str | None = None

    @property
    def passes(self) -> bool:
        """Every record is in a class of at least ``threshold``."""
        return self.records_at_risk == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "quasi_identifiers": list(self.quasi_identifiers), "threshold": self.threshold,
            "records": self.records, "classes": self.classes, "k": self.k,
            "unique_records": self.unique_records, "records_at_risk": self.records_at_risk,
            "share_at_risk": round(self.share_at_risk, 6),
            "average_risk": None if self.average_risk is None else round(self.average_risk, 6),
            "classes_at_risk": self.classes_at_risk, "smallest_classes": self.smallest_classes,
            "passes": self.passes, "key_id": self.key_id,
            "columns": [c.to_dict() for c in self.columns],
        }

    def _lines(self) -> list[str]:
        qi = ", ".join(self.quasi_identifiers) or "none"
        lines = [f"{self.records:,} records, {self.classes:,} classes over the quasi-identifiers ({qi})"]
        if self.k is not None:
            lines.append(f"k = {self.k}: {self.records_at_risk:,} records ({self.share_at_risk:.1%}) in "
                         f"{self.classes_at_risk:,} classes smaller than {self.threshold}; "
                         f"{self.unique_records:,} unique; average risk {self.average_risk:.1%}")
        return lines

    def to_text(self) -> str:
        """A few lines for a terminal or a log."""
        lines = self._lines()
        for action in ACTIONS:
            cols = [c.column for c in self.columns if c.action == action]
            if cols:
                lines.append(f"{action}: {', '.join(cols)}")
        return "\n".join(lines)

    def to_html(self) -> str:
        """A small HTML fragment (every value escaped): the figures, the columns, the smallest classes."""
        return fragment("anonymize.html", "reidentification", lines=self._lines(), columns=self.columns,
                        heads=[*self.quasi_identifiers, "size"], classes=self.smallest_classes)


def k_anonymity(frame: pd.DataFrame, quasi: Sequence[str], *, k: int = DEFAULT_K) -> ReidentificationReport:
    """Equivalence classes of ``frame`` over ``quasi``: the smallest, and the records in classes under ``k``.

    Without quasi-identifiers every record is in one class. Values are
    compared as they are; :func:`anonymize_frame` cleans text first.
    """
    k = _check_k(k)
    quasi = tuple(quasi)
    missing = [q for q in quasi if q not in frame.columns]
    if missing:
        raise WorkbenchError(f"quasi-identifier {missing[0]!r} is not a column; "
                             f"columns: {', '.join(map(str, frame.columns))}")
    records = len(frame)
    if records == 0:
        return ReidentificationReport(quasi, k, 0, 0, None, 0, 0, 0.0, None, 0)
    if quasi:
        sizes = frame.groupby(list(quasi), dropna=False, observed=True, sort=False).size()
    else:
        sizes = pd.Series([records])
    small = sizes[sizes < k].sort_values(kind="stable")
    listed = []
    for values, size in small.head(LISTED_CLASSES if quasi else 0).items():
        values = values if isinstance(values, tuple) else (values,)
        listed.append({**{q: _plain(v) for q, v in zip(quasi, values, strict=True)}, "size": int(size)})
    at_risk = int(small.sum())
    return ReidentificationReport(
        quasi_identifiers=quasi, threshold=k, records=records, classes=len(sizes), k=int(sizes.min()),
        unique_records=int((sizes == 1).sum()), records_at_risk=at_risk, share_at_risk=at_risk / records,
        average_risk=len(sizes) / records, classes_at_risk=len(small), smallest_classes=listed,
    )


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise WorkbenchError(f"k must be a whole number of at least 1, not {k!r}")
    return int(k)


# --------------------------------------------------------------------------
# a frame


@dataclass
class Anonymized:
    """An anonymized copy of a table (same rows, columns and index) and its report."""

    frame: pd.DataFrame
    report: ReidentificationReport


def _default_region(frame: pd.DataFrame, schema: Schema) -> str | None:
    """The data's most common country (the project's rule for numbers written without one), or None."""
    country = schema.column_for(Role.COUNTRY)
    return st.common_region(frame[country]) if country is not None and country in frame.columns else None


def _check_region(region: str | None) -> str | None:
    if region is None:
        return None
    import phonenumbers

    code = str(region).strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise WorkbenchError(f"unknown region {region!r}; expected an ISO 3166 code such as 'US' or 'GB'")
    return code


def _class_keys(out: pd.DataFrame, plan: list[ColumnTreatment], quasi: list[str],
                roles: dict[str, Role]) -> pd.DataFrame:
    """The quasi-identifiers as an attacker matches them: text cleaned ("Los Angeles" = "los angeles"),
    countries as ISO codes ("United States" = "US"). Raw spellings would split one class into several."""
    names = [t.column for t in plan]
    keys = {}
    for q in quasi:
        s = out.iloc[:, names.index(q)]
        if roles.get(q) == Role.COUNTRY:
            keys[q] = st.standardize_country(s)
        elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            keys[q] = st.clean_text(s)
        else:
            keys[q] = s
    return pd.DataFrame(keys, index=out.index)


def anonymize_frame(frame: pd.DataFrame, schema: Schema, *, key: bytes | str | None,
                    key_column: str | None = None, quasi: Sequence[str] | None = None, k: int = DEFAULT_K,
                    hash_names: bool = False, region: str | None = None) -> Anonymized:
    """An anonymized copy of ``frame`` (see the module docstring for what is done to which role) and its report.

    ``key``: bytes or text of at least 16 bytes (None: ``$WORKBENCH_PSEUDONYM_KEY``).
    ``key_column``: the record key, always hashed (default: the schema's key).
    ``quasi``: the quasi-identifier columns of the report (default: date of
    birth, postcode, gender, city, state and country, where present).
    ``k``: records in classes smaller than this are at risk.
    ``hash_names``: hash names and addresses instead of suppressing them.
    ``region``: the country of rows without one, for phones and postcodes
    (default: the data's most common country). Pin it to hash national phone
    numbers the same way in files from different countries.
    """
    secret = check_key(key)
    k = _check_k(k)
    if not isinstance(frame, pd.DataFrame):
        raise WorkbenchError(f"expected a DataFrame to anonymize, got {type(frame).__name__}")
    key_column = schema.key if key_column is None else key_column
    if key_column is not None and key_column not in frame.columns:
        if key_column != schema.key:
            raise WorkbenchError(f"key column {key_column!r} is not in the data; "
                                 f"columns: {', '.join(map(str, frame.columns))}")
        key_column = None  # the schema's key is not in this table (golden records)
    region = _check_region(region) or _default_region(frame, schema)
    plan = _plan(frame, schema, key_column, hash_names)
    country = schema.column_for(Role.COUNTRY)
    countries = frame[country] if country is not None and country in frame.columns else None
    regions = st.phone_regions(countries, region)
    known = {f.name: f.role for f in schema.fields}
    out = frame.copy()
    for i, treatment in enumerate(plan):
        s = frame.iloc[:, i]
        role = known.get(treatment.column)
        if treatment.action == "kept":
            continue
        if treatment.action == "hashed":
            done = _hash(_normalized(s, role if treatment.column != key_column else Role.ID, regions), secret)
        elif treatment.action == "suppressed":
            done = pd.Series(np.full(len(s), None, dtype=object), index=s.index, dtype=object)
        elif role == Role.DATE_OF_BIRTH:
            done = _birth_year(s)
        elif role == Role.POSTCODE:
            done = _districts(s, countries, region)
        else:
            done = _month(s)
        # an object array keeps None as None (pandas turns an all-None object Series into NaN)
        out.isetitem(i, done.to_numpy(dtype=object) if done.dtype == object else done)
    quasi_cols = [t.column for t in plan if t.quasi] if quasi is None else [str(q) for q in quasi]
    by_name = {t.column: t for t in plan}
    for q in quasi_cols:
        if q not in by_name:
            raise WorkbenchError(f"quasi-identifier {q!r} is not a column; columns: {', '.join(by_name)}")
        if by_name[q].action in ("hashed", "suppressed"):
            raise WorkbenchError(f"quasi-identifier {q!r} is {by_name[q].action} in the export; "
                                 "name a column that is kept or generalized")
    if quasi is not None:
        plan = [ColumnTreatment(t.column, t.role, t.action, t.reason, t.column in quasi_cols) for t in plan]
    report = k_anonymity(_class_keys(out, plan, quasi_cols, known), quasi_cols, k=k)
    report.columns = tuple(plan)
    report.key_id = hmac.new(secret, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:8]
    return Anonymized(out, report)


# --------------------------------------------------------------------------
# exports


def _golden_schema(schema: Schema, golden: pd.DataFrame) -> Schema:
    """The dataset's roles for the golden columns, plus golden_id (hashed), sources and member_count (kept)."""
    known = {f.name: f for f in schema.fields}
    extra = {"golden_id": Field("golden_id", Role.ID, False, "key"),
             "sources": Field("sources", Role.SOURCE, False, "default"),
             "member_count": Field("member_count", Role.OTHER, False, "default", safe=True)}
    fields = [known.get(str(c)) or extra.get(str(c)) for c in golden.columns]
    return Schema(tuple(f for f in fields if f is not None), key="golden_id")


def _crosswalk(crosswalk: pd.DataFrame, secret: bytes) -> tuple[pd.DataFrame, list[ColumnTreatment]]:
    out = crosswalk.copy()
    plan = []
    for col in out.columns:
        if col in ("record_key", "golden_id"):
            out[col] = _hash(_identifier(out[col]), secret)
            plan.append(ColumnTreatment(col, Role.ID.value, "hashed", "a key: hashed the same way as in the "
                                                                     "records and golden files, so they join"))
        elif col == "source":
            plan.append(ColumnTreatment(col, Role.SOURCE.value, "kept", "the source system: few values"))
        else:
            out[col] = np.full(len(out), None, dtype=object)
            plan.append(ColumnTreatment(str(col), None, "suppressed", "not a crosswalk column: unknown is not safe"))
    return out, plan


def _plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    return frame.astype({c: object for c in cats}) if cats else frame


def export_anonymized(ws: Any, dataset: Any, target: str | Path, *, key: bytes | str | None,
                      formats: Sequence[str] = ("csv",), golden: GoldenResult | None = None,
                      quasi: Sequence[str] | None = None, k: int = DEFAULT_K, hash_names: bool = False,
                      region: str | None = None) -> dict[str, Path]:
    """Write an anonymized copy of a dataset (and of ``golden``'s records and crosswalk), with its report.

    A target ending in ``.csv`` or ``.parquet`` gets the records alone, with
    ``<name>.report.json`` and ``<name>.manifest.json`` beside it; any other
    target is a folder that gets ``records``, ``golden`` and ``crosswalk`` in
    each of ``formats``, ``report.json`` and ``manifest.json`` (written last:
    an interrupted export never looks complete). Keys and golden ids are
    hashed alike, so the three files join. The lineage of golden records is
    not exported: it holds every source value. Needs the analyst role;
    audited as ``export:anonymized`` (files, rows, what was done to which
    column, the key's fingerprint -- never the key). Returns ``{file: path}``.
    """
    from workbench import access, store
    from workbench.export import MANIFEST, file_manifest, table_writer, write_files

    secret = check_key(key)
    access.require(ws, "analyst", "an anonymized export")
    ws.require_writable("an anonymized export")
    ds = ws.dataset(dataset) if isinstance(dataset, str) else dataset
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = [f for f in formats if f not in FORMATS] or ([] if formats else ["(none)"])
    if unknown:
        raise WorkbenchError(f"unknown export format {unknown[0]!r}; formats: {', '.join(FORMATS)}")
    target = Path(target)
    suffix = target.suffix.lower().lstrip(".")
    one_file = suffix in FORMATS
    if one_file and golden is not None:
        raise WorkbenchError(f"{target.name}: one file holds the records only; give a folder to export the "
                             "golden records and crosswalk too")
    if not one_file and target.exists() and not target.is_dir():
        raise WorkbenchError(f"{target}: is a file; give a folder, or a path ending in .csv or .parquet")
    region = _check_region(region) or _default_region(ds.frame, ds.schema)  # one reading for every table
    options = dict(key=secret, quasi=quasi, k=k, hash_names=hash_names, region=region)
    records = anonymize_frame(ds.frame, ds.schema, key_column=ds.key, **options)
    frames = {"records": records.frame}
    reports: dict[str, Any] = {"records": records.report.to_dict()}
    if golden is not None:
        gq = None if quasi is None else [q for q in quasi if q in golden.golden.columns]
        g = anonymize_frame(golden.golden, _golden_schema(ds.schema, golden.golden),
                            **{**options, "quasi": gq, "key_column": "golden_id"})
        cw, cw_plan = _crosswalk(golden.crosswalk, secret)
        frames.update(golden=g.frame, crosswalk=cw)
        reports.update(golden=g.report.to_dict(), crosswalk={"records": len(cw),
                                                             "columns": [c.to_dict() for c in cw_plan]})
    kid = records.report.key_id
    doc = {"version": REPORT_VERSION, "dataset": {"name": ds.name, "version": ds.version}, "key_id": kid,
           "hash": f"HMAC-SHA256, hex, first {HASH_LENGTH} characters", "tables": reports}

    def write_report(path: Path) -> int:
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=_plain) + "\n", encoding="utf-8")
        return len(reports)

    if one_file:
        folder, manifest_name = target.parent, file_manifest(target).name
        writers = {target.name: table_writer(_plain_frame(records.frame), suffix),
                   f"{target.name}.report.json": write_report}
    else:
        folder, manifest_name = target, MANIFEST
        writers = {f"{name}.{fmt}": table_writer(_plain_frame(frame), fmt)
                   for name, frame in frames.items() for fmt in formats}
        writers["report.json"] = write_report
    provenance = {"created_at": store.now().isoformat(), "user": ws.user,
                  "source": {"kind": "anonymized", "dataset": {"id": ds.id, "name": ds.name, "version": ds.version},
                             "golden_run": None if golden is None else golden.stats.get("run_id"),
                             "key_id": kid, "k": records.report.threshold}}
    manifest = write_files(folder, writers, manifest=provenance, manifest_name=manifest_name)
    treated = {a: [c.column for c in records.report.columns if c.action == a] for a in ACTIONS}
    ws.record("export:anonymized", str(target), dataset=ds.name, version=ds.version, files=sorted(writers),
              rows={name: len(frame) for name, frame in frames.items()}, columns=treated, key_id=kid,
              k=records.report.k, threshold=records.report.threshold,
              records_at_risk=records.report.records_at_risk, manifest=manifest_name,
              manifest_sha256=manifest["sha256"])
    return {name: folder / name for name in writers}


# --------------------------------------------------------------------------
# command line
