"""Scoring and clustering at scale, with memory bounded by chunk sizes.

Stages, each a set operation or a pure function over chunks so it could be
handed to Spark unchanged:

1. block keys per record (learned predicates) -> Parquet
2. candidate pairs = DuckDB join on (predicate, key), oversized blocks skipped
3. scores = features + classifier over chunks of pairs, on all cores
4. clusters = connected components, then dedupe's hierarchical clustering
   inside each; components above a cap are split by dedupe at a raised
   threshold, and reported
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dedupe import clustering as dd_clustering
from scipy.cluster import hierarchy
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from workbench.matching.blocking import block_keys

#: Blocks with more records than this are windowed instead of fully paired (a shared office phone, "john"): reported.
MAX_BLOCK = 500
#: In a block above MAX_BLOCK records, each record is paired with this many neighbours (sorted neighbourhood).
WINDOW = 10
#: Pairs scored per chunk.
CHUNK = 100_000
#: Largest component handed whole to hierarchical clustering. Its distance matrix is n^2/2:
#: at 10,000 records about 0.8 GB at the peak and a few seconds. Clustering a larger one
#: at the threshold is not possible; it is cut where its weakest links are (split_oversized).
MAX_COMPONENT = 10_000
#: Records keyed per chunk.
KEY_CHUNK = 100_000


@dataclass
class StageLog:
    """Time and figures per stage, for the run record and benchmarks."""

    seconds: dict[str, float] = field(default_factory=dict)
    figures: dict[str, float | int | str] = field(default_factory=dict)

    def time(self, stage: str, started: float) -> None:
        self.seconds[stage] = round(time.perf_counter() - started, 2)


class _StageCallback:
    """A tqdm-like bar that reports to ``fn(stage, done, total)`` instead (an app shows real stages)."""

    def __init__(self, fn: Callable[[str, int, int | None], None], total: int | None, desc: str):
        self.fn, self.total, self.desc, self.n = fn, total, desc, 0

    def __enter__(self) -> _StageCallback:
        self.fn(self.desc, 0, self.total)
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def update(self, k: int = 1) -> None:
        self.n += k
        self.fn(self.desc, self.n, self.total)


def _bar(total: int | None, desc: str, enabled: bool | Callable[[str, int, int | None], None]):
    """A progress bar per stage: tqdm when ``enabled`` is True, a callback when it is a function."""
    if callable(enabled):
        return _StageCallback(enabled, total, desc)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=True)


#: Leading fields, and characters of each, that order the records of an oversized block.
SORT_FIELDS, SORT_CHARS = 3, 12


def sort_keys(records: pd.DataFrame) -> pd.Series:
    """Per record, its leading fields as text: the order of records inside an oversized block."""
    out = pd.Series("", index=records.index, dtype=object)
    for col in list(records.columns)[:SORT_FIELDS]:
        out = out + records[col].fillna("").astype(str).str[:SORT_CHARS] + "|"
    return out


def sort_key(record: dict) -> str:
    """:func:`sort_keys` of one prepared record (a dict in field order)."""
    return "".join(("" if v is None else str(v))[:SORT_CHARS] + "|" for v in list(record.values())[:SORT_FIELDS])


def write_block_keys(records: pd.DataFrame, predicates, out_dir: Path, *, offset: int = 0,
                     progress: bool = True) -> list[Path]:
    """Block keys for all ``records`` in chunks -> Parquet files; rid = position + offset."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    with _bar(len(records), "block keys", progress) as bar:
        for start in range(0, len(records), KEY_CHUNK):
            chunk = records.iloc[start:start + KEY_CHUNK]
            keys = block_keys(chunk, predicates, offset=offset + start)
            keys["sk"] = sort_keys(chunk).to_numpy()[keys["rid"].to_numpy() - offset - start]
            path = out_dir / f"keys-{offset + start:09d}.parquet"
            pq.write_table(pa.Table.from_pandas(keys, preserve_index=False), path)
            paths.append(path)
            bar.update(len(chunk))
    return paths


def candidate_pairs(left_keys: Path, right_keys: Path | None, out: Path, *, max_block: int = MAX_BLOCK,
                    window: int | None = None, threads: int | None = None) -> dict[str, int]:
    """Distinct candidate pairs by a DuckDB join on block keys; returns counts (pairs, windowed or skipped blocks)."""
    window = WINDOW if window is None else window
    con = duckdb.connect()
    con.execute(f"SET threads TO {threads or os.cpu_count() or 1}")
    con.execute("SET preserve_insertion_order = false")
    # Paths reach DuckDB as Python values, never pasted into SQL (a quote in a path broke it).
    con.read_parquet(f"{left_keys.as_posix()}/*.parquet").create_view("left_keys")
    left = right = "left_keys"
    if right_keys is not None:
        con.read_parquet(f"{right_keys.as_posix()}/*.parquet").create_view("right_keys")
        right = "right_keys"
    if right_keys is None:
        con.execute(f"""
            CREATE TEMP TABLE sizes AS SELECT pred, key, count(*) AS n FROM {left} GROUP BY pred, key""")
        # Blocks up to max_block: every pair. Larger ones (a common surname, a
        # company with a thousand records) are not dropped, which would split
        # every large true cluster: each record is paired with its `window`
        # neighbours in the block sorted by the record's leading fields, which
        # keeps a large cluster connected at a cost linear in the block size.
        con.sql(f"""
              WITH k AS (SELECT l.rid, l.pred, l.key, l.sk, s.n FROM {left} l
                         JOIN sizes s ON s.pred = l.pred AND s.key = l.key WHERE s.n > 1),
              small AS (SELECT a.rid AS l, b.rid AS r FROM k a JOIN k b
                        ON a.pred = b.pred AND a.key = b.key AND a.rid < b.rid
                        WHERE a.n <= {max_block} AND b.n <= {max_block}),
              big AS (SELECT rid, pred, key,
                             row_number() OVER (PARTITION BY pred, key ORDER BY sk, rid) AS rn
                      FROM k WHERE n > {max_block}),
              win AS (SELECT least(a.rid, b.rid) AS l, greatest(a.rid, b.rid) AS r FROM big a JOIN big b
                      ON a.pred = b.pred AND a.key = b.key AND b.rn > a.rn AND b.rn <= a.rn + {window}
                      WHERE a.rid <> b.rid)
              SELECT DISTINCT l, r FROM (SELECT * FROM small UNION ALL SELECT * FROM win)
            """).write_parquet(str(out))
        skipped = con.execute(f"SELECT count(*), coalesce(sum(n), 0) FROM sizes WHERE n > {max_block}").fetchone()
        n_pairs = con.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone()[0]
        con.close()
        return {"pairs": int(n_pairs), "windowed_blocks": int(skipped[0]), "windowed_block_records": int(skipped[1])}
    else:
        con.execute(f"""
            CREATE TEMP TABLE sizes AS
            SELECT coalesce(a.pred, b.pred) AS pred, coalesce(a.key, b.key) AS key,
                   coalesce(a.n, 0) AS nl, coalesce(b.n, 0) AS nr
            FROM (SELECT pred, key, count(*) n FROM {left} GROUP BY ALL) a
            FULL JOIN (SELECT pred, key, count(*) n FROM {right} GROUP BY ALL) b
              ON a.pred = b.pred AND a.key = b.key""")
        con.sql(f"""
              WITH ok AS (SELECT pred, key FROM sizes WHERE nl > 0 AND nr > 0 AND nl * nr <= {max_block} * 4)
              SELECT DISTINCT a.rid AS l, b.rid AS r FROM {left} a
                JOIN ok USING (pred, key) JOIN {right} b USING (pred, key)
            """).write_parquet(str(out))
        skipped = con.execute(f"""SELECT count(*), coalesce(sum(nl + nr), 0) FROM sizes
                                  WHERE nl > 0 AND nr > 0 AND nl * nr > {max_block} * 4""").fetchone()
    n_pairs = con.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone()[0]
    con.close()
    return {"pairs": int(n_pairs), "skipped_blocks": int(skipped[0]), "skipped_block_records": int(skipped[1])}


def delta_candidate_pairs(keys: Path, first_delta: int, out: Path, *, max_block: int = MAX_BLOCK,
                          window: int | None = None, threads: int | None = None) -> dict[str, int]:
    """The candidate pairs of a dedupe join over ``keys`` that involve a record at or after position
    ``first_delta`` (the delta of an incremental run): the very pairs a full join gives them, blocks
    sized and windowed over all records, while only the blocks a delta record is in are read twice."""
    window = WINDOW if window is None else window
    con = duckdb.connect()
    con.execute(f"SET threads TO {threads or os.cpu_count() or 1}")
    con.execute("SET preserve_insertion_order = false")
    con.read_parquet(f"{keys.as_posix()}/*.parquet").create_view("all_keys")
    con.execute(f"""
        CREATE TEMP TABLE touched AS SELECT DISTINCT pred, key FROM all_keys WHERE rid >= {int(first_delta)}""")
    # the sort keys (long text) are read only for the records of blocks too large to pair whole: most deltas
    # touch none, and reading them for every member of every touched block was a third of the join
    con.execute("""
        CREATE TEMP TABLE k AS SELECT a.rid, a.pred, a.key, count(*) OVER (PARTITION BY a.pred, a.key) AS n
        FROM all_keys a JOIN touched t ON a.pred = t.pred AND a.key = t.key""")
    con.execute(f"CREATE TEMP TABLE big_blocks AS SELECT DISTINCT pred, key FROM k WHERE n > {max_block}")
    big_from = "all_keys" if con.execute("SELECT count(*) FROM big_blocks").fetchone()[0] else \
        "(SELECT * FROM all_keys LIMIT 0)"
    con.execute(f"""CREATE TEMP TABLE big_k AS SELECT a.rid, a.pred, a.key, a.sk FROM {big_from} a
                    JOIN big_blocks b ON a.pred = b.pred AND a.key = b.key""")
    con.sql(f"""
          WITH small AS (SELECT a.rid AS l, b.rid AS r FROM k a JOIN k b
                         ON a.pred = b.pred AND a.key = b.key AND a.rid < b.rid
                         WHERE a.n <= {max_block} AND (a.rid >= {int(first_delta)} OR b.rid >= {int(first_delta)})),
          big AS (SELECT rid, pred, key, row_number() OVER (PARTITION BY pred, key ORDER BY sk, rid) AS rn
                  FROM big_k),
          win AS (SELECT least(a.rid, b.rid) AS l, greatest(a.rid, b.rid) AS r FROM big a JOIN big b
                  ON a.pred = b.pred AND a.key = b.key AND b.rn > a.rn AND b.rn <= a.rn + {window}
                  WHERE a.rid <> b.rid AND (a.rid >= {int(first_delta)} OR b.rid >= {int(first_delta)}))
          SELECT DISTINCT l, r FROM (SELECT * FROM small UNION ALL SELECT * FROM win)
        """).write_parquet(str(out))
    blocks = con.execute(f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT DISTINCT pred, key, n FROM k) "
                         f"WHERE n > {max_block}").fetchone()
    n_pairs = con.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone()[0]
    con.close()
    return {"pairs": int(n_pairs), "windowed_blocks": int(blocks[0]), "windowed_block_records": int(blocks[1])}


# -- scoring on all cores ---------------------------------------------------------
_WORKER: dict = {}


def _init_worker(left: list[np.ndarray], right: list[np.ndarray], featurize: Callable, predict: Callable,
                 worker: bool = False) -> None:
    _WORKER.update(left=left, right=right, featurize=featurize, predict=predict)
    if worker:
        from workbench.matching import vectorized

        vectorized.THREADS = 1  # the process pool is the parallelism


def _score_chunk(args: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    li, ri = args
    left, right = _WORKER["left"], _WORKER["right"]
    X = _WORKER["featurize"]([col[li] for col in left], [col[ri] for col in right])
    return _WORKER["predict"](X).astype("f4")


@contextlib.contextmanager
def _main_module_hidden():
    """Start worker processes without re-running the caller's script in them.

    multiprocessing's forkserver and spawn re-import ``__main__`` in every child
    (and in the fork server) so that functions defined there can be unpickled; a
    plain script without an ``if __name__ == "__main__":`` guard then runs again
    in each child and crashes trying to start a pool of its own. Scoring only
    sends functions of this package, so the children never need ``__main__``:
    hide its path and spec while the pool starts (the children are started in
    ``Pool()``, the fork server on the first of them).
    """
    main = sys.modules.get("__main__")
    saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if main is not None and name in main.__dict__}
    try:
        for name in saved:
            if name == "__spec__":
                main.__spec__ = None
            else:
                del main.__dict__[name]
        yield
    finally:
        for name, value in saved.items():
            setattr(main, name, value)


def score_pairs(pairs_path: Path, left: list[np.ndarray], right: list[np.ndarray], featurize: Callable,
                predict: Callable,
                out: Path, *, min_score: float, right_offset: int = 0, workers: int | None = None,
                progress: bool = True) -> dict[str, int]:
    """Score candidate pairs in chunks, keep those scoring at least ``min_score`` -> Parquet (l, r, score).

    ``left``/``right`` are one object array per field (``to_columns``);
    ``featurize`` takes the two lists of per-field arrays of a chunk.
    """
    pf = pq.ParquetFile(pairs_path)
    total = pf.metadata.num_rows
    workers = workers or os.cpu_count() or 1
    writer = None
    kept = 0

    def chunks():
        # A ParquetFile of its own per pass: the pool and the writer loop iterate at
        # once, and two iterators over one file object raced in pyarrow's read cache.
        for batch in pq.ParquetFile(pairs_path).iter_batches(batch_size=CHUNK):
            li = batch.column("l").to_numpy()
            ri = batch.column("r").to_numpy() - right_offset
            yield li, ri

    _init_worker(left, right, featurize, predict)
    pool = None
    if workers > 1 and total > CHUNK:
        # forkserver, not fork: children forked from a process that already ran
        # rapidfuzz/BLAS threads deadlocked or crashed at exit (glibc tcache).
        ctx = mp.get_context("forkserver")
        with _main_module_hidden():
            pool = ctx.Pool(workers, initializer=_init_worker, initargs=(left, right, featurize, predict, True))
        results = pool.imap(_score_chunk, chunks())
    else:
        results = map(_score_chunk, chunks())
    try:
        with _bar(total, "score pairs", progress) as bar:
            for (li, ri), scores in zip(chunks(), results, strict=True):
                keep = scores >= min_score
                table = pa.table({"l": li[keep], "r": ri[keep] + right_offset, "score": scores[keep]})
                if writer is None:
                    writer = pq.ParquetWriter(out, table.schema)
                writer.write_table(table)
                kept += int(keep.sum())
                bar.update(len(li))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        if writer is None:
            pq.write_table(pa.table({"l": pa.array([], pa.int64()), "r": pa.array([], pa.int64()),
                                     "score": pa.array([], pa.float32())}), out)
        else:
            writer.close()
    return {"scored": int(total), "kept": kept}


def score_positions(li: np.ndarray, ri: np.ndarray, left: list[np.ndarray], right: list[np.ndarray],
                    featurize: Callable, predict: Callable) -> np.ndarray:
    """Match probabilities of pairs given as positions into per-field arrays, in chunks (bounded memory)."""
    out = np.empty(len(li), dtype="f8")
    for i in range(0, len(li), CHUNK):
        sl = slice(i, i + CHUNK)
        out[sl] = predict(featurize([c[li[sl]] for c in left], [c[ri[sl]] for c in right]))
    return out


# -- clustering -------------------------------------------------------------------
#: Largest component whose unscored inner pairs are scored before clustering (a pair
#: left unscored counts as certainly distinct there), and the most pairs added in all.
COMPLETE_MAX = 2_000
COMPLETE_BUDGET = 5_000_000


def complete_components(edges: pd.DataFrame, threshold: float, score: Callable[[np.ndarray, np.ndarray], np.ndarray],
                        *, max_size: int = COMPLETE_MAX) -> pd.DataFrame:
    """Score the pairs inside each would-be cluster that blocking never put together.

    Hierarchical clustering treats an unscored pair as certainly distinct, so
    a record joined to a cluster through one member but never compared with
    the others (two records that share nothing blocking keys on) was split
    off again. Components are small, so scoring every pair inside them is
    cheap. A component above ``max_size`` (namesakes chained together at a
    low threshold) is first cut at its weakest links into parts of at most
    ``max_size`` records (:func:`split_oversized`'s rule), and the parts are
    completed: left sparse, the true clusters inside it (an inventor's
    thousand patents) fell apart, and at a threshold of 0.3 the PatentsView
    inventors lost a third of their recall.
    """
    strong = edges[edges["score"] >= threshold]
    if strong.empty:
        return edges
    nodes, inv = np.unique(np.concatenate([strong["l"].to_numpy(), strong["r"].to_numpy()]), return_inverse=True)
    m = len(strong)
    graph = coo_matrix((np.ones(m), (inv[:m], inv[m:])), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    labels = _cut_large(labels, inv[:m], inv[m:], strong["score"].to_numpy(), threshold, max_size)
    sizes = np.bincount(labels)
    # Smallest components first, until the pair budget is spent: a component of a
    # thousand records (one inventor, one company's sites) costs half a million pairs.
    eligible = np.flatnonzero((sizes > 2) & (sizes <= max_size))
    eligible = eligible[np.argsort(sizes[eligible], kind="stable")]
    within = np.cumsum(sizes[eligible].astype("f8") * (sizes[eligible] - 1) / 2) <= COMPLETE_BUDGET
    keep = np.zeros(len(sizes), dtype=bool)
    keep[eligible[within]] = True
    small = keep[labels]
    members = pd.DataFrame({"node": nodes[small], "comp": labels[small]})
    if members.empty:
        return edges
    pairs = members.merge(members, on="comp")
    pairs = pairs[pairs["node_x"] < pairs["node_y"]]
    seen = pd.MultiIndex.from_arrays([edges["l"], edges["r"]])
    todo = pairs[~pd.MultiIndex.from_arrays([pairs["node_x"], pairs["node_y"]]).isin(seen)]
    if todo.empty:
        return edges
    li, ri = todo["node_x"].to_numpy(), todo["node_y"].to_numpy()
    extra = pd.DataFrame({"l": li, "r": ri, "score": np.asarray(score(li, ri), dtype=edges["score"].dtype)})
    return pd.concat([edges, extra], ignore_index=True)


def _cut_large(labels: np.ndarray, li: np.ndarray, ri: np.ndarray, scores: np.ndarray, threshold: float,
               max_size: int) -> np.ndarray:
    """Component labels with each component above ``max_size`` relabeled as its parts (records cut loose alone)."""
    sizes = np.bincount(labels)
    big = np.flatnonzero(sizes > max_size)
    if not len(big):
        return labels
    labels = labels.copy()
    following = int(labels.max()) + 1
    dtype = np.dtype([("pairs", "int64", 2), ("score", "f4")])
    for c in big:
        inside = labels[li] == c
        arr = np.empty(int(inside.sum()), dtype=dtype)
        arr["pairs"] = np.column_stack([li[inside], ri[inside]])
        arr["score"] = scores[inside]
        members = np.flatnonzero(labels == c)
        labels[members] = np.arange(following, following + len(members))  # alone unless in a part
        following += len(members)
        for part in split_oversized(arr, threshold, max_size)[1]:
            labels[np.unique(part["pairs"])] = following
            following += 1
    return np.unique(labels, return_inverse=True)[1]


def cluster_edges(edges: pd.DataFrame, n_records: int, threshold: float, *,
                  max_component: int = MAX_COMPONENT, progress: bool = True) -> tuple[np.ndarray, np.ndarray, dict]:
    """Cluster ids (smallest member position) and confidences for ``n_records`` from scored edges.

    Connected components over edges at or above the threshold are clustered
    one by one with dedupe's hierarchical clustering; a component larger than
    ``max_component`` is cut at its weakest links (:func:`split_oversized`) and reported.
    """
    cluster = np.arange(n_records, dtype="int64")
    confidence = np.ones(n_records, dtype="f4")
    strong = edges[edges["score"] >= threshold]
    report = {"components": 0, "largest_component": 1, "oversized_components": 0}
    if strong.empty:
        return cluster, confidence, report
    nodes = np.unique(np.concatenate([strong["l"].to_numpy(), strong["r"].to_numpy()]))
    li, ri = np.searchsorted(nodes, strong["l"].to_numpy()), np.searchsorted(nodes, strong["r"].to_numpy())
    graph = coo_matrix((np.ones(len(li)), (li, ri)), shape=(len(nodes), len(nodes)))
    n_comp, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    report.update(components=int(n_comp), largest_component=int(sizes.max()),
                  oversized_components=int((sizes > max_component).sum()))
    if report["oversized_components"]:
        logging.getLogger(__name__).warning("%d component(s) above %d records are cut at their weakest links",
                                            report["oversized_components"], max_component)
    # Every scored pair inside a component goes to the hierarchical clustering, weak
    # ones included: an absent pair counts as certainly distinct there.
    el, er = edges["l"].to_numpy(), edges["r"].to_numpy()
    il = np.minimum(np.searchsorted(nodes, el), len(nodes) - 1)
    ir = np.minimum(np.searchsorted(nodes, er), len(nodes) - 1)
    inner = (nodes[il] == el) & (nodes[ir] == er) & (labels[il] == labels[ir])
    edge_comp = labels[il[inner]]
    order = np.argsort(edge_comp, kind="stable")
    bounds = np.flatnonzero(np.diff(edge_comp[order])) + 1
    groups = np.split(order, bounds)
    ls, rs, ss = el[inner], er[inner], edges["score"].to_numpy()[inner]
    with _bar(len(groups), "cluster", progress) as bar:
        for g in groups:
            found, cut = cluster_group(ls[g], rs[g], ss[g], int(sizes[edge_comp[g[0]]]), threshold, max_component)
            if cut is not None:
                report["oversized_cut_at"] = max(report.get("oversized_cut_at", 0.0), round(cut, 4))
            for members, scores in found:
                ids = np.asarray(members, dtype="int64")
                cluster[ids] = ids.min()
                confidence[ids] = np.asarray(scores, dtype="f4")
            bar.update(1)
    return cluster, confidence, report


def cluster_group(left: np.ndarray, right: np.ndarray, score: np.ndarray, size: int, threshold: float,
                  max_component: int = MAX_COMPONENT) -> tuple[list, float | None]:
    """The clusters of 2+ records in one connected component: ([(members, confidences)], the cut or None).

    ``left``, ``right``, ``score``: every scored pair inside the component (weak
    ones too), distinct pairs with ``left < right``; ``size``: its records. A component
    above ``max_component`` is cut first (:func:`split_oversized`) and the cut
    returned. The one per-component step of both engines (this module's
    :func:`cluster_edges`, and ``workbench.spark.clustering`` in applyInPandas).
    """
    if len(left) == 1:  # a lone pair: a cluster of two (what dedupe yields), without its per-call cost
        return ([((left[0], right[0]), (score[0], score[0]))] if score[0] > threshold else []), None
    arr = np.empty(len(left), dtype=[("pairs", "int64", 2), ("score", "f4")])
    arr["pairs"] = np.column_stack([left, right])
    arr["score"] = score
    if size > max_component:
        cut, parts = split_oversized(arr, threshold, max_component)
        return [c for part in parts for c in cluster_component(part, threshold)], cut
    return list(cluster_component(arr, threshold)), None


def cluster_component(edges: np.ndarray, threshold: float):
    """dedupe's hierarchical clustering of one connected component: (members, confidences) per cluster.

    The body of ``dedupe.clustering.cluster`` for a component already found:
    dedupe's own function first finds the components again, in a temporary
    directory and memory map of its own per call, which at a million records
    (a hundred thousand small components) cost more than the clustering.
    Equal to dedupe's output, tested: a lone pair, as in dedupe, only when it scores above the threshold.
    """
    if len(edges) == 1:
        if edges["score"][0] > threshold:
            yield tuple(edges["pairs"][0]), (edges["score"][0],) * 2
        return
    i_to_id, condensed, n = dd_clustering.condensedDistance(edges)
    linkage = hierarchy.linkage(condensed, method="centroid")
    partition = flat_clusters(linkage, 1 - threshold)
    squared = condensed ** 2
    order = np.argsort(partition, kind="stable")
    for members in np.split(order, np.flatnonzero(np.diff(partition[order])) + 1):
        if len(members) > 1:
            yield tuple(i_to_id[i] for i in members), dd_clustering.confidences(members, squared, n)


def split_oversized(edges: np.ndarray, threshold: float, max_component: int) -> tuple[float, list[np.ndarray]]:
    """Cut a component too large to cluster whole: (the score cut at, the parts' inner edges).

    The cut is the lowest score above ``threshold`` at which, keeping only
    pairs scoring at least that, no part has more than ``max_component``
    records: only the weakest links go, and every part then keeps all its inner
    pairs, weak ones included, for the hierarchical clustering at
    ``threshold``. (dedupe instead raises the threshold a logit at a time and
    clusters what survives, which at a few records over the bound tore large
    true clusters apart.)
    """
    pairs, scores = edges["pairs"], edges["score"]
    nodes, inverse = np.unique(pairs, return_inverse=True)
    inverse = inverse.reshape(-1, 2)
    n = len(nodes)

    def labels_at(cut: float) -> np.ndarray:
        keep = scores >= cut
        graph = coo_matrix((np.ones(int(keep.sum())), (inverse[keep, 0], inverse[keep, 1])), shape=(n, n))
        return connected_components(graph, directed=False)[1]

    candidates = np.unique(scores[scores >= threshold])
    lo, hi = 0, len(candidates)  # the answer is candidates[lo] or, if none suffices, above them all
    while lo < hi:
        mid = (lo + hi) // 2
        if np.bincount(labels_at(candidates[mid])).max() <= max_component:
            hi = mid
        else:
            lo = mid + 1
    cut = float(candidates[lo]) if lo < len(candidates) else float(np.nextafter(max(scores.max(), threshold), 2))
    labels = labels_at(cut)
    inner = labels[inverse[:, 0]] == labels[inverse[:, 1]]
    part_of = labels[inverse[inner, 0]]
    order = np.argsort(part_of, kind="stable")
    chosen = edges[inner][order]
    bounds = np.flatnonzero(np.diff(part_of[order])) + 1
    return cut, [part for part in np.split(chosen, bounds) if len(part)]


def flat_clusters(linkage: np.ndarray, cutoff: float) -> np.ndarray:
    """``scipy.cluster.hierarchy.fcluster(linkage, cutoff, criterion="distance")`` as a partition.

    Records join where a merge and every merge below it is at most ``cutoff``
    apart. Labels are each record's representative, not fcluster's numbering.
    fcluster validates its input on every call, which costs more than the
    clustering for the small components that make up most of a large run.
    """
    n = len(linkage) + 1
    parent = list(range(n))
    rep = list(range(n)) + [0] * (n - 1)   # a leaf of each node
    high = [0.0] * n + [0.0] * (n - 1)     # largest merge distance in each node's subtree
    for i, (a, b, dist, _) in enumerate(linkage.tolist()):
        a, b = int(a), int(b)
        high[n + i] = top = max(dist, high[a], high[b])
        rep[n + i] = rep[a]
        if top <= cutoff:
            parent[rep[b]] = rep[a]
    labels = np.empty(n, dtype="int64")
    for i in range(n):
        j = i
        while parent[j] != j:
            j = parent[j]
        labels[i] = j
    return labels


def to_columns(prepared: pd.DataFrame, names: Sequence[str]) -> list[np.ndarray]:
    """Prepared frame -> one object array per field, in position order, None for missing."""
    out = []
    for n in names:
        col = prepared[n].to_numpy(dtype=object)
        col[pd.isna(col)] = None
        out.append(col)
    return out
