"""A dataset's records keyed by their record key, as matching reads them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workbench import artifacts, dataset_rows
from workbench.errors import WorkbenchError


def keyed_records(ds) -> pd.DataFrame:
    """The dataset's kept rows indexed by their key (as text); unique keys required."""
    require_key(ds)
    frame = ds.frame
    keys = frame[ds.key].astype(str)
    if keys.duplicated().any():
        raise repeated_key(ds, keys[keys.duplicated()].iloc[0])
    return _keyed(frame.copy(), keys)


def require_key(ds) -> None:
    """A clear error for a dataset without a key column (matching names records by their key)."""
    if ds.key is None:
        raise WorkbenchError(f"{ds.label} has no key column: load it with key=... so labels can name records")


def repeated_key(ds, key: str) -> WorkbenchError:
    """The error for a key that names two records of ``ds``."""
    return WorkbenchError(f"{ds.label}: key {ds.key!r} repeats (e.g. {key!r}); matching needs unique keys")


def _keyed(frame: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    frame.index = keys.to_numpy()
    frame.index.name = "__key__"
    return frame


def register_hashes(con: duckdb.DuckDBPyConnection, ds, name: str, skip: list[bool] | tuple = ()) -> None:
    """A view ``name`` (DuckDB) of a keyed dataset's content hashes: ``key`` (text, as ``keyed_records`` makes
    it), ``hash`` (of every value of the record: any change to any of them changes it) and ``row`` (its
    position among the version's rows), read from the stored files without loading the records into Python
    (``skip``: per file of the rows, ``dataset_rows.files``, True to leave its records out)."""
    require_key(ds)
    path = ds.workspace.artifact_path(ds, artifacts.DATA)
    names = dataset_rows.schema(path).names
    dataset_rows.register(con, path, f"{name}_file", skip)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT CAST({_ident(ds.key)} AS VARCHAR) AS key, "
                f"hash({', '.join(map(_ident, names))}) AS hash, file_row_number AS row FROM {name}_file")


def write_record_hashes(ds, out: Path) -> None:
    """Write ``key``, ``hash``, ``row`` of every record of ``ds`` (``register_hashes``), in file order, to ``out``,
    and beside it the files they were read from (``write_record_files``)."""
    con = duckdb.connect()
    try:
        register_hashes(con, ds, "record_hashes")
        write_hashes(con, "record_hashes", out)
    finally:
        con.close()
    write_record_files(ds, out.parent)


def write_hashes(con: duckdb.DuckDBPyConnection, name: str, out: Path) -> None:
    """Write the hashes of view or table ``name`` (``register_hashes``), in file order, to ``out``."""
    con.sql(f"SELECT key, hash, row FROM {name} ORDER BY row").write_parquet(out.as_posix())


def write_record_files(ds, folder: Path) -> None:
    """``artifacts.RECORD_FILES`` in a run's ``folder``: the id and rows of each file of ``ds``'s rows."""
    text = json.dumps({"files": dataset_rows.identities(ds.workspace.artifact_path(ds, artifacts.DATA))})
    tmp = folder / f".{artifacts.RECORD_FILES}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / artifacts.RECORD_FILES)


def read_record_files(folder: Path) -> list[tuple[str | None, int]] | None:
    """What ``write_record_files`` wrote in ``folder``, or None when it is not there or not readable."""
    try:
        files = json.loads((folder / artifacts.RECORD_FILES).read_text(encoding="utf-8"))["files"]
        return [(None if f is None else str(f), int(n)) for f, n in files]
    except (OSError, ValueError, KeyError, TypeError):
        return None


class RecordReader:
    """Records of a dataset by their row among its rows (``dataset_rows``), as ``keyed_records`` gives them (indexed by key as
    text), for work that needs only some of them: only the row groups holding rows asked for are read, each
    once (``columns``: only these and the key), and only the rows asked for become pandas."""

    def __init__(self, ds, columns: list[str] | None = None):
        self.ds = ds
        self.files = [pq.ParquetFile(p) for p in dataset_rows.files(ds.workspace.artifact_path(ds, artifacts.DATA))]
        self.schema = self.files[0].schema_arrow
        if columns is not None:
            columns = [c for c in self.schema.names if c == ds.key or c in set(columns)]  # file order
        self.columns = columns
        # every file's row groups, one after another: (file, group) and the row each starts at
        self.parts = [(f, g) for f in self.files for g in range(f.metadata.num_row_groups)]
        self.starts = np.cumsum([0] + [f.metadata.row_group(g).num_rows for f, g in self.parts])
        self.groups: dict[int, pa.Table] = {}

    def rows(self, rows: np.ndarray) -> pd.DataFrame:
        rows = np.asarray(rows, dtype="int64")
        group = np.searchsorted(self.starts, rows, side="right") - 1
        needed = np.unique(group)
        for g in needed:
            if g not in self.groups:
                file, index = self.parts[int(g)]
                self.groups[g] = file.read_row_group(index, columns=self.columns)
        # the groups asked for, in order, one after another: each row's place among them
        sizes = np.array([self.groups[g].num_rows for g in needed], dtype="int64")
        offset = np.zeros(len(self.starts), dtype="int64")
        offset[needed] = np.cumsum(sizes) - sizes
        table = pa.concat_tables([self.groups[g] for g in needed], promote_options="permissive") if len(needed) \
            else self.schema.empty_table().select(self.columns or self.schema.names)
        frame = table.take(pa.array(offset[group] + rows - self.starts[group])).to_pandas()
        return _keyed(frame, frame[self.ds.key].astype(str))


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def record_by_key(raw: pd.DataFrame, key: str) -> dict[str, Any]:
    """One record of a keyed frame as a dict, missing values as None."""
    if key not in raw.index:
        raise WorkbenchError(f"record {key!r} is not in the data")
    return clean(raw.loc[key].to_dict())


def clean(d: dict[str, Any]) -> dict[str, Any]:
    """Missing values (NaN, NA, NaT) as None."""
    return {k: (None if _isna(v) else v) for k, v in d.items()}


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
