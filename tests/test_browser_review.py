"""Real browser: Voilà serves the cluster review notebook; a split made on the page survives a reload."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import NOTEBOOKS, voila_server
from test_browser import browser_type_launch_args  # noqa: F401
from workbench import Workspace
from workbench.review import ReviewDecisions, current_clusters

pytestmark = pytest.mark.browser

PAGE = "/voila/render/03_review_clusters.ipynb"


@pytest.fixture(scope="module")
def review_workspace(deduped_workspace, tmp_path_factory) -> Path:
    """A copy of the deduped workspace the page may change (decisions are written to it)."""
    from workbench import access

    dest = tmp_path_factory.mktemp("review-browser") / "workspace"
    shutil.copytree(deduped_workspace, dest)
    access.grant(Workspace(dest), "browser-analyst", "analyst")  # review decisions need an analyst
    return dest


@pytest.fixture(scope="module")
def review_url(review_workspace, tmp_path_factory):
    """Voilà on 127.0.0.1 serving notebooks/ against the copy, as analyst "browser-analyst"."""
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(review_workspace), "WORKBENCH_USER": "browser-analyst"}
    with voila_server(NOTEBOOKS, env, tmp_path_factory.mktemp("voila-review") / "voila.log") as url:
        yield url


def _shown(page) -> list[str]:
    """The keys of the cluster the page shows, once the app has rendered."""
    page.wait_for_selector(".wb-review-members .wb-member-grid", timeout=180_000)
    return [h.get_attribute("data-key") for h in page.locator(".wb-review-members th.wb-member").all()]


def _assert_clean(page, workspace: Path, keys: list[str]) -> None:
    content = page.content()
    assert "Traceback" not in content and "Error" not in page.inner_text("body")
    assert "ReviewApp(ws" not in content, "sources must be stripped"
    frame = Workspace(workspace).dataset("customers").frame
    shown = frame[frame["customer_id"].isin(keys)]
    raw = [v for v in shown["email"].dropna().tolist() + shown["phone"].dropna().tolist() if len(v) >= 6]
    assert not [v for v in raw if v in content], "raw PII visible"


def test_split_on_the_page_survives_a_reload(page, review_url, review_workspace):
    page.goto(review_url + PAGE, timeout=180_000)
    keys = _shown(page)
    assert len(keys) >= 2
    _assert_clean(page, review_workspace, keys)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)

    victim = keys[-1]
    page.locator(".wb-review-record select").select_option(victim)
    page.get_by_role("button", name="Split selected record").click()
    page.locator(".wb-review-message").get_by_text(f"Split {victim}").wait_for(timeout=60_000)
    assert victim not in [h.get_attribute("data-key") for h in page.locator(".wb-review-members th.wb-member").all()]

    # stored at once, by the analyst of the page
    ws = Workspace(review_workspace)
    last = ReviewDecisions(ws, "dedupe:customers").active()[-1]
    assert (last.action, last.keys[0], last.analyst) == ("split", victim, "browser-analyst")

    page.reload(timeout=180_000)
    after = _shown(page)
    assert victim not in after
    _assert_clean(page, review_workspace, after)
    assert current_clusters(ws, "customers").set_index("key").loc[victim, "cluster_size"] == 1

    shots = os.environ.get("WORKBENCH_SCREENSHOTS")
    if shots:
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.locator(".wb-review").screenshot(path=str(Path(shots) / "review-app.png"))
