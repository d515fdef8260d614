"""Record linkage on Spark: an acquired list (left) against the master (right), as one machine links them.

The stages are the deduplication engine's (``workbench.spark.engine``), on one
records frame holding the left records at positions ``0..n_left-1`` and the right
ones after them (``scale.candidate_pairs``' link-mode numbering: right positions
offset by the left's length). Block keys with ``mapInPandas``; candidate pairs
only across left and right, by ``scale.candidate_pairs``' link rule (a block is
paired in full while its left x right pairs are at most ``4 * max_block``,
else skipped and reported); scores by the same ``PairScorer``. As on one
machine, a link run completes no components (links are not clustered).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from workbench import artifacts
from workbench.matching import scale
from workbench.matching.labels import Label
from workbench.matching.pipeline import PlanLearner, ScoredRun, _apply_labels, prepare_and_plan
from workbench.matching.trained import MatchModel
from workbench.spark.engine import score_stages, ship_records
from workbench.spark.session import require_pyspark


def spark_link_scoring(spark: Any, model: MatchModel, left_raw: pd.DataFrame, right_raw: pd.DataFrame, folder: Path,
                       *, labels: Sequence[Label] = (), learn: PlanLearner | None = None,
                       progress: Any = True) -> ScoredRun:
    """``pipeline.run_scoring`` of ``left_raw`` against ``right_raw`` (linking) with keys, pairs and scores on Spark."""
    require_pyspark()
    left_all, right_all, plan, log = prepare_and_plan(model, left_raw, right_raw, folder, learn=learn,
                                                      progress=progress)
    offset = len(left_all)
    names = model.featurizer.names
    both = pd.concat([left_all[names], right_all[names]], ignore_index=True)  # right positions after the left
    records = ship_records(spark, both, folder)
    del both
    edges, _ = score_stages(spark, model, records, plan, log, lambda keys: spark_link_pairs(keys.drop("sk"), offset))
    spark.sparkContext.setJobDescription(None)
    (folder / artifacts.SPARK_RECORDS).unlink(missing_ok=True)  # every pair is scored
    threshold = model.threshold
    left_keys, right_keys = left_all.index.to_numpy(), right_all.index.to_numpy()
    edges = _apply_labels(labels, edges, left_keys, right_keys, offset, False)
    return ScoredRun(folder, left_keys, right_keys, edges, plan, log, threshold, model)


def spark_link_pairs(keys: Any, offset: int, *, max_block: int = scale.MAX_BLOCK) -> tuple[Any, dict]:
    """Distinct pairs (``l`` a left position, ``r`` a right one, ``>= offset``) of a link join on block keys,
    and the skipped blocks' counts: ``scale.candidate_pairs``' link rule.

    ``keys``: ``rid``, ``pred``, ``key`` of the left records (``rid < offset``) and the right ones. A block
    shared by both sides is paired in full while ``left x right <= 4 * max_block``; a larger one is skipped.
    """
    from pyspark.sql import functions as F

    left = keys.where(F.col("rid") < offset).select("pred", "key", F.col("rid").alias("l"))
    right = keys.where(F.col("rid") >= offset).select("pred", "key", F.col("rid").alias("r"))
    sizes = (left.groupBy("pred", "key").agg(F.count(F.lit(1)).alias("nl"))
             .join(right.groupBy("pred", "key").agg(F.count(F.lit(1)).alias("nr")), ["pred", "key"]))
    big = F.col("nl") * F.col("nr") > max_block * 4
    ok = sizes.where(~big).select("pred", "key")
    pairs = left.join(ok, ["pred", "key"]).join(right, ["pred", "key"]).select("l", "r").distinct()
    n_blocks, n_records = (sizes.where(big)
                           .agg(F.count(F.lit(1)), F.coalesce(F.sum(F.col("nl") + F.col("nr")), F.lit(0))).first())
    return pairs, {"skipped_blocks": int(n_blocks), "skipped_block_records": int(n_records)}
