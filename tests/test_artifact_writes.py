"""Run tables written beside the run's work (``artifacts.deferred_writes``): all on disk on leaving, or a failure."""

from __future__ import annotations

import threading

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench import artifacts


def test_tables_handed_over_are_on_disk_when_the_block_is_left(tmp_path, monkeypatch):
    threads = []
    write = artifacts._write
    monkeypatch.setattr(artifacts, "_write", lambda table, path: (threads.append(threading.current_thread()),
                                                                   write(table, path)))
    with artifacts.deferred_writes():
        for i in range(5):
            artifacts.write_table(pa.table({"n": list(range(i, i + 1000))}), tmp_path / f"t{i}.parquet")
        artifacts.write_table(pd.DataFrame({"name": ["a", "b"]}), tmp_path / "frame.parquet")
    assert [pq.read_table(tmp_path / f"t{i}.parquet")["n"][0].as_py() for i in range(5)] == list(range(5))
    assert pd.read_parquet(tmp_path / "frame.parquet")["name"].tolist() == ["a", "b"]
    assert len(threads) == 6 and threading.main_thread() not in threads
    artifacts.write_table(pa.table({"n": [1]}), tmp_path / "after.parquet")  # outside: written by the caller
    assert threads[-1] is threading.current_thread() and (tmp_path / "after.parquet").exists()


def test_a_failed_write_fails_the_block_and_the_blocks_own_failure_comes_first(tmp_path):
    with pytest.raises(OSError):
        with artifacts.deferred_writes():
            artifacts.write_table(pa.table({"n": [1]}), tmp_path / "no-such-folder" / "t.parquet")
            artifacts.write_table(pa.table({"n": [2]}), tmp_path / "written.parquet")
    assert pq.read_table(tmp_path / "written.parquet")["n"].to_pylist() == [2]  # the rest still written
    with pytest.raises(ValueError, match="the caller's"):
        with artifacts.deferred_writes():
            artifacts.write_table(pa.table({"n": [1]}), tmp_path / "no-such-folder" / "t.parquet")
            raise ValueError("the caller's")
