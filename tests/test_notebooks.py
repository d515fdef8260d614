"""Notebooks carry no outputs in git, and every one of them runs top to bottom."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import NOTEBOOKS, SAMPLES

ALL_NOTEBOOKS = sorted(NOTEBOOKS.rglob("*.ipynb"))
ALL_NOTEBOOKS = [p for p in ALL_NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]


def test_there_are_notebooks():
    names = {p.relative_to(NOTEBOOKS).as_posix() for p in ALL_NOTEBOOKS}
    assert {"00_tour.ipynb", "dashboards/overview.ipynb"} <= names


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.relative_to(NOTEBOOKS).as_posix())
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.notebook
@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.relative_to(NOTEBOOKS).as_posix())
def test_notebook_runs(path, workspace_copy, monkeypatch):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace_copy))
    monkeypatch.setenv("WORKBENCH_SAMPLES", str(SAMPLES))
    monkeypatch.setenv("WORKBENCH_TEST_MODE", "1")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    # Every code cell ran and the last one produced something to look at.
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells)
    assert any(c.outputs for c in code_cells)
