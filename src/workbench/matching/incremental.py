"""Incremental clustering: only new, changed and deleted records are worked, with the pinned model.

    ws.load("new_customers.csv", name="customers", mode="append")
    clustering = dd.update()          # or: workbench dedupe --update

Against the task's last clustering (its model, block keys, scored pairs,
clusters and record hashes, all in its run folder):

1. records are new, changed (their content hash differs) or deleted: hashes
   computed and joined in DuckDB over the stored files (``records.register_hashes``),
   so the master is never loaded into Python; only the delta and the records
   paired with it are read from the data file;
2. only new and changed records get block keys; the stored keys of the
   others are carried over, so candidate pairs are delta x delta plus delta x
   stored, the very pairs a full run gives the delta (``scale.delta_candidate_pairs``);
3. those pairs are scored with the pinned model (the last run's model.json);
4. only the clusters the delta touches are clustered again: the components
   holding a delta record, and the former clusters of changed and deleted
   records; every other cluster is kept as it was;
5. review decisions are applied and ids inherited as in a full run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from workbench import artifacts, dataset_rows
from workbench.errors import WorkbenchError
from workbench.matching import scale
from workbench.matching.clustering import (
    Clustering,
    finish_run,
    read_cluster_codes,
    store_clusters,
    write_cluster_codes,
    write_edge_positions,
)
from workbench.matching.labels import LabelStore
from workbench.matching.pipeline import ScoredRun, _apply_labels, prepare_all, run_folder
from workbench.matching.prepared_store import PreparedStore
from workbench.matching.records import (
    RecordReader,
    read_record_files,
    register_hashes,
    repeated_key,
    write_record_files,
)
from workbench.matching.trained import MatchModel
from workbench.matching.update_store import LastRun, closure, store_update
from workbench.review import ReviewDecisions, sizes_of_codes
from workbench.workspace import Dataset, Workspace, slug

KEYS = "keys_left"
#: Records' content hashes as ``artifacts.RECORDS`` holds them (with each one's ``row``).
HASHES = pa.schema([("key", pa.string()), ("hash", pa.uint64())])


def update_clustering(ws: Workspace, dataset: Dataset, task: str, *, progress: Any = True,
                      workers: int | None = None) -> Clustering:
    """Cluster ``dataset`` again from the task's last clustering, working only what changed."""
    last = next(iter(ws.finished_runs("dedupe", task=task)), None)
    if last is None:
        raise WorkbenchError(f"{task}: no clustering to update yet: cluster() once first")
    last_id, last_result = last
    before = ws.path / last_result["folder"]
    for needed in (artifacts.MODEL, artifacts.RECORDS, artifacts.EDGES, artifacts.CLUSTERS_MODEL, KEYS):
        if not (before / needed).exists():
            raise WorkbenchError(f"{task}: the last clustering (run {last_id}) has no {needed}; cluster() once "
                                 "to start from a run that keeps what an update needs")
    model = MatchModel.load(before / artifacts.MODEL)
    log = scale.StageLog()

    with ws.run("dedupe", dataset, task=task, threshold=model.threshold, update_of=last_id) as run:
        folder = run_folder(ws.path / "matching" / slug(task), run.id)
        t = time.perf_counter()
        model_before = pq.read_table(before / artifacts.CLUSTERS_MODEL, columns=["key", "cluster_id", "confidence"])
        keys_before = model_before["key"].combine_chunks().cast(pa.string())
        diff = _Diff(dataset, before, keys_before)
        log.figures.update(new_records=diff.new, changed_records=diff.changed, deleted_records=diff.deleted)

        # the run's record positions: the last run's records still there unchanged, in their order, then the delta
        kept = np.flatnonzero(diff.row_of_old >= 0)
        first_delta = len(kept)
        order = pa.concat_arrays([keys_before.take(kept), pa.array(diff.delta_keys, type=pa.string())])
        rows = np.concatenate([diff.row_of_old[kept], diff.delta_rows])  # each position's row in the data
        artifacts.write_table(diff.records(rows), folder / artifacts.RECORDS)  # what the next update compares with
        write_record_files(dataset, folder)
        log.time("compare", t)
        new_of_old = np.full(model_before.num_rows, -1, dtype="int64")
        new_of_old[kept] = np.arange(first_delta)
        reader = RecordReader(dataset, [f.column for f in model.fields if f.column])  # what the fields read

        t = time.perf_counter()
        names = model.featurizer.names
        delta_prep = prepare_all(reader.rows(diff.delta_rows), model.fields, progress)
        kept_prep = PreparedStore.open(before, names)  # the last run's records, standardized then
        if kept_prep is not None and len(kept_prep) != model_before.num_rows:
            kept_prep = None  # not row for row its clusters (never expected): standardized again when paired
        log.time("standardize", t)
        t = time.perf_counter()
        _carry_keys(before / KEYS, new_of_old, folder / KEYS)
        scale.write_block_keys(delta_prep[names], model.predicates, folder / KEYS, offset=first_delta,
                               progress=progress)
        log.time("block keys", t)
        t = time.perf_counter()
        counts = scale.delta_candidate_pairs(folder / KEYS, first_delta, folder / artifacts.PAIRS)
        log.figures.update(counts)
        log.time("candidate pairs", t)

        t = time.perf_counter()
        pairs = pd.read_parquet(folder / artifacts.PAIRS)
        li, ri = pairs["l"].to_numpy(), pairs["r"].to_numpy()
        prepared = _Prepared(reader, rows, model, delta_prep, first_delta,
                             None if kept_prep is None else (lambda positions: kept_prep.rows(kept[positions])))
        scores = prepared.score(li, ri) if len(li) else np.empty(0)
        keep = scores >= min(0.5, model.threshold) / 2
        new_edges = pd.DataFrame({"l": li[keep], "r": ri[keep], "score": scores[keep].astype("f4")})
        log.figures.update(scored=len(li), kept=int(keep.sum()))
        log.time("score", t)

        t = time.perf_counter()
        edges = pd.concat([_edges_by_position(before, new_of_old), new_edges], ignore_index=True)
        before_codes = read_cluster_codes(before, model_before["cluster_id"])
        gone = diff.row_of_old < 0
        affected = _affected(edges, model.threshold, len(order), first_delta, before_codes, gone, kept)
        log.figures["reclustered_records"] = int(affected.sum())
        labels = LabelStore(ws, task)
        report, model_ids, model_codes, confidence, edges = _recluster(
            edges, affected, model, prepared, order, model_before, before_codes, kept, labels.active(), progress)
        log.time("cluster", t)
        t = time.perf_counter()
        with artifacts.deferred_writes():  # the model clusters written while the stored ones are worked out
            _write_model_clusters(folder, order, model_ids, model_codes, confidence, edges)
            if kept_prep is not None:
                kept_prep.extend(folder, kept, delta_prep)
            stored = _store(ws, task, run.id, folder, LastRun(before, keys_before), order, model_ids, model_codes,
                            confidence, before_codes, kept, affected, np.flatnonzero(gone), edges, report, log,
                            model)
        log.time("store", t)
        return finish_run(ws, dataset, model, run, task, folder, log, len(order), stored,
                          {"update_of": last_id, "labels": labels.counts()})


def _store(ws: Workspace, task: str, run_id: int, folder: Path, last: LastRun, order: pa.Array, model_ids: pa.Array,
           model_codes: np.ndarray, confidence: np.ndarray, before_codes: np.ndarray, kept: np.ndarray,
           affected: np.ndarray, gone: np.ndarray, edges: pd.DataFrame, report: dict[str, Any], log: scale.StageLog,
           model: MatchModel) -> pd.DataFrame | None:
    """Store the run's clusters with review decisions and ids: over the region the update touched
    (``update_store``), or over every record when the last run predates persistent ids (then returned)."""
    if not last.usable:
        clusters = pd.DataFrame({"key": order.to_numpy(zero_copy_only=False),
                                 "cluster_id": model_ids.to_numpy(zero_copy_only=False), "confidence": confidence})
        keys = clusters["key"].to_numpy()
        return store_clusters(ws, task, run_id, ScoredRun(folder, keys, keys, edges, None, log, model.threshold, model),
                              clusters, report)
    figures, ids = store_update(ws, task, run_id, folder, last, order, model_ids, model_codes, confidence,
                                before_codes, kept, affected, gone, ReviewDecisions(ws, task).active())
    log.figures.update({f"ids_{event}": n for event, n in ids.items()})
    log.figures.update(report)
    log.figures.update(figures)
    return None


def _write_model_clusters(folder: Path, order: pa.Array, model_ids: pa.Array, model_codes: np.ndarray,
                          confidence: np.ndarray, edges: pd.DataFrame) -> None:
    """The run's model clustering (with its sizes) and its scored links, by key, as a full run writes them."""
    size = sizes_of_codes(model_codes)
    artifacts.write_table(pa.table({"key": order, "cluster_id": model_ids, "confidence": confidence,
                                    "cluster_size": size}), folder / artifacts.CLUSTERS_MODEL)
    artifacts.write_table(pa.table({"left_key": order.take(edges["l"].to_numpy()),
                                    "right_key": order.take(edges["r"].to_numpy()),
                                    "score": pa.array(edges["score"].to_numpy(), type=pa.float32())}),
                          folder / artifacts.EDGES)
    write_edge_positions(edges, folder)
    write_cluster_codes(model_codes, folder)


class _Diff:
    """What changed since the last run, from content hashes compared in DuckDB (no record reaches Python):

    ``delta_keys``, ``delta_rows``: new and changed records, in data file order, and their rows there;
    ``row_of_old``: per record of the last run (its order), its row in the data file, -1 when deleted or changed;
    ``new``, ``changed``, ``deleted``: counts; ``records(rows)``: the key, hash and row of records by row.

    The last run's hashes (``artifacts.RECORDS``) are read by position when they are its records in order
    (runs write them so). Records in files the last run read too (``artifacts.RECORD_FILES``: the same
    ids, ``dataset_rows``), as an append leaves the master, are the same records: they keep their hashes,
    and only the other files are hashed and joined (``_by_files``). Else every record is hashed and one
    join says everything; and when the hashes are not the last run's records in order, they are matched
    to its records by key (``keys``: its records' keys, in order)."""

    def __init__(self, ds: Dataset, before: Path, keys: pa.Array):
        self._hashes: pa.Table | None = None
        self._src: np.ndarray | None = None
        was = pq.read_table(before / artifacts.RECORDS)
        in_order = was.num_rows == len(keys) and pc.all(pc.equal(was["key"].cast(pa.string()), keys)).as_py()
        shared = _shared_rows(ds, before, was) if in_order else None
        if shared is not None:
            delta_rows, known, old, old_row = self._by_files(ds, was, *shared)
        else:
            delta_rows, known, old, old_row = self._by_hashing(ds, keys, was, in_order)
        self.delta_rows = delta_rows
        self.delta_keys = self.records(delta_rows)["key"].to_numpy(zero_copy_only=False)
        repeated = pd.Series(self.delta_keys).duplicated()
        if repeated.any():
            raise repeated_key(ds, self.delta_keys[int(np.flatnonzero(repeated)[0])])
        self.row_of_old = np.full(len(keys), -1, dtype="int64")
        self.row_of_old[old] = old_row
        self.new, self.changed = int((~known).sum()), int(known.sum())
        self.deleted = len(keys) - int((self.row_of_old >= 0).sum()) - self.changed

    def records(self, rows: np.ndarray) -> pa.Table:
        """``key``, ``hash`` and ``row`` of the records at data file ``rows``."""
        rows = np.asarray(rows, dtype="int64")
        at = rows if self._src is None else self._src[rows]
        return self._hashes.take(pa.array(at)).append_column("row", pa.array(rows, type=pa.int64()))

    def _by_hashing(self, ds: Dataset, keys: pa.Array, was: pa.Table, in_order: bool):
        con = duckdb.connect()
        try:
            register_hashes(con, ds, "now_view")
            con.execute("CREATE TEMP TABLE now AS SELECT * FROM now_view")  # hashed once, read twice or more
            hashes = con.sql("SELECT key, hash FROM now ORDER BY row").arrow()
            self._hashes = (hashes.read_all() if isinstance(hashes, pa.RecordBatchReader) else hashes).cast(HASHES)
            if in_order:
                con.register("was", was.select(["key", "hash"]).append_column(
                    "pos", pa.array(np.arange(len(keys), dtype="int64"))))
                both = con.sql("""SELECT coalesce(w.pos, -1) AS pos, coalesce(n.row, -1) AS row,
                                         (w.pos IS NULL OR w.hash <> n.hash) AS worked
                                  FROM now n FULL OUTER JOIN was w ON n.key = w.key""").fetchnumpy()
                pos, row = np.asarray(both["pos"], dtype="int64"), np.asarray(both["row"], dtype="int64")
                # a key twice in the data joins its last run's record twice, or (new) is twice in the delta
                twice = np.flatnonzero(np.bincount(pos[pos >= 0], minlength=1) > 1)
                if len(twice):
                    raise repeated_key(ds, keys[int(twice[0])].as_py())
                worked = (row >= 0) & np.asarray(both["worked"], dtype=bool)
                delta_rows = np.sort(row[worked])
                known = np.isin(delta_rows, row[worked & (pos >= 0)])
                return delta_rows, known, pos[pos >= 0], np.where(worked, -1, row)[pos >= 0]
            dup = con.execute("SELECT key FROM now GROUP BY key HAVING count(*) > 1 LIMIT 1").fetchone()
            if dup:
                raise repeated_key(ds, dup[0])
            con.register("was", was)
            con.register("model_keys", pa.table({"key": keys, "pos": np.arange(len(keys), dtype="int64")}))
            delta = con.sql("""SELECT n.row, w.key IS NOT NULL AS known FROM now n
                               LEFT JOIN was w ON n.key = w.key
                               WHERE w.key IS NULL OR w.hash <> n.hash ORDER BY n.row""").fetchnumpy()
            delta_rows = np.asarray(delta["row"], dtype="int64")
            known = np.asarray(delta["known"], dtype=bool)
            found = con.sql("""SELECT m.pos, coalesce(n.row, -1) AS row
                               FROM model_keys m LEFT JOIN now n ON m.key = n.key""").fetchnumpy()
            old, old_row = np.asarray(found["pos"], dtype="int64"), np.asarray(found["row"], dtype="int64")
            old_row[np.isin(old_row, delta_rows[known])] = -1  # changed: worked as the delta
            return delta_rows, known, old, old_row
        finally:
            con.close()

    def _by_files(self, ds: Dataset, was: pa.Table, now_row: np.ndarray, skip: list[bool], n_rows: int):
        """``now_row``: each last-run record's row now, -1 unless in a file read then and now (``skip``: those
        files, not hashed again); the others' records hashed and joined with the last run's by key."""
        n_was = was.num_rows
        con = duckdb.connect()
        try:
            register_hashes(con, ds, "rest", skip=skip)
            rest = con.sql("SELECT key, hash, row FROM rest ORDER BY row").arrow()
            rest = rest.read_all() if isinstance(rest, pa.RecordBatchReader) else rest
            con.register("rest_t", rest)
            con.register("was", was.select(["key", "hash"]).append_column(
                "pos", pa.array(np.arange(n_was, dtype="int64"))))
            joined = con.sql("""SELECT r.row, coalesce(w.pos, -1) AS pos, (w.pos IS NULL OR w.hash <> r.hash) AS worked
                                FROM rest_t r LEFT JOIN was w ON r.key = w.key ORDER BY r.row""").fetchnumpy()
        finally:
            con.close()
        row, pos = np.asarray(joined["row"], dtype="int64"), np.asarray(joined["pos"], dtype="int64")
        worked = np.asarray(joined["worked"], dtype=bool)
        # a key twice: a record of the shared files again in another, or one record of the last run in two
        again = (pos >= 0) & (now_row[np.maximum(pos, 0)] >= 0)
        twice = np.flatnonzero(np.bincount(pos[pos >= 0], minlength=1) > 1)
        if again.any() or len(twice):
            raise repeated_key(ds, was["key"][int(pos[again][0] if again.any() else twice[0])].as_py())
        # every row's (key, hash): a shared one's the last run's record's, another's the rest's
        self._hashes = pa.concat_tables([was.select(["key", "hash"]).cast(HASHES),
                                         rest.select(["key", "hash"]).cast(HASHES)])
        self._src = np.full(n_rows, -1, dtype="int64")
        shared = np.flatnonzero(now_row >= 0)
        self._src[now_row[shared]] = shared
        self._src[np.asarray(rest["row"], dtype="int64")] = n_was + np.arange(rest.num_rows)
        delta_rows = row[worked]
        known = pos[worked] >= 0
        kept = ~worked  # in another file, not changed
        old = np.concatenate([shared, pos[kept]])
        return delta_rows, known, old, np.concatenate([now_row[shared], row[kept]])


def _shared_rows(ds: Dataset, before: Path, was: pa.Table) -> tuple[np.ndarray, list[bool], int] | None:
    """Per last-run record (``was``: its hashes, by position, with each record's ``row`` then), its row
    now when its file is one of the version's files now (the same id), else -1; which files of the
    version are so; and the version's rows. None when none is, or what the last run kept does not say."""
    then = read_record_files(before)
    if then is None or "row" not in was.column_names:
        return None
    now = dataset_rows.identities(ds.workspace.artifact_path(ds, artifacts.DATA))
    ids_then = [f for f, _ in then if f is not None]
    ids_now = [f for f, _ in now if f is not None]
    if len(set(ids_then)) != len(ids_then) or len(set(ids_now)) != len(ids_now):
        return None
    start_then = dict(zip([f for f, _ in then], np.cumsum([0] + [n for _, n in then])[:-1].tolist(), strict=True))
    rows_then = dict(then)
    n_then = sum(n for _, n in then)
    row_now = np.full(n_then, -1, dtype="int64")  # each row then: its row now, -1 when its file is not here
    skip, start = [], 0
    for f, n in now:
        same = f is not None and f in rows_then and rows_then[f] == n
        if same:
            row_now[start_then[f]:start_then[f] + n] = np.arange(start, start + n)
        skip.append(same)
        start += n
    if not any(skip):
        return None
    row = was["row"].to_numpy()
    if row.min(initial=0) < 0 or row.max(initial=-1) >= n_then:
        return None
    now_row = row_now[row]
    if int((now_row >= 0).sum()) != int((row_now >= 0).sum()):
        return None  # a row of a shared file without its record in the last run (never expected)
    return now_row, skip, start


class _Prepared:
    """Standardized records by run position, prepared on demand (the delta up front, others when paired):
    a kept record from ``kept`` (its prepared fields by position, as the last run kept them) when given,
    else read from the data file and standardized."""

    def __init__(self, reader: RecordReader, rows: np.ndarray, model: MatchModel, delta_prep: pd.DataFrame,
                 first_delta: int, kept: Callable[[np.ndarray], pd.DataFrame] | None = None):
        self.reader, self.file_rows, self.model, self.kept = reader, rows, model, kept
        self.names = model.featurizer.names
        self.row = np.full(len(rows), -1, dtype="int64")  # each position's row in ``frames``, -1 when not prepared
        self.frames: list[pd.DataFrame] = []
        self.size = 0
        self._add(np.arange(first_delta, len(rows)), delta_prep)

    def _add(self, positions: np.ndarray, prepared: pd.DataFrame) -> None:
        self.frames.append(prepared[self.names].reset_index(drop=True))
        self.row[positions] = np.arange(self.size, self.size + len(positions))
        self.size += len(positions)

    def columns(self, positions: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Object columns of the prepared records at ``positions``, and each position's row in them."""
        todo = np.unique(positions[self.row[positions] < 0])  # kept records only: the delta is prepared
        if len(todo) and self.kept is not None:
            self._add(todo, self.kept(todo))
        elif len(todo):
            self._add(todo, prepare_all(self.reader.rows(self.file_rows[todo]), self.model.fields, False))
        if len(self.frames) > 1:
            self.frames = [pd.concat(self.frames, ignore_index=True)]
        return scale.to_columns(self.frames[0], self.names), self.row[positions]

    def score(self, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
        cols, rows = self.columns(np.concatenate([li, ri]))
        return scale.score_positions(rows[:len(li)], rows[len(li):], cols, cols, self.model.featurizer.columns,
                                     self.model.predict)


def last_task(ws: Workspace, name: str) -> str:
    """The task of the newest clustering of any version of dataset ``name``."""
    if not (ws.datasets()["name"] == name).any():
        raise WorkbenchError(f"no dataset named {name!r} in this workspace")
    for _, result in ws.finished_runs("dedupe", name=name):
        return str(result["task"])
    raise WorkbenchError(f"dataset {name!r} has not been clustered yet: label and cluster it once first")


def _carry_keys(before: Path, new_of_old: np.ndarray, out: Path) -> None:
    """The last run's block keys of the records kept, renumbered to their positions in this run
    (``new_of_old``: each old position's new one, -1 for a record gone); linked as they are when none went."""
    out.mkdir(parents=True, exist_ok=True)
    if np.array_equal(new_of_old, np.arange(len(new_of_old))):
        for path in sorted(before.glob("*.parquet")):
            artifacts.link_or_copy(path, out / path.name)
        return
    position = pd.DataFrame({"old": np.flatnonzero(new_of_old >= 0).astype("int64"),
                             "new": new_of_old[new_of_old >= 0]})
    con = duckdb.connect()
    con.register("position", position)
    con.read_parquet(f"{before.as_posix()}/*.parquet").create_view("keys_before")
    con.sql("SELECT p.new AS rid, k.pred, k.key, k.sk FROM keys_before k JOIN position p ON k.rid = p.old") \
        .write_parquet(str(out / "keys-carried.parquet"))
    con.close()


def _edges_by_position(before: Path, new_of_old: np.ndarray) -> pd.DataFrame:
    """The last run's scored pairs between records still there unchanged, by this run's positions (read by
    the last run's positions, else its keys matched to them in DuckDB, in the file's order)."""
    if (before / artifacts.EDGE_POSITIONS).exists():
        found = pq.read_table(before / artifacts.EDGE_POSITIONS)
        found = {c: found[c].to_numpy() for c in ("l", "r", "score")}
    else:
        con = duckdb.connect()
        try:
            con.read_parquet((before / artifacts.EDGES).as_posix(), file_row_number=True).create_view("e")
            con.read_parquet((before / artifacts.CLUSTERS_MODEL).as_posix(), file_row_number=True).create_view("m")
            found = con.sql("""SELECT a.file_row_number AS l, b.file_row_number AS r, e.score FROM e
                               JOIN m a ON CAST(e.left_key AS VARCHAR) = CAST(a.key AS VARCHAR)
                               JOIN m b ON CAST(e.right_key AS VARCHAR) = CAST(b.key AS VARCHAR)
                               ORDER BY e.file_row_number""").fetchnumpy()
        finally:
            con.close()
    lpos = new_of_old[np.asarray(found["l"], dtype="int64")]
    rpos = new_of_old[np.asarray(found["r"], dtype="int64")]
    ok = (lpos >= 0) & (rpos >= 0)
    return pd.DataFrame({"l": np.minimum(lpos, rpos)[ok], "r": np.maximum(lpos, rpos)[ok],
                         "score": np.asarray(found["score"])[ok]})


def _affected(edges: pd.DataFrame, threshold: float, n: int, first_delta: int, codes: np.ndarray,
              gone: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Records to cluster again: the components holding a delta record, and the former clusters (``codes``:
    the last run's model cluster of each of its records) of changed and deleted records (``gone``, by the last
    run's positions: one may have held its cluster together); closed over both, so that a former cluster is
    either kept whole or clustered again whole (``kept``: each kept position's row in the last run)."""
    strong = edges[edges["score"] >= threshold]
    graph = coo_matrix((np.ones(len(strong)), (strong["l"].to_numpy(), strong["r"].to_numpy())), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    former = np.full(n, -1, dtype="int64")
    former[:first_delta] = codes[kept]  # each kept position's former cluster (the delta's come after them)
    gone_cluster = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=bool)
    gone_cluster[codes[gone]] = True
    seed = np.zeros(n, dtype=bool)
    seed[first_delta:] = True
    seed[:first_delta] = gone_cluster[former[:first_delta]]
    return closure(seed, comp, former)


def _recluster(edges: pd.DataFrame, affected: np.ndarray, model: MatchModel, prepared: _Prepared, order: pa.Array,
               model_before: pa.Table, codes_before: np.ndarray, kept: np.ndarray, labels: list, progress: Any
               ) -> tuple[dict[str, Any], pa.Array, np.ndarray, np.ndarray, pd.DataFrame]:
    """The model's clustering: the affected records clustered again as a full run would (pairs completed in
    components, then labels, then the hierarchical clustering), the others as they were (``kept`` giving each
    kept position's row in ``model_before``, ``codes_before`` their clusters' codes): the report, each
    position's cluster id, its code (equal ids, equal codes) and confidence; and the run's edges."""
    positions = np.flatnonzero(affected)
    local = np.full(len(order), -1, dtype="int64")
    local[positions] = np.arange(len(positions))
    inside = affected[edges["l"].to_numpy()] & affected[edges["r"].to_numpy()]
    sub = pd.DataFrame({"l": local[edges["l"].to_numpy()[inside]], "r": local[edges["r"].to_numpy()[inside]],
                        "score": edges["score"].to_numpy()[inside]})
    sub = scale.complete_components(sub, model.threshold,
                                    lambda a, b: prepared.score(positions[a], positions[b]))
    keys = order.take(positions).to_numpy(zero_copy_only=False)
    sub = _apply_labels(labels, sub, keys, keys, 0, True)
    cluster_pos, confidence, report = scale.cluster_edges(sub, len(positions), model.threshold, progress=progress)
    run_edges = pd.concat([edges[~inside], pd.DataFrame({"l": positions[sub["l"].to_numpy()],
                                                         "r": positions[sub["r"].to_numpy()],
                                                         "score": sub["score"].to_numpy()})], ignore_index=True)
    # every position's cluster: the last run's (all kept records outside the region) or the new one
    n_before = model_before.num_rows
    take = np.full(len(order), -1, dtype="int64")
    take[:len(kept)] = kept
    take[positions] = n_before + np.arange(len(positions))
    ids = pa.concat_arrays([model_before["cluster_id"].combine_chunks().cast(pa.string()),
                            pa.array(keys[cluster_pos], type=pa.string())]).take(take)
    # codes by position: the affected records hold whole former clusters (``_affected``), so a new cluster's id,
    # one of its records' keys, is never the id of a cluster kept
    codes = np.concatenate([codes_before, codes_before.max(initial=-1) + 1 + cluster_pos])[take]
    conf = np.concatenate([model_before["confidence"].to_numpy(), confidence])[take]
    return report, ids, codes, conf, run_edges
