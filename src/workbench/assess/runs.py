"""Reading stored assessment runs: what dashboards use instead of recomputing.

Kept apart from ``assessment`` so a dashboard page imports only the store
and pandas, not the rule engine (pandera adds about a second to page load).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.assess.scorecard import DIMENSIONS
from workbench.workspace import Workspace

__all__ = ["KIND", "history", "history_frame", "stored_runs"]

KIND = "assess"


def stored_runs(ws: Workspace, dataset_name: str | None = None) -> list[dict[str, Any]]:
    """Finished assessment results (oldest first), each with ``run_id`` and ``finished_at`` added."""
    runs = ws.runs(KIND)
    if runs.empty:
        return []
    runs = runs[runs["status"] == "done"].sort_values("id")
    out = []
    for row in runs.itertuples(index=False):
        result = row.result
        if not isinstance(result, dict) or "scores" not in result:
            continue
        if dataset_name is not None and result.get("dataset") != dataset_name:
            continue
        out.append({**result, "run_id": int(row.id), "finished_at": str(row.finished_at)})
    return out


def history(ws: Workspace, dataset_name: str) -> pd.DataFrame:
    """Scores of every assessment of ``dataset_name`` across runs and versions, oldest first.

    One row per run: ``run_id``, ``finished_at``, ``version``, ``rows``, ``health``,
    one column per dimension scored, and ``fit:<purpose>`` per purpose.
    """
    return history_frame(stored_runs(ws, dataset_name))


def history_frame(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """``history`` from already-read ``stored_runs`` of one dataset."""
    rows = []
    for r in runs:
        row: dict[str, Any] = {"run_id": r["run_id"], "finished_at": pd.Timestamp(r["finished_at"]),
                               "version": r.get("version"), "rows": r.get("rows"), "health": r.get("health")}
        row.update(r.get("scores", {}))
        row.update({f"fit:{p}": v for p, v in r.get("fitness", {}).items()})
        rows.append(row)
    base = ["run_id", "finished_at", "version", "rows", "health"]
    df = pd.DataFrame(rows, columns=None if rows else base)
    dims = [d for d in DIMENSIONS if d in df.columns] + sorted(
        c for c in df.columns if c not in base and c not in DIMENSIONS and not c.startswith("fit:"))
    fits = [c for c in df.columns if c.startswith("fit:")]
    return df[base + dims + fits].reset_index(drop=True)
