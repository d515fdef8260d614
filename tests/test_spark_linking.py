"""Linking on the Spark engine against the single-machine engine, with one model: parity on the sample."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import SAMPLES
from test_matching import ACQ_TRUTH, TRUTH, label_from_truth
from workbench import WorkbenchError, Workspace, artifacts
from workbench.matching import scale
from workbench.matching.pipeline import prepare_all
from workbench.matching.trained import MatchModel


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    """The sample's acquired list linked to its customers on this machine: (linker, links, run result)."""
    ws = Workspace(tmp_path_factory.mktemp("spark-link") / "ws", user="ann")
    acquired = ws.load(SAMPLES / "acquired.csv", key="lead_id", name="acquired")
    customers = ws.load(SAMPLES / "customers.csv", key="customer_id", name="customers")
    lk = ws.linker(acquired, customers, task="link:spark")
    label_from_truth(lk, 30, same=lambda a, b: ACQ_TRUTH[a] == TRUTH[b])
    links = lk.link(progress=False)
    return lk, links, lk.last_run


def _sorted(edges: pd.DataFrame) -> pd.DataFrame:
    return edges.sort_values(["l", "r"], ignore_index=True)


def test_spark_linking_matches_the_single_machine_engine(spark, linked, tmp_path):
    from workbench.spark.linking import spark_link_scoring

    lk, local, local_run = linked
    with pytest.raises(WorkbenchError, match="unknown engine 'dask'"):
        lk.link(progress=False, engine="dask")
    on_spark = lk.link(progress=False, engine="spark", spark=spark)
    lf, sf = local_run["figures"], lk.last_run["figures"]
    assert sf["engine"] == "spark" and sf["blocking"] == lf["blocking"]
    for figure in ("pairs", "skipped_blocks", "skipped_block_records", "scored", "kept"):
        assert sf[figure] == lf[figure], figure
    assert lf["pairs"] > 1000 and (local["status"] == "match").sum() > 100

    # the same links table: every acquired record's best master record and status, scores within 1e-9
    assert local[["acquired_key", "master_key", "status"]].equals(on_spark[["acquired_key", "master_key", "status"]])
    assert (local["score"] - on_spark["score"]).abs().max() <= 1e-9
    assert local["score"].isna().equals(on_spark["score"].isna())
    assert lk.overlap(local).equals(lk.overlap(on_spark))

    # the scored edges of the local run's saved model on Spark: the same pairs kept, scores within 1e-9
    folder = lk.ws.path / local_run["folder"]
    scored = spark_link_scoring(spark, MatchModel.load(folder / artifacts.MODEL), lk.left_raw, lk.right_raw,
                                tmp_path, progress=False)
    le, se = _sorted(pd.read_parquet(folder / artifacts.SCORES)), _sorted(scored.edges)
    assert len(le) == lf["kept"] and le[["l", "r"]].equals(se[["l", "r"]])
    assert (le["score"].astype("f8") - se["score"].astype("f8")).abs().max() <= 1e-9
    assert list(scored.left_keys) == list(lk.left_raw.index) and list(scored.right_keys) == list(lk.right_raw.index)

def test_spark_link_pairs_cap_big_blocks_as_one_machine_does(spark, linked, tmp_path):
    from workbench.spark import engine
    from workbench.spark.linking import spark_link_pairs

    lk, _, local_run = linked
    folder = lk.ws.path / local_run["folder"]
    model = MatchModel.load(folder / artifacts.MODEL)
    names = model.featurizer.names
    left = prepare_all(lk.left_raw, model.fields, False)[names]
    right = prepare_all(lk.right_raw, model.right_fields, False)[names]
    records = engine.records_frame(spark, pd.concat([left, right], ignore_index=True))
    keys = engine.keys_frame(records, model.predicates, names).drop("sk").persist()

    # the same block keys as the local run wrote, right positions after the left ones
    by = ["rid", "pred", "key"]
    local_keys = pd.concat([pd.read_parquet(folder / "keys_left"), pd.read_parquet(folder / "keys_right")])
    local_keys = local_keys[by].astype({"pred": "int32"}).sort_values(by, ignore_index=True)
    assert local_keys.equals(keys.toPandas().sort_values(by, ignore_index=True))

    # the same candidate pairs at the default cap, and at a cap of 3 that skips many of the sample's blocks
    for max_block in (scale.MAX_BLOCK, 3):
        out = tmp_path / f"pairs-{max_block}.parquet"
        counts = scale.candidate_pairs(folder / "keys_left", folder / "keys_right", out, max_block=max_block)
        pairs, spark_counts = spark_link_pairs(keys, len(left), max_block=max_block)
        assert spark_counts == {k: counts[k] for k in ("skipped_blocks", "skipped_block_records")}, max_block
        assert _sorted(pairs.toPandas()).equals(_sorted(pd.read_parquet(out))), max_block
        assert counts["pairs"] > 0
    assert counts["skipped_blocks"] > 5
    keys.unpersist()


def test_cli_link_on_spark(spark, linked, tmp_path, capsys):
    from workbench.cli import main

    lk, local, _ = linked
    labels = lk.labels.export_training(tmp_path / "training.json")
    args = ["link", str(SAMPLES / "acquired.csv"), str(SAMPLES / "customers.csv"), "--key", "lead_id",
            "--master-key", "customer_id", "--labels", str(labels), "--workspace", str(tmp_path / "ws")]
    out = tmp_path / "links.parquet"
    assert main([*args, "--out", str(out), "--engine", "spark", "--master", "local[2]"]) == 0
    assert "already in the master" in capsys.readouterr().out
    links = pd.read_parquet(out)
    assert links[["acquired_key", "status"]].equals(local[["acquired_key", "status"]])
    assert main([*args, "--out", str(tmp_path / "x.parquet"), "--master", "local[2]"]) == 2
    assert "--master needs --engine spark" in capsys.readouterr().err
