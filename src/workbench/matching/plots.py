"""Plot builders for matching results: pure functions returning plotly figures."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

STATUS_COLORS = {"match": "#2e7d32", "ambiguous": "#f9a825", "new": "#1565c0"}
STATUS_NAMES = {"match": "already ours", "ambiguous": "ambiguous (review)", "new": "new"}


def overlap_bars(overlap: pd.DataFrame) -> go.Figure:
    """Stacked bars per source of the acquired list: already ours / ambiguous / new."""
    fig = go.Figure()
    for status, color in STATUS_COLORS.items():
        fig.add_bar(name=STATUS_NAMES[status], y=overlap["source"].astype(str), x=overlap[status],
                    orientation="h", marker_color=color,
                    hovertemplate="%{y}: %{x:,} records<extra>" + STATUS_NAMES[status] + "</extra>")
    fig.update_layout(barmode="stack", title="Acquired records already in the master, per source",
                      xaxis_title="records", yaxis_title=None, height=120 + 40 * len(overlap),
                      margin=dict(l=10, r=10, t=50, b=40), legend=dict(orientation="h", y=-0.25))
    fig.update_yaxes(autorange="reversed")
    return fig
