"""Learned blocking on dedupe's predicates, with bounded cost.

dedupe learns blocking by covering labeled duplicates with predicates
(whole field, first token, first three characters, phonetic code, ...), but
measures each predicate over every pair in every block of the records it was
given, which grows quadratically. We run the same greedy set cover over a
bounded set of positive pairs (labeled matches and pairs the model calls
matches) and estimate each predicate's cost from block sizes on a bounded
record sample, scaled to the full data. The chosen predicates then write
block keys for every record, and candidate pairs are a join on those keys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from dedupe.predicates import CompoundPredicate, Predicate

#: Predicate functions worth considering: selective and cheap to compute.
CURATED = {
    "wholeFieldPredicate",
    "firstTokenPredicate",
    "sameThreeCharStartPredicate",
    "sameFiveCharStartPredicate",
    "sameSevenCharStartPredicate",
    "firstIntegerPredicate",
    "fingerprint",
    "doubleMetaphone",
    "sortedAcronym",
}
MAX_PREDICATES = 10
COST_SAMPLE = 10_000


@dataclass
class BlockingPlan:
    """The chosen predicates and what the learner knew when it chose them."""

    predicates: list[Predicate]
    covered: int
    positives: int
    estimated_pairs: float

    def describe(self) -> list[str]:
        return [_name(p) for p in self.predicates]


def candidate_predicates(data_model, fields_present: set[str]) -> list[Predicate]:
    """dedupe's simple predicates for our fields, limited to the curated functions."""
    out = []
    for p in data_model.predicates:
        func = getattr(p, "func", None)
        if func is None or func.__name__ not in CURATED:
            continue
        if getattr(p, "field", None) not in fields_present:
            continue
        out.append(p)
    return sorted(out, key=_name)


def learn_blocking(predicates: Sequence[Predicate], positives: Sequence[tuple[dict, dict]],
                   left_sample: Sequence[dict], right_sample: Sequence[dict] | None,
                   n_left: int, n_right: int | None, *, max_pairs: float,
                   max_predicates: int = MAX_PREDICATES) -> BlockingPlan:
    """Greedy set cover of ``positives`` by predicates whose estimated pair count fits ``max_pairs``.

    Costs come from block sizes on the samples, scaled to ``n_left``/``n_right``
    records. Pairs of the best simple predicates (AND-ed) are candidates too:
    they are far more selective and cover most duplicates together.
    """
    simple = list(predicates)
    covers = {p: _cover(p, positives) for p in simple}
    ranked = sorted(simple, key=lambda p: -len(covers[p]))[:12]
    compounds = [CompoundPredicate((a, b)) for a, b in combinations(ranked, 2) if a.field != b.field]
    for c in compounds:
        covers[c] = _cover(c, positives)
    cost = {p: _estimated_pairs(p, left_sample, right_sample, n_left, n_right) for p in covers if covers[p]}
    affordable = [p for p in cost if cost[p] <= max_pairs]
    uncovered = set(range(len(positives)))
    chosen: list[Predicate] = []
    total = 0.0
    while uncovered and len(chosen) < max_predicates:
        best = max(affordable, key=lambda p: (len(covers[p] & uncovered), -cost[p]), default=None)
        if best is None or not covers[best] & uncovered:
            break
        if total + cost[best] > max_pairs * 1.5:
            affordable.remove(best)
            continue
        chosen.append(best)
        total += cost[best]
        uncovered -= covers[best]
        affordable.remove(best)
    return BlockingPlan(chosen, len(positives) - len(uncovered), len(positives), total)


def _cover(p: Predicate, positives: Sequence[tuple[dict, dict]]) -> set[int]:
    out = set()
    for i, (a, b) in enumerate(positives):
        ka = p(a)
        if ka and not ka.isdisjoint(p(b)):
            out.add(i)
    return out


def _estimated_pairs(p: Predicate, left: Sequence[dict], right: Sequence[dict] | None,
                     n_left: int, n_right: int | None) -> float:
    left = left[:COST_SAMPLE]
    lc = Counter(k for rec in left for k in p(rec))
    if right is None:
        scale = (n_left / max(len(left), 1)) ** 2
        return scale * sum(c * (c - 1) / 2 for c in lc.values())
    right = right[:COST_SAMPLE]
    rc = Counter(k for rec in right for k in p(rec))
    scale = (n_left / max(len(left), 1)) * ((n_right or 0) / max(len(right), 1))
    return scale * sum(c * rc.get(k, 0) for k, c in lc.items())


def _name(p: Predicate) -> str:
    if isinstance(p, CompoundPredicate):
        return " AND ".join(_name(q) for q in p)
    return f"{p.func.__name__}({p.field})"


def block_keys(records: pd.DataFrame, predicates: Sequence[Predicate], offset: int = 0) -> pd.DataFrame:
    """Block keys of ``records`` (prepared frame): columns rid (position + offset), pred, key."""
    rows_rid, rows_pred, rows_key = [], [], []
    dicts = records.to_dict("records")
    for j, p in enumerate(predicates):
        for i, rec in enumerate(dicts):
            for k in p(rec):
                rows_rid.append(i + offset)
                rows_pred.append(j)
                rows_key.append(k)
    return pd.DataFrame({"rid": np.asarray(rows_rid, dtype="int64"), "pred": np.asarray(rows_pred, dtype="int16"),
                         "key": rows_key})
