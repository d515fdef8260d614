"""Real browser: Voilà serves the quality dashboard against the prepared sample workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from conftest import SAMPLES, served_page
from test_browser import browser_type_launch_args, voila_url  # noqa: F401

pytestmark = pytest.mark.browser


def _sample_pii() -> list[str]:
    customers = pd.read_csv(SAMPLES / "customers.csv", dtype=str, keep_default_na=False)
    values = customers["email"].head(50).tolist() + customers["phone"].head(50).tolist()
    return [v for v in values if len(v) >= 6]


def test_quality_dashboard_renders_masked(page, voila_url):  # noqa: F811
    page.goto(served_page(voila_url, "quality.ipynb"), timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    page.wait_for_selector(".wb-drilldown", timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 2
    content = page.content()
    assert "Traceback" not in content and "Error" not in page.inner_text("body")
    assert "quality.show(" not in content, "sources must be stripped"
    assert "wb-tile" in content and "customers v1" in content and "acquired v1" in content
    leaked = [v for v in _sample_pii() if v in content]
    assert not leaked, f"raw PII visible: {leaked[:3]}"

    # drill-down: opening a rule shows its (masked) example records
    rule = page.locator("details.wb-examples[data-rule='valid_email:email']").first
    rule.locator("summary").click()
    rule.get_by_text("valid_email:email").first.wait_for(timeout=30_000)
    assert "***" in rule.inner_text()
    leaked = [v for v in _sample_pii() if v in page.content()]
    assert not leaked, f"raw PII visible after drill-down: {leaked[:3]}"

    shots = os.environ.get("WORKBENCH_SCREENSHOTS")
    if shots:
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.screenshot(path=str(Path(shots) / "dashboard-quality.png"), full_page=False)
