"""Exports people can trust: formula-safe CSV, files that appear whole or not at all, a manifest.

CSV injection (OWASP): Excel, LibreOffice and Google Sheets run a cell that
starts with ``=``, ``+``, ``-`` or ``@`` (or a tab / carriage return) as a
formula. Customer data is text typed by strangers, and a spreadsheet may split
the file on commas, semicolons or tabs depending on the reader's locale, so a
formula can hide *inside* a cell (``x;=1+1;`` is three cells to a semicolon
locale). :func:`neutralize_cell` states the rule.

Completeness: every file is written to a temporary name in the target folder
and renamed into place only when it is whole (:func:`write_files`); a set of
files gets a ``manifest.json`` (row counts, sha256, where the data came from)
written last, so a folder without a manifest is visibly incomplete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "MANIFEST",
    "csv_writer",
    "file_sha256",
    "neutralize_cell",
    "neutralize_frame",
    "read_manifest",
    "verify_manifest",
    "write_csv",
    "write_files",
]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1

# A fragment starts at the start of the cell or right after a character some
# spreadsheet splits on; spaces and quotes before its first character are skipped.
_SEPARATORS = ",;\t\r\n"
_NUMBER_LIKE = "0-9 +\\-()."  # a "+44 (0)20 7946-0958" is made of these: it cannot call anything
_DANGER = (
    rf"(?:^|(?<=[{_SEPARATORS}]))"  # fragment start
    rf"(?P<lead>(?:[^\S{_SEPARATORS}]|\")*)"  # leading spaces and quotes (kept)
    rf"(?=[=@]|[+\-][^{_SEPARATORS}]*[^{_NUMBER_LIKE}{_SEPARATORS}])"  # a formula, not a number
)
_DANGER_RE = re.compile(_DANGER)
_SIEVE = re.compile(  # the same search over a column's cells joined by line breaks (_text_hits)
    rf"[{_SEPARATORS}](?:[^\S{_SEPARATORS}]|\")*"
    rf"(?:[=@\t\r]|[+\-](?=[^{_SEPARATORS}]*[^{_NUMBER_LIKE}{_SEPARATORS}]))"
)


def neutralize_cell(value: Any) -> Any:
    """A text cell that no spreadsheet will run as a formula; any other value unchanged.

    The rule, in full:

    * The cell is cut into fragments at every ``,`` ``;`` tab, CR and LF: the
      cells a spreadsheet would see if it split the line on any of them.
    * A fragment is dangerous when its first character, after spaces and
      double quotes, is ``=`` or ``@``, or is ``+`` or ``-`` followed by
      anything other than digits, spaces and ``+ - ( ) .``.  So
      ``+44 20 7946 0958``, ``-12.5`` and ``(0)20-7946`` stay as they are:
      made only of those characters they cannot call a function or reach a
      file, whatever a spreadsheet does with them.
    * Each dangerous fragment gets an apostrophe before that character
      (``x;=1+1;`` -> ``x;'=1+1;``, ``=HYPERLINK(..)`` -> ``'=HYPERLINK(..)``),
      which every spreadsheet shows as text.
    * A cell starting with a tab or carriage return gets an apostrophe in
      front as well (OWASP).

    Nothing else is changed: values that are not text, and text without a
    dangerous fragment, are written exactly as they are.
    """
    if not isinstance(value, str):
        return value
    out = _DANGER_RE.sub(r"\g<lead>'", value)
    return "'" + out if value.startswith(("\t", "\r")) else out


def _text_hits(values: np.ndarray) -> np.ndarray:
    """Which cells may hold a dangerous fragment (all that do, and a few that only start with a tab).

    One C-speed regex scan over the column's text joined by line breaks (a
    separator already, so each cell starts like a fragment) instead of a
    Python call per cell, which took minutes on 50M cells;
    :func:`neutralize_cell` then decides exactly.
    """
    is_text = np.fromiter((isinstance(v, str) for v in values), bool, len(values))
    hits = np.zeros(len(values), bool)
    texts = values[is_text]
    if not len(texts):
        return hits
    ends = np.cumsum(np.fromiter((len(v) + 1 for v in texts), np.int64, len(texts)))
    joined = "\n" + "\n".join(texts)
    found = np.fromiter((m.start() for m in _SIEVE.finditer(joined)), np.int64)
    text_hits = np.zeros(len(texts), bool)
    text_hits[np.searchsorted(ends, found, side="right")] = True
    hits[np.flatnonzero(is_text)[text_hits]] = True
    return hits


def _neutralize_series(s: pd.Series) -> pd.Series:
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype | pd.CategoricalDtype)):
        return s
    values = s.to_numpy(dtype=object)
    hits = _text_hits(values)
    if not hits.any():
        return s
    out = pd.Series(values.copy(), index=s.index, name=s.name, dtype=object)
    out[hits] = [neutralize_cell(v) for v in values[hits]]
    return out


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every formula-like text cell and column name neutralized (see :func:`neutralize_cell`)."""
    out = pd.DataFrame({i: _neutralize_series(frame.iloc[:, i]) for i in range(frame.shape[1])},
                       index=frame.index)
    out.columns = [neutralize_cell(str(c)) for c in frame.columns]
    return out


# --------------------------------------------------------------------------
# whole files only


def _temp_name(path: Path) -> Path:
    """A hidden name next to ``path`` (same file system, so the rename is atomic).

    It ends like ``path`` so writers that infer compression from the suffix still do.
    """
    return path.with_name(f".tmp-{secrets.token_hex(4)}-{path.name}")


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not supported on every platform; the renames still happened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def csv_writer(frame: pd.DataFrame, to_csv: Mapping[str, Any]) -> Callable[[Path], int]:
    """A :func:`write_files` writer: ``frame`` as formula-safe UTF-8 CSV."""
    options = {"index": False, "encoding": "utf-8", **to_csv}

    def write(path: Path) -> int:
        neutralize_frame(frame).to_csv(path, **options)
        return len(frame)

    return write


def table_writer(frame: pd.DataFrame, fmt: str) -> Callable[[Path], int]:
    """A :func:`write_files` writer for ``frame`` as ``fmt``: "csv" (formula-safe) or "parquet"."""
    if fmt == "csv":
        return csv_writer(frame, {})
    if fmt != "parquet":
        raise ValueError(f"unknown table format {fmt!r}; csv or parquet")

    def write(path: Path) -> int:
        frame.to_parquet(path, index=False)
        return len(frame)

    return write


def file_manifest(path: str | Path) -> Path:
    """Where the manifest of a one-file export ``path`` goes: ``<name>.manifest.json`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.name}.manifest.json")


def write_csv(frame: pd.DataFrame, path: str | Path, **to_csv: Any) -> Path:
    """Write ``frame`` as UTF-8 CSV with formula injection neutralized; returns the path.

    The file appears under its name only once complete (temporary name, then rename).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    try:
        csv_writer(frame, to_csv)(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_files(folder: str | Path, writers: Mapping[str, Callable[[Path], int]], *,
                manifest: Mapping[str, Any] | None = None, manifest_name: str = MANIFEST) -> dict[str, Any]:
    """Write a set of files into ``folder`` so that a reader sees the old set or the new one, never a mix.

    ``writers`` maps a file name to a function that writes that file to the
    path it is given and returns its row count. Every file goes to a
    temporary name first; if any writer fails, the temporary files are
    removed and the folder is as it was. Then the old manifest is removed,
    the files are renamed into place, files only the old manifest listed are
    removed, and the new manifest (``manifest`` plus, per file, rows, bytes
    and sha256) is written last: a folder without a manifest is incomplete.

    Returns the manifest as written, with ``"path"`` (of the manifest) and
    ``"sha256"`` (of the manifest file) added.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    files: dict[str, dict[str, Any]] = {}
    try:
        for name, writer in writers.items():
            tmp = staged[name] = _temp_name(folder / name)
            rows = writer(tmp)
            _fsync(tmp)
            files[name] = {"rows": int(rows), "bytes": tmp.stat().st_size, "sha256": file_sha256(tmp)}
        manifest_path = folder / manifest_name
        previous = _listed_files(manifest_path)
        manifest_path.unlink(missing_ok=True)  # from here until the new one exists, the set is incomplete
        for name, tmp in staged.items():
            os.replace(tmp, folder / name)
        for name in previous - set(staged):
            (folder / name).unlink(missing_ok=True)
        doc = {"manifest_version": MANIFEST_VERSION, **(manifest or {}), "files": files}
        text = json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n"
        tmp = staged[manifest_name] = _temp_name(manifest_path)
        tmp.write_text(text, encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, manifest_path)
        _fsync_dir(folder)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    return {**doc, "path": manifest_path, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def _listed_files(manifest_path: Path) -> set[str]:
    """File names the manifest lists (only plain names inside its folder); empty when unreadable."""
    try:
        listed = json.loads(manifest_path.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return set()
    return {n for n in listed if isinstance(n, str) and n == Path(n).name and n not in ("", ".", "..")}


def read_manifest(folder: str | Path, manifest_name: str = MANIFEST) -> dict[str, Any]:
    from workbench.errors import WorkbenchError

    path = Path(folder) / manifest_name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbenchError("no manifest: the export is incomplete or was never finished", path=str(path)) from None
    except ValueError as exc:
        raise WorkbenchError(f"manifest is not valid JSON ({exc})", path=str(path)) from None


def verify_manifest(folder: str | Path, manifest_name: str = MANIFEST) -> list[str]:
    """Problems found checking each listed file's size and sha256 against the manifest; empty when whole."""
    folder = Path(folder)
    problems = []
    for name, entry in read_manifest(folder, manifest_name).get("files", {}).items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif file_sha256(path) != entry.get("sha256"):
            problems.append(f"{name}: contents differ from the manifest (sha256)")
    return problems
