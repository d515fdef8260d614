"""The Spark engine's matching stages against the single-machine engine, with one model: parity on the sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLES
from test_matching import label_from_truth
from workbench import WorkbenchError, Workspace, artifacts
from workbench.matching import scale
from workbench.matching.clustering import cluster_with_model
from workbench.matching.pipeline import prepare_all
from workbench.matching.prepared_store import PreparedStore
from workbench.matching.records import keyed_records
from workbench.matching.trained import MatchModel


def _partition(clusters: pd.DataFrame) -> set[frozenset]:
    return {frozenset(keys) for keys in clusters.groupby("cluster_id")["key"].apply(list)}


def _edges(folder) -> pd.DataFrame:
    return pd.read_parquet(folder / artifacts.EDGES).sort_values(["left_key", "right_key"], ignore_index=True)


def test_spark_engine_matches_the_single_machine_engine(spark, tmp_path):
    from workbench.spark import engine

    ws = Workspace(tmp_path / "ws", user="ann")
    ds = ws.load(SAMPLES / "customers.csv", key="customer_id", name="customers")
    dd = ws.deduper(ds)
    label_from_truth(dd, 20)
    local = dd.cluster(progress=False)  # learns the blocking rules; its saved model then runs on Spark
    with pytest.raises(WorkbenchError, match="unknown engine 'dask'"):
        dd.cluster(progress=False, engine="dask")
    on_spark = cluster_with_model(ws, ds, MatchModel.load(local.model_path), progress=False, engine="spark",
                                  spark=spark)
    lf, sf = local.figures, on_spark.figures
    assert sf["engine"] == "spark"
    for figure in ("pairs", "windowed_blocks", "windowed_block_records", "scored", "kept", "component_pairs_added"):
        assert sf[figure] == lf[figure], figure
    assert lf["pairs"] > 1000 and lf["records_in_multi_record_clusters"] > 100

    # the same scored links (the candidate pairs kept, completed, labels applied), scores within 1e-9
    le, se = _edges(local.folder), _edges(on_spark.folder)
    assert le[["left_key", "right_key"]].equals(se[["left_key", "right_key"]])
    assert (le["score"].astype("f8") - se["score"].astype("f8")).abs().max() <= 1e-9
    # the same partition, with the same confidences
    lm = pd.read_parquet(local.folder / artifacts.CLUSTERS_MODEL).sort_values("key", ignore_index=True)
    sm = pd.read_parquet(on_spark.folder / artifacts.CLUSTERS_MODEL).sort_values("key", ignore_index=True)
    assert _partition(lm) == _partition(sm)
    assert (lm["confidence"] - sm["confidence"]).abs().max() <= 1e-6
    assert _partition(local.clusters) == _partition(on_spark.clusters)
    # both keep the standardized records for the next update; Spark's copy of them (read from a file on a
    # local master) is gone once scored
    fields = MatchModel.load(local.model_path).featurizer.names
    kept = [PreparedStore.open(c.folder, fields) for c in (local, on_spark)]
    pd.testing.assert_frame_equal(*(k.rows(np.arange(len(k))) for k in kept))
    assert len(kept[0]) == len(ds.frame) and not (on_spark.folder / artifacts.SPARK_RECORDS).exists()

    # the stages themselves: the same block keys, and the same candidate pairs when blocks are
    # windowed (a cap of 20 windows many of the sample's blocks)
    model = MatchModel.load(local.model_path)
    names = model.featurizer.names
    prepared = prepare_all(keyed_records(ds), model.fields, False)[names]
    keys_dir = local.folder / "keys_left"
    local_keys = pd.read_parquet(keys_dir).astype({"pred": "int32"})
    keys = engine.keys_frame(engine.records_frame(spark, prepared), model.predicates, names)
    spark_keys = keys.toPandas()
    by = ["rid", "pred", "key"]
    assert local_keys.sort_values(by, ignore_index=True).equals(spark_keys.sort_values(by, ignore_index=True))
    counts = scale.candidate_pairs(keys_dir, None, tmp_path / "pairs.parquet", max_block=20, window=3)
    pairs, spark_counts = engine.spark_candidate_pairs(keys, max_block=20, window=3)
    assert counts["windowed_blocks"] > 5 and spark_counts["windowed_blocks"] == counts["windowed_blocks"]
    assert spark_counts["windowed_block_records"] == counts["windowed_block_records"]
    expected = pd.read_parquet(tmp_path / "pairs.parquet").sort_values(["l", "r"], ignore_index=True)
    assert pairs.toPandas().sort_values(["l", "r"], ignore_index=True).equals(expected)

    # scoring by position (fields broadcast) and by the joined records' text give the same scores
    some = pairs.orderBy("l", "r").limit(3000)
    joined = engine.ship_records(spark, prepared, broadcast=False)
    assert joined.fields is None
    by_text = engine.PairScorer(spark, model, joined).scored(some).toPandas()
    by_position = engine.PairScorer(spark, model, engine.ship_records(spark, prepared)).scored(some).toPandas()
    assert len(by_text) == 3000 and by_text["score"].nunique() > 10
    by = ["l", "r"]
    assert by_text.sort_values(by, ignore_index=True).equals(by_position.sort_values(by, ignore_index=True))
