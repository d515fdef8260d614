"""PII masking per field role, for dashboards and shared reports.

Masks keep just enough shape for a reader to recognise a kind of problem
("j***@gmail.com", "***-***-4567", "1985-**-**") and nothing that identifies
the person. Vectorized over a column; missing stays missing.
"""

from __future__ import annotations

import pandas as pd

from workbench.schema import Role, Schema

MASK = "***"


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


_BY_ROLE = {
    Role.EMAIL: mask_email,
    Role.PHONE: mask_phone,
    Role.DATE_OF_BIRTH: mask_date,
    Role.POSTCODE: mask_postcode,
}


def mask_column(s: pd.Series, role: Role) -> pd.Series:
    """Mask one column according to its role."""
    return _BY_ROLE.get(role, mask_text)(s)


def mask_frame(frame: pd.DataFrame, schema: Schema, *, enabled: bool = True) -> pd.DataFrame:
    """A copy of ``frame`` with every PII column of ``schema`` masked.

    Columns the schema does not know are masked too (unknown is not safe).
    """
    if not enabled:
        return frame.copy()
    out = frame.copy()
    known = set(schema.names)
    for col in out.columns:
        if col not in known:
            out[col] = mask_text(out[col])
            continue
        f = schema[col]
        if f.pii:
            out[col] = mask_column(out[col], f.role)
    return out


def _keep_missing(masked: pd.Series, original: pd.Series) -> pd.Series:
    """Object dtype with None wherever the original was missing (not pd.NA, not '<NA>')."""
    out = masked.astype(object)
    out[original.isna().to_numpy() | out.isna().to_numpy()] = None
    return out


def _isna(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA
