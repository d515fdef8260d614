"""How dashboard parts reach the page, fast in Voilà and still right in JupyterLab.

Each part is displayed as one output marked inline (``INLINE`` metadata). The
workbench Voilà template (``notebooks/dashboards/.jupyter``) writes those
outputs straight into the page, and a chart's HTML is a plotly div plus a
``wbPlot`` call (``Plotly.newPlot``'s arguments) that the template answers
with plotly.js's basic bundle (bar, scatter and pie traces), loaded once on
the first chart: the chart draws as soon as the browser has parsed it and run
that bundle. A chart with any other trace type is left to Voilà's own
renderer (full plotly.js, slower). Without that template Voilà waits for all
of its JavaScript and the kernel connection before rendering any output, and
evaluating the full plotly.js took seconds in Chromium here: that is where
most of a page's time went (see ``benchmarks/bench_dashboard.py``). A chart's output also carries plotly's own
mimetype, which JupyterLab and a plain Voilà prefer, so the same notebook works
everywhere.

IPython is imported lazily: ``import workbench`` stays free of it.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from workbench.templating import compile_all, stylesheet

#: Output metadata the workbench template looks for.
INLINE = {"workbench": {"inline": True}}
#: plotly config of every dashboard chart.
CONFIG = {"displaylogo": False, "responsive": True}
PLOTLY_MIME = "application/vnd.plotly.v1+json"
#: Trace types in plotly.js's basic bundle, the one the workbench template loads.
INLINE_TRACES = frozenset({"bar", "scatter", "pie"})


def inline_ok(fig: go.Figure) -> bool:
    """Whether the template's plotly.js bundle can draw every trace of ``fig``."""
    return all(trace.type in INLINE_TRACES for trace in fig.data)


def figure_bundle(fig: go.Figure) -> dict[str, Any]:
    """A chart as a mimebundle: inline HTML for the workbench template, plotly JSON for everyone else."""
    spec = json.loads(pio.to_json(fig, validate=False))
    bundle: dict[str, Any] = {PLOTLY_MIME: {**spec, "config": CONFIG}}
    if inline_ok(fig):
        html = pio.to_html(fig, full_html=False, include_plotlyjs=False, config=CONFIG, validate=False)
        if html.count("Plotly.newPlot(") != 1:  # pragma: no cover - a plotly release changed to_html
            return bundle
        bundle["text/html"] = html.replace("Plotly.newPlot(", "wbPlot(")  # the template's lazy loader
    return bundle


def bundles(parts: Iterable[Any]) -> list[dict[str, Any]]:
    """Mimebundles for page parts: HTML strings (consecutive ones joined), figures, objects with ``to_html()``."""
    out: list[dict[str, Any]] = []
    pending: list[str] = []
    for part in parts:
        if isinstance(part, go.Figure):
            if pending:
                out.append({"text/html": "".join(pending)})
                pending = []
            out.append(figure_bundle(part))
        elif isinstance(part, str):
            pending.append(part)
        elif hasattr(part, "to_html"):
            pending.append(part.to_html())
        else:
            raise TypeError(f"cannot display a {type(part).__name__} on a dashboard")
    if pending:
        out.append({"text/html": "".join(pending)})
    return out


def show(parts: Iterable[Any]) -> None:
    """Display page parts in a notebook or Voilà (one inline output per chart or run of HTML).

    The workbench stylesheet goes first, once, joined to the page's first run of HTML.
    """
    from IPython.display import display

    for bundle in bundles([stylesheet(), *parts]):
        display(bundle, raw=True, metadata=INLINE if "text/html" in bundle else {})


def wait_for_viewer() -> None:
    """In a preheated Voilà kernel, wait here until someone opens the page; elsewhere return at once.

    A dashboard notebook imports the heavy libraries and warms them up first,
    then calls this, then reads the workspace: the import seconds are spent
    before the request, and the data is read when the page is asked for, so a
    preheated page never shows results older than the request.
    """
    if os.environ.get("VOILA_PREHEAT") != "True":
        return
    warm_up()
    from voila.utils import wait_for_request

    wait_for_request(_query_url())


def _query_url() -> str | None:
    """Where this kernel asks for its request, with the server's token (the server refuses it without).

    Voilà's ``wait_for_request(url)`` connects to ``url + "/" + kernel id``;
    the kernel id goes in the path here, so that suffix lands in a query
    argument the server ignores.
    """
    token, kernel = os.environ.get("JUPYTER_TOKEN"), os.environ.get("VOILA_KERNEL_ID")
    if not token or not kernel:
        return None  # Voilà's own default address
    protocol = os.environ.get("VOILA_WS_PROTOCOL", "ws")
    ip = os.environ.get("VOILA_APP_IP", "127.0.0.1")
    port = os.environ.get("VOILA_APP_PORT", "8866")
    base = os.environ.get("VOILA_WS_BASE_URL", os.environ.get("VOILA_SERVER_URL", "/"))
    query = urllib.parse.urlencode({"token": token, "then": ""})
    return f"{protocol}://{ip}:{port}{base}voila/query/{kernel}?{query}"


def warm_up() -> None:
    """Pay plotly's, pandas' and the templates' first-use costs (validators, HTML formatting, compiling)
    before a viewer waits for them."""
    import pandas as pd

    fig = go.Figure([go.Bar(x=[1], y=["a"], orientation="h", marker_color=["#000"], text=["1"]),
                     go.Scatter(x=[1], y=[1], mode="lines+markers", line=dict(color="#000")),
                     go.Pie(labels=["a"], values=[1])],
                    layout=dict(title=dict(text="warm"), height=100, template="none"))
    figure_bundle(fig)
    pd.DataFrame({"a": ["x"], "b": [1]}).to_html(index=False, escape=True)
    compile_all()
