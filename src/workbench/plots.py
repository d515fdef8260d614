"""Plot builders: pure functions from results to plotly figures.

The UI and dashboards only display what these return; tests can inspect the
figure data without a browser.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from workbench.schema import Schema

PALETTE = {"kept": "#2a9d8f", "rejected": "#e76f51", "missing": "#e9c46a", "present": "#264653"}


#: The one chart theme of the workbench (notebooks, dashboards, reports).
_AXIS = dict(gridcolor="#eaecef", zerolinecolor="#d0d7de", linecolor="#d0d7de", automargin=True)


def chart_text(text: Any) -> str:
    """Chart-safe text: no '<' or '>' that plotly could read as markup."""
    return str(text).replace("<", "‹").replace(">", "›")


def _theme(title: str, height: int, xaxis: dict | None = None, yaxis: dict | None = None) -> dict[str, Any]:
    return dict(title=dict(text=title, x=0.02), height=height, margin=dict(l=10, r=20, t=50, b=10),
                template="none", paper_bgcolor="white", plot_bgcolor="white",
                font=dict(family="Helvetica, Arial, sans-serif", size=12, color="#2a3f5f"),
                xaxis={**_AXIS, **(xaxis or {})}, yaxis={**_AXIS, "gridcolor": "rgba(0,0,0,0)", **(yaxis or {})},
                legend=dict(orientation="h", y=-0.2))


def themed_figure(data: Any, title: str, height: int, *, xaxis: dict | None = None, yaxis: dict | None = None,
                  **layout: Any) -> go.Figure:
    """A figure in the workbench's theme, built in one pass.

    "plotly_white" and later ``update_layout`` calls cost plotly's validation again
    and again (~25 ms a chart); a dashboard of a dozen charts pays it on every page load.
    """
    return go.Figure(data, layout={**_theme(title, height, xaxis, yaxis), **layout})


def _layout(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(**_theme(title, height))
    return fig


def row_accounting(datasets: pd.DataFrame) -> go.Figure:
    """Rows kept vs rejected per dataset version (``Workspace.datasets()`` frame)."""
    labels = [f"{n} v{v}" for n, v in zip(datasets["name"], datasets["version"], strict=True)]
    fig = go.Figure([
        go.Bar(name="kept", y=labels, x=datasets["rows_kept"], orientation="h", marker_color=PALETTE["kept"]),
        go.Bar(name="rejected", y=labels, x=datasets["rows_rejected"], orientation="h",
               marker_color=PALETTE["rejected"]),
    ])
    fig.update_layout(barmode="stack", xaxis_title="rows")
    return _layout(fig, "Rows read: kept + rejected", height=max(220, 60 + 40 * len(labels)))


def missing_by_column(summary: dict[str, Any], schema: Schema | None = None) -> go.Figure:
    """Share of missing values per column, PII columns marked."""
    cols = summary["columns"]
    names = [c["column"] for c in cols]
    pii = set(schema.pii_columns) if schema is not None else set()
    labels = [f"{n} (PII)" if n in pii else n for n in names]
    missing = [c["missing_pct"] for c in cols]
    fig = go.Figure([
        go.Bar(name="present", y=labels, x=[100 - m for m in missing], orientation="h",
               marker_color=PALETTE["present"]),
        go.Bar(name="missing", y=labels, x=missing, orientation="h", marker_color=PALETTE["missing"]),
    ])
    fig.update_layout(barmode="stack", xaxis=dict(title="% of rows", range=[0, 100]),
                      yaxis=dict(autorange="reversed"))
    return _layout(fig, f"Completeness per column ({summary['rows']:,} rows)", height=80 + 24 * len(names))


def roles_overview(schema: Schema) -> go.Figure:
    """How many columns the workbench understands, by role."""
    df = schema.to_frame()
    counts = df.groupby("role").size().sort_values(ascending=True)
    fig = go.Figure(go.Bar(x=counts.to_numpy(), y=counts.index.tolist(), orientation="h", marker_color="#457b9d"))
    fig.update_layout(xaxis_title="columns")
    return _layout(fig, "Field roles", height=80 + 24 * len(counts))


def threshold_chart(curve: pd.DataFrame, suggested: float | None = None) -> go.Figure:
    """Precision, recall and F1 against the match threshold (cross-validated on the labels)."""
    fig = go.Figure()
    for col, color in (("precision", "#2a9d8f"), ("recall", "#e76f51"), ("f1", "#264653")):
        fig.add_trace(go.Scatter(x=curve["threshold"], y=curve[col], mode="lines+markers", name=col,
                                 line=dict(color=color)))
    if suggested is not None:
        fig.add_vline(x=suggested, line_dash="dash", line_color="#888",
                      annotation_text=f"suggested {suggested:.2f}")
    fig.update_layout(xaxis=dict(title="threshold", range=[0, 1]), yaxis=dict(title="", range=[0, 1.02]))
    return _layout(fig, "Precision and recall against the threshold (from your labels)")
