import sqlite3

import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import Role, WorkbenchError, Workspace, store


def _csv(tmp_path, text, name="people.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_registers_dataset_with_accounting_and_schema(tmp_path):
    src = _csv(tmp_path, "id,first_name,email,zip\n1,Ann,ann@example.com,02134\n2,Bob,bob@example.com,10001\n3,Cy,x,y,z\n")
    ws = Workspace(tmp_path / "ws", user="alice")
    ds = ws.load(src, key="id")
    assert (ds.name, ds.version) == ("people", 1)
    assert ds.rows_read == ds.rows_kept + ds.rows_rejected == 3
    assert ds.rows_rejected == 1 and ds.rejects.iloc[0]["line"] == 4
    assert ds.frame["zip"].tolist() == ["02134", "10001"]
    assert ds.schema["email"].role == Role.EMAIL and ds.schema["id"].role == Role.ID

    # Reopening reads the same dataset back from the store and Parquet.
    again = Workspace(tmp_path / "ws").dataset("people")
    pd.testing.assert_frame_equal(again.frame, ds.frame)
    assert again.rejects["reason"].tolist() == ds.rejects["reason"].tolist()
    assert again.schema == ds.schema
    assert again.head(1)["first_name"].tolist() == ["Ann"]

    log = ws.audit_log()
    assert log.iloc[-1]["action"] == "load" and log.iloc[-1]["user"] == "alice"


def test_loading_again_adds_a_version(tmp_path):
    src = _csv(tmp_path, "id,name\n1,a\n")
    ws = Workspace(tmp_path / "ws")
    ws.load(src, key="id")
    second = ws.load(src, key="id")
    assert second.version == 2
    assert ws.dataset("people", 1).version == 1
    assert ws.datasets()["version"].tolist() == [2, 1]


def test_schema_overrides_at_load_and_later(tmp_path):
    src = _csv(tmp_path, "id,handle,code\n1,ann,A1\n")
    roles = tmp_path / "roles.yaml"
    roles.write_text("fields:\n  handle: first_name\n")
    ws = Workspace(tmp_path / "ws")
    ds = ws.load(src, key="id", schema=roles)
    assert ds.schema["handle"].role == Role.FIRST_NAME and ds.schema["handle"].pii
    ws.set_schema(ds, {"code": {"role": "other", "pii": True}})
    assert ws.dataset("people").schema["code"].pii
    assert "set_schema" in ws.audit_log()["action"].tolist()


def test_user_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_USER", "carol")
    ws = Workspace(tmp_path / "ws")
    assert ws.user == "carol"


def test_unknown_dataset_names_known_ones(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.load(_csv(tmp_path, "id\n1\n"), key="id")
    with pytest.raises(WorkbenchError, match="no dataset 'other'.*known: people"):
        ws.dataset("other")


def test_store_uses_wal_and_records_version(tmp_path):
    Workspace(tmp_path / "ws")
    con = sqlite3.connect(tmp_path / "ws" / "workbench.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert int(con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]) == store.schema_version_target()


def test_older_store_is_migrated_on_open(tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    ws.close()

    def add_notes(conn):
        conn.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))

    latest = store.schema_version_target()
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, (latest + 1, add_notes)])
    reopened = Workspace(tmp_path / "ws")
    assert (reopened.migrated_from, reopened.store_version) == (latest, latest + 1)
    assert sa.inspect(reopened.engine).has_table("notes")
    assert reopened.audit_log().iloc[-1]["action"] == "migrate"


def test_version_1_store_gains_labels_table(tmp_path):
    """A workspace written before labels existed (store version 1) is upgraded on open."""
    engine = store.make_engine(f"sqlite:///{tmp_path / 'workbench.db'}")
    with engine.begin() as conn:
        store.meta_table.create(conn)
        store._migrate_to_1(conn)
        store._set_version(conn, 1)
    engine.dispose()
    ws = Workspace(tmp_path)
    assert ws.migrated_from == 1 and ws.store_version >= 2
    assert sa.inspect(ws.engine).has_table("labels")


def test_newer_store_is_refused(tmp_path):
    Workspace(tmp_path / "ws").close()
    con = sqlite3.connect(tmp_path / "ws" / "workbench.db")
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(WorkbenchError, match="newer workbench"):
        Workspace(tmp_path / "ws")


def test_runs_store_results(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ds = ws.load(_csv(tmp_path, "id,email\n1,a@b.co\n2,\n"), key="id")
    summary = ws.summarize(ds)
    assert ws.latest_result("summary", ds) == summary
    email = next(c for c in summary["columns"] if c["column"] == "email")
    assert email["missing"] == 1 and email["missing_pct"] == 50.0


def test_workspace_path_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(WorkbenchError, match="is a file"):
        Workspace(f)


def test_import_does_not_pull_in_widgets():
    import subprocess
    import sys

    code = "import sys, workbench; print('ipywidgets' in sys.modules or 'IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_version_9_store_moves_its_dataset_paths_into_one_folder_column(tmp_path):
    path = tmp_path / "old"
    ws = Workspace(path, user="tester")
    ds = ws.load(_csv(tmp_path, "id,name\n1,Ann\n2,Bob\n"), key="id")
    folder = ds.folder
    ws.close()
    with sqlite3.connect(path / Workspace.DB_FILE) as conn:  # what version 9 stored: two file paths
        conn.execute("ALTER TABLE datasets ADD COLUMN data_path TEXT NOT NULL DEFAULT ''")
        conn.execute("ALTER TABLE datasets ADD COLUMN rejects_path TEXT NOT NULL DEFAULT ''")
        conn.execute("UPDATE datasets SET data_path = folder || '/data.parquet', "
                     "rejects_path = folder || '/rejects.parquet'")
        conn.execute("ALTER TABLE datasets DROP COLUMN folder")
        conn.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    ws = Workspace(path, user="tester")
    assert ws.store_version == store.schema_version_target() >= 10
    columns = {c["name"] for c in sa.inspect(ws.engine).get_columns("datasets")}
    assert "folder" in columns and not {"data_path", "rejects_path"} & columns
    again = ws.dataset(ds.name)
    assert again.folder == folder and again.frame["id"].tolist() == ds.frame["id"].tolist()
    assert ws.load(_csv(tmp_path, "id,name\n1,Ann\n2,Bob\n"), key="id", name=ds.name).version == 2  # and it goes on loading
