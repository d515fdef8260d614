"""The standalone assessment report: one HTML file a manager can open offline.

Rendered from the ``report.html`` template with jinja2 autoescaping (``workbench.templating``),
in the workbench stylesheet, so every value from the data is escaped;
only the plotly chart markup is inserted as-is (plotly escapes ``<`` in its
JSON). plotly.js is embedded once, inline, so the file works without a
network. Personal data is masked: example failures are stored masked, and
the profile table masks the top values of PII columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from workbench.assess import plots
from workbench.assess.assessment import Assessment
from workbench.assess.scorecard import DIMENSIONS, band
from workbench.masking import mask_column, needs_mask
from workbench.schema import Role, Schema
from workbench.summary import summarize
from workbench.templating import Markup, render

__all__ = ["profile_rows", "report_html", "write_report"]

TOP_RULES = 10


def profile_rows(summary: dict[str, Any], schema: Schema | None = None) -> list[dict[str, Any]]:
    """The compact column summary as table rows, top values and min/max of PII columns masked."""
    rows = []
    for c in summary["columns"]:
        f = schema[c["column"]] if schema is not None and c["column"] in schema.names else None
        pii = needs_mask(f)  # masked unless declared safe
        top = c.get("top_values", [])[:3]
        values = [str(v) for v, _ in top]
        if pii and values:
            values = [str(v) for v in mask_column(pd.Series(values, dtype=object), f.role if f else Role.OTHER)]
        rows.append({
            "column": c["column"], "role": f.role.value if f else "?", "kind": c.get("kind", ""),
            "missing_pct": c.get("missing_pct"), "distinct": int(c.get("distinct", 0)),
            "top_values": ", ".join(f"{v} ({n:,})" for v, (_, n) in zip(values, top, strict=True)),
            "patterns": ", ".join(f"{p} ({n:,})" for p, n in c.get("patterns", [])[:3]),
            "min": "***" if pii and c.get("min") is not None else ("" if c.get("min") is None else c["min"]),
            "max": "***" if pii and c.get("max") is not None else ("" if c.get("max") is None else c["max"]),
        })
    return rows


def report_html(assessment: Assessment, *, summary: dict[str, Any] | None = None, title: str | None = None) -> str:
    """The report as one self-contained HTML page (plotly.js inline, once)."""
    r = assessment.result
    ds = assessment.dataset
    if summary is None:
        summary = assessment.workspace.latest_result("summary", ds) or summarize(ds.frame)
    figures = [plots.scorecard_bars(r["scores"], r["health"]), plots.fitness_bars(r["fitness"]),
               plots.failures_by_rule(r["checks"])]
    charts = [Markup(fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}))
              for i, fig in enumerate(figures)]
    checks = sorted(r["checks"], key=lambda c: -c["failed"])
    return render(
        "report.html",
        title=title or f"Data quality assessment: {r['label']}",
        r=r, run_id=assessment.run_id,
        rules_text="zero-config defaults from field roles" if r.get("rules") == "defaults" else r.get("rules"),
        verdict=_verdict(r), tiles=_tiles(r), charts=charts, fitness=_fitness_rows(r),
        unassessable=[{"purpose": p.replace("_", " "), "why": why} for p, why in r.get("not_assessable", {}).items()],
        top=[c for c in checks if c["failed"] > 0][:TOP_RULES], checks=checks,
        profile=profile_rows(summary, ds.schema), profile_total=summary.get("rows", 0),
        warnings=r.get("warnings", []), provenance=_provenance(r.get("provenance")),
    )


def write_report(assessment: Assessment, path: str | Path, **kwargs: Any) -> Path:
    """Write ``report_html`` to ``path`` (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(assessment, **kwargs), encoding="utf-8")
    assessment.workspace.record("report", assessment.dataset.label, path=str(path), run=assessment.run_id)
    return path


def _verdict(r: dict[str, Any]) -> list[str]:
    lines = [f"Overall health {r['health']:.0f} / 100 ({band(r['health'])}) over {r['rows']:,} records"
             + (f"; {r['rejected']:,} more rows could not be read." if r["rejected"] else ".")]
    if r["rows"] == 0:
        lines.append("The dataset has no records: nothing could be tested, and it is fit for no purpose.")
    if r["critical_failed"]:
        lines.append(f"CRITICAL rules failed: {', '.join(r['critical_rules_failed'])}.")
    else:
        lines.append("No critical rule failed.")
    weakest = sorted(r["scores"].items(), key=lambda kv: kv[1])[:1]
    if weakest and weakest[0][1] < 95:
        lines.append(f"Weakest dimension: {weakest[0][0]} ({weakest[0][1]:.1f}).")
    for purpose, pct in sorted(r["fitness"].items(), key=lambda kv: -kv[1]):
        lines.append(f"{pct:.1f}% of records are fit for {purpose.replace('_', ' ')}.")
    missing = r.get("not_assessable", {})
    if missing:
        lines.append("Not assessable with these columns: " + ", ".join(p.replace("_", " ") for p in missing) + ".")
    lines.append(f"{r['failing_rows']:,} records fail at least one error or critical rule.")
    return lines


def _provenance(p: dict[str, Any] | None) -> dict[str, Any] | None:
    """The provenance section: the recorded facts, what they permit, and the purposes they limited."""
    if not p:
        return None
    facts = [("party type", p.get("party") or "not recorded"), ("source system", p.get("source_system") or "not recorded"),
             ("acquired on", p.get("acquired_on") or "not recorded"),
             ("permitted purposes", ", ".join(p.get("purposes") or []) or "not stated"),
             ("licence", p.get("licence") or "not recorded")]
    if p.get("by_source"):
        facts.append(("party per source system", ", ".join(f"{k}: {v}" for k, v in p["by_source"].items())))
    return {"facts": facts, "statement": p.get("statement", []), "limits": p.get("limits", {})}


def _tiles(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, value, CSS class): scores coloured by their band, counts plain."""
    tiles = [("health", f"{r['health']:.1f}", f"wb-{band(r['health'])}")]
    for d in DIMENSIONS:
        if d in r["scores"]:
            tiles.append((d, f"{r['scores'][d]:.1f}", f"wb-{band(r['scores'][d])}"))
    tiles += [("records", f"{r['rows']:,}", ""), ("rejected at load", f"{r['rejected']:,}", "")]
    return tiles


def _fitness_rows(r: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for purpose, pct in sorted(r["fitness"].items(), key=lambda kv: -kv[1]):
        rules = ", ".join(r.get("purposes", {}).get(purpose, []))
        described = r.get("purpose_descriptions", {}).get(purpose)
        needs = f"{described} (rules: {rules})" if described else rules
        out.append({"purpose": purpose.replace("_", " "), "pct": f"{pct:.1f}%",
                    "count": f"{r.get('fit_rows', {}).get(purpose, 0):,} of {r['rows']:,}", "needs": needs})
    return out
