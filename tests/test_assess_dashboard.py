"""Quality dashboard without a browser: stored runs only, escaping, masking, drill-down widget."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from workbench import Workspace
from workbench.assess import assess, history
from workbench.assess import plots as aplots
from workbench.checks import matches, valid_email
from workbench.dashboards import quality


def _hostile_ws(tmp_path) -> Workspace:
    ws = Workspace(tmp_path / "ws", user="tester")
    src = tmp_path / "h.csv"
    src.write_text('customer_id,email,note\nC1,john.smith@gmail.com,"<script>alert(1)</script>"\n'
                   "C2,not-an-email,ok\n")
    assess(ws, ws.load(src, key="customer_id", name="h"), [matches("note", "^[a-z]+$"), valid_email("email")])
    return ws


def test_empty_workspace_shows_a_clear_note(tmp_path):
    parts = quality.build(Workspace(tmp_path / "empty"))
    text = "".join(p for p in parts if isinstance(p, str))
    assert "No assessment is stored" in text and "workbench assess" in text


def test_page_reads_stored_runs_only(prepared_workspace, monkeypatch):
    ws = Workspace(prepared_workspace)

    def no_recompute(*args, **kwargs):
        raise AssertionError("the dashboard must not recompute or read datasets")

    monkeypatch.setattr("workbench.workspace.Dataset.frame", property(no_recompute))
    monkeypatch.setattr("workbench.checks.run_checks", no_recompute)
    parts = quality.build(ws)
    figures = [p for p in parts if isinstance(p, go.Figure)]
    drills = [p for p in parts if isinstance(p, quality.DrillDown)]
    assert len(figures) >= 8 and {d.dataset for d in drills} == {"customers", "acquired"}


def test_values_escaped_and_pii_masked(tmp_path):
    ws = _hostile_ws(tmp_path)
    parts = quality.build(ws)
    drill = next(p for p in parts if isinstance(p, quality.DrillDown))
    page = "".join(p for p in parts if isinstance(p, str)) + "".join(drill.examples.values())
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "not-an-email" not in page and "n***" in page
    unmasked = next(p for p in quality.build(ws, masked=False) if isinstance(p, quality.DrillDown))
    assert "not-an-email" in unmasked.render("valid_email:email")


def test_drilldown_html_holds_every_failing_rule_escaped(tmp_path):
    ws = _hostile_ws(tmp_path)
    drill = next(p for p in quality.build(ws) if isinstance(p, quality.DrillDown))
    page = drill.to_html()
    assert page.count('class="wb-examples"') == len(drill.options) >= 2
    assert "data-rule=\"valid_email:email\"" in page and "n***" in page
    assert "&lt;script&gt;" in page and "<script>" not in page


def test_plot_builders_take_stored_pieces(tmp_path):
    ws = _hostile_ws(tmp_path)
    r = ws.latest_result("assess")
    assert aplots.scorecard_bars(r["scores"], r["health"]).data[0].x[0] == r["health"]
    assert aplots.fitness_bars({"mail": 50.0}).data[0].x == (50.0,)
    fig = aplots.failures_by_rule(r["checks"])
    assert set(fig.data[0].y) | set(fig.data[-1].y) <= {"matches:note", "valid_email:email"}
    assert aplots.score_history(history(ws, "h")).data[0].name == "health"
    assert len(aplots.score_history(pd.DataFrame()).data) == 0
    assert aplots.health_gauge(42.0).data[0].value == 42.0
    label = aplots.scorecard_bars({"<b>x</b>": 50.0}).data[0].y[0]
    assert "<" not in label


def test_dashboard_module_does_not_import_the_rule_engine():
    import subprocess
    import sys

    code = "import sys, workbench.dashboards.quality; print('pandera' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
