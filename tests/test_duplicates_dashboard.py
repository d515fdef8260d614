"""Duplicates dashboard without a browser: stored runs only, figures, masking, escaping, review decisions."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import plotly.graph_objects as go
import pytest
import sqlalchemy as sa

from conftest import SAMPLES
from conftest import page_figures as _figures
from conftest import page_text as _text
from workbench import Workspace, artifacts, store
from workbench.dashboards import duplicate_plots as dplots
from workbench.dashboards import duplicates
from workbench.matching.labels import LabelStore

HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_SOURCE = "<b>web</b>"


def _title(fig: go.Figure) -> str:
    return fig.layout.title.text


def _hostile_ws(tmp_path) -> Workspace:
    """Five records, a hand-made clustering {H1, H2}, {H3, H4}, {H5}, one label by an analyst with a hostile name."""
    src = tmp_path / "h.csv"
    pd.DataFrame({
        "customer_id": ["H1", "H2", "H3", "H4", "H5"],
        "source": ["crm", HOSTILE_SOURCE, "crm", "crm", "pos"],
        "first_name": [HOSTILE_NAME, "Anna", "Bob", "Bobby", "Cy"],
        "last_name": ["Smith", "Smith", "Stone", "Stone", "Young"],
        "email": ["ann.smith@example.com", "anna@example.com", "bob@example.org", "bob@example.org",
                  "cy@example.net"],
        "phone": ["(212) 555-0199", "212-555-0199", "(303) 555-0142", "", "(404) 555-0100"],
    }).to_csv(src, index=False)
    ws = Workspace(tmp_path / "ws", user="<i>eve</i>")
    ds = ws.load(src, key="customer_id", name="h")
    run_id = ws.start_run("dedupe", ds, task="dedupe:h", threshold=0.5)
    folder = ws.path / "matching" / "dedupe_h" / "manual"
    folder.mkdir(parents=True)
    clusters = pd.DataFrame({"key": ["H1", "H2", "H3", "H4", "H5"], "cluster_id": ["H1", "H1", "H3", "H3", "H5"],
                             "confidence": [0.55, 0.6, 0.9, 0.95, 1.0]})
    clusters["cluster_size"] = clusters.groupby("cluster_id")["key"].transform("size")
    clusters.to_parquet(folder / artifacts.CLUSTERS, index=False)
    ws.finish_run(run_id, {"task": "dedupe:h", "threshold": 0.5, "folder": folder.relative_to(ws.path).as_posix()})
    LabelStore(ws, "dedupe:h").add("H1", "H2", "match", {"first_name": HOSTILE_NAME}, {"first_name": "Anna"})
    return ws


# -- the page ---------------------------------------------------------------------------------------
def test_workspace_without_a_clustering_shows_a_friendly_note(prepared_workspace):
    parts = duplicates.build(Workspace(prepared_workspace))
    assert not _figures(parts)
    text = _text(parts)
    assert "No duplicates are stored" in text and "cluster" in text and "Traceback" not in text


def test_page_reads_stored_results_only(deduped_workspace, monkeypatch):
    def no_recompute(*args, **kwargs):
        raise AssertionError("the dashboard must not score, cluster, link or load whole datasets")

    monkeypatch.setattr("workbench.workspace.Dataset.frame", property(no_recompute))
    monkeypatch.setattr("workbench.matching.pipeline.run_scoring", no_recompute)
    monkeypatch.setattr("workbench.matching.deduper.Deduper.cluster", no_recompute)
    monkeypatch.setattr("workbench.matching.linker.Linker.link", no_recompute)
    parts = duplicates.build(Workspace(deduped_workspace))
    titles = [_title(f) for f in _figures(parts)]
    assert any(t.startswith("Clusters per size") for t in titles)
    assert any(t.startswith("Confidence of clusters") for t in titles)
    assert any(t.startswith("Labels by analyst") for t in titles)
    assert any(t.startswith("Sources joined") for t in titles)
    assert any("already in customers" in t for t in titles)
    text = _text(parts)
    assert "duplicate rate" in text and "Clusters needing review" in text and "customers v1" in text


def test_headline_figures_agree_with_the_stored_clusters(deduped_workspace):
    ws = Workspace(deduped_workspace)
    (c,) = duplicates.stored_clusterings(ws)
    clusters = duplicates.clusters_of(ws, c)
    records, n_clusters = len(clusters), clusters["cluster_id"].nunique()
    sizes = duplicates.size_counts(clusters)
    multi = duplicates.per_cluster(clusters)
    h = duplicates.headline(clusters, sizes, multi)
    assert h["records"] == records == c.dataset.rows_kept
    assert h["clusters"] == n_clusters and h["duplicate_records"] == records - n_clusters > 0
    assert h["duplicate_rate"] == pytest.approx(100 * (records - n_clusters) / records)
    assert h["multi_clusters"] == int((clusters.groupby("cluster_id").size() > 1).sum())
    text = _text(duplicates.build(ws))
    assert f"{h['duplicate_rate']:.1f}%" in text and f"{records:,} records in {n_clusters:,} clusters" in text
    fig = dplots.cluster_sizes(sizes)
    assert sum(fig.data[0].y) == h["multi_clusters"] and "1" not in fig.data[0].x
    hist = dplots.confidence_histogram(dplots.confidence_bins(multi["confidence"]))
    assert sum(hist.data[0].y) == h["multi_clusters"]


def test_labels_by_analyst_counts_the_labels_table(deduped_workspace):
    ws = Workspace(deduped_workspace)
    (c,) = duplicates.stored_clusterings(ws)
    t = store.labels_table
    with ws.engine.connect() as conn:
        active = conn.execute(sa.select(sa.func.count()).where(t.c.task == c.result["task"],
                                                               t.c.undone_at.is_(None))).scalar()
    counts = duplicates.label_counts(ws, c.result["task"])
    assert set(counts["analyst"]) == {"tester"} and counts["labels"].sum() == active >= 30
    fig = dplots.labels_by_analyst(counts)
    assert sum(sum(bar.x) for bar in fig.data) == active
    assert {bar.name for bar in fig.data} <= {"match", "distinct", "unsure", "undone"}


def test_id_churn_per_run_is_the_runs_stored_figures(deduped_workspace):
    ws = Workspace(deduped_workspace)
    (c,) = duplicates.stored_clusterings(ws)
    churn = duplicates.id_churn(ws, c.dataset)
    assert len(churn) == 1 and churn["new"].iloc[0] == c.result["figures"]["ids_new"] > 0
    assert churn[["merge", "split", "move", "retire"]].sum().sum() == 0  # a first clustering only gives ids
    fig = dplots.id_churn_chart(pd.DataFrame({"run": [3, 7], "new": [10, 1], "merge": [0, 2], "split": [0, 1],
                                        "move": [0, 4], "retire": [0, 0]}))
    assert {b.name: list(b.y) for b in fig.data} == {"new": [10, 1], "merge": [0, 2], "split": [0, 1],
                                                     "move": [0, 4]}
    assert list(fig.data[0].x) == ["run 3", "run 7"]
    assert _title(dplots.id_churn_chart(churn.head(0))).endswith("none yet")


def test_undone_labels_are_counted_apart(tmp_path):
    ws = _hostile_ws(tmp_path)
    labels = LabelStore(ws, "dedupe:h")
    labels.add("H3", "H4", "distinct", {}, {})
    labels.undo_last()
    counts = duplicates.label_counts(ws, "dedupe:h").set_index("label")["labels"]
    assert counts.to_dict() == {"match": 1, "undone": 1}


def test_link_overlap_is_the_stored_one(deduped_workspace):
    ws = Workspace(deduped_workspace)
    (link,) = duplicates.stored_links(ws)
    stored = ws.latest_result("link", ws.dataset("acquired"))["overlap"]
    assert link["overlap"] == stored and link["acquired"] == "acquired v1"
    fig = dplots.link_overlap(stored)
    overall = next(r for r in stored if r["source"] == "all")
    assert [bar.x[-1] for bar in fig.data] == [overall["match"], overall["ambiguous"], overall["new"]]
    assert fig.data[0].y[-1] == "all sources"
    text = _text(duplicates.link_section(link))
    assert f"{overall['records']:,}" in text and "already ours" in text


def test_source_overlap_counts_clusters_by_their_sources(deduped_workspace):
    ws = Workspace(deduped_workspace)
    (c,) = duplicates.stored_clusterings(ws)
    clusters = duplicates.clusters_of(ws, c)
    combos = duplicates.source_combinations(ws, c.dataset, clusters)
    assert combos["clusters"].sum() == len(duplicates.per_cluster(clusters))
    raw = pd.read_csv(SAMPLES / "customers.csv", dtype=str, keep_default_na=False)
    sources = set(raw["source"])
    for combo in combos["sources"]:
        assert set(combo.split(" + ")) <= sources | {"(none)"}


def test_review_table_is_masked_escaped_and_weakest_first(tmp_path):
    ws = _hostile_ws(tmp_path)
    parts = duplicates.build(ws)
    page = _text(parts)
    assert HOSTILE_NAME not in page and "&lt;script&gt;" not in page  # a name is masked to its first character
    assert "ann.smith@example.com" not in page and "a***@example.com" in page
    assert "(212) 555-0199" not in page and "***-***-**99" in page
    assert page.index(">H1<") < page.index(">H3<"), "the least confident cluster comes first"
    assert ">H5<" not in page, "singletons are not duplicates"
    unmasked = _text(duplicates.build(ws, masked=False))
    assert "ann.smith@example.com" in unmasked and HOSTILE_NAME not in unmasked
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in unmasked
    figs = _figures(parts)
    labels = next(f for f in figs if _title(f).startswith("Labels by analyst"))
    assert [y for bar in labels.data for y in bar.y] == ["‹i›eve‹/i›"]
    overlap = next(f for f in figs if _title(f).startswith("Sources joined"))
    assert all("<" not in y for y in overlap.data[0].y)
    assert {frozenset(y.split(" + ")) for y in overlap.data[0].y} == {frozenset({"crm", "‹b›web‹/b›"}),
                                                                     frozenset({"crm"})}


def test_reviewed_clusters_leave_the_queue(deduped_copy):
    from workbench.review import ReviewDecisions

    ws = Workspace(deduped_copy)
    (c,) = duplicates.stored_clusterings(ws)
    clusters = duplicates.clusters_of(ws, c)
    multi = duplicates.per_cluster(clusters)
    weakest = multi.sort_values(["confidence", "size", "cluster_id"], ascending=[True, False, True]).iloc[0]
    keys = clusters.loc[clusters["cluster_id"] == weakest["cluster_id"], "key"].tolist()
    ReviewDecisions(ws, c.result["task"]).verify(keys)
    text = _text(duplicates.build(ws))
    assert f"1 of {len(multi):,}" in text
    after = duplicates.per_cluster(duplicates.clusters_of(ws, c))
    assert int(after["reviewed"].sum()) == 1


# -- plot builders on tiny frames ----------------------------------------------------------------
def test_plot_builders_take_small_aggregates():
    sizes = pd.DataFrame({"size": [1, 2, 3], "clusters": [10, 4, 1], "records": [10, 8, 3]})
    fig = dplots.cluster_sizes(sizes)
    assert list(fig.data[0].x) == ["2", "3"] and list(fig.data[0].y) == [4, 1]
    assert _title(dplots.cluster_sizes(sizes[sizes["size"] == 1])).endswith("no duplicates found")

    bins = dplots.confidence_bins([0.0, 0.31, 0.99, 1.0, 1.2], bins=10)
    assert bins["clusters"].sum() == 5 and bins["clusters"].iloc[-1] == 3 and bins["clusters"].iloc[0] == 1
    hist = dplots.confidence_histogram(bins)
    assert sum(hist.data[0].y) == 5 and hist.data[0].type == "bar"
    assert _title(dplots.confidence_histogram(dplots.confidence_bins([]))).endswith("none yet")

    counts = pd.DataFrame({"analyst": ["ann", "ann", "bob"], "label": ["match", "undone", "distinct"],
                           "labels": [3, 1, 2]})
    fig = dplots.labels_by_analyst(counts)
    assert {b.name: list(b.x) for b in fig.data} == {"match": [3, 0], "distinct": [0, 2], "undone": [1, 0]}
    assert _title(dplots.labels_by_analyst(counts.head(0))).endswith("none yet")

    combos = pd.DataFrame({"sources": ["crm", "crm + <i>web</i>"], "clusters": [2, 5]})
    fig = dplots.source_overlap(combos)
    assert list(fig.data[0].y) == ["crm + ‹i›web‹/i›", "crm"]

    overlap = [{"source": "all", "match": 3, "ambiguous": 1, "new": 6, "records": 10},
               {"source": "fair", "match": 3, "ambiguous": 1, "new": 6, "records": 10}]
    fig = dplots.link_overlap(overlap)
    assert list(fig.data[0].y) == ["fair", "all sources"] and list(fig.data[2].customdata) == [60.0, 60.0]


def test_every_duplicates_chart_is_drawn_by_the_template_bundle(deduped_workspace):
    from workbench.dashboards import render

    figs = _figures(duplicates.build(Workspace(deduped_workspace)))
    assert figs and all(render.inline_ok(f) for f in figs)


def test_dashboard_module_imports_no_widgets_or_ipython():
    code = ("import sys, workbench.dashboards.duplicates; "
            "print('ipywidgets' in sys.modules, 'IPython' in sys.modules, 'pandera' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_page_summary_is_cached_until_a_review_decision_changes_it(deduped_copy):
    from workbench.review import ReviewDecisions

    ws = Workspace(deduped_copy)
    c = duplicates.stored_clusterings(ws)[0]
    first = duplicates.summary(ws, c)
    cache = ws.path / c.result["folder"] / "dashboard-summary.json"
    assert cache.exists()
    assert duplicates.summary(ws, c) == first  # read back from the cache
    top = first["queue_top"][0]["cluster_id"]
    members = [m["key"] for m in first["queue_members"] if m["cluster_id"] == top]
    ReviewDecisions(ws, c.result["task"]).verify(members)
    after = duplicates.summary(ws, c)
    assert after["stamp"] != first["stamp"]
    assert after["headline"]["reviewed"] == first["headline"]["reviewed"] + 1
    assert top not in {q["cluster_id"] for q in after["queue_top"]}


def test_a_read_only_dashboard_kernel_writes_nothing_and_never_unmasks(deduped_copy):
    from workbench.access import AccessDenied
    from workbench.dashboards import open_workspace, overview, quality

    board = open_workspace(deduped_copy)
    assert board.read_only and board.role == "viewer"
    c = duplicates.stored_clusterings(board)[0]
    cache = board.path / c.result["folder"] / "dashboard-summary.json"
    cache.unlink(missing_ok=True)
    before = sorted(p.name for p in board.path.rglob("*"))
    parts = duplicates.build(board)
    assert "Clusters needing review (personal data masked)" in _text(parts)
    assert not cache.exists() and sorted(p.name for p in board.path.rglob("*")) == before
    assert duplicates.summary(board, c) == duplicates.summary(board, c)  # kept in memory instead
    for page in (duplicates, overview, quality):
        with pytest.raises(AccessDenied, match="steward or admin"):
            page.build(board, masked=False)
    # even a steward's dashboard is masked: a read-only workspace cannot audit a reveal
    steward = Workspace(deduped_copy, user="tester", read_only=True)
    assert steward.role == "steward"
    with pytest.raises(AccessDenied, match="read-only"):
        overview.build(steward, masked=False)
    # a writable steward may, and it is audited
    ws = Workspace(deduped_copy, user="tester")
    overview.build(ws, masked=False)
    assert ws.audit_log()[["user", "action", "target"]].values.tolist()[-1] == ["tester", "reveal",
                                                                               "overview dashboard"]
