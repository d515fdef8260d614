"""Cluster review: decision semantics, the decision store, the queue, and decisions surviving re-clustering."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench import WorkbenchError, Workspace, artifacts
from workbench.review import (
    ClusterReview,
    ReviewDecisions,
    apply_decisions,
    cluster_summary,
    current_clusters,
    review_queue,
    summary_figure,
)


def frame(groups: list[list[str]], confidence: float = 0.7) -> pd.DataFrame:
    """A clustering from groups of keys; cluster_id is the smallest key, as the engine makes it."""
    rows = [(k, min(g)) for g in groups for k in g]
    df = pd.DataFrame(rows, columns=["key", "cluster_id"]).assign(confidence=confidence)
    df["cluster_size"] = df.groupby("cluster_id")["key"].transform("size")
    return df


def groups(clusters: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(g) for g in clusters.groupby("cluster_id")["key"]
            .apply(list)}


def by_key(clusters: pd.DataFrame) -> pd.DataFrame:
    return clusters.set_index("key")


# -- semantics of each decision ------------------------------------------------------------------
def test_no_decisions_keeps_the_model_clustering():
    c = frame([["a", "b"], ["c"]])
    out = apply_decisions(c, [])
    assert groups(out) == groups(c)
    assert list(out.columns) == ["key", "cluster_id", "confidence", "cluster_size", "decision", "reviewed"]
    assert not out["reviewed"].any() and out["decision"].isna().all()


def test_split_makes_the_record_a_singleton_and_the_rest_stays_together():
    out = apply_decisions(frame([["a", "b", "c"], ["d"]]), [("split", ["a", "b", "c"])])
    assert groups(out) == {frozenset("a"), frozenset("bc"), frozenset("d")}
    k = by_key(out)
    # the remainder lost its id record: it takes its smallest key, never the split record's id
    assert k.loc["b", "cluster_id"] == "b" and k.loc["a", "cluster_id"] == "a"
    assert k.loc["a", "decision"] == "split" and k.loc["a", "confidence"] == 1.0
    assert k.loc["b", "decision"] is None and k.loc["b", "confidence"] == 0.7  # still to be reviewed
    assert list(out["cluster_size"]) == [1, 2, 2, 1]


def test_merge_joins_whole_clusters():
    out = apply_decisions(frame([["a", "b"], ["c", "d"], ["e"]]), [("merge", ["a", "c"])])
    assert groups(out) == {frozenset("abcd"), frozenset("e")}
    assert set(out.loc[out["key"] != "e", "decision"]) == {"merge"}
    assert set(out.loc[out["key"] != "e", "cluster_id"]) == {"a"}
    assert (out.loc[out["key"] != "e", "cluster_size"] == 4).all()


def test_verify_pulls_members_together_and_keeps_outsiders_out():
    # verified {a, b, c}; the new clustering split it ({a, b} and {c, x}) and added y to {a, b}
    out = apply_decisions(frame([["a", "b", "y"], ["c", "x"]]), [("verify", ["a", "b", "c"])])
    assert groups(out) == {frozenset("abc"), frozenset("y"), frozenset("x")}
    k = by_key(out)
    assert k.loc["a", "decision"] == "verify" and k.loc["a", "confidence"] == 1.0
    assert k.loc["y", "decision"] is None and not k.loc["y", "reviewed"]


def test_verify_leaves_outsiders_grouped_as_the_model_grouped_them():
    out = apply_decisions(frame([["a", "b", "x", "y"]]), [("verify", ["a", "b"])])
    assert groups(out) == {frozenset("ab"), frozenset("xy")}
    assert by_key(out).loc["x", "cluster_id"] == "x"


def test_decisions_apply_oldest_first_so_the_newest_wins():
    c = frame([["a", "b", "c"], ["d"]])
    # split a, then change one's mind and merge a with d
    out = apply_decisions(c, [("split", ["a", "b", "c"]), ("merge", ["a", "d"])])
    assert groups(out) == {frozenset("ad"), frozenset("bc")}
    # verify, then split one record out of the verified cluster
    out = apply_decisions(c, [("verify", ["a", "b", "c"]), ("split", ["c", "a", "b"])])
    assert groups(out) == {frozenset("ab"), frozenset("c"), frozenset("d")}
    assert by_key(out).loc["a", "decision"] == "verify"


def test_keys_no_longer_in_the_data_are_ignored_and_unknown_actions_refused():
    c = frame([["a", "b"], ["c"]])
    out = apply_decisions(c, [("split", ["gone", "a"]), ("verify", ["zz"]), ("merge", ["c", "gone"])])
    assert groups(out) == groups(c)
    with pytest.raises(WorkbenchError, match="unknown review action"):
        apply_decisions(c, [("delete", ["a"])])


def test_keys_are_compared_as_text():
    c = pd.DataFrame({"key": [1, 2, 3], "cluster_id": [1, 1, 3], "confidence": [0.5, 0.5, 1.0]})
    out = apply_decisions(c, [("merge", ["2", "3"])])
    assert groups(out) == {frozenset({"1", "2", "3"})}


# -- properties ----------------------------------------------------------------------------------
KEYS = [f"k{i:02d}" for i in range(12)]


@st.composite
def clusterings(draw):
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=12, unique=True))
    labels = draw(st.lists(st.integers(0, 4), min_size=len(keys), max_size=len(keys)))
    groups_: dict[int, list[str]] = {}
    for k, lab in zip(keys, labels, strict=True):
        groups_.setdefault(lab, []).append(k)
    confidence = draw(st.lists(st.floats(0, 1), min_size=len(keys), max_size=len(keys)))
    c = frame(list(groups_.values()))
    c["confidence"] = confidence
    return c


decision_lists = st.lists(
    st.tuples(st.sampled_from(["split", "merge", "verify"]),
              st.lists(st.sampled_from(KEYS + ["gone"]), min_size=1, max_size=5)),
    max_size=8)


@settings(max_examples=300, deadline=None)
@given(clusterings(), decision_lists)
def test_apply_decisions_yields_a_partition(clusters, decisions):
    out = apply_decisions(clusters, decisions)
    assert sorted(out["key"]) == sorted(clusters["key"])  # every key exactly once
    assert not out["key"].duplicated().any()
    for cid, members in out.groupby("cluster_id")["key"]:
        assert cid in set(members)  # a cluster's id is one of its records
        assert (out.loc[members.index, "cluster_size"] == len(members)).all()
    assert out["confidence"].between(0, 1).all()
    assert (out["reviewed"] == out["decision"].notna()).all()


@settings(max_examples=300, deadline=None)
@given(clusterings(), decision_lists)
def test_the_newest_decision_holds(clusters, decisions):
    out = apply_decisions(clusters, decisions)
    if not decisions:
        return
    action, keys = decisions[-1]
    present = [k for k in dict.fromkeys(keys) if k in set(clusters["key"])]
    if not present:
        return
    k = by_key(out)
    if action == "split":
        if keys[0] in present:
            assert k.loc[keys[0], "cluster_size"] == 1
    elif action == "verify":
        assert set(out.loc[out["cluster_id"] == k.loc[present[0], "cluster_id"], "key"]) == set(present)
    else:
        assert k.loc[present, "cluster_id"].nunique() == 1


@settings(max_examples=100, deadline=None)
@given(clusterings(), st.sampled_from(["confidence", "size"]))
def test_queue_lists_every_multi_record_cluster_once(clusters, sort):
    out = apply_decisions(clusters, [])
    q = review_queue(out, sort=sort)
    assert sorted(q["cluster_id"]) == sorted(out.loc[out["cluster_size"] > 1, "cluster_id"].unique())
    col = "confidence" if sort == "confidence" else "cluster_size"
    values = list(q[col])
    assert values == sorted(values, reverse=(sort == "size"))


# -- the decision store --------------------------------------------------------------------------
def test_decisions_are_stored_with_analyst_time_and_audit(tmp_path):
    ws = Workspace(tmp_path / "ws", user="ana")
    rd = ReviewDecisions(ws, "dedupe:customers")
    s = rd.split("b", ["a", "b", "c"], note="different person")
    m = rd.merge(["a", "c"], ["d"])
    v = rd.verify(["c", "a"])
    assert (s.keys, m.keys, v.keys) == (("b", "a", "c"), ("a", "c", "d"), ("a", "c"))
    assert [d.action for d in rd.active()] == ["split", "merge", "verify"]
    assert all(d.analyst == "ana" and d.at is not None for d in rd.active())
    assert rd.active()[0].note == "different person"
    # another task does not see them; a new Workspace object does (they are in the store)
    assert ReviewDecisions(ws, "dedupe:other").active() == []
    assert len(ReviewDecisions(Workspace(tmp_path / "ws"), "dedupe:customers")) == 3

    undone = rd.undo()
    assert undone.id == v.id and [d.action for d in rd.active()] == ["split", "merge"]
    assert rd.undo(s.id).id == s.id and [d.action for d in rd.active()] == ["merge"]
    with pytest.raises(WorkbenchError, match="no active review decision"):
        rd.undo(s.id)
    history = rd.frame(include_undone=True)
    assert list(history["action"]) == ["split", "merge", "verify"] and history["undone_at"].notna().sum() == 2
    audit = ws.audit_log()
    assert list(audit.loc[audit["action"].str.startswith("review:"), "action"]) == [
        "review:split", "review:merge", "review:verify", "review:undo", "review:undo"]
    assert set(audit.loc[audit["action"].str.startswith("review:"), "user"]) == {"ana"}
    rd.undo()
    assert rd.undo() is None


def test_decisions_refuse_empty_merges_and_verifies(tmp_path):
    rd = ReviewDecisions(Workspace(tmp_path / "ws"), "t")
    with pytest.raises(WorkbenchError):
        rd.merge(["a"], ["a"])
    with pytest.raises(WorkbenchError):
        rd.verify([])


# -- the review of a stored clustering -----------------------------------------------------------
def test_review_queue_members_links_and_neighbours(review_ws):
    rv = ClusterReview(review_ws, "customers")
    assert rv.task == "dedupe:customers" and rv.threshold == 0.5 and rv.message == ""
    q = rv.queue("confidence")
    assert list(q["cluster_id"]) == ["K1", "K4"] and list(q["cluster_size"]) == [3, 2]
    assert q.loc[0, "sources"] == "crm, web"
    assert list(rv.queue("size")["cluster_id"]) == ["K1", "K4"]
    assert list(rv.queue("confidence", "pos")["cluster_id"]) == ["K4"]
    assert rv.queue("confidence", "nowhere").empty
    assert rv.sources() == ["crm", "pos", "web"]

    members = rv.members("K1")
    assert list(members.index) == ["K1", "K2", "K3"] and list(members["_confidence"]) == [0.6, 0.6, 0.7]
    links = rv.links("K1")
    assert [(a, b) for a, b in links[["left_key", "right_key"]].itertuples(index=False)] == [
        ("K1", "K2"), ("K2", "K3"), ("K1", "K3")]
    assert list(links["joined"]) == [True, True, False]  # the pairs above the threshold joined them
    n = rv.neighbours("K1")
    assert list(n["cluster_id"]) == ["K4"] and n.loc[0, "score"] == pytest.approx(0.4)


def test_review_decisions_change_the_queue_and_current_clusters(review_ws):
    rv = ClusterReview(review_ws, "customers")
    rv.split("K1")
    assert rv.cluster_of("K1") == "K1" and rv.cluster_of("K2") == "K2"
    assert list(rv.member_keys("K2")) == ["K2", "K3"]
    rv.verify("K2")
    q = rv.queue()
    assert set(q["cluster_id"]) == {"K2", "K4"} and q.set_index("cluster_id").loc["K2", "decision"] == "verify"
    assert list(rv.queue(include_reviewed=False)["cluster_id"]) == ["K4"]
    rv.merge("K2", "K5")  # by any record key of the other cluster
    assert rv.member_keys("K2") == ["K2", "K3", "K4", "K5"]
    with pytest.raises(WorkbenchError, match="already in cluster"):
        rv.merge("K2", "K4")
    with pytest.raises(WorkbenchError, match="already on its own"):
        rv.split("K6")
    with pytest.raises(WorkbenchError, match="no record"):
        rv.merge("K2", "nobody")

    cur = current_clusters(review_ws, "customers")
    assert groups(cur) == {frozenset({"K1"}), frozenset({"K2", "K3", "K4", "K5"}), frozenset({"K6"})}
    assert rv.undo().action == "merge"
    assert groups(current_clusters(review_ws, review_ws.dataset("customers"))) == {
        frozenset({"K1"}), frozenset({"K2", "K3"}), frozenset({"K4", "K5"}), frozenset({"K6"})}


def test_summary_per_cluster_size(review_ws):
    clusters = current_clusters(review_ws, "customers")
    s = cluster_summary(clusters)
    assert list(s["size"]) == [1, 2, 3] and list(s["clusters"]) == [1, 1, 1] and s["records"].sum() == 6
    fig = summary_figure(clusters)
    assert len(fig.data) == 2


def test_without_a_clustering(workspace_copy):
    ws = Workspace(workspace_copy)
    with pytest.raises(WorkbenchError, match="not been clustered yet"):
        current_clusters(ws, "customers")
    rv = ClusterReview(ws, "customers")
    assert "not been clustered yet" in rv.message and rv.queue().empty and rv.clusters.empty
    cluster_summary(rv.clusters)
    summary_figure(rv.clusters)


# -- with the engine: decisions survive re-clustering ------------------------------------------
def test_decisions_survive_reclustering(deduped_copy):
    from workbench import access

    access.grant(Workspace(deduped_copy), "reviewer", "analyst")  # granted by the workspace's admin
    ws = Workspace(deduped_copy, user="reviewer")
    rv = ClusterReview(ws, "customers")
    base = rv.clusters
    assert groups(current_clusters(ws, "customers")) == groups(
        pd.read_parquet(ws.path / rv.run["folder"] / artifacts.CLUSTERS))
    q = rv.queue("size")
    big, other = q["cluster_id"].iloc[0], q["cluster_id"].iloc[1]
    split_key = rv.member_keys(big)[-1]
    rv.split(split_key)
    # verify a cluster the model did not make: `other` plus a singleton
    lonely = base.loc[base["cluster_size"] == 1, "key"].iloc[0]
    rv.merge(other, lonely)
    verified = set(rv.member_keys(rv.cluster_of(lonely)))
    rv.verify(rv.cluster_of(lonely))

    dd = ws.deduper("customers")
    again = dd.cluster(progress=False).clusters  # the model alone would undo all of this
    k = by_key(again)
    assert k.loc[split_key, "cluster_size"] == 1 and k.loc[split_key, "decision"] == "split"
    assert set(again.loc[again["cluster_id"] == k.loc[lonely, "cluster_id"], "key"]) == verified
    assert k.loc[lonely, "decision"] == "verify"
    assert sorted(again["key"]) == sorted(base["key"])
    # what cluster() returns is what it stores and what current_clusters gives
    run = ws.latest_result("dedupe", ws.dataset("customers"))
    stored = pd.read_parquet(ws.path / run["folder"] / artifacts.CLUSTERS)
    assert groups(stored) == groups(again) == groups(current_clusters(ws, "customers"))
    model = pd.read_parquet(ws.path / run["folder"] / artifacts.CLUSTERS_MODEL)
    assert groups(model) != groups(again)
    # undoing the split after re-clustering gives the record back to the model
    ReviewDecisions(ws, run["task"]).undo(ReviewDecisions(ws, run["task"]).active()[0].id)
    assert by_key(current_clusters(ws, "customers")).loc[split_key, "cluster_id"] == by_key(model).loc[
        split_key, "cluster_id"]


def test_refresh_after_decisions_equals_replaying_them_over_the_whole_clustering(deduped_copy):
    """ClusterReview re-applies decisions to the clusters they touch only; the result must be the full replay."""
    import random

    from workbench.review import _model_clusters, apply_decisions

    ws = Workspace(deduped_copy, user="tester")
    try:
        rv = ClusterReview(ws, "customers")
        rng = random.Random(7)
        multi = rv.queue()["cluster_id"].tolist()
        for step in range(30):
            cid = rng.choice(multi)
            keys = rv.member_keys(rv.cluster_of(cid))
            action = rng.choice(["split", "merge", "verify", "undo"] if step else ["split"])
            if action == "split" and len(keys) > 1:
                rv.split(rng.choice(keys))
            elif action == "merge":
                other = rng.choice(multi)
                if rv.cluster_of(other) != rv.cluster_of(cid):
                    rv.merge(rv.cluster_of(cid), other)
            elif action == "verify":
                rv.verify(rv.cluster_of(cid))
            elif action == "undo":
                rv.undo()
            full = apply_decisions(_model_clusters(ws, rv.run), rv.decisions.active())
            pd.testing.assert_frame_equal(rv.clusters.reset_index(drop=True), full.reset_index(drop=True),
                                          check_dtype=False)
            for key in rng.sample(list(full["key"]), 5):  # lookups agree with the frame
                assert rv.cluster_of(key) == full.loc[full["key"] == key, "cluster_id"].iloc[0]
                assert set(rv.member_keys(rv.cluster_of(key))) == set(
                    full.loc[full["cluster_id"] == rv.cluster_of(key), "key"])
        assert len(rv.decisions) > 5
    finally:
        ws.close()
