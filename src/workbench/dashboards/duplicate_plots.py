"""Plot builders for the duplicates dashboard: pure functions from small summary frames to figures.

Each takes an aggregate the dashboard computed from stored results (counts per
cluster size, a binned confidence histogram, label counts, overlap counts), so
a million-record clustering ships a few dozen numbers to the browser, never a
value per record. Only bar traces: the dashboards' template draws them with
plotly.js's basic bundle. Text from the data passes through ``_label``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.plots import chart_text, themed_figure

__all__ = ["HOUSEHOLD_COLORS", "LABEL_COLORS", "LINK_COLORS", "cluster_sizes", "confidence_bins",
           "confidence_histogram", "household_sizes_chart", "labels_by_analyst", "link_overlap", "source_overlap"]

HOUSEHOLD_COLORS = {"person": "#264653", "organization": "#e9c46a"}
HOUSEHOLD_NAMES = {"person": "households (people)", "organization": "organizations (branches)"}

LABEL_COLORS = {"match": "#2a9d8f", "distinct": "#e76f51", "unsure": "#e9c46a", "undone": "#adb5bd"}
LINK_COLORS = {"match": "#2a9d8f", "ambiguous": "#e9c46a", "new": "#457b9d"}
LINK_NAMES = {"match": "already ours", "ambiguous": "ambiguous", "new": "new"}


def cluster_sizes(sizes: pd.DataFrame) -> go.Figure:
    """Clusters per size, for clusters of two or more records (``size``, ``clusters``, ``records``)."""
    multi = sizes[sizes["size"] > 1].sort_values("size")
    bar = go.Bar(x=[str(int(s)) for s in multi["size"]], y=multi["clusters"].tolist(),
                 customdata=multi["records"].tolist(), marker_color="#2a9d8f",
                 hovertemplate="%{y:,} clusters of %{x} records (%{customdata:,} records)<extra></extra>")
    title = "Clusters per size" if len(multi) else "Clusters per size: no duplicates found"
    return themed_figure(bar, title, 320, xaxis=dict(title="records in the cluster", type="category"),
                   yaxis=dict(title="clusters", gridcolor="#eaecef"))


def confidence_bins(confidence: Sequence[float] | pd.Series, bins: int = 20) -> pd.DataFrame:
    """Counts of ``confidence`` values in ``bins`` equal bins over [0, 1] (``start``, ``end``, ``clusters``)."""
    values = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
    counts, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    return pd.DataFrame({"start": edges[:-1].round(4), "end": edges[1:].round(4), "clusters": counts})


def confidence_histogram(binned: pd.DataFrame) -> go.Figure:
    """How confident the multi-record clusters are (``confidence_bins`` output): low ones need review."""
    mids = ((binned["start"] + binned["end"]) / 2).tolist()
    width = float((binned["end"] - binned["start"]).iloc[0]) if len(binned) else 0.05
    colors = ["#e76f51" if m < 0.5 else "#e9c46a" if m < 0.8 else "#2a9d8f" for m in mids]
    bar = go.Bar(x=mids, y=binned["clusters"].tolist(), width=width * 0.95, marker_color=colors,
                 customdata=np.column_stack([binned["start"], binned["end"]]).tolist(),
                 hovertemplate="confidence %{customdata[0]:.2f}-%{customdata[1]:.2f}: %{y:,} clusters"
                               "<extra></extra>")
    title = "Confidence of clusters of two or more records"
    if not int(binned["clusters"].sum()):
        title += ": none yet"
    return themed_figure(bar, title, 320, xaxis=dict(title="cluster confidence (its least confident record)",
                                               range=[0, 1]),
                   yaxis=dict(title="clusters", gridcolor="#eaecef"))


def labels_by_analyst(counts: pd.DataFrame) -> go.Figure:
    """Labels per analyst, stacked by answer (``analyst``, ``label``, ``labels``; label "undone" allowed)."""
    analysts = sorted(counts["analyst"].unique().tolist()) if len(counts) else []
    bars = []
    for label, color in LABEL_COLORS.items():
        part = counts[counts["label"] == label].set_index("analyst")["labels"] if len(counts) else pd.Series()
        if part.sum():
            bars.append(go.Bar(x=[int(part.get(a, 0)) for a in analysts], y=[chart_text(a) for a in analysts],
                               orientation="h", name=label, marker_color=color,
                               hovertemplate="%{y}: %{x:,} " + label + "<extra></extra>"))
    title = "Labels by analyst" if analysts else "Labels by analyst: none yet"
    return themed_figure(bars, title, 120 + 34 * max(len(analysts), 1), barmode="stack",
                   xaxis=dict(title="pairs labeled"), yaxis=dict(autorange="reversed"))


#: Cluster id changes, in the order a reader asks about them, and their colours.
ID_EVENT_COLORS = {"new": "#4c78a8", "merge": "#f58518", "split": "#e45756", "move": "#72b7b2",
                   "retire": "#9d9da1"}


def id_churn_chart(churn: pd.DataFrame) -> go.Figure:
    """Cluster id changes per clustering run, stacked by kind (``run``, ``new``, ``merge``, ... counts)."""
    runs = [f"run {int(r)}" for r in churn["run"]] if len(churn) else []
    bars = [go.Bar(x=runs, y=churn[event].astype(int).tolist(), name=event, marker_color=color,
                   hovertemplate="%{x}: %{y:,} " + event + "<extra></extra>")
            for event, color in ID_EVENT_COLORS.items() if len(churn) and event in churn and churn[event].sum()]
    title = "Cluster ids changed per run" if bars else "Cluster ids changed per run: none yet"
    return themed_figure(bars, title, 300, barmode="stack", xaxis=dict(title="clustering run", type="category"),
                         yaxis=dict(title="ids (moves: records)", gridcolor="#eaecef"))


def source_overlap(combos: pd.DataFrame, top: int = 12) -> go.Figure:
    """Multi-record clusters by the sources their records come from (``sources``, ``clusters``).

    "crm + web" counts clusters joining records of both: the customers each pair
    of systems shares.
    """
    df = combos.sort_values("clusters", ascending=False).head(top)
    bar = go.Bar(x=df["clusters"].tolist(), y=[chart_text(s) for s in df["sources"]], orientation="h",
                 marker_color=["#264653" if " + " in str(s) else "#8d99ae" for s in df["sources"]],
                 hovertemplate="%{y}: %{x:,} clusters<extra></extra>")
    title = "Sources joined by clusters of two or more records" if len(df) else "Sources joined by clusters: none"
    return themed_figure(bar, title, 110 + 30 * max(len(df), 1), xaxis=dict(title="clusters"),
                   yaxis=dict(autorange="reversed"))


def link_overlap(overlap: Sequence[Mapping[str, Any]], title: str = "Acquired records we already have") -> go.Figure:
    """Per source of an acquired list: already ours / ambiguous / new (a stored link run's ``overlap``)."""
    rows = list(overlap)
    order = [r for r in rows if r.get("source") != "all"] + [r for r in rows if r.get("source") == "all"]
    labels = [chart_text("all sources" if r.get("source") == "all" else r.get("source")) for r in order]
    bars = []
    for status, color in LINK_COLORS.items():
        values = [int(r.get(status, 0)) for r in order]
        share = [round(100.0 * v / max(int(r.get("records", 0)), 1), 1) for v, r in zip(values, order, strict=True)]
        bars.append(go.Bar(x=values, y=labels, orientation="h", name=LINK_NAMES[status], marker_color=color,
                           customdata=share,
                           hovertemplate="%{y}: %{x:,} " + LINK_NAMES[status] + " (%{customdata}%)<extra></extra>"))
    return themed_figure(bars, chart_text(title), 130 + 34 * max(len(order), 1), barmode="stack",
                   xaxis=dict(title="acquired records"), yaxis=dict(autorange="reversed"))


def household_sizes_chart(sizes: pd.DataFrame) -> go.Figure:
    """Households of two or more customers per size, people and organizations (``kind``, ``size``, ``households``).

    Sizes count distinct customers (clusters), not records: a household of
    three is three people however many records each has.
    """
    multi = sizes[sizes["size"] > 1]
    labels = [str(int(s)) for s in sorted(multi["size"].unique())]
    bars = []
    for kind, color in HOUSEHOLD_COLORS.items():
        part = multi[multi["kind"] == kind].set_index("size")["households"]
        if len(part):
            bars.append(go.Bar(x=labels, y=[int(part.get(int(s), 0)) for s in labels], name=HOUSEHOLD_NAMES[kind],
                               marker_color=color,
                               hovertemplate="%{y:,} groups of %{x} customers<extra>" + kind + "</extra>"))
    title = ("Households per size (customers sharing an address, phone or inbox; branches of one organization)"
             if bars else "Households per size: no customers share a household")
    return themed_figure(bars, title, 320, barmode="stack", xaxis=dict(title="customers in the household", type="category"),
                   yaxis=dict(title="households", gridcolor="#eaecef"))
