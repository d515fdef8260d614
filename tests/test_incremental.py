"""Incremental clustering: only the delta is worked, and the result is what a full run would give."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLES
from test_matching import label_from_truth
from workbench import WorkbenchError, Workspace, artifacts
from workbench.cluster_ids import previous_clustering, verified
from workbench.matching.clustering import cluster_with_model
from workbench.matching.pipeline import prepare_all
from workbench.matching.prepared_store import PreparedStore
from workbench.matching.records import keyed_records
from workbench.matching.stable_ids import EVENT_COLUMNS, stabilize
from workbench.matching.trained import MatchModel
from workbench.review import ReviewDecisions, apply_decisions, current_clusters

CUSTOMERS = pd.read_csv(SAMPLES / "customers.csv", dtype=str, keep_default_na=False)
FIRST = 4500  # records in the first version; the rest arrive later


def _write(frame: pd.DataFrame, path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def updated(tmp_path_factory):
    """A clustering of 4,500 customers, an update with nothing new, then one with the other 500."""
    tmp = tmp_path_factory.mktemp("incremental")
    ws = Workspace(tmp / "ws", user="ann")
    ds = ws.load(_write(CUSTOMERS.iloc[:FIRST], tmp / "customers.csv"), key="customer_id", name="customers")
    dd = ws.deduper(ds)
    label_from_truth(dd, 25)
    first = dd.cluster(progress=False)
    unchanged = dd.update(progress=False)
    ws.load(_write(CUSTOMERS.iloc[FIRST:], tmp / "more.csv"), name="customers", mode="append")
    grown = dd.update(progress=False)
    return ws, dd, first, unchanged, grown, tmp


def _ids(clustering) -> pd.Series:
    return clustering.clusters.set_index("key")["cluster_id"].sort_index()


def _batch(ws: Workspace, dd, clustering, tmp) -> pd.Series:
    """The same model run in full over the dataset's latest version, in a copy of the workspace."""
    copy = tmp / f"batch-{clustering.run_id}"
    shutil.copytree(ws.path, copy)
    other = Workspace(copy, user="ann")
    full = cluster_with_model(other, "customers", MatchModel.load(clustering.model_path), task=dd.task,
                              progress=False)
    return _ids(full)


def _stored_as_a_full_run_stores(ws: Workspace, dd, clustering) -> None:
    """An update works review decisions and ids over the region it touched only: its files are what the
    full computation over every record gives (clusters, id registry, id history)."""
    folder = clustering.folder
    full = apply_decisions(pd.read_parquet(folder / artifacts.CLUSTERS_MODEL), ReviewDecisions(ws, dd.task).active())
    previous, registry = previous_clustering(ws, dd.task, clustering.run_id)
    expected = stabilize(full[["key", "cluster_id"]], previous, registry, clustering.run_id, pinned=verified(full))
    full["cluster_id"] = expected.clusters["cluster_id"].to_numpy()
    pd.testing.assert_frame_equal(pd.read_parquet(folder / artifacts.CLUSTERS), full, check_dtype=False)
    pd.testing.assert_frame_equal(_none(pd.read_parquet(folder / artifacts.CLUSTER_IDS)), _none(expected.registry),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_parquet(folder / artifacts.ID_HISTORY)[EVENT_COLUMNS], expected.events,
                                  check_dtype=False)
    # the model clusters as codes, for the next update: the same partition of the records
    codes = pd.read_parquet(folder / artifacts.CLUSTER_CODES)["code"].to_numpy()
    model_ids = pd.read_parquet(folder / artifacts.CLUSTERS_MODEL)["cluster_id"].to_numpy()
    assert (pd.factorize(codes)[0] == pd.factorize(model_ids)[0]).all()


def _prepared_as_standardized(ws: Workspace, clustering) -> None:
    """The standardized records a run keeps for the next update (an update's: the last run's, linked by
    position, and its delta's) are, position for position, what standardizing its records now gives."""
    model = MatchModel.load(clustering.model_path)
    names = model.featurizer.names
    store = PreparedStore.open(clustering.folder, names)
    keys = pd.read_parquet(clustering.folder / artifacts.CLUSTERS_MODEL)["key"].astype(str)
    assert store is not None and len(store) == len(keys)
    expected = prepare_all(keyed_records(ws.dataset("customers")).loc[keys], model.fields, False)[names]
    pd.testing.assert_frame_equal(store.rows(np.arange(len(store))), _none(expected.reset_index(drop=True)))


def _none(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values as None (a file holds nulls; a frame built in pandas may hold NaN)."""
    return frame.astype(object).where(frame.notna(), None)


def _members(ids: pd.Series) -> pd.Series:
    """Per record (ids: cluster id by key), the keys of its cluster."""
    keys = pd.Series(ids.index, index=ids.index)
    return keys.groupby(ids.to_numpy()).transform(lambda s: "|".join(sorted(s)))


def _same_partition_share(a: pd.Series, b: pd.Series) -> float:
    """Share of records whose cluster holds the same records in both."""
    return float((_members(a) == _members(b).reindex(a.index)).mean())


def test_an_empty_delta_changes_no_id_and_works_nothing(updated):
    ws, dd, first, unchanged, grown, tmp = updated
    f = unchanged.figures
    assert (f["new_records"], f["changed_records"], f["deleted_records"], f["reclustered_records"]) == (0, 0, 0, 0)
    assert f["pairs"] == 0
    assert _ids(unchanged).equals(_ids(first))
    assert sum(f[f"ids_{e}"] for e in ("new", "merge", "split", "move", "retire")) == 0
    _stored_as_a_full_run_stores(ws, dd, unchanged)


def test_new_records_join_clusters_as_a_full_run_would_and_untouched_clusters_keep_their_ids(updated):
    ws, dd, first, unchanged, grown, tmp = updated
    f = grown.figures
    assert f["new_records"] == len(CUSTOMERS) - FIRST and f["changed_records"] == f["deleted_records"] == 0
    assert len(grown.clusters) == len(CUSTOMERS)
    assert 0 < f["reclustered_records"] < len(CUSTOMERS) / 2  # only what the delta touches
    _stored_as_a_full_run_stores(ws, dd, grown)
    _prepared_as_standardized(ws, first)
    _prepared_as_standardized(ws, grown)
    assert _same_partition_share(_ids(grown), _batch(ws, dd, grown, tmp)) >= 0.995
    before, after = _ids(first), _ids(grown).reindex(_ids(first).index)
    same_members = _same_partition_share(before, _ids(grown)[before.index])
    kept = _members(before) == _members(after)
    assert (before[kept] == after[kept]).all() and same_members > 0.9
    # some new records joined existing clusters, which kept their ids
    joined = _ids(grown)[CUSTOMERS["customer_id"].iloc[FIRST:]]
    assert joined.isin(set(before)).sum() > 10


def test_a_delta_of_the_whole_dataset_gives_the_batch_partition(updated):
    ws, dd, first, unchanged, grown, tmp = updated
    touched = CUSTOMERS.assign(signup_date="2026-12-01")  # every record changed (a column matching ignores)
    ws.load(_write(touched, tmp / "all.csv"), name="customers", mode="append")
    whole = dd.update(progress=False)
    assert whole.figures["changed_records"] == len(CUSTOMERS) and whole.figures["reclustered_records"] == len(
        CUSTOMERS)
    _stored_as_a_full_run_stores(ws, dd, whole)
    _prepared_as_standardized(ws, whole)  # every record changed: the store rewritten
    batch = _batch(ws, dd, whole, tmp)
    assert _same_partition_share(_ids(whole), batch) == 1.0
    same = _members(_ids(whole)) == _members(_ids(grown))  # the clusters the full rework did not change
    assert same.mean() > 0.99 and (_ids(whole)[same] == _ids(grown)[same]).all()  # kept their ids


def test_a_split_made_in_review_survives_an_update(updated):
    ws, dd, *_, tmp = updated
    now = current_clusters(ws, "customers")
    multi = now[now["cluster_size"] >= 2]
    key = multi["key"].iloc[-1]  # far from the records the update changes: only the decision brings it in
    members = list(now.loc[now["cluster_id"] == now.set_index("key").at[key, "cluster_id"], "key"])
    ReviewDecisions(ws, dd.task).split(key, members)
    a, b = multi["key"].iloc[-40], now.loc[now["cluster_size"] == 1, "key"].iloc[-1]
    ReviewDecisions(ws, dd.task).merge([a, b])  # two clusters the update does not touch either
    last = ws.path / ws.latest_result("dedupe")["folder"]
    (last / artifacts.EDGE_POSITIONS).unlink()  # as erasure leaves a run: this update joins its edges by key
    ws.load(_write(CUSTOMERS.iloc[:3].assign(city="Springfield"), tmp / "moved.csv"), name="customers",
            mode="append")
    updated_run = dd.update(progress=False)
    _stored_as_a_full_run_stores(ws, dd, updated_run)
    after = updated_run.clusters.set_index("key")
    assert after.at[key, "cluster_size"] == 1 and after.at[key, "decision"] == "split"
    assert after.at[a, "cluster_id"] == after.at[b, "cluster_id"] and after.at[a, "decision"] == "merge"
    # the next update starts from clusters the decisions formed, one of them undone since
    ReviewDecisions(ws, dd.task).undo()  # the merge
    ws.load(_write(CUSTOMERS.iloc[3:5].assign(city="Shelbyville"), tmp / "again.csv"), name="customers",
            mode="append")
    _stored_as_a_full_run_stores(ws, dd, dd.update(progress=False))


def test_an_update_retires_an_active_id_that_held_no_record(updated):
    ws, dd, *_, tmp = updated
    last = ws.path / ws.latest_result("dedupe")["folder"]
    registry = pd.read_parquet(last / artifacts.CLUSTER_IDS)
    orphan = registry.iloc[[0]].assign(cluster_id="no-such-records", status="active")  # as erasure may leave one
    pd.concat([registry, orphan], ignore_index=True).to_parquet(last / artifacts.CLUSTER_IDS, index=False)
    ws.load(_write(CUSTOMERS.iloc[6:7].assign(city="North Haverbrook"), tmp / "fourth.csv"), name="customers",
            mode="append")
    after = dd.update(progress=False)
    _stored_as_a_full_run_stores(ws, dd, after)
    assert after.figures["ids_retire"] >= 1


def test_an_update_after_a_run_without_an_id_registry_works_every_record(updated):
    ws, dd, *_, tmp = updated
    last = ws.path / ws.latest_result("dedupe")["folder"]
    before = pd.read_parquet(last / artifacts.CLUSTERS).set_index("key")["cluster_id"]
    (last / artifacts.CLUSTER_IDS).unlink()  # as a run from before persistent ids left it
    ws.load(_write(CUSTOMERS.iloc[5:6].assign(city="Ogdenville"), tmp / "third.csv"), name="customers",
            mode="append")
    after = dd.update(progress=False)
    _stored_as_a_full_run_stores(ws, dd, after)
    ids = after.clusters.set_index("key")["cluster_id"]
    assert len(ids) == len(before) and (ids == before[ids.index]).mean() > 0.99


def test_an_update_after_a_run_that_kept_nothing_by_position_works_from_keys_and_the_data_file(updated):
    ws, dd, *_, tmp = updated
    last = ws.latest_result("dedupe")["folder"]
    copy = tmp / "kept-none"
    shutil.copytree(ws.path, copy)
    shutil.rmtree(copy / last / artifacts.PREPARED)  # as erasure leaves a run: its files by position gone
    for by_position in (artifacts.EDGE_POSITIONS, artifacts.CLUSTER_CODES):
        (copy / last / by_position).unlink()
    hashes = copy / last / artifacts.RECORDS  # not in the run's order (as runs before they were wrote them)
    pd.read_parquet(hashes).iloc[::-1].to_parquet(hashes, index=False)
    changed = _write(CUSTOMERS.iloc[20:60].assign(city="Capital City"), tmp / "fifth.csv")
    ws.load(changed, name="customers", mode="append")
    kept = dd.update(progress=False)
    other = Workspace(copy, user="ann")
    other.load(changed, name="customers", mode="append")
    again = other.deduper(other.dataset("customers")).update(progress=False)
    assert kept.figures["changed_records"] == again.figures["changed_records"] == 40
    for name in (artifacts.CLUSTERS_MODEL, artifacts.EDGES, artifacts.CLUSTERS):
        a, b = pd.read_parquet(kept.folder / name), pd.read_parquet(again.folder / name)
        if name == artifacts.EDGES:
            a, b = (e.sort_values(["left_key", "right_key"], ignore_index=True) for e in (a, b))
        pd.testing.assert_frame_equal(a, b)
    assert not (again.folder / artifacts.PREPARED).exists()  # nothing to extend: the next full run keeps them
    _prepared_as_standardized(ws, kept)


def test_appending_needs_the_same_columns_and_an_update_a_clustering(tmp_path):
    ws = Workspace(tmp_path / "ws", user="ann")
    ws.load(_write(CUSTOMERS.iloc[:50], tmp_path / "c.csv"), key="customer_id", name="customers")
    with pytest.raises(WorkbenchError, match="missing column.*'email'"):
        ws.load(_write(CUSTOMERS.iloc[50:60].drop(columns=["email"]), tmp_path / "d.csv"), name="customers",
                mode="append")
    with pytest.raises(WorkbenchError, match="mode must be"):
        ws.load(tmp_path / "c.csv", name="customers", mode="merge")
    grown = ws.load(_write(CUSTOMERS.iloc[40:60], tmp_path / "e.csv"), name="customers", mode="append")
    assert grown.version == 2 and grown.rows_kept == 60 and grown.rows_read == grown.rows_kept + grown.rows_rejected
    assert any("10 new record(s), 10 replaced" in w for w in grown.warnings)
    from workbench.matching.incremental import update_clustering

    with pytest.raises(WorkbenchError, match="cluster\\(\\) once first"):
        update_clustering(ws, grown, "dedupe:customers", progress=False)


def test_cli_updates_a_clustered_dataset_with_a_file_of_new_records(updated, capsys):
    import getpass

    from workbench import access
    from workbench.cli import main

    ws, dd, *_, tmp = updated
    access.grant(ws, getpass.getuser(), "analyst")  # ann, who made the workspace, lets the OS login work in it
    now = current_clusters(ws, "customers").set_index("key")
    sources = [k for k in CUSTOMERS["customer_id"] if pd.isna(now.at[k, "decision"])][:2]  # no review decision
    extra = CUSTOMERS.set_index("customer_id").loc[sources].reset_index().assign(
        customer_id=["N000001", "N000002"])  # two known people, new records
    out = tmp / "clusters.parquet"
    code = main(["dedupe", _write(extra, tmp / "new.csv"), "--update", "customers", "--workspace", str(ws.path),
                 "--out", str(out)])
    said = capsys.readouterr()
    assert code == 0, said.err
    said = said.out
    assert "2 new, 0 changed, 0 deleted records" in said and "ids:" in said
    clusters = pd.read_parquet(out).set_index("key")
    assert len(clusters) == len(CUSTOMERS) + 2
    assert clusters.at["N000001", "cluster_id"] == clusters.at[sources[0], "cluster_id"]
    assert main(["dedupe", str(tmp / "new.csv"), "--update", "nosuch", "--workspace", str(ws.path)]) == 2
    assert "no dataset named 'nosuch'" in capsys.readouterr().err


@pytest.mark.parametrize("max_block", [4, 1000])  # with blocks windowed, and with every block paired whole
def test_the_delta_gets_the_candidate_pairs_a_full_join_gives_it(tmp_path, max_block):
    from workbench.matching import scale

    rng = np.random.default_rng(7)
    n, first_delta = 400, 360
    rid = np.repeat(np.arange(n), 2)
    keys = pd.DataFrame({"rid": rid, "pred": np.tile(np.array([0, 1], dtype="int16"), n),
                         "key": [f"k{v}" for v in rng.zipf(1.6, 2 * n) % 40],
                         "sk": [f"s{v:03d}" for v in rng.integers(0, 60, 2 * n)]})
    folder = tmp_path / "keys"
    folder.mkdir()
    keys[keys["rid"] < first_delta].to_parquet(folder / "keys-000000000.parquet", index=False)
    keys[keys["rid"] >= first_delta].to_parquet(folder / f"keys-{first_delta:09d}.parquet", index=False)

    full = scale.candidate_pairs(folder, None, tmp_path / "all.parquet", max_block=max_block, window=3)
    delta = scale.delta_candidate_pairs(folder, first_delta, tmp_path / "delta.parquet", max_block=max_block,
                                        window=3)
    everything = pd.read_parquet(tmp_path / "all.parquet")
    expected = everything[(everything["l"] >= first_delta) | (everything["r"] >= first_delta)]
    got = pd.read_parquet(tmp_path / "delta.parquet")
    assert len(got) > 50
    assert got.sort_values(["l", "r"], ignore_index=True).equals(expected.sort_values(["l", "r"], ignore_index=True))
    assert (delta["windowed_blocks"] > 0) == (full["windowed_blocks"] > 0) == (max_block == 4)


@pytest.mark.parametrize("twice", ["a new key", "a key clustered before"])
def test_an_update_refuses_a_key_that_names_two_records(updated, tmp_path, twice):
    ws, dd, first, unchanged, grown, tmp = updated
    copy = tmp_path / "ws"
    shutil.copytree(ws.path, copy)
    other = Workspace(copy, user="ann")
    record = CUSTOMERS.iloc[[FIRST + 1]].copy() if twice == "a new key" else CUSTOMERS.iloc[[3]].copy()
    if twice == "a new key":
        record["customer_id"] = "NEW-1"
    delta = pd.concat([record, record.assign(email="other@example.org")], ignore_index=True)
    ds = other.load(_write(delta, tmp_path / "twice.csv"), name="customers", mode="append")
    assert (other.dataset("customers").frame["customer_id"] == record["customer_id"].iloc[0]).sum() == 2
    from workbench.matching.incremental import update_clustering

    # (a session refuses the dataset as it opens; the update is also run without one: workbench dedupe --update)
    with pytest.raises(WorkbenchError, match=f"repeats \\(e.g. '{record['customer_id'].iloc[0]}'\\)"):
        update_clustering(other, ds, dd.task, progress=False)


def test_records_in_files_the_last_run_read_keep_their_hashes_and_the_diff_is_what_hashing_all_gives(
        updated, tmp_path):
    """After an append the master's file is shared with the last run: only the other files are hashed, and
    what changed is exactly what hashing every record and joining them all says."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from workbench.matching.incremental import _Diff, _shared_rows

    ws, dd, *_ = updated
    copy = tmp_path / "ws"
    shutil.copytree(ws.path, copy)  # a copy keeps the files' ids
    other = Workspace(copy, user="ann")
    first = CUSTOMERS.iloc[[5, 6, 7]].assign(customer_id=["NEW-1", "NEW-2", "NEW-3"])  # known people, new keys
    other.load(_write(first, tmp_path / "first.csv"), name="customers", mode="append")
    other.deduper(other.dataset("customers")).update(progress=False)
    delta = pd.concat([first.iloc[[1]].assign(city="Shelbyville"), CUSTOMERS.iloc[[9]].assign(customer_id="NEW-9")],
                      ignore_index=True)  # a record of the last append changed, and a new one
    ds = other.load(_write(delta, tmp_path / "delta.csv"), name="customers", mode="append")
    before = copy / other.latest_result("dedupe")["folder"]
    keys = pa.array(pd.read_parquet(before / artifacts.CLUSTERS_MODEL)["key"].astype(str), type=pa.string())
    shared = _shared_rows(ds, before, pq.read_table(before / artifacts.RECORDS))
    assert shared is not None and any(shared[1]) and not all(shared[1])  # some files shared, not all
    by_files = _Diff(ds, before, keys)
    (before / artifacts.RECORD_FILES).unlink()
    by_hashing = _Diff(ds, before, keys)
    assert (by_files.new, by_files.changed, by_files.deleted) == (by_hashing.new, by_hashing.changed,
                                                                   by_hashing.deleted) == (1, 1, 0)
    np.testing.assert_array_equal(by_files.delta_rows, by_hashing.delta_rows)
    np.testing.assert_array_equal(by_files.row_of_old, by_hashing.row_of_old)
    rows = np.arange(ds.rows_kept)
    assert by_files.records(rows).equals(by_hashing.records(rows))
    other.close()
