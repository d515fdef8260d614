"""Notes and tags on records and clusters: stored with analyst and time, audited, shown and filtered in
the review app, exported with golden records, and on the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench import WorkbenchError, Workspace, access
from workbench.annotations import Annotations, per_golden
from workbench.cli import main
from workbench.golden.build import golden_from_workspace
from workbench.review import ClusterReview
from workbench.ui.review_app import ReviewApp


@pytest.fixture
def ws(tmp_path):
    src = tmp_path / "people.csv"
    src.write_text("id,name\n1,Ann\n2,Ann B\n3,Bob\n", encoding="utf-8")
    ws = Workspace(tmp_path / "ws", user="ann")
    ws.load(src, key="id")
    return ws


def test_notes_and_tags_on_records_and_clusters(ws):
    notes = Annotations(ws, "people")
    n1 = notes.note("1", "  called her: moved to Leeds  ")
    n2 = notes.note(["2", "1"], "same person, checked by phone")
    notes.tag("3", "VIP")
    assert (n1.target_kind, n1.keys, n1.text, n1.analyst) == ("record", ("1",), "called her: moved to Leeds", "ann")
    assert (n2.target_kind, n2.keys) == ("cluster", ("1", "2"))
    assert [a.text for a in notes.for_keys(["2"])] == ["same person, checked by phone"]
    assert [a.id for a in notes.for_keys(["1"])] == [n1.id, n2.id]
    assert notes.tags_by_key() == {"3": {"vip"}} and notes.tags() == ["vip"]
    # every version of the dataset shares them; they survive reopening
    again = Annotations(Workspace(ws.path, user="ann"), ws.dataset("people"))
    assert [a.id for a in again.active()] == [n1.id, n2.id, n1.id + 2]
    assert list(again.frame().columns) == ["id", "target_kind", "target", "kind", "text", "analyst", "at"]


def test_removing_marks_and_audits_without_copying_the_text(ws):
    notes = Annotations(ws, "people")
    a = notes.note("1", "phone 0161 496 0000")
    notes.tag(["1", "2"], "gdpr-hold")
    assert notes.untag(["2", "1"], "gdpr-hold") == 1
    notes.remove(a.id)
    assert notes.active() == []
    with pytest.raises(WorkbenchError, match=f"no note or tag {a.id}"):
        notes.remove(a.id)
    log = ws.audit_log()
    actions = log["action"].tolist()
    assert actions[-4:] == ["annotation:note", "annotation:tag", "annotation:remove", "annotation:remove"]
    assert "0161" not in " ".join(log["details_json"]) and json.loads(log.iloc[-4]["details_json"])["records"] == 1


def test_bad_notes_and_tags_and_viewers_are_refused(ws):
    notes = Annotations(ws, "people")
    with pytest.raises(WorkbenchError, match="needs some text"):
        notes.note("1", "   ")
    with pytest.raises(WorkbenchError, match="at most 2,000 characters"):
        notes.note("1", "x" * 2001)
    with pytest.raises(WorkbenchError, match="tag 'two words'"):
        notes.tag("1", "two words")
    with pytest.raises(WorkbenchError, match="record key or a cluster"):
        notes.tag([], "vip")
    viewer = Annotations(Workspace(ws.path, user="visitor"), "people")
    with pytest.raises(WorkbenchError, match="needs the analyst role"):
        viewer.note("1", "hello")
    assert notes.active() == []


def test_per_golden_gathers_tags_and_notes_by_golden_record():
    crosswalk = pd.DataFrame({"record_key": ["1", "2", "3"], "golden_id": ["g1", "g1", "g3"]})

    class A:
        def __init__(self, keys, kind, text):
            self.keys, self.kind, self.text = keys, kind, text
            self.analyst, self.at = "ann", pd.Timestamp("2026-11-30 10:00")

    out = per_golden([A(("2",), "tag", "vip"), A(("1", "3"), "note", "check"), A(("1",), "tag", "b2b")], crosswalk)
    assert out.to_dict("records") == [
        {"golden_id": "g1", "tags": "b2b; vip", "notes": "ann, 2026-11-30: check"},
        {"golden_id": "g3", "tags": "", "notes": "ann, 2026-11-30: check"}]


def test_review_queue_filters_by_tag_and_the_app_shows_and_adds_notes(deduped_copy):
    ws = Workspace(deduped_copy, user="tester")
    review = ClusterReview(ws, "customers")
    queue = review.queue()
    first, second = (str(c) for c in queue["cluster_id"].iloc[:2])
    review.annotations.tag(review.member_keys(second)[-1], "fraud-check")  # one record of the cluster
    assert review.queue(tag="fraud-check")["cluster_id"].tolist() == [second]
    assert review.queue(tag="nobody-uses-this").empty

    app = ReviewApp(ws, "customers")
    assert ("fraud-check", "fraud-check") in app.tag_filter.options
    app.tag_filter.value = "fraud-check"
    assert app.cluster_id == second and "fraud-check" in app.notes_html.value
    app.tag_filter.value = "__all__"
    app._show(first)
    app.note_text.value = "<img src=x onerror=alert(1)> call 0161 496 0000 or ann@example.com"
    app.add_note.click()
    assert "Note added" in app.message.value and app.note_text.value == ""
    shown = app.notes_html.value
    assert "<img" not in shown and "&lt;img" in shown  # escaped
    assert "ann@example.com" not in shown and "496 0000" not in shown  # masked for this view
    stored = [a.text for a in review.annotations.for_keys(review.member_keys(first))]
    assert stored == ["<img src=x onerror=alert(1)> call 0161 496 0000 or ann@example.com"]


def test_golden_export_carries_notes_and_tags(deduped_copy, tmp_path):
    ws = Workspace(deduped_copy, user="tester")
    review = ClusterReview(ws, "customers")
    cluster = str(review.queue()["cluster_id"].iloc[0])
    keys = review.member_keys(cluster)
    notes = Annotations(ws, "customers")
    notes.tag(keys, "vip")
    notes.note(keys[0], "prefers post")
    result = golden_from_workspace(ws, "customers")
    paths = result.export(tmp_path / "out", formats=("csv",))
    exported = pd.read_csv(paths["annotations.csv"], dtype=str)
    golden_id = result.crosswalk.set_index("record_key").loc[keys[0], "golden_id"]
    row = exported[exported["golden_id"] == str(golden_id)].iloc[0]
    assert row["tags"] == "vip" and row["notes"].endswith("prefers post")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["files"]["annotations.csv"]["rows"] == len(exported) == 1


def test_cli_adds_and_lists_notes_masked_for_analysts(ws, capsys):
    path = str(ws.path)
    access.grant(ws, access.os_user(), "analyst")  # the command line acts as the OS login
    assert main(["notes", "people", "--workspace", path, "--on", "1", "--add", "mail ann@example.com"]) == 0
    assert main(["notes", "people", "--workspace", path, "--on", "1", "2", "--tag", "vip"]) == 0
    out = capsys.readouterr().out
    assert "note 1 added on record 1" in out and "tag 2 added on cluster 1, 2" in out
    assert main(["notes", "people", "--workspace", path]) == 0
    listed = capsys.readouterr().out
    assert "vip" in listed and "mail a" in listed and "ann@example.com" not in listed  # analysts see it masked
    access.grant(ws, access.os_user(), "steward")
    assert main(["notes", "people", "--workspace", path]) == 0
    assert "mail ann@example.com" in capsys.readouterr().out  # stewards may see personal data
    assert main(["notes", "people", "--workspace", path, "--tag", "vip"]) == 2
    assert "--on KEY" in capsys.readouterr().err
