"""Plot builders for assessments: pure functions from stored results to plotly figures.

They take the JSON-able pieces of a stored run (scores, fitness, checks) or
the ``history`` frame, so a dashboard draws them without recomputing.
Labels pass through ``_label``: plotly renders a few HTML-like tags in text,
and rule or column names come from files we do not control.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from workbench.assess.scorecard import DIMENSIONS, band
from workbench.plots import chart_text, themed_figure

__all__ = ["BAND_COLORS", "failures_by_rule", "fitness_bars", "health_gauge", "score_history", "scorecard_bars"]

BAND_COLORS = {"good": "#2a9d8f", "fair": "#e9c46a", "poor": "#e76f51", "none": "#adb5bd"}
_LINE_COLORS = ["#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8d99ae", "#6d597a"]




def scorecard_bars(scores: Mapping[str, float], health: float | None = None) -> go.Figure:
    """One bar per dimension (0-100) coloured good/fair/poor, health on top when given."""
    names = [d for d in DIMENSIONS if d in scores] + [d for d in scores if d not in DIMENSIONS]
    items = ([("health", health)] if health is not None else []) + [(d, scores[d]) for d in names]
    labels = [chart_text(n) for n, _ in items]
    values = [float(v) for _, v in items]
    bar = go.Bar(x=values, y=labels, orientation="h", marker_color=[BAND_COLORS[band(v)] for v in values],
                 text=[f"{v:.1f}" for v in values], textposition="auto",
                 hovertemplate="%{y}: %{x:.1f} / 100<extra></extra>")
    return themed_figure(bar, "Quality scorecard", 90 + 34 * max(len(items), 1),
                   xaxis=dict(range=[0, 100], title="score (0-100)"), yaxis=dict(autorange="reversed"))


def health_gauge(health: float) -> go.Figure:
    """The overall health as a gauge with the good/fair/poor bands."""
    gauge = go.Indicator(
        mode="gauge+number", value=float(health), number=dict(suffix=" / 100", valueformat=".1f"),
        gauge=dict(axis=dict(range=[0, 100]), bar=dict(color="#264653"), steps=[
            dict(range=[0, 80], color="#f8d7cf"), dict(range=[80, 95], color="#fbefc9"),
            dict(range=[95, 100], color="#cfeeea")]),
    )
    return themed_figure(gauge, "Overall health", 260)


def fitness_bars(fitness: Mapping[str, float]) -> go.Figure:
    """Percent of records fit for each purpose."""
    items = sorted(fitness.items(), key=lambda kv: kv[1])
    values = [float(v) for _, v in items]
    bar = go.Bar(x=values, y=[chart_text(p).replace("_", " ") for p, _ in items], orientation="h",
                 marker_color=[BAND_COLORS[band(v)] for v in values], text=[f"{v:.1f}%" for v in values],
                 textposition="auto", hovertemplate="%{y}: %{x:.1f}% of records fit<extra></extra>")
    return themed_figure(bar, "Fitness for purpose", 90 + 40 * max(len(items), 1),
                   xaxis=dict(range=[0, 100], title="% of records fit"))


def failures_by_rule(checks: Sequence[Mapping[str, Any]], top: int = 15) -> go.Figure:
    """Failing rows per rule (the ``top`` worst), coloured by severity."""
    df = pd.DataFrame(list(checks), columns=["name", "severity", "failed", "tested"])
    df = df[df["failed"] > 0].sort_values("failed", ascending=False).head(top)
    colors = {"warning": "#e9c46a", "error": "#f4a261", "critical": "#e76f51"}
    bars = []
    for severity in ("critical", "error", "warning"):
        part = df[df["severity"] == severity]
        if len(part):
            bars.append(go.Bar(
                x=part["failed"].tolist(), y=[chart_text(n) for n in part["name"]], orientation="h", name=severity,
                marker_color=colors[severity],
                customdata=(100.0 * part["failed"] / part["tested"].clip(lower=1)).round(2).tolist(),
                hovertemplate="%{y}: %{x:,} rows failed (%{customdata}% of tested)<extra></extra>"))
    order = [chart_text(n) for n in df["name"]]
    title = "Failing rows per rule" if len(df) else "Failing rows per rule: none"
    return themed_figure(bars, title, 110 + 26 * max(len(df), 1), xaxis=dict(title="rows failing"), barmode="stack",
                   yaxis=dict(categoryorder="array", categoryarray=order[::-1]))


def score_history(history: pd.DataFrame) -> go.Figure:
    """Health and dimension scores across runs (``workbench.assess.history`` frame)."""
    lines = []
    if len(history):
        x = [f"run {r} (v{v})" for r, v in zip(history["run_id"], history["version"], strict=True)]
        dims = [d for d in DIMENSIONS if d in history.columns]
        for i, col in enumerate(["health", *dims]):
            lines.append(go.Scatter(
                x=x, y=history[col].tolist(), name=chart_text(col), mode="lines+markers",
                line=dict(color=_LINE_COLORS[i % len(_LINE_COLORS)], width=4 if col == "health" else 2)))
    return themed_figure(lines, "Scores across assessments", 340, yaxis=dict(range=[0, 102], title="score"),
                   xaxis=dict(type="category", title="assessment"))
