"""The workspace: one folder holding everything a team has learned about its data.

``Workspace(path)`` creates or opens the folder, migrates its store, and is the
object later stages hang off (``ws.load``, ``ws.dataset``; checks, labels and
clusters in later modules). It holds no UI code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from workbench import access, artifacts, audit, dataset_rows, store
from workbench.errors import WorkbenchError
from workbench.loading import LoadResult, load_table
from workbench.masking import mask_frame
from workbench.provenance import Provenance
from workbench.provenance import read_yaml as provenance_yaml
from workbench.schema import Schema, infer_schema, load_overrides
from workbench.summary import summarize

ENV_WORKSPACE = "WORKBENCH_WORKSPACE"
ENV_USER = "WORKBENCH_USER"


def default_workspace_path() -> Path:
    """``$WORKBENCH_WORKSPACE`` if set, else ``./workspace``."""
    return Path(os.environ.get(ENV_WORKSPACE) or "workspace")


def current_user() -> str:
    """Who is acting, for the audit log: ``$WORKBENCH_USER`` or the login name."""
    return os.environ.get(ENV_USER) or access.os_user()


@dataclass
class Run:
    """A run in progress (``Workspace.run``): its id, and the result to store when it ends."""

    id: int
    result: Any = None


@dataclass
class Dataset:
    """One loaded version of a table, with its row accounting and schema.

    ``frame`` holds the kept rows (original values, untouched); ``rejects``
    the rows that could not be kept, each with its line and reason.
    """

    workspace: Workspace = field(repr=False)
    id: int
    name: str
    version: int
    source: str
    format: str
    key: str | None
    rows_read: int
    rows_kept: int
    rows_rejected: int
    schema: Schema = field(repr=False)
    warnings: list[str] = field(default_factory=list, repr=False)
    encoding: str | None = None
    #: Its files' folder, relative to the workspace (``datasets/<id>``; older workspaces ``datasets/<name>/v<n>``).
    folder: str | None = field(default=None, repr=False)
    #: Where it came from: party type, source system, acquisition date, permitted purposes, licence.
    provenance: Provenance = field(default_factory=Provenance, repr=False)
    _frame: pd.DataFrame | None = field(default=None, repr=False)
    _rejects: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = dataset_rows.read_frame(self.workspace.artifact_path(self, artifacts.DATA))
        return self._frame

    @property
    def rejects(self) -> pd.DataFrame:
        if self._rejects is None:
            self._rejects = pd.read_parquet(self.workspace.artifact_path(self, artifacts.REJECTS))
        return self._rejects

    def head(self, n: int = 5) -> pd.DataFrame:
        """The first ``n`` kept rows, read without loading the whole dataset."""
        if self._frame is not None:
            return self._frame.head(n)
        return dataset_rows.head(self.workspace.artifact_path(self, artifacts.DATA), n)

    @property
    def key_problems(self) -> pd.DataFrame:
        return pd.read_parquet(self.workspace.artifact_path(self, artifacts.KEY_PROBLEMS))

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def accounting(self) -> dict[str, int]:
        """rows read = rows kept + rows rejected, as numbers."""
        return {"read": self.rows_read, "kept": self.rows_kept, "rejected": self.rows_rejected}

    def __len__(self) -> int:
        return self.rows_kept


class Workspace:
    """A folder with a versioned SQLite store and Parquet artifacts.

    >>> ws = Workspace("my-workspace")            # creates or opens, migrates
    >>> ds = ws.load("customers.csv", key="customer_id")
    >>> board = Workspace("my-workspace", read_only=True)   # a dashboard: never migrates or writes

    On open, runs left ``running`` by a process of this host that has ended
    are marked failed (read-only openers leave them be).
    """

    DB_FILE = "workbench.db"

    def __init__(self, path: str | Path | None = None, *, user: str | None = None, db_url: str | None = None,
                 read_only: bool = False, store: str | None = None):
        """``store`` (or ``db_url``): the database's SQLAlchemy URL, e.g. ``postgresql://...`` for a
        team; SQLite in the folder by default. Parquet artifacts always stay in the folder."""
        self.path = Path(path) if path is not None else default_workspace_path()
        if self.path.exists() and not self.path.is_dir():
            raise WorkbenchError(f"{self.path}: is a file, not a workspace folder")
        self.read_only = read_only
        if read_only and not self.path.is_dir():
            raise WorkbenchError(f"{self.path}: no workspace here to open read-only")
        if not read_only:
            self.path.mkdir(parents=True, exist_ok=True)
        self.user = user or current_user()
        self.db_url = db_url or store or f"sqlite:///{(self.path / self.DB_FILE).resolve()}"
        self._open_store(read_only)

    def _open_store(self, read_only: bool) -> None:
        self.engine = store.make_engine(self.db_url, read_only=read_only)
        self.login = access.login(self.engine)  # who authenticated, whatever name the session acts under
        if read_only:
            self.migrated_from = self.store_version = store.check_version(self.engine)
            self.role = access.role_of(self, self.user)  # viewer unless granted more; never writes
            return
        self.migrated_from, self.store_version = store.migrate(self.engine)
        if self.migrated_from != self.store_version:
            self.record("migrate", str(self.path), before=self.migrated_from, after=self.store_version)
        self.mark_abandoned_runs()
        self.mark_abandoned_loads()
        self.role = access.session_role(self)  # the first user of a new workspace becomes its admin

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r}, user={self.user!r})"

    def close(self) -> None:
        self.engine.dispose()

    def require_writable(self, what: str) -> None:
        """Refuse ``what`` (a write) in a workspace opened read-only, in one clear line."""
        if self.read_only:
            raise store.ReadOnlyError(store.READ_ONLY.format(what=what))

    # -- audit ---------------------------------------------------------------
    def record(self, action: str, target: str | None = None, *, conn: Any = None, **details: Any) -> None:
        """Append to the audit log (hash-chained, ``workbench.audit``): who did what, to what, when.

        With ``conn`` (a ``store.write_transaction``), the entry is part of that
        transaction: the change and its audit entry are stored together or not at all.
        """
        self.require_writable(f"recording {action!r}")
        if self.user != self.login:  # a named identity is a claim: keep the login that made it
            details = {**details, "login": self.login}
        if conn is not None:
            audit.append(conn, self.user, action, target, details)
        else:
            audit.record(self.engine, self.user, action, target, details)

    def audit_log(self) -> pd.DataFrame:
        return audit.log(self.engine)

    # -- datasets --------------------------------------------------------------
    def load(
        self,
        source: str | Path | Any,
        *,
        key: str | None = None,
        name: str | None = None,
        schema: str | Path | Mapping[str, Any] | None = None,
        provenance: Provenance | Mapping[str, Any] | str | Path | None = None,
        mode: str = "new",
        **loader_options: Any,
    ) -> Dataset:
        """Load a file or SQL table, infer its schema and register a new dataset version.

        ``schema`` overrides inferred roles: a YAML path or ``{column: role}``.
        ``provenance``: where the data came from (``workbench.provenance``): a
        dict like ``{"party": "third", "source_system": "ListCo", "acquired_on":
        "2026-11-02", "purposes": ["postal_mailing"], "licence": "..."}``, or a
        YAML file with a ``provenance:`` section; the schema YAML's own
        ``provenance:`` section is used when this is not given.
        Rows that cannot be read are kept in ``rejects`` with line and reason;
        key problems are reported in ``warnings``, not fatal.

        ``mode="append"``: the file holds new and changed records of dataset
        ``name``; the new version is the latest one with records of a new key
        added and records of a known key replaced (its key, schema and
        provenance carry over). ``dd.update()`` then matches only what changed.
        """
        self.require_writable("loading a dataset")
        if mode not in ("new", "append"):
            raise WorkbenchError(f"mode must be 'new' or 'append', got {mode!r}")
        name = name or _default_name(source, loader_options)
        if mode == "append":
            return self._append(source, name, key, loader_options)
        origin = _provenance_arg(provenance, schema)  # a bad provenance fails before any reading
        result = load_table(source, key=key, **loader_options)
        inferred = infer_schema(result.frame, key=key)
        if schema is not None:
            overrides = load_overrides(schema) if isinstance(schema, str | Path) else dict(schema)
            inferred = inferred.with_overrides(overrides, origin=str(schema) if isinstance(schema, str | Path) else "override")
        return self._register(result, name=name, key=key, schema=inferred, provenance=origin)

    def _append(self, source: Any, name: str, key: str | None, loader_options: dict[str, Any]) -> Dataset:
        """A new version of ``name``: its latest version's records, replaced or joined by those of ``source``."""
        base = self.dataset(name)
        if base.key is None:
            raise WorkbenchError(f"{base.label} has no key column: records can only be appended to a keyed dataset")
        if key is not None and key != base.key:
            raise WorkbenchError(f"{base.label} is keyed by {base.key!r}, not {key!r}")
        delta = load_table(source, key=base.key, **loader_options)
        columns = dataset_rows.schema(self.artifact_path(base, artifacts.DATA)).names
        extra = [c for c in delta.frame.columns if c not in columns]
        missing = [c for c in columns if c not in delta.frame.columns]
        if extra or missing:
            what = "; ".join(part for part in (f"new column(s) {', '.join(map(repr, extra))}" if extra else "",
                                               f"missing column(s) {', '.join(map(repr, missing))}" if missing
                                               else "") if part)
            raise WorkbenchError(f"{delta.source}: cannot append to {base.label}: {what}")
        new_keys = _key_text(delta.frame[base.key])  # a record without a key replaces none, and none replaces it
        rows = _appended_rows(self.artifact_path(base, artifacts.DATA), base.key, delta.frame, new_keys)
        if rows is None:  # a column of another type: pandas aligns them, reading every record into Python
            old_keys = _key_text(base.frame[base.key])
            is_replaced = old_keys.isin(set(new_keys.dropna()))
            frame = pd.concat([base.frame[~is_replaced], delta.frame[list(base.frame.columns)]], ignore_index=True)
            rows = [_arrow_table(frame)], int(is_replaced.sum()), int((~new_keys.isin(set(old_keys.dropna()))).sum())
        parts, replaced, n_new = rows
        n_rows = sum(_part_rows(p) for p in parts)
        note = (f"appended to {base.label}: {n_new:,} new record(s), "
                f"{replaced:,} replaced by a newer one, {len(delta.rejects):,} rejected")
        result = LoadResult(frame=delta.frame, rejects=delta.rejects, source=delta.source, format=delta.format,
                            encoding=delta.encoding, rows_read=n_rows + len(delta.rejects),
                            warnings=[*delta.warnings, note], key_problems=delta.key_problems)
        ds = self._register(result, name=name, key=base.key, schema=base.schema, provenance=base.provenance,
                            rows=parts)
        self.record("append", ds.label, to=base.label, rows=len(delta.frame), replaced=replaced)
        return ds

    def _register(self, result: LoadResult, *, name: str, key: str | None, schema: Schema,
                  provenance: Provenance | None = None, rows: list[Path | pa.Table] | None = None) -> Dataset:
        """Register the version first (one transaction), then write its files into a folder of its own.

        ``rows``: the version's rows as parts, each an Arrow table or a file of an earlier version (an
        append's: ``result`` is then its delta's load), written (``_write_rows``) instead of ``result.frame``.

        Readers see the version once its files are complete; a failed write
        leaves a ``failed`` row and no folder.
        """
        self.require_writable("loading a dataset")
        provenance = provenance or Provenance()
        n_kept = len(result.frame) if rows is None else sum(_part_rows(p) for p in rows)
        dataset_id, version, rel = self._allocate_version(result, n_kept, name=name, key=key, schema=schema,
                                                          provenance=provenance)
        folder = self.path / rel
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_rows([result.frame] if rows is None else rows, folder / artifacts.DATA)
            _write_parquet(result.rejects, folder / artifacts.REJECTS)
            _write_parquet(result.key_problems, folder / artifacts.KEY_PROBLEMS)
        except BaseException:
            self._set_dataset_status(dataset_id, "failed")
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._set_dataset_status(dataset_id, "ready")
        self.record(
            "load",
            f"{name} v{version}",
            source=str(result.source),
            rows_read=result.rows_read,
            rows_kept=n_kept,
            rows_rejected=len(result.rejects),
            **({"provenance": provenance.to_dict()} if provenance.known else {}),
        )
        ds = self.dataset_by_id(dataset_id)
        ds._frame = result.frame if rows is None else None
        ds._rejects = result.rejects
        return ds

    def _allocate_version(self, result: LoadResult, n_kept: int, *, name: str, key: str | None,
                          schema: Schema, provenance: Provenance | None = None) -> tuple[int, int, str]:
        """(id, version, folder): the next version of ``name``, registered as ``loading`` under the write lock."""
        t = store.datasets_table
        try:
            with store.write_transaction(self.engine, lock="workbench-datasets") as conn:
                current = conn.execute(sa.select(sa.func.max(t.c.version)).where(t.c.name == name)).scalar()
                version = (current or 0) + 1
                dataset_id = store.inserted_id(conn.execute(
                    t.insert().values(
                        name=name,
                        version=version,
                        source=str(result.source),
                        format=result.format,
                        encoding=result.encoding,
                        key=key,
                        rows_read=result.rows_read,
                        rows_kept=n_kept,
                        rows_rejected=len(result.rejects),
                        schema_json=store.dumps(schema.to_dict()),
                        warnings_json=store.dumps(list(result.warnings)),
                        created_at=store.now(),
                        created_by=self.user,
                        status="loading",
                        pid=os.getpid(),
                        host=socket.gethostname(),
                        provenance_json=store.dumps(provenance.to_dict()) if provenance and provenance.known else None,
                    )
                ))
                rel = _dataset_folder(dataset_id)  # keyed by id: two names never share a folder
                conn.execute(t.update().where(t.c.id == dataset_id).values(folder=rel))
        except sa.exc.IntegrityError as exc:
            raise WorkbenchError(f"another process registered a version of dataset {name!r} at the same "
                                 "moment; retry") from exc
        return dataset_id, version, rel

    def _set_dataset_status(self, dataset_id: int, status: str) -> None:
        t = store.datasets_table
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == dataset_id).values(status=status))

    def dataset(self, name: str, version: int | None = None) -> Dataset:
        """A registered dataset, latest version unless ``version`` is given."""
        t = store.datasets_table
        query = sa.select(t).where(t.c.name == name, t.c.status == "ready")
        query = query.where(t.c.version == version) if version else query.order_by(t.c.version.desc())
        with self.engine.connect() as conn:
            row = conn.execute(query.limit(1)).mappings().first()
        if row is None:
            known = ", ".join(sorted(set(self.datasets()["name"]))) or "none yet"
            raise WorkbenchError(f"no dataset {name!r}{f' version {version}' if version else ''} in {self.path}; known: {known}")
        return self._dataset_from_row(row)

    def dataset_by_id(self, dataset_id: int) -> Dataset:
        t = store.datasets_table
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == dataset_id)).mappings().first()
        if row is None:
            raise WorkbenchError(f"no dataset with id {dataset_id} in {self.path}")
        return self._dataset_from_row(row)

    def _dataset_from_row(self, row: Mapping[Any, Any]) -> Dataset:
        return Dataset(
            workspace=self,
            id=row["id"],
            name=row["name"],
            version=row["version"],
            source=row["source"],
            format=row["format"],
            key=row["key"],
            rows_read=row["rows_read"],
            rows_kept=row["rows_kept"],
            rows_rejected=row["rows_rejected"],
            schema=Schema.from_dict(json.loads(row["schema_json"])),
            warnings=json.loads(row["warnings_json"] or "[]"),
            encoding=row["encoding"],
            folder=row["folder"] or None,
            provenance=Provenance.coerce(json.loads(row["provenance_json"]) if row.get("provenance_json") else None),
        )

    def datasets(self) -> pd.DataFrame:
        """Every registered dataset version, newest first, with its party type (None: not recorded)."""
        t = store.datasets_table
        cols = [t.c.id, t.c.name, t.c.version, t.c.source, t.c.format, t.c.key, t.c.rows_read,
                t.c.rows_kept, t.c.rows_rejected, t.c.created_at, t.c.created_by, t.c.provenance_json]
        with self.engine.connect() as conn:
            frame = pd.read_sql(sa.select(*cols).where(t.c.status == "ready").order_by(t.c.id.desc()), conn)
        frame["party"] = [json.loads(p).get("party") if isinstance(p, str) else None for p in frame.pop("provenance_json")]
        return frame

    def set_schema(self, dataset: Dataset, overrides: Mapping[str, Any] | str | Path) -> Dataset:
        """Change field roles of a dataset version (recorded in the audit log)."""
        self.require_writable("changing a schema")
        if isinstance(overrides, str | Path):
            overrides = load_overrides(overrides)
        schema = dataset.schema.with_overrides(overrides)
        t = store.datasets_table
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == dataset.id).values(schema_json=store.dumps(schema.to_dict())))
        self.record("set_schema", dataset.label, overrides=dict(overrides))
        dataset.schema = schema
        return dataset

    def set_provenance(self, dataset: Dataset | str, **changes: Any) -> Dataset:
        """Change where a dataset version came from (party, source_system, acquired_on, purposes, licence,
        by_source); the audit log keeps the values before and after."""
        self.require_writable("changing provenance")
        access.require(self, "steward", "changing a dataset's provenance")
        ds = self.dataset(dataset) if isinstance(dataset, str) else dataset
        before = ds.provenance
        after = before.updated(**changes)
        t = store.datasets_table
        with store.write_transaction(self.engine) as conn:
            conn.execute(t.update().where(t.c.id == ds.id).values(provenance_json=store.dumps(after.to_dict())))
            self.record("set_provenance", ds.label, conn=conn, before=before.to_dict(), after=after.to_dict())
        ds.provenance = after
        return ds

    def artifact_path(self, dataset: Dataset, filename: str) -> Path:
        """A file of ``dataset``'s own folder (the folder its registration names)."""
        folder = dataset.folder or f"datasets/{slug(dataset.name)}/v{dataset.version}"  # a row without paths
        return self.path / folder / filename

    # -- showing records -----------------------------------------------------------
    def shown(self, frame: pd.DataFrame, dataset: Dataset, *, masked: bool = True,
              what: str = "records") -> pd.DataFrame:
        """``frame`` (records of ``dataset``, or derived from them) as this user may see it.

        Masked by default: every column the schema does not declare safe.
        ``masked=False`` shows raw values only to a role that may see them
        (steward, admin), and the reveal goes to the audit log
        (``access.authorize_reveal``); anyone else gets ``AccessDenied``.
        The one gate for notebooks, as the apps and dashboards have theirs.
        """
        if masked:
            return mask_frame(frame, dataset.schema)
        access.authorize_reveal(self, f"{what} of {dataset.label}")
        return frame.copy()

    # -- runs ------------------------------------------------------------------
    def start_run(self, kind: str, dataset: Dataset | None = None, **params: Any) -> int:
        """Register a ``running`` run with this process's pid and host (so a crash can be told apart)."""
        self.require_writable(f"a {kind} run")
        with self.engine.begin() as conn:
            return store.inserted_id(conn.execute(
                store.runs_table.insert().values(
                    dataset_id=dataset.id if dataset else None,
                    kind=kind,
                    status="running",
                    params_json=store.dumps(params),
                    started_at=store.now(),
                    created_by=self.user,
                    pid=os.getpid(),
                    host=socket.gethostname(),
                )
            ))

    def finish_run(self, run_id: int, result: Any = None, *, status: str = "done") -> None:
        self.require_writable("finishing a run")
        t = store.runs_table
        with self.engine.begin() as conn:
            conn.execute(
                t.update().where(t.c.id == run_id).values(
                    status=status, result_json=store.dumps(result), finished_at=store.now()
                )
            )
        self.record(f"run:{status}", f"run {run_id}")

    @contextmanager
    def run(self, kind: str, dataset: Dataset | None = None, **params: Any) -> Iterator[Run]:
        """One run's lifecycle, the one way every stage records its work::

            with ws.run("golden", ds, rules=...) as run:
                ...                      # run.id names the run's artifacts
                run.result = summary     # stored when the block ends: status "done"

        If the block raises (Ctrl-C included) the run is marked ``failed`` with
        the error as its result, and the error goes on.
        """
        run = Run(self.start_run(kind, dataset, **params))
        try:
            yield run
        except BaseException as exc:
            self.finish_run(run.id, {"error": str(exc) or type(exc).__name__}, status="failed")
            raise
        self.finish_run(run.id, run.result)

    def mark_abandoned_runs(self) -> list[int]:
        """Mark failed the runs left ``running`` by a process of this host that has ended; their ids.

        Runs of other hosts cannot be checked from here and are left as they are.
        """
        t = store.runs_table
        ended = self._abandoned(t, "running", t.c.started_at)
        for row in ended:
            reason = f"abandoned: process {row.pid} ended"
            with store.write_transaction(self.engine) as conn:
                changed = conn.execute(t.update().where(t.c.id == row.id, t.c.status == "running").values(
                    status="failed", result_json=store.dumps({"error": reason}), finished_at=store.now())).rowcount
                if changed:
                    self.record("run:failed", f"run {row.id}", conn=conn, reason=reason)
        return [row.id for row in ended]

    def mark_abandoned_loads(self) -> list[int]:
        """Mark failed the dataset versions left ``loading`` by a process of this host that has ended.

        Their half-written folders are removed; they were never visible to
        readers. Loads of other hosts are left as they are. Returns their ids.
        """
        t = store.datasets_table
        ended = self._abandoned(t, "loading", t.c.created_at)
        for row in ended:
            with store.write_transaction(self.engine) as conn:
                changed = conn.execute(t.update().where(t.c.id == row.id, t.c.status == "loading")
                                       .values(status="failed")).rowcount
                if changed:
                    self.record("load:failed", f"{row.name} v{row.version}", conn=conn,
                                reason=f"abandoned: process {row.pid} ended")
            if changed:
                shutil.rmtree(self.path / _dataset_folder(row.id), ignore_errors=True)
        return [row.id for row in ended]

    def _abandoned(self, table: sa.Table, status: str, started: sa.Column) -> list:
        """Rows of ``table`` in ``status`` whose process, on this host, has ended (none when read-only)."""
        if self.read_only:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table, started.label("began")).where(
                table.c.status == status, table.c.host == socket.gethostname(), table.c.pid.is_not(None))).all()
        return [row for row in rows if not _process_alive(row.pid, row.began)]

    def runs(self, kind: str | None = None, dataset: Dataset | None = None) -> pd.DataFrame:
        """Runs, newest first; ``result`` parsed from JSON (abandoned ones marked failed first)."""
        self.mark_abandoned_runs()
        t = store.runs_table
        query = sa.select(t).order_by(t.c.id.desc())
        if kind:
            query = query.where(t.c.kind == kind)
        if dataset is not None:
            query = query.where(t.c.dataset_id == dataset.id)
        with self.engine.connect() as conn:
            df = pd.read_sql(query, conn)
        df["result"] = [json.loads(v) if isinstance(v, str) else None for v in df.pop("result_json")]
        df["params"] = [json.loads(v) if isinstance(v, str) else {} for v in df.pop("params_json")]
        return df

    def summarize(self, dataset: Dataset) -> dict[str, Any]:
        """Compute the compact column summary and store it as a ``summary`` run.

        Dashboards read this stored result instead of recomputing on page load.
        """
        with self.run("summary", dataset) as run:
            run.result = summarize(dataset.frame)
        return run.result

    # -- the stages: each called on the workspace, each stored as a run --------------------
    def assess(self, dataset: Dataset | str, rules: Any = None, purposes: Any = None, **options: Any):
        """Check ``dataset`` against ``rules`` (zero-config when None), score it, store the run: an ``Assessment``.

        ``rules``: a ``RuleSet``, a list of rules, or a rules YAML path; the
        options are ``workbench.assess.assessment.assess``'s.
        """
        from workbench.assess.assessment import assess

        return assess(self, dataset, rules, purposes, **options)

    def golden(self, dataset: Dataset | str, rules: Any = None, **options: Any):
        """Golden records of ``dataset`` from its current clustering (review decisions applied): a ``GoldenResult``.

        ``rules``: ``SurvivorshipRules`` or a survivorship YAML path (default: implied by the field roles).
        """
        from workbench.golden.build import golden_from_workspace

        return golden_from_workspace(self, dataset, rules, **options)

    def deduper(self, dataset: Dataset | str, **options: Any):
        """An active-learning deduper for ``dataset``; resumes from every stored label.

        ``fields={column: kind}`` adds or overrides compared columns (kind None drops one).
        """
        from workbench.matching.deduper import Deduper

        ds = self.dataset(dataset) if isinstance(dataset, str) else dataset
        return Deduper(self, ds, **options)

    def linker(self, acquired: Dataset | str, master: Dataset | str, **options: Any):
        """Link an acquired list against the master: same labeling API, then ``link()``."""
        from workbench.matching.linker import Linker

        a = self.dataset(acquired) if isinstance(acquired, str) else acquired
        m = self.dataset(master) if isinstance(master, str) else master
        return Linker(self, a, m, **options)

    def finished_runs(self, kind: str, *, task: str | None = None, name: str | None = None,
                      before: int | None = None) -> list[tuple[int, dict[str, Any]]]:
        """(run id, result) of the finished runs of ``kind`` that stored a result, newest first: only those of
        ``task`` (the result's), of any version of the dataset ``name``, with ids below ``before``, when given."""
        runs = self.runs(kind)
        versions: set[int] | None = None
        if name is not None:
            known = self.datasets()
            versions = set(known.loc[known["name"] == name, "id"])
        out = []
        for rid, dsid, status, result in zip(runs["id"], runs["dataset_id"], runs["status"], runs["result"],
                                             strict=True):
            if status != "done" or not isinstance(result, dict):
                continue
            if ((task is not None and result.get("task") != task) or (versions is not None and dsid not in versions)
                    or (before is not None and rid >= before)):
                continue
            out.append((int(rid), result))
        return out

    def latest_result(self, kind: str, dataset: Dataset | None = None) -> Any:
        """The result of the newest finished run of ``kind``, or None."""
        runs = self.runs(kind, dataset)
        done = runs[runs["status"] == "done"]
        return None if done.empty else done.iloc[0]["result"]


def _provenance_arg(provenance: Any, schema: Any) -> Provenance | None:
    """The provenance given to ``load``: a mapping, a ``Provenance``, a YAML file, or the schema YAML's section."""
    if isinstance(provenance, str | Path):
        found = provenance_yaml(provenance)
        if found is None:
            raise WorkbenchError(f"{provenance}: no 'provenance:' section")
        return found
    if provenance is not None:
        return Provenance.coerce(provenance)
    if isinstance(schema, str | Path):
        return provenance_yaml(schema)
    return None


def _default_name(source: Any, options: Mapping[str, Any]) -> str:
    if options.get("table"):
        return str(options["table"])
    if isinstance(source, str | Path) and "://" not in str(source):
        # one sheet of a workbook is a dataset of its own, not a new version of another sheet
        sheet = options.get("sheet")
        return Path(source).stem + (f"_{sheet}" if sheet is not None else "")
    return "query"


def slug(name: str) -> str:
    """A name safe as a folder name (datasets, matching tasks)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "dataset"


def _dataset_folder(dataset_id: int) -> str:
    """A dataset version's folder, relative to the workspace."""
    return f"datasets/{dataset_id}"


def _process_alive(pid: int, started: datetime | None) -> bool:
    """Whether ``pid`` is still the process that started a run or load at ``started`` (pids get reused)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with Jupyter; without it, trust the pid
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        created = proc.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
    if started is None:
        return True
    started = started if started.tzinfo else started.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return created <= started.timestamp() + 1


#: Rows per row group of a dataset's files: DuckDB scans row groups in parallel (hashing a million records
#: for an update: 0.33 s in one group, 0.20 s in eight), and a reader of a few rows decodes only their groups.
ROW_GROUP_ROWS = 131_072


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """A frame as Arrow, without its index; object columns of mixed types (Excel) become text."""
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = frame[col].map(lambda v: v if v is None or isinstance(v, str) or pd.isna(v) else str(v))
        return pa.Table.from_pandas(frame, preserve_index=False)


def _key_text(keys: pd.Series) -> pd.Series:
    """Keys as text, as an append matches them; missing keys stay missing (NaN): they match nothing."""
    return keys.astype(str).where(keys.notna())


def _appended_rows(data: Path, key: str, delta: pd.DataFrame, delta_keys: pd.Series
                   ) -> tuple[list[Path | pa.Table], int, int] | None:
    """An append in Arrow, as parts (``_write_rows``): the last version's rows (``data``) whose key the delta
    does not hold (``delta_keys``: :func:`_key_text` of its keys; a missing key holds none), then the
    delta's, in the last version's columns and types; with the count of rows replaced and of new keys.
    A part of the last version in which the delta replaces nothing is kept as its file (linked, not
    read); more than ``dataset_rows.MAX_PARTS`` parts are joined into one.
    None when the key is neither text nor integer (its text form is pandas') or a delta column has another
    type than the last version's: the caller aligns them in pandas."""
    schema = dataset_rows.schema(data)
    key_type = schema.field(key).type
    if not (pa.types.is_string(key_type) or pa.types.is_large_string(key_type) or pa.types.is_integer(key_type)):
        return None
    added = _arrow_table(delta[schema.names])
    # a column cast to another type would change values pandas keeps ("0123" read as 123): only the same
    # type, or none at all (a column the delta leaves empty), goes through Arrow
    if any(not (a.type == b.type or pa.types.is_null(a.type))
           for a, b in zip(added.schema, schema, strict=True)):
        return None
    added = added.cast(schema)
    wanted = pa.array(delta_keys.dropna().unique(), type=pa.string())
    parts: list[Path | pa.Table] = []
    n_replaced, replaced_keys = 0, set()
    for path in dataset_rows.files(data):
        old_keys = pq.read_table(path, columns=[key])[key].cast(pa.string())
        replaced = pc.is_in(old_keys, value_set=wanted)
        n = pc.sum(replaced).as_py() or 0
        if not n:
            parts.append(path)
            continue
        n_replaced += n
        replaced_keys |= set(pc.filter(old_keys, replaced).to_pylist())
        kept = pq.read_table(path).cast(schema).filter(pc.invert(replaced))  # (a filter copies every column)
        if kept.num_rows:
            parts.append(kept)
    n_new = int((~delta_keys.isin(replaced_keys)).sum())
    if added.num_rows or not parts:
        parts.append(added)
    if len(parts) > dataset_rows.MAX_PARTS:
        parts = [pa.concat_tables([pq.read_table(p).cast(schema) if isinstance(p, Path) else p for p in parts])]
    return parts, int(n_replaced), n_new


def _part_rows(part: Path | pa.Table | pd.DataFrame) -> int:
    if isinstance(part, Path):
        return pq.ParquetFile(part).metadata.num_rows
    return part.num_rows if isinstance(part, pa.Table) else len(part)


def _write_rows(parts: list[Path | pa.Table | pd.DataFrame], path: Path) -> None:
    """A version's rows at ``path`` (``dataset_rows``): one part as one file, more as a folder of parts; a
    part that is a file of an earlier version is linked (its files are never changed in place), the
    others written."""
    if len(parts) == 1:
        targets = [path]
    else:
        path.mkdir()
        targets = [path / dataset_rows.PART.format(i) for i in range(len(parts))]
    for part, target in zip(parts, targets, strict=True):
        if isinstance(part, Path):
            artifacts.link_or_copy(part, target)
        else:
            _write_parquet(part, target)


def _write_parquet(frame: pd.DataFrame | pa.Table, path: Path) -> None:
    """Write a frame (or an Arrow table) in row groups of :data:`ROW_GROUP_ROWS`, with an id of its own."""
    table = dataset_rows.stamped(frame if isinstance(frame, pa.Table) else _arrow_table(frame))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # a reader never sees half a file
    try:
        pq.write_table(table, tmp, row_group_size=ROW_GROUP_ROWS)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
