"""Real-browser tests: Voilà serves notebooks/dashboards/, headless Chromium loads them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import CHROMIUM, NOTEBOOKS, SAMPLES, require_chromium, served_page, voila_server

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    require_chromium()
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


def serve_dashboards(workspace: Path, log: Path):
    """Voilà serving the dashboards folder against ``workspace`` as ``make dashboards`` does; yields its URL."""
    with voila_server(NOTEBOOKS / "dashboards", {**os.environ, "WORKBENCH_WORKSPACE": str(workspace)}, log,
                      served=True) as url:
        yield url


@pytest.fixture(scope="session")
def voila_url(prepared_workspace, tmp_path_factory):
    """Voilà serving the dashboards folder against the prepared sample workspace."""
    yield from serve_dashboards(prepared_workspace, tmp_path_factory.mktemp("voila") / "voila.log")


def _sample_pii() -> list[str]:
    customers = pd.read_csv(SAMPLES / "customers.csv", dtype=str, keep_default_na=False)
    values = customers["email"].head(50).tolist() + customers["phone"].head(50).tolist()
    return [v for v in values if len(v) >= 6]


def test_overview_dashboard_renders_masked(page, voila_url):
    page.goto(served_page(voila_url, "overview.ipynb"), timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    assert page.locator(".js-plotly-plot").count() >= 2
    content = page.content()
    assert "Traceback" not in content and "Error" not in page.inner_text("body")
    assert "overview.show(" not in content, "sources must be stripped"
    assert "wb-tile" in content
    leaked = [v for v in _sample_pii() if v in content]
    assert not leaked, f"raw PII visible: {leaked[:3]}"
    assert re.search(r"\w\*\*\*@", content), "masked emails expected in the sample rows"
    shots = os.environ.get("WORKBENCH_SCREENSHOTS")
    if shots:
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.screenshot(path=str(Path(shots) / "dashboard-overview.png"), full_page=False)
