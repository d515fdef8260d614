"""Customer-field validators: email, phone, postcode, dates, age, consent flags.

Customer data repeats itself (the same domain, phone or signup date appears
thousands of times), so every validator works on the *distinct* values of its
input and maps the answers back with the factorize codes. A value that is
missing (NA or blank text) is never validated: its answer is NA.

These functions are plain pandas in, pandas out; the rule checks in
``workbench.checks.library`` are built on them, and later stages
(standardization, matching) can reuse the normalized forms.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "CONSENT_FALSE",
    "CONSENT_TRUE",
    "DATE_FORMATS",
    "POSTCODE_PATTERNS",
    "Validated",
    "age_years",
    "as_text",
    "consent_flags",
    "country_code",
    "distinct",
    "is_missing",
    "map_distinct",
    "parse_dates",
    "valid_postcodes",
    "validate_emails",
    "validate_phones",
]


class Validated(NamedTuple):
    """Validity (nullable boolean, NA = missing) and the normalized form (None when invalid)."""

    valid: pd.Series
    normalized: pd.Series


# --------------------------------------------------------------------------
# distinct-value plumbing


def distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Factorize codes and distinct values, with blank text folded into missing (code -1)."""
    codes, uniques = pd.factorize(values)
    uniques = pd.Series(uniques)
    if isinstance(uniques.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(uniques.dtype):
        uniques = uniques.astype(object)  # one representation for text, whatever the column dtype
    if uniques.dtype == object:
        blank = np.fromiter((isinstance(u, str) and not u.strip() for u in uniques), bool, len(uniques))
        if blank.any():
            remap = np.where(blank, -1, np.cumsum(~blank) - 1)
            codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
            uniques = uniques[~blank].reset_index(drop=True)
    return codes, uniques


def is_missing(values: pd.Series) -> pd.Series:
    """NA, or text that is empty after stripping: what customer data means by 'no value'."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
            or isinstance(values.dtype, pd.CategoricalDtype)):
        return values.isna()
    codes, _ = distinct(values)
    return pd.Series(codes < 0, index=values.index, name=values.name)


def map_distinct(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``fn`` to the distinct non-missing values once and map the answers back.

    ``fn`` gets a Series of distinct values (RangeIndex) and returns a Series
    of the same length; missing inputs get NA in the output.
    """
    codes, uniques = distinct(values)
    answers = fn(uniques)
    return pd.Series(answers.array.take(codes, allow_fill=True), index=values.index, name=values.name)


def as_text(value: object) -> str:
    """Text of a value as a person would type it (2134.0 -> '2134')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --------------------------------------------------------------------------
# email


def _validate_email_values(uniques: pd.Series) -> pd.DataFrame:
    from email_validator import EmailNotValidError, validate_email

    valid = np.zeros(len(uniques), dtype=bool)
    normalized: list[str | None] = [None] * len(uniques)
    for i, raw in enumerate(uniques):
        try:
            info = validate_email(as_text(raw), check_deliverability=False)
        except (EmailNotValidError, UnicodeError, ValueError):
            continue
        valid[i] = True
        normalized[i] = info.normalized
    return pd.DataFrame({"valid": pd.array(valid, dtype="boolean"), "normalized": pd.Series(normalized, dtype=object)})


def validate_emails(values: pd.Series) -> Validated:
    """Email syntax per email-validator (no DNS lookups) and its normalized form.

    Surrounding whitespace is ignored; the domain is lower-cased and
    internationalized domains are normalized, the local part is kept as typed.
    """
    result = _map_distinct_frame(values, _validate_email_values)
    return Validated(result["valid"], result["normalized"])


# --------------------------------------------------------------------------
# phone


def _validate_phone_values(uniques: pd.Series, region: str, strict: bool, normalize: bool = True) -> pd.DataFrame:
    import phonenumbers

    test = phonenumbers.is_valid_number if strict else phonenumbers.is_possible_number
    e164 = phonenumbers.PhoneNumberFormat.E164
    valid = np.zeros(len(uniques), dtype=bool)
    normalized: list[str | None] = [None] * len(uniques)
    for i, raw in enumerate(uniques):
        text = as_text(raw)
        if len(text) > 40:  # phonenumbers rejects these anyway; skip the parse cost
            continue
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if test(number):
            valid[i] = True
            if normalize:
                normalized[i] = phonenumbers.format_number(number, e164)
    return pd.DataFrame({"valid": pd.array(valid, dtype="boolean"), "normalized": pd.Series(normalized, dtype=object)})


def validate_phones(values: pd.Series, region: str = "US", *, strict: bool = True,
                    normalize: bool = True) -> Validated:
    """Phone numbers parsed with ``region`` as the default country; E.164 when valid.

    ``strict=True`` uses ``is_valid_number`` (real area codes and ranges);
    ``strict=False`` only ``is_possible_number`` (plausible length).
    ``normalize=False`` skips the E.164 formatting when only validity is needed.
    """
    result = _map_distinct_frame(values, lambda u: _validate_phone_values(u, region.upper(), strict, normalize))
    return Validated(result["valid"], result["normalized"])


def _map_distinct_frame(values: pd.Series, fn: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame:
    codes, uniques = distinct(values)
    answers = fn(uniques)
    return pd.DataFrame(
        {c: pd.Series(answers[c].array.take(codes, allow_fill=True), index=values.index) for c in answers.columns}
    )


# --------------------------------------------------------------------------
# postcode and country

#: Postcode shapes per ISO country code, matched against the upper-cased,
#: trimmed value. Countries not listed are "not tested", never "invalid".
POSTCODE_PATTERNS: dict[str, str] = {
    "US": r"\d{5}(?:-\d{4})?",
    "CA": r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d",
    "GB": r"(?:[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|GIR ?0AA)",
    "DE": r"\d{5}",
    "FR": r"(?:[0-8]\d|9[0-8])\d{3}",
    "NL": r"[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2}",
    "AU": r"\d{4}",
    "IN": r"[1-9]\d{2} ?\d{3}",
    "BR": r"\d{5}-?\d{3}",
    "JP": r"\d{3}-?\d{4}",
    "IT": r"\d{5}",
    "ES": r"(?:0[1-9]|[1-4]\d|5[0-2])\d{3}",
    "CH": r"[1-9]\d{3}",
    "AT": r"[1-9]\d{3}",
    "BE": r"[1-9]\d{3}",
    "DK": r"[1-9]\d{3}",
    "SE": r"[1-9]\d{2} ?\d{2}",
    "PL": r"\d{2}-\d{3}",
    "IE": r"[AC-FHKNPRTV-Y]\d{2}(?:\d|W) ?[0-9AC-FHKNPRTV-Y]{4}",
    "MX": r"\d{5}",
}
_POSTCODE_RE = {c: re.compile(p) for c, p in POSTCODE_PATTERNS.items()}

_COUNTRY_NAMES: dict[str, str] = {
    "USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "AMERICA": "US", "U.S.": "US",
    "U.S.A.": "US", "CANADA": "CA", "CAN": "CA", "UK": "GB", "U.K.": "GB", "GBR": "GB",
    "UNITED KINGDOM": "GB", "GREAT BRITAIN": "GB", "ENGLAND": "GB", "SCOTLAND": "GB", "WALES": "GB",
    "GERMANY": "DE", "DEU": "DE", "DEUTSCHLAND": "DE", "FRANCE": "FR", "FRA": "FR",
    "NETHERLANDS": "NL", "NLD": "NL", "THE NETHERLANDS": "NL", "HOLLAND": "NL", "NEDERLAND": "NL",
    "AUSTRALIA": "AU", "AUS": "AU", "INDIA": "IN", "IND": "IN", "BRAZIL": "BR", "BRASIL": "BR", "BRA": "BR",
    "JAPAN": "JP", "JPN": "JP", "ITALY": "IT", "ITALIA": "IT", "ITA": "IT", "SPAIN": "ES", "ESPANA": "ES",
    "ESP": "ES", "SWITZERLAND": "CH", "CHE": "CH", "SCHWEIZ": "CH", "AUSTRIA": "AT", "AUT": "AT",
    "OSTERREICH": "AT", "BELGIUM": "BE", "BEL": "BE", "DENMARK": "DK", "DNK": "DK", "SWEDEN": "SE",
    "SWE": "SE", "POLAND": "PL", "POL": "PL", "IRELAND": "IE", "IRL": "IE", "MEXICO": "MX", "MEX": "MX",
}


def country_code(value: object) -> str | None:
    """ISO 3166 alpha-2 code for a country written as a code or a common name, else None."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip().upper()
    if not text:
        return None
    if text in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[text]
    if len(text) == 2 and text.isalpha():
        import phonenumbers

        if text in phonenumbers.SUPPORTED_REGIONS or text in POSTCODE_PATTERNS:
            return text
    return None


def valid_postcodes(values: pd.Series, country: str | pd.Series) -> pd.Series:
    """Postcode shape per country: True/False, NA when missing or the country has no pattern.

    ``country`` is one code for every row, or a Series (codes or names) aligned with ``values``.
    """
    if isinstance(country, str):
        code = country_code(country)
        pattern = _POSTCODE_RE.get(code or "")
        if pattern is None:
            return pd.Series(pd.NA, index=values.index, dtype="boolean", name=values.name)
        return map_distinct(values, lambda u: _match_all(u, pattern))
    countries = map_distinct(country.reindex(values.index), lambda u: pd.Series([country_code(v) for v in u], dtype=object))
    out = pd.Series(pd.NA, index=values.index, dtype="boolean", name=values.name)
    present = ~is_missing(values)
    for code, idx in countries[present].groupby(countries[present], observed=True).groups.items():
        pattern = _POSTCODE_RE.get(code)
        if pattern is not None:
            out.loc[idx] = map_distinct(values.loc[idx], lambda u, p=pattern: _match_all(u, p)).to_numpy()
    return out


def _match_all(uniques: pd.Series, pattern: re.Pattern[str]) -> pd.Series:
    return pd.Series([pattern.fullmatch(as_text(v).upper()) is not None for v in uniques], dtype="boolean")


# --------------------------------------------------------------------------
# dates

#: Formats tried in order; the first that parses a value wins. ISO 8601
#: (with or without time and offset) comes first, then US month/day/year.
DATE_FORMATS: tuple[str, ...] = (
    "ISO8601",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
)
_DAYFIRST = {"%m/%d/%Y": "%d/%m/%Y", "%m/%d/%y": "%d/%m/%y", "%m/%d/%Y %H:%M": "%d/%m/%Y %H:%M",
             "%m/%d/%Y %H:%M:%S": "%d/%m/%Y %H:%M:%S"}


def parse_dates(values: pd.Series, formats: Iterable[str] | None = None, *, dayfirst: bool = False) -> pd.Series:
    """Parse text dates in several formats into naive Timestamps; NaT when unparseable.

    Each format is tried with ``pd.to_datetime(format=..., errors="coerce")``
    over the distinct values still unparsed. Offsets are converted to UTC and
    dropped so that all results compare with each other. Datetime columns
    pass through (time zones dropped the same way).
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _naive(values)
    fmts = tuple(formats) if formats is not None else DATE_FORMATS
    if dayfirst:
        fmts = tuple(_DAYFIRST.get(f, f) for f in fmts)
    return map_distinct(values, lambda u: _parse_distinct(u, fmts))


def _parse_distinct(uniques: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    out = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[ns]")
    kinds = [_date_candidate(x) for x in uniques]
    # only text with a digit can be a date in any accepted format; the rest is NaT without parsing
    todo = pd.Series([x.strip() for x, k in zip(uniques, kinds, strict=True) if k == 1],
                     index=[i for i, k in enumerate(kinds) if k == 1], dtype=object)
    for fmt in formats:
        if todo.empty:
            break
        seps = set(re.sub(r"%.", "", fmt)) if fmt != "ISO8601" else set()
        candidates = todo if not seps else todo[[seps <= set(x) for x in todo]]
        if candidates.empty:
            continue
        parsed = pd.to_datetime(candidates, format=fmt, errors="coerce", utc=True)
        parsed = parsed.dt.tz_localize(None).astype("datetime64[ns]")
        hit = parsed.notna().to_numpy()
        out[parsed.index[hit]] = parsed.to_numpy()[hit]
        todo = todo.drop(parsed.index[hit])
    objects = [i for i, k in enumerate(kinds) if k == 2]
    if objects:
        parsed = pd.to_datetime(uniques.iloc[objects], errors="coerce", utc=True).dt.tz_localize(None)
        out[objects] = parsed.astype("datetime64[ns]").to_numpy()
    return pd.Series(out, index=uniques.index)


_DIGIT = re.compile(r"\d")


def _date_candidate(value: object) -> int:
    """1: text that may be a date, 2: a date/datetime object, 0: neither."""
    if isinstance(value, str):
        return 1 if _DIGIT.search(value) else 0
    return 2 if isinstance(value, (_dt.date, np.datetime64)) else 0


def _naive(values: pd.Series) -> pd.Series:
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def age_years(dob: pd.Series, as_of: pd.Timestamp | str | None = None) -> pd.Series:
    """Completed years between each date of birth and ``as_of`` (default: today); NaN when unknown.

    ``dob`` may be text (parsed with ``parse_dates``) or datetimes. A birth date
    after ``as_of`` gives a negative age, which any plausibility range rejects.
    """
    ref = pd.Timestamp.now().normalize() if as_of is None else pd.Timestamp(as_of)
    dates = parse_dates(dob)
    years = ref.year - dates.dt.year
    before_birthday = (dates.dt.month > ref.month) | ((dates.dt.month == ref.month) & (dates.dt.day > ref.day))
    return (years - before_birthday.astype(float)).astype(float)


# --------------------------------------------------------------------------
# consent

CONSENT_TRUE = frozenset({"y", "yes", "true", "1", "t"})
CONSENT_FALSE = frozenset({"n", "no", "false", "0", "f"})


def consent_flags(values: pd.Series) -> pd.Series:
    """Consent as a nullable boolean: Y/yes/true/1 -> True, N/no/false/0 -> False, else NA.

    Case-insensitive; booleans and the numbers 1/0 count too. NA covers both
    'missing' and 'not a consent flag' -- use ``is_missing`` to tell them apart.
    """
    return map_distinct(values, lambda u: pd.Series([_flag(v) for v in u], dtype="boolean"))


def _flag(value: object) -> bool | None:
    text = as_text(value).lower()
    if text in CONSENT_TRUE:
        return True
    if text in CONSENT_FALSE:
        return False
    return None
