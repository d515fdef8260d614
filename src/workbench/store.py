"""The workspace database: small structured state, versioned, migrated on open.

Large artifacts (data, pairs, clusters) live in Parquet files next to it; this
database only records what exists, who made it and when. SQLite in WAL mode
by default so a notebook and a Voilà dashboard can read while another
process writes; any SQLAlchemy URL (Postgres for teams) works the same.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from workbench.errors import WorkbenchError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the store's own write lock still serializes migrations
    fcntl = None

metadata = sa.MetaData()

meta_table = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

datasets_table = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("encoding", sa.String(40)),
    sa.Column("key", sa.String(200)),
    sa.Column("rows_read", sa.Integer, nullable=False),
    sa.Column("rows_kept", sa.Integer, nullable=False),
    sa.Column("rows_rejected", sa.Integer, nullable=False),
    # the version's folder, relative to the workspace (datasets/<id>; an older layout: datasets/<name>/v<n>),
    # set as soon as the id is known; its files are named in workbench.artifacts
    sa.Column("folder", sa.Text),
    sa.Column("schema_json", sa.Text, nullable=False),
    sa.Column("warnings_json", sa.Text, nullable=False, default="[]"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    # loading -> ready (or failed): a version is registered before its files are written,
    # and readers see only ready ones
    sa.Column("status", sa.String(20), nullable=False, server_default="ready"),
    # the process loading it, so a load whose process died can be marked failed
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(200)),
    # where the data came from (workbench.provenance): party type, source system, acquisition date,
    # permitted purposes, licence; and how long it may be kept (workbench.retention)
    sa.Column("provenance_json", sa.Text),
    sa.Column("retention_json", sa.Text),
    sa.UniqueConstraint("name", "version", name="uq_dataset_name_version"),
)

runs_table = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset_id", sa.Integer, sa.ForeignKey("datasets.id"), index=True),
    sa.Column("kind", sa.String(40), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("params_json", sa.Text, nullable=False, default="{}"),
    sa.Column("result_json", sa.Text),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("created_by", sa.String(200), nullable=False),
    # the process running it, so a run whose process died can be marked failed
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(200)),
)

audit_table = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("user", sa.String(200), nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("target", sa.Text),
    sa.Column("details_json", sa.Text, nullable=False, default="{}"),
    # hash chain (workbench.audit): the previous entry's hash and this entry's own
    sa.Column("prev_hash", sa.String(64)),
    sa.Column("hash", sa.String(64)),
)


labels_table = sa.Table(
    "labels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task", sa.String(200), nullable=False, index=True),
    sa.Column("left_key", sa.String(200), nullable=False),
    sa.Column("right_key", sa.String(200), nullable=False),
    sa.Column("label", sa.String(20), nullable=False),
    sa.Column("left_json", sa.Text, nullable=False),
    sa.Column("right_json", sa.Text, nullable=False),
    sa.Column("analyst", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("undone_at", sa.DateTime(timezone=True)),
)


decisions_table = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task", sa.String(200), nullable=False, index=True),
    sa.Column("action", sa.String(20), nullable=False),  # split | merge | verify
    sa.Column("keys_json", sa.Text, nullable=False),  # the record keys the decision is about
    sa.Column("note", sa.Text),
    sa.Column("analyst", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("undone_at", sa.DateTime(timezone=True)),
)


pair_leases_table = sa.Table(
    "pair_leases",
    metadata,
    # a pair handed to one analyst for a while, so analysts working at once get different pairs
    sa.Column("task", sa.String(200), primary_key=True),
    sa.Column("left_key", sa.String(200), primary_key=True),
    sa.Column("right_key", sa.String(200), primary_key=True),
    sa.Column("analyst", sa.String(200), nullable=False),
    sa.Column("expires", sa.Float, nullable=False),  # Unix time: compares the same in every database
)

label_resolutions_table = sa.Table(
    "label_resolutions",
    metadata,
    # a steward's answer to a pair analysts labeled differently; their labels stay as they were
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task", sa.String(200), nullable=False, index=True),
    sa.Column("left_key", sa.String(200), nullable=False),
    sa.Column("right_key", sa.String(200), nullable=False),
    sa.Column("label", sa.String(20), nullable=False),
    sa.Column("steward", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("undone_at", sa.DateTime(timezone=True)),
)


def _migrate_to_1(conn: Connection) -> None:
    """Version 1: datasets, runs, audit."""
    for table in (datasets_table, runs_table, audit_table):
        table.create(conn, checkfirst=True)


def _migrate_to_2(conn: Connection) -> None:
    """Version 2: analyst labels for matching tasks (the source of truth for models)."""
    labels_table.create(conn, checkfirst=True)


def _migrate_to_3(conn: Connection) -> None:
    """Version 3: cluster review decisions (split, merge, verify) that outlive re-clustering."""
    decisions_table.create(conn, checkfirst=True)


def _migrate_to_4(conn: Connection) -> None:
    """Version 4: dataset status (registered before files are written), pid and host of runs."""
    _add_missing_columns(conn, datasets_table, "status")
    _add_missing_columns(conn, runs_table, "pid", "host")


def _add_missing_columns(conn: Connection, table: sa.Table, *names: str) -> None:
    """Add columns a table lacks (a store created at this version already has them)."""
    have = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    for name in names:
        if name not in have:
            column = sa.schema.CreateColumn(table.c[name]).compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column}"))



def _migrate_to_5(conn: Connection) -> None:
    """Version 5: pair leases and stewards' resolutions of conflicting labels (analysts working together)."""
    pair_leases_table.create(conn, checkfirst=True)
    label_resolutions_table.create(conn, checkfirst=True)


users_table = sa.Table(
    "users",
    metadata,
    # who may do what (workbench.access): viewer, analyst, steward, admin
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("granted_by", sa.String(200), nullable=False),
    sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
)


def _migrate_to_6(conn: Connection) -> None:
    """Version 6: users and their roles (the first user of a workspace is its admin)."""
    users_table.create(conn, checkfirst=True)


def _migrate_to_7(conn: Connection) -> None:
    """Version 7: the audit log becomes a hash chain; entries already there are hashed in order."""
    from workbench import audit

    _add_missing_columns(conn, audit_table, "prev_hash", "hash")
    audit.chain_existing(conn)


def _migrate_to_8(conn: Connection) -> None:
    """Version 8: pid and host of the process loading a dataset version (a killed load is marked failed)."""
    _add_missing_columns(conn, datasets_table, "pid", "host")


annotations_table = sa.Table(
    "annotations",
    metadata,
    # analysts' notes and tags on a record (target = record key) or a cluster (target = its
    # members' keys, sorted, as JSON: cluster ids change between runs, members are what was meant)
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(200), nullable=False, index=True),  # the dataset's name: every version
    sa.Column("target_kind", sa.String(20), nullable=False),  # record | cluster
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # note | tag
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("analyst", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("removed_at", sa.DateTime(timezone=True)),
)


def _migrate_to_9(conn: Connection) -> None:
    """Version 9: dataset provenance and retention policy; notes and tags on records and clusters."""
    _add_missing_columns(conn, datasets_table, "provenance_json", "retention_json")
    annotations_table.create(conn, checkfirst=True)


def _migrate_to_10(conn: Connection) -> None:
    """Version 10: a dataset version's folder in one column, instead of two file paths read by nobody."""
    have = {c["name"] for c in sa.inspect(conn).get_columns(datasets_table.name)}
    if "data_path" not in have:  # created at this version
        return
    _add_missing_columns(conn, datasets_table, "folder")
    rows = conn.execute(sa.text("SELECT id, data_path FROM datasets")).all()
    for dataset_id, data_path in rows:
        folder = data_path.rsplit("/", 1)[0] if data_path and "/" in data_path else None
        conn.execute(sa.text("UPDATE datasets SET folder = :f WHERE id = :i"), {"f": folder, "i": dataset_id})
    for name in ("data_path", "rejects_path"):
        conn.execute(sa.text(f"ALTER TABLE datasets DROP COLUMN {name}"))


#: Ordered migrations: (target version, function). Append, never edit: a
#: workspace at version N runs every migration above N on open.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _migrate_to_1),
    (2, _migrate_to_2),
    (3, _migrate_to_3),
    (4, _migrate_to_4),
    (5, _migrate_to_5),
    (6, _migrate_to_6),
    (7, _migrate_to_7),
    (8, _migrate_to_8),
    (9, _migrate_to_9),
    (10, _migrate_to_10),
]


def schema_version_target() -> int:
    return MIGRATIONS[-1][0]


def inserted_id(result: Any) -> int:
    """The primary key of the row an INSERT just wrote."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])


def now() -> datetime:
    return datetime.now(UTC)


def dumps(value: Any) -> str:
    """JSON for the store: stable key order, dates and numpy scalars as text."""
    return json.dumps(value, sort_keys=True, default=json_value)


def json_value(v: Any) -> Any:
    """A data value as JSON can hold it: missing -> None, dates as ISO text, numpy scalars as Python's."""
    if v is None or (pd.api.types.is_scalar(v) and not isinstance(v, str) and pd.isna(v)):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v if isinstance(v, int | float | str | bool) else str(v)


class ReadOnlyError(WorkbenchError):
    """A write was attempted through a workspace opened read-only (a dashboard kernel)."""


READ_ONLY = "workspace opened read-only: {what} needs an analyst session (open it without read_only)"

#: First words of the statements a read-only store lets through.
_READ_STATEMENTS = frozenset({"SELECT", "BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SHOW", "WITH"})


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine; for SQLite, WAL mode and a busy timeout so readers never block writers.

    ``read_only``: SQLite opens the file with ``mode=ro`` (it must exist),
    PostgreSQL sessions default to read-only transactions, and any statement
    other than a read is refused with ``ReadOnlyError`` before it reaches the
    database.
    """
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, read_only)
    else:
        url = _with_driver(url)
        args = {"options": "-c default_transaction_read_only=on"} if read_only and "postgres" in url else {}
        try:
            engine = sa.create_engine(url, connect_args=args)
        except ModuleNotFoundError as exc:
            shown = sa.engine.make_url(url).render_as_string(hide_password=True)
            raise WorkbenchError(f"the store {shown} needs the {exc.name} driver: pip install {exc.name}") from exc
    if read_only:
        sa.event.listen(engine, "before_cursor_execute", _refuse_writes)
    return engine


def _with_driver(url: str) -> str:
    """``postgresql://`` with the psycopg (3) driver when it is installed: SQLAlchemy's default is psycopg2."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres") and sep:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return url
        return f"postgresql+psycopg://{rest}"
    return url


def _sqlite_engine(url: str, read_only: bool) -> Engine:
    if read_only:
        path = Path(sa.engine.make_url(url).database or "").resolve()
        if not path.is_file():
            raise WorkbenchError(f"{path}: no workspace store here to open read-only")
        uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
        # the URL still names the file, so SQLAlchemy pools it as a file database
        engine = sa.create_engine(url, creator=lambda: sqlite3.connect(uri, uri=True, timeout=30,
                                                                       check_same_thread=False))
    else:
        engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
        cur = dbapi_conn.cursor()
        if not read_only:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return engine


def _refuse_writes(conn, cursor, statement: str, parameters, context, executemany) -> None:
    words = statement.split(None, 1)
    if not words or words[0].upper() not in _READ_STATEMENTS:
        raise ReadOnlyError(READ_ONLY.format(what=f"{words[0].upper() if words else 'this statement'}"))


@contextmanager
def write_transaction(engine: Engine, lock: str | None = None) -> Iterator[Connection]:
    """A transaction that holds the store's write lock from its first statement.

    Reading a number (the next version) and then inserting it is only safe if
    no other writer comes in between: SQLite takes its write lock with
    ``BEGIN IMMEDIATE`` (pysqlite then begins no transaction of its own),
    PostgreSQL a transaction-scoped advisory lock named ``lock``. A store held
    by another process past the busy timeout gives a one-line "retry".
    """
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif lock and conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(lock)})
            yield conn
    except sa.exc.OperationalError as exc:
        if "locked" in str(exc.orig) or "deadlock" in str(exc.orig):
            raise WorkbenchError(f"the workspace store is busy with another process's write; retry ({exc.orig})") from exc
        raise


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def current_version(conn: Connection) -> int:
    """The store's schema version; 0 for a new, empty database."""
    if not sa.inspect(conn).has_table("meta"):
        return 0
    row = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
    return int(row[0]) if row else 0


def migrate(engine: Engine) -> tuple[int, int]:
    """Bring the store to the latest version; returns (before, after).

    Runs under an exclusive lock (a lock file next to a SQLite store, then the
    store's write lock), so processes opening a new workspace at once migrate
    it once. A store written by a newer workbench is refused rather than damaged.
    """
    target = schema_version_target()
    if _exists(engine):  # the common case, a current store, takes no lock
        with engine.connect() as conn:
            if current_version(conn) == target:
                return target, target
    with _migration_file_lock(engine), write_transaction(engine, lock="workbench-migrate") as conn:
        meta_table.create(conn, checkfirst=True)
        before = current_version(conn)
        _refuse_newer(before, target)
        for version, step in MIGRATIONS:
            if version > before:
                step(conn)
                _set_version(conn, version)
    return before, target


def check_version(engine: Engine) -> int:
    """For a read-only opener: the store's version, which must be the current one (it never migrates)."""
    target = schema_version_target()
    with engine.connect() as conn:
        version = current_version(conn)
    _refuse_newer(version, target)
    if version < target:
        raise WorkbenchError(
            f"this workspace's store is at version {version} and needs migrating to {target}; a read-only "
            "opener (a dashboard) never migrates: open it once in an analyst session (Workspace(path) or any "
            "workbench command), then retry"
        )
    return version


def _refuse_newer(version: int, target: int) -> None:
    if version > target:
        raise WorkbenchError(
            f"this workspace was written by a newer workbench (store version {version}, "
            f"this one understands up to {target}); upgrade workbench to open it"
        )


def _exists(engine: Engine) -> bool:
    """Whether the store exists already (a SQLite file is created, and switched to WAL, under the lock)."""
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    return not database or database == ":memory:" or Path(database).is_file()


@contextmanager
def _migration_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock file beside a SQLite store, held before the first connection is made.

    Its first connection switches the new file to WAL, which must not race
    another process's; PostgreSQL relies on the advisory lock alone.
    """
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{database}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _set_version(conn: Connection, version: int) -> None:
    exists = conn.execute(sa.select(meta_table.c.key).where(meta_table.c.key == "schema_version")).first()
    if exists:
        conn.execute(meta_table.update().where(meta_table.c.key == "schema_version").values(value=str(version)))
    else:
        conn.execute(meta_table.insert().values(key="schema_version", value=str(version)))
