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
    assert {"00_tour.ipynb", "dashboards/overview.ipynb", "dashboards/consent.ipynb"} <= names


def _run(path, *, timeout: int) -> list:
    """Execute the notebook at ``path`` (in its folder); every output of its code cells."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


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


@pytest.mark.notebook
def test_review_notebook_runs_on_a_clustering(deduped_copy, monkeypatch):
    """Notebook 03 against a workspace that has a clustering: summary, queue and the review app show."""
    path = NOTEBOOKS / "03_review_clusters.ipynb"
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(deduped_copy))
    monkeypatch.setenv("WORKBENCH_TEST_MODE", "1")
    outputs = _run(path, timeout=600)
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "not been clustered yet" not in text and "review decision(s) in force" in text
    assert "cluster_id" in text  # the queue
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


@pytest.mark.notebook
def test_label_and_dedupe_notebook_labels_clusters_and_shows_the_app(workspace_copy, monkeypatch):
    """02: scripted labels are stored under the analyst's name, a clustering run is stored, app and chart shown."""
    from workbench import Workspace, access
    from workbench.matching.labels import LabelStore

    admin = Workspace(workspace_copy)  # whoever prepared the workspace is its admin
    access.grant(admin, "nb-analyst", "analyst")  # a name the workspace does not know may only view
    admin.close()
    path = NOTEBOOKS / "02_label_and_dedupe.ipynb"
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace_copy))
    monkeypatch.setenv("WORKBENCH_SAMPLES", str(SAMPLES))
    monkeypatch.setenv("WORKBENCH_SCRIPTED_LABELS", "15")
    monkeypatch.setenv("WORKBENCH_USER", "nb-analyst")
    monkeypatch.delenv("WORKBENCH_TEST_MODE", raising=False)
    outputs = _run(path, timeout=900)
    assert not [o for o in outputs if o.output_type == "error"]
    data = [o.get("data", {}) for o in outputs]
    assert any("application/vnd.jupyter.widget-view+json" in d for d in data), "the labeling app is displayed"
    assert any("application/vnd.plotly.v1+json" in d for d in data), "the threshold chart is displayed"
    assert any("clusters" in str(d.get("text/plain", "")) or "clusters" in o.get("text", "")
               for d, o in zip(data, outputs, strict=True))

    ws = Workspace(workspace_copy)
    labels = LabelStore(ws, "dedupe:customers").frame()
    runs = ws.runs("dedupe")
    ws.close()
    assert len(labels) == 15 and set(labels["analyst"]) == {"nb-analyst"}
    assert (runs["status"] == "done").sum() == 1


@pytest.mark.notebook
def test_duplicates_dashboard_notebook_runs_on_a_clustering(deduped_copy, monkeypatch):
    """dashboards/duplicates.ipynb against a clustered and linked workspace: charts, masked members, no error."""
    path = NOTEBOOKS / "dashboards" / "duplicates.ipynb"
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(deduped_copy))
    outputs = _run(path, timeout=600)
    assert not [o for o in outputs if o.output_type == "error"]
    charts = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(charts) >= 5
    assert all("wbPlot(" in o["data"]["text/html"] and o["metadata"]["workbench"]["inline"] for o in charts)
    page = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "duplicate rate" in page and "Clusters needing review" in page and "***" in page


@pytest.mark.notebook
def test_governance_notebook_on_a_clustered_workspace(deduped_copy, monkeypatch):
    """05 against a clustered workspace: provenance set and audited, consent page, households, an anonymized
    export without raw emails, dry runs of retention and erasure that change nothing."""
    import pandas as pd

    from workbench import Workspace

    path = NOTEBOOKS / "05_govern.ipynb"
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(deduped_copy))
    monkeypatch.setenv("WORKBENCH_TEST_MODE", "1")
    rows_before = len(Workspace(deduped_copy).dataset("customers").frame)
    outputs = _run(path, timeout=600)
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "First-party data" in text and "multi_households" in text and "k = " in text
    assert "dry run: would remove 1 record(s)" in text
    ws = Workspace(deduped_copy)
    assert len(ws.dataset("customers").frame) == rows_before  # dry runs changed nothing
    assert "set_provenance" in set(ws.audit_log()["action"])
    records = pd.read_csv(deduped_copy / "exports" / "anonymized" / "records.csv", dtype=str)
    assert not records.apply(lambda c: c.str.contains("@", na=False)).any().any()
