"""Duplicates dashboard: the stored clustering of each dataset and the latest links, read-only.

Reads finished ``dedupe`` and ``link`` runs, their Parquet files and the
labels table: a page load never scores a pair or clusters anything. Clusters
come with the analysts' review decisions applied (``workbench.review``), so
the page agrees with the review notebook. Aggregations run in DuckDB over
the Parquet files and the figures get counts, not records, so a million-record
clustering draws as fast as a small one. Member records are masked by role
(``masking``) unless ``masked=False``; every value is HTML-escaped.

Households (``workbench.households``) are shown from the newest finished
"households" run of the dataset: its stored counts per household size, never
a value; without one the page says how to make it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from workbench import artifacts, dataset_rows, store
from workbench.dashboards import duplicate_plots as plots
from workbench.dashboards import html, render, reveal_allowed
from workbench.errors import WorkbenchError
from workbench.masking import mask_frame
from workbench.schema import Role
from workbench.workspace import Dataset, Workspace

#: Clusters listed for review (the least confident ones not reviewed yet).
REVIEW_CLUSTERS = 10
#: Version of the cached page summary kept next to a clustering.
SUMMARY_VERSION = 1
#: Member columns shown, by role, in this order (the key comes first).
MEMBER_ROLES = (Role.FULL_NAME, Role.FIRST_NAME, Role.LAST_NAME, Role.EMAIL, Role.PHONE, Role.DATE_OF_BIRTH,
                Role.STREET, Role.CITY, Role.POSTCODE, Role.STATE, Role.COUNTRY, Role.SOURCE)


@dataclass
class StoredClustering:
    """A dataset's latest finished dedupe run, as the page needs it."""

    dataset: Dataset
    result: dict[str, Any]
    finished_at: Any


def build(ws: Workspace, *, masked: bool = True) -> list[Any]:
    """The page as displayable parts (HTML strings and plotly figures)."""
    reveal_allowed(ws, "duplicates", masked)
    clusterings = stored_clusterings(ws)
    links = stored_links(ws)
    if not clusterings and not links:
        return [html.tiles([("clustered datasets", "0")]),
                html.note(f"No duplicates are stored in {ws.path} yet. Label pairs and cluster a dataset "
                          "(notebooks/02_label_and_dedupe.ipynb, or ws.deduper(\"customers\") then .cluster()); "
                          "this page then shows its duplicate rate, clusters to review and overlaps.")]
    parts: list[Any] = []
    if not clusterings:
        parts += [html.tiles([("clustered datasets", "0")]),
                  html.note("No dataset has been clustered yet: only links of acquired lists are stored.")]
    for c in clusterings:
        parts += _dataset_section(ws, c, masked=masked)
    if links:
        parts.append(html.heading("Acquired lists against the master", level=2))
        for row in links:
            parts += link_section(row)
    return parts


def show(ws: Workspace, *, masked: bool = True) -> None:
    """Display the page in a notebook or Voilà."""
    render.show(build(ws, masked=masked))


# -- what is stored ------------------------------------------------------------------------
def stored_clusterings(ws: Workspace) -> list[StoredClustering]:
    """The newest finished dedupe run of each dataset name, most recently clustered first."""
    runs = ws.runs("dedupe")
    runs = runs[(runs["status"] == "done") & runs["dataset_id"].notna()]
    out, seen = [], set()
    for row in runs.itertuples():  # newest first
        ds = ws.dataset_by_id(int(row.dataset_id))
        if ds.name in seen or not isinstance(row.result, dict):
            continue
        seen.add(ds.name)
        out.append(StoredClustering(ds, row.result, row.finished_at))
    return out


def stored_links(ws: Workspace) -> list[dict[str, Any]]:
    """The newest finished link run of each task: acquired label, master label, finished_at, overlap."""
    runs = ws.runs("link")
    runs = runs[(runs["status"] == "done") & runs["dataset_id"].notna()]
    out, seen = [], set()
    for row in runs.itertuples():
        result = row.result if isinstance(row.result, dict) else {}
        task = result.get("task") or row.params.get("task")
        if task in seen or not result.get("overlap"):
            continue
        seen.add(task)
        out.append({"acquired": ws.dataset_by_id(int(row.dataset_id)).label,
                    "master": row.params.get("master", "the master"), "finished_at": row.finished_at,
                    "threshold": result.get("threshold"), "overlap": result["overlap"]})
    return out


def stored_households(ws: Workspace, ds: Dataset) -> dict[str, Any] | None:
    """The result of the newest finished households run of a dataset of ``ds``'s name, or None.

    Read here rather than through ``workbench.households`` so the page does not import its grouping
    machinery (scipy) to read a few stored numbers.
    """
    runs = ws.runs("households")
    runs = runs[(runs["status"] == "done") & runs["dataset_id"].notna()]
    for row in runs.itertuples():  # newest first
        if isinstance(row.result, dict) and ws.dataset_by_id(int(row.dataset_id)).name == ds.name:
            return {**row.result, "run_id": int(row.id)}
    return None


def household_section(ws: Workspace, c: StoredClustering) -> list[Any]:
    """Households per size from the stored households run, or how to create one."""
    ds = c.dataset
    run = stored_households(ws, ds)
    parts: list[Any] = [html.heading("Households and organizations", level=3)]
    if run is None:
        return parts + [html.note(
            f"No households stored for {ds.name} yet. Group its customers who share an address, phone or inbox "
            f"(and branches of one organization) with: workbench households {ds.name} (or, in a notebook, "
            f"workbench.households.households_from_workspace(ws, {ds.name!r})). This page then shows their sizes.")]
    sizes = pd.DataFrame(run.get("sizes") or [], columns=["kind", "size", "households"])
    multi = sizes[sizes["size"] > 1]
    people = multi[multi["kind"] == "person"]
    orgs = multi[multi["kind"] == "organization"]
    tiles = [("households of 2+ people", f"{int(people['households'].sum()):,}"),
             ("people in them", f"{int((people['size'] * people['households']).sum()):,}")]
    if len(orgs) or run.get("organizations"):
        tiles += [("organization groups of 2+", f"{int(orgs['households'].sum()):,}"),
                  ("organizations in them", f"{int((orgs['size'] * orgs['households']).sum()):,}")]
    tiles.append(("shared values too common to link", f"{int(run.get('skipped_values', 0)):,}"))
    parts += [html.tiles(tiles), plots.household_sizes_chart(sizes)]
    links = run.get("links") or {}
    if links:
        parts.append(html.note("Customers joined to their household by: " + ", ".join(
            f"{name} {int(n):,}" for name, n in sorted(links.items(), key=lambda kv: -int(kv[1])))))
    if run.get("clustering") and run.get("clustering") != c.result.get("folder"):
        parts.append(html.note(f"These households were grouped from an earlier clustering; run "
                               f"workbench households {ds.name} again to bring them up to date."))
    return parts


def clusters_of(ws: Workspace, c: StoredClustering) -> pd.DataFrame:
    """The run's clusters with review decisions applied (``workbench.review.current_clusters``)."""
    from workbench.review import current_clusters

    return current_clusters(ws, c.dataset)  # keys and cluster ids as text


# -- figures from the clusters ------------------------------------------------------------------
def size_counts(clusters: pd.DataFrame) -> pd.DataFrame:
    """Clusters and records per cluster size (``size``, ``clusters``, ``records``), from ``cluster_size``."""
    records = clusters["cluster_size"].value_counts().sort_index()
    sizes = records.index.to_numpy().astype("int64")
    return pd.DataFrame({"size": sizes, "clusters": records.to_numpy() // sizes, "records": records.to_numpy()})


def per_cluster(clusters: pd.DataFrame) -> pd.DataFrame:
    """One row per cluster of two or more records: ``cluster_id``, ``size``, ``confidence`` (lowest), ``reviewed``."""
    from workbench.review import multi_record

    multi = multi_record(clusters)
    if multi.empty:
        return pd.DataFrame({"cluster_id": pd.Series(dtype=str), "size": pd.Series(dtype="int64"),
                             "confidence": pd.Series(dtype=float), "reviewed": pd.Series(dtype=bool)})
    g = multi.groupby("cluster_id", sort=False)
    return pd.DataFrame({"size": g["key"].size(), "confidence": g["confidence"].min().astype(float),
                         "reviewed": g["reviewed"].any()}).reset_index()


def headline(clusters: pd.DataFrame, sizes: pd.DataFrame, multi: pd.DataFrame) -> dict[str, Any]:
    """The figures a reader asks first: duplicate rate and how much of it is reviewed.

    The duplicate rate is the share of records that are extra copies, (records -
    clusters) / records: what merging every cluster into one record would remove.
    """
    records = len(clusters)
    n_clusters = int(sizes["clusters"].sum())
    duplicates = records - n_clusters
    return {"records": records, "clusters": n_clusters, "duplicate_records": duplicates,
            "duplicate_rate": 100.0 * duplicates / records if records else 0.0,
            "multi_clusters": len(multi), "records_in_multi": int(multi["size"].sum()),
            "largest": int(sizes["size"].max()) if len(sizes) else 0,
            "reviewed": int(multi["reviewed"].sum())}


def id_churn(ws: Workspace, ds: Dataset) -> pd.DataFrame:
    """Per finished clustering of the dataset (any version), its cluster id changes by kind, from the
    runs' stored figures (counts only): run, new, merge, split, move, retire."""
    rows = []
    for rid, result in ws.finished_runs("dedupe", name=ds.name):
        figures = result.get("figures") or {}
        if "ids_new" in figures:
            rows.append({"run": rid, **{e: int(figures.get(f"ids_{e}", 0)) for e in plots.ID_EVENT_COLORS}})
    return pd.DataFrame(rows, columns=["run", *plots.ID_EVENT_COLORS]).sort_values("run", ignore_index=True)


def label_counts(ws: Workspace, task: str) -> pd.DataFrame:
    """Labels of ``task`` per analyst and answer (``analyst``, ``label``, ``labels``); undone ones as "undone"."""
    from workbench.matching.labels import LabelStore

    return LabelStore(ws, task).by_analyst()


def source_combinations(ws: Workspace, ds: Dataset, clusters: pd.DataFrame) -> pd.DataFrame | None:
    """Multi-record clusters per combination of sources ("crm + web"), or None without a source column."""
    source = ds.schema.column_for(Role.SOURCE)
    if source is None or not ds.key:
        return None
    from workbench.review import multi_record

    members = multi_record(clusters)[["key", "cluster_id"]]
    rows = dataset_rows.sql_source(ds.workspace.artifact_path(ds, artifacts.DATA))
    con = duckdb.connect()
    try:
        con.register("members", members)
        return con.execute(f"""
            SELECT sources, count(*) AS clusters FROM (
                SELECT m.cluster_id,
                       string_agg(DISTINCT coalesce(CAST(d.{_q(source)} AS VARCHAR), '(none)'), ' + '
                                  ORDER BY coalesce(CAST(d.{_q(source)} AS VARCHAR), '(none)')) AS sources
                FROM members m JOIN {rows} d ON CAST(d.{_q(ds.key)} AS VARCHAR) = m.key
                GROUP BY m.cluster_id)
            GROUP BY sources ORDER BY clusters DESC, sources""").df()
    finally:
        con.close()


def review_members(ws: Workspace, ds: Dataset, clusters: pd.DataFrame, queue: pd.DataFrame, *,
                   masked: bool = True) -> pd.DataFrame:
    """The records of the clusters in ``queue`` (in its order), PII masked unless ``masked=False``."""
    key = ds.key or "key"
    columns = [key] + [c for role in MEMBER_ROLES for c in ds.schema.columns_with(role) if c != key]
    columns = list(dict.fromkeys(columns))
    members = clusters[clusters["cluster_id"].isin(queue["cluster_id"])][["key", "cluster_id"]]
    if members.empty:
        return pd.DataFrame(columns=["cluster", "confidence", *columns])
    con = duckdb.connect()
    try:
        con.register("members", members)
        rows = con.execute(
            f"SELECT m.cluster_id AS __cluster, {', '.join('d.' + _q(c) for c in columns)} "
            f"FROM members m JOIN {dataset_rows.sql_source(ds.workspace.artifact_path(ds, artifacts.DATA))} d "
            f"ON CAST(d.{_q(key)} AS VARCHAR) = m.key").df()
    finally:
        con.close()
    shown = mask_frame(rows[columns], ds.schema, enabled=masked)
    order = {cid: i for i, cid in enumerate(queue["cluster_id"])}
    confidence = dict(zip(queue["cluster_id"], queue["confidence"], strict=True))
    shown.insert(0, "confidence", [f"{confidence[c]:.2f}" for c in rows["__cluster"]])
    shown.insert(0, "cluster", rows["__cluster"].to_numpy())
    shown["_order"] = [order[c] for c in rows["__cluster"]]
    shown["_key"] = rows[key].astype(str).to_numpy()
    shown = shown.sort_values(["_order", "_key"], kind="stable").drop(columns=["_order", "_key"])
    first = ~shown["cluster"].duplicated()
    shown["cluster"] = shown["cluster"].where(first, "")  # cluster and confidence once, on its first record
    shown["confidence"] = shown["confidence"].where(first, "")
    return shown.reset_index(drop=True)


# -- the page's figures, cached per clustering and review state -----------------------------------
def decisions_stamp(ws: Workspace, task: str) -> str:
    """Changes whenever a review decision of ``task`` is made or undone (one cheap query)."""
    from workbench.review import ReviewDecisions

    return ReviewDecisions(ws, task).stamp()


#: Summaries a read-only kernel computed, by cache file: it may not write them.
_IN_MEMORY: dict[str, dict[str, Any]] = {}


def summary(ws: Workspace, c: StoredClustering) -> dict[str, Any]:
    """What the page shows of a clustering, small (counts, bins, the review queue's head), cached on disk.

    Applying review decisions to a million-record clustering and aggregating it
    takes seconds; the result only changes with a new clustering or a new review
    decision, so it is kept next to the run's clusters (``dashboard-summary.json``)
    and reused until the decisions stamp moves. ``warm`` fills it before a viewer asks.
    A read-only workspace (a dashboard kernel) never writes it: it keeps what it
    computed in memory for the life of the kernel.
    """
    task = c.result.get("task") or f"dedupe:{c.dataset.name}"
    stamp = decisions_stamp(ws, task)
    cache = ws.path / c.result["folder"] / "dashboard-summary.json"
    remembered = _IN_MEMORY.get(str(cache))
    if remembered is not None and remembered.get("stamp") == stamp:
        return remembered
    try:
        cached = json.loads(cache.read_text())
        if cached.get("version") == SUMMARY_VERSION and cached.get("stamp") == stamp:
            return cached
    except (OSError, ValueError):
        pass
    clusters = clusters_of(ws, c)
    sizes = size_counts(clusters)
    multi = per_cluster(clusters)
    queue = multi[~multi["reviewed"]].sort_values(["confidence", "size", "cluster_id"],
                                                  ascending=[True, False, True], kind="stable")
    top = queue.head(REVIEW_CLUSTERS)
    combos = source_combinations(ws, c.dataset, clusters)
    data = {
        "version": SUMMARY_VERSION, "stamp": stamp,
        "headline": headline(clusters, sizes, multi),
        "sizes": sizes.to_dict("records"),
        "confidence_bins": plots.confidence_bins(multi["confidence"]).to_dict("records"),
        "queue_length": len(queue), "multi_clusters": len(multi),
        "queue_top": top.to_dict("records"),
        "queue_members": clusters.loc[clusters["cluster_id"].isin(top["cluster_id"]),
                                      ["key", "cluster_id"]].to_dict("records"),
        "source_combinations": None if combos is None else combos.to_dict("records"),
    }
    data = json.loads(json.dumps(data, default=store.json_value))  # what a cache read would give
    if getattr(ws, "read_only", False):
        _IN_MEMORY[str(cache)] = data
        return data
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data))
        os.replace(tmp, cache)
    except OSError:  # a read-only workspace: the page still works, it just recomputes
        tmp.unlink(missing_ok=True)
    return data


def warm(ws: Workspace) -> None:
    """Compute the cached summaries of every stored clustering (a preheated kernel does this before a viewer)."""
    for c in stored_clusterings(ws):
        try:
            summary(ws, c)
        except (OSError, KeyError, WorkbenchError):
            pass  # the page says what is wrong when it is viewed


# -- page sections ---------------------------------------------------------------------------------
def _dataset_section(ws: Workspace, c: StoredClustering, *, masked: bool = True) -> list[Any]:
    ds, result = c.dataset, c.result
    when = str(c.finished_at)[:16]
    try:
        s = summary(ws, c)
    except (OSError, KeyError) as exc:
        return [html.heading(f"{ds.label}: clustered {when}", level=2),
                html.note(f"The stored clusters of this run cannot be read ({type(exc).__name__}); "
                          "cluster the dataset again.")]
    h = s["headline"]
    threshold = result.get("threshold")
    parts: list[Any] = [
        html.heading(f"{ds.label}: {h['records']:,} records in {h['clusters']:,} clusters, clustered {when}"
                     + (f" (match threshold {threshold:.2f})" if isinstance(threshold, int | float) else ""),
                     level=2),
        html.tiles([("duplicate rate", f"{h['duplicate_rate']:.1f}%"),
                    ("duplicate records", f"{h['duplicate_records']:,}"),
                    ("clusters of 2+ records", f"{h['multi_clusters']:,}"),
                    ("records in them", f"{h['records_in_multi']:,}"),
                    ("largest cluster", f"{h['largest']:,}"),
                    ("clusters reviewed", f"{h['reviewed']:,} of {h['multi_clusters']:,}")]),
        plots.cluster_sizes(pd.DataFrame(s["sizes"], columns=["size", "clusters", "records"])),
        plots.confidence_histogram(pd.DataFrame(s["confidence_bins"], columns=["start", "end", "clusters"])),
    ]
    parts.append(html.heading("Clusters needing review" + (" (personal data masked)" if masked else ""), level=3))
    if not s["queue_length"]:
        parts.append(html.note("Every cluster of two or more records has been reviewed." if s["multi_clusters"]
                               else "No cluster of two or more records: nothing to review."))
    else:
        top = pd.DataFrame(s["queue_top"])
        members = pd.DataFrame(s["queue_members"], columns=["key", "cluster_id"])
        parts.append(html.note(f"The {len(top)} least confident of {s['queue_length']:,} clusters not reviewed "
                               "yet; review them in notebooks/03_review_clusters.ipynb."))
        parts.append(html.table(review_members(ws, ds, members, top, masked=masked), max_rows=500))
    parts.append(plots.id_churn_chart(id_churn(ws, ds)))
    parts += household_section(ws, c)
    parts.append(plots.labels_by_analyst(label_counts(ws, result.get("task") or f"dedupe:{ds.name}")))
    if s["source_combinations"] is None:
        parts.append(html.note("This dataset has no source column: overlap between sources cannot be shown."))
    else:
        parts.append(plots.source_overlap(pd.DataFrame(s["source_combinations"], columns=["sources", "clusters"])))
    return parts


def link_section(link: dict[str, Any]) -> list[Any]:
    overall = next((r for r in link["overlap"] if r.get("source") == "all"), link["overlap"][-1])
    records = int(overall.get("records", 0))

    def share(n: int) -> str:
        return f"{n:,} ({100.0 * n / records:.1f}%)" if records else f"{n:,}"

    return [
        html.heading(f"{link['acquired']} against {link['master']}, linked {str(link['finished_at'])[:16]}",
                     level=3),
        html.tiles([("acquired records", f"{records:,}"), ("already ours", share(int(overall.get("match", 0)))),
                    ("ambiguous", share(int(overall.get("ambiguous", 0)))), ("new", share(int(overall.get("new", 0))))]),
        plots.link_overlap(link["overlap"], f"{link['acquired']}: records already in {link['master']}, by source"),
    ]


def _q(name: str) -> str:
    """A column name quoted for DuckDB SQL."""
    return '"' + str(name).replace('"', '""') + '"'
