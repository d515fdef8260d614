"""Storage under concurrency: folders keyed by id, versions allocated under a lock, migrations
under a lock, runs in folders of their own, abandoned runs failed, and read-only openers.

Races are provoked with spawned processes meeting at a barrier; nothing here is timed.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import pg_server as pg
from conftest import SAMPLES
from workbench import WorkbenchError, Workspace, artifacts, store

pg_server, pg_database = pg.pg_server, pg.pg_database  # the PostgreSQL fixtures, for this module

SPAWN = mp.get_context("spawn")
ROUNDS = 4


def _csv(path: Path, rows: int, tag: str) -> Path:
    lines = ["id,name"] + [f"{tag}{i},{tag} person {i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run_all(target, args_list) -> list[dict]:
    """Start one spawned process per args tuple, wait for all, return what each wrote to its out file."""
    procs = [SPAWN.Process(target=target, args=args) for args in args_list]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0, f"worker exited with {p.exitcode}"
    return [json.loads(Path(args[-1]).read_text()) for args in args_list]


# -- 1. dataset folders keyed by id ----------------------------------------------------------------

def test_names_with_the_same_slug_keep_their_own_files(tmp_path):
    ws = Workspace(tmp_path / "ws")
    first = ws.load(_csv(tmp_path / "a.csv", 5, "c"), key="id", name="customers")
    second = ws.load(_csv(tmp_path / "b.csv", 2, "l"), key="id", name="customers!")
    assert ws.artifact_path(first, artifacts.DATA) != ws.artifact_path(second, artifacts.DATA)

    again = Workspace(tmp_path / "ws")
    assert again.dataset("customers").frame["id"].tolist() == [f"c{i}" for i in range(5)]
    assert again.dataset("customers!").frame["id"].tolist() == ["l0", "l1"]
    assert again.dataset("customers").rows_kept == len(again.dataset("customers").frame) == 5


def test_datasets_in_the_old_name_folder_layout_still_read(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ds = ws.load(_csv(tmp_path / "people.csv", 3, "p"), key="id")
    # what an older workbench wrote: datasets/<name>/v<n>/, its paths in the row
    old = tmp_path / "ws" / "datasets" / "people" / "v1"
    old.parent.mkdir(parents=True)
    shutil.move(ws.artifact_path(ds, ""), old)
    with ws.engine.begin() as conn:
        conn.execute(store.datasets_table.update().values(folder="datasets/people/v1"))
    reopened = Workspace(tmp_path / "ws").dataset("people")
    assert reopened.frame["id"].tolist() == ["p0", "p1", "p2"]
    assert reopened.head(1)["id"].tolist() == ["p0"] and reopened.rejects.empty and reopened.key_problems.empty


# -- 2. a version is registered in one transaction, before its files ----------------------------------

def _load_worker(ws_path: str, db_url: str | None, src: str, barrier, out: str) -> None:
    ws = Workspace(ws_path, store=db_url)
    loaded = []
    for i in range(ROUNDS):
        barrier.wait()
        try:
            ds = ws.load(src, key="id", name=f"customers{i}")
            loaded.append({"version": ds.version, "ids": ds.frame["id"].tolist()})
        except WorkbenchError as exc:  # allowed, if it is one clear line asking to retry
            loaded.append({"error": str(exc)})
        except Exception as exc:
            loaded.append({"raw": f"{type(exc).__name__}: {exc}"})
    Path(out).write_text(json.dumps(loaded))


def test_two_processes_loading_under_one_name_get_distinct_versions(tmp_path):
    _load_at_once(tmp_path, None)


def _load_at_once(tmp_path: Path, db_url: str | None) -> None:
    ws_path = tmp_path / "ws"
    Workspace(ws_path, store=db_url).close()
    barrier = SPAWN.Barrier(2)
    srcs = [_csv(tmp_path / "a.csv", 3, "a"), _csv(tmp_path / "b.csv", 4, "b")]
    results = _run_all(_load_worker, [(str(ws_path), db_url, str(src), barrier, str(tmp_path / f"out{n}.json"))
                                      for n, src in enumerate(srcs)])
    ws = Workspace(ws_path, store=db_url)
    for i in range(ROUNDS):
        got = [r[i] for r in results]
        assert not any("raw" in g for g in got), got
        for g in got:
            assert "version" in g or ("retry" in g["error"] and "\n" not in g["error"]), g
        versions = [g["version"] for g in got if "version" in g]
        assert len(set(versions)) == len(versions)
        # every record holds the data of the process that registered it
        for g in got:
            if "version" in g:
                ds = ws.dataset(f"customers{i}", g["version"])
                assert ds.frame["id"].tolist() == g["ids"] and ds.rows_kept == len(g["ids"])


def test_a_version_whose_files_failed_is_not_shown(tmp_path, monkeypatch):
    from workbench import workspace as workspace_module

    ws = Workspace(tmp_path / "ws")
    ws.load(_csv(tmp_path / "people.csv", 2, "p"), key="id")

    def disk_full(frame, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(workspace_module, "_write_parquet", disk_full)
    with pytest.raises(OSError):
        ws.load(_csv(tmp_path / "people.csv", 5, "q"), key="id")
    monkeypatch.undo()
    assert ws.dataset("people").version == 1 and ws.datasets()["version"].tolist() == [1]
    assert ws.load(_csv(tmp_path / "people.csv", 5, "q"), key="id").version == 3  # 2 stays spent
    assert sorted(p.name for p in (tmp_path / "ws" / "datasets").iterdir()) == ["1", "3"]


# -- 4. migrations under an exclusive lock ------------------------------------------------------------

def _open_worker(base: str, urls: list[str | None], barrier, out: str) -> None:
    outcomes = []
    for i in range(ROUNDS):
        barrier.wait()
        try:
            Workspace(Path(base) / f"ws{i}", store=urls[i]).close()
            outcomes.append("ok")
        except Exception as exc:
            outcomes.append(f"{type(exc).__name__}: {exc}")
    Path(out).write_text(json.dumps(outcomes))


def test_processes_opening_a_new_workspace_at_once_all_succeed(tmp_path):
    _open_at_once(tmp_path, [None] * ROUNDS)


def _open_at_once(tmp_path: Path, urls: list[str | None]) -> None:
    barrier = SPAWN.Barrier(3)
    results = _run_all(_open_worker, [(str(tmp_path), urls, barrier, str(tmp_path / f"out{n}.json"))
                                      for n in range(3)])
    assert results == [["ok"] * ROUNDS] * 3
    for i in range(ROUNDS):
        ws = Workspace(tmp_path / f"ws{i}", store=urls[i])
        assert ws.store_version == store.schema_version_target()
        assert ws.audit_log()["action"].tolist().count("migrate") == 1  # migrated once, by one of them


# -- 3 and 5. runs: own folders, failures recorded, abandoned runs failed --------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from workbench.oracle import TruthLabeler

    tmp = tmp_path_factory.mktemp("runs")
    src = tmp / "customers.csv"
    pd.read_csv(SAMPLES / "customers.csv", dtype=str).head(800).to_csv(src, index=False)
    ws = Workspace(tmp / "ws", user="ann")
    dd = ws.deduper(ws.load(src, key="customer_id", name="customers"))
    TruthLabeler.for_samples(SAMPLES, "dedupe").label(dd, budget=20)
    return ws, dd


def test_cluster_runs_started_in_the_same_second_keep_their_own_folders(trained, monkeypatch):
    ws, dd = trained
    monkeypatch.setattr(time, "strftime", lambda *a, **k: "20260101-000000")  # the same second, always
    low = dd.cluster(0.05, progress=False).clusters
    high = dd.cluster(0.95, progress=False).clusters
    assert not low.equals(high)
    runs = ws.runs("dedupe").head(2)
    assert runs["status"].tolist() == ["done", "done"]
    folders = [ws.path / r["folder"] for r in runs["result"]]
    assert folders[0] != folders[1] and folders[1].name == f"run-{runs['id'].iloc[1]}"
    for folder, clusters in zip(folders, (high, low), strict=True):  # newest first
        stored = pd.read_parquet(folder / artifacts.CLUSTERS)
        pd.testing.assert_frame_equal(stored, clusters.reset_index(drop=True), check_dtype=False)


def test_an_error_anywhere_in_a_run_marks_it_failed_with_the_message(trained, monkeypatch):
    from workbench.matching import clustering

    ws, dd = trained

    def broken(*args, **kwargs):
        raise RuntimeError("review decisions unreadable")

    monkeypatch.setattr(clustering, "apply_decisions", broken)
    with pytest.raises(RuntimeError):
        dd.cluster(0.5, progress=False)
    run = ws.runs("dedupe").iloc[0]
    assert run["status"] == "failed" and run["result"] == {"error": "review decisions unreadable"}


def _crash_worker(ws_path: str, out: str) -> None:
    ws = Workspace(ws_path)
    run_id = ws.start_run("dedupe", None, task="dedupe:customers")
    Path(out).write_text(json.dumps({"run": run_id, "pid": os.getpid()}))
    os._exit(1)  # a crash: no finally, no finish_run


def test_a_run_whose_process_died_is_marked_failed(tmp_path):
    ws_path = tmp_path / "ws"
    ws = Workspace(ws_path)
    mine = ws.start_run("summary", None)  # this process is alive: its run stays running
    proc = SPAWN.Process(target=_crash_worker, args=(str(ws_path), str(tmp_path / "out.json")))
    proc.start()
    proc.join(120)
    crashed = json.loads((tmp_path / "out.json").read_text())

    runs = ws.runs().set_index("id")  # listing runs notices it
    assert runs.loc[crashed["run"], "status"] == "failed"
    assert runs.loc[crashed["run"], "result"] == {"error": f"abandoned: process {crashed['pid']} ended"}
    assert runs.loc[mine, "status"] == "running"
    assert Workspace(ws_path).runs().set_index("id").loc[mine, "status"] == "running"


def _killed_load_worker(ws_path: str, csv: str, out: str) -> None:
    from workbench import workspace as workspace_module

    def die_half_way(frame, path):
        path.write_bytes(b"PAR1 half a file")
        Path(out).write_text(json.dumps({"pid": os.getpid()}))
        os._exit(1)  # killed while writing: no except, no finally

    workspace_module._write_parquet = die_half_way
    Workspace(ws_path).load(csv, key="id", name="people")


def test_a_load_whose_process_died_is_marked_failed_and_its_files_removed(tmp_path):
    ws_path = tmp_path / "ws"
    ws = Workspace(ws_path)
    ws.load(_csv(tmp_path / "people.csv", 2, "p"), key="id", name="people")
    proc = SPAWN.Process(target=_killed_load_worker,
                         args=(str(ws_path), str(_csv(tmp_path / "more.csv", 5, "q")), str(tmp_path / "out.json")))
    proc.start()
    proc.join(120)
    killed = json.loads((tmp_path / "out.json").read_text())
    assert (ws_path / "datasets" / "2").exists()  # the half-written folder the killed load left

    reopened = Workspace(ws_path)  # opening the workspace notices it
    with reopened.engine.connect() as conn:
        status = dict(conn.execute(sa.select(store.datasets_table.c.version, store.datasets_table.c.status)).all())
    assert status == {1: "ready", 2: "failed"}
    assert not (ws_path / "datasets" / "2").exists()
    failed = reopened.audit_log().query("action == 'load:failed'")
    assert list(failed["target"]) == ["people v2"]
    assert f"process {killed['pid']} ended" in failed.iloc[0]["details_json"]
    assert reopened.dataset("people").version == 1

    # a load still going on in a live process is left alone
    from workbench.loading import load_table

    result = load_table(_csv(tmp_path / "late.csv", 3, "r"), key="id")
    reopened._allocate_version(result, len(result.frame), name="people", key="id", schema=ws.dataset("people").schema)
    assert Workspace(ws_path).mark_abandoned_loads() == []


# -- 6. read-only workspaces ---------------------------------------------------------------------------

def _audit_count(path: Path) -> int:
    con = sqlite3.connect(path / "workbench.db")
    try:
        return con.execute("SELECT count(*) FROM audit").fetchone()[0]
    finally:
        con.close()


def test_read_only_workspace_reads_and_refuses_every_write(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.load(_csv(tmp_path / "people.csv", 3, "p"), key="id")
    ws.close()
    before = _audit_count(tmp_path / "ws")

    ro = Workspace(tmp_path / "ws", read_only=True)
    assert ro.dataset("people").frame["id"].tolist() == ["p0", "p1", "p2"]
    assert len(ro.runs()) == 0 and len(ro.audit_log()) == before
    attempts = [
        lambda: ro.load(tmp_path / "people.csv", key="id"),
        lambda: ro.record("reveal", "people"),
        lambda: ro.start_run("summary", None),
        lambda: ro.set_schema(ro.dataset("people"), {"name": "first_name"}),
        lambda: ro.summarize(ro.dataset("people")),
    ]
    for attempt in attempts:
        with pytest.raises(WorkbenchError, match="^workspace opened read-only: .* needs an analyst session"):
            attempt()
    # a write that goes straight to the engine (labels, review decisions) is refused too
    with pytest.raises(store.ReadOnlyError, match="read-only"), ro.engine.begin() as conn:
        conn.execute(store.audit_table.insert().values(at=store.now(), user="x", action="x", details_json="{}"))
    assert _audit_count(tmp_path / "ws") == before
    assert ro.datasets()["version"].tolist() == [1]


def test_read_only_never_migrates_nor_creates(tmp_path):
    with pytest.raises(WorkbenchError, match="no workspace here"):
        Workspace(tmp_path / "missing", read_only=True)
    assert not (tmp_path / "missing").exists()

    Workspace(tmp_path / "ws").close()
    older = store.schema_version_target() - 1
    con = sqlite3.connect(tmp_path / "ws" / "workbench.db")
    con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(older),))
    con.commit()
    con.close()
    with pytest.raises(WorkbenchError, match="never migrates: open it once in an analyst session"):
        Workspace(tmp_path / "ws", read_only=True)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ws' / 'workbench.db'}")
    with engine.connect() as conn:
        assert store.current_version(conn) == older
    engine.dispose()


def test_read_only_opener_leaves_abandoned_runs_to_analysts(tmp_path):
    ws = Workspace(tmp_path / "ws")
    run_id = ws.start_run("summary", None)
    with ws.engine.begin() as conn:  # as if started by a process that has ended
        conn.execute(store.runs_table.update().values(pid=2**22 + 12345))
    ro = Workspace(tmp_path / "ws", read_only=True)
    assert ro.runs()["status"].tolist() == ["running"]
    assert Workspace(tmp_path / "ws").runs().set_index("id").loc[run_id, "status"] == "failed"


def test_every_run_ends_done_or_failed_with_its_error(tmp_path):
    """One lifecycle for every stage (``with ws.run(...)``): the result when the block ends, the
    error when it raises, Ctrl-C included, and the error goes on to the caller."""
    ws = Workspace(tmp_path / "ws")
    with ws.run("summary", None, note="ok") as run:
        run.result = {"rows": 3}
    with pytest.raises(ValueError), ws.run("summary", None) as failing:
        raise ValueError("column 'email' is missing")
    with pytest.raises(KeyboardInterrupt), ws.run("summary", None) as stopped:
        raise KeyboardInterrupt
    runs = ws.runs().set_index("id")
    assert runs.loc[run.id, "status"] == "done" and runs.loc[run.id, "result"] == {"rows": 3}
    assert runs.loc[failing.id, "status"] == "failed"
    assert runs.loc[failing.id, "result"] == {"error": "column 'email' is missing"}
    assert runs.loc[stopped.id, "status"] == "failed" and runs.loc[stopped.id, "result"] == {"error": "KeyboardInterrupt"}


# -- 7. PostgreSQL as the store (a real server, started by the tests) ------------------------------------

def test_postgres_store_keeps_state_in_the_database_and_files_in_the_folder(tmp_path, pg_database):
    ws = Workspace(tmp_path / "ws", store=pg_database, user="ann")
    assert ws.engine.dialect.name == "postgresql" and not (tmp_path / "ws" / "workbench.db").exists()
    ds = ws.load(_csv(tmp_path / "people.csv", 3, "p"), key="id")
    run_id = ws.start_run("summary", ds)
    ws.finish_run(run_id, {"rows": 3})
    again = Workspace(tmp_path / "ws", store=pg_database)
    assert again.migrated_from == again.store_version == store.schema_version_target()
    assert again.dataset("people").frame["id"].tolist() == ["p0", "p1", "p2"]
    assert again.latest_result("summary", ds) == {"rows": 3}
    assert {"load", "run:done"} <= set(again.audit_log()["action"])


def test_postgres_two_processes_loading_under_one_name(tmp_path, pg_database):
    _load_at_once(tmp_path, pg_database)


def test_postgres_processes_creating_one_store_at_once(tmp_path, pg_server):
    _open_at_once(tmp_path, [pg_server.create_database(f"race_{os.getpid()}_{i}") for i in range(ROUNDS)])


def test_postgres_read_only_session_refuses_writes(tmp_path, pg_database):
    ws = Workspace(tmp_path / "ws", store=pg_database)
    ws.load(_csv(tmp_path / "people.csv", 2, "p"), key="id")
    before = len(ws.audit_log())
    ro = Workspace(tmp_path / "ws", store=pg_database, read_only=True)
    assert ro.dataset("people").frame["id"].tolist() == ["p0", "p1"]
    with pytest.raises(WorkbenchError, match="read-only"):
        ro.record("reveal", "people")
    with pytest.raises(store.ReadOnlyError), ro.engine.begin() as conn:
        conn.execute(store.audit_table.insert().values(at=store.now(), user="x", action="x", details_json="{}"))
    assert len(ws.audit_log()) == before
