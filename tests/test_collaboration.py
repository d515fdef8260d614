"""Analysts working together on one workspace: own undo, leased pairs, conflicts for a steward, audit.

Each analyst is a separate ``Workspace`` object on the same folder (as two
notebooks or two machines would open it), with their own user name.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest
import sqlalchemy as sa

import pg_server as pg
from workbench import Workspace, access, store
from workbench.errors import WorkbenchError
from workbench.matching.labels import LabelStore
from workbench.review import ClusterReview, ReviewDecisions

pg_server, pg_database = pg.pg_server, pg.pg_database  # the PostgreSQL fixtures, for this module

TASK = "dedupe:customers"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "customers.csv"
REC = {"name": "x"}


def _open(path, user, role="analyst"):
    """``user``'s workspace; ``role`` is granted by the workspace's admin (its first user) unless held already."""
    ws = Workspace(path, user=user)
    if role is not None and not access.at_least(ws.role, role):
        admin = access.users(ws).query("role == 'admin'")["name"].iloc[0]
        access.grant(Workspace(path, user=admin), user, role)
    return Workspace(path, user=user)


def _audit(ws, action):
    log = ws.audit_log()
    return log[log["action"] == action]


# -- 1. undo takes back only the analyst's own last action --------------------------------------

def test_label_undo_takes_back_only_the_analysts_own_label(tmp_path):
    alice, bob = _open(tmp_path, "alice"), _open(tmp_path, "bob")
    a, b = LabelStore(alice, TASK), LabelStore(bob, TASK)
    a.add("1", "2", "match", REC, REC)
    b.add("3", "4", "distinct", REC, REC)  # the newest label in the workspace is bob's

    undone = a.undo_last()
    assert (undone.left_key, undone.analyst) == ("1", "alice")
    assert [(x.left_key, x.analyst) for x in b.active()] == [("3", "bob")]
    assert a.undo_last() is None  # alice has nothing left; bob's label stays
    assert [(x.left_key, x.analyst) for x in a.active()] == [("3", "bob")]
    assert b.undo_last().analyst == "bob" and b.active() == []


def test_session_undo_and_review_undo_leave_other_analysts_alone(tmp_path):
    alice, bob = _open(tmp_path, "alice"), _open(tmp_path, "bob")
    ra, rb = ReviewDecisions(alice, TASK), ReviewDecisions(bob, TASK)
    mine = ra.verify(["1", "2"])
    theirs = rb.merge(["3"], ["4"])

    assert ra.undo().id == mine.id
    assert [d.id for d in rb.active()] == [theirs.id]
    assert ra.undo() is None
    with pytest.raises(WorkbenchError, match="made by bob"):
        ra.undo(theirs.id)
    assert [d.id for d in rb.active()] == [theirs.id]
    assert rb.undo().id == theirs.id


def test_cluster_review_undo_is_the_users_own(deduped_copy):
    alice, bob = _open(deduped_copy, "alice"), _open(deduped_copy, "bob")
    rv_a, rv_b = ClusterReview(alice, "customers"), ClusterReview(bob, "customers")
    cid = rv_a.queue().iloc[0]["cluster_id"]
    other = rv_a.queue().iloc[1]["cluster_id"]
    mine = rv_a.verify(cid)
    theirs = rv_b.merge(cid, other)
    assert rv_a.undo().id == mine.id
    rv_b.refresh()
    assert [d.id for d in rv_b.decisions.active()] == [theirs.id]


def test_cluster_review_shows_a_conflicted_pair_as_a_conflict_until_resolved(deduped_copy):
    alice, bob = _open(deduped_copy, "alice"), _open(deduped_copy, "bob")
    steward = _open(deduped_copy, "sam", role="steward")
    rv = ClusterReview(alice, "customers")
    cid = rv.queue().iloc[0]["cluster_id"]
    first, second = sorted(rv.member_keys(cid))[:2]
    LabelStore(alice, rv.task).add(first, second, "match", REC, REC)
    LabelStore(bob, rv.task).add(second, first, "distinct", REC, REC)  # the newest label, but not the answer
    links = rv.links(cid).set_index(["left_key", "right_key"])
    pair = (first, second) if (first, second) in links.index else (second, first)
    assert rv.pair_labels()[(first, second)] == "conflict"
    assert links.loc[pair, "label"] == "conflict"
    LabelStore(steward, rv.task).resolve(first, second, "match")
    assert rv.pair_labels()[(first, second)] == "match"


# -- 2. every label, undo, resolution and review decision is audited -------------------------------

def test_labels_undo_resolution_and_review_decisions_are_audited(tmp_path):
    alice, bob = _open(tmp_path, "alice"), _open(tmp_path, "bob")
    steward = _open(tmp_path, "sam", role="steward")
    a = LabelStore(alice, TASK)
    lab = a.add("1", "2", "match", {"email": "a@x.com"}, REC)
    LabelStore(bob, TASK).add("2", "1", "distinct", REC, REC)
    LabelStore(steward, TASK).resolve("1", "2", "match")
    a.undo_last()
    rv = ReviewDecisions(bob, TASK)
    rv.split("5", ["5", "6"])
    rv.merge(["5"], ["7"])
    rv.verify(["8", "9"])
    rv.undo()

    log = alice.audit_log()
    added = _audit(alice, "label:add")
    assert list(added["user"]) == ["alice", "bob"] and set(added["target"]) == {TASK}
    assert f'"label_id": {lab.id}' in added.iloc[0]["details_json"]
    assert "a@x.com" not in "".join(log["details_json"])  # keys and labels, never the records' values
    assert list(_audit(alice, "label:undo")["user"]) == ["alice"]
    assert list(_audit(alice, "label:resolve")["user"]) == ["sam"]
    review = log[log["action"].str.startswith("review:")]
    assert list(review["action"]) == ["review:split", "review:merge", "review:verify", "review:undo"]
    assert set(review["user"]) == {"bob"}


def test_a_label_or_decision_is_stored_with_its_audit_entry_or_not_at_all(tmp_path, monkeypatch):
    from workbench import audit

    alice = _open(tmp_path, "alice")
    a, rv = LabelStore(alice, TASK), ReviewDecisions(alice, TASK)
    a.add("1", "2", "match", REC, REC)
    rv.verify(["1", "2"])
    entries = len(alice.audit_log())

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(audit, "append", crash)  # the audit write fails (a crash, a full disk)
    for action in (lambda: a.add("3", "4", "distinct", REC, REC), a.undo_last,
                   lambda: rv.split("5", ["5", "6"]), rv.undo):
        with pytest.raises(OSError):
            action()
        # nothing changed without its audit entry: the labels and decisions are as before
        assert [(x.left_key, x.label) for x in a.active()] == [("1", "match")]
        assert [d.action for d in rv.active()] == ["verify"]
    monkeypatch.undo()
    assert len(alice.audit_log()) == entries


# -- 3. analysts working at the same time get different pairs ---------------------------------------

def test_two_sessions_at_once_are_handed_different_pairs(workspace_copy):
    alice, bob = _open(workspace_copy, "alice"), _open(workspace_copy, "bob")
    dd_a, dd_b = alice.deduper("customers"), bob.deduper("customers")  # same seed: the same pool and order
    seen_a, seen_b = [], []
    for _ in range(6):
        pa, pb = dd_a.next_pair(), dd_b.next_pair()
        seen_a.append((pa.left_id, pa.right_id))
        seen_b.append((pb.left_id, pb.right_id))
        assert seen_a[-1] != seen_b[-1]
        dd_a.mark(pa, "distinct")
        dd_b.mark(pb, "distinct")
    assert not set(seen_a) & set(seen_b)
    statements = LabelStore(alice, TASK).statements()
    assert len(statements) == 12 and LabelStore(alice, TASK).conflicts().empty


def test_a_leased_pair_is_skipped_until_its_lease_runs_out(workspace_copy):
    alice, bob = _open(workspace_copy, "alice"), _open(workspace_copy, "bob")
    dd_a, dd_b = alice.deduper("customers"), bob.deduper("customers")
    pa = dd_a.next_pair()
    assert dd_a.next_pair() == pa  # asking again renews alice's own lease
    assert not dd_b.labels.lease(pa.left_id, pa.right_id)
    pb = dd_b.next_pair()
    assert (pb.left_id, pb.right_id) != (pa.left_id, pa.right_id)
    dd_b.mark(pb, "distinct")

    t = store.pair_leases_table  # alice walks away: her lease runs out
    with alice.engine.begin() as conn:
        conn.execute(t.update().where(t.c.analyst == "alice").values(expires=0))
    assert dd_b.labels.lease(pa.left_id, pa.right_id)
    # alice's session notices it lost the pair and hands her another one
    assert (dd_a.next_pair().left_id, dd_a.next_pair().right_id) != (pa.left_id, pa.right_id)


def test_a_pair_labeled_by_another_analyst_is_not_handed_out(workspace_copy):
    alice, bob = _open(workspace_copy, "alice"), _open(workspace_copy, "bob")
    dd_a, dd_b = alice.deduper("customers"), bob.deduper("customers")
    pa = dd_a.next_pair()
    dd_a.mark(pa, "match")
    with alice.engine.begin() as conn:  # even once alice's lease is gone, her label keeps the pair hers
        conn.execute(store.pair_leases_table.delete())
    keys = {(p.left_id, p.right_id) for p in [dd_b.next_pair()]}
    assert (pa.left_id, pa.right_id) not in keys and (pa.right_id, pa.left_id) not in keys


def _label_in_process(path, user, n, queue, store_url=None):
    try:
        ws = Workspace(path, user=user, store=store_url)
        dd = ws.deduper("customers")
        got = []
        for _ in range(n):
            pair = dd.next_pair()
            dd.mark(pair, "distinct")
            got.append((pair.left_id, pair.right_id))
        queue.put(got)
    except Exception as exc:  # the parent fails with it instead of waiting
        queue.put(repr(exc))


def _label_in_two_processes(path, n, store_url=None) -> list[tuple[str, str]]:
    """ann and ben each label ``n`` pairs in a process of their own, at once; the pairs they were handed."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_label_in_process, args=(str(path), u, n, queue, store_url)) for u in ("ann", "ben")]
    for p in procs:
        p.start()
    results = [queue.get(timeout=600) for _ in procs]
    assert all(isinstance(r, list) for r in results), results
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return [tuple(sorted(x)) for got in results for x in got]


def test_two_processes_label_different_pairs_and_lose_none(workspace_copy):
    for user in ("ann", "ben"):  # migrated, and the analysts known, before they arrive
        _open(workspace_copy, user).close()
    pairs = _label_in_two_processes(workspace_copy, 8)
    assert len(pairs) == 16 and len(set(pairs)) == 16  # no pair handed to both
    stored = LabelStore(Workspace(workspace_copy, user="x"), TASK).statements()
    assert len(stored) == 16  # none lost


def test_two_analysts_in_two_processes_on_a_postgresql_store(tmp_path, pg_database):
    path = tmp_path / "ws"
    admin = Workspace(path, user="admin", store=pg_database)
    admin.load(SAMPLE, name="customers", key="customer_id")
    for user in ("ann", "ben"):
        access.grant(admin, user, "analyst")
    pairs = _label_in_two_processes(path, 6, pg_database)
    assert len(pairs) == 12 and len(set(pairs)) == 12  # no pair handed to both
    stored = LabelStore(admin, TASK).statements()
    assert len(stored) == 12 and {x.analyst for x in stored} == {"ann", "ben"}  # none lost
    assert admin.engine.dialect.name == "postgresql" and not (path / Workspace.DB_FILE).exists()


# -- 4. conflicting labels are flagged for a steward, not overwritten -----------------------------------

def test_conflicting_labels_are_kept_flagged_and_train_nothing(tmp_path):
    alice, bob = _open(tmp_path, "alice"), _open(tmp_path, "bob")
    a, b = LabelStore(alice, TASK), LabelStore(bob, TASK)
    a.add("1", "2", "match", REC, REC)
    a.add("5", "6", "match", REC, REC)
    b.add("2", "1", "distinct", REC, REC)  # later and different: must not win
    b.add("6", "5", "match", REC, REC)  # agreement is no conflict

    assert len(a.statements()) == 4
    assert [(x.left_key, x.right_key, x.label) for x in a.active()] == [("6", "5", "match")]
    conflicts = a.conflicts()
    assert list(conflicts["labels"]) == ["alice: match; bob: distinct"]
    assert a.in_conflict("2", "1") and not a.in_conflict("5", "6")
    assert a.counts() == {"match": 1, "distinct": 0, "unsure": 0, "conflict": 1}
    assert a.to_training_json() == {"match": [[REC, REC]], "distinct": []}


def test_an_analyst_changing_their_own_mind_is_no_conflict(tmp_path):
    a = LabelStore(_open(tmp_path, "alice"), TASK)
    a.add("1", "2", "match", REC, REC)
    a.add("1", "2", "distinct", REC, REC)
    assert a.conflicts().empty and [x.label for x in a.active()] == ["distinct"]


def test_only_a_steward_resolves_a_conflict_and_the_resolution_trains(tmp_path):
    alice, bob = _open(tmp_path, "alice"), _open(tmp_path, "bob")
    LabelStore(alice, TASK).add("1", "2", "match", REC, REC)
    LabelStore(bob, TASK).add("1", "2", "distinct", REC, REC)

    for ws in (bob, _open(tmp_path, "vic", role="viewer"), _open(tmp_path, "ana", role="analyst")):
        with pytest.raises(access.AccessDenied, match="needs the steward role"):
            LabelStore(ws, TASK).resolve("1", "2", "match")
    steward = LabelStore(_open(tmp_path, "sam", role="steward"), TASK)
    with pytest.raises(WorkbenchError, match="nothing to resolve"):
        steward.resolve("7", "8", "match")
    steward.resolve("2", "1", "distinct")

    assert steward.conflicts().empty
    [settled] = steward.active()
    assert (settled.label, settled.analyst, settled.resolution) == ("distinct", "sam", True)
    assert len(steward.statements()) == 2  # the analysts' labels stay as they were
    assert LabelStore(alice, TASK).to_training_json()["distinct"] == [[REC, REC]]


def test_a_session_trains_on_neither_side_of_a_conflict(workspace_copy):
    alice, bob = _open(workspace_copy, "alice"), _open(workspace_copy, "bob")
    dd_a, dd_b = alice.deduper("customers"), bob.deduper("customers")
    pair = dd_a.next_pair()
    dd_a.mark(pair, "match")
    progress = dd_b.mark(pair, "distinct")
    assert (progress.match, progress.distinct, progress.conflict) == (0, 0, 1)
    assert "1 in conflict" in str(progress)
    _, y = dd_b._labeled_features()
    assert len(y) == 0


def test_labeling_app_says_when_a_label_conflicts(workspace_copy, widget_errors):
    from workbench.ui.labeling import LabelingApp

    alice, bob = _open(workspace_copy, "alice"), _open(workspace_copy, "bob")
    dd_a = alice.deduper("customers")
    app = LabelingApp(bob.deduper("customers"), keyboard=False)
    shown = app.pair
    dd_a.mark(shown, "match")  # alice labels the very pair bob is looking at
    app.press("n")
    assert "flagged for a steward" in app.status.value
    assert "1 in conflict, awaiting a steward" in app.progress_html.value
    app.press("Backspace")  # bob takes back his own label, not alice's
    assert [(x.analyst, x.label) for x in LabelStore(alice, TASK).active()] == [("alice", "match")]
    assert "in conflict" not in app.progress_html.value
    app.close()
    assert not widget_errors


def test_leases_and_resolutions_live_in_the_store(tmp_path):
    ws = _open(tmp_path, "alice")
    with ws.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {"pair_leases", "label_resolutions"} <= tables
