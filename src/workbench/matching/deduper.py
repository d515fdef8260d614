"""Deduplicate one dataset: label pairs, then cluster every record.

    dd = ws.deduper(ds)
    pair = dd.next_pair(); dd.mark(pair, "match"); dd.undo()
    clusters = dd.cluster()            # key, cluster_id, confidence, review decisions applied (also stored)
"""

from __future__ import annotations

import time

import pandas as pd

from workbench import artifacts
from workbench.matching import scale
from workbench.matching.pipeline import run_scoring
from workbench.matching.session import MatchingSession
from workbench.review import ReviewDecisions, apply_decisions, multi_record


class Deduper(MatchingSession):
    """Active-learning deduplication of one dataset (labels stored under task ``dedupe:<name>``)."""

    symmetric = True
    run_kind = "dedupe"
    finish_verb = "Clustering"

    def __init__(self, ws, dataset, **options):
        task = options.pop("task", None) or f"dedupe:{dataset.name}"
        super().__init__(ws, task, dataset, dataset, **options)

    def cluster(self, threshold: float | None = None, *, progress: bool = True,
                workers: int | None = None) -> pd.DataFrame:
        """Cluster every record: DataFrame key, cluster_id, confidence (also stored in the workspace).

        ``progress``: True for a tqdm bar per stage, False for none, or a function
        ``(stage, done, total)`` called as each stage advances (the labeling app's).

        Review decisions of this task (split, merge, verify) are applied, so
        ``decision``/``reviewed`` mark the clusters an analyst formed.

        ``cluster_id`` is the smallest record key of the cluster, so ids are
        stable and readable; singletons are their own cluster with confidence 1.
        """
        self._require_model()
        threshold = self.suggested_threshold() if threshold is None else float(threshold)
        with self.ws.run("dedupe", self.left_ds, task=self.task, threshold=threshold) as run:
            scored = run_scoring(self, threshold, progress=progress, workers=workers, run_id=run.id)
            t = time.perf_counter()
            cluster_pos, confidence, report = scale.cluster_edges(scored.edges, len(scored.left_keys), threshold,
                                                                  progress=progress)
            scored.log.time("cluster", t)
            run.result, clusters = self._store_clusters(scored, cluster_pos, confidence, report, threshold)
        self.last_run = run.result
        return clusters

    def finish(self, *, progress=True) -> pd.DataFrame:
        """The labeling app's Finish: cluster every record (``cluster``)."""
        return self.cluster(progress=progress)

    def _store_clusters(self, scored, cluster_pos, confidence, report, threshold):
        """Write the run's clusters (model's, then with review decisions applied); (result, clusters)."""
        keys = scored.left_keys
        clusters = pd.DataFrame({"key": keys, "cluster_id": keys[cluster_pos], "confidence": confidence})
        clusters["cluster_size"] = clusters.groupby("cluster_id")["key"].transform("size")
        # the model's clustering and its links stay apart from the analysts' review decisions,
        # which are replayed over every clustering (workbench.review)
        clusters.to_parquet(scored.folder / artifacts.CLUSTERS_MODEL, index=False)
        pd.DataFrame({"left_key": keys[scored.edges["l"].to_numpy()], "right_key": keys[scored.edges["r"].to_numpy()],
                      "score": scored.edges["score"].to_numpy()}).to_parquet(scored.folder / artifacts.EDGES,
                                                                              index=False)
        clusters = apply_decisions(clusters, ReviewDecisions(self.ws, self.task).active())
        clusters.to_parquet(scored.folder / artifacts.CLUSTERS, index=False)
        scored.log.figures.update(report)
        scored.log.figures["clusters"] = int(clusters["cluster_id"].nunique())
        scored.log.figures["records_in_multi_record_clusters"] = len(multi_record(clusters))
        result = {
            "task": self.task, "threshold": threshold, "records": len(clusters),
            "folder": scored.folder.relative_to(self.ws.path).as_posix(),
            "labels": self.labels.counts(), "plan": [f.to_dict() for f in self.fields],
            "seconds": scored.log.seconds, "figures": scored.log.figures,
        }
        return result, clusters
