"""The workspace: one folder holding everything a team has learned about its data.

``Workspace(path)`` creates or opens the folder, migrates its store, and is the
object later stages hang off (``ws.load``, ``ws.dataset``; checks, labels and
clusters in later modules). It holds no UI code.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from workbench import store
from workbench.errors import WorkbenchError
from workbench.loading import LoadResult, load_table
from workbench.schema import Schema, infer_schema, load_overrides
from workbench.summary import summarize

ENV_WORKSPACE = "WORKBENCH_WORKSPACE"
ENV_USER = "WORKBENCH_USER"


def default_workspace_path() -> Path:
    """``$WORKBENCH_WORKSPACE`` if set, else ``./workspace``."""
    return Path(os.environ.get(ENV_WORKSPACE) or "workspace")


def current_user() -> str:
    """Who is acting, for the audit log: ``$WORKBENCH_USER`` or the login name."""
    name = os.environ.get(ENV_USER)
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


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
    _frame: pd.DataFrame | None = field(default=None, repr=False)
    _rejects: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = pd.read_parquet(self.workspace.artifact_path(self, "data.parquet"))
        return self._frame

    @property
    def rejects(self) -> pd.DataFrame:
        if self._rejects is None:
            self._rejects = pd.read_parquet(self.workspace.artifact_path(self, "rejects.parquet"))
        return self._rejects

    def head(self, n: int = 5) -> pd.DataFrame:
        """The first ``n`` kept rows, read without loading the whole dataset."""
        if self._frame is not None:
            return self._frame.head(n)
        pf = pq.ParquetFile(self.workspace.artifact_path(self, "data.parquet"))
        batch = next(pf.iter_batches(batch_size=max(n, 1)), None)
        return pf.schema_arrow.empty_table().to_pandas() if batch is None else batch.to_pandas().head(n)

    @property
    def key_problems(self) -> pd.DataFrame:
        return pd.read_parquet(self.workspace.artifact_path(self, "key_problems.parquet"))

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
    """

    DB_FILE = "workbench.db"

    def __init__(self, path: str | Path | None = None, *, user: str | None = None, db_url: str | None = None):
        self.path = Path(path) if path is not None else default_workspace_path()
        if self.path.exists() and not self.path.is_dir():
            raise WorkbenchError(f"{self.path}: is a file, not a workspace folder")
        self.path.mkdir(parents=True, exist_ok=True)
        self.user = user or current_user()
        self.db_url = db_url or f"sqlite:///{(self.path / self.DB_FILE).resolve()}"
        self.engine = store.make_engine(self.db_url)
        self.migrated_from, self.store_version = store.migrate(self.engine)
        if self.migrated_from != self.store_version:
            self.record("migrate", str(self.path), before=self.migrated_from, after=self.store_version)

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r}, user={self.user!r})"

    def close(self) -> None:
        self.engine.dispose()

    # -- audit ---------------------------------------------------------------
    def record(self, action: str, target: str | None = None, **details: Any) -> None:
        """Append to the audit log: who did what, to what, when."""
        with self.engine.begin() as conn:
            conn.execute(
                store.audit_table.insert().values(
                    at=store.now(), user=self.user, action=action, target=target, details_json=store.dumps(details)
                )
            )

    def audit_log(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            df = pd.read_sql(sa.select(store.audit_table).order_by(store.audit_table.c.id), conn)
        return df

    # -- datasets --------------------------------------------------------------
    def load(
        self,
        source: str | Path | Any,
        *,
        key: str | None = None,
        name: str | None = None,
        schema: str | Path | Mapping[str, Any] | None = None,
        **loader_options: Any,
    ) -> Dataset:
        """Load a file or SQL table, infer its schema and register a new dataset version.

        ``schema`` overrides inferred roles: a YAML path or ``{column: role}``.
        Rows that cannot be read are kept in ``rejects`` with line and reason;
        key problems are reported in ``warnings``, not fatal.
        """
        result = load_table(source, key=key, **loader_options)
        name = name or _default_name(source, loader_options)
        inferred = infer_schema(result.frame, key=key)
        if schema is not None:
            overrides = load_overrides(schema) if isinstance(schema, str | Path) else dict(schema)
            inferred = inferred.with_overrides(overrides, origin=str(schema) if isinstance(schema, str | Path) else "override")
        return self._register(result, name=name, key=key, schema=inferred)

    def _register(self, result: LoadResult, *, name: str, key: str | None, schema: Schema) -> Dataset:
        version = self._next_version(name)
        folder = self.path / "datasets" / slug(name) / f"v{version}"
        folder.mkdir(parents=True, exist_ok=True)
        _write_parquet(result.frame, folder / "data.parquet")
        _write_parquet(result.rejects, folder / "rejects.parquet")
        _write_parquet(result.key_problems, folder / "key_problems.parquet")
        rel = folder.relative_to(self.path).as_posix()
        with self.engine.begin() as conn:
            conn.execute(
                store.datasets_table.insert().values(
                    name=name,
                    version=version,
                    source=str(result.source),
                    format=result.format,
                    encoding=result.encoding,
                    key=key,
                    rows_read=result.rows_read,
                    rows_kept=len(result.frame),
                    rows_rejected=len(result.rejects),
                    data_path=f"{rel}/data.parquet",
                    rejects_path=f"{rel}/rejects.parquet",
                    schema_json=store.dumps(schema.to_dict()),
                    warnings_json=store.dumps(list(result.warnings)),
                    created_at=store.now(),
                    created_by=self.user,
                )
            )
        self.record(
            "load",
            f"{name} v{version}",
            source=str(result.source),
            rows_read=result.rows_read,
            rows_kept=len(result.frame),
            rows_rejected=len(result.rejects),
        )
        ds = self.dataset(name, version)
        ds._frame = result.frame
        ds._rejects = result.rejects
        return ds

    def _next_version(self, name: str) -> int:
        t = store.datasets_table
        with self.engine.connect() as conn:
            current = conn.execute(sa.select(sa.func.max(t.c.version)).where(t.c.name == name)).scalar()
        return (current or 0) + 1

    def dataset(self, name: str, version: int | None = None) -> Dataset:
        """A registered dataset, latest version unless ``version`` is given."""
        t = store.datasets_table
        query = sa.select(t).where(t.c.name == name)
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

    def _dataset_from_row(self, row: Mapping[str, Any]) -> Dataset:
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
        )

    def datasets(self) -> pd.DataFrame:
        """Every registered dataset version, newest first."""
        t = store.datasets_table
        cols = [t.c.id, t.c.name, t.c.version, t.c.source, t.c.format, t.c.key, t.c.rows_read,
                t.c.rows_kept, t.c.rows_rejected, t.c.created_at, t.c.created_by]
        with self.engine.connect() as conn:
            return pd.read_sql(sa.select(*cols).order_by(t.c.id.desc()), conn)

    def set_schema(self, dataset: Dataset, overrides: Mapping[str, Any] | str | Path) -> Dataset:
        """Change field roles of a dataset version (recorded in the audit log)."""
        if isinstance(overrides, str | Path):
            overrides = load_overrides(overrides)
        schema = dataset.schema.with_overrides(overrides)
        t = store.datasets_table
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == dataset.id).values(schema_json=store.dumps(schema.to_dict())))
        self.record("set_schema", dataset.label, overrides=dict(overrides))
        dataset.schema = schema
        return dataset

    def artifact_path(self, dataset: Dataset, filename: str) -> Path:
        return self.path / "datasets" / slug(dataset.name) / f"v{dataset.version}" / filename

    # -- runs ------------------------------------------------------------------
    def start_run(self, kind: str, dataset: Dataset | None = None, **params: Any) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                store.runs_table.insert().values(
                    dataset_id=dataset.id if dataset else None,
                    kind=kind,
                    status="running",
                    params_json=store.dumps(params),
                    started_at=store.now(),
                    created_by=self.user,
                )
            ).inserted_primary_key[0]

    def finish_run(self, run_id: int, result: Any = None, *, status: str = "done") -> None:
        t = store.runs_table
        with self.engine.begin() as conn:
            conn.execute(
                t.update().where(t.c.id == run_id).values(
                    status=status, result_json=store.dumps(result), finished_at=store.now()
                )
            )
        self.record(f"run:{status}", f"run {run_id}")

    def runs(self, kind: str | None = None, dataset: Dataset | None = None) -> pd.DataFrame:
        """Runs, newest first; ``result`` parsed from JSON."""
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
        run_id = self.start_run("summary", dataset)
        try:
            result = summarize(dataset.frame)
        except Exception as exc:
            self.finish_run(run_id, {"error": str(exc)}, status="failed")
            raise
        self.finish_run(run_id, result)
        return result

    # -- matching ----------------------------------------------------------------
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

    def latest_result(self, kind: str, dataset: Dataset | None = None) -> Any:
        """The result of the newest finished run of ``kind``, or None."""
        runs = self.runs(kind, dataset)
        done = runs[runs["status"] == "done"]
        return None if done.empty else done.iloc[0]["result"]


def _default_name(source: Any, options: Mapping[str, Any]) -> str:
    if options.get("table"):
        return str(options["table"])
    if isinstance(source, str | Path) and "://" not in str(source):
        return Path(source).stem
    return "query"


def slug(name: str) -> str:
    """A name safe as a folder name (datasets, matching tasks)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "dataset"


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame; object columns of mixed types (Excel) are stored as text."""
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = frame[col].map(lambda v: v if v is None or isinstance(v, str) or pd.isna(v) else str(v))
        table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path)
