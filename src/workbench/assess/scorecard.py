"""The scorecard: one 0-100 score per quality dimension, an overall health, fitness per purpose.

A dimension's score is the share of tested (rule, row) outcomes that passed,
so a rule that tested 10,000 rows weighs more than one that tested 10 and a
rule that tested nothing weighs nothing. Health is the plain mean of the
dimension scores: twelve completeness rules must not drown the one
uniqueness rule. No evidence is not good news: with nothing tested the
health is 0, and an empty dataset is fit for no purpose.

Pure pandas over the per-rule counts, so it can be recomputed from a stored
run and tested with tiny frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["DIMENSIONS", "Scorecard", "band", "build_scorecard", "dimension_table", "fitness_percent",
           "health_score"]

#: Display order; same names as ``workbench.checks.DIMENSIONS`` (not imported: that pulls in pandera).
DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness", "integrity")
GOOD, FAIR = 95.0, 80.0


def band(score: float | None) -> str:
    """'good' (>= 95), 'fair' (>= 80), 'poor', or 'none' without a score: one colour scale everywhere."""
    if score is None or pd.isna(score):
        return "none"
    return "good" if score >= GOOD else "fair" if score >= FAIR else "poor"


def dimension_table(checks: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Per dimension: rules, rows tested, failed, passed and score (NaN when nothing was tested)."""
    df = pd.DataFrame(list(checks) if not isinstance(checks, pd.DataFrame) else checks)
    cols = ["dimension", "rules", "tested", "failed", "passed", "score"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    g = df.groupby("dimension", sort=False).agg(rules=("tested", "size"), tested=("tested", "sum"),
                                                 failed=("failed", "sum")).reset_index()
    g["passed"] = g["tested"] - g["failed"]
    g["score"] = (100.0 * g["passed"] / g["tested"].where(g["tested"] > 0)).round(2)
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    g = g.sort_values("dimension", key=lambda s: s.map(lambda d: order.get(d, len(order))), kind="stable")
    return g[cols].reset_index(drop=True)


def health_score(scores: Mapping[str, float]) -> float:
    """Mean of the dimension scores; 0.0 when no dimension has a score."""
    values = [float(v) for v in scores.values() if v is not None and not pd.isna(v)]
    return round(sum(values) / len(values), 2) if values else 0.0


def fitness_percent(fit_rows: pd.DataFrame) -> dict[str, float]:
    """Percent of rows fit per purpose (one boolean column per purpose); 0.0 for an empty dataset."""
    return {str(p): round(100.0 * float(fit_rows[p].mean()), 2) if len(fit_rows) else 0.0
            for p in fit_rows.columns}


@dataclass
class Scorecard:
    """Scores per dimension, health and fitness, JSON-able through ``to_dict``."""

    scores: dict[str, float]
    health: float
    fitness: dict[str, float] = field(default_factory=dict)
    fit_rows: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    dimensions: pd.DataFrame = field(default_factory=lambda: dimension_table([]), repr=False)

    @property
    def untested(self) -> list[str]:
        """Dimensions with rules but no tested row (all values missing, or no rows)."""
        d = self.dimensions
        return [str(x) for x in d.loc[d["score"].isna(), "dimension"]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": dict(self.scores),
            "health": self.health,
            "fitness": dict(self.fitness),
            "fit_rows": dict(self.fit_rows),
            "dimensions": [
                {"dimension": str(r.dimension), "rules": int(r.rules), "tested": int(r.tested),
                 "failed": int(r.failed), "score": None if pd.isna(r.score) else float(r.score)}
                for r in self.dimensions.itertuples(index=False)
            ],
        }


def build_scorecard(checks: pd.DataFrame | Iterable[Mapping[str, Any]], fit_rows: pd.DataFrame | None = None,
              *, rows: int | None = None) -> Scorecard:
    """Build the scorecard from per-rule counts (``dimension``, ``tested``, ``failed``) and per-row fitness.

    ``fit_rows`` is ``CheckResults.fit_rows(purposes)``: one boolean column per purpose.
    """
    table = dimension_table(checks)
    scores = {str(r.dimension): float(r.score) for r in table.itertuples(index=False) if not pd.isna(r.score)}
    fit = fit_rows if fit_rows is not None else pd.DataFrame()
    return Scorecard(
        scores=scores,
        health=health_score(scores),
        fitness=fitness_percent(fit),
        fit_rows={str(p): int(fit[p].sum()) for p in fit.columns},
        rows=int(len(fit)) if rows is None else int(rows),
        dimensions=table,
    )
