"""Real browser: the labeling app page (notebooks/apps/labeling.ipynb) served as ``make label`` serves it.

It runs against a private workspace whose customers carry markup in their
names and cities (``make_hostile_workspace``): the page must show it as text.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conftest import HOSTILE_NAME, served_page
from test_browser import browser_type_launch_args  # noqa: F401
from workbench import Workspace
from workbench.matching.labels import LabelStore

pytestmark = pytest.mark.browser


def _titles(page) -> tuple[str, str]:
    table = page.locator(".wb-labeling .wb-record-table thead")
    return (table.locator("th.wb-left").inner_text().strip(), table.locator("th.wb-right").inner_text().strip())


def _wait_for_new_pair(page, before: tuple[str, str], timeout: float = 30.0) -> float:
    """Seconds until the pair shown differs from ``before``."""
    started = time.perf_counter()
    page.wait_for_function(
        """([l, r]) => {
            const head = document.querySelector('.wb-labeling .wb-record-table thead');
            if (!head) return false;
            const a = head.querySelector('th.wb-left').innerText.trim();
            const b = head.querySelector('th.wb-right').innerText.trim();
            return a !== l || b !== r;
        }""",
        arg=list(before), timeout=timeout * 1000, polling="raf",
    )
    return time.perf_counter() - started


def test_labeling_page_labels_by_click_and_key_and_shows_markup_as_text(page, labeling_voila):
    url, workspace = labeling_voila
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(served_page(url, "labeling.ipynb"), timeout=120_000)
    page.wait_for_selector(".wb-labeling .wb-record-table", timeout=120_000)
    page.wait_for_selector(".wb-labeling .wb-keys-active", timeout=30_000)  # the key listener rendered and owns keys
    body = page.inner_text("body")
    assert "Traceback" not in body and "Error" not in body
    assert "LabelingApp(" not in page.content(), "sources must be stripped"

    # markup in values is text: no injected element, no script ran
    app = page.locator(".wb-labeling")
    assert app.locator("img, script").count() == 0
    assert HOSTILE_NAME in app.locator(".wb-record-table").inner_text()  # the city (not personal data)
    assert "browser-analyst" in app.locator(".wb-title").inner_text()

    # a click on Match stores a label and brings the next pair
    first = _titles(page)
    page.get_by_role("button", name="Match").click()
    click_seconds = _wait_for_new_pair(page, first)
    second = _titles(page)

    # the "n" key does the same for Distinct
    page.keyboard.press("n")
    key_seconds = _wait_for_new_pair(page, second)
    third = _titles(page)
    assert len({first, second, third}) == 3

    # unmasked, the hostile first names are text too
    page.locator(".wb-mask-toggle input").click()
    page.wait_for_function("() => document.querySelector('.wb-labeling .wb-record-table')"
                           ".innerText.includes('onerror=alert(1)>')", timeout=30_000)
    assert app.locator("img, script").count() == 0
    assert dialogs == []

    # the labels are in the workspace, under the analyst's name
    deadline = time.monotonic() + 30
    while True:
        ws = Workspace(workspace)
        frame = LabelStore(ws, "dedupe:customers").frame()
        ws.close()
        if len(frame) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    rows = list(frame[["left_key", "right_key", "label", "analyst"]].itertuples(index=False, name=None))
    assert rows == [(*first, "match", "browser-analyst"), (*second, "distinct", "browser-analyst")]

    print(f"\nclick -> next pair: {click_seconds * 1000:.0f} ms; key -> next pair: {key_seconds * 1000:.0f} ms")
    shots = os.environ.get("WORKBENCH_SCREENSHOTS")
    if shots:
        page.set_viewport_size({"width": 1280, "height": 1100})
        page.screenshot(path=str(Path(shots) / "labeling.png"), full_page=True)


def test_labeling_page_finish_clusters_in_the_background(page, labeling_voila):
    """Finish (key f) clusters in a thread: progress shows, the page keeps answering, the result appears."""
    url, workspace = labeling_voila
    page.goto(served_page(url, "labeling.ipynb"), timeout=120_000)
    page.wait_for_selector(".wb-labeling .wb-keys-active", timeout=120_000)
    for key in "yyynnn":  # enough of each kind to train (resumes after the labels of the test above)
        before = _titles(page)
        page.keyboard.press(key)
        _wait_for_new_pair(page, before)
    page.wait_for_function("() => document.querySelector('.wb-labeling .wb-progress').innerText"
                           ".includes('enough to train')", timeout=30_000)
    page.keyboard.press("f")
    page.wait_for_selector(".wb-labeling .wb-finish-bar", state="visible", timeout=30_000)
    # the kernel is not blocked: the mask toggle still re-renders the pair while clustering runs
    page.locator(".wb-mask-toggle input").click()
    page.wait_for_function("() => document.querySelector('.wb-labeling .wb-record-table')"
                           ".innerText.includes('onerror=alert(1)>')", timeout=30_000)
    page.wait_for_selector(".wb-labeling .wb-done", timeout=180_000)
    assert "Clustered 400 records" in page.locator(".wb-finish").inner_text()
    assert page.locator(".wb-labeling .wb-error").inner_text().strip() == ""
    ws = Workspace(workspace)
    runs = ws.runs("dedupe")
    ws.close()
    assert (runs["status"] == "done").sum() == 1
