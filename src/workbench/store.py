"""The workspace database: small structured state, versioned, migrated on open.

Large artifacts (data, pairs, clusters) live in Parquet files next to it; this
database only records what exists, who made it and when. SQLite in WAL mode
by default so a notebook and a Voilà dashboard can read while another
process writes; any SQLAlchemy URL (Postgres for teams) works the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from workbench.errors import WorkbenchError

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
    sa.Column("data_path", sa.Text, nullable=False),
    sa.Column("rejects_path", sa.Text, nullable=False),
    sa.Column("schema_json", sa.Text, nullable=False),
    sa.Column("warnings_json", sa.Text, nullable=False, default="[]"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
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


#: Ordered migrations: (target version, function). Append, never edit: a
#: workspace at version N runs every migration above N on open.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _migrate_to_1),
    (2, _migrate_to_2),
    (3, _migrate_to_3),
]


def schema_version_target() -> int:
    return MIGRATIONS[-1][0]


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


def make_engine(url: str) -> Engine:
    """An engine; for SQLite, WAL mode and a busy timeout so readers never block writers."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url)


def current_version(conn: Connection) -> int:
    """The store's schema version; 0 for a new, empty database."""
    if not sa.inspect(conn).has_table("meta"):
        return 0
    row = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
    return int(row[0]) if row else 0


def migrate(engine: Engine) -> tuple[int, int]:
    """Bring the store to the latest version; returns (before, after).

    A store written by a newer workbench is refused rather than damaged.
    """
    target = schema_version_target()
    with engine.begin() as conn:
        meta_table.create(conn, checkfirst=True)
        before = current_version(conn)
        if before > target:
            raise WorkbenchError(
                f"this workspace was written by a newer workbench (store version {before}, "
                f"this one understands up to {target}); upgrade workbench to open it"
            )
        for version, step in MIGRATIONS:
            if version > before:
                step(conn)
                _set_version(conn, version)
    return before, target


def _set_version(conn: Connection, version: int) -> None:
    exists = conn.execute(sa.select(meta_table.c.key).where(meta_table.c.key == "schema_version")).first()
    if exists:
        conn.execute(meta_table.update().where(meta_table.c.key == "schema_version").values(value=str(version)))
    else:
        conn.execute(meta_table.insert().values(key="schema_version", value=str(version)))
