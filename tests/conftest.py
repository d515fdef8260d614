"""Shared fixtures: the committed sample data and a workspace prepared from it."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

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
    """Collect exceptions that ipywidgets logs from callbacks, so a test can fail on them."""
    records: list[logging.LogRecord] = []

    class _Handler(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = _Handler(level=logging.ERROR)
    logger = logging.getLogger("ipywidgets")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
