"""The dashboards server as an outsider on the same host meets it: token, Host, Origin, pages, masking.

Real requests to a real server started as ``make dashboards`` starts it, and
headless Chromium for what a viewer sees. Chromium missing fails in CI
(``require_chromium``), it never skips silently there.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from conftest import (
    DASHBOARD_TOKEN,
    NOTEBOOKS,
    SAMPLES,
    make_hostile_workspace,
    served_page,
    voila_server,
)
from test_browser import browser_type_launch_args  # noqa: F401
from workbench import Workspace

pytestmark = pytest.mark.browser

ROWS = 120


def _people() -> pd.DataFrame:
    """Sample customers with a birth date named ``born_on`` and free-text ``notes`` holding phones and emails."""
    frame = pd.read_csv(SAMPLES / "customers.csv", dtype=str).head(ROWS)
    frame["born_on"] = [f"19{60 + i % 40:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(ROWS)]
    frame["notes"] = [f"Called {2125550100 + i} and wrote to note{i}.person@example.org about the renewal"
                      for i in range(ROWS)]
    return frame


def _raw_values(frame: pd.DataFrame) -> list[str]:
    values = (frame["email"].dropna().tolist() + frame["phone"].dropna().tolist()
              + frame["date_of_birth"].dropna().tolist() + frame["born_on"].tolist()
              + [f"{2125550100 + i}" for i in range(ROWS)] + [f"note{i}.person@example.org" for i in range(ROWS)])
    return [v for v in values if len(v) >= 6]


@pytest.fixture(scope="module")
def people_workspace(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("secure-dash")
    csv = base / "people.csv"
    _people().to_csv(csv, index=False)
    ws = Workspace(base / "workspace", user="owner")
    ws.summarize(ws.load(csv, key="customer_id", name="people"))
    ws.close()
    return base / "workspace"


@pytest.fixture(scope="module")
def dashboards(people_workspace, tmp_path_factory):
    """The dashboards folder served as ``make dashboards`` serves it."""
    log = tmp_path_factory.mktemp("secure-voila") / "voila.log"
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(people_workspace)}
    with voila_server(NOTEBOOKS / "dashboards", env, log, served=True) as url:
        yield url


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_request_without_the_token_gets_403(dashboards):
    page = f"{dashboards}/voila/render/overview.ipynb"
    assert _status(f"{dashboards}/") == 403  # not a login form: 403
    assert _status(page) == 403
    assert _status(f"{page}?token=wrong-{DASHBOARD_TOKEN}") == 403
    assert _status(f"{dashboards}/voila/api/contents/") == 403
    assert _status(f"{dashboards}/?token={DASHBOARD_TOKEN}") == 200


def test_a_foreign_host_or_origin_is_refused(dashboards):
    port = dashboards.rsplit(":", 1)[1]
    tree = f"{dashboards}/?token={DASHBOARD_TOKEN}"
    assert _status(tree, {"Host": "evil.example"}) == 403  # DNS rebinding
    assert _status(tree, {"Host": f"evil.example:{port}"}) == 403
    assert _status(tree, {"Host": f"localhost:{port}"}) == 200
    # a page of another site riding on the login cookie (the token itself is not sent)
    import http.cookiejar

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    assert opener.open(tree, timeout=60).status == 200  # the token sets the login cookie

    def with_cookie(url: str, origin: str) -> int:
        try:
            return opener.open(urllib.request.Request(url, headers={"Origin": origin}), timeout=60).status
        except urllib.error.HTTPError as exc:
            return exc.code

    for url in (f"{dashboards}/voila/api/contents/", f"{dashboards}/voila/tree"):
        assert with_cookie(url, dashboards) == 200, url
        assert with_cookie(url, "http://evil.example") in (403, 404), url


def test_a_kernel_s_request_socket_needs_the_token(dashboards, page):
    import uuid

    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    ws_base = dashboards.replace("http://", "ws://")
    for url in (f"{ws_base}/voila/query/{uuid.uuid4()}", f"{ws_base}/voila/query/{uuid.uuid4()}?token=wrong"):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=30).close()
        assert refused.value.response.status_code == 403, url
    connect(f"{ws_base}/voila/query/{uuid.uuid4()}?token={DASHBOARD_TOKEN}", open_timeout=30).close()
    # the preheated kernels present the token themselves: a page still renders
    page.goto(served_page(dashboards, "overview.ipynb"), timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)  # drawn after the kernel got its request
    assert "Traceback" not in page.content()


def test_the_labeling_app_is_not_reachable_from_the_dashboards_server(dashboards, page):
    assert not (NOTEBOOKS / "dashboards" / "labeling.ipynb").exists()
    for path in ("labeling.ipynb", "../apps/labeling.ipynb", "%2e%2e/apps/labeling.ipynb"):
        assert _status(served_page(dashboards, path)) in (403, 404), path
    response = page.goto(served_page(dashboards, "labeling.ipynb"), timeout=60_000)
    assert response.status == 404
    page.goto(f"{dashboards}/?token={DASHBOARD_TOKEN}", timeout=60_000)
    assert "labeling" not in page.content()


def test_the_browser_without_the_token_gets_403(dashboards, page):
    response = page.goto(f"{dashboards}/voila/render/overview.ipynb", timeout=60_000)
    assert response.status == 403
    assert "Workspace overview" not in page.content()


def test_a_viewer_sees_born_on_and_notes_masked_and_nothing_is_written(dashboards, people_workspace, page):
    before = Workspace(people_workspace, read_only=True)
    audit_before, mtime = len(before.audit_log()), (people_workspace / "workbench.db").stat().st_mtime_ns
    before.close()
    page.goto(served_page(dashboards, "overview.ipynb"), timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    content = page.content()
    assert "Traceback" not in content
    leaked = [v for v in _raw_values(_people()) if v in content]
    assert not leaked, f"raw personal data on the page: {leaked[:3]}"
    assert "Called ***-***-**" in content and "n***@example.org" in content  # free text scanned, words kept
    assert "-**-**" in content  # born_on keeps its year only
    after = Workspace(people_workspace, read_only=True)
    assert len(after.audit_log()) == audit_before  # the dashboard kernel recorded nothing
    assert "dashboard" not in set(after.audit_log()["user"])
    after.close()
    assert (people_workspace / "workbench.db").stat().st_mtime_ns == mtime


@pytest.fixture(scope="module")
def viewer_labeling(tmp_path_factory):
    """The labeling app (``make label``) opened by someone who is only a viewer of the workspace."""
    base = tmp_path_factory.mktemp("viewer-labeling")
    path = make_hostile_workspace(base / "workspace", rows=200)  # "tester" is its admin
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(path), "WORKBENCH_USER": "browser-viewer"}
    with voila_server(NOTEBOOKS / "apps", env, base / "voila.log", served=True) as url:
        yield url, path


def test_a_viewer_never_sees_raw_data_even_when_unmasking_is_forced(viewer_labeling, page):
    url, path = viewer_labeling
    page.goto(served_page(url, "labeling.ipynb"), timeout=120_000)
    page.wait_for_selector(".wb-labeling .wb-record-table", timeout=120_000)
    toggle = page.locator(".wb-mask-toggle input")
    assert toggle.is_checked() and toggle.is_disabled()
    customers = pd.read_csv(SAMPLES / "customers.csv", dtype=str).head(200)
    raw = [v for v in customers["email"].dropna().tolist() + customers["phone"].dropna().tolist()
           + customers["date_of_birth"].dropna().tolist() + customers["last_name"].dropna().tolist() if len(v) >= 6]
    table = page.locator(".wb-labeling .wb-record-table")
    assert not [v for v in raw if v in table.inner_text()]
    # what a hostile client does: re-enable the checkbox in the DOM and untick it; the kernel refuses
    page.evaluate("() => { const i = document.querySelector('.wb-mask-toggle input');"
                  " i.disabled = false; i.click(); }")
    page.wait_for_function("() => document.querySelector('.wb-labeling .wb-error').innerText"
                           ".includes('steward or admin')", timeout=30_000)
    assert toggle.is_checked()
    assert not [v for v in raw if v in page.content()]
    ws = Workspace(path, read_only=True)
    assert "reveal" not in set(ws.audit_log()["action"])
    ws.close()


def test_the_label_server_has_its_own_token_and_serves_only_the_app(viewer_labeling):
    url, _ = viewer_labeling
    assert _status(f"{url}/voila/render/labeling.ipynb") == 403
    for path in ("overview.ipynb", "../dashboards/overview.ipynb", "../00_tour.ipynb"):
        assert _status(served_page(url, path)) in (403, 404), path


def test_make_serves_dashboards_and_the_label_app_apart():
    import subprocess

    from conftest import ROOT

    out = subprocess.run(["make", "-n", "dashboards", "label"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.replace("\\\n", " ")  # join continued recipe lines
    dash = next(line for line in out.splitlines() if "serve notebooks/dashboards" in line)
    label = next(line for line in out.splitlines() if "serve notebooks/apps" in line)
    assert "--token-env" not in dash  # $WORKBENCH_DASHBOARD_TOKEN, else random
    assert "--token-env=WORKBENCH_LABEL_TOKEN" in label
    assert dash.split("--port=")[1].split()[0] != label.split("--port=")[1].split()[0]
