"""Real-browser tests: Voilà serves notebooks/dashboards/, headless Chromium loads them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from conftest import CHROMIUM, NOTEBOOKS, SAMPLES, require_chromium

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_dashboards(workspace: Path, log: Path):
    """Voilà on 127.0.0.1 serving the dashboards folder against ``workspace``; yields its URL.

    Started the way ``make dashboards`` starts it (``workbench.dashboards.serve``:
    preheated kernels, the workbench template), so the tests see what users see.
    """
    port = _free_port()
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(workspace)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.dashboards.serve", str(NOTEBOOKS / "dashboards"), f"--port={port}",
             "--ip=127.0.0.1"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited: {log.read_text()}") from None
            time.sleep(0.5)
    else:
        proc.terminate()
        raise RuntimeError(f"voila did not answer on {url}: {log.read_text()}")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def voila_url(prepared_workspace, tmp_path_factory):
    """Voilà serving the dashboards folder against the prepared sample workspace."""
    yield from serve_dashboards(prepared_workspace, tmp_path_factory.mktemp("voila") / "voila.log")


def _sample_pii() -> list[str]:
    customers = pd.read_csv(SAMPLES / "customers.csv", dtype=str, keep_default_na=False)
    values = customers["email"].head(50).tolist() + customers["phone"].head(50).tolist()
    return [v for v in values if len(v) >= 6]


def test_overview_dashboard_renders_masked(page, voila_url):
    page.goto(f"{voila_url}/voila/render/overview.ipynb", timeout=120_000)
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
