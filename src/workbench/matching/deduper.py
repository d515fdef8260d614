"""Deduplicate one dataset: label pairs, then cluster every record.

    dd = ws.deduper(ds)
    pair = dd.next_pair(); dd.mark(pair, "match"); dd.undo()
    clustering = dd.cluster()          # a Clustering: .clusters (key, cluster_id, confidence, ...), .model
"""

from __future__ import annotations

from functools import partial

from workbench.matching.clustering import Clustering, check_engine, cluster_records
from workbench.matching.pipeline import learn_plan
from workbench.matching.session import MatchingSession


class Deduper(MatchingSession):
    """Active-learning deduplication of one dataset (labels stored under task ``dedupe:<name>``)."""

    symmetric = True
    run_kind = "dedupe"
    finish_verb = "Clustering"
    last_clustering: Clustering | None = None

    def __init__(self, ws, dataset, **options):
        task = options.pop("task", None) or f"dedupe:{dataset.name}"
        super().__init__(ws, task, dataset, dataset, **options)

    def cluster(self, threshold: float | None = None, *, progress: bool = True,
                workers: int | None = None, engine: str = "local", spark=None) -> Clustering:
        """Cluster every record with the model trained so far; the ``Clustering`` is also stored.

        ``progress``: True for a tqdm bar per stage, False for none, or a function
        ``(stage, done, total)`` called as each stage advances (the labeling app's).

        Review decisions of this task (split, merge, verify) are applied, so
        ``decision``/``reviewed`` mark the clusters an analyst formed.

        ``cluster_id`` is the smallest record key of the cluster, so ids are
        stable and readable; singletons are their own cluster with confidence 1.
        The run's folder holds the model (``model.json``) with the blocking rules it learned.

        ``engine="spark"`` runs the stages on Spark (``spark``: a SparkSession, default
        ``workbench.spark.local_session()``); learning blocking stays here (it reads a sample).
        """
        check_engine(engine)
        model = self.model(threshold)
        with self.ws.run("dedupe", self.left_ds, task=self.task, threshold=model.threshold) as run:
            clustering = cluster_records(self.ws, self.left_ds, self.left_raw, model, run, self.task,
                                         labels=self.labels.active(), learn=partial(learn_plan, self),
                                         progress=progress, workers=workers, engine=engine, spark=spark,
                                         extra={"labels": self.labels.counts()})
        self.last_run = clustering.result
        self.last_clustering = clustering
        return clustering

    def update(self, *, progress: bool = True, workers: int | None = None) -> Clustering:
        """Cluster the dataset's latest version working only what changed since the last clustering.

        New, changed (by content hash) and deleted records are matched with the
        last run's model (pinned: labels given since train the next ``cluster()``);
        only the clusters they touch are clustered again, review decisions
        apply, and ids are inherited as in ``cluster()``. Returns the ``Clustering``.
        """
        from workbench.matching.incremental import update_clustering

        latest = self.ws.dataset(self.left_ds.name)
        clustering = update_clustering(self.ws, latest, self.task, progress=progress, workers=workers)
        self.last_run = clustering.result
        self.last_clustering = clustering
        return clustering

    def finish(self, *, progress=True) -> Clustering:
        """The labeling app's Finish: cluster every record (``cluster``)."""
        return self.cluster(progress=progress)
