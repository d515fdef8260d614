"""The command line never shows a traceback: every error is one line on stderr and exit code 2.

``--debug`` adds the traceback. Problems the user can fix (a bad file, a damaged
store, a missing driver, a full disk) read ``error: ...``; anything else reads
``internal error: ...; rerun with --debug``. Text from data is printed escaped.
"""

from __future__ import annotations

import errno
import importlib.util
import sqlite3

import pandas as pd
import pyarrow.parquet as pq
import pytest

import workbench.cli as cli
from workbench import artifacts
from workbench.cli import main, safe
from workbench.errors import WorkbenchError, explain


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def datasets_in(ws_path) -> list[str]:
    from workbench.workspace import Workspace

    return list(Workspace(ws_path).datasets()["name"])


# --------------------------------------------------------------------------- the four findings


def test_nested_parquet_is_refused_by_column_name_and_nothing_is_registered(tmp_path, capsys):
    src = tmp_path / "nested.parquet"
    pd.DataFrame({"id": ["1", "2"], "tags": [["a", "b"], ["c"]], "addr": [{"x": 1}, {"x": 2}]}).to_parquet(src)
    ws = tmp_path / "ws"
    code, _, err = run(capsys, "load", str(src), "--key", "id", "--workspace", str(ws))
    line = one_line(err)
    assert code == 2
    assert line.startswith("workbench load: error: ") and "nested.parquet" in line
    assert "'tags'" in line and "'addr'" in line and "flatten" in line
    assert datasets_in(ws) == []


def test_damaged_store_is_one_line_naming_the_workspace(tmp_path, capsys):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "workbench.db").write_bytes(b"this is not a database, it is garbage" * 100)
    code, _, err = run(capsys, "datasets", "--workspace", str(ws))
    line = one_line(err)
    assert code == 2
    assert str(ws) in line and "damaged" in line and "file is not a database" in line


@pytest.mark.skipif(importlib.util.find_spec("MySQLdb") is not None, reason="MySQLdb is installed")
def test_missing_database_driver_is_one_line_naming_the_driver(tmp_path, capsys, monkeypatch):
    import workbench.workspace as workspace

    real = workspace.Workspace

    class OnMySQL(real):  # a store URL naming a driver that is not installed
        def __init__(self, path=None, **kw):
            kw["db_url"] = "mysql://analyst@127.0.0.1:1/workbench"
            super().__init__(path, **kw)

    monkeypatch.setattr(workspace, "Workspace", OnMySQL)
    code, _, err = run(capsys, "datasets", "--workspace", str(tmp_path / "ws"))
    line = one_line(err)
    assert code == 2
    assert line.startswith("workbench datasets: error: ") and "MySQLdb" in line and "driver" in line


@pytest.mark.parametrize("raised", [
    OSError(errno.ENOSPC, "No space left on device", artifacts.DATA),
    OSError("[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device"),  # pyarrow's
])
def test_full_disk_is_one_line(tmp_path, capsys, monkeypatch, raised):
    src = tmp_path / "c.csv"
    src.write_text("id,name\n1,Ann\n")

    def full(*args, **kwargs):
        raise raised

    monkeypatch.setattr(pq, "write_table", full)
    code, _, err = run(capsys, "load", str(src), "--workspace", str(tmp_path / "ws"))
    line = one_line(err)
    assert code == 2
    assert line.startswith("workbench load: error: the disk is full")


# --------------------------------------------------------------------------- bugs, --debug, usage


def _crash(args):
    raise RuntimeError("boom\nsecond line of the message")


def test_unexpected_exception_is_an_internal_error_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "cmd_datasets", _crash)
    code, _, err = run(capsys, "datasets", "--workspace", str(tmp_path / "ws"))
    line = one_line(err)
    assert code == 2
    assert line == "workbench datasets: internal error: RuntimeError: boom; rerun with --debug for the traceback"


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(tmp_path, capsys, monkeypatch, where):
    monkeypatch.setattr(cli, "cmd_datasets", _crash)
    argv = ["datasets", "--workspace", str(tmp_path / "ws")]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "Traceback (most recent call last)" in err and "_crash" in err
    assert err.rstrip().endswith("please report it with the traceback above")


def test_user_error_with_debug_keeps_its_message(tmp_path, capsys):
    code, _, err = run(capsys, "--debug", "load", str(tmp_path / "nope.csv"), "--workspace", str(tmp_path / "ws"))
    assert code == 2 and "Traceback" in err
    assert err.rstrip().splitlines()[-1].startswith("workbench load: error: ")


def test_usage_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["load"])
    line = one_line(capsys.readouterr().err)
    assert exit_.value.code == 2
    assert line == ("workbench load: error: the following arguments are required: file "
                    "(usage: workbench load --help)")


def test_explain_keeps_bugs_apart_from_user_errors():
    assert explain(WorkbenchError("bad", path="f.csv")) == "f.csv: bad"
    assert explain(KeyError("x")) is None
    assert explain(ModuleNotFoundError("No module named 'workbench.nope'", name="workbench.nope")) is None
    assert explain(ModuleNotFoundError("No module named 'psycopg'", name="psycopg")).startswith(
        "the database driver 'psycopg' is not installed")
    assert explain(PermissionError(errno.EACCES, "Permission denied", "/x/y")) == "/x/y: Permission denied"
    assert explain(sqlite3.OperationalError("database is locked")) == "database error: database is locked"
    assert explain(sqlite3.IntegrityError("UNIQUE constraint failed: t.a")) is None  # our SQL is wrong: a bug


# --------------------------------------------------------------------------- names printed safely


def test_safe_escapes_control_characters_only():
    assert safe("Zoë Müller, 李") == "Zoë Müller, 李"
    assert safe("na\x1b[31mme\x07") == "na\\x1b[31mme\\x07"
    assert safe("two\nlines\r\t") == "two\\nlines\\r\\t"
    assert safe("evil\u202etxt.exe") == "evil\\u202etxt.exe"
    assert safe("bad byte \udce9") == "bad byte \\udce9"  # a lone surrogate would crash print()


def test_escape_sequences_from_data_are_printed_escaped(tmp_path, capsys):
    src = tmp_path / "c\x1b[2Jx.csv"
    src.write_text("id,na\x1b[31mme\x1b[0m,email\n1,Ann\x1b]0;owned\x07,a@b.co\n2,Bob,b@c.co,extra\x1b[1m\n")
    ws = str(tmp_path / "ws")
    code, out, err = run(capsys, "load", str(src), "--key", "id", "--workspace", ws)
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out  # the dataset name, from the file name
    assert "rejected line 3" in out
    code, out, _ = run(capsys, "datasets", "--workspace", ws)
    assert code == 0 and "\x1b" not in out and "\\x1b[2J" in out
    code, _, err = run(capsys, "load", str(src), "--key", "nope", "--workspace", ws)
    line = one_line(err)  # the message lists the columns
    assert code == 2 and "\x1b" not in line and "na\\x1b[31mme" in line
