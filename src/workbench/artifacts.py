"""Names of the files the workbench leaves in a workspace: one place, so a reader and a writer never drift.

A dataset version's folder (``Workspace.artifact_path``) holds its rows; a
matching run's folder (its result's ``folder``) holds pairs, scores and
clusters; golden and households runs write theirs in their own run folders.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: A dataset version: the rows kept, the rows rejected (each with its reason), and key problems. The rows
#: are one file, or after an append a folder of parts: read them through ``dataset_rows``.
DATA = "data.parquet"
REJECTS = "rejects.parquet"
KEY_PROBLEMS = "key_problems.parquet"

#: A matching run: candidate pairs and their scores (scratch, by position), the scored pairs by
#: record key (kept for review), the model's clustering, and the clustering with review decisions.
PAIRS = "pairs.parquet"
SCORES = "scores.parquet"
EDGES = "edges.parquet"
#: The same edges by position in ``CLUSTERS_MODEL`` (l, r, score): what the next update reads, with no
#: join by key; erasure removes it with the rows it shifts (the update then joins by key).
EDGE_POSITIONS = "edge_positions.parquet"
CLUSTERS_MODEL = "clusters_model.parquet"
#: Each record's model cluster as an integer code (``CLUSTERS_MODEL``'s rows; equal ids, equal codes): what
#: the next update groups records by without encoding a million ids; erasure removes it with the rows it shifts.
CLUSTER_CODES = "cluster_codes.parquet"
CLUSTERS = "clusters.parquet"
#: A clustering run's persistent ids: the registry of every id given for its task, and the run's id changes.
CLUSTER_IDS = "cluster_ids.parquet"
ID_HISTORY = "id_history.parquet"
#: A clustering run's records by content hash, in its records' order (a full run's is the data file's; an
#: update writes them by position): what the next incremental run compares against, by position.
RECORDS = "records.parquet"
#: The files (id and rows of each, ``dataset_rows.identities``) a run's records were read from; with each
#: record's ``row`` among them in ``RECORDS``, the next update takes the hashes of records in the same
#: files, not hashing them again. Erasure deletes it (the rows it drops shift the others).
RECORD_FILES = "record_files.json"
#: A clustering run's standardized records by position (``matching.prepared_store``): what the next
#: update pairs its new records with, not standardized again. Personal data: erasure deletes it.
PREPARED = "prepared"
#: The Spark engine's prepared records, by position, while a run scores them on a local master (scratch).
SPARK_RECORDS = "spark_records.parquet"
#: A matching or linking run's model: the versioned JSON document (its name frequencies beside it).
MODEL = "model.json"
#: A linking run: the best master record per acquired record.
LINKS = "links.parquet"

#: A households run: each record's household.
MEMBERS = "members.parquet"

#: A golden run: golden records, the record-to-golden crosswalk, and where each value came from.
GOLDEN = "golden.parquet"
CROSSWALK = "crosswalk.parquet"
LINEAGE = "lineage.parquet"


def link_or_copy(source, target) -> None:
    """``target`` the same file as ``source``: a hard link (a run's files are written whole, under a temporary
    name then renamed, never changed in place, so runs may share them), else a copy."""
    import os
    import shutil

    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def write_table(table, path) -> None:
    """Write a run's table (an Arrow table, or a frame without its index) as Parquet, without dictionary
    encoding: its keys and ids hardly repeat, and a dictionary tried on every column costs a third of the
    write (a million records' clusters: 0.19 s against 0.125 s, 8% larger).

    Inside ``deferred_writes`` the table is handed to a writer thread and the call returns at once."""
    import pyarrow as pa

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    writer = _writer.get()
    if writer is None:
        _write(table, path)
    else:
        writer.submit(table, path)


def _write(table, path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, path, use_dictionary=False)


class _Writer:
    """One thread writing the tables handed to it, in order; ``close`` waits for all and raises the first
    failure. Parquet encoding releases the GIL, so the run's Python work goes on beside it."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-write")
        self.pending: list = []

    def submit(self, table, path) -> None:
        self.pending.append(self.pool.submit(_write, table, path))

    def close(self, *, check: bool = True) -> None:
        self.pool.shutdown(wait=True)
        for future in self.pending if check else ():
            future.result()  # the first failure raised


_writer: ContextVar[_Writer | None] = ContextVar("workbench_artifact_writer", default=None)


@contextmanager
def deferred_writes() -> Iterator[None]:
    """Tables written inside (``write_table``) are written by a thread beside the caller's work; on leaving,
    every one is on disk, or the first failure is raised. A table handed over must not change afterwards,
    nor be read back inside: a run marks itself finished only after leaving."""
    writer = _Writer()
    token = _writer.set(writer)
    try:
        yield
    except BaseException:
        _writer.reset(token)
        writer.close(check=False)  # waited for; the caller's failure is the one to raise
        raise
    _writer.reset(token)
    writer.close()
