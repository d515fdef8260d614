"""Survivorship: one golden record per cluster, every value traced to the record that gave it.

Why it is shaped this way: a million records make ~800k clusters, so nothing
runs per cluster. For each field (or group of fields) the members that have
a value become one long candidate table for *all* clusters; each rule turns
into a score column, one ``np.lexsort`` over (cluster, scores..., record key)
puts every cluster's winner first, and the deciding rule is read off by
comparing the winner with the best member offering a different value.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.annotations import Annotations, per_golden
from workbench.checks.validators import distinct, parse_dates
from workbench.errors import WorkbenchError
from workbench.golden import exports
from workbench.golden.rules import (
    RULE_KINDS,
    SurvivorshipRules,
    SurvivorshipStep,
    Unit,
    load_survivorship_rules,
)
from workbench.provenance import PARTIES, party_of_records
from workbench.schema import Role, Schema, infer_schema

__all__ = ["LINEAGE_RULES", "GoldenResult", "build_golden", "golden_from_workspace"]

#: What the lineage ``rule`` column can say. Besides the rule kinds:
#: ``only_value`` (every member with a value has this same value),
#: ``tie_break`` (the rules could not separate two values; the smallest record key won),
#: ``group_fill`` (the group's chosen record lacked this field; the next-ranked member gave it),
#: ``consent`` (a consent column and its date, taken from the statement ``workbench.consent`` chose).
LINEAGE_RULES = (*RULE_KINDS, "tie_break", "only_value", "group_fill", "consent")
_TIE, _ONLY, _FILL = (LINEAGE_RULES.index(x) for x in ("tie_break", "only_value", "group_fill"))

GOLDEN_ID = "golden_id"
LINEAGE_COLUMNS = [GOLDEN_ID, "field", "value", "record_key", "source", "rule"]
CROSSWALK_COLUMNS = ["record_key", GOLDEN_ID, "source"]


@dataclass
class GoldenResult:
    """Golden records, their lineage and the record -> golden crosswalk.

    ``golden``: one row per cluster (``golden_id``, the fields, ``sources``,
    ``member_count``). ``lineage``: one row per non-empty golden value
    (golden_id, field, value, record_key, source, rule). ``crosswalk``: every
    clustered record once (record_key, golden_id, source).
    """

    golden: pd.DataFrame
    lineage: pd.DataFrame
    crosswalk: pd.DataFrame
    rules: SurvivorshipRules = field(repr=False)
    stats: dict[str, Any] = field(default_factory=dict)
    workspace: Any = field(default=None, repr=False, compare=False)  # set by golden_from_workspace: exports are audited
    #: Tables exported beside the golden records, keyed by name: analysts' ``annotations`` (notes and
    #: tags per golden record), and whatever later steps attach (households, consent).
    extras: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.golden)

    def explain(self, golden_id: Any) -> pd.DataFrame:
        """Where each value of one golden record came from: field, value, record, source, rule."""
        rows = self.lineage[self.lineage[GOLDEN_ID] == str(golden_id)]
        if rows.empty and not (self.golden[GOLDEN_ID] == str(golden_id)).any():
            raise WorkbenchError(f"no golden record {golden_id!r}")
        return rows.drop(columns=[GOLDEN_ID]).reset_index(drop=True)

    def export(self, target: str | Path, formats: Sequence[str] = ("csv", "parquet")) -> dict[str, Path]:
        """Write golden, lineage and crosswalk into a folder (or golden alone to a .csv/.parquet path).

        CSV cells that a spreadsheet would run as formulas are neutralized.
        """
        return exports.export_result(self, target, formats)

    def to_sql(self, engine_or_url: Any, table_prefix: str = "golden", *,
               if_exists: str = "fail") -> dict[str, str]:
        """Write ``<prefix>_records``, ``<prefix>_lineage`` and ``<prefix>_crosswalk`` tables."""
        return exports.to_sql(self, engine_or_url, table_prefix, if_exists=if_exists)


# --------------------------------------------------------------------------
# the build


def build_golden(
    frame: pd.DataFrame,
    clusters: pd.DataFrame,
    rules: SurvivorshipRules | str | Path | None = None,
    *,
    key: str,
    source: str | None = None,
    schema: Schema | None = None,
    party: pd.Series | None = None,
) -> GoldenResult:
    """Golden records of ``frame`` for the clustering ``clusters`` (columns ``key``, ``cluster_id``).

    ``rules``: a ``SurvivorshipRules``, a YAML path, or None for the defaults
    of ``schema`` (inferred from ``frame`` when not given). ``source`` names
    the source-system column (needed by ``source_priority``). Records of
    ``frame`` that no cluster names are left out and counted in
    ``stats["unclustered_records"]``; the golden_id is the cluster id.
    ``party``: each record's party type (aligned with ``frame``), read by ``party_priority``.
    """
    started = time.perf_counter()
    if key not in frame.columns:
        raise WorkbenchError(f"key column {key!r} is not in the data; columns: {', '.join(map(str, frame.columns))}")
    if source is not None and source not in frame.columns:
        raise WorkbenchError(f"source column {source!r} is not in the data; "
                             f"columns: {', '.join(map(str, frame.columns))}")
    if rules is None:
        rules = SurvivorshipRules.defaults(schema if schema is not None else infer_schema(frame, key=key))
    elif isinstance(rules, str | Path):
        rules = load_survivorship_rules(rules, columns=frame.columns)
    units = rules.plan([str(c) for c in frame.columns], key=key, source=source)
    if source is None:
        for unit in units:
            if any(r.kind == "source_priority" for r in unit.rules):
                raise WorkbenchError(f"source_priority on {unit.name!r} needs the source column: "
                                     "pass source='...' to build_golden")

    ckeys, cluster_ids = _check_clusters(clusters)
    positions, unclustered = _positions(frame[key], ckeys)
    gid, golden_ids = _sorted_codes(cluster_ids)
    sub = frame.iloc[positions].reset_index(drop=True)
    ctx = _Context(sub, gid, len(golden_ids), ckeys, golden_ids, key, source)
    ctx.party_rank = _party_rank(party, positions, len(ckeys))

    golden_fields = [c for u in units for c in u.fields]
    golden_fields = [str(c) for c in frame.columns if str(c) in set(golden_fields)]
    reserved = {GOLDEN_ID, "member_count"} | ({"sources"} if source is not None else set())
    clash = sorted(reserved & set(golden_fields))
    if clash:
        raise WorkbenchError(f"column {clash[0]!r} has the name of a golden-record column "
                             f"({', '.join(sorted(reserved))}); rename it before building golden records")
    field_index = {f: i for i, f in enumerate(golden_fields)}
    values = {f: np.full(len(golden_ids), None, dtype=object) for f in golden_fields}
    parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]] = []
    for unit in units:
        for f, g, rec, rule_codes in _survive(unit, ctx):
            picked = ctx.values(f)[rec]
            values[f][g] = picked
            parts.append((g, field_index[f], rec, rule_codes, picked))

    golden = pd.DataFrame({GOLDEN_ID: golden_ids})
    for f in golden_fields:
        golden[f] = values[f]
    if source is not None:
        golden["sources"] = ctx.sources_per_golden()
    golden["member_count"] = np.bincount(gid, minlength=len(golden_ids)).astype("int64")

    result = GoldenResult(golden, _lineage(parts, ctx, golden_fields), _crosswalk(ctx), rules)
    result.stats = {
        "records": int(len(ckeys)),
        "golden_records": int(len(golden_ids)),
        "merged_records": int(len(ckeys) - len(golden_ids)),
        "multi_member_golden": int((golden["member_count"] > 1).sum()),
        "unclustered_records": int(unclustered),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return result


def _party_rank(party: pd.Series | None, positions: np.ndarray, n: int) -> np.ndarray:
    """Per clustered record: 0 zero-party ... 3 third-party, 4 unknown; all 0 without party information."""
    if party is None:
        return np.zeros(n, dtype=float)
    rank = {p: float(i) for i, p in enumerate(PARTIES)}
    return np.array([rank.get(p, float(len(PARTIES))) for p in party.to_numpy(dtype=object)[positions]])


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like ``pd.factorize(values, sort=True)``, but sorting fixed-width text (several times faster)."""
    codes, uniques = pd.factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    if len(uniques) == 0:
        return codes.astype(np.int64), uniques
    order = np.argsort(uniques.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def _check_clusters(clusters: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(clusters, pd.DataFrame) or not {"key", "cluster_id"} <= set(clusters.columns):
        have = ", ".join(map(str, getattr(clusters, "columns", []))) or "none"
        raise WorkbenchError(f"clusters must be a DataFrame with columns 'key' and 'cluster_id'; got columns: {have}")
    if clusters["key"].isna().any() or clusters["cluster_id"].isna().any():
        raise WorkbenchError("clusters have rows without a key or cluster_id")
    ckeys = clusters["key"].astype(str).to_numpy(dtype=object)
    dup = pd.Series(ckeys).duplicated(keep=False)
    if dup.any():
        example = pd.Series(ckeys)[dup].iloc[0]
        raise WorkbenchError(f"record {example!r} appears {int((ckeys == example).sum())} times in the clusters "
                             f"({int(dup.sum())} rows name a record twice); a record belongs to one cluster")
    return ckeys, clusters["cluster_id"].astype(str).to_numpy(dtype=object)


def _positions(frame_keys: pd.Series, ckeys: np.ndarray) -> tuple[np.ndarray, int]:
    """Row positions of the clustered records in the frame, and how many frame rows no cluster names."""
    keys = frame_keys.astype(str).where(frame_keys.notna(), None)
    dup = keys.duplicated(keep=False) & keys.notna()
    if dup.any():
        ambiguous = sorted(set(keys[dup]) & set(ckeys))
        if ambiguous:
            raise WorkbenchError(f"key {ambiguous[0]!r} names {int((keys == ambiguous[0]).sum())} rows of the data "
                                 f"({len(ambiguous)} clustered keys are duplicated); cannot tell which record "
                                 "the clusters mean")
    lookup = pd.Index(keys[~dup & keys.notna()])
    pos_in_lookup = lookup.get_indexer(ckeys)
    missing = pos_in_lookup < 0
    if missing.any():
        examples = ", ".join(repr(k) for k in ckeys[missing][:5])
        raise WorkbenchError(f"{int(missing.sum())} record keys in the clusters are not in the data "
                             f"(e.g. {examples}); were the clusters built from another dataset or version?")
    rows = np.flatnonzero((~dup & keys.notna()).to_numpy())[pos_in_lookup]
    return rows, len(frame_keys) - len(ckeys)


class _Context:
    """Per-record arrays shared by every unit, computed once and cached (codes, dates, ranks)."""

    def __init__(self, sub: pd.DataFrame, gid: np.ndarray, ngroups: int, ckeys: np.ndarray,
                 golden_ids: np.ndarray, key: str, source: str | None) -> None:
        self.sub, self.gid, self.ngroups, self.ckeys = sub, gid.astype(np.int64), ngroups, ckeys
        self.golden_ids, self.key, self.source = golden_ids, key, source
        self.party_rank = np.zeros(len(ckeys), dtype=float)  # set by build_golden when parties are known
        self.key_rank = _sorted_codes(ckeys)[0]  # keys are unique: their rank in sorted order
        self._codes: dict[str, tuple[np.ndarray, pd.Series]] = {}
        self._cache: dict[tuple[Any, ...], np.ndarray] = {}

    def codes(self, col: str) -> np.ndarray:
        """Distinct-value codes, -1 for empty (NA or blank text)."""
        if col not in self._codes:
            self._codes[col] = distinct(self.sub[col])
        return self._codes[col][0]

    def values(self, col: str) -> np.ndarray:
        return self._memo(("values", col), lambda: self.sub[col].to_numpy(dtype=object))

    def _memo(self, k: tuple[Any, ...], make) -> np.ndarray:
        if k not in self._cache:
            self._cache[k] = make()
        return self._cache[k]

    def _at(self, col: str, idx: np.ndarray, fn) -> np.ndarray:
        """``fn`` applied once per distinct value present at ``idx``; -1 where empty."""
        codes = self.codes(col)[idx]
        present = np.unique(codes[codes >= 0])
        uniques = self._codes[col][1].to_numpy(dtype=object)[present]
        lookup = np.full(len(self._codes[col][1]) + 1, -1, dtype=np.int64)
        lookup[present] = fn(uniques)
        return lookup[codes]  # code -1 reads the extra last slot, which stays -1

    def norm_codes(self, col: str, idx: np.ndarray) -> np.ndarray:
        """Codes of the value ignoring case and spacing ('JOHN ' and 'John' count as one)."""
        return self._at(col, idx, lambda u: pd.factorize(
            np.array([" ".join(str(x).split()).casefold() for x in u], dtype=object))[0])

    def lengths(self, col: str, idx: np.ndarray) -> np.ndarray:
        return np.maximum(self._at(col, idx, lambda u: np.fromiter(
            (len(str(x).strip()) for x in u), dtype=np.int64, count=len(u))), 0)

    def tuple_codes(self, fields: tuple[str, ...], idx: np.ndarray, *, norm: bool) -> np.ndarray:
        """One code per distinct combination of the fields' values at ``idx`` (empty parts included)."""
        parts = [self.norm_codes(f, idx) if norm else self.codes(f)[idx] for f in fields]
        combined = parts[0].astype(np.int64)
        for p in parts[1:]:
            combined = pd.factorize(combined * (int(p.max(initial=-1)) + 2) + (p + 1))[0].astype(np.int64)
        return combined

    def date_seconds(self, col: str) -> np.ndarray:
        """Seconds since the epoch as float, NaN where the text is not a date."""
        def make() -> np.ndarray:
            parsed = parse_dates(self.sub[col]).to_numpy(dtype="datetime64[ns]")
            secs = parsed.astype("datetime64[s]").astype(np.int64).astype(float)
            secs[np.isnat(parsed)] = np.nan
            return secs
        return self._memo(("date", col), make)

    def completeness(self) -> np.ndarray:
        """Non-empty fields per record (key and source not counted)."""
        def make() -> np.ndarray:
            cols = [c for c in map(str, self.sub.columns) if c not in (self.key, self.source)]
            total = np.zeros(len(self.sub), dtype=np.int64)
            for c in cols:
                total += self.codes(c) >= 0
            return total
        return self._memo(("complete",), make)

    def source_rank(self, sources: tuple[str, ...]) -> np.ndarray:
        """Position of each record's source in ``sources`` (case-insensitive); others rank last."""
        def make() -> np.ndarray:
            order = {s.strip().casefold(): i for i, s in reversed(list(enumerate(sources)))}
            codes = self.codes(str(self.source))
            per_unique = np.array([order.get(str(u).strip().casefold(), len(sources))
                                   for u in self._codes[str(self.source)][1]] + [len(sources)], dtype=float)
            return per_unique[codes]  # empty (-1) reads the last slot: ranks last
        return self._memo(("source", sources), make)

    def sources_per_golden(self) -> np.ndarray:
        """'crm; pos': the distinct source systems of each golden record's members, sorted."""
        codes = self.codes(str(self.source))
        names = [str(u) for u in self._codes[str(self.source)][1]]
        if len(names) > 62:  # too many systems for a bit mask: the slow, general way
            return self._sources_by_groupby(codes, np.array(names, dtype=object))
        # one bit per source system; each distinct combination is spelled out once
        masks = np.zeros(self.ngroups, dtype=np.int64)
        ok = codes >= 0
        np.bitwise_or.at(masks, self.gid[ok], np.left_shift(np.int64(1), codes[ok].astype(np.int64)))
        combos, inverse = np.unique(masks, return_inverse=True)
        by_name = sorted(range(len(names)), key=names.__getitem__)
        labels = np.array([("; ".join(names[i] for i in by_name if (int(m) >> i) & 1) or None) for m in combos]
                          + [None], dtype=object)
        return labels[inverse.reshape(-1)] if len(masks) else labels[:0]

    def _sources_by_groupby(self, codes: np.ndarray, names: np.ndarray) -> np.ndarray:
        out = np.full(self.ngroups, None, dtype=object)
        pairs = pd.DataFrame({"g": self.gid, "s": codes})
        pairs = pairs[pairs["s"] >= 0].drop_duplicates()
        if not pairs.empty:
            pairs["name"] = names[pairs["s"].to_numpy()]
            joined = pairs.sort_values(["g", "name"]).groupby("g", sort=False)["name"].agg("; ".join)
            out[joined.index.to_numpy()] = joined.to_numpy()
        return out


def _scores(rule: SurvivorshipStep, unit: Unit, ctx: _Context, ci: np.ndarray, g: np.ndarray) -> np.ndarray:
    """One float per candidate, lower is better; a rule with no opinion (no date) gives +inf."""
    kind = rule.kind
    if kind == "source_priority":
        return ctx.source_rank(rule.sources)[ci]
    if kind == "party_priority":
        return ctx.party_rank[ci]
    if kind in ("most_recent", "earliest"):
        secs = ctx.date_seconds(str(rule.by))[ci]
        s = -secs if kind == "most_recent" else secs.copy()
        s[np.isnan(s)] = np.inf
        return s
    if kind == "most_complete":
        return -ctx.completeness()[ci].astype(float)
    if kind == "most_frequent":
        t = ctx.tuple_codes(unit.fields, ci, norm=True)
        combo = pd.factorize(g * (int(t.max(initial=-1)) + 2) + (t + 1))[0]
        return -np.bincount(combo)[combo].astype(float)
    if kind == "longest":
        return -sum((ctx.lengths(f, ci) for f in unit.fields), np.zeros(len(ci), dtype=np.int64)).astype(float)
    if kind == "custom":
        return _custom_scores(rule, unit, ctx, ci, g)
    raise AssertionError(kind)  # every kind of RULE_KINDS is handled above


def _custom_scores(rule: SurvivorshipStep, unit: Unit, ctx: _Context, ci: np.ndarray, g: np.ndarray) -> np.ndarray:
    candidates = ctx.sub.iloc[ci].reset_index(drop=True)
    candidates.insert(0, GOLDEN_ID, ctx.golden_ids[g])
    function = rule.resolve()
    try:
        answer = function(candidates)
    except Exception as exc:
        raise WorkbenchError(f"custom rule {rule} on {unit.name!r} raised {type(exc).__name__}: {exc}") from exc
    arr = np.asarray(answer)
    if arr.shape != (len(ci),):
        raise WorkbenchError(f"custom rule {rule} on {unit.name!r} must return one score per candidate row "
                             f"({len(ci)}), got shape {arr.shape}")
    numbers = pd.to_numeric(pd.Series(arr.astype(float) if arr.dtype == bool else arr), errors="coerce")
    s = -numbers.to_numpy(dtype=float)
    s[np.isnan(s)] = np.inf
    return s


def _survive(unit: Unit, ctx: _Context) -> Iterable[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """For each field of the unit: (field, golden positions, record positions, lineage rule codes)."""
    nonempty = [ctx.codes(f) >= 0 for f in unit.fields]
    has_any = np.logical_or.reduce(nonempty) if len(nonempty) > 1 else nonempty[0]
    ci = np.flatnonzero(has_any)
    if ci.size == 0:
        return
    g = ctx.gid[ci]
    # a cluster where one member has a value has no choice to make: that member gives it
    several = np.bincount(g, minlength=ctx.ngroups)[g] > 1
    alone, ci, g = ci[~several], ci[several], g[several]
    for f, ne in zip(unit.fields, nonempty, strict=True):
        rec = alone[ne[alone]]
        if rec.size:
            yield f, ctx.gid[rec], rec, np.full(rec.size, _ONLY, dtype=np.int8)
    if ci.size == 0:
        return
    scores = [_scores(rule, unit, ctx, ci, g) for rule in unit.rules]
    order = np.lexsort((ctx.key_rank[ci], *reversed(scores), g))
    gs = g[order]
    first = np.ones(len(gs), dtype=bool)
    first[1:] = gs[1:] != gs[:-1]
    starts = np.flatnonzero(first)
    win_g = gs[starts]
    winner_rec = ci[order[starts]]

    # the deciding rule: compare the winner with the best member offering a different value
    vc = ctx.tuple_codes(unit.fields, ci, norm=False)[order]
    start_of = np.repeat(starts, np.diff(np.append(starts, len(gs))))
    differ = np.flatnonzero(vc != vc[start_of])
    rule_by_g = np.full(ctx.ngroups, _ONLY, dtype=np.int8)
    if differ.size:
        firstd = np.ones(differ.size, dtype=bool)
        firstd[1:] = gs[differ][1:] != gs[differ][:-1]
        runner = differ[firstd]
        winner = start_of[runner]
        decide = np.full(runner.size, _TIE, dtype=np.int8)
        for i in reversed(range(len(scores))):
            s = scores[i][order]
            decide[s[winner] != s[runner]] = LINEAGE_RULES.index(unit.rules[i].kind)
        rule_by_g[gs[runner]] = decide

    if len(unit.fields) == 1:
        yield unit.fields[0], win_g, winner_rec, rule_by_g[win_g]
        return
    winner_by_g = np.full(ctx.ngroups, -1, dtype=np.int64)
    winner_by_g[win_g] = winner_rec
    for f, ne in zip(unit.fields, nonempty, strict=True):
        rows = np.flatnonzero(ne[ci[order]])
        if rows.size == 0:
            continue
        gf = gs[rows]
        firstf = np.ones(rows.size, dtype=bool)
        firstf[1:] = gf[1:] != gf[:-1]
        chosen = rows[firstf]
        gsel = gs[chosen]
        rec = ci[order[chosen]]
        codes = np.where(rec == winner_by_g[gsel], rule_by_g[gsel], _FILL).astype(np.int8)
        yield f, gsel, rec, codes


def _lineage(parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]], ctx: _Context,
             fields: list[str]) -> pd.DataFrame:
    if not parts:
        return _empty_lineage(fields)
    g = np.concatenate([p[0] for p in parts])
    f = np.concatenate([np.full(len(p[0]), p[1], dtype=np.int32) for p in parts])
    rec = np.concatenate([p[2] for p in parts])
    rule = np.concatenate([p[3] for p in parts])
    value = np.concatenate([p[4] for p in parts])
    order = np.lexsort((f, g))
    rec = rec[order]
    return pd.DataFrame({
        GOLDEN_ID: ctx.golden_ids[g[order]],
        "field": pd.Categorical.from_codes(f[order], categories=fields),
        "value": value[order],
        "record_key": ctx.ckeys[rec],
        "source": ctx.values(ctx.source)[rec] if ctx.source else np.full(len(rec), None, dtype=object),
        "rule": pd.Categorical.from_codes(rule[order], categories=list(LINEAGE_RULES)),
    })


def _empty_lineage(fields: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        GOLDEN_ID: pd.Series([], dtype=object),
        "field": pd.Categorical([], categories=fields),
        "value": pd.Series([], dtype=object),
        "record_key": pd.Series([], dtype=object),
        "source": pd.Series([], dtype=object),
        "rule": pd.Categorical([], categories=list(LINEAGE_RULES)),
    })


def _crosswalk(ctx: _Context) -> pd.DataFrame:
    order = np.lexsort((ctx.key_rank, ctx.gid))
    return pd.DataFrame({
        "record_key": ctx.ckeys[order],
        GOLDEN_ID: ctx.golden_ids[ctx.gid[order]] if len(order) else np.array([], dtype=object),
        "source": (ctx.values(ctx.source)[order] if ctx.source
                   else np.full(len(order), None, dtype=object)),
    })


# --------------------------------------------------------------------------
# the workspace step


def golden_from_workspace(ws: Any, dataset: Any, rules: SurvivorshipRules | str | Path | None = None, *,
                          clusters: pd.DataFrame | None = None) -> GoldenResult:
    """Build golden records of a dataset from its current clustering and store them as a "golden" run.

    Clusters come from ``workbench.review.current_clusters`` (analyst
    decisions applied) when that module exists, else from the latest
    "dedupe" run. The run's result names the Parquet files (relative to the
    workspace) so dashboards and exports read them without recomputing.
    """
    ds = ws.dataset(dataset) if isinstance(dataset, str) else dataset
    if ds.key is None:
        raise WorkbenchError(f"{ds.label} has no key column: load it with key=... so golden records can "
                             "name their source records")
    frame = ds.frame
    if rules is None:
        rules = SurvivorshipRules.defaults(ds.schema)
    elif isinstance(rules, str | Path):
        rules = load_survivorship_rules(rules, columns=frame.columns)
    if clusters is None:
        from workbench.review import current_clusters

        clusters, clusters_from = current_clusters(ws, ds), "review"  # latest clustering, decisions applied
    else:
        clusters_from = "given"
    source = ds.schema.column_for(Role.SOURCE)
    with ws.run("golden", ds, rules=_rules_param(rules), clusters_from=clusters_from) as run:
        parties = party_of_records(frame, ds.provenance, source) if ds.provenance.known else None
        result = build_golden(frame, clusters, rules, key=ds.key, source=source, party=parties)
        _add_provenance(result, frame, ds, source)
        notes = per_golden(Annotations(ws, ds).active(), result.crosswalk)
        if len(notes):
            result.extras["annotations"] = notes
        agreed = _consent(ds, result, frame, source)
        if agreed is not None:
            result.extras["consent"] = agreed
        tree = _hierarchy(ws, ds, result.crosswalk)
        if tree is not None:
            result.extras["hierarchy"] = tree
        folder = ws.artifact_path(ds, f"golden/run-{run.id}")
        paths = result.export(folder, formats=("parquet",))
        rel = {name.split(".")[0]: p.relative_to(ws.path).as_posix() for name, p in paths.items()}
        run.result = {"folder": folder.relative_to(ws.path).as_posix(), **rel, **result.stats,
                      "clusters_from": clusters_from}
    result.stats = {**result.stats, "run_id": run.id, **rel}
    result.workspace = ws
    return result


def _add_provenance(result: GoldenResult, frame: pd.DataFrame, ds: Any, source: str | None) -> None:
    """Lineage and crosswalk say the party type and acquisition date behind each value (when recorded)."""
    origin = ds.provenance
    if not origin.known:
        return
    parties = dict(zip(frame[ds.key].astype(str), party_of_records(frame, origin, source), strict=True))
    acquired = origin.acquired_on.isoformat() if origin.acquired_on else None
    for table in (result.lineage, result.crosswalk):
        table["party"] = table["record_key"].astype(str).map(parties).astype(object)
        table["acquired_on"] = acquired


def _consent(ds: Any, result: GoldenResult, frame: pd.DataFrame, source: str | None) -> pd.DataFrame | None:
    """Consent per golden record, channel and purpose (``workbench.consent``'s survivorship: latest explicit
    statement, opt-out on a tie or an undated side, third parties never grant, conflicts flagged); None
    without consent columns.

    The golden records' own consent columns (and their dates) are then taken from the record whose
    statement won, so a golden record never says "Y" where its consent is denied: survivorship by
    recency alone would let a dated opt-in beat an undated opt-out.
    """
    from workbench import consent

    if not ds.schema.columns_with(Role.CONSENT):
        return None
    statements = consent.of_dataset(ds)
    if not len(statements):
        return None
    agreed = consent.golden_consent(statements, result.crosswalk)
    decided = agreed[agreed["status"].isin(["granted", "denied"]) & agreed["record_key"].notna()]
    by_key = frame.set_index(frame[ds.key].astype(str))
    by_key = by_key[~by_key.index.duplicated()]  # a duplicated key: its first record, as golden records read it
    golden = result.golden.set_index(result.golden[GOLDEN_ID].astype(str))
    fixed = []
    for spec in statements.plan:
        if spec.problem or len(spec.channels) != 1 or spec.column not in golden.columns:
            continue
        won = decided[(decided["channel"] == spec.channels[0]) & (decided["purpose"] == spec.purpose)]
        won = won[won["record_key"].astype(str).isin(by_key.index)]
        if won.empty:
            continue
        gids, keys = won[GOLDEN_ID].astype(str).to_numpy(), won["record_key"].astype(str).to_numpy()
        for col in (spec.column, spec.date_column):
            if col is None or col not in golden.columns:
                continue
            values = by_key.loc[keys, col].to_numpy(dtype=object)
            golden.loc[gids, col] = values
            fixed.append(pd.DataFrame({GOLDEN_ID: gids, "field": col, "value": values, "record_key": keys,
                                       "source": by_key.loc[keys, source].to_numpy(dtype=object) if source
                                       else None}))
    if fixed:
        result.golden = golden.reset_index(drop=True)
        _replace_lineage(result, pd.concat(fixed, ignore_index=True))
    return agreed


def _replace_lineage(result: GoldenResult, rows: pd.DataFrame) -> None:
    """Lineage rows of (golden_id, field) in ``rows`` replaced by them, with rule ``consent``."""
    lineage = result.lineage
    fields = list(lineage["field"].cat.categories)
    old = pd.MultiIndex.from_arrays([lineage[GOLDEN_ID].astype(str), lineage["field"].astype(str)])
    new = pd.MultiIndex.from_arrays([rows[GOLDEN_ID], rows["field"]])
    kept = lineage[~old.isin(new)]
    rows = rows[rows["value"].map(lambda v: v is not None and not (isinstance(v, float) and np.isnan(v)))]
    added = pd.DataFrame({GOLDEN_ID: rows[GOLDEN_ID].to_numpy(dtype=object),
                          "field": pd.Categorical(rows["field"], categories=fields),
                          "value": rows["value"].to_numpy(dtype=object),
                          "record_key": rows["record_key"].to_numpy(dtype=object),
                          "source": rows["source"].to_numpy(dtype=object),
                          "rule": pd.Categorical(["consent"] * len(rows), categories=list(LINEAGE_RULES))})
    extra = [c for c in lineage.columns if c not in added.columns]  # party, acquired_on: from the crosswalk
    if extra:
        by_record = result.crosswalk.set_index(result.crosswalk["record_key"].astype(str))
        for c in extra:
            added[c] = by_record.reindex(added["record_key"].astype(str))[c].to_numpy(dtype=object) \
                if c in by_record.columns else None
    result.lineage = pd.concat([kept, added], ignore_index=True)


def _hierarchy(ws: Any, ds: Any, crosswalk: pd.DataFrame) -> pd.DataFrame | None:
    """golden_id -> household_id, kind (person / organization), household_size, from the newest
    households run of the dataset (``workbench.households``), matched through record keys; None without one."""
    from workbench.households import latest_households

    run = latest_households(ws, ds)
    if run is None:
        return None
    members = pd.read_parquet(ws.path / run["members"],
                              columns=["record_key", "household_id", "kind", "household_size"])
    members["record_key"] = members["record_key"].astype(str)
    cross = pd.DataFrame({"record_key": crosswalk["record_key"].astype(str),
                          GOLDEN_ID: crosswalk[GOLDEN_ID].astype(str)})
    tree = cross.merge(members, on="record_key", how="inner").drop_duplicates(GOLDEN_ID)
    return tree[[GOLDEN_ID, "household_id", "kind", "household_size"]].reset_index(drop=True)


def _rules_param(rules: SurvivorshipRules) -> dict[str, Any]:
    try:
        return rules.to_dict()
    except Exception:  # custom rules given as lambdas have no YAML form; the run still happens
        return {"description": "rules given in Python (a custom function has no import path)"}
