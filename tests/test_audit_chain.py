"""An audit log that shows tampering (issue 11, item 7): a hash chain, and `audit --verify`
naming the first broken link."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import pg_server as pg
from workbench import audit, store
from workbench.cli import main
from workbench.workspace import Workspace

pg_server, pg_database = pg.pg_server, pg.pg_database  # the PostgreSQL fixtures, for this module


@pytest.fixture
def ws(tmp_path):
    ws = Workspace(tmp_path / "ws", user="tester")
    for i in range(6):
        ws.record("note", f"thing {i}", i=i)
    yield ws
    ws.close()


def db(ws) -> sqlite3.Connection:
    return sqlite3.connect(ws.path / Workspace.DB_FILE)


def ids(ws) -> list[int]:
    return ws.audit_log()["id"].tolist()


def verify_cli(ws, capsys) -> tuple[int, str]:
    code = main(["audit", "--verify", "--workspace", str(ws.path)])
    return code, capsys.readouterr().out


def test_an_untouched_log_is_intact(ws, capsys):
    report = audit.verify(ws.engine)
    assert report.intact and report.entries == len(ids(ws)) >= 6
    log = ws.audit_log()
    assert log["prev_hash"].iloc[0] == audit.GENESIS
    assert (log["prev_hash"].iloc[1:].to_numpy() == log["hash"].iloc[:-1].to_numpy()).all()
    code, out = verify_cli(ws, capsys)
    n = len(ids(ws))  # opening the workspace from the CLI may add entries of its own
    assert code == 0 and out.splitlines()[0] == f"audit log intact ({n} entries)"


def test_a_modified_entry_is_named(ws, capsys):
    victim = ids(ws)[3]
    with db(ws) as conn:
        conn.execute("UPDATE audit SET details_json = ? WHERE id = ?", (json.dumps({"i": 99}), victim))
    assert str(audit.verify(ws.engine).first) == f"entry {victim} modified: its content no longer matches its hash"
    code, out = verify_cli(ws, capsys)
    assert code == 1 and out.startswith(f"audit log broken at entry {victim}: modified")


def test_a_rewritten_entry_with_a_fresh_hash_is_named(ws):
    """Someone who knows the scheme recomputes the edited entry's hash: the next link still breaks."""
    victim = ids(ws)[2]
    log = ws.audit_log().set_index("id")
    row = {**log.loc[victim].to_dict(), "id": victim, "user": "someone else"}
    with db(ws) as conn:
        conn.execute("UPDATE audit SET user = ?, hash = ? WHERE id = ?",
                     ("someone else", audit.content_hash(row, row["prev_hash"]), victim))
    first = audit.verify(ws.engine).first
    assert (first.entry, first.kind) == (victim, "modified")


def test_a_deleted_entry_is_named(ws, capsys):
    victim = ids(ws)[2]
    with db(ws) as conn:
        conn.execute("DELETE FROM audit WHERE id = ?", (victim,))
    first = audit.verify(ws.engine).first
    assert (first.entry, first.kind) == (victim, "deleted")
    code, out = verify_cli(ws, capsys)
    assert code == 1 and f"entry {victim}: deleted: entry {victim} is missing" in out


def test_deleting_the_last_entries_shows_even_after_new_appends(ws):
    last = ids(ws)[-2:]
    with db(ws) as conn:
        conn.execute("DELETE FROM audit WHERE id >= ?", (last[0],))
    first = audit.verify(ws.engine).first
    assert (first.entry, first.kind) == (last[0], "deleted")
    assert f"entries {last[0]}-{last[1]} are missing" in first.detail
    ws.record("note", "after the deletion")  # does not reuse the deleted ids nor hide the gap
    assert ids(ws)[-1] == last[1] + 1
    first = audit.verify(ws.engine).first
    assert (first.entry, first.kind) == (last[0], "deleted")


def test_a_row_inserted_around_the_chain_is_named(ws):
    with ws.engine.begin() as conn:
        conn.execute(store.audit_table.insert().values(at=store.now(), user="mallory", action="note",
                                                       target="forged", details_json="{}"))
    forged = ids(ws)[-1]
    first = audit.verify(ws.engine).first
    assert (first.entry, first.kind) == (forged, "inserted")


def test_a_log_from_before_the_chain_is_hashed_by_the_migration(tmp_path, capsys):
    path = tmp_path / "old"
    ws = Workspace(path, user="tester")
    for i in range(3):
        ws.record("note", "old", i=i)
    n = len(ids(ws))
    ws.close()
    with sqlite3.connect(path / Workspace.DB_FILE) as conn:  # make it a version-6 store: no chain
        conn.execute("ALTER TABLE audit DROP COLUMN prev_hash")
        conn.execute("ALTER TABLE audit DROP COLUMN hash")
        conn.execute("DELETE FROM meta WHERE key LIKE 'audit_%'")
        conn.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    ws = Workspace(path, user="tester")
    report = audit.verify(ws.engine)
    assert report.intact and report.hashed_at_migration == n and report.entries == len(ids(ws)) > n
    ws.close()
    code, out = verify_cli(ws, capsys)
    assert code == 0 and f"the first {n} entries predate the hash chain" in out


APPENDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from workbench.workspace import Workspace
    path, name, url = Path(sys.argv[1]), sys.argv[2], (sys.argv[3:] or [None])[0]
    ws = Workspace(path, user=name, db_url=url)
    (path / f"ready-{name}").touch()
    while not (path / "go").exists():
        time.sleep(0.01)
    for i in range(50):
        ws.record("note", name, i=i)
""")


def _race(path: Path, url: str | None) -> sa.Engine:
    """Two processes append 50 entries each, released at the same moment; the store's engine."""
    ws = Workspace(path, user="tester", db_url=url)  # created and migrated before the race
    engine = ws.engine
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(path), name, *([url] if url else [])],
                              stderr=subprocess.PIPE, text=True)
             for name in ("ann", "bob")]
    while not all((path / f"ready-{n}").exists() for n in ("ann", "bob")):
        assert all(p.poll() is None for p in procs), [p.stderr.read() for p in procs]
        time.sleep(0.01)
    Path(path / "go").touch()
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    return engine


def test_two_processes_appending_at_once_keep_one_chain(tmp_path):
    engine = _race(tmp_path / "ws", None)
    report = audit.verify(engine)
    assert report.intact, report.breaks
    log = audit.log(engine)
    engine.dispose()
    assert (log["action"] == "note").sum() == 100 and report.entries == len(log)
    assert log["id"].tolist() == list(range(1, len(log) + 1))


def test_postgresql_keeps_one_chain_and_shows_a_deletion(tmp_path, pg_database):
    engine = _race(tmp_path / "ws", pg_database)
    assert audit.verify(engine).intact
    log = audit.log(engine)
    assert (log["action"] == "note").sum() == 100
    assert log["id"].tolist() == list(range(1, len(log) + 1))
    victim = int(log["id"].iloc[10])
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit WHERE id = :id"), {"id": victim})
    first = audit.verify(engine).first
    engine.dispose()
    assert (first.entry, first.kind) == (victim, "deleted")


def test_on_postgresql_a_named_identity_carries_the_database_login(tmp_path, pg_database):
    """On a team store the server authenticated the session: its user goes with every claimed name."""
    ws = Workspace(tmp_path / "ws", store=pg_database, user="ann")
    ws.record("probe", "x")
    assert ws.login == pg.SUPERUSER
    last = json.loads(ws.audit_log()["details_json"].iloc[-1])
    assert last["login"] == pg.SUPERUSER
