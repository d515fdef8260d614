"""Workspace overview dashboard: datasets, row accounting, completeness, field roles."""

from __future__ import annotations

from typing import Any

from workbench import plots
from workbench.dashboards import html, render, reveal_allowed
from workbench.masking import mask_frame, needs_mask
from workbench.workspace import Workspace

SAMPLE_ROWS = 5


def build(ws: Workspace, *, masked: bool = True) -> list[Any]:
    """The page as a list of displayable parts (HTML strings and plotly figures)."""
    reveal_allowed(ws, "overview", masked)
    datasets = ws.datasets()
    if datasets.empty:
        return [html.tiles([("datasets", "0")]),
                html.note(f"No datasets in {ws.path} yet: run `workbench prepare` or load a file.")]
    latest = datasets.sort_values("version").drop_duplicates("name", keep="last")
    parts: list[Any] = [
        html.tiles([
            ("datasets", f"{len(latest)}"),
            ("rows kept", f"{int(latest['rows_kept'].sum()):,}"),
            ("rows rejected", f"{int(latest['rows_rejected'].sum()):,}"),
            ("loads", f"{len(datasets)}"),
        ]),
        plots.row_accounting(latest),
    ]
    for name in latest["name"]:
        ds = ws.dataset(name)
        parts.append(html.heading(f"{ds.label}: {ds.rows_kept:,} rows, key {ds.key or '(none)'}"))
        parts.append(html.note("Provenance: " + " ".join(ds.provenance.describe())))
        summary = ws.latest_result("summary", ds)
        if summary is not None:
            parts.append(plots.missing_by_column(summary, ds.schema))
        else:
            parts.append(html.note("No stored summary for this version yet (workbench load computes one)."))
        parts.append(html.table(ds.schema.to_frame().assign(masked=[needs_mask(f) for f in ds.schema])))
        sample = mask_frame(ds.head(SAMPLE_ROWS), ds.schema, enabled=masked)
        parts.append(html.note("Sample rows" + (" (personal data masked)" if masked else "")))
        parts.append(html.table(sample))
    return parts


def show(ws: Workspace, *, masked: bool = True) -> None:
    """Display the page in a notebook or Voilà."""
    render.show(build(ws, masked=masked))
