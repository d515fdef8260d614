"""Comparator kinds: one registry entry per way of comparing a field.

A kind is one unit: its scalar comparator (the reference), its vectorized
comparator (the fast path at scale), its expert prior (used until the data
and the labels say otherwise), the dedupe variable whose predicates drive
blocking, extra block-key functions, and the standardization a field of that
kind gets when its role gives none. Adding a kind is one ``register`` call,
here.

    from workbench.matching.kinds import KINDS
    KINDS["Set"].scalar("a|b", "b|c")      # 0.667
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from dedupe import variables as dv
from dedupe.predicates import SimplePredicate

from workbench import standardize as st
from workbench.matching import comparators, vectorized


@dataclass(frozen=True)
class Kind:
    """How one kind of field is compared, weighed a priori, blocked on and standardized."""

    name: str
    scalar: Callable[[Any, Any], float]
    vectorized: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    #: (agreement weight, disagreement weight) in log-odds, before the data and labels speak.
    prior: tuple[float, float]
    #: The dedupe type: "String", "ShortString", "Exact" or "Custom"; its predicates drive blocking.
    dedupe_type: str = "String"
    #: Extra block-key functions (value -> keys), for kinds whose dedupe type has no predicates.
    block_keys: tuple[Callable[[str], frozenset[str]], ...] = ()
    #: Standardization of a column compared this way when its role gives none.
    prepare: Callable[[pd.Series], pd.Series] = st.clean_text
    description: str = ""
    aliases: tuple[str, ...] = field(default=())

    def variable(self, field_name: str):
        """The dedupe variable for a field of this kind (its comparator replaced by ours)."""
        if self.dedupe_type == "Custom":
            return dv.Custom(field_name, comparator=self.scalar, has_missing=True)
        var = {"String": dv.String, "ShortString": dv.ShortString, "Exact": dv.Exact}[self.dedupe_type](
            field_name, has_missing=True)
        var.comparator = self.scalar
        return var

    def predicates(self, field_name: str) -> list[SimplePredicate]:
        return [SimplePredicate(f, field_name) for f in self.block_keys]


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def kind(name: str) -> Kind:
    from workbench.errors import WorkbenchError

    if name not in KINDS:
        raise WorkbenchError(f"unknown comparator kind {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]


# -- block-key functions (module level: worker processes pickle them) ------------------
def setItemPredicate(value: str) -> frozenset[str]:  # noqa: N802 (dedupe's naming, shown in plans)
    """Each item of a set-valued field: two records sharing any item share a block."""
    return frozenset(x for x in value.split(SET_SEPARATOR) if x)


def yearPredicate(value: str) -> frozenset[str]:  # noqa: N802
    return frozenset((value[:4],)) if len(value) >= 4 else frozenset()


def orgTokenPredicate(value: str) -> frozenset[str]:  # noqa: N802
    """Each word of an organization name longer than three letters (not 'and', 'the')."""
    return frozenset(t for t in value.split() if len(t) > 3)


# -- set-valued fields ------------------------------------------------------------------
#: Items of a set-valued field are joined with this in prepared records (text, so
#: block keys and Parquet handle them like any other field).
SET_SEPARATOR = "|"
LIST_SEPARATORS = (";", "|")


def prepare_set(s: pd.Series) -> pd.Series:
    """A list-valued column (lists, or text split on ';' or '|') -> sorted distinct cleaned items."""

    def one(v: Any) -> str | None:
        if isinstance(v, list | tuple | set | frozenset | np.ndarray):
            items = [str(x) for x in v if x is not None and not (isinstance(x, float) and np.isnan(x))]
        else:
            text = str(v)
            sep = next((c for c in LIST_SEPARATORS if c in text), None)
            items = text.split(sep) if sep else [text]
        cleaned = sorted({c for c in map(st._clean_one, items) if c})
        return SET_SEPARATOR.join(cleaned) or None

    s = s.map(lambda v: tuple(v) if isinstance(v, list | np.ndarray | set | frozenset) else v)
    return st._per_distinct(s, st._per_value(one))


def compare_sets(a: str, b: str) -> float:
    """Share of items not in common (Jaccard distance): co-inventors, tags, assignees."""
    sa, sb = set(a.split(SET_SEPARATOR)), set(b.split(SET_SEPARATOR))
    if not sa or not sb:
        return 1.0
    return 1.0 - len(sa & sb) / len(sa | sb)


def sets_vectorized(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.fromiter((compare_sets(x, y) for x, y in zip(a, b, strict=True)), dtype="f8", count=len(a))


# -- numbers and dates far apart ---------------------------------------------------------
def prepare_number(s: pd.Series) -> pd.Series:
    num = pd.to_numeric(s.astype(str).str.replace(r"[,\s]", "", regex=True), errors="coerce")
    return num.map(lambda x: None if pd.isna(x) else repr(float(x))).astype(object)


def compare_numbers(a: str, b: str) -> float:
    """Relative difference: 0 equal, 1 when one is twice the other or more (or signs differ)."""
    x, y = float(a), float(b)
    if x == y:
        return 0.0
    scale = max(abs(x), abs(y))
    return min(1.0, abs(x - y) / scale)


def numbers_vectorized(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x, y = a.astype("f8"), b.astype("f8")
    scale = np.maximum(np.abs(x), np.abs(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(scale > 0, np.abs(x - y) / scale, 0.0)
    return np.clip(out, 0.0, 1.0)


#: Dates this many days apart count as fully different (event dates: a patent, an order, a visit).
DATE_SPAN_DAYS = 3650.0


def prepare_event_date(s: pd.Series) -> pd.Series:
    return st.standardize_date(s)


def compare_date_span(a: str, b: str) -> float:
    """Event dates: 0 the same day, growing with the days between, 1 at ten years or more."""
    if a == b:
        return 0.0
    try:
        days = abs((_dt.date.fromisoformat(a) - _dt.date.fromisoformat(b)).days)
    except ValueError:
        return 1.0
    return min(1.0, days / DATE_SPAN_DAYS)


def date_span_vectorized(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:  # day numbers, any year (pandas timestamps overflow past 2262)
        x = np.array(list(a), dtype="datetime64[D]").astype("int64")
        y = np.array(list(b), dtype="datetime64[D]").astype("int64")
    except ValueError:  # a value that is not an ISO date: the scalar rule on each
        return np.fromiter((compare_date_span(p, q) for p, q in zip(a, b, strict=True)), dtype="f8", count=len(a))
    out = np.minimum(1.0, np.abs(x - y) / DATE_SPAN_DAYS)
    out[a == b] = 0.0
    return out


# -- organizations -----------------------------------------------------------------------
def compare_org_names(a: str, b: str) -> float:
    """Organization names without legal form: token-sorted, and one name inside the other is close.

    "blue cafe" / "blue cafe santa monica" (a name and its longer form) score
    0.2; reordered words ("trading tanaka") 0; otherwise the token-sort distance.
    """
    if a == b:
        return 0.0
    d = comparators.compare_addresses(a, b)
    return min(d, 0.2) if _nested(a, b) else d


def _nested(a: str, b: str) -> bool:
    """The words of one name are all in the other (both having some)."""
    sa, sb = set(a.split()), set(b.split())
    return bool(sa and sb and (sa <= sb or sb <= sa))


def org_names_vectorized(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = vectorized.addresses(a, b)
    subset = np.fromiter((_nested(x, y) for x, y in zip(a, b, strict=True)), dtype=bool, count=len(a))
    out = np.where(subset, np.minimum(out, 0.2), out)
    out[a == b] = 0.0
    return out


# -- the registry ---------------------------------------------------------------------------
register(Kind("Name", comparators.compare_names, vectorized.names, (2.0, 2.0),
              description="a person's name in levels: same, typo, initial, related, different"))
register(Kind("GivenName", comparators.compare_given_names, vectorized.given_names, (3.0, 5.0),
              description="a first name: as Name, knowing nicknames and masculine/feminine pairs"))
register(Kind("Email", comparators.compare_emails, vectorized.emails, (4.0, 1.0),
              description="an email address: same, same mailbox elsewhere or a typo, different"))
register(Kind("Address", comparators.compare_addresses, vectorized.addresses, (1.0, 0.5),
              description="an address: token-sorted similarity"))
register(Kind("String", comparators.compare_strings, vectorized.strings, (1.5, 1.0),
              description="text compared by edit distance (codes, phones, short values)"))
register(Kind("ShortString", comparators.compare_strings, vectorized.strings, (1.0, 1.0), dedupe_type="ShortString",
              description="a short text compared by edit distance (cities, postcodes)"))
register(Kind("Exact", comparators.compare_exact, vectorized.exact, (0.5, 0.5), dedupe_type="Exact",
              description="equal or not (categories, codes, states, domains)"))
register(Kind("Date", comparators.compare_dates, vectorized.dates, (2.5, 3.0), dedupe_type="Custom",
              block_keys=(yearPredicate,), prepare=st.standardize_date,
              description="a date of birth: same day, swapped day/month or one digit off, different"))
register(Kind("TokenSet", comparators.compare_token_sets, vectorized.token_sets, (1.0, 1.5), dedupe_type="Custom",
              description="the share of words not in common (free text, names in any order)"))
register(Kind("OrgName", compare_org_names, org_names_vectorized, (3.0, 1.5),
              block_keys=(orgTokenPredicate,), prepare=st.standardize_org_name,
              description="an organization name without legal form, 'the' and '&'/'and' differences"))
register(Kind("Set", compare_sets, sets_vectorized, (1.5, 0.5), dedupe_type="Custom", block_keys=(setItemPredicate,),
              prepare=prepare_set, description="a list of items (co-workers, tags, assignees) compared as a set"))
register(Kind("Numeric", compare_numbers, numbers_vectorized, (1.0, 1.0), dedupe_type="Custom",
              prepare=prepare_number, description="a number: relative difference"))
register(Kind("DateSpan", compare_date_span, date_span_vectorized, (0.5, 0.5), dedupe_type="Custom",
              block_keys=(yearPredicate,), prepare=prepare_event_date,
              description="an event date: the days between, ten years or more counting as different"))
# AffineGap keeps dedupe's own comparator.
KINDS["AffineGap"] = Kind("AffineGap", dv.String("x").comparator, None, (1.5, 1.0),
                          description="dedupe's affine gap distance")
