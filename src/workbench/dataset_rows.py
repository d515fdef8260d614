"""A dataset version's rows (``artifacts.DATA``): one Parquet file, or a folder of parts read in order.

A version loaded whole is one file. An append (``Workspace.load(mode="append")``) makes a folder: the
last version's parts it replaces no record in are hard-linked, not rewritten, and only its delta (and
any part it replaces records in) is written, so adding ten thousand records to a million costs what
the ten thousand cost. Every reader of a version's rows goes through here, so none reads one part
for the whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: A part's name in a version's folder of parts: their names sort in row order.
PART = "part-{:05d}.parquet"
#: Each written file's id, in its Parquet metadata (``stamped``): a copy of the workspace keeps it, a
#: rewrite (erasure) never does, so an equal id is the same rows (``identities``).
ID_KEY = b"workbench.rows"
#: An append that would leave more parts than this writes the version as one file instead (compaction),
#: so daily appends never leave a reader opening thousands of files.
MAX_PARTS = 32


def files(path: Path) -> list[Path]:
    """The Parquet files holding the rows at ``path`` (a version's ``artifacts.DATA``), in row order."""
    if path.is_dir():
        return sorted(path.glob("part-*.parquet"))
    return [path]


def stamped(table: pa.Table) -> pa.Table:
    """``table`` with a new id (``ID_KEY``) in its metadata: every file of rows is written so."""
    return table.replace_schema_metadata({**(table.schema.metadata or {}), ID_KEY: uuid.uuid4().hex.encode()})


def identities(path: Path) -> list[tuple[str | None, int]]:
    """(id, rows) of each file of :func:`files`, from their footers (id None: written before ids were)."""
    out = []
    for p in files(path):
        meta = pq.read_metadata(p)
        stamp = (meta.metadata or {}).get(ID_KEY)
        out.append((None if stamp is None else stamp.decode(), meta.num_rows))
    return out


def schema(path: Path) -> pa.Schema:
    """The rows' columns and types (every part has the first's)."""
    return pq.read_schema(files(path)[0])


def row_counts(path: Path) -> list[int]:
    """Rows per file of :func:`files`, from their footers."""
    return [n for _, n in identities(path)]


def read_table(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """Every row, in order, as one Arrow table (``columns``: only these)."""
    parts = [pq.read_table(p, columns=None if columns is None else list(columns)) for p in files(path)]
    if len(parts) == 1:
        return parts[0]
    return pa.concat_tables(parts, promote_options="permissive")  # a part rewritten by erasure may widen a type


def read_frame(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every row, in order, as pandas, as ``pd.read_parquet`` reads one file."""
    if not path.is_dir():
        return pd.read_parquet(path, columns=None if columns is None else list(columns))
    return read_table(path, columns).to_pandas()


def head(path: Path, n: int) -> pd.DataFrame:
    """The first ``n`` rows, reading no more row groups than they need."""
    batches: list[pa.RecordBatch] = []
    first = None
    for p in files(path):
        pf = pq.ParquetFile(p)
        first = first or pf.schema_arrow
        for batch in pf.iter_batches(batch_size=max(n, 1)):
            batches.append(batch)
            if sum(b.num_rows for b in batches) >= n:
                return pa.Table.from_batches(batches).to_pandas().head(n)
    if not batches:
        return (first or schema(path)).empty_table().to_pandas()
    return pa.Table.from_batches(batches).to_pandas().head(n)


def register(con: duckdb.DuckDBPyConnection, path: Path, name: str, skip: Sequence[bool] = ()) -> None:
    """A DuckDB view ``name`` of the rows with ``file_row_number``: each row's place among all of them
    (``skip``: per file of :func:`files`, True to leave its rows out)."""
    paths = files(path)
    if len(paths) == 1 and not any(skip):
        con.read_parquet(paths[0].as_posix(), file_row_number=True).create_view(name)
        return
    offsets = np.cumsum([0, *row_counts(path)])
    selects = [f"SELECT * REPLACE (file_row_number + {int(offsets[i])} AS file_row_number) "
               f"FROM read_parquet({_literal(p.as_posix())}, file_row_number = true)"
               for i, p in enumerate(paths) if not (i < len(skip) and skip[i])]
    if not selects:  # every file left out: no rows, in the rows' columns
        selects = [f"SELECT *, 0::BIGINT AS file_row_number FROM read_parquet({_literal(paths[0].as_posix())}) "
                   "LIMIT 0"]
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS " + " UNION ALL ".join(selects))


def sql_source(path: Path) -> str:
    """A ``read_parquet(...)`` of the rows for a DuckDB query (file paths quoted, in row order)."""
    return f"read_parquet([{', '.join(_literal(p.as_posix()) for p in files(path))}])"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
