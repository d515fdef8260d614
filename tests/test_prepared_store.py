"""The standardized records a run keeps for the next update: right by position however updates shift them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench import artifacts
from workbench.matching.prepared_store import MAX_SEGMENTS, PreparedStore, write_prepared

NAMES = ["name", "email"]


def _records(prefix: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({"name": [f"{prefix} {i}" for i in range(n)],
                         "email": [None if i % 3 == 0 else f"{prefix}.{i}@example.com" for i in range(n)]})


def _stored_rows(folder) -> int:
    return sum(pa.ipc.open_file(pa.memory_map(str(p))).read_all().num_rows
               for p in (folder / artifacts.PREPARED).glob("segment-*.arrow"))


def test_kept_records_follow_their_positions_through_many_updates(tmp_path):
    expected = _records("first", 40)
    folder = tmp_path / "run-0"
    folder.mkdir()
    assert write_prepared(folder, expected, NAMES)
    store = PreparedStore.open(folder, NAMES)
    rng = np.random.default_rng(7)
    segment_counts, compacted = [], 0
    for step in range(1, 60):
        # some records leave or change (their rows left behind), some arrive
        kept = np.sort(rng.choice(len(expected), size=len(expected) - int(rng.integers(0, 4)), replace=False))
        delta = _records(f"update {step}", int(rng.integers(0, 5)))
        folder = tmp_path / f"run-{step}"
        folder.mkdir()
        assert store.extend(folder, kept, delta)
        expected = pd.concat([expected.iloc[kept], delta], ignore_index=True)
        store = PreparedStore.open(folder, NAMES)
        assert len(store) == len(expected)
        pd.testing.assert_frame_equal(store.rows(np.arange(len(store))), expected)
        shuffled = rng.permutation(len(expected))[: len(expected) // 2]
        pd.testing.assert_frame_equal(store.rows(shuffled), expected.iloc[shuffled].reset_index(drop=True))
        segments = len(list((folder / artifacts.PREPARED).glob("segment-*.arrow")))
        assert segments <= MAX_SEGMENTS
        assert _stored_rows(folder) <= 2 * len(expected)  # what left is dropped once it is half the store
        compacted += segments == 1 and step > 1
        segment_counts.append(segments)
    assert max(segment_counts) > 2 and compacted  # both ways were taken: segments linked, and the store rewritten


def test_a_run_keeps_nothing_when_its_fields_are_not_text(tmp_path):
    assert not write_prepared(tmp_path, pd.DataFrame({"name": ["a"], "email": [3]}), NAMES)
    assert PreparedStore.open(tmp_path, NAMES) is None
    assert write_prepared(tmp_path, _records("x", 3), NAMES)
    assert PreparedStore.open(tmp_path, ["name", "phone"]) is None  # another model's fields
    store = PreparedStore.open(tmp_path, NAMES)
    assert not store.extend(tmp_path / "next", np.arange(3), pd.DataFrame({"name": [1.5], "email": ["y"]}))
    assert not (tmp_path / "next" / artifacts.PREPARED).exists()
