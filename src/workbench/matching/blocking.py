"""Learned blocking on dedupe's predicates, with bounded cost, learned for recall on the data.

dedupe learns blocking by covering labeled duplicates with predicates
(whole field, first token, first three characters, phonetic code, ...), but
measures each predicate over every pair in every block of the records it was
given, which grows quadratically. We run the same greedy set cover, with two
differences that matter on real data:

- What must be covered is not only the few dozen labeled matches (a rule set
  covering those can miss most of the data's duplicates) but the likely
  matches of a sample: every pair that any candidate predicate brings
  together in a bounded record sample, scored by the model (``probe``).
  The share of those the chosen rules keep is the estimated recall,
  reported with the run and loudly when low.
- Each predicate's cost is estimated from block sizes on a record sample
  scaled to the full data, with oversized blocks costed as windowed (see
  ``scale.candidate_pairs``), so a common surname stays usable.

The chosen predicates then write block keys for every record, and candidate
pairs are a join on those keys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, product

import numpy as np
import pandas as pd
from dedupe.predicates import CompoundPredicate, Predicate, SimplePredicate

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
    "setItemPredicate",
    "yearPredicate",
    "orgTokenPredicate",
}
MAX_PREDICATES = 20
COST_SAMPLE = 10_000
#: Stop adding rules once this share of the likely matches is covered.
TARGET_RECALL = 0.995
#: Largest share of records a rule may leave in oversized (only windowed) blocks.
MAX_WINDOWED_SHARE = 0.5
#: A rule keeping at least this share less of the new likely matches than the best may be chosen if cheaper.
GAIN_TOLERANCE = 0.02
#: Blocks up to this many times scale.MAX_BLOCK count as keeping their pairs connected (windowed).
WINDOWED_OK = 1
#: Below this estimated recall the run warns (notebook, app and CLI show it).
LOW_RECALL = 0.9


@dataclass
class BlockingPlan:
    """The chosen predicates and what the learner knew when it chose them."""

    predicates: list[Predicate]
    covered: int
    positives: int
    estimated_pairs: float

    def describe(self) -> list[str]:
        return [predicate_name(p) for p in self.predicates]

    @property
    def estimated_recall(self) -> float:
        """Share of the likely matches the rules keep together (1.0 when there were none to keep)."""
        return self.covered / self.positives if self.positives else 1.0

    @property
    def low_recall(self) -> bool:
        return self.estimated_recall < LOW_RECALL

    def warning(self) -> str | None:
        """What to tell the analyst when the rules lose likely matches before scoring."""
        if not self.low_recall:
            return None
        return (f"blocking keeps an estimated {self.estimated_recall:.0%} of the likely matches "
                f"({self.covered:,} of {self.positives:,} in a sample) within the pair budget: the rest can "
                "never be found. Label more matches of the kinds missed, add a field that tells records "
                "apart (fields={column: kind}), or raise the budget (pairs_per_record=...).")


def candidate_predicates(data_model, fields_present: set[str], extra: Sequence[Predicate] = ()) -> list[Predicate]:
    """dedupe's simple predicates for our fields, limited to the curated functions, plus kinds' own."""
    out = []
    for p in [*data_model.predicates, *extra]:
        func = getattr(p, "func", None)
        if func is None or func.__name__ not in CURATED:
            continue
        if getattr(p, "field", None) not in fields_present:
            continue
        out.append(p)
    return sorted(out, key=predicate_name)


def learn_blocking(predicates: Sequence[Predicate], positives: Sequence[tuple[dict, dict]],
                   left_sample: Sequence[dict] | pd.DataFrame, right_sample: Sequence[dict] | pd.DataFrame | None,
                   n_left: int, n_right: int | None, *, max_pairs: float,
                   max_predicates: int = MAX_PREDICATES) -> BlockingPlan:
    """Greedy set cover of ``positives`` by predicates whose estimated pair count fits ``max_pairs``.

    Costs come from block sizes on the samples, scaled to ``n_left``/``n_right``
    records. A pair counts as covered only through a block that will not be
    oversized in the full data (oversized blocks are only windowed, so they
    cannot promise a given pair). Pairs of the best simple predicates (AND-ed)
    are candidates too: they are far more selective and cover most duplicates
    together.
    """
    left_keys = _SampleKeys(left_sample)
    right_keys = None if right_sample is None else _SampleKeys(right_sample)
    stats = {p: _BlockStats(p, left_keys, right_keys, n_left, n_right) for p in predicates}
    covers, shares = {}, {}
    for p in stats:
        covers[p], shares[p] = _cover(p, positives, stats[p].oversized)
    # Compounds of the predicates whose keys the most positives share (in blocks of any size):
    # a common surname AND a city makes a small block of two large ones.
    ranked = sorted(stats, key=lambda p: -len(shares[p]))[:12]
    for a, b in combinations(ranked, 2):
        if a.field != b.field and len(shares[a] & shares[b]):
            c = CompoundPredicate((a, b))
            stats[c] = _BlockStats(c, left_keys, right_keys, n_left, n_right)
            covers[c] = _cover(c, positives, stats[c].oversized)[0]
    cost = {p: stats[p].pairs for p in covers if covers[p]}
    # A rule that puts most records into oversized blocks only sorts the data
    # (sortedAcronym of an email, a country): its windows pair mostly strangers, slowly.
    affordable = [p for p in cost if cost[p] <= max_pairs and stats[p].windowed_share <= MAX_WINDOWED_SHARE]
    uncovered = set(range(len(positives)))
    chosen: list[Predicate] = []
    total = 0.0
    target = len(positives) * (1 - TARGET_RECALL)
    while len(uncovered) > target and len(chosen) < max_predicates:
        gains = {p: len(covers[p] & uncovered) for p in affordable}
        top = max(gains.values(), default=0)
        if not top:
            break
        # The cheapest of the rules that keep nearly as many new likely matches as
        # the best: one likely match more is not worth ten times the pairs.
        near = [p for p in affordable if gains[p] >= top * (1 - GAIN_TOLERANCE)]
        best = min(near, key=lambda p: (cost[p], -gains[p]))
        if total + cost[best] > max_pairs * 1.5:
            affordable.remove(best)
            continue
        chosen.append(best)
        total += cost[best]
        uncovered -= covers[best]
        affordable.remove(best)
    return BlockingPlan(chosen, len(positives) - len(uncovered), len(positives), total)


def _cover(p: Predicate, positives: Sequence[tuple[dict, dict]], oversized: set[str]) -> tuple[set[int], set[int]]:
    """Positives the predicate's blocks keep connected, and positives sharing any key.

    A shared key in a block of ordinary size pairs the two records. An
    oversized block is only windowed (each record paired with its neighbours
    in the order of its leading fields, ``scale.sort_keys``): two records
    with the same leading fields sit in one run of neighbours there, so they
    end up connected, while others may not meet.
    """
    from workbench.matching.scale import sort_key

    out, any_block = set(), set()
    for i, (a, b) in enumerate(positives):
        ka = p(a)
        if ka:
            shared = ka & p(b)
            if shared:
                any_block.add(i)
                if not shared <= oversized or sort_key(a) == sort_key(b):
                    out.add(i)
    return out, any_block


class _BlockStats:
    """A predicate's block sizes on a record sample, scaled to the full data: its pairs and oversized keys."""

    def __init__(self, p: Predicate, left: _SampleKeys, right: _SampleKeys | None,
                 n_left: int, n_right: int | None):
        from workbench.matching.scale import MAX_BLOCK, WINDOW

        lc = Counter(k for ks in left(p) for k in ks)
        grow = n_left / max(len(left), 1)
        if right is None:
            # Pairs in the sample scale by (n/s)^2 (unbiased); a block that would be
            # oversized in the full data is windowed there: its size times the window.
            keys = list(lc)
            c = np.fromiter((lc[k] for k in keys), dtype="f8", count=len(keys))
            full = c * grow
            big = full > MAX_BLOCK
            self.pairs = float(np.where(big, full * WINDOW, grow * grow * c * (c - 1) / 2).sum())
            self.windowed_share = float(c[big].sum() / max(len(left), 1))
            # Blocks up to a few times the cap are windowed, not lost: one inventor's
            # thousand patents, one company's sites sort into one run of neighbours.
            # Only blocks far beyond (a country, a common first name) cannot promise a pair.
            self.oversized = {k for k, f in zip(keys, full, strict=True) if f > MAX_BLOCK * WINDOWED_OK}
            return
        rc = Counter(k for ks in right(p) for k in ks)
        grow_r = (n_right or 0) / max(len(right), 1)
        self.pairs = grow * grow_r * sum(c * rc.get(k, 0) for k, c in lc.items())
        self.windowed_share = 0.0
        self.oversized = {k for k, c in lc.items() if c * grow * rc.get(k, 0) * grow_r > MAX_BLOCK * 4}


class _SampleKeys:
    """Each sample record's keys per predicate, computed once: compounds reuse their parts' keys."""

    def __init__(self, sample: Sequence[dict] | pd.DataFrame):
        frame = sample if isinstance(sample, pd.DataFrame) else pd.DataFrame(list(sample))
        self.frame = frame.iloc[:COST_SAMPLE]
        self._keys: dict[Predicate, list] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def __call__(self, p: Predicate) -> list:
        if p not in self._keys:
            if isinstance(p, CompoundPredicate):
                self._keys[p] = _combine([self(q) for q in p])
            else:
                keys = _keys_per_row(p, self.frame)
                self._keys[p] = keys if keys is not None else [p(rec) for rec in self.frame.to_dict("records")]
        return self._keys[p]


def _combine(parts: list[list]) -> list[frozenset]:
    """A compound predicate's keys from its parts' keys, record by record, as dedupe joins them."""
    return [frozenset(":".join(b.replace(":", "\\:") for b in combo) for combo in product(*ks))
            for ks in zip(*parts, strict=True)]


def predicate_name(p: Predicate) -> str:
    """A blocking rule's name, as plans show it and model documents store it: ``func(field)``, compounds AND-ed."""
    if isinstance(p, CompoundPredicate):
        return " AND ".join(predicate_name(q) for q in p)
    return f"{p.func.__name__}({p.field})"


def block_keys(records: pd.DataFrame, predicates: Sequence[Predicate], offset: int = 0) -> pd.DataFrame:
    """Block keys of ``records`` (prepared frame): columns rid (position + offset), pred, key.

    A simple predicate reads one field, so its keys are computed once per
    distinct value (cities, first names and states repeat a lot); compounds
    combine their parts' keys per record exactly as dedupe does.
    """
    rids, preds, keys = [], [], []
    dicts: list[dict] | None = None
    for j, p in enumerate(predicates):
        per_row = _keys_per_row(p, records)
        if per_row is None:
            dicts = records.to_dict("records") if dicts is None else dicts
            per_row = [p(rec) for rec in dicts]
        counts = np.fromiter((len(k) for k in per_row), dtype="int64", count=len(per_row))
        rids.append(np.repeat(np.arange(len(per_row), dtype="int64") + offset, counts))
        preds.append(np.full(int(counts.sum()), j, dtype="int16"))
        keys.append([k for ks in per_row for k in ks])
    return pd.DataFrame({"rid": np.concatenate(rids) if rids else np.empty(0, "int64"),
                         "pred": np.concatenate(preds) if preds else np.empty(0, "int16"),
                         "key": [k for part in keys for k in part]})


def _keys_per_row(p: Predicate, records: pd.DataFrame) -> list | None:
    """Each record's keys under ``p``, memoized per distinct field value; None for predicates of other shapes."""
    if isinstance(p, CompoundPredicate):
        parts = [_keys_per_row(q, records) for q in p]
        if any(part is None for part in parts):
            return None
        return _combine(parts)
    if not isinstance(p, SimplePredicate) or p.field not in records.columns:
        return None
    field = p.field
    col = records[field]
    values = col.to_numpy()
    if pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty"):
        return [p({field: v}) for v in values]  # 1 == 1.0 == True would share a memo but not a key
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    memo = [p({field: v}) for v in uniques]
    return [memo[c] if c >= 0 else p({field: values[i]}) for i, c in enumerate(codes)]
