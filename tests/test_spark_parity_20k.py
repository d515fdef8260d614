"""The Spark engine against the single-machine engine on 20,000 generated customers (the issue's second
fixture, beside the sample in test_spark_engine): the same candidate pairs, scores within 1e-9, the same
partition, with one saved model."""

from __future__ import annotations

import pandas as pd

from test_matching import label_from_truth
from workbench import Workspace, artifacts
from workbench.matching.clustering import cluster_with_model
from workbench.matching.trained import MatchModel
from workbench.samples import generate_customers_large


def _partition(clusters: pd.DataFrame) -> set[frozenset]:
    return {frozenset(keys) for keys in clusters.groupby("cluster_id")["key"].apply(list)}


def test_spark_gives_the_single_machine_result_on_20k_records(spark, tmp_path):
    customers, truth = generate_customers_large(20_000, seed=11)
    entity = truth.set_index("customer_id")["entity_id"]
    customers.to_parquet(tmp_path / "customers.parquet", index=False)
    ws = Workspace(tmp_path / "ws", user="ann")
    ds = ws.load(tmp_path / "customers.parquet", key="customer_id", name="customers")
    dd = ws.deduper(ds)
    label_from_truth(dd, 30, same=lambda a, b: entity[a] == entity[b])
    local = dd.cluster(progress=False)
    on_spark = cluster_with_model(ws, ds, MatchModel.load(local.model_path), progress=False, engine="spark",
                                  spark=spark)

    lf, sf = local.figures, on_spark.figures
    for figure in ("pairs", "windowed_blocks", "windowed_block_records", "scored", "kept", "component_pairs_added"):
        assert sf[figure] == lf[figure], figure
    assert lf["pairs"] > 20_000 and lf["records_in_multi_record_clusters"] > 1_000
    order = ["left_key", "right_key"]
    le = pd.read_parquet(local.folder / artifacts.EDGES).sort_values(order, ignore_index=True)
    se = pd.read_parquet(on_spark.folder / artifacts.EDGES).sort_values(order, ignore_index=True)
    assert le[order].equals(se[order])
    assert (le["score"].astype("f8") - se["score"].astype("f8")).abs().max() <= 1e-9
    assert _partition(local.clusters) == _partition(on_spark.clusters)
