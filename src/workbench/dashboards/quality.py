"""Quality dashboard: the stored assessments of each dataset, read-only.

Reads finished ``assess`` runs only (small JSON in the store): a page load
never runs a check or reads a dataset, so it is as fast for a million rows
as for ten. Example failures are stored masked; ``masked=False`` reads the
raw values from the run's failures Parquet instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench.assess import plots
from workbench.assess.runs import history_frame, stored_runs
from workbench.assess.scorecard import DIMENSIONS, band
from workbench.dashboards import html, render, reveal_allowed
from workbench.templating import Markup, fragment
from workbench.workspace import Workspace

EXAMPLES = 5

@dataclass
class DrillDown:
    """The failing rules, each opening onto its example failures (masked by default).

    Rendered as HTML ``<details>`` elements rather than widgets: a read-only
    page needs no kernel round trip to drill down, and under load Voilà
    sometimes showed "Error displaying widget: model not found" instead.
    """

    dataset: str
    options: list[tuple[str, str]]  # (label, rule name)
    examples: dict[str, str]        # rule name -> escaped HTML table

    def render(self, rule: str | None) -> str:
        if rule is None or rule not in self.examples:
            return html.note("Choose a rule to see example failing records.")
        return self.examples[rule]

    def to_html(self) -> str:
        if not self.options:
            return html.note("No rule failed.")
        return fragment("parts.html", "drilldown",
                        options=[(label, rule, Markup(self.render(rule))) for label, rule in self.options])


def build(ws: Workspace, *, masked: bool = True) -> list[Any]:
    """The page as displayable parts: HTML strings, plotly figures and ``DrillDown``s."""
    reveal_allowed(ws, "quality", masked)
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for run in stored_runs(ws):  # one read of the store; oldest first
        by_dataset.setdefault(run["dataset"], []).append(run)
    if not by_dataset:
        return [html.tiles([("assessments", "0")]),
                html.note(f"No assessment is stored in {ws.path} yet. Run `workbench assess FILE` "
                          "(or `workbench prepare` for the samples), or assess a dataset in a notebook.")]
    parts: list[Any] = []
    for runs in sorted(by_dataset.values(), key=lambda rs: -rs[-1]["run_id"]):  # latest assessed first
        parts += _dataset_section(ws, runs[-1], history_frame(runs), masked=masked)
    return parts


def _dataset_section(ws: Workspace, r: dict[str, Any], trend: pd.DataFrame, *, masked: bool) -> list[Any]:
    failing_rules = sum(1 for c in r["checks"] if not c["passed"])
    parts: list[Any] = [
        html.heading(f"{r['label']}: {r['rows']:,} records, assessed {str(r['finished_at'])[:16]}", level=2),
        _tiles([("health", r["health"])] + [(d, r["scores"][d]) for d in DIMENSIONS if d in r["scores"]]),
        html.tiles([("rows rejected at load", f"{r['rejected']:,}"),
                    ("rows failing error/critical rules", f"{r['failing_rows']:,}"),
                    ("rules not passed", f"{failing_rules} of {len(r['checks'])}"),
                    ("critical rule failed", "yes" if r["critical_failed"] else "no")]),
    ]
    if r["rows"] == 0:
        parts.append(html.note("This dataset version has no records: nothing could be tested."))
    parts.append(plots.scorecard_bars(r["scores"], r["health"]))
    if r["fitness"]:
        parts.append(plots.fitness_bars(r["fitness"]))
    else:
        parts.append(html.note("No purpose could be evaluated with these rules."))
    parts.append(plots.failures_by_rule(r["checks"]))
    parts.append(html.heading("Rules", level=3))
    parts.append(html.table(_rules_table(r), max_rows=200))
    drill = _drilldown(ws, r, masked=masked)
    if drill.options:
        parts.append(html.heading("Example failing records" + (" (personal data masked)" if masked else ""),
                                  level=3))
        parts.append(drill)
    parts.append(plots.score_history(trend))
    if len(trend) < 2:
        parts.append(html.note("One assessment so far: the trend fills in as the dataset is assessed again."))
    return parts


def _tiles(items: list[tuple[str, float]]) -> str:
    """Score tiles coloured good / fair / poor."""
    return html.tiles([(label, f"{v:.1f}") for label, v in items], [f"wb-{band(v)}" for _, v in items])


def _rules_table(r: dict[str, Any]) -> pd.DataFrame:
    rows = [{"rule": c["name"], "what it checks": c.get("description", ""), "dimension": c["dimension"],
             "severity": c["severity"], "tested": f"{c['tested']:,}", "failed": f"{c['failed']:,}",
             "failed %": f"{c.get('failed_pct', 0.0):.1f}", "passed": "yes" if c["passed"] else "no",
             "_order": c["failed"]}
            for c in r["checks"]]
    df = pd.DataFrame(rows)
    return df.sort_values("_order", ascending=False, kind="stable").drop(columns="_order") if len(df) else df


def _drilldown(ws: Workspace, r: dict[str, Any], *, masked: bool) -> DrillDown:
    failing = sorted((c for c in r["checks"] if c["failed"]), key=lambda c: -c["failed"])
    raw = None if masked else _raw_examples(ws, r)
    options, examples = [], {}
    for c in failing:
        options.append((f"{c['name']} ({c['failed']:,} failed)", c["name"]))
        if raw is not None:
            rows = raw[raw["rule"] == c["name"]][["key", "value"]]
        else:
            rows = pd.DataFrame(c.get("examples", []), columns=["key", "value"])
        rows = rows.assign(value=rows["value"].astype(object).where(rows["value"].notna(), "(missing)"))
        key_name = r.get("key") or "row"
        value_name = c["column"] if c["column"] and c["column"] != key_name else "value"
        rows = rows.rename(columns={"key": key_name, "value": value_name})
        examples[c["name"]] = (html.note(f"{c['name']}: {c.get('description', '')}. "
                                         f"First {len(rows)} of {c['failed']:,} failing records.")
                               + html.table(rows))
    return DrillDown(r["dataset"], options, examples)


def _raw_examples(ws: Workspace, r: dict[str, Any]) -> pd.DataFrame:
    f = pd.read_parquet(ws.path / r["failures_path"], columns=["rule", "key", "value"])
    return f.groupby("rule", sort=False).head(EXAMPLES)


def show(ws: Workspace, *, masked: bool = True) -> None:
    """Display the page in a notebook or Voilà."""
    render.show(build(ws, masked=masked))
