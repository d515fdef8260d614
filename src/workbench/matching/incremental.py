"""Incremental clustering: only new, changed and deleted records are worked, with the pinned model.

    ws.load("new_customers.csv", name="customers", mode="append")
    clustering = dd.update()          # or: workbench dedupe --update

Against the task's last clustering (its model, block keys, scored pairs,
clusters and record hashes, all in its run folder):

1. records are new, changed (their content hash differs) or deleted;
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
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from workbench import artifacts
from workbench.errors import WorkbenchError
from workbench.matching import scale
from workbench.matching.clustering import Clustering, finish_clustering
from workbench.matching.labels import LabelStore
from workbench.matching.pipeline import ScoredRun, _apply_labels, prepare_all, run_folder
from workbench.matching.records import keyed_records, record_hashes
from workbench.matching.trained import MatchModel
from workbench.workspace import Dataset, Workspace, slug

KEYS = "keys_left"


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
    raw = keyed_records(dataset)
    log = scale.StageLog()

    t = time.perf_counter()
    now = record_hashes(raw)
    was = pd.read_parquet(before / artifacts.RECORDS)
    was = pd.Series(was["hash"].to_numpy(), index=was["key"].astype(str).to_numpy())
    common = now.index.intersection(was.index)
    changed = common[now[common].to_numpy() != was[common].to_numpy()]
    new = now.index.difference(was.index)
    deleted = was.index.difference(now.index)
    delta = raw.index[raw.index.isin(changed.union(new))]
    log.figures.update(new_records=len(new), changed_records=len(changed), deleted_records=len(deleted))
    log.time("compare", t)

    with ws.run("dedupe", dataset, task=task, threshold=model.threshold, update_of=last_id) as run:
        folder = run_folder(ws.path / "matching" / slug(task), run.id)
        model_before = pd.read_parquet(before / artifacts.CLUSTERS_MODEL)
        order_before = model_before["key"].astype(str).to_numpy()
        gone = set(changed) | set(deleted)
        kept = order_before[~pd.Index(order_before).isin(gone)]
        order = np.concatenate([kept, delta.to_numpy().astype(str)])  # the run's record positions
        first_delta = len(kept)

        t = time.perf_counter()
        names = model.featurizer.names
        delta_prep = prepare_all(raw.loc[delta], model.fields, progress)
        log.time("standardize", t)
        t = time.perf_counter()
        _carry_keys(before / KEYS, order_before, kept, folder / KEYS)
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
        prepared = _Prepared(raw, order, model, delta_prep, first_delta)
        scores = prepared.score(li, ri, model) if len(li) else np.empty(0)
        keep = scores >= min(0.5, model.threshold) / 2
        new_edges = pd.DataFrame({"l": li[keep], "r": ri[keep], "score": scores[keep].astype("f4")})
        log.figures.update(scored=len(li), kept=int(keep.sum()))
        log.time("score", t)

        t = time.perf_counter()
        old_edges = _edges_by_position(before / artifacts.EDGES, order, first_delta)
        edges = pd.concat([old_edges, new_edges], ignore_index=True)
        affected = _affected(edges, model.threshold, len(order), first_delta, model_before, gone, order)
        log.figures["reclustered_records"] = int(affected.sum())
        labels = LabelStore(ws, task)
        report, clusters, edges = _recluster(edges, affected, model, prepared, order, model_before,
                                             labels.active(), progress)
        log.time("cluster", t)
        scored = ScoredRun(folder, order, order, edges, None, log, model.threshold, model)
        result = finish_clustering(ws, dataset, raw, model, run, task, scored, clusters, report,
                                   extra={"update_of": last_id, "labels": labels.counts()}, hashes=now)
    return result


class _Prepared:
    """Standardized records by run position, prepared on demand (the delta up front, others when paired)."""

    def __init__(self, raw: pd.DataFrame, order: np.ndarray, model: MatchModel, delta_prep: pd.DataFrame,
                 first_delta: int):
        self.raw, self.order, self.model = raw, order, model
        self.names = model.featurizer.names
        self.rows: dict[int, int] = {}
        self.frames: list[pd.DataFrame] = []
        self._add(np.arange(first_delta, len(order)), delta_prep)

    def _add(self, positions: np.ndarray, prepared: pd.DataFrame) -> None:
        base = sum(len(f) for f in self.frames)
        self.frames.append(prepared[self.names].reset_index(drop=True))
        self.rows.update(zip(positions.tolist(), range(base, base + len(positions)), strict=True))

    def columns(self, positions: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Object columns of the prepared records at ``positions``, and each position's row in them."""
        todo = np.unique(positions[[p not in self.rows for p in positions.tolist()]])
        if len(todo):
            self._add(todo, prepare_all(self.raw.loc[self.order[todo]], self.model.fields, False))
        frame = pd.concat(self.frames, ignore_index=True) if len(self.frames) > 1 else self.frames[0]
        self.frames = [frame]
        return scale.to_columns(frame, self.names), np.array([self.rows[p] for p in positions.tolist()], dtype="int64")

    def score(self, li: np.ndarray, ri: np.ndarray, model: MatchModel) -> np.ndarray:
        cols, rows = self.columns(np.concatenate([li, ri]))
        return scale.score_positions(rows[:len(li)], rows[len(li):], cols, cols, model.featurizer.columns,
                                     model.predict)


def last_task(ws: Workspace, name: str) -> str:
    """The task of the newest clustering of any version of dataset ``name``."""
    if not (ws.datasets()["name"] == name).any():
        raise WorkbenchError(f"no dataset named {name!r} in this workspace")
    for _, result in ws.finished_runs("dedupe", name=name):
        return str(result["task"])
    raise WorkbenchError(f"dataset {name!r} has not been clustered yet: label and cluster it once first")


def _carry_keys(before: Path, order_before: np.ndarray, kept: np.ndarray, out: Path) -> None:
    """The last run's block keys of the records kept, renumbered to their positions in this run."""
    out.mkdir(parents=True, exist_ok=True)
    position = pd.DataFrame({"old": pd.Index(order_before).get_indexer(kept).astype("int64"),
                             "new": np.arange(len(kept), dtype="int64")})
    con = duckdb.connect()
    con.register("position", position)
    con.read_parquet(f"{before.as_posix()}/*.parquet").create_view("keys_before")
    con.sql("SELECT p.new AS rid, k.pred, k.key, k.sk FROM keys_before k JOIN position p ON k.rid = p.old") \
        .write_parquet(str(out / "keys-carried.parquet"))
    con.close()


def _edges_by_position(path: Path, order: np.ndarray, first_delta: int) -> pd.DataFrame:
    """The last run's scored pairs between records still there unchanged (the first ``first_delta`` of
    this run's ``order``), by this run's positions."""
    e = pd.read_parquet(path)
    index = pd.Index(order[:first_delta])
    lpos, rpos = index.get_indexer(e["left_key"].astype(str)), index.get_indexer(e["right_key"].astype(str))
    return pd.DataFrame({"l": np.minimum(lpos, rpos), "r": np.maximum(lpos, rpos), "score": e["score"].to_numpy()}) \
        [(lpos >= 0) & (rpos >= 0)].reset_index(drop=True)


def _affected(edges: pd.DataFrame, threshold: float, n: int, first_delta: int, model_before: pd.DataFrame,
              gone: set[str], order: np.ndarray) -> np.ndarray:
    """Records to cluster again: the components holding a delta record, and the former clusters of
    changed and deleted records (a deleted record may have held its cluster together)."""
    strong = edges[edges["score"] >= threshold]
    graph = coo_matrix((np.ones(len(strong)), (strong["l"].to_numpy(), strong["r"].to_numpy())), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    hit = np.zeros(n, dtype=bool)
    hit[first_delta:] = True
    former = model_before.loc[model_before["key"].astype(str).isin(gone), "cluster_id"]
    mates = model_before.loc[model_before["cluster_id"].isin(set(former)), "key"].astype(str)
    at = pd.Index(order).get_indexer(mates)
    hit[at[at >= 0]] = True
    return np.isin(comp, np.unique(comp[hit]))


def _recluster(edges: pd.DataFrame, affected: np.ndarray, model: MatchModel, prepared: _Prepared, order: np.ndarray,
               model_before: pd.DataFrame, labels: list, progress: Any
               ) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The model's clustering (the affected records clustered again as a full run would: pairs completed in
    components, then labels, then the hierarchical clustering; the others as they were) and the run's edges."""
    positions = np.flatnonzero(affected)
    local = np.full(len(order), -1, dtype="int64")
    local[positions] = np.arange(len(positions))
    inside = affected[edges["l"].to_numpy()] & affected[edges["r"].to_numpy()]
    sub = pd.DataFrame({"l": local[edges["l"].to_numpy()[inside]], "r": local[edges["r"].to_numpy()[inside]],
                        "score": edges["score"].to_numpy()[inside]})
    sub = scale.complete_components(sub, model.threshold,
                                    lambda a, b: prepared.score(positions[a], positions[b], model))
    keys = order[positions]
    sub = _apply_labels(labels, sub, keys, keys, 0, True)
    cluster_pos, confidence, report = scale.cluster_edges(sub, len(positions), model.threshold, progress=progress)
    run_edges = pd.concat([edges[~inside], pd.DataFrame({"l": positions[sub["l"].to_numpy()],
                                                         "r": positions[sub["r"].to_numpy()],
                                                         "score": sub["score"].to_numpy()})], ignore_index=True)
    redone = pd.DataFrame({"key": keys, "cluster_id": keys[cluster_pos], "confidence": confidence})
    unchanged = model_before[model_before["key"].astype(str).isin(set(order[~affected]))][
        ["key", "cluster_id", "confidence"]]
    clusters = pd.concat([unchanged.astype({"key": str, "cluster_id": str}), redone], ignore_index=True)
    clusters = clusters.set_index("key").loc[order].reset_index()
    return report, clusters, run_edges
