"""The standalone assessment report: one HTML file a manager can open offline.

Rendered with jinja2 autoescaping, so every value from the data is escaped;
only the plotly chart markup is inserted as-is (plotly escapes ``<`` in its
JSON). plotly.js is embedded once, inline, so the file works without a
network. Personal data is masked: example failures are stored masked, and
the profile table masks the top values of PII columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from workbench.assess import plots
from workbench.assess.assessment import Assessment
from workbench.assess.scorecard import DIMENSIONS, band
from workbench.masking import mask_column, needs_mask
from workbench.schema import Role, Schema
from workbench.summary import summarize

__all__ = ["profile_rows", "report_html", "write_report"]

TOP_RULES = 10

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#1f2328;padding:0 16px}
h1{font-size:26px;margin-bottom:4px} h2{font-size:19px;margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta,.note{color:#57606a;font-size:13px}
.verdict{font-size:16px;background:#f6f8fa;border-left:4px solid #264653;padding:10px 14px;margin:16px 0}
.tiles{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.tile{border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;min-width:120px;background:#fafbfc}
.tile .v{font-size:26px;font-weight:600} .tile .l{font-size:12px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
.good .v{color:#1f7a6f} .fair .v{color:#a67c00} .poor .v{color:#c0392b} .none .v{color:#6e7781}
table{border-collapse:collapse;font-size:13px;width:100%;margin:8px 0}
th,td{border-bottom:1px solid #eaecef;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.n{text-align:right;font-variant-numeric:tabular-nums}
.sev-critical{color:#c0392b;font-weight:600} .sev-error{color:#b35900} .sev-warning{color:#8a6d00}
ul.ex{margin:0;padding-left:16px} code{font-size:12px;background:#f6f8fa;padding:1px 4px;border-radius:3px}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:12px} .charts .wide{grid-column:1 / span 2}
</style></head>
<body>
<h1>{{ title }}</h1>
<p class="meta">Dataset <b>{{ r.label }}</b> from <code>{{ r.source }}</code> &middot; assessed {{ r.as_of[:19] }}
 &middot; run {{ run_id }} &middot; rules: {{ rules_text }}{% if r.default_region %} &middot; phones without
 +country code read as {{ r.default_region }}{% endif %}</p>
<div class="verdict">{% for line in verdict %}{{ line }}<br>{% endfor %}</div>
{% if provenance %}<h2>Provenance: where the data came from, and what that permits</h2>
<table class="provenance">{% for k, v in provenance.facts %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
<ul>{% for line in provenance.statement %}<li>{{ line }}</li>{% endfor %}</ul>
{% if provenance.limits %}<table><tr><th>purpose limited by provenance</th><th>why</th></tr>
{% for p, why in provenance.limits.items() %}<tr><td>{{ p.replace("_", " ") }}</td><td>{{ why }}</td></tr>{% endfor %}
</table>{% endif %}{% endif %}
<div class="tiles">
{% for t in tiles %}<div class="tile {{ t.band }}"><div class="v">{{ t.value }}</div><div class="l">{{ t.label }}</div></div>
{% endfor %}</div>
<div class="charts">{% for c in charts %}<div class="{{ 'wide' if loop.last else '' }}">{{ c }}</div>{% endfor %}</div>

<h2>Fitness for purpose</h2>
{% if fitness %}<table><tr><th>purpose</th><th>records fit</th><th></th><th>what a record needs</th></tr>
{% for f in fitness %}<tr><td>{{ f.purpose }}</td><td class="n">{{ f.pct }}</td><td class="n">{{ f.count }}</td><td>{{ f.needs }}</td></tr>
{% endfor %}</table>{% else %}<p class="note">No purpose could be evaluated with these rules.</p>{% endif %}
{% if unassessable %}<table class="na"><tr><th>not assessable</th><th>why</th></tr>
{% for p in unassessable %}<tr><td>{{ p.purpose }}</td><td>{{ p.why }}</td></tr>
{% endfor %}</table>{% endif %}

<h2>Top failing rules</h2>
{% if top %}<table><tr><th>rule</th><th>what it checks</th><th>severity</th><th>dimension</th><th>tested</th><th>failed</th><th>failed %</th><th>passed</th><th>examples (masked)</th></tr>
{% for c in top %}<tr><td><code>{{ c.name }}</code></td><td>{{ c.description }}</td><td class="sev-{{ c.severity }}">{{ c.severity }}</td>
<td>{{ c.dimension }}</td><td class="n">{{ "{:,}".format(c.tested) }}</td><td class="n">{{ "{:,}".format(c.failed) }}</td>
<td class="n">{{ "%.1f"|format(c.failed_pct) }}</td><td>{{ "yes" if c.passed else "no" }}</td>
<td><ul class="ex">{% for e in c.examples %}<li>{{ e.key }}: {{ "(missing)" if e.value is none else e.value }}</li>{% endfor %}</ul></td></tr>
{% endfor %}</table>{% else %}<p class="note">No rule found a failing row.</p>{% endif %}

<h2>All rules</h2>
<table><tr><th>rule</th><th>severity</th><th>dimension</th><th>tested</th><th>failed</th><th>pass rate</th><th>threshold</th><th>passed</th></tr>
{% for c in checks %}<tr><td><code>{{ c.name }}</code></td><td class="sev-{{ c.severity }}">{{ c.severity }}</td><td>{{ c.dimension }}</td>
<td class="n">{{ "{:,}".format(c.tested) }}</td><td class="n">{{ "{:,}".format(c.failed) }}</td><td class="n">{{ "%.2f"|format(100 * c.pass_rate) }}%</td>
<td class="n">{{ "" if c.mostly is none else "%.0f%%"|format(100 * c.mostly) }}</td><td>{{ "yes" if c.passed else "no" }}</td></tr>
{% endfor %}</table>

<h2>Profile summary</h2>
<p class="note">{{ "{:,}".format(profile_total) }} rows. Top values of personal-data columns are masked.</p>
<table><tr><th>column</th><th>role</th><th>kind</th><th>missing %</th><th>distinct</th><th>top values</th><th>patterns</th><th>min</th><th>max</th></tr>
{% for p in profile %}<tr><td>{{ p.column }}</td><td>{{ p.role }}</td><td>{{ p.kind }}</td><td class="n">{{ p.missing_pct }}</td>
<td class="n">{{ "{:,}".format(p.distinct) }}</td><td>{{ p.top_values }}</td><td><code>{{ p.patterns }}</code></td><td>{{ p.min }}</td><td>{{ p.max }}</td></tr>
{% endfor %}</table>

{% if warnings %}<h2>Warnings</h2><ul>{% for w in warnings %}<li>{{ w }}</li>{% endfor %}</ul>{% endif %}
<p class="note">Rows: {{ "{:,}".format(r.rows_read) }} read = {{ "{:,}".format(r.rows) }} kept + {{ "{:,}".format(r.rejected) }}
 rejected while loading. Scores are the share of tested rows that pass, per dimension (good &ge; 95, fair &ge; 80);
 health is their mean. Every failure is stored in the workspace at <code>{{ r.failures_path }}</code>.</p>
</body></html>
"""

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


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
    return _ENV.from_string(_TEMPLATE).render(
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


def _tiles(r: dict[str, Any]) -> list[dict[str, str]]:
    tiles = [{"label": "health", "value": f"{r['health']:.1f}", "band": band(r["health"])}]
    for d in DIMENSIONS:
        if d in r["scores"]:
            tiles.append({"label": d, "value": f"{r['scores'][d]:.1f}", "band": band(r["scores"][d])})
    tiles += [{"label": "records", "value": f"{r['rows']:,}", "band": ""},
              {"label": "rejected at load", "value": f"{r['rejected']:,}", "band": ""}]
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
