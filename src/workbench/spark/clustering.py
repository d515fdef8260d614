"""Clustering on Spark: the single-machine engine's clusters, component by component in applyInPandas.

Components over the edges at or above the threshold (:mod:`workbench.spark.components`),
then every scored pair inside a component goes, component by component, to
the single-machine engine's own per-component step (``scale.cluster_group``:
dedupe's hierarchical clustering, oversized components cut at their weakest
links), run in ``applyInPandas`` over buckets of components. Same cluster ids,
confidences and report as ``scale.cluster_edges``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.matching import scale
from workbench.spark.components import Components, connected_components
from workbench.spark.session import require_pyspark

#: applyInPandas groups per core of the session, each a bucket of components: one group per
#: component paid Spark's per-group cost a hundred thousand times (about 1.7x slower at a
#: million records, RECIPES.md); a few groups per core still spread an oversized component's
#: bucket apart from the rest.
BUCKETS_PER_CORE = 8
#: Most components in one bucket: a bucket is one pandas frame in one Python worker, so past
#: a few million records the buckets grow in number, not in size (20,000 components of a
#: typical few dozen inner pairs are tens of MB).
COMPONENTS_PER_BUCKET = 20_000
#: Schema of the applyInPandas output. A row with ``node`` -1 carries the score an oversized
#: component was cut at (``cut``); every other row is a record in a cluster of 2+.
_OUT = "node long, cluster long, confidence float, cut double"


@dataclass
class SparkClusters:
    """The clustering of scored edges on Spark: records in clusters of 2+, the report, the components."""

    #: The per-bucket clustering (:data:`_OUT`): a row per record in a cluster of 2+, and a row with ``node``
    #: -1 per oversized component, carrying the score it was cut at.
    out: Any
    #: ``scale.cluster_edges``' report: components, largest_component, oversized_components (and
    #: oversized_cut_at when one was cut, known once the clustering is computed: :meth:`arrays`).
    report: dict
    components: Components

    @property
    def assignments(self) -> Any:
        """Spark DataFrame ``node``, ``cluster`` (smallest node of the cluster), ``confidence`` (float), one row
        per record in a cluster of 2+ (a record not there is alone, confidence 1)."""
        from pyspark.sql import functions as F

        return self.out.where(F.col("node") >= 0).drop("cut")

    def arrays(self, n_records: int) -> tuple[np.ndarray, np.ndarray]:
        """(cluster, confidence) per record position, as ``scale.cluster_edges`` returns them (collected).

        One Spark job computes and collects the clustering, the cuts with it: a second pass for the cuts ran
        a stage of a few milliseconds a task, where one task's start-up alone made it look skewed."""
        cluster = np.arange(n_records, dtype="int64")
        confidence = np.ones(n_records, dtype="f4")
        local = self.out.toPandas()
        cuts = local["node"].to_numpy("int64") < 0
        if cuts.any():
            self.report["oversized_cut_at"] = round(float(local["cut"].to_numpy()[cuts].max()), 4)
        local = local[~cuts]
        nodes = local["node"].to_numpy("int64")
        if len(nodes) and (nodes.min() < 0 or nodes.max() >= n_records):
            raise WorkbenchError(f"edges name record positions outside 0..{n_records - 1}")
        cluster[nodes] = local["cluster"].to_numpy("int64")
        confidence[nodes] = local["confidence"].to_numpy("f4")
        return cluster, confidence


def spark_cluster_edges(edges: Any, threshold: float, *, max_component: int = scale.MAX_COMPONENT,
                  buckets: int | None = None, distributed: bool | None = None) -> SparkClusters:
    """Cluster scored edges (Spark DataFrame ``l``, ``r``, ``score``; distinct pairs, ``l < r``) as one machine would.

    ``buckets``: applyInPandas groups (default :data:`BUCKETS_PER_CORE` per
    core, more past :data:`COMPONENTS_PER_BUCKET` a bucket); ``distributed``
    forces the components' path (see
    :func:`~workbench.spark.components.connected_components`). The edges are
    read three times: persist them if they are costly to compute. The clustering
    itself runs when :meth:`SparkClusters.arrays` collects it.
    """
    require_pyspark()
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    missing = [c for c in ("l", "r", "score") if c not in edges.columns]
    if missing:
        raise WorkbenchError(f"edges lack column(s) {', '.join(missing)} (columns: {', '.join(edges.columns)})")
    score_type = edges.schema["score"].dataType
    if not isinstance(score_type, T.NumericType):
        raise WorkbenchError(f"edge column 'score' must be numeric, not {score_type}")
    # compared in the score's own type, as pandas compares a float32 column: in double, a
    # float32 score equal to float32(threshold) fell below a threshold such as 0.7
    strong = edges.where(F.col("score") >= F.lit(float(threshold)).cast(score_type))
    components = connected_components(strong, distributed=distributed)
    report = {"components": 0, "largest_component": 1, "oversized_components": 0}
    sizes = components.frame.groupBy("component").count()
    n_comp, largest, oversized, lowest = sizes.agg(F.count(F.lit(1)), F.max("count"),
                                                   F.count(F.when(F.col("count") > max_component, 1)),
                                                   F.min("component")).first()
    if not n_comp:
        return SparkClusters(edges.sparkSession.createDataFrame([], _OUT), report, components)
    if lowest < 0:  # positions are >= 0, and -1 marks a cut in the output below
        raise WorkbenchError(f"edges name a negative record position ({lowest})")
    report.update(components=int(n_comp), largest_component=int(largest), oversized_components=int(oversized))
    if oversized:
        logging.getLogger(__name__).warning("%d component(s) above %d records are cut at their weakest links",
                                            oversized, max_component)
    # every scored pair inside a component, weak ones too: an absent pair counts as certainly distinct
    left = components.frame.select(F.col("node").alias("l"), F.col("component"))
    right = components.frame.select(F.col("node").alias("r"), F.col("component").alias("component_r"))
    inner = (edges.join(left, "l").join(right, "r").where(F.col("component") == F.col("component_r"))
             .select("component", "l", "r", "score"))
    n_buckets = buckets or max(BUCKETS_PER_CORE * edges.sparkSession.sparkContext.defaultParallelism,
                               -(-n_comp // COMPONENTS_PER_BUCKET))
    threshold = float(threshold)

    def run(bucket: pd.DataFrame) -> pd.DataFrame:
        return _cluster_bucket(bucket, threshold, max_component)

    out = inner.groupBy(F.pmod(F.xxhash64("component"), F.lit(n_buckets)).alias("bucket")).applyInPandas(run, _OUT)
    return SparkClusters(out, report, components)


def _cluster_bucket(bucket: pd.DataFrame, threshold: float, max_component: int) -> pd.DataFrame:
    """One bucket of components -> its clustered records (and a row per oversized component's cut)."""
    order = np.argsort(bucket["component"].to_numpy(), kind="stable")
    comp = bucket["component"].to_numpy()[order]
    ls, rs, ss = (bucket[c].to_numpy()[order] for c in ("l", "r", "score"))
    nodes, clusters, confidences, cuts = [], [], [], []
    for g in np.split(np.arange(len(comp)), np.flatnonzero(np.diff(comp)) + 1):
        left, right = ls[g], rs[g]
        # a connected component of k pairs has at most k + 1 records: only near the bound count them
        size = len(g) + 1 if len(g) < max_component else len(np.unique(np.concatenate([left, right])))
        found, cut = scale.cluster_group(left, right, ss[g], size, threshold, max_component)
        if cut is not None:
            cuts.append(cut)
        for members, scores in found:
            ids = np.asarray(members, dtype="int64")
            nodes.append(ids)
            clusters.append(np.full(len(ids), ids.min()))
            confidences.append(np.asarray(scores, dtype="f4"))
    out = pd.DataFrame({"node": np.concatenate(nodes or [np.empty(0, "int64")]),
                        "cluster": np.concatenate(clusters or [np.empty(0, "int64")]),
                        "confidence": np.concatenate(confidences or [np.empty(0, "f4")]),
                        "cut": np.nan})
    marks = pd.DataFrame({"node": -1, "cluster": -1, "confidence": np.float32(np.nan), "cut": cuts})
    return pd.concat([out, marks], ignore_index=True) if cuts else out
