"""A compact column summary of our own, small enough to store for every run.

ydata-profiling's JSON embeds every value count (hundreds of MB at a million
rows); dashboards need only a few figures per column, so we compute them here
with pandas and keep them in the workspace.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.store import json_value

TOP_N = 5
_PATTERN_DISTINCT_CAP = 20_000  # the most frequent distinct values carry the shapes


_SHAPE = str.maketrans(
    {**{c: "a" for c in "abcdefghijklmnopqrstuvwxyz"}, **{c: "A" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
     **{c: "9" for c in "0123456789"}}
)


def value_pattern(values: pd.Series) -> pd.Series:
    """Shape of each value: letters -> 'a'/'A', digits -> '9' ("02134" -> "99999")."""
    s = pd.Series([str(v).translate(_SHAPE) for v in values], index=values.index, dtype=object)
    # Collapse runs so names of different length share a pattern ("Aaaa" ~ "Aaaaaa").
    return s.str.replace(r"([aA])\1+", r"\1+", regex=True)


def summarize_column(col: pd.Series) -> dict[str, Any]:
    """Type, missing %, distinct count, top values, min/max and top patterns of one column."""
    n = len(col)
    counts = col.value_counts(dropna=True)  # one hash pass; blank text is found among distinct values
    if col.dtype == object and len(counts):
        blank = np.fromiter((isinstance(v, str) and not v.strip() for v in counts.index), dtype=bool,
                            count=len(counts))
        counts = counts[~blank]
    n_present = int(counts.sum())
    n_missing = n - n_present
    present = col.dropna() if col.dtype != object else pd.Series(counts.index, dtype=object)
    out: dict[str, Any] = {
        "column": str(col.name),
        "dtype": str(col.dtype),
        "kind": _kind(present),
        "rows": int(n),
        "missing": int(n_missing),
        "missing_pct": round(100.0 * n_missing / n, 2) if n else 0.0,
        "distinct": int(len(counts)),
        "distinct_pct": round(100.0 * len(counts) / max(n_present, 1), 2),
        "top_values": [[json_value(v), int(c)] for v, c in counts.head(TOP_N).items()],
        "min": None,
        "max": None,
        "patterns": [],
    }
    if len(present):
        if pd.api.types.is_numeric_dtype(present) or pd.api.types.is_datetime64_any_dtype(present):
            out["min"], out["max"] = json_value(present.min()), json_value(present.max())
        else:
            as_text = counts.index.astype(str)
            out["min"], out["max"] = as_text.min(), as_text.max()
            out["min_length"] = int(as_text.str.len().min())
            out["max_length"] = int(as_text.str.len().max())
        capped = counts.head(_PATTERN_DISTINCT_CAP)
        pats = pd.Series(capped.to_numpy(), index=value_pattern(capped.index.to_series()).to_numpy())
        top = pats.groupby(level=0).sum().sort_values(ascending=False).head(TOP_N)
        out["patterns"] = [[str(p), int(c)] for p, c in top.items()]
    return out


def summarize(frame: pd.DataFrame) -> dict[str, Any]:
    """Compact summary of a frame: rows, columns and one entry per column."""
    return {
        "rows": int(len(frame)),
        "columns": [summarize_column(frame[c]) for c in frame.columns],
    }


def summary_frame(summary: dict[str, Any]) -> pd.DataFrame:
    """The per-column part of a summary as a table, for display."""
    cols = ["column", "kind", "missing_pct", "distinct", "top_values", "patterns", "min", "max"]
    rows = [
        {**{k: c.get(k) for k in cols},
         "top_values": ", ".join(f"{v} ({n})" for v, n in c["top_values"][:3]),
         "patterns": ", ".join(f"{p} ({n})" for p, n in c["patterns"][:3])}
        for c in summary["columns"]
    ]
    return pd.DataFrame(rows, columns=cols)


def _kind(present: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(present):
        return "boolean"
    if pd.api.types.is_numeric_dtype(present):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(present):
        return "datetime"
    return "text"
