"""A clustering run's standardized records (the model's fields, by run position), kept for the next update.

An update scores its new records against records clustered before. Standardizing
those again reads every row group of the data file and redoes work a run has
done: a run keeps its prepared fields instead, as Arrow IPC segments read by
memory map, so an update takes the rows it pairs (a few pages each) and writes
only its new records' segment. The last run's segments are linked, not copied;
an index gives each run position its segment and row. The store is rewritten
as one segment when its segments hold twice the run's records (changed and
deleted records left behind) or number more than :data:`MAX_SEGMENTS`.

The segments hold standardized names and contacts: erasure deletes the
folder with the run's other scratch files; an update then standardizes the
records it pairs from the data file, as it does after a run that kept none.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from workbench import artifacts

INDEX = "index.arrow"
#: Segments an update may leave before the store is rewritten as one.
MAX_SEGMENTS = 16


def _segment_path(folder: Path, segment: int) -> Path:
    return folder / f"segment-{segment}.arrow"


def _write_ipc(table: pa.Table, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_ipc(path: Path) -> pa.Table:
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def _as_table(prepared: pd.DataFrame, names: list[str]) -> pa.Table | None:
    """The fields as text columns, or None when one holds something else (the store keeps text only)."""
    try:
        return pa.table({n: pa.array(prepared[n].to_numpy(dtype=object), type=pa.string(), from_pandas=True)
                         for n in names})
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def write_prepared(folder: Path, prepared: pd.DataFrame, names: list[str]) -> bool:
    """Keep a full run's prepared records (``names``, by run position) in ``folder``; False when they are not
    all text (nothing is kept: the next update standardizes the records it pairs)."""
    table = _as_table(prepared, names)
    if table is None:
        return False
    _commit(folder, {0: table}, np.zeros(len(prepared), dtype="int32"), np.arange(len(prepared), dtype="int64"))
    return True


def _commit(folder: Path, new: dict[int, pa.Table], segment: np.ndarray, row: np.ndarray,
            linked: dict[int, Path] | None = None) -> None:
    """Write the store under ``folder`` whole or not at all: ``new`` segments written, ``linked`` ones linked
    (copied where links are not allowed), then the index (each position's segment and row)."""
    out = folder / artifacts.PREPARED
    tmp = folder / f".{artifacts.PREPARED}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for number, source in (linked or {}).items():
            artifacts.link_or_copy(source, _segment_path(tmp, number))
        for number, table in new.items():
            _write_ipc(table, _segment_path(tmp, number))
        _write_ipc(pa.table({"segment": pa.array(segment, pa.int32()), "row": pa.array(row, pa.int64())}),
                   tmp / INDEX)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class PreparedStore:
    """A run's kept prepared records (:func:`write_prepared`), read by position."""

    def __init__(self, folder: Path, names: list[str]):
        self.folder, self.names = folder, list(names)
        index = _read_ipc(folder / INDEX)
        self.segment = index["segment"].to_numpy()
        self.row = index["row"].to_numpy()
        self._segments: dict[int, pa.Table] = {}

    @classmethod
    def open(cls, run_folder: Path, names: list[str]) -> PreparedStore | None:
        """The store a run kept, or None (none kept, erased, or not these fields)."""
        folder = run_folder / artifacts.PREPARED
        if not (folder / INDEX).exists():
            return None
        store = cls(folder, names)
        if any(store._table(s).column_names != store.names for s in np.unique(store.segment)):
            return None
        return store

    def __len__(self) -> int:
        return len(self.segment)

    def _table(self, segment: int) -> pa.Table:
        if segment not in self._segments:
            self._segments[segment] = _read_ipc(_segment_path(self.folder, segment))
        return self._segments[segment]

    def _take(self, positions: np.ndarray) -> pa.Table:
        positions = np.asarray(positions, dtype="int64")
        segment, row = self.segment[positions], self.row[positions]
        parts, order = [], []
        for s in np.unique(segment):
            at = np.flatnonzero(segment == s)
            parts.append(self._table(int(s)).take(pa.array(row[at])))
            order.append(at)
        if not parts:
            return pa.table({n: pa.array([], pa.string()) for n in self.names})
        back = np.empty(len(positions), dtype="int64")
        back[np.concatenate(order)] = np.arange(len(positions))
        return pa.concat_tables(parts).take(pa.array(back))

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """The prepared records at ``positions``, in their order (the fields as object columns, None missing)."""
        table = self._take(positions)
        return pd.DataFrame({n: table[n].to_numpy(zero_copy_only=False) for n in self.names})

    def extend(self, run_folder: Path, kept: np.ndarray, delta: pd.DataFrame) -> bool:
        """Keep the next run's store in ``run_folder``: its positions are this store's ``kept`` ones (in
        order), then ``delta`` (prepared, in order). False (nothing kept) when ``delta`` is not all text."""
        added = _as_table(delta, self.names)
        if added is None:
            return False
        kept = np.asarray(kept, dtype="int64")
        segment = np.concatenate([self.segment[kept], np.full(len(delta), -1, dtype="int32")]).astype("int32")
        row = np.concatenate([self.row[kept], np.arange(len(delta), dtype="int64")])
        used = np.unique(segment[segment >= 0])
        stored = sum(self._table(int(s)).num_rows for s in used) + len(delta)
        if len(used) + 1 > MAX_SEGMENTS or stored > 2 * max(len(segment), 1):
            whole = pa.concat_tables([self._take(kept), added])
            _commit(run_folder, {0: whole}, np.zeros(len(segment), dtype="int32"),
                    np.arange(len(segment), dtype="int64"))
            return True
        number = int(used.max()) + 1 if len(used) else 0
        segment[segment < 0] = number
        _commit(run_folder, {number: added}, segment, row,
                linked={int(s): _segment_path(self.folder, int(s)) for s in used})
        return True
