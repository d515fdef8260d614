"""Personal-data masking, for dashboards, shared reports and widgets.

Masked unless declared safe: a column is shown as it is only when a person
declared it non-personal (``safe: true`` in a schema override) or when its role
never identifies a person (``NON_PERSONAL_ROLES``: the key, city, state,
country, source, consent, organization). Every other column is masked by its
role; a free-text column (notes, comments) is scanned and the emails, phones
and dates inside it are masked, the rest of the text kept.

Masks keep just enough shape for a reader to recognise a kind of problem
("j***@gmail.com", "***-***-4567", "1985-**-**") and nothing that identifies
the person. Vectorized over a column; missing stays missing. Who may see data
unmasked is ``workbench.access.authorize_reveal``'s call, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from workbench.schema import Field, Role, Schema

MASK = "***"

#: Roles whose values never identify a person: shown unmasked unless the schema says ``pii: true``.
NON_PERSONAL_ROLES = frozenset({Role.ID, Role.CITY, Role.STATE, Role.COUNTRY, Role.SOURCE, Role.CONSENT,
                                Role.ORGANIZATION})


def mask_email(s: pd.Series) -> pd.Series:
    """'john.smith@gmail.com' -> 'j***@gmail.com' (the domain helps triage, the person is gone)."""
    def one(v: object) -> object:
        text = str(v)
        local, at, domain = text.partition("@")
        return local[:1] + MASK + (at + domain if at and domain else "")

    masked = pd.Series([None if _isna(v) else one(v) for v in s], index=s.index, dtype=object)
    return _keep_missing(masked, s)


def mask_phone(s: pd.Series) -> pd.Series:
    """Keep the last two digits only: '(212) 555-0199' -> '***-***-**99'."""
    digits = s.astype("string").str.replace(r"\D", "", regex=True)
    masked = "***-***-**" + digits.str[-2:]
    return _keep_missing(masked, s)


def mask_date(s: pd.Series) -> pd.Series:
    """Keep the year where one can be seen: '1985-03-07' -> '1985-**-**'."""
    year = s.astype("string").str.extract(r"((?:19|20)\d\d)", expand=False)
    masked = year.fillna("****") + "-**-**"
    return _keep_missing(masked, s)


def mask_text(s: pd.Series) -> pd.Series:
    """First character then stars: 'Smith' -> 'S***'."""
    text = s.astype("string").str.strip()
    masked = text.str[:1] + MASK
    return _keep_missing(masked, s)


def mask_postcode(s: pd.Series) -> pd.Series:
    """Keep the first two characters (a region, not an address): '02134' -> '02***'."""
    masked = s.astype("string").str.strip().str[:2] + MASK
    return _keep_missing(masked, s)


#: Inside free text: an email, a date (before phones: "1985-03-07" has eight digits), a phone.
_EMAIL_IN_TEXT = re.compile(r"[\w.+%'-]+@[\w-]+(?:\.[\w-]+)+")
_DATE_IN_TEXT = re.compile(
    r"\b(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|\d{1,2}\.? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,? \d{4}"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4})\b",
    re.IGNORECASE)
_PHONE_IN_TEXT = re.compile(r"(?<![\w*])\+?\(?\d[\d\s().\-/]{5,}\d(?![\w*])")


def mask_free_text(s: pd.Series) -> pd.Series:
    """Keep the words, mask what identifies: 'Call 212-555-0199 or ann@x.com, born 1985-03-07'
    -> 'Call ***-***-**99 or a***@x.com, born 1985-**-**'."""
    def one(v: object) -> object:
        text = _EMAIL_IN_TEXT.sub(lambda m: _mask_one_email(m.group(0)), str(v))
        text = _DATE_IN_TEXT.sub(lambda m: _mask_one_date(m.group(0)), text)
        return _PHONE_IN_TEXT.sub(_mask_one_phone, text)

    masked = pd.Series([None if _isna(v) else one(v) for v in s], index=s.index, dtype=object)
    return _keep_missing(masked, s)


def _mask_one_email(text: str) -> str:
    local, _, domain = text.partition("@")
    return local[:1] + MASK + "@" + domain


def _mask_one_date(text: str) -> str:
    year = re.search(r"(?:19|20)\d\d", text)
    return (year.group(0) if year else "****") + "-**-**"


def _mask_one_phone(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return "***-***-**" + digits[-2:] if len(digits) >= 7 else m.group(0)


def is_free_text(s: pd.Series, sample: int = 200) -> bool:
    """Sentences rather than values: most non-empty values have four words or more."""
    text = s.dropna().astype(str).str.strip()
    text = text[text != ""].head(sample)
    return bool(len(text)) and float((text.str.split().str.len() >= 4).mean()) >= 0.5


_BY_ROLE: dict[Role, Callable[[pd.Series], pd.Series]] = {
    Role.EMAIL: mask_email,
    Role.PHONE: mask_phone,
    Role.DATE_OF_BIRTH: mask_date,
    Role.DATE: mask_date,  # a date the workbench cannot tell from a birth date ("born_on")
    Role.POSTCODE: mask_postcode,
}


def mask_column(s: pd.Series, role: Role | None) -> pd.Series:
    """Mask one column according to its role (None: unknown); free text is scanned, not blotted out."""
    if role in _BY_ROLE:
        return _BY_ROLE[role](s)
    if role in (None, Role.OTHER) and is_free_text(s):
        return mask_free_text(s)
    return mask_text(s)


def needs_mask(field: Field | None) -> bool:
    """Whether a column is masked: always, unless declared safe or of a non-personal role (and not PII)."""
    if field is None:
        return True  # unknown is not safe
    if field.safe:
        return False
    return field.pii or field.role not in NON_PERSONAL_ROLES


def mask_series(s: pd.Series, field: Field | None) -> pd.Series:
    """``s`` masked as its field says (unchanged when the field is declared safe)."""
    return mask_column(s, None if field is None else field.role) if needs_mask(field) else s


def mask_values(values: Iterable[str], role: Role | None) -> dict[str, Any]:
    """Each of ``values`` masked as ``role`` says, in one vectorized call (a call per value costs a
    millisecond in pandas); ``role`` None (unknown) masks as text: a value alone is never scanned
    as free text."""
    texts = list(dict.fromkeys(values))
    return dict(zip(texts, _mask_as(pd.Series(texts, dtype=object), role).tolist(), strict=True))


def value_masker(role: Role | None) -> Callable[[Any], Any]:
    """A function masking one value as ``role`` says (None: unknown, masked as text)."""
    return lambda value: _mask_as(pd.Series([value], dtype=object), role).iloc[0]


def _mask_as(s: pd.Series, role: Role | None) -> pd.Series:
    return mask_text(s) if role is None else mask_column(s, role)


def value_maskers(schema: Schema, columns: Iterable[str]) -> dict[str, Callable[[Any], Any]]:
    """Per column to mask, the function masking one of its values; columns the schema does not know
    count as personal data. Columns declared safe (or not personal) are left out."""
    known = set(schema.names)
    out: dict[str, Callable[[Any], Any]] = {}
    for col in columns:
        field = schema[col] if col in known else None
        if needs_mask(field):
            out[col] = value_masker(None if field is None else field.role)
    return out


def mask_frame(frame: pd.DataFrame, schema: Schema, *, enabled: bool = True) -> pd.DataFrame:
    """A copy of ``frame`` with every column that is not declared safe masked.

    Columns the schema does not know are masked too (unknown is not safe).
    ``enabled=False`` is for callers that passed ``access.authorize_reveal``.
    """
    if not enabled:
        return frame.copy()
    out = frame.copy()
    known = set(schema.names)
    for col in out.columns:
        field = schema[col] if col in known else None
        if needs_mask(field):
            out[col] = mask_column(out[col], None if field is None else field.role)
    return out


def _keep_missing(masked: pd.Series, original: pd.Series) -> pd.Series:
    """Object dtype with None wherever the original was missing (not pd.NA, not '<NA>')."""
    out = masked.astype(object)
    out[original.isna().to_numpy() | out.isna().to_numpy()] = None
    return out


def _isna(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA
