"""Retention policies: a dry run lists what would go and changes nothing; applying removes exactly the old records."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import Workspace, access, artifacts, audit, store
from workbench.errors import WorkbenchError
from workbench.retention import apply_retention, retention_policy, set_retention

ROWS = [  # key, name, email, signed up
    ("M1", "Ann Smith", "ann.smith@example.com", "2019-03-01"),
    ("M2", "Bob Stone", "bob.stone@example.org", "2025-06-30"),
    ("M3", "Cy Young", "cy.young@example.net", "2020-12-31"),
    ("M4", "Di Hart", "di.hart@example.com", ""),  # no date: counts from the version's date
    ("M5", "Ed Bloom", "ed.bloom@example.com", "2025-01-02"),
    ("M6", "Flo Rida", "flo.rida@example.com", "03/15/2018"),
]
OLD = ["M1", "M3", "M6"]  # signed up before 2025-01-01: past 365 days on 2026-01-01
NOW = "2026-01-01"


@pytest.fixture
def ws(tmp_path):
    csv = tmp_path / "members.csv"
    csv.write_text("member_no,full_name,mail,joined\n" + "".join(f"{k},{n},{e},{d}\n" for k, n, e, d in ROWS),
                   encoding="utf-8")
    w = Workspace(tmp_path / "ws", user="tester")  # the first user: admin
    w.summarize(w.load(csv, key="member_no", name="members"))
    yield w
    w.close()


@pytest.fixture
def cli():
    """The command line's entry point."""
    from workbench.cli import main

    return main


def _digest(ws: Workspace) -> dict[str, str]:
    return {p.relative_to(ws.path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(ws.path.rglob("*")) if p.is_file() and not p.name.startswith("workbench.db")}


def _audit_size(ws: Workspace) -> int:
    return len(ws.audit_log())


def test_dry_run_lists_the_old_records_and_changes_nothing(ws):
    set_retention(ws, "members", days=365, action="delete", by="joined")
    files, entries = _digest(ws), _audit_size(ws)
    report = apply_retention(ws, now=NOW)  # a dry run unless told otherwise
    assert report.dry_run and report.records == 3
    [d] = report.datasets
    assert d["keys"] == OLD and d["cutoff"] == "2025-01-01" and d["oldest"] == "2018-03-15"
    assert report.erasure.rows == 3 and report.erasure.audit_entry is None
    assert _digest(ws) == files and _audit_size(ws) == entries
    assert sorted(ws.dataset("members").frame["member_no"]) == [r[0] for r in ROWS]
    assert "dry run: 3 record(s)" in report.lines()[0]


def test_apply_deletes_exactly_the_old_records_and_is_audited(ws):
    set_retention(ws, "members", days=365, by="joined")
    report = apply_retention(ws, dry_run=False, now=NOW)
    ds = ws.dataset("members")
    assert sorted(ds.frame["member_no"]) == ["M2", "M4", "M5"]
    assert ds.rows_read == ds.rows_kept + ds.rows_rejected == 3
    kept = ds.frame.set_index("member_no")
    assert kept.loc["M5", "mail"] == "ed.bloom@example.com"  # the young ones are untouched
    for path in ws.path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"ann.smith@example.com" not in data and b"Flo Rida" not in data, path
    entry = ws.audit_log().iloc[-1]
    assert entry["action"] == "retention:apply" and entry["id"] == report.erasure.audit_entry
    details = json.loads(entry["details_json"])
    assert details["as_of"] == "2026-01-01" and details["policies"][0]["records"] == 3
    assert "M1" not in entry["details_json"] and "ann.smith" not in entry["details_json"]
    assert audit.verify(ws.engine).intact
    again = apply_retention(ws, dry_run=False, now=NOW)  # nothing left to remove, and that is audited too
    assert again.records == 0 and ws.audit_log().iloc[-1]["action"] == "retention:apply"


def test_age_from_the_acquisition_date_else_the_load_date(ws):
    set_retention(ws, "members", days=30)
    assert apply_retention(ws, now=NOW).records == 0  # loaded today
    assert apply_retention(ws, now="2099-01-01").records == len(ROWS)
    t = store.datasets_table
    with ws.engine.begin() as conn:
        conn.execute(t.update().where(t.c.name == "members").values(
            provenance_json=json.dumps({"acquired_on": "2025-11-01"})))
    report = apply_retention(ws, now=NOW)
    assert report.records == len(ROWS) and report.datasets[0]["dated_by"] == "acquisition date"
    assert apply_retention(ws, now="2025-11-15").records == 0


def test_policies_are_checked_stored_and_audited(ws):
    assert retention_policy(ws, "members") is None
    with pytest.raises(WorkbenchError, match="at least 1"):
        set_retention(ws, "members", days=0)
    with pytest.raises(WorkbenchError, match="unknown retention action 'burn'"):
        set_retention(ws, "members", days=10, action="burn")
    with pytest.raises(WorkbenchError, match="'signup' is not in members v1"):
        set_retention(ws, "members", days=10, by="signup")
    with pytest.raises(WorkbenchError, match="no dataset 'nope'"):
        set_retention(ws, "nope", days=10)
    with pytest.raises(WorkbenchError, match="no retention policy"):
        apply_retention(ws, dataset="members")
    policy = set_retention(ws, "members", days=400, action="delete", by="joined")
    assert retention_policy(ws, "members") == policy
    entry = ws.audit_log().iloc[-1]
    assert entry["action"] == "retention:set"
    assert json.loads(entry["details_json"])["after"] == {"days": 400, "action": "delete", "by": "joined"}
    access.grant(ws, "ann", "analyst")
    analyst = Workspace(ws.path, user="ann")
    with pytest.raises(access.AccessDenied, match="steward"):
        set_retention(analyst, "members", days=10)
    with pytest.raises(access.AccessDenied, match="steward"):
        apply_retention(analyst)
    analyst.close()


def test_anonymize_keeps_the_rows_without_the_person(ws):
    pytest.importorskip("workbench.anonymize")
    set_retention(ws, "members", days=365, action="anonymize", by="joined")
    report = apply_retention(ws, dry_run=False, now=NOW, key="retention-test-secret-0123456789")
    assert report.records == 3 and [d["action"] for d in report.erasure.datasets] == ["anonymize"]
    frame = ws.dataset("members").frame
    assert len(frame) == len(ROWS)
    for _, name, email, _ in (r for r in ROWS if r[0] in OLD):
        assert name not in set(frame["full_name"]) and email not in set(frame["mail"])
    young = frame[frame["mail"] == "bob.stone@example.org"]
    assert len(young) == 1 and young.iloc[0]["full_name"] == "Bob Stone"
    assert not set(OLD) & set(frame["member_no"])  # the key is pseudonymized too
    for path in ws.path.rglob("*"):
        if path.is_file():
            assert b"ann.smith@example.com" not in path.read_bytes(), path
    assert audit.verify(ws.engine).intact


def test_retention_on_the_command_line(ws, capsys, cli):
    path = str(ws.path)
    if access.os_user() != ws.user:
        access.grant(ws, access.os_user(), "steward")  # the command line is the OS login
    ws.close()
    user = ["--workspace", path]
    assert cli(["retention", "set", "members", "--days", "365", "--by", "joined", *user]) == 0
    assert cli(["retention", *user]) == 0
    assert "members: delete after 365 days by joined" in capsys.readouterr().out
    assert cli(["retention", "apply", "--dry-run", "--now", NOW, *user]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dry run: 3 record(s)")
    assert cli(["retention", "apply", "--now", NOW, *user]) == 0
    assert "3 record(s) past their retention went" in capsys.readouterr().out
    assert cli(["retention", "set", "members", *user]) == 2
    assert "usage: workbench retention set" in capsys.readouterr().err
    frame = pd.read_parquet(next(p for p in (ws.path / "datasets").rglob(artifacts.DATA)))
    assert sorted(frame["member_no"]) == ["M2", "M4", "M5"]
    with sa.create_engine(f"sqlite:///{ws.path / 'workbench.db'}").connect() as conn:
        assert conn.execute(sa.text("select count(*) from audit where action='retention:apply'")).scalar() == 1
