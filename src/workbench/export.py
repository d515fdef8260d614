"""CSV exports that are safe to open in a spreadsheet.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return as a formula (CSV injection, OWASP).
Customer data is text typed by strangers, so every exported text cell with
such a start gets a leading apostrophe: the spreadsheet shows the text,
never runs it. Numbers are left alone (a number cannot be a formula).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralize_cell", "neutralize_frame", "write_csv"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(value: Any) -> Any:
    """``'=HYPERLINK(...)'`` -> ``"'=HYPERLINK(...)"``; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _neutralize_series(s: pd.Series) -> pd.Series:
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype | pd.CategoricalDtype)):
        return s
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    try:  # vectorized: non-text cells give NaN (a Python check per cell took minutes on 50M cells)
        hit = s.str.startswith(FORMULA_PREFIXES, na=False).astype(bool)
    except AttributeError:  # no text at all in the column (.str refuses it)
        return s
    if not hit.any():
        return s
    out = s.astype(object).copy()
    out[hit] = "'" + s[hit].astype(str)
    return out


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every formula-like text cell and column name prefixed by an apostrophe."""
    out = pd.DataFrame({i: _neutralize_series(frame.iloc[:, i]) for i in range(frame.shape[1])},
                       index=frame.index)
    out.columns = [neutralize_cell(str(c)) for c in frame.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, **to_csv: Any) -> Path:
    """Write ``frame`` as UTF-8 CSV with formula injection neutralized; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"index": False, "encoding": "utf-8", **to_csv}
    neutralize_frame(frame).to_csv(path, **options)
    return path
