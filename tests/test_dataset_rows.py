"""A version's rows in parts: an append links the last version's files it replaces nothing in and writes
only the rest; every reader sees one table, in order; erasure rewrites only the parts that held the record."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from workbench import Workspace, artifacts, dataset_rows
from workbench.erasure import forget
from workbench.matching.records import RecordReader, register_hashes


def _people(keys: list[str], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": keys, "name": rng.choice(["Ann Smith", "Bob Stone", "José Ruiz", None], len(keys)),
                         "score": rng.random(len(keys)).round(3)})


def _append(ws: Workspace, tmp_path, frame: pd.DataFrame, n: int):
    frame.to_parquet(tmp_path / f"delta{n}.parquet", index=False)
    return ws.load(tmp_path / f"delta{n}.parquet", name="people", mode="append")


def _inodes(ws: Workspace, ds) -> list[int]:
    return [p.stat().st_ino for p in dataset_rows.files(ws.artifact_path(ds, artifacts.DATA))]


@pytest.fixture
def grown(tmp_path):
    """people v1 (1,000 records), v2 = v1 + 30 new records, v3 = v2 with one of v2's new records replaced
    and 5 more new ones."""
    ws = Workspace(tmp_path / "ws", user="ann")
    base = _people([f"P{i:04d}" for i in range(1000)], 1)
    base.to_parquet(tmp_path / "base.parquet", index=False)
    v1 = ws.load(tmp_path / "base.parquet", key="id", name="people")
    first = _people([f"N{i:03d}" for i in range(30)], 2)
    v2 = _append(ws, tmp_path, first, 1)
    second = _people(["N007", *[f"M{i}" for i in range(5)]], 3)
    v3 = _append(ws, tmp_path, second, 2)
    yield ws, (v1, v2, v3), (base, first, second)
    ws.close()


def test_an_append_of_new_records_links_the_last_version_and_writes_only_them(grown):
    ws, (v1, v2, v3), (base, first, second) = grown
    assert ws.artifact_path(v2, artifacts.DATA).is_dir()
    assert dataset_rows.row_counts(ws.artifact_path(v2, artifacts.DATA)) == [1000, 30]
    assert _inodes(ws, v2)[0] == _inodes(ws, v1)[0]  # the million is linked, not read and written
    # v3 replaces a record of v2's delta: that part is written again, the base is still linked
    assert dataset_rows.row_counts(ws.artifact_path(v3, artifacts.DATA)) == [1000, 29, 6]
    assert _inodes(ws, v3)[0] == _inodes(ws, v1)[0] and _inodes(ws, v3)[1] != _inodes(ws, v2)[1]
    expected = pd.concat([base, first[first["id"] != "N007"], second], ignore_index=True)
    got = ws.dataset("people").frame
    pd.testing.assert_frame_equal(got, expected)
    assert ws.dataset("people").rows_kept == len(expected) == 1035
    pd.testing.assert_frame_equal(ws.dataset_by_id(v3.id).head(1010), expected.head(1010))


def test_every_reader_sees_the_parts_as_one_table_in_order(grown):
    ws, (_, _, v3), _ = grown
    ds = ws.dataset_by_id(v3.id)
    frame = ds.frame
    rows = np.array([0, 999, 1000, 1028, 1029, 1034, 5])  # around each part's edge, out of order
    got = RecordReader(ds, ["name"]).rows(rows)
    assert list(got.index) == list(frame["id"].iloc[rows])
    assert list(got["name"]) == list(frame["name"].iloc[rows])
    con = duckdb.connect()
    register_hashes(con, ds, "h")
    hashed = con.sql("SELECT key, row FROM h ORDER BY row").df()
    con.close()
    assert list(hashed["row"]) == list(range(len(frame))) and list(hashed["key"]) == list(frame["id"])
    assert list(dataset_rows.read_frame(ws.artifact_path(ds, artifacts.DATA), ["score"])["score"]) \
        == list(frame["score"])


def test_appends_past_the_most_parts_join_them_into_one_file(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_rows, "MAX_PARTS", 3)
    ws = Workspace(tmp_path / "ws", user="ann")
    frames = [_people([f"P{i}" for i in range(50)], 1)]
    frames[0].to_parquet(tmp_path / "base.parquet", index=False)
    ws.load(tmp_path / "base.parquet", key="id", name="people")
    for n in range(1, 4):
        frames.append(_people([f"A{n}-{i}" for i in range(4)], n))
        ds = _append(ws, tmp_path, frames[-1], n)
        assert ws.artifact_path(ds, artifacts.DATA).is_dir() == (n < 3)
    pd.testing.assert_frame_equal(ws.dataset("people").frame, pd.concat(frames, ignore_index=True))
    ws.close()


def test_erasure_rewrites_only_the_parts_that_held_the_record(grown):
    ws, (v1, v2, v3), (base, first, second) = grown
    delta_part = _inodes(ws, v3)[2]
    forget(ws, "P0005", dataset="people")
    for ds in (v1, v2, v3):
        frame = ws.dataset_by_id(ds.id).frame
        assert "P0005" not in set(frame["id"]) and ws.dataset_by_id(ds.id).rows_kept == len(frame)
    assert _inodes(ws, v3)[2] == delta_part  # the part without the record is left alone
    assert len({_inodes(ws, v)[0] for v in (v1, v2, v3)}) == 3  # each version's own copy, links broken
    expected = pd.concat([base[base["id"] != "P0005"], first[first["id"] != "N007"], second], ignore_index=True)
    pd.testing.assert_frame_equal(ws.dataset("people").frame, expected)
    data = ws.artifact_path(v3, artifacts.DATA)
    assert not any(b"P0005" in p.read_bytes() for p in data.iterdir())
