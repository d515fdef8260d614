"""Persistent cluster ids: the rules on small clusterings, then across runs and review decisions in a workspace."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_matching import clustered_sample
from workbench import artifacts
from workbench.cluster_ids import id_history, resolve_cluster_id
from workbench.matching.stable_ids import registry_of, resolve, stabilize
from workbench.review import ReviewDecisions, current_clusters


def frame(groups: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame([{"key": k, "cluster_id": label} for label, keys in groups.items() for k in keys])


def ids(result) -> dict[str, str]:
    return dict(zip(result.clusters["key"], result.clusters["cluster_id"], strict=True))


def events(result) -> set[tuple]:
    return {(e, c, o) for e, c, o in zip(result.events["event"], result.events["cluster_id"],
                                         result.events["other_id"], strict=True)}


def test_a_first_clustering_names_clusters_by_their_smallest_key():
    r = stabilize(frame({"x": ["b", "a"], "y": ["c"]}), None, None, run_id=1)
    assert ids(r) == {"a": "a", "b": "a", "c": "c"}
    assert r.counts()["new"] == 2 and set(r.registry["status"]) == {"active"}


def test_the_same_clustering_again_changes_no_id():
    first = stabilize(frame({"x": ["a", "b"], "y": ["c", "d", "e"]}), None, None, run_id=1)
    again = stabilize(frame({"p": ["b", "a"], "q": ["e", "d", "c"]}), first.clusters, first.registry, run_id=2)
    assert ids(again) == ids(first) and again.events.empty


def test_a_merge_keeps_the_larger_clusters_id_and_the_other_redirects_to_it():
    first = stabilize(frame({"x": ["a", "b"], "y": ["c", "d", "e"]}), None, None, run_id=1)
    merged = stabilize(frame({"z": ["a", "b", "c", "d", "e"]}), first.clusters, first.registry, run_id=2)
    assert set(ids(merged).values()) == {"c"}
    assert events(merged) == {("merge", "a", "c")}
    assert resolve(merged.registry, "a") == "c" and resolve(merged.registry, "c") == "c"


def test_a_split_keeps_the_id_on_the_largest_fragment_and_records_where_the_other_came_from():
    first = stabilize(frame({"x": ["a", "b", "c"]}), None, None, run_id=1)
    split = stabilize(frame({"p": ["a"], "q": ["b", "c"]}), first.clusters, first.registry, run_id=2)
    # the id "a" stays with b and c; a itself, used as an id already, is named after itself no more
    assert ids(split) == {"a": "a~2", "b": "a", "c": "a"}
    assert events(split) == {("split", "a~2", "a")}
    assert split.registry.set_index("cluster_id").at["a~2", "split_from"] == "a"


def test_a_tie_goes_to_the_oldest_id():
    reg = pd.DataFrame({"cluster_id": ["m", "n"], "since_run": [5, 2], "status": "active", "merged_into": None,
                        "split_from": None})
    before = frame({"m": ["m", "x"], "n": ["n", "y"]})
    r = stabilize(frame({"z": ["m", "x", "n", "y"]}), before, reg, run_id=6)
    assert set(ids(r).values()) == {"n"} and events(r) == {("merge", "m", "n")}


def test_a_pinned_cluster_keeps_its_id_even_where_another_holds_more_of_its_records():
    first = stabilize(frame({"x": ["a", "b", "c", "d"]}), None, None, run_id=1)
    r = stabilize(frame({"v": ["a"], "w": ["b", "c", "d"]}), first.clusters, first.registry, run_id=2, pinned=["v"])
    assert ids(r)["a"] == "a" and ids(r)["b"] != "a"


def test_records_moving_between_surviving_clusters_and_records_leaving_the_data():
    first = stabilize(frame({"x": ["a", "b", "c"], "y": ["d", "e"], "z": ["f"]}), None, None, run_id=1)
    r = stabilize(frame({"p": ["a", "b"], "q": ["c", "d", "e"]}), first.clusters, first.registry, run_id=2)
    assert ids(r) == {"a": "a", "b": "a", "c": "d", "d": "d", "e": "d"}
    assert events(r) == {("move", "d", "a"), ("retire", "f", None)}
    assert resolve(r.registry, "f") is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=25), st.lists(st.integers(0, 5), min_size=1, max_size=25))
def test_ids_name_exactly_the_new_clusters_and_are_never_reused(before, after):
    keys = [f"k{i:02d}" for i in range(max(len(before), len(after)))]
    first = stabilize(pd.DataFrame({"key": keys[:len(before)], "cluster_id": [str(g) for g in before]}),
                      None, None, run_id=1)
    second = stabilize(pd.DataFrame({"key": keys[:len(after)], "cluster_id": [str(g) for g in after]}),
                       first.clusters, first.registry, run_id=2)
    got = second.clusters.assign(label=[str(g) for g in after])
    # one id per cluster and one cluster per id: the partition is the one given
    assert (got.groupby("label")["cluster_id"].nunique() == 1).all()
    assert (got.groupby("cluster_id")["label"].nunique() == 1).all()
    # an id given in the second run names a cluster of the first or is new to the registry
    assert set(got["cluster_id"]) <= set(second.registry.loc[second.registry["status"] == "active", "cluster_id"])
    assert second.registry["cluster_id"].is_unique
    retired = set(second.registry.loc[second.registry["status"] == "retired", "cluster_id"])
    assert not retired & set(got["cluster_id"])
    assert set(registry_of(first.clusters, 1)["cluster_id"]) <= set(second.registry["cluster_id"])


# -- across runs in a workspace ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return clustered_sample(tmp_path_factory.mktemp("stable") / "ws")


def _by_key(clusters: pd.DataFrame) -> pd.Series:
    return clusters.set_index("key")["cluster_id"]


def test_clustering_again_with_nothing_new_changes_no_id(runs):
    ws, ds, dd, first = runs
    again = dd.cluster(first.threshold, progress=False)
    assert _by_key(again.clusters).equals(_by_key(first.clusters).reindex(_by_key(again.clusters).index))
    assert first.figures["ids_new"] == first.clusters["cluster_id"].nunique()
    assert sum(again.figures[f"ids_{e}"] for e in ("new", "merge", "split", "move", "retire")) == 0
    assert (again.folder / artifacts.CLUSTER_IDS).exists()


def test_review_decisions_move_ids_by_the_rules_and_survive_the_next_run(runs):
    ws, ds, dd, first = runs
    before = current_clusters(ws, ds)
    sizes = before.groupby("cluster_id")["key"].size()
    big = sizes[sizes >= 3].index[0]
    members = sorted(before.loc[before["cluster_id"] == big, "key"])
    pair = sizes[sizes == 2].index[:2]
    small, larger = pair[0], pair[1]
    decisions = ReviewDecisions(ws, dd.task)
    decisions.split(big, members)  # the id's own record leaves: the id stays with the others
    decisions.merge(before.loc[before["cluster_id"].isin(pair), "key"])
    now = _by_key(current_clusters(ws, ds))
    rest = [k for k in members if k != big]
    assert set(now[rest]) == {big} and now[big] != big  # the largest fragment keeps the id
    assert now[before.loc[before["cluster_id"] == small, "key"]].nunique() == 1
    untouched = before[~before["cluster_id"].isin([big, small, larger])]
    assert (now[untouched["key"]].to_numpy() == untouched["cluster_id"].to_numpy()).all()

    after = dd.cluster(first.threshold, progress=False)
    ids_now = _by_key(after.clusters)
    assert set(ids_now[rest]) == {big} and ids_now[big] == now[big]  # the split survives the run
    assert (ids_now[untouched["key"]].to_numpy() == untouched["cluster_id"].to_numpy()).all()
    history = id_history(ws, ds)
    mine = history[history["run_id"] == after.run_id]
    assert ("split", now[big], big) in set(zip(mine["event"], mine["cluster_id"], mine["other_id"], strict=True))
    merged = mine[mine["event"] == "merge"]
    assert len(merged) == 1 and merged["other_id"].iloc[0] in pair
    gone = merged["cluster_id"].iloc[0]
    assert resolve_cluster_id(ws, ds, gone) == merged["other_id"].iloc[0] == ids_now[
        before.loc[before["cluster_id"] == gone, "key"].iloc[0]]
    assert "cluster ids" in set(ws.audit_log()["action"])
    golden = ws.golden(ds)  # golden ids are the cluster ids
    assert set(golden.crosswalk.set_index("record_key")["golden_id"][rest]) == {big}


def test_erasing_a_record_whose_key_names_clusters_leaves_no_trace_in_the_ids(runs):
    from workbench.erasure import forget

    ws, ds, dd, _ = runs  # after the review test: "big" names a cluster and "big~2" its split-off record
    history = id_history(ws, ds)
    split = history[history["event"] == "split"].iloc[0]
    key = split["other_id"]  # a record key used as an id in every run since the first
    assert (history["cluster_id"] == key).any()
    forget(ws, key)
    for run in ws.runs("dedupe", ds)["result"]:
        for name in (artifacts.CLUSTER_IDS, artifacts.ID_HISTORY, artifacts.CLUSTERS):
            frame = pd.read_parquet(ws.path / run["folder"] / name).astype(str)
            assert not frame.isin([key, f"{key}~2"]).any().any(), name
    registry = pd.read_parquet(ws.path / ws.latest_result("dedupe", ds)["folder"] / artifacts.CLUSTER_IDS)
    assert registry["cluster_id"].is_unique
    assert key not in set(current_clusters(ws, ds)["cluster_id"])


def test_ids_held_elsewhere_are_not_given_again_suffixed_ones_included():
    """``used`` (a whole registry, asked in batches; ids with a suffix from one scan): a split-off cluster whose
    keys are all ids already takes the first suffix free of them."""
    import pyarrow as pa

    from workbench.matching.stable_ids import IdSet

    held = IdSet(pa.chunked_array([["a", "a~2"], ["b~3"]]), pa.array(["a~3", "z"]))
    assert ["a~2" in held, "a~3" in held, "b~3" in held, "a~4" in held, "a" in held, "b" in held] == \
        [True, True, True, False, True, False]
    first = stabilize(frame({"x": ["a", "b", "c"]}), None, None, run_id=1)
    split = stabilize(frame({"x": ["b", "c"], "y": ["a"]}), first.clusters, first.registry, run_id=2,
                      used=IdSet(pa.array(["a", "a~2", "a~3"])))
    assert ids(split) == {"a": "a~4", "b": "a", "c": "a"}  # the larger part keeps "a"; a~2, a~3 are held
