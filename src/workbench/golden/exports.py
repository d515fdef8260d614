"""Writing golden records out: files for people and tools, tables for databases.

CSV goes through ``workbench.export`` because golden values are text typed by
customers and will be opened in spreadsheets (formula injection). Parquet and
SQL keep values as they are: no spreadsheet runs them.

Files are written as a set (``workbench.export.write_files``): temporary
names, renamed into place when all are whole, then ``manifest.json`` with row
counts, checksums and the run, dataset and clustering they came from. A
result built in a workspace records every export in its audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from workbench.errors import WorkbenchError
from workbench.export import MANIFEST, file_manifest, table_writer, write_files

if TYPE_CHECKING:
    from workbench.golden.build import GoldenResult

__all__ = ["FORMATS", "IF_EXISTS", "TABLES", "check_sql_target", "export_result", "manifest_path", "sql_tables", "to_sql"]

FORMATS = ("csv", "parquet")
#: The frames of a result, in the order they are written.
TABLES = ("golden", "lineage", "crosswalk")
#: What ``to_sql`` does when a table is already there.
IF_EXISTS = ("fail", "replace", "append")


def _frames(result: GoldenResult) -> dict[str, pd.DataFrame]:
    base = {"golden": result.golden, "lineage": result.lineage, "crosswalk": result.crosswalk}
    return {**base, **{name: frame for name, frame in result.extras.items() if name not in base}}


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as text: every reader (CSV, SQL, old Parquet tools) understands those."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return frame
    return frame.astype({c: object for c in cats})


def _writer(frame: pd.DataFrame, fmt: str) -> Callable[[Path], int]:
    return table_writer(_plain(frame), fmt)


def manifest_path(target: str | Path) -> Path:
    """Where ``export_result`` writes the manifest for ``target``."""
    target = Path(target)
    if target.suffix.lower().lstrip(".") in FORMATS:
        return file_manifest(target)
    return target / MANIFEST


def export_result(result: GoldenResult, target: str | Path,
                  formats: Sequence[str] = FORMATS) -> dict[str, Path]:
    """Write the result; returns ``{file name: path}`` of the data files.

    A target ending in ``.csv`` or ``.parquet`` gets the golden records only
    (its manifest is ``<name>.manifest.json`` beside it); any other target is
    a folder that gets ``golden``, ``lineage`` and ``crosswalk`` in each of
    ``formats`` and a ``manifest.json``. An interrupted export leaves the
    previous complete set (or nothing) in place.
    """
    target = Path(target)
    if isinstance(formats, str):
        formats = (formats,)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise WorkbenchError(f"unknown export format {unknown[0]!r}; formats: {', '.join(FORMATS)}")
    suffix = target.suffix.lower().lstrip(".")
    folder, manifest_name = manifest_path(target).parent, manifest_path(target).name
    if suffix in FORMATS:
        writers = {target.name: _writer(result.golden, suffix)}
    else:
        if target.exists() and not target.is_dir():
            raise WorkbenchError(f"{target}: is a file; give a folder, or a path ending in .csv or .parquet")
        writers = {f"{name}.{fmt}": _writer(frame, fmt) for name, frame in _frames(result).items()
                   for fmt in formats}
    ws = getattr(result, "workspace", None)
    manifest = write_files(folder, writers, manifest=_provenance(result, ws), manifest_name=manifest_name)
    if ws is not None:
        ws.record("export", str(target), files=sorted(writers), manifest=manifest_name,
                  manifest_sha256=manifest["sha256"], run=manifest["source"].get("run_id"),
                  rows={name: entry["rows"] for name, entry in manifest["files"].items()})
    return {name: folder / name for name in writers}


def _provenance(result: GoldenResult, ws: Any) -> dict[str, Any]:
    """Who exported what, when, from which golden run, dataset version and clustering run."""
    from workbench import store
    from workbench.workspace import current_user

    run_id = result.stats.get("run_id")
    source: dict[str, Any] = {"kind": "golden", "run_id": run_id, "records": result.stats.get("records")}
    if ws is not None and run_id is not None:
        source.update(_run_sources(ws, int(run_id)))
    return {"created_at": store.now().isoformat(), "user": ws.user if ws is not None else current_user(),
            "golden_records": len(result.golden), "source": source}


def _run_sources(ws: Any, run_id: int) -> dict[str, Any]:
    runs = ws.runs("golden")
    run = runs[runs["id"] == run_id]
    if run.empty:
        return {}
    run = run.iloc[0]
    out: dict[str, Any] = {"clusters_from": run["params"].get("clusters_from"), "rules": run["params"].get("rules")}
    if pd.notna(run["dataset_id"]):
        ds = ws.dataset_by_id(int(run["dataset_id"]))
        out["dataset"] = {"id": ds.id, "name": ds.name, "version": ds.version}
        # the clustering golden_from_workspace read: the newest finished dedupe run before this one
        dedupe = ws.runs("dedupe", ds)
        dedupe = dedupe[(dedupe["status"] == "done") & (dedupe["id"] < run_id)]
        if not dedupe.empty:
            d = dedupe.iloc[0]
            out["model"] = {"run_id": int(d["id"]), "task": d["result"].get("task"),
                            "threshold": d["result"].get("threshold"), "labels": d["result"].get("labels")}
    return out


def sql_tables(table_prefix: str, extras: Iterable[str] = ()) -> dict[str, str]:
    """{frame: table name} that ``to_sql`` writes for ``table_prefix`` (``extras``: a result's extra tables)."""
    return {"golden": f"{table_prefix}_records", "lineage": f"{table_prefix}_lineage",
            "crosswalk": f"{table_prefix}_crosswalk", **{e: f"{table_prefix}_{e}" for e in extras}}


def _refuse_taken(conn: Any, names: Iterable[str], where: str) -> None:
    inspector = sa.inspect(conn)
    taken = [n for n in names if inspector.has_table(n)]
    if taken:
        raise WorkbenchError(f"table {taken[0]!r} already exists in {where}; use --if-exists replace "
                             "(API: if_exists='replace') to overwrite it, or append to add rows")


def check_sql_target(engine_or_url: Any, table_prefix: str = "golden", if_exists: str = "fail") -> None:
    """Refuse early (before any work) what ``to_sql`` would refuse: an unknown ``if_exists``, a taken table."""
    if if_exists not in IF_EXISTS:
        raise WorkbenchError(f"if_exists must be one of {', '.join(IF_EXISTS)}, not {if_exists!r}")
    if if_exists != "fail":
        return
    own = isinstance(engine_or_url, str)
    engine = sa.create_engine(engine_or_url) if own else engine_or_url
    try:
        with engine.connect() as conn:
            _refuse_taken(conn, sql_tables(table_prefix).values(), engine.url.render_as_string(hide_password=True))
    finally:
        if own:
            engine.dispose()


def to_sql(result: GoldenResult, engine_or_url: Any, table_prefix: str = "golden", *,
           if_exists: str = "fail", chunksize: int = 20_000) -> dict[str, str]:
    """Write ``<prefix>_records``, ``<prefix>_lineage``, ``<prefix>_crosswalk``; returns {frame: table}.

    Takes a SQLAlchemy engine or a URL (an engine made here is disposed here).
    ``if_exists``: "fail" (default) refuses when any of the tables exists,
    naming it; "replace" drops and rewrites them; "append" adds rows. All
    three tables are written in one transaction.
    """
    if if_exists not in IF_EXISTS:
        raise WorkbenchError(f"if_exists must be one of {', '.join(IF_EXISTS)}, not {if_exists!r}")
    own = isinstance(engine_or_url, str)
    engine = sa.create_engine(engine_or_url) if own else engine_or_url
    where = engine.url.render_as_string(hide_password=True)
    names = sql_tables(table_prefix, result.extras)
    try:
        with engine.begin() as conn:
            if if_exists == "fail":
                _refuse_taken(conn, names.values(), where)
            for name, frame in _frames(result).items():
                _plain(frame).to_sql(names[name], conn, index=False, if_exists=if_exists, chunksize=chunksize)
    finally:
        if own:
            engine.dispose()
    ws = getattr(result, "workspace", None)
    if ws is not None:
        ws.record("export", where, tables=sorted(names.values()), if_exists=if_exists,
                  run=result.stats.get("run_id"), rows={names[n]: len(f) for n, f in _frames(result).items()})
    return names
