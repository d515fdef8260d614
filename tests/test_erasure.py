"""The right to erasure: after ``forget`` no file of the workspace holds the customer, and the rest still works."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import Workspace, access, artifacts, audit, store
from workbench.cli import main
from workbench.erasure import ERASED, forget, forgotten
from workbench.errors import WorkbenchError
from workbench.schema import Role

TASK = "dedupe:customers"


@pytest.fixture
def cli():
    """The command line's entry point."""
    from workbench.cli import main

    return main


def _needle(text: str) -> re.Pattern[bytes]:
    """``text`` as a whole word (a key must not be found inside a longer key)."""
    return re.compile(rb"(?<![0-9A-Za-z])" + re.escape(text.encode("utf-8")) + rb"(?![0-9A-Za-z])")


def _files_holding(root: Path, texts: list[str]) -> dict[str, list[str]]:
    """Every file under ``root`` whose bytes, or whose Parquet cells once decompressed, hold one of ``texts``."""
    found: dict[str, list[str]] = {}
    needles = {t: _needle(t) for t in texts}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits = [t for t, n in needles.items() if n.search(data)]
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            cells = "\n".join(frame.astype(str).to_numpy().ravel().tolist()).encode("utf-8")
            hits += [t for t, n in needles.items() if n.search(cells) and t not in hits]
        if hits:
            found[path.relative_to(root).as_posix()] = hits
    return found


def _pick_customer(ws: Workspace) -> dict[str, str]:
    """A labeled customer in a cluster of 2+ whose email, phone and full name no other record (of any dataset) holds."""
    ds = ws.dataset("customers")
    frame, schema = ds.frame.astype(object), ds.schema
    email, phone = schema.column_for(Role.EMAIL), schema.column_for(Role.PHONE)
    first, last = schema.column_for(Role.FIRST_NAME), schema.column_for(Role.LAST_NAME)
    acquired = ws.dataset("acquired").frame.astype(str).to_numpy().ravel()
    with ws.engine.connect() as conn:
        labeled = {k for row in conn.execute(sa.select(store.labels_table.c.left_key, store.labels_table.c.right_key)
                                             .where(store.labels_table.c.task == TASK)) for k in row}
    from workbench.review import current_clusters

    clusters = current_clusters(ws, ds)
    multi = set(clusters.loc[clusters["cluster_size"] > 1, "key"])
    taken = set(acquired)
    names = frame[first].astype(str) + " " + frame[last].astype(str)
    # customers whose key names their cluster first: the scan then also shows the id does not outlive them
    names_cluster = set(clusters.loc[clusters["key"].astype(str) == clusters["cluster_id"].astype(str), "key"])
    chosen = frame[frame[ds.key].isin(labeled & multi)]
    chosen = chosen.assign(_own=~chosen[ds.key].isin(names_cluster)).sort_values(["_own", ds.key]).drop(columns="_own")
    for row in chosen.itertuples(index=False):
        rec = row._asdict()
        values = {"email": rec[email], "phone": rec[phone], "first": rec[first], "last": rec[last]}
        if any(not isinstance(v, str) or not v for v in values.values()):
            continue
        # the needles are the email, the phone and "first last": each must be this record's alone
        unique = (all((frame[col] == rec[col]).sum() == 1 and rec[col] not in taken for col in (email, phone))
                  and (names == f"{rec[first]} {rec[last]}").sum() == 1)
        if unique:
            return {"key": rec[ds.key], **values, "name": f"{values['first']} {values['last']}"}
    raise AssertionError("the sample has no labeled, clustered customer with distinctive values")


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith("workbench.db")}


def _counts(ws: Workspace) -> dict[str, int]:
    with ws.engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in (store.labels_table, store.decisions_table, store.annotations_table, store.audit_table)}


@pytest.fixture
def erasable(deduped_copy, tmp_path):
    """The deduped copy with everything that can hold a customer: golden records and an export of them, a
    review decision, annotations, a cached dashboard summary, an audit entry naming the customer's email."""
    from workbench.dashboards import duplicates
    from workbench.golden import golden_from_workspace
    from workbench.households import households_from_workspace
    from workbench.review import ClusterReview

    ws = Workspace(deduped_copy, user="tester")
    who = _pick_customer(ws)
    with ws.engine.begin() as conn:
        t = store.annotations_table
        conn.execute(t.insert().values(dataset="customers", target_kind="record", target=who["key"], kind="note",
                                       text=f"called, asked about {who['email']}", analyst="tester", at=store.now()))
        conn.execute(t.insert().values(dataset="customers", target_kind="cluster",
                                       target=json.dumps(sorted([who["key"], "C999999"])), kind="tag",
                                       text="vip", analyst="tester", at=store.now()))
    households_from_workspace(ws, "customers")  # golden records then carry notes, consent and the hierarchy
    golden = golden_from_workspace(ws, "customers")
    assert {"annotations", "consent", "hierarchy"} <= set(golden.extras)
    golden.export(tmp_path / "exports" / "golden")
    review = ClusterReview(ws, "customers")
    review.split(who["key"], note=f"not the same as {who['key']}")
    ws.record("reveal", f"record {who['key']}", email=who["email"], role="steward")
    duplicates.warm(ws)
    assert list(deduped_copy.rglob("dashboard-summary.json")), "the dashboard cache was not written"
    yield ws, who, tmp_path / "exports" / "golden"
    ws.close()


def test_forget_leaves_no_trace_of_the_customer_and_the_workspace_still_works(erasable):
    ws, who, export = erasable
    ds_before = ws.dataset("customers")
    before = ds_before.frame
    other = before[before[ds_before.key] != who["key"]].iloc[[0, 100, 2000]]
    needles = [who["key"], who["email"], who["phone"], who["name"]]
    assert _files_holding(ws.path, needles), "the customer should be in the workspace before forgetting"
    assert list(ws.path.rglob(f"{artifacts.PREPARED}/*.arrow")), "a clustering keeps its standardized records"

    report = forget(ws, who["key"])

    # THE scan: no file of the workspace, binary or text, holds the key or the customer's values
    assert _files_holding(ws.path, needles) == {}
    assert report.leftovers == []
    # other customers are intact, and the row accounting still adds up
    ds = ws.dataset("customers")
    assert len(ds.frame) == len(before) - 1
    pd.testing.assert_frame_equal(ds.frame[ds.frame[ds.key].isin(other[ds.key])].reset_index(drop=True),
                                  other.reset_index(drop=True))
    assert ds.rows_read == ds.rows_kept + ds.rows_rejected == len(before) - 1
    first, last = ds.schema.column_for(Role.FIRST_NAME), ds.schema.column_for(Role.LAST_NAME)
    golden_now = pd.read_parquet(ws.path / ws.latest_result("golden", ds)["golden"])
    for frame in (ds.frame, ws.dataset("acquired").frame, golden_now):  # the name as stored, first and last together
        assert not ((frame[first] == who["first"]) & (frame[last] == who["last"])).any()
    # the audit log still verifies, names what was redacted, and records no key
    check = audit.verify(ws.engine)
    assert check.intact, check.breaks
    assert check.redacted == len(report.audit_redacted) >= 3  # label entries, the review decision, the reveal
    entry = ws.audit_log().iloc[-1]
    assert entry["action"] == "erase" and entry["id"] == report.audit_entry
    details = json.loads(entry["details_json"])
    assert details["audit_redacted"] == report.audit_redacted
    assert details["keys_hmac"] == [report.key_hash] and who["key"] not in entry["details_json"]
    assert [e["id"] for e in forgotten(ws, who["key"])] == [report.audit_entry]
    assert forgotten(ws, "C999998") == []
    reveal = ws.audit_log().query("action == 'reveal'").iloc[-1]
    assert reveal["target"] == f"record {ERASED}" and json.loads(reveal["details_json"])["email"] == ERASED
    # the export outside the workspace is named: the steward must erase it there
    held = [e for e in report.exports if e["holds"]]
    assert [e["path"] for e in held] == [str(export)]
    # the workspace still works: clustering, review, golden records, dashboards read what is left
    from workbench.dashboards import duplicates
    from workbench.review import ClusterReview, current_clusters

    clusters = current_clusters(ws, "customers")
    assert who["key"] not in set(clusters["key"]) and len(clusters) == len(before) - 1
    assert (clusters.groupby("cluster_id")["key"].min() == clusters.groupby("cluster_id").size().index).all()
    rebuilt = [g for g in report.golden if g["action"] == "rebuilt"]
    assert rebuilt, report.golden
    run = ws.latest_result("golden", ds)
    golden = pd.read_parquet(ws.path / run["golden"])
    lineage = pd.read_parquet(ws.path / run["lineage"])
    crosswalk = pd.read_parquet(ws.path / run["crosswalk"])
    assert set(crosswalk["record_key"]) == set(ds.frame[ds.key])
    new_id = rebuilt[0]["new_id"]
    assert new_id in set(golden["golden_id"]) and (lineage["golden_id"] == new_id).any()
    assert set(lineage.loc[lineage["golden_id"] == new_id, "record_key"]) <= set(crosswalk["record_key"])
    from workbench.export import verify_manifest

    assert verify_manifest(ws.path / run["folder"]) == []
    # the tables exported beside golden records stay, without the rows of the affected golden records
    extras = {p.name for p in (ws.path / run["folder"]).glob("*.parquet")}
    assert {"annotations.parquet", "consent.parquet", "hierarchy.parquet"} <= extras
    consent_now = pd.read_parquet(ws.path / run["folder"] / "consent.parquet")
    assert len(consent_now) and not consent_now["golden_id"].isin([g["golden_id"] for g in report.golden]).any()
    # households: the record left its household; the others keep theirs
    hh = ws.latest_result("households", ds)
    members = pd.read_parquet(ws.path / hh["members"])
    assert who["key"] not in set(members["record_key"]) and len(members) == len(before) - 1
    assert verify_manifest(ws.path / hh["folder"]) == []
    review = ClusterReview(ws, "customers")
    assert len(review.members(new_id)) == int(golden.loc[golden["golden_id"] == new_id, "member_count"].iloc[0])
    page = [c for c in duplicates.stored_clusterings(ws) if c.dataset.name == "customers"][0]
    assert duplicates.summary(ws, page)["headline"]
    assert duplicates.build(ws)
    assert ws.deduper("customers").progress is not None  # the labels left still resume a session
    # annotations and decisions lost the key; the cluster tag keeps its other member
    with ws.engine.connect() as conn:
        notes = conn.execute(sa.select(store.annotations_table)).mappings().all()
        decisions = conn.execute(sa.select(store.decisions_table)).mappings().all()
    assert [json.loads(n["target"]) for n in notes] == [["C999999"]]
    assert all(who["key"] not in d["keys_json"] for d in decisions)


def test_audit_still_catches_tampering_after_an_erasure(erasable):
    ws, who, _ = erasable
    report = forget(ws, who["key"])
    assert audit.verify(ws.engine).intact
    redacted = report.audit_redacted[0]
    t = store.audit_table
    with ws.engine.begin() as conn:  # claim a redaction no erasure owns up to, hashes recomputed as an attacker would
        row = conn.execute(sa.select(t).where(t.c.id == redacted)).mappings().one()
        details = json.loads(row["details_json"])
        details["_redacted"] = {"by": 1}
        conn.execute(t.update().where(t.c.id == redacted).values(details_json=store.dumps(details)))
    check = audit.verify(ws.engine)
    assert not check.intact and check.first.entry == redacted and check.first.kind == "modified"
    with ws.engine.begin() as conn:  # put it back, then change the erasure's own record
        conn.execute(t.update().where(t.c.id == redacted).values(details_json=row["details_json"]))
    assert audit.verify(ws.engine).intact
    with ws.engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == report.audit_entry).values(target="nothing to see"))
    assert main(["audit", "--verify", "--workspace", str(ws.path)]) == 1


def test_dry_run_reports_and_changes_nothing(erasable):
    ws, who, export = erasable
    files, counts = _digest(ws.path), _counts(ws)
    report = forget(ws, who["key"], dry_run=True)
    assert report.dry_run and report.rows == 1 and report.audit_entry is None
    assert report.store["labels"] >= 1 and report.audit_redacted and report.golden
    assert [e["path"] for e in report.exports if e["holds"]] == [str(export)]
    assert _digest(ws.path) == files and _counts(ws) == counts
    assert "dry run: would remove 1 record(s)" in report.lines()[0]


def test_forget_is_for_stewards_and_names_unknown_keys(erasable):
    ws, who, _ = erasable
    admin = Workspace(ws.path, user=access.os_user())  # the OS user created the workspace: its admin
    access.grant(admin, "ann", "analyst")
    admin.close()
    analyst = Workspace(ws.path, user="ann")
    with pytest.raises(access.AccessDenied, match="steward"):
        forget(analyst, who["key"])
    analyst.close()
    with pytest.raises(WorkbenchError, match="no record with key 'C999998'"):
        forget(ws, "C999998")
    with pytest.raises(WorkbenchError, match="no key given"):
        forget(ws, ["", " "])
    with pytest.raises(WorkbenchError, match="no dataset 'nope'"):
        forget(ws, who["key"], dataset="nope")
    read_only = Workspace(ws.path, read_only=True, user="tester")
    with pytest.raises(WorkbenchError, match="read-only"):
        forget(read_only, who["key"])
    read_only.close()
    assert who["key"] in set(ws.dataset("customers").frame[ws.dataset("customers").key])


def test_rejected_lines_and_key_problems_go_with_the_record(tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text("pid,name,email\n"
                   "P1,Ann Smith,ann.smith@example.com\n"
                   "P2,Bob Stone,bob.stone@example.org\n"
                   "P2,Bob Stone,bob.stone2@example.org\n"
                   "P3,Cy Young,cy.young@example.net,extra,fields\n"
                   "P4,Di Hart,di.hart@example.com\n", encoding="utf-8")
    ws = Workspace(tmp_path / "ws", user="tester")
    ds = ws.load(csv, key="pid", name="people")
    ws.summarize(ds)
    assert ds.rows_rejected == 1 and len(ds.key_problems)
    for key, values in (("P3", ["cy.young@example.net", "Cy Young"]), ("P2", ["bob.stone2@example.org"])):
        report = forget(ws, key, dataset="people")
        assert _files_holding(ws.path, [key, *values]) == {}, report.lines()
    ds = ws.dataset("people")
    assert list(ds.frame["pid"]) == ["P1", "P4"] and ds.rows_rejected == 0 and ds.key_problems.empty
    assert ds.rows_read == ds.rows_kept + ds.rows_rejected == 2
    summary = ws.latest_result("summary", ds)
    assert summary["columns"][0]["rows"] == 2  # recomputed, not the stale 4
    assert audit.verify(ws.engine).intact
    ws.close()


def test_forget_on_the_command_line(erasable, capsys, cli):
    ws, who, export = erasable
    path = str(ws.path)
    ws.close()
    assert cli(["forget", who["key"], "--dry-run", "--workspace", path, "--user", "tester"]) == 0
    out = capsys.readouterr().out
    assert "dry run: would remove 1 record(s)" in out and str(export) in out
    assert cli(["forget", who["key"], "--workspace", path, "--user", "tester"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("removed 1 record(s)") and "exports that held the customer: 1" in out
    assert cli(["forget", who["key"], "--workspace", path, "--user", "tester"]) == 2
    assert "no record with key" in capsys.readouterr().err
    ids = pd.read_parquet(Path(path) / "datasets" / "1" / artifacts.DATA)["customer_id"].to_numpy()
    assert not np.isin(who["key"], ids)
