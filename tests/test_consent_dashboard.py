"""Consent dashboard without a browser: stored data only, figures, masking, escaping, golden records, YAML."""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from conftest import NOTEBOOKS, SAMPLES
from conftest import page_figures as _figures
from conftest import page_text as _text
from workbench import Workspace, artifacts, consent
from workbench.access import AccessDenied
from workbench.dashboards import consent as page
from workbench.dashboards import open_workspace, render

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_SOURCE = "<b>web</b>"


def _titles(parts) -> list[str]:
    return [f.layout.title.text for f in _figures(parts)]


def _sample_consent_dates() -> set[str]:
    raw = pd.read_csv(SAMPLES / "customers.csv", dtype=str, keep_default_na=False)
    return {d for d in raw["consent_date"] if d}


def test_page_on_a_clustered_workspace_reads_stored_data_only(deduped_workspace, monkeypatch):
    def no_recompute(*args, **kwargs):
        raise AssertionError("the consent page must not load whole datasets, score or cluster")

    monkeypatch.setattr("workbench.workspace.Dataset.frame", property(no_recompute))
    monkeypatch.setattr("workbench.matching.deduper.Deduper.cluster", no_recompute)
    monkeypatch.setattr("workbench.matching.pipeline.run_scoring", no_recompute)
    page._CACHE.clear()
    ws = open_workspace(deduped_workspace)
    parts = page.build(ws)
    titles = _titles(parts)
    assert "Reachable customers (consent granted), before and after merging" in titles
    assert "Consent of golden records per channel and purpose" in titles
    text = _text(parts)
    assert "customers v1: consent of 5,000 records, merged into" in text
    assert "clusters with review decisions applied" in text  # no golden run yet: the current clustering
    assert "Conflicts: members of one golden record say different things" in text
    assert "Consent lost or gained through merging" in text and "How values were read" in text
    # the acquired list's "opt_in" names no channel: reported, not guessed
    assert "acquired v1" in text and "Left out: opt_in: channel unknown" in text
    assert all(render.inline_ok(f) for f in _figures(parts))


def test_figures_agree_with_the_merge_effect(deduped_workspace):
    page._CACHE.clear()
    ws = open_workspace(deduped_workspace)
    ds = ws.dataset("customers")
    a = page.analysis(ws, ds, consent.ConsentConfig())
    effect = a["effect"]
    (row,) = effect.summary.itertuples()
    assert (row.channel, row.purpose) == ("email", "marketing")
    raw = pd.read_csv(SAMPLES / "customers.csv", dtype=str, keep_default_na=False)
    granted = raw["consent_email"].str.strip().str.lower().isin(["y", "yes", "1", "true"]).sum()
    assert row.reachable_records == granted and row.records == 5000
    assert row.golden_records == effect.crosswalk["golden_id"].nunique() < 5000
    assert row.conflicts > 0 and row.lost + row.gained > 0  # duplicates in the sample disagree
    fig = page.reachable_bars(effect.summary)
    assert [list(bar.y) for bar in fig.data] == [[row.reachable_records], [row.reachable_golden]]
    mix = page.status_mix(effect.golden, row.golden_records)
    assert sum(bar.x[0] for bar in mix.data) == row.golden_records
    text = _text(page.build(ws))
    assert f"{int(effect.golden['conflict'].sum()):,}" in text and f"{row.lost:,}" in text


def test_conflicts_show_every_members_statement_with_dates_masked(deduped_workspace):
    page._CACHE.clear()
    ws = open_workspace(deduped_workspace)
    ds = ws.dataset("customers")
    a = page.analysis(ws, ds, consent.ConsentConfig())
    view = page.conflicts_view(a["effect"], a["statements"], ds.schema)
    assert len(view) and set(view["said"]) == {"granted", "denied"}
    assert view["on"].dropna().str.fullmatch(r"\d{4}-\*\*-\*\*").all()
    html_text = _text(page.build(ws))
    assert "-**-**" in html_text
    leaked = [d for d in _sample_consent_dates() if d in html_text]
    assert not leaked, f"consent dates shown unmasked: {leaked[:3]}"
    raw = page.conflicts_view(a["effect"], a["statements"], ds.schema, masked=False)
    assert raw["on"].dropna().str.fullmatch(r"\d{4}-\d\d-\d\d").all()


def test_golden_records_are_used_once_built(deduped_copy):
    from workbench.golden.build import golden_from_workspace

    ws = Workspace(deduped_copy, user="tester")
    result = golden_from_workspace(ws, "customers")
    ws.close()
    page._CACHE.clear()
    viewer = open_workspace(deduped_copy)
    a = page.analysis(viewer, viewer.dataset("customers"), consent.ConsentConfig())
    assert a["origin"].startswith("golden records of run")
    assert len(a["effect"].crosswalk) == len(result.crosswalk)
    text = _text(page.build(viewer))
    assert "Merged by: golden records of run" in text


def test_a_consent_yaml_in_the_workspace_is_read_and_a_broken_one_is_named(deduped_copy):
    (deduped_copy / "consent.yaml").write_text("consent:\n  columns:\n    opt_in: {channel: email}\n")
    page._CACHE.clear()
    ws = open_workspace(deduped_copy)
    text = _text(page.build(ws, dataset="acquired"))
    assert "Left out" not in text and "acquired v1: consent of" in text
    assert "customers v1" not in text  # dataset= shows one dataset
    text = _text(page.build(ws))
    assert "customers v1" in text and "not in this dataset" not in text  # the YAML's columns are acquired's
    (deduped_copy / "consent.yaml").write_text("consent:\n  columns:\n    opt_in: {channel: fax}\n")
    text = _text(page.build(ws))
    assert "consent.yaml, line 3" in text and "&#39;fax&#39; is not a channel" in text  # escaped by the template


def test_party_from_provenance_is_passed_in(deduped_workspace):
    page._CACHE.clear()
    ws = open_workspace(deduped_workspace)
    cfg = {"consent": {"default_channel": "email"}}
    a = page.analysis(ws, ws.dataset("acquired"), consent.ConsentConfig.coerce(cfg), party={"acquired": "third"})
    assert set(a["statements"].table["party"]) == {"third"}
    assert not (a["records_alone"]["status"] == "granted").any()  # a bought list never grants consent
    seen = []
    page.analysis(ws, ws.dataset("customers"), consent.ConsentConfig(),
                  party=lambda ds, frame: seen.append((ds.name, len(frame))) or "first")
    assert seen == [("customers", 5000)]


def test_unmasked_needs_a_reveal_which_a_dashboard_never_grants(deduped_workspace):
    with pytest.raises(AccessDenied):
        page.build(open_workspace(deduped_workspace), masked=False)


def test_no_consent_columns_gives_a_friendly_note(tmp_path):
    src = tmp_path / "plain.csv"
    pd.DataFrame({"id": ["a", "b"], "city": ["Reno", "Boise"]}).to_csv(src, index=False)
    ws = Workspace(tmp_path / "ws", user="tester")
    ws.load(src, key="id", name="plain")
    ws.close()
    parts = page.build(open_workspace(tmp_path / "ws"))
    assert not _figures(parts) and "No consent columns" in _text(parts)


def test_values_are_escaped_everywhere(tmp_path):
    src = tmp_path / "h.csv"
    pd.DataFrame({
        "customer_id": ["H1", "H2", "H3"],
        "source": ["crm", HOSTILE_SOURCE, "crm"],
        "email": ["ann@example.com", "ann@example.com", "cy@example.net"],
        "sms_opt_in": ["Y", "N", HOSTILE],
        "sms_opt_in_date": ["2024-01-01", "2024-03-03", None],
    }).to_csv(src, index=False)
    ws = Workspace(tmp_path / "ws", user="tester")
    ds = ws.load(src, key="customer_id", name="h")
    run_id = ws.start_run("dedupe", ds, task="dedupe:h", threshold=0.5)
    folder = ws.path / "matching" / "dedupe_h" / "manual"
    folder.mkdir(parents=True)
    clusters = pd.DataFrame({"key": ["H1", "H2", "H3"], "cluster_id": ["H1", "H1", "H3"],
                             "confidence": [0.9, 0.9, 1.0]})
    clusters["cluster_size"] = clusters.groupby("cluster_id")["key"].transform("size")
    clusters.to_parquet(folder / artifacts.CLUSTERS, index=False)
    ws.finish_run(run_id, {"task": "dedupe:h", "threshold": 0.5, "folder": folder.relative_to(ws.path).as_posix()})
    ws.close()
    page._CACHE.clear()
    parts = page.build(open_workspace(tmp_path / "ws"))
    text = "".join(b.get("text/html", "") for b in render.bundles(parts))
    assert HOSTILE not in text and HOSTILE_SOURCE not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text  # flagged as an unknown value, shown as text
    assert "⚑ unknown" in text and "2024-**-**" in text and "2024-01-01" not in text
    assert "&lt;b&gt;web&lt;/b&gt;" in text  # H2's source, in the conflict between H1 and H2


@pytest.mark.notebook
def test_consent_notebook_runs_on_a_clustering(deduped_copy, monkeypatch):
    """dashboards/consent.ipynb only calls the package: charts inline, dates masked, no error."""
    path = NOTEBOOKS / "dashboards" / "consent.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert not [c for c in nb.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(deduped_copy))
    monkeypatch.delenv("WORKBENCH_DATASET", raising=False)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    charts = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(charts) >= 2
    assert all("wbPlot(" in o["data"]["text/html"] and o["metadata"]["workbench"]["inline"] for o in charts)
    html_text = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "Reachable customers per channel and purpose" in html_text and "-**-**" in html_text
