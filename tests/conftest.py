"""Shared fixtures: the committed sample data and a workspace prepared from it."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from workbench import artifacts

pytest_plugins = ["spark_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def prepared_workspace(tmp_path_factory) -> Path:
    """A workspace holding the sample customers and acquired list, prepared by the CLI."""
    from workbench.cli import main

    path = tmp_path_factory.mktemp("prepared") / "workspace"
    assert main(["prepare", "--workspace", str(path), "--samples", str(SAMPLES), "--user", "tester"]) == 0
    # the OS user who created it is its admin and acts for "tester", the samples' steward
    assert main(["users", "grant", "tester", "steward", "--workspace", str(path)]) == 0
    return path


@pytest.fixture(scope="session")
def deduped_workspace(prepared_workspace, tmp_path_factory) -> Path:
    """The prepared workspace after 30 truth-labeled pairs, a clustering and a link of the acquired list.

    What an analyst has after notebooks 02 and 04; dashboards and review tests read it.
    """
    from workbench import Workspace
    from workbench.oracle import TruthLabeler

    path = tmp_path_factory.mktemp("deduped") / "workspace"
    shutil.copytree(prepared_workspace, path)
    ws = Workspace(path, user="tester")
    dd = ws.deduper("customers")
    TruthLabeler.for_samples(SAMPLES, "dedupe").label(dd, budget=30)
    dd.cluster(progress=False)
    lk = ws.linker("acquired", "customers")
    TruthLabeler.for_samples(SAMPLES, "link").label(lk, budget=30)
    lk.link(progress=False)
    ws.close()
    return path


@pytest.fixture
def deduped_copy(deduped_workspace, tmp_path) -> Path:
    """A private copy of the deduped workspace that a test may change."""
    dest = tmp_path / "deduped"
    shutil.copytree(deduped_workspace, dest)
    return dest


@pytest.fixture
def workspace_copy(prepared_workspace, tmp_path) -> Path:
    """A private copy of the prepared workspace that a test may change."""
    dest = tmp_path / "workspace"
    shutil.copytree(prepared_workspace, dest)
    return dest


def require_chromium() -> None:
    """Browser tests run in CI always; elsewhere they skip only when Chromium is absent."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("/usr/bin/chromium is missing in CI: scripts/ensure-chromium should have installed it")
    pytest.skip("/usr/bin/chromium not installed (apt-get install -y chromium)")


@pytest.fixture
def widget_errors():
    """Collect exceptions ipywidgets swallows from callbacks, so a test can fail on them.

    Outside a kernel ipywidgets' ``CallbackDispatcher`` logs them as WARNING on
    the ``traitlets`` logger; inside one, as ERROR on ``ipywidgets``. Both count.
    """
    records: list[logging.LogRecord] = []

    class _Handler(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.ERROR or record.exc_info or "exception" in record.getMessage().lower():
                records.append(record)

    handler = _Handler(level=logging.WARNING)
    loggers = [logging.getLogger("traitlets"), logging.getLogger("ipywidgets")]
    for logger in loggers:
        logger.addHandler(handler)
    yield records
    for logger in loggers:
        logger.removeHandler(handler)


#: Values that must never become markup in the cluster review (shown as text).
HOSTILE = {
    "first_name": "<img src=x onerror=alert(1)>",
    "last_name": "<script>alert('pwn')</script>",
    "city": "Tulsa</td></tr></table><b>x",
}


@pytest.fixture
def review_ws(tmp_path):
    """A tiny workspace with a hand-made clustering (no model): clusters {K1,K2,K3}, {K4,K5}, {K6}.

    Edges K1-K2 0.8, K2-K3 0.7, K1-K3 0.3, K4-K5 0.95, K3-K4 0.4 (a near miss); threshold 0.5.
    K1 and K2 carry hostile values (``HOSTILE``).
    """
    import pandas as pd

    from workbench import Workspace

    frame = pd.DataFrame({
        "customer_id": ["K1", "K2", "K3", "K4", "K5", "K6"],
        "source": ["crm", "web", "crm", "pos", "web", "crm"],
        "first_name": [HOSTILE["first_name"], "Anna", "Ann", "Bob", "Bobby", "Cy"],
        "last_name": ["Smith", HOSTILE["last_name"], "Smith", "Stone", "Stone", "Young"],
        "email": ["ann.smith@example.com", "ann@example.com", "ann.smith@example.com", "bob@example.org",
                  "bob@example.org", "cy@example.net"],
        "city": ["Tulsa", HOSTILE["city"], "Tulsa", "Reno", "Reno", "Boise"],
    })
    csv = tmp_path / "customers.csv"
    frame.to_csv(csv, index=False)
    ws = Workspace(tmp_path / "ws", user="tester")
    ds = ws.load(csv, key="customer_id", name="customers")
    run_id = ws.start_run("dedupe", ds, task="dedupe:customers", threshold=0.5)
    folder = ws.path / "matching" / "dedupe_customers" / "manual"
    folder.mkdir(parents=True)
    clusters = pd.DataFrame({"key": ["K1", "K2", "K3", "K4", "K5", "K6"],
                             "cluster_id": ["K1", "K1", "K1", "K4", "K4", "K6"],
                             "confidence": [0.6, 0.6, 0.7, 0.9, 0.9, 1.0]})
    clusters["cluster_size"] = clusters.groupby("cluster_id")["key"].transform("size")
    clusters.to_parquet(folder / artifacts.CLUSTERS_MODEL, index=False)
    clusters.to_parquet(folder / artifacts.CLUSTERS, index=False)
    pd.DataFrame({"left_key": ["K1", "K2", "K1", "K4", "K3"], "right_key": ["K2", "K3", "K3", "K5", "K4"],
                  "score": [0.8, 0.7, 0.3, 0.95, 0.4]}).to_parquet(folder / artifacts.EDGES, index=False)
    ws.finish_run(run_id, {"task": "dedupe:customers", "threshold": 0.5,
                           "folder": folder.relative_to(ws.path).as_posix()})
    yield ws
    ws.close()


# -- labeling app (workbench.ui.labeling) -------------------------------------------------

import contextlib  # noqa: E402  (kept with the fixtures below)

#: A value that must render as text wherever the labeling app shows it.
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


def page_figures(parts) -> list:
    """The Plotly figures among a dashboard page's parts (what ``render`` would show as charts)."""
    import plotly.graph_objects as go

    return [p for p in parts if isinstance(p, go.Figure)]


def page_text(parts) -> str:
    """The HTML text parts of a dashboard page, joined (what ``render`` would show as markup)."""
    return "".join(p for p in parts if isinstance(p, str))


def make_hostile_workspace(dest: Path, rows: int = 400, user: str = "tester") -> Path:
    """A workspace at ``dest`` whose ``customers`` are the first sample customers, with markup in values.

    Every first name starts with ``HOSTILE_NAME`` and every city is ``HOSTILE_NAME``
    (cities are not personal data, so they stay visible with masking on).
    """
    import pandas as pd

    from workbench import Workspace

    frame = pd.read_csv(SAMPLES / "customers.csv", dtype=str).head(rows)
    frame["first_name"] = HOSTILE_NAME + frame["first_name"].fillna("")
    frame["city"] = HOSTILE_NAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    csv = dest.parent / f"{dest.name}-customers.csv"
    frame.to_csv(csv, index=False)
    ws = Workspace(dest, user=user)
    ws.load(csv, key="customer_id", name="customers")
    ws.close()
    return dest


@pytest.fixture
def hostile_workspace(tmp_path) -> Path:
    return make_hostile_workspace(tmp_path / "hostile")


#: The token of servers started with ``served=True`` (``make dashboards`` takes it from the environment).
DASHBOARD_TOKEN = "test-token-" + os.urandom(8).hex()


def served_page(base: str, page: str) -> str:
    """The URL of ``page`` on a served Voilà, token included."""
    return f"{base}/voila/render/{page}?token={DASHBOARD_TOKEN}"


@contextlib.contextmanager
def voila_server(directory: Path, env: dict[str, str], log: Path, timeout: float = 60, *, served: bool = False):
    """Voilà serving ``directory`` on 127.0.0.1 and a free port; yields its base URL, stops it after.

    ``served``: started the way ``make dashboards`` starts it (``workbench.dashboards.serve``:
    preheated kernels, the workbench template), so dashboard tests see what users see; it then
    wants ``?token=DASHBOARD_TOKEN`` (see ``served_page``).
    """
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    probe = url = f"http://127.0.0.1:{port}"
    if served:
        command = [sys.executable, "-m", "workbench.dashboards.serve", str(directory), f"--port={port}",
                   "--ip=127.0.0.1"]
        env = {**env, "WORKBENCH_DASHBOARD_TOKEN": DASHBOARD_TOKEN}
        probe = f"{url}/?token={DASHBOARD_TOKEN}"
    else:
        command = [str(Path(sys.executable).with_name("voila")), str(directory), "--no-browser", f"--port={port}",
                   "--Voila.ip=127.0.0.1"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(probe, timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"voila exited: {log.read_text()}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"voila did not answer on {url}: {log.read_text()}") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def labeling_voila(tmp_path_factory):
    """Voilà serving notebooks/apps (as ``make label`` does) against a private hostile workspace.

    Yields (base URL, workspace path). The labeling page writes labels, so it never runs against
    the shared prepared workspace; its analyst "browser-analyst" is a steward there (may unmask).
    """
    require_chromium()
    from workbench import Workspace, access

    base = tmp_path_factory.mktemp("labeling-voila")
    path = make_hostile_workspace(base / "workspace")
    ws = Workspace(path, user="tester")
    access.grant(ws, "browser-analyst", "steward")
    ws.close()
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(path), "WORKBENCH_USER": "browser-analyst"}
    with voila_server(NOTEBOOKS / "apps", env, base / "voila.log", served=True) as url:
        yield url, path
