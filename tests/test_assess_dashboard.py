"""Quality dashboard without a browser: stored runs only, escaping, masking, drill-down widget."""

from __future__ import annotations

import json

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
    # "note" is declared safe (shown unmasked), so its markup reaches the page and must be escaped
    ds = ws.load(src, key="customer_id", name="h", schema={"note": {"role": "other", "safe": True}})
    assess(ws, ds, [matches("note", "^[a-z]+$"), valid_email("email")])
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
    assert "not-an-email" in unmasked.render("valid_email:email")  # the first user, an admin, may reveal
    assert ws.audit_log()["action"].tolist()[-1] == "reveal"


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


# -- how dashboards reach the page (render) and how Voilà is started (serve) ------------------
def test_dashboard_parts_become_inline_outputs_with_a_plotly_fallback(tmp_path):
    from workbench.dashboards import render

    parts = quality.build(_hostile_ws(tmp_path))
    bundles = render.bundles(parts)
    charts = [b for b in bundles if render.PLOTLY_MIME in b]
    assert len(charts) == sum(isinstance(p, go.Figure) for p in parts) >= 3
    assert all("wbPlot(" in b["text/html"] and "Plotly.newPlot" not in b["text/html"] for b in charts)
    assert all(b[render.PLOTLY_MIME]["config"]["displaylogo"] is False for b in charts)
    html_only = [b for b in bundles if render.PLOTLY_MIME not in b]
    assert html_only and all(set(b) == {"text/html"} for b in html_only)
    page = "".join(b["text/html"] for b in bundles)
    assert "<script>alert(1)</script>" not in page and "wb-drilldown" in page


def test_charts_the_template_bundle_cannot_draw_go_through_voila(tmp_path):
    from workbench.dashboards import render

    (gauge,) = render.bundles([aplots.health_gauge(50.0)])  # an indicator trace: not in plotly.js basic
    assert set(gauge) == {render.PLOTLY_MIME}
    assert render.inline_ok(aplots.scorecard_bars({"validity": 90.0}, 90.0))


def test_wait_for_viewer_returns_at_once_outside_a_preheated_kernel(monkeypatch):
    from workbench.dashboards import render

    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    render.wait_for_viewer()
    monkeypatch.setenv("VOILA_PREHEAT", "False")
    render.wait_for_viewer()


def test_serve_puts_the_template_first_and_reads_the_folder_config(tmp_path):
    from conftest import NOTEBOOKS
    from workbench.dashboards import serve

    folder = NOTEBOOKS / "dashboards"
    env = serve.voila_environment(folder, {"JUPYTER_PATH": "/elsewhere"})
    assert env["JUPYTER_PATH"].split(":") == [str(folder.resolve() / ".jupyter"), "/elsewhere"]
    cmd = serve.command(folder, port=1234, extra=["--debug"])
    assert "--template=workbench" in cmd and "--port=1234" in cmd and cmd[-1] == "--debug"
    assert cmd.index(f"--Voila.config_file_paths={folder.resolve()}") < cmd.index("--debug")
    template = serve.data_dir(folder) / "voila" / "templates" / "workbench"
    assert (template / "index.html.j2").exists() and (template / "conf.json").exists()
    config = json.loads((folder / "voila.json").read_text())
    pools = config["VoilaKernelManager"]["kernel_pools_config"]
    assert pools["default"]["pool_size"] == 0 and pools["quality.ipynb"]["pool_size"] == 1


def test_the_template_plotly_bundle_matches_the_installed_plotly():
    import warnings

    from conftest import NOTEBOOKS
    from workbench.dashboards import serve

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        serve.check_plotly_bundle(NOTEBOOKS / "dashboards")
