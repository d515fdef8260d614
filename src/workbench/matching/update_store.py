"""Storing an update's clustering: only the region the delta touched is worked, the rest read from the last run.

A full run stores its model clustering, applies the review decisions and
gives persistent ids over every record (``clustering.store_clusters``). An update
changes few clusters, so it does the same over a *region*:

- the records the model clustered again (``incremental._affected``);
- the clusters a review decision names, today or at the last run;
- the last run's clusters of records that changed or left;

closed so that every cluster of the region, the last run's and this one's,
lies wholly inside it. Outside the region nothing changed: each record
keeps its row of the last run (id, confidence, size, decision), taken by
position in Arrow, so a million untouched records cost a few array passes
and no Python object each. Inside it, ``review.apply_decisions`` and
``stable_ids.stabilize`` run as in a full run, with the whole registry as the
ids already given. tests/test_incremental checks that the stored result is
what the full computation gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workbench import artifacts
from workbench.cluster_ids import verified, write_ids
from workbench.matching.stable_ids import REGISTRY_COLUMNS, IdSet, stabilize
from workbench.review import CLUSTER_COLUMNS, Decision, apply_decisions, sizes_of_codes

CLUSTERS_SCHEMA = pa.schema([("key", pa.string()), ("cluster_id", pa.string()), ("confidence", pa.float64()),
                             ("cluster_size", pa.int64()), ("decision", pa.string()), ("reviewed", pa.bool_())])
REGISTRY_SCHEMA = pa.schema([("cluster_id", pa.string()), ("since_run", pa.int64()), ("status", pa.string()),
                             ("merged_into", pa.string()), ("split_from", pa.string())])


def codes_of(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Integer codes of text values: equal values, equal codes (0..distinct-1)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False).astype("int64")


def closure(seed: np.ndarray, *groupings: np.ndarray) -> np.ndarray:
    """``seed`` (a mask of records) grown until it holds every group it touches whole, in each grouping (a
    code per record, -1 for none): components, former clusters, new clusters."""
    region = seed.copy()
    while True:
        grown = region.copy()
        for codes in groupings:
            has = codes >= 0
            hit = np.zeros(codes.max() + 1 if has.any() else 0, dtype=bool)
            hit[codes[region & has]] = True
            grown[has] |= hit[codes[has]]
        if (grown == region).all():
            return region
        region = grown


class LastRun:
    """The last run's stored clusters (decisions and ids applied) and id registry, as Arrow tables."""

    def __init__(self, folder: Path, keys: pa.Array):
        self.clusters = None
        self.registry = None
        clusters, registry = folder / artifacts.CLUSTERS, folder / artifacts.CLUSTER_IDS
        if not (clusters.exists() and registry.exists()):
            return  # a run from before persistent ids: the full computation
        table = pq.read_table(clusters)
        if table.column_names != CLUSTER_COLUMNS or table.num_rows != len(keys) \
                or not pc.all(pc.equal(table["key"].cast(pa.string()), keys)).as_py():
            return  # not row for row the model clustering's records (never expected): the full computation
        self.clusters = table.cast(CLUSTERS_SCHEMA)
        self.registry = pq.read_table(registry).select(REGISTRY_COLUMNS).cast(REGISTRY_SCHEMA)

    @property
    def usable(self) -> bool:
        return self.clusters is not None


def store_update(ws: Any, task: str, run_id: int, folder: Path, last: LastRun, order: pa.Array,
                 model_ids: pa.Array, model_codes: np.ndarray, confidence: np.ndarray, codes_before: np.ndarray,
                 kept: np.ndarray, affected: np.ndarray, gone: np.ndarray, decisions: list[Decision]
                 ) -> tuple[dict[str, Any], dict[str, int]]:
    """Write the run's clusters (decisions and ids applied), registry and id history, working only the region.

    ``order``: each position's key; ``model_ids`` (``model_codes``: equal ids, equal codes), ``confidence``:
    its model cluster; ``codes_before``: the last run's model cluster of each of its records (as codes);
    ``kept``: each kept position's row in the last run (the positions after them are the delta's);
    ``affected``: the positions the model clustered again; ``gone``: the last run's rows whose record changed
    or left.
    Returns the run's figures and the id events' counts."""
    assert last.clusters is not None and last.registry is not None
    prev = last.clusters
    n, n_prev = len(order), prev.num_rows
    row_of = np.full(n, -1, dtype="int64")  # each position's row in the last run, -1 for the delta
    row_of[:len(kept)] = kept
    region, prev_in = _region(order, model_codes, codes_before, row_of, affected, gone,
                              prev["decision"].is_valid().to_numpy(zero_copy_only=False), decisions)

    positions = np.flatnonzero(region)
    model = pd.DataFrame({"key": order.take(positions).to_numpy(zero_copy_only=False),
                          "cluster_id": model_ids.take(positions).to_numpy(zero_copy_only=False),
                          "confidence": confidence[positions]})
    model["cluster_size"] = sizes_of_codes(model_codes[positions])
    final = apply_decisions(model, decisions)
    previous = prev.select(["key", "cluster_id"]).take(np.flatnonzero(prev_in)).to_pandas()
    # the last run's clusters outside the region are its model clusters (``_region``): its ids, counted
    outside_before = np.zeros(codes_before.max() + 1 if n_prev else 0, dtype=bool)
    outside_before[codes_before[~prev_in]] = True
    n_ids = int(outside_before.sum()) + previous["cluster_id"].nunique()
    registry_rows = _registry_rows(last.registry, previous["cluster_id"], prev["cluster_id"], n_ids)
    result = stabilize(final[["key", "cluster_id"]], previous, last.registry.take(registry_rows).to_pandas(),
                       run_id, pinned=verified(final), used=IdSet(last.registry["cluster_id"], prev["cluster_id"]))
    final["cluster_id"] = result.clusters["cluster_id"].to_numpy()

    # every record's row: the last run's outside the region (all kept records), the region's inside
    take = row_of.copy()
    take[positions] = n_prev + np.arange(len(positions))
    region_table = pa.Table.from_pandas(final[CLUSTER_COLUMNS], schema=CLUSTERS_SCHEMA, preserve_index=False)
    clusters = pa.concat_tables([prev, region_table]).take(take)
    artifacts.write_table(clusters, folder / artifacts.CLUSTERS)

    new_registry = pa.Table.from_pandas(result.registry[REGISTRY_COLUMNS], schema=REGISTRY_SCHEMA,
                                        preserve_index=False)
    n_reg = last.registry.num_rows  # the region's rows updated in place, its new ids after all of them
    rows = np.arange(n_reg)
    rows[registry_rows] = n_reg + np.arange(len(registry_rows))
    rows = np.concatenate([rows, n_reg + np.arange(len(registry_rows), new_registry.num_rows)])
    write_ids(ws, task, run_id, folder, pa.concat_tables([last.registry, new_registry]).take(rows), result)

    outside = np.zeros(model_codes.max() + 1 if n else 0, dtype=bool)
    outside[model_codes[~region]] = True  # model clusters kept as they were, and as stored
    size = clusters["cluster_size"].to_numpy()
    figures = {"clusters": int(outside.sum() + final["cluster_id"].nunique()),
               "records_in_multi_record_clusters": int((size > 1).sum())}
    return figures, result.counts()


def _region(order: pa.Array, model_codes: np.ndarray, codes_before: np.ndarray, row_of: np.ndarray,
            affected: np.ndarray, gone: np.ndarray, decided_before: np.ndarray, decisions: list[Decision]
            ) -> tuple[np.ndarray, np.ndarray]:
    """The positions to work again, closed over this run's model clusters and the last run's
    (``codes_before``), and the last run's rows inside it (the gone records' too).

    A cluster the last run stored is either one a review decision formed, all its records tagged
    (``decided_before``), or its model cluster less the records decisions moved out, which were tagged: with
    every tagged record in, closing over the last run's model clusters closes over its stored clusters too."""
    seed = affected.copy()
    named = sorted({str(k) for d in decisions for k in d.keys})
    if named:
        seed |= pc.is_in(order, value_set=pa.array(named, type=pa.string())).to_numpy(zero_copy_only=False)
    has_last = row_of >= 0
    seed[has_last] |= decided_before[row_of[has_last]]
    last_cluster = np.where(has_last, codes_before[np.maximum(row_of, 0)], -1)
    gone_cluster = np.zeros(codes_before.max() + 1 if len(codes_before) else 0, dtype=bool)
    gone_cluster[codes_before[gone]] = True  # clusters a changed or deleted record was in
    seed[has_last] |= gone_cluster[last_cluster[has_last]]
    region = closure(seed, model_codes, last_cluster)
    last_hit = gone_cluster.copy()
    last_hit[last_cluster[region & has_last]] = True
    return region, last_hit[codes_before] | decided_before


def _registry_rows(registry: pa.Table, region_ids: pd.Series, prev_ids: pa.ChunkedArray, n_ids: int
                   ) -> np.ndarray:
    """The registry's rows of the region's old ids, and of active ids that held no record at the last run
    (a full run retires them; so does the region). ``n_ids``: the ids the last run's clusters hold, each an
    active id of its registry (the run wrote both): as many active ids means none is without records."""
    ids = registry["cluster_id"]
    mine = pc.is_in(ids, value_set=pa.array(pd.unique(region_ids.astype(str)), type=pa.string()))
    active = pc.equal(registry["status"], "active")
    if pc.sum(active).as_py() == n_ids:
        return np.flatnonzero(mine.to_numpy(zero_copy_only=False))
    orphan = pc.and_(active, pc.invert(pc.is_in(ids, value_set=prev_ids.combine_chunks())))
    return np.flatnonzero(pc.or_(mine, orphan).to_numpy(zero_copy_only=False))
