"""Cluster every record of a dataset with a trained model, and the result: a ``Clustering``.

    clustering = dd.cluster()                    # from a labeling session
    clustering = cluster_with_model(ws, ds, MatchModel.load("model.json"))   # headless
    clustering.clusters                          # key, cluster_id, confidence, cluster_size, decision, reviewed
    clustering.multi_record                      # the records that share a cluster with another
    clustering.model.save("model.json")          # the model with the blocking rules the run learned
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench import artifacts
from workbench.cluster_ids import stable_clusters
from workbench.errors import WorkbenchError
from workbench.matching import scale
from workbench.matching.labels import Label, LabelStore
from workbench.matching.pipeline import PlanLearner, ScoredRun, run_folder, run_scoring
from workbench.matching.records import keyed_records, record_by_key, write_record_hashes
from workbench.matching.trained import MatchModel
from workbench.matching.update_store import codes_of
from workbench.review import (
    ReviewDecisions,
    apply_decisions,
    multi_record,
    sizes_of_codes,
)
from workbench.workspace import Dataset, Run, Workspace, slug


@dataclass
class Clustering:
    """One stored clustering run: every record's cluster, the run's figures and files, and its model."""

    workspace: Workspace = field(repr=False)
    dataset: Dataset
    run_id: int
    #: The clusters, or None to read them from the run's folder when first asked for (an update).
    stored: pd.DataFrame | None = field(repr=False)
    #: The run's stored result: task, threshold, records, folder, labels, plan, seconds, figures.
    result: dict[str, Any] = field(repr=False)
    model: MatchModel = field(repr=False)

    @property
    def clusters(self) -> pd.DataFrame:
        """key, cluster_id, confidence, cluster_size, with review decisions applied (decision, reviewed)."""
        if self.stored is None:
            self.stored = pd.read_parquet(self.folder / artifacts.CLUSTERS)
        return self.stored

    @property
    def threshold(self) -> float:
        return float(self.result["threshold"])

    @property
    def figures(self) -> dict[str, Any]:
        return dict(self.result["figures"])

    @property
    def seconds(self) -> dict[str, float]:
        return dict(self.result["seconds"])

    @property
    def folder(self) -> Path:
        """The run's folder: pairs, scores, edges, the model's clusters, the clusters, model.json."""
        return self.workspace.path / self.result["folder"]

    @property
    def model_path(self) -> Path:
        return self.folder / artifacts.MODEL

    @property
    def multi_record(self) -> pd.DataFrame:
        """The records in clusters of two or more."""
        return multi_record(self.clusters)

    def explain(self, left_key: str, right_key: str) -> pd.DataFrame:
        """Why two records score as they do: per field, both values, distance and contribution."""
        raw = keyed_records(self.dataset)
        return self.model.explain(record_by_key(raw, left_key), record_by_key(raw, right_key))

    def __len__(self) -> int:
        return int(self.result["records"])

    def __repr__(self) -> str:
        f = self.result.get("figures", {})
        return (f"Clustering(run {self.run_id}: {len(self):,} records in {f.get('clusters', 0):,} clusters, "
                f"{f.get('records_in_multi_record_clusters', 0):,} in clusters of 2+, "
                f"threshold {self.result.get('threshold')})")


def cluster_records(ws: Workspace, dataset: Dataset, raw: pd.DataFrame, model: MatchModel, run: Run, task: str, *,
                    labels: Sequence[Label] = (), learn: PlanLearner | None = None, progress: Any = True,
                    workers: int | None = None, extra: dict[str, Any] | None = None, engine: str = "local",
                    spark: Any = None) -> Clustering:
    """Score and cluster every record of ``raw`` (keyed by record key) in ``run``; store and return the result.

    ``engine``: "local" (DuckDB and a process pool) or "spark" (on ``spark``, a
    SparkSession, default ``workbench.spark.local_session()``); the same stages and storing.
    """
    check_engine(engine)
    folder = run_folder(ws.path / "matching" / slug(task), run.id)
    if engine == "spark":
        from workbench.spark import local_session
        from workbench.spark.engine import cluster_on_spark, spark_scoring

        spark = spark if spark is not None else local_session()
        scored = spark_scoring(spark, model, raw, folder, labels=labels, learn=learn, progress=progress)
        t = time.perf_counter()
        cluster_pos, confidence, report = cluster_on_spark(spark, scored)
    else:
        scored = run_scoring(model, raw, None, folder, labels=labels, learn=learn, progress=progress,
                             workers=workers)
        t = time.perf_counter()
        cluster_pos, confidence, report = scale.cluster_edges(scored.edges, len(scored.left_keys), model.threshold,
                                                              progress=progress)
    keys = scored.left_keys
    clusters = pd.DataFrame({"key": keys, "cluster_id": keys[cluster_pos], "confidence": confidence})
    scored.log.time("cluster", t)
    return finish_clustering(ws, dataset, model, run, task, scored, clusters, report, extra=extra)


#: The engines that run the matching stages.
ENGINES = ("local", "spark")


def check_engine(engine: str) -> None:
    """A clear error for an engine that is not one of :data:`ENGINES`."""
    if engine not in ENGINES:
        raise WorkbenchError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")


def finish_clustering(ws: Workspace, dataset: Dataset, model: MatchModel, run: Run, task: str, scored: ScoredRun,
                      clusters: pd.DataFrame, report: dict[str, Any], *,
                      extra: dict[str, Any] | None = None) -> Clustering:
    """Store a run's model clustering (key, cluster_id, confidence in ``scored.left_keys`` order) with its
    review decisions and persistent ids, its model and its records' hashes (what an update starts from)."""
    clusters = store_clusters(ws, task, run.id, scored, clusters, report)
    write_record_hashes(dataset, scored.folder / artifacts.RECORDS)  # what the next update compares with
    return finish_run(ws, dataset, model, run, task, scored.folder, scored.log, len(clusters), clusters, extra)


def finish_run(ws: Workspace, dataset: Dataset, model: MatchModel, run: Run, task: str, folder: Path,
               log: scale.StageLog, records: int, clusters: pd.DataFrame | None,
               extra: dict[str, Any] | None = None) -> Clustering:
    """Save the model of a run whose clusters are stored, set its result; the clustering (``clusters``: None
    to read them from the folder when asked for)."""
    model.save(folder / artifacts.MODEL)
    run.result = {
        "task": task, "threshold": model.threshold, "records": records,
        "folder": folder.relative_to(ws.path).as_posix(), **(extra or {}),
        "plan": [f.to_dict() for f in model.fields], "seconds": log.seconds, "figures": log.figures,
        "model": (folder / artifacts.MODEL).relative_to(ws.path).as_posix(), "labels_sha256": model.labels_sha256,
    }
    return Clustering(ws, dataset, run.id, clusters, run.result, model)


def cluster_with_model(ws: Workspace, dataset: Dataset | str, model: MatchModel, *, task: str | None = None,
                       threshold: float | None = None, progress: Any = True,
                       workers: int | None = None, engine: str = "local", spark: Any = None) -> Clustering:
    """Cluster a dataset headless with a saved model (its blocking rules and name frequencies as saved).

    The labels and review decisions stored under ``task`` (default: the
    model's task) are applied as in a labeling session's clustering: an
    analyst's label beats the model, a split stays split. ``engine``, ``spark``: see :func:`cluster_records`.
    """
    check_engine(engine)
    ds = ws.dataset(dataset) if isinstance(dataset, str) else dataset
    task = task or model.task or f"dedupe:{ds.name}"
    if threshold is not None:
        model.threshold = float(threshold)
    with ws.run("dedupe", ds, task=task, threshold=model.threshold, model=model.labels_sha256) as run:
        return cluster_records(ws, ds, keyed_records(ds), model, run, task, labels=LabelStore(ws, task).active(),
                               progress=progress, workers=workers, engine=engine, spark=spark)


def write_edge_positions(edges: pd.DataFrame, folder: Path) -> None:
    """A run's edges by position (``l``, ``r``, ``score``): ``artifacts.EDGE_POSITIONS``."""
    artifacts.write_table(pa.table({"l": pa.array(edges["l"].to_numpy(), type=pa.int64()),
                                    "r": pa.array(edges["r"].to_numpy(), type=pa.int64()),
                                    "score": pa.array(edges["score"].to_numpy(), type=pa.float32())}),
                          folder / artifacts.EDGE_POSITIONS)


def write_cluster_codes(codes: np.ndarray, folder: Path) -> None:
    """A run's model clusters as integer codes, by position: ``artifacts.CLUSTER_CODES``."""
    artifacts.write_table(pa.table({"code": pa.array(codes, type=pa.int64())}), folder / artifacts.CLUSTER_CODES)


def read_cluster_codes(folder: Path, cluster_ids: pa.ChunkedArray) -> np.ndarray:
    """A run's model cluster codes (``cluster_ids``: its ``CLUSTERS_MODEL`` ids), read when it wrote them."""
    path = folder / artifacts.CLUSTER_CODES
    if path.exists():
        codes = pq.read_table(path)["code"].to_numpy()
        if len(codes) == len(cluster_ids):
            return codes
    return codes_of(cluster_ids)


def store_clusters(ws: Workspace, task: str, run_id: int, scored: ScoredRun, clusters: pd.DataFrame,
           report: dict[str, Any]) -> pd.DataFrame:
    """Write the run's clusters (the model's, then with review decisions applied and the ids of the
    task's previous clustering: ``workbench.cluster_ids``) and its scored links."""
    keys = scored.left_keys
    clusters = clusters.reset_index(drop=True)
    codes, _ = pd.factorize(clusters["cluster_id"].to_numpy(), use_na_sentinel=False)
    clusters["cluster_size"] = sizes_of_codes(codes)
    # the model's clustering and its links stay apart from the analysts' review decisions,
    # which are replayed over every clustering (workbench.review)
    artifacts.write_table(clusters, scored.folder / artifacts.CLUSTERS_MODEL)
    artifacts.write_table(pd.DataFrame({"left_key": keys[scored.edges["l"].to_numpy()],
                                        "right_key": keys[scored.edges["r"].to_numpy()],
                                        "score": scored.edges["score"].to_numpy()}), scored.folder / artifacts.EDGES)
    write_edge_positions(scored.edges, scored.folder)
    write_cluster_codes(codes, scored.folder)
    clusters = apply_decisions(clusters, ReviewDecisions(ws, task).active())
    ids = stable_clusters(ws, task, run_id, clusters, scored.folder)
    clusters["cluster_id"] = ids.clusters["cluster_id"].to_numpy()
    artifacts.write_table(clusters, scored.folder / artifacts.CLUSTERS)
    scored.log.figures.update({f"ids_{event}": n for event, n in ids.counts().items()})  # ids_new, ids_merge, ...
    scored.log.figures.update(report)
    scored.log.figures["clusters"] = int(clusters["cluster_id"].nunique())
    scored.log.figures["records_in_multi_record_clusters"] = len(multi_record(clusters))
    return clusters

