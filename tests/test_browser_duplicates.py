"""Real browser: Voilà serves the duplicates dashboard against the deduped sample workspace."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import SAMPLES, served_page
from test_browser import browser_type_launch_args, serve_dashboards  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def voila_deduped_url(deduped_workspace, tmp_path_factory):
    """Voilà (as ``make dashboards`` starts it) against a private copy of the deduped workspace."""
    folder = tmp_path_factory.mktemp("voila-deduped")
    shutil.copytree(deduped_workspace, folder / "workspace")
    yield from serve_dashboards(folder / "workspace", folder / "voila.log")


def _sample_pii() -> list[str]:
    customers = pd.read_csv(SAMPLES / "customers.csv", dtype=str, keep_default_na=False)
    values = customers["email"].tolist() + customers["phone"].tolist()
    return [v for v in values if len(v) >= 6]


def test_duplicates_dashboard_renders_masked(page, voila_deduped_url):
    page.goto(served_page(voila_deduped_url, "duplicates.ipynb"), timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    page.wait_for_load_state("load", timeout=120_000)
    assert page.locator(".js-plotly-plot").count() >= 5
    assert page.locator(".js-plotly-plot .main-svg").count() >= 5, "charts drawn, not just placeholders"
    content = page.content()
    body = page.inner_text("body")
    assert "Traceback" not in content and "Error" not in body
    assert "duplicates.show(" not in content and "wait_for_viewer" not in content, "sources must be stripped"
    assert "duplicate rate" in body.lower() and "Clusters needing review" in body
    assert "already ours" in body.lower()
    leaked = [v for v in _sample_pii() if v in content]
    assert not leaked, f"raw PII visible: {leaked[:3]}"
    assert "***" in page.locator(".wb-table").first.inner_text(), "review members are shown masked"

    shots = os.environ.get("WORKBENCH_SCREENSHOTS")
    if shots:
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.screenshot(path=str(Path(shots) / "dashboard-duplicates.png"), full_page=False)


def test_consent_dashboard_renders_masked(page, voila_deduped_url):
    page.goto(served_page(voila_deduped_url, "consent.ipynb"), timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    page.wait_for_load_state("load", timeout=120_000)
    assert page.locator(".js-plotly-plot .main-svg").count() >= 2, "charts drawn, not just placeholders"
    content = page.content()
    body = page.inner_text("body")
    assert "Traceback" not in content and "Error" not in body
    assert "consent.show(" not in content and "wait_for_viewer" not in content, "sources must be stripped"
    assert "Reachable customers per channel and purpose" in body and "How values were read" in body
    assert "Conflicts: members of one golden record say different things" in body
    assert "Left out: opt_in: channel unknown" in body  # the acquired list's opt-in names no channel
    customers = pd.read_csv(SAMPLES / "customers.csv", dtype=str, keep_default_na=False)
    dates = [d for d in customers["consent_date"] if d]
    leaked = [v for v in _sample_pii() + dates if v in content]
    assert not leaked, f"raw personal data visible: {leaked[:3]}"
    assert "-**-**" in body, "consent dates are shown masked"

    shots = os.environ.get("WORKBENCH_SCREENSHOTS")
    if shots:
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.screenshot(path=str(Path(shots) / "dashboard-consent.png"), full_page=False)
