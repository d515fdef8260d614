"""Customer-field validators: email, phone, postcode, dates, age, consent flags.

Customer data repeats itself (the same domain, phone or signup date appears
thousands of times), so every validator works on the *distinct* values of its
input and maps the answers back with the factorize codes. A value that is
missing (NA or blank text) is never validated: its answer is NA.

These functions are plain pandas in, pandas out; the rule checks in
``workbench.checks.library`` are built on them. Emails, phones and dates are
*read* by ``workbench.standardize`` (one reading for checks, matching and
golden records, so a value never passes here and is dropped there); this
module turns those readings into verdicts.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "CONSENT_FALSE",  # noqa: F822 (built on first use by __getattr__, from workbench.consent)
    "CONSENT_TRUE",  # noqa: F822
    "DATE_FORMATS",
    "POSTCODE_PATTERNS",
    "Validated",
    "age_years",
    "as_text",
    "consent_flags",
    "distinct",
    "is_missing",
    "map_distinct",
    "parse_dates",
    "phone_status",
    "postal_country",
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
# email and phone: read by the standardize layer, so a value gets one verdict everywhere


def _written_email(value: object) -> str:
    """The address as written (display name and mailto: dropped), domain lower-cased."""
    text = as_text(value)
    if "<" in text and ">" in text:
        text = text[text.rfind("<") + 1 : text.rfind(">")].strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:"):]
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.strip().strip('.').lower()}"


def _validate_email_values(uniques: pd.Series) -> pd.DataFrame:
    from workbench.standardize import standardize_email

    valid = standardize_email(uniques).notna().to_numpy()
    normalized = [_written_email(u) if ok else None for u, ok in zip(uniques, valid, strict=True)]
    return pd.DataFrame({"valid": pd.array(valid, dtype="boolean"), "normalized": pd.Series(normalized, dtype=object)})


def validate_emails(values: pd.Series) -> Validated:
    """Whether each value reads as an email address, and the address as written.

    The verdict is ``workbench.standardize.standardize_email``'s (an address
    there, valid here), so checks and matching never disagree about a value:
    surrounding spaces, a display name ("Ann <ann@x.com>") or ``mailto:`` are
    tolerated, a value without one ``@`` and a dotted domain is not. The
    normalized form keeps the local part as typed and lower-cases the domain.
    """
    result = _map_distinct_frame(values, _validate_email_values)
    return Validated(result["valid"], result["normalized"])


def phone_status(values: pd.Series, region: str | pd.Series = "US", *, strict: bool = True) -> pd.Series:
    """Per value: valid, possible, local or invalid (``workbench.standardize.read_phones``), None when missing.

    ``region`` is one ISO code for every row or a Series (one code per row,
    e.g. from ``region_for_country``).
    """
    from workbench.standardize import read_phones

    present = (~is_missing(values)).to_numpy()
    status = np.full(len(values), None, dtype=object)
    if present.any():
        regions = region[present] if isinstance(region, pd.Series) else region
        status[present] = read_phones(values[present], regions, strict=strict)["status"].to_numpy()
    return pd.Series(status, index=values.index, dtype=object, name=values.name)


def validate_phones(values: pd.Series, region: str | pd.Series = "US", *, strict: bool = True,
                    normalize: bool = True, local: bool = True) -> Validated:
    """Phone numbers read with ``region`` as the default country; E.164 when it has one.

    One reading with standardization (``workbench.standardize.read_phones``).
    ``strict=True`` asks for a real number range (``valid``), ``strict=False``
    only for a plausible length (``possible`` too). ``local=True`` accepts a
    number written without its area code (7 digits in the US) as valid-local:
    it is how many lists write numbers, though it has no E.164 form.
    ``normalize=False`` is accepted for compatibility (E.164 comes with the reading).
    """
    from workbench.standardize import read_phones

    present = (~is_missing(values)).to_numpy()
    valid = pd.array(np.zeros(len(values), dtype=bool), dtype="boolean")
    valid[~present] = pd.NA
    normalized = np.full(len(values), None, dtype=object)
    if present.any():
        regions = region[present] if isinstance(region, pd.Series) else str(region).upper()
        read = read_phones(values[present], regions, strict=strict)
        ok = read["status"].isin({"valid"} | ({"local"} if local else set()) | (set() if strict else {"possible"}))
        valid[present] = ok.to_numpy()
        normalized[present] = np.where(ok.to_numpy(), read["e164"].to_numpy(dtype=object), None)
    return Validated(pd.Series(valid, index=values.index, name=values.name),
                     pd.Series(normalized, index=values.index, dtype=object, name=values.name))


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

def postal_country(value: object) -> str | None:
    """The country whose postcode rules apply: ISO 3166 alpha-2 code of a country written as a code or
    a common name, else None.

    ``standardize.country_code``'s reading (the one country reading), plus the two-letter codes of
    countries with a postcode pattern.
    """
    from workbench.standardize import country_code as read_country

    code = read_country(value)
    if code is None and isinstance(value, str) and len(value.strip()) == 2 and value.strip().upper() in POSTCODE_PATTERNS:
        return value.strip().upper()
    return code


def valid_postcodes(values: pd.Series, country: str | pd.Series) -> pd.Series:
    """Postcode shape per country: True/False, NA when missing or the country has no pattern.

    ``country`` is one code for every row, or a Series (codes or names) aligned with ``values``.
    """
    if isinstance(country, str):
        code = postal_country(country)
        pattern = _POSTCODE_RE.get(code or "")
        if pattern is None:
            return pd.Series(pd.NA, index=values.index, dtype="boolean", name=values.name)
        return map_distinct(values, lambda u: _match_all(u, pattern))
    countries = map_distinct(country.reindex(values.index), lambda u: pd.Series([postal_country(v) for v in u], dtype=object))
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


def parse_dates(values: pd.Series, formats: Iterable[str] | None = None, *, dayfirst: bool = False,
                past: bool = False) -> pd.Series:
    """Parse text dates into naive Timestamps; NaT when unparseable.

    Without ``formats`` the date is ``workbench.standardize.standardize_date``'s
    reading (one reading of dates for checks, standardization and golden
    records: ISO, m/d/Y with a day-first fallback when the first part exceeds
    12, d.m.Y, "7 Mar 1985", "March 7th, 1985", ...; ``past`` moves
    two-digit-year dates out of the future, for birth dates). Where the text
    also carries a time of day on that same date, the time is kept (offsets
    converted to UTC and dropped), so recency and ordering see it.
    With ``formats`` exactly those strftime formats are tried, in order.
    Datetime columns pass through (time zones dropped the same way).
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _naive(values)
    if formats is not None:
        fmts = tuple(formats)
        if dayfirst:
            fmts = tuple(_DAYFIRST.get(f, f) for f in fmts)
        return map_distinct(values, lambda u: _parse_distinct(u, fmts))
    return map_distinct(values, lambda u: _read_distinct(u, dayfirst, past))


def _read_distinct(uniques: pd.Series, dayfirst: bool, past: bool) -> pd.Series:
    from workbench.standardize import standardize_date

    iso = standardize_date(uniques, dayfirst=dayfirst, past=past)
    out = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")
    timed = [i for i, u in enumerate(uniques) if pd.notna(out.iloc[i]) and (
        (isinstance(u, str) and ":" in u) or (isinstance(u, (_dt.datetime, np.datetime64))))]
    if timed:
        fmts = DATE_FORMATS if not dayfirst else tuple(_DAYFIRST.get(f, f) for f in DATE_FORMATS)
        full = _parse_distinct(uniques.iloc[timed].reset_index(drop=True), fmts)
        same_day = full.notna().to_numpy() & (full.dt.normalize().to_numpy() == out.iloc[timed].to_numpy())
        keep = np.asarray(timed)[same_day]
        out.iloc[keep] = full.to_numpy()[same_day]
    return pd.Series(out.to_numpy(), index=uniques.index)


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
# consent: the one vocabulary is ``workbench.consent``'s; this is its reading as a flag


def __getattr__(name: str) -> frozenset[str]:
    """``CONSENT_TRUE`` / ``CONSENT_FALSE``: the vocabulary's normalized values meaning granted / denied.

    Built on first use from ``workbench.consent`` (which imports this module).
    """
    if name in ("CONSENT_TRUE", "CONSENT_FALSE"):
        from workbench.consent import DENIED, GRANTED, default_words

        return default_words(GRANTED if name == "CONSENT_TRUE" else DENIED)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def consent_flags(values: pd.Series, *, inverted: bool | None = None, vocabulary=None) -> pd.Series:
    """Consent as a nullable boolean: granted -> True, denied -> False, unknown or missing -> NA.

    Values are read by ``workbench.consent`` (one vocabulary for checks,
    statements and golden records): Y/yes/true/1/opt-in/"yes please" are
    granted, N/no/false/0/opted out/unsubscribed/stop denied, "?" and values
    it does not know unknown; case, spaces and punctuation do not matter,
    booleans and the numbers 1/0 count. ``inverted``: the column asks the
    opposite question (``unsubscribed``, ``opt_out``: a "Y" there is False);
    by default read from the Series' name. ``vocabulary``: a
    ``workbench.consent.Vocabulary`` with YAML overrides. NA covers both
    'missing' and 'not a consent flag' -- use ``is_missing`` to tell them apart.
    """
    from workbench import consent

    if inverted is None:
        inverted = consent.inverted_name(values.name)
    vocab = vocabulary or consent.Vocabulary()
    flag = {consent.GRANTED: True, consent.DENIED: False}

    def read(uniques: pd.Series) -> pd.Series:
        status = vocab.read_distinct(uniques, inverted=inverted)["status"]
        return pd.Series([flag.get(s) for s in status], dtype="boolean")
    return map_distinct(values, read)
