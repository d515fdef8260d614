"""The trained model as a versioned JSON document: a round trip gives identical decisions, bad ones are refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLES
from test_matching import TRUTH, clustered_sample
from workbench import WorkbenchError, Workspace, artifacts
from workbench.matching.clustering import Clustering, cluster_with_model
from workbench.matching.trained import FORMAT, MatchModel


@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    return clustered_sample(tmp_path_factory.mktemp("model-doc") / "ws")


def _edges(ws: Workspace, clustering: Clustering) -> pd.Series:
    edges = pd.read_parquet(clustering.folder / artifacts.EDGES)
    return edges.set_index(["left_key", "right_key"])["score"].sort_index()


def test_cluster_returns_a_clustering_that_carries_its_run(clustered):
    ws, ds, dd, clustering = clustered
    assert isinstance(clustering, Clustering) and len(clustering) == ds.rows_kept
    assert clustering.run_id == ws.runs("dedupe", ds).iloc[0]["id"]
    assert clustering.result == ws.latest_result("dedupe", ds) == dd.last_run
    multi = clustering.multi_record
    assert len(multi) == clustering.figures["records_in_multi_record_clusters"] > 0
    assert (multi["cluster_size"] > 1).all()
    stored = pd.read_parquet(clustering.folder / artifacts.CLUSTERS)
    pd.testing.assert_frame_equal(stored, clustering.clusters.reset_index(drop=True), check_dtype=False)
    pair = multi[multi["key"] != multi["cluster_id"]].iloc[0]
    why = clustering.explain(pair["key"], pair["cluster_id"])
    assert why.attrs["score"] >= clustering.threshold / 2 and set(why["field"]) >= {"first_name", "last_name"}
    assert "records in" in repr(clustering)


def test_the_saved_model_gives_identical_decisions(clustered, tmp_path):
    ws, ds, dd, clustering = clustered
    doc = json.loads(clustering.model_path.read_text())
    assert doc["format"] == FORMAT and doc["version"] == 1 and doc["blocking"]
    assert len(doc["coefficients"]) == len(doc["features"]) and doc["labels_sha256"]
    assert doc["name_frequencies"]["sha256"] and all("comparator" in f for f in doc["fields"])
    moved = tmp_path / "elsewhere" / "model.json"  # the document and its sidecar travel together
    moved.parent.mkdir()
    shutil.copy(clustering.model_path, moved)
    shutil.copy(clustering.folder / doc["name_frequencies"]["file"], moved.parent)
    loaded = MatchModel.load(moved)
    assert loaded.to_dict(doc["name_frequencies"]["file"], doc["name_frequencies"]["sha256"]) == doc

    again = cluster_with_model(ws, ds, loaded, task=dd.task, progress=False)  # the same labels beat the model
    assert again.run_id != clustering.run_id
    a = clustering.clusters.set_index("key").sort_index()
    b = again.clusters.set_index("key").sort_index()
    assert (a["cluster_id"] == b["cluster_id"]).all()
    assert np.allclose(a["confidence"], b["confidence"], atol=1e-9, rtol=0)
    ea, eb = _edges(ws, clustering), _edges(ws, again)
    assert ea.index.equals(eb.index) and np.allclose(ea.to_numpy(), eb.to_numpy(), atol=1e-9, rtol=0)


def _broken(clustering: Clustering, tmp_path, change) -> str:
    doc = json.loads(clustering.model_path.read_text())
    shutil.copy(clustering.folder / doc["name_frequencies"]["file"], tmp_path)
    change(doc)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(WorkbenchError) as err:
        MatchModel.load(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_bad_model_document_is_refused_with_what_is_wrong(clustered, tmp_path):
    clustering = clustered[3]
    assert "format" in _broken(clustering, tmp_path, lambda d: d.update(format="pickle"))
    assert "newer" in _broken(clustering, tmp_path, lambda d: d.update(version=99))
    assert "coefficients" in _broken(clustering, tmp_path, lambda d: d.update(coefficients=d["coefficients"][:-1]))
    assert "'nosuchPredicate(email)'" in _broken(clustering, tmp_path,
                                                 lambda d: d.update(blocking=["nosuchPredicate(email)"]))
    assert "'Telepathy'" in _broken(clustering, tmp_path, lambda d: d["fields"][0].update(kind="Telepathy"))
    assert "malformed" in _broken(clustering, tmp_path, lambda d: d.pop("intercept"))
    path = tmp_path / "model.json"
    path.write_text("{not json")
    with pytest.raises(WorkbenchError, match="invalid JSON"):
        MatchModel.load(path)


def test_a_changed_name_frequency_sidecar_is_refused(clustered, tmp_path):
    clustering = clustered[3]
    doc = json.loads(clustering.model_path.read_text())
    shutil.copy(clustering.model_path, tmp_path / "model.json")
    sidecar = tmp_path / doc["name_frequencies"]["file"]
    table = pd.read_parquet(clustering.folder / doc["name_frequencies"]["file"])
    table.loc[0, "frequency"] = 0.5  # one name made common
    table.to_parquet(sidecar, index=False)
    with pytest.raises(WorkbenchError, match="does not match the hash"):
        MatchModel.load(tmp_path / "model.json")
    sidecar.unlink()
    with pytest.raises(WorkbenchError, match="missing"):
        MatchModel.load(tmp_path / "model.json")


def test_cli_saves_a_model_and_clusters_headless_with_it(clustered, tmp_path, capsys):
    from workbench.cli import main

    ws, ds, dd, _ = clustered
    labels = dd.labels.export_training(tmp_path / "training.json")
    model = tmp_path / "model.json"
    args = ["dedupe", str(SAMPLES / "customers.csv"), "--key", "customer_id"]
    assert main([*args, "--labels", str(labels), "--out", str(tmp_path / "a.csv"), "--save-model", str(model)]) == 0
    assert main([*args, "--model", str(model), "--out", str(tmp_path / "b.csv")]) == 0
    out = capsys.readouterr().out
    assert "model model.json" in out
    b = pd.read_csv(tmp_path / "b.csv", dtype=str).set_index("key").sort_index()
    api = cluster_with_model(ws, ds, MatchModel.load(model), task="dedupe:api", progress=False)
    assert (api.clusters.set_index("key").sort_index()["cluster_id"] == b["cluster_id"]).all()
    sizes = b.groupby("cluster_id").size()
    multi = b[b["cluster_id"].map(sizes) > 1]
    pure = multi.assign(entity=TRUTH.reindex(multi.index).to_numpy()).groupby("cluster_id")["entity"].nunique()
    assert (sizes > 1).sum() > 100 and (pure == 1).mean() > 0.85
    with pytest.raises(SystemExit) as usage:  # --labels or --model is required
        main([*args, "--out", str(tmp_path / "c.csv")])
    assert usage.value.code == 2 and "one of the arguments --labels --model" in capsys.readouterr().err
    assert main([*args, "--model", str(tmp_path / "none.json"), "--out", str(tmp_path / "c.csv")]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_a_model_saved_unchanged_links_its_name_frequencies_and_a_changed_one_writes_them(clustered, tmp_path):
    """An update saves the model it loaded: the sidecar is the same file, not written again; new frequencies,
    or a sidecar changed on disk since the load, are written from the model and hashed anew."""
    clustering = clustered[3]
    doc = json.loads(clustering.model_path.read_text())
    sidecar = clustering.folder / doc["name_frequencies"]["file"]
    model = MatchModel.load(clustering.model_path)
    same = model.save(tmp_path / "same" / "model.json")
    linked = same.parent / doc["name_frequencies"]["file"]
    assert linked.stat().st_ino == sidecar.stat().st_ino
    assert json.loads(same.read_text()) == doc and MatchModel.load(same).featurizer.name_freq.equals(
        model.featurizer.name_freq)

    copy = tmp_path / "copy"
    shutil.copytree(clustering.folder, copy, dirs_exist_ok=True)
    loaded = MatchModel.load(copy / "model.json")
    table = pd.read_parquet(copy / doc["name_frequencies"]["file"])
    table.loc[0, "frequency"] = 0.5
    (copy / doc["name_frequencies"]["file"]).unlink()
    table.to_parquet(copy / doc["name_frequencies"]["file"], index=False)  # changed after the load
    saved = loaded.save(tmp_path / "tampered" / "model.json")
    assert json.loads(saved.read_text())["name_frequencies"]["sha256"] == doc["name_frequencies"]["sha256"]
    assert MatchModel.load(saved).featurizer.name_freq.equals(model.featurizer.name_freq)

    loaded.featurizer.name_freq = model.featurizer.name_freq * 2  # new frequencies
    changed = loaded.save(tmp_path / "changed" / "model.json")
    assert json.loads(changed.read_text())["name_frequencies"]["sha256"] != doc["name_frequencies"]["sha256"]
    assert np.allclose(MatchModel.load(changed).featurizer.name_freq.to_numpy(),
                       model.featurizer.name_freq.to_numpy() * 2)
