"""Writing golden records out: files for people and tools, tables for databases.

CSV goes through ``workbench.export.write_csv`` because golden values are
text typed by customers and will be opened in spreadsheets (formula
injection). Parquet and SQL keep values as they are: no spreadsheet runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from workbench.errors import WorkbenchError
from workbench.export import write_csv

if TYPE_CHECKING:
    from workbench.golden.build import GoldenResult

__all__ = ["FORMATS", "TABLES", "export_result", "to_sql"]

FORMATS = ("csv", "parquet")
#: The frames of a result, in the order they are written.
TABLES = ("golden", "lineage", "crosswalk")


def _frames(result: GoldenResult) -> dict[str, pd.DataFrame]:
    return {"golden": result.golden, "lineage": result.lineage, "crosswalk": result.crosswalk}


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as text: every reader (CSV, SQL, old Parquet tools) understands those."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return frame
    return frame.astype({c: object for c in cats})


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> Path:
    if fmt == "csv":
        return write_csv(_plain(frame), path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _plain(frame).to_parquet(path, index=False)
    return path


def export_result(result: GoldenResult, target: str | Path,
                  formats: Sequence[str] = FORMATS) -> dict[str, Path]:
    """Write the result; returns ``{file name: path}``.

    A target ending in ``.csv`` or ``.parquet`` gets the golden records only;
    any other target is a folder that gets ``golden``, ``lineage`` and
    ``crosswalk`` in each of ``formats``.
    """
    target = Path(target)
    if isinstance(formats, str):
        formats = (formats,)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise WorkbenchError(f"unknown export format {unknown[0]!r}; formats: {', '.join(FORMATS)}")
    suffix = target.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return {target.name: _write(result.golden, target, suffix)}
    if target.exists() and not target.is_dir():
        raise WorkbenchError(f"{target}: is a file; give a folder, or a path ending in .csv or .parquet")
    written: dict[str, Path] = {}
    for name, frame in _frames(result).items():
        for fmt in formats:
            written[f"{name}.{fmt}"] = _write(frame, target / f"{name}.{fmt}", fmt)
    return written


def to_sql(result: GoldenResult, engine_or_url: Any, table_prefix: str = "golden", *,
           if_exists: str = "replace", chunksize: int = 20_000) -> dict[str, str]:
    """Write ``<prefix>_records``, ``<prefix>_lineage``, ``<prefix>_crosswalk``; returns {frame: table}.

    Takes a SQLAlchemy engine or a URL (an engine made here is disposed here).
    """
    own = isinstance(engine_or_url, str)
    engine = sa.create_engine(engine_or_url) if own else engine_or_url
    names = {"golden": f"{table_prefix}_records", "lineage": f"{table_prefix}_lineage",
             "crosswalk": f"{table_prefix}_crosswalk"}
    try:
        with engine.begin() as conn:
            for name, frame in _frames(result).items():
                _plain(frame).to_sql(names[name], conn, index=False, if_exists=if_exists, chunksize=chunksize)
    finally:
        if own:
            engine.dispose()
    return names
