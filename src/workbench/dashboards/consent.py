"""Consent dashboard: who may be contacted, per channel and purpose, before and after merging duplicates.

For each dataset with consent columns (the latest version of each name) the
page reads the consent, date, source and key columns from the dataset's
Parquet file (never the whole table) and the record -> golden record
crosswalk of its latest golden-record run, or, before golden records are
built, its current clustering with review decisions applied. It shows:

- reachable customers per channel and purpose: records alone (before
  merging) against golden records (after), and the status mix after;
- how each consent column was read (channel, purpose, inverted, date) and
  the columns left out because their channel is unknown;
- the mapping of raw values to granted / denied / unknown, unknowns flagged;
- golden records whose members' statements conflict, with those statements;
- records that lost or gained consent by being merged.

Rules and vocabulary are ``workbench.consent``'s. A consent YAML is taken
from ``config=`` or, when there is none, from ``consent.yaml`` in the
workspace folder. Dates are masked like any personal date unless
``masked=False``; every value is HTML-escaped. What a page computed is kept
in memory for the kernel's life and reused while no new load, clustering,
review decision or golden run changes it (``warm`` fills it early).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from workbench import consent
from workbench.dashboards import html, render, reveal_allowed
from workbench.errors import WorkbenchError
from workbench.masking import mask_series
from workbench.plots import chart_text, themed_figure
from workbench.schema import Role, Schema
from workbench.workspace import Dataset, Workspace

#: Golden records with conflicting statements listed on the page, and records that lost or gained consent.
CONFLICTS_SHOWN = 15
CHANGES_SHOWN = 100
STATUS_COLORS = {"granted": "#2a9d8f", "denied": "#e76f51", "unknown": "#e9c46a", "no statement": "#adb5bd"}
BEFORE_COLOR, AFTER_COLOR = "#8d99ae", "#264653"

#: A party for the records: one type for all, per dataset name, or a function of the dataset and its frame
#: (e.g. ``lambda ds, frame: provenance.party_of_records(frame, ds.provenance, source_column)``).
Party = str | Mapping[str, Any] | Callable[[Dataset, pd.DataFrame], Any] | None

_CACHE: dict[tuple, dict[str, Any]] = {}


def build(ws: Workspace, *, masked: bool = True, dataset: str | None = None,
          config: consent.ConsentConfig | Mapping[str, Any] | str | Path | None = None,
          party: Party = None) -> list[Any]:
    """The page as displayable parts (HTML strings and plotly figures)."""
    reveal_allowed(ws, "consent", masked)
    try:
        cfg = _config(ws, config)
    except WorkbenchError as exc:
        return [html.heading("Consent", level=2),
                html.note(f"The consent YAML cannot be read: {exc}. Fix it, then reload the page.")]
    datasets = consent_datasets(ws, cfg, dataset)
    if not datasets:
        where = f"dataset {dataset!r}" if dataset else f"{ws.path}"
        return [html.tiles([("datasets with consent", "0")]),
                html.note(f"No consent columns in {where}: no column is named like consent, opt-in, newsletter or "
                          "unsubscribed. Name them in a consent YAML (consent: columns: ...) or in the schema "
                          "(role: consent).")]

    def readable(ds: Dataset) -> bool:
        try:
            return len(analysis(ws, ds, cfg, party=party)["statements"]) > 0
        except (OSError, KeyError, WorkbenchError):
            return True  # its section says what is wrong

    parts: list[Any] = []
    for ds in sorted(datasets, key=lambda ds: not readable(ds)):  # those with statements first, then newest
        parts += _dataset_section(ws, ds, cfg, party=party, masked=masked)
    return parts


def show(ws: Workspace, *, masked: bool = True, dataset: str | None = None,
         config: consent.ConsentConfig | Mapping[str, Any] | str | Path | None = None,
         party: Party = None) -> None:
    """Display the page in a notebook or Voilà."""
    render.show(build(ws, masked=masked, dataset=dataset, config=config, party=party))


def warm(ws: Workspace, *, dataset: str | None = None,
         config: consent.ConsentConfig | Mapping[str, Any] | str | Path | None = None, party: Party = None) -> None:
    """Compute each dataset's consent figures before a viewer asks (a preheated kernel calls this)."""
    try:
        cfg = _config(ws, config)
        for ds in consent_datasets(ws, cfg, dataset):
            analysis(ws, ds, cfg, party=party)
    except (OSError, KeyError, WorkbenchError):
        pass  # the page says what is wrong when it is viewed


# -- what is stored ------------------------------------------------------------------------------
def _config(ws: Workspace, config: Any) -> consent.ConsentConfig:
    if config is None or config == "":
        default = ws.path / "consent.yaml"
        return consent.load_config(default) if default.is_file() else consent.ConsentConfig()
    return consent.ConsentConfig.coerce(config)


def consent_datasets(ws: Workspace, cfg: consent.ConsentConfig, name: str | None = None) -> list[Dataset]:
    """The latest version of each dataset (or of ``name``) that has a consent column, most recent first."""
    if name:
        try:
            candidates = [ws.dataset(name)]
        except WorkbenchError:
            return []
    else:
        rows = ws.datasets().drop_duplicates("name", keep="first")  # newest first
        candidates = [ws.dataset_by_id(int(i)) for i in rows["id"]]
    return [ds for ds in candidates
            if ds.schema.columns_with(Role.CONSENT) or any(c in ds.schema.names for c in cfg.columns)]


def crosswalk_source(ws: Workspace, ds: Dataset) -> tuple[str, str, Callable[[], pd.DataFrame] | None]:
    """(where the record -> golden_id crosswalk comes from, a stamp that changes when it does, its reader).

    The latest golden-record run's crosswalk; before golden records are
    built, the current clustering with review decisions applied; None when
    the dataset is not clustered. Only the stamp is computed here (cheap).
    """
    runs = ws.runs("golden", ds)
    for row in runs[runs["status"] == "done"].itertuples():
        result = row.result if isinstance(row.result, dict) else {}
        path = ws.path / result["crosswalk"] if result.get("crosswalk") else None
        if path is not None and path.is_file():
            return (f"golden records of run {row.id}, built {str(row.finished_at)[:16]}", f"golden:{row.id}",
                    lambda p=path: pd.read_parquet(p, columns=["record_key", "golden_id"]))
    dedupe = ws.latest_result("dedupe", ds)
    if not dedupe:
        return "not clustered yet", "none", None
    from workbench.dashboards.duplicates import decisions_stamp

    stamp = f"clusters:{dedupe.get('folder')}:{decisions_stamp(ws, dedupe.get('task') or f'dedupe:{ds.name}')}"

    def clusters() -> pd.DataFrame:
        from workbench.review import current_clusters

        return current_clusters(ws, ds)[["key", "cluster_id"]].rename(
            columns={"key": "record_key", "cluster_id": "golden_id"})
    return "clusters with review decisions applied (no golden records built yet)", stamp, clusters


def analysis(ws: Workspace, ds: Dataset, cfg: consent.ConsentConfig, *, party: Party = None) -> dict[str, Any]:
    """Statements, golden consent and the merge effect of ``ds``, reused while nothing they depend on changed."""
    origin, stamp, read_crosswalk = crosswalk_source(ws, ds)
    key = (str(ws.path), ds.id, stamp, repr(cfg), _party_key(party, ds))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    who = party.get(ds.name) if isinstance(party, Mapping) else party
    if callable(who):
        fn = who
        who = lambda frame: fn(ds, frame)  # noqa: E731
    st = consent.of_dataset(ds, cfg, party=who)
    effect = None
    if read_crosswalk is not None and len(st):
        try:
            effect = consent.merge_effect(st, read_crosswalk())
        except (OSError, WorkbenchError) as exc:
            origin = f"its clustering cannot be read ({type(exc).__name__})"
    result = {"statements": st, "effect": effect, "origin": origin,
              "records_alone": consent.golden_consent(st) if effect is None else effect.records}
    if len(_CACHE) > 32:  # a long-lived kernel: keep memory bounded
        _CACHE.clear()
    _CACHE[key] = result
    return result


def _party_key(party: Party, ds: Dataset) -> str:
    if isinstance(party, Mapping):
        party = party.get(ds.name)
    return f"fn:{id(party)}" if callable(party) else repr(party)


# -- figures -------------------------------------------------------------------------------------
def _combo(channel: Any, purpose: Any) -> str:
    return chart_text(f"{channel} · {purpose}")


def reachable_bars(summary: pd.DataFrame, *, merged: bool = True) -> go.Figure:
    """Reachable customers per channel and purpose: records alone, and golden records after merging.

    ``summary``: ``MergeEffect.summary`` (or, unmerged, channel, purpose,
    records, reachable_records).
    """
    labels = [_combo(c, p) for c, p in zip(summary["channel"], summary["purpose"], strict=True)]
    bars = [go.Bar(x=labels, y=summary["reachable_records"].tolist(), name="records, before merging",
                   marker_color=BEFORE_COLOR, text=[f"{v:,}" for v in summary["reachable_records"]],
                   textposition="auto", customdata=summary["records"].tolist(),
                   hovertemplate="%{x}: %{y:,} of %{customdata:,} records reachable<extra></extra>")]
    if merged:
        bars.append(go.Bar(x=labels, y=summary["reachable_golden"].tolist(), name="golden records, after merging",
                           marker_color=AFTER_COLOR, text=[f"{v:,}" for v in summary["reachable_golden"]],
                           textposition="auto", customdata=summary["golden_records"].tolist(),
                           hovertemplate="%{x}: %{y:,} of %{customdata:,} golden records reachable"
                                         "<extra></extra>"))
    title = ("Reachable customers (consent granted), before and after merging" if merged
             else "Reachable records (consent granted); not merged yet")
    if summary.empty:
        title += ": no consent statement"
    return themed_figure(bars, title, 360, barmode="group", xaxis=dict(title="channel · purpose", type="category"),
                   yaxis=dict(title="customers", gridcolor="#eaecef"))


def status_mix(golden: pd.DataFrame, totals: int, *, unit: str = "golden records") -> go.Figure:
    """Granted / denied / unknown / no statement per channel and purpose (``golden_consent`` rows)."""
    combos = golden[["channel", "purpose"]].drop_duplicates().sort_values(["channel", "purpose"])
    labels = [_combo(c, p) for c, p in combos.itertuples(index=False)]
    counts = golden.groupby(["channel", "purpose", "status"]).size()
    rows = golden.groupby(["channel", "purpose"]).size()
    bars = []
    for status, color in STATUS_COLORS.items():
        if status == "no statement":
            values = [max(totals - int(rows.get((c, p), 0)), 0) for c, p in combos.itertuples(index=False)]
        else:
            values = [int(counts.get((c, p, status), 0)) for c, p in combos.itertuples(index=False)]
        if sum(values):
            bars.append(go.Bar(x=values, y=labels, orientation="h", name=status, marker_color=color,
                               hovertemplate="%{y}: %{x:,} " + unit + " " + status + "<extra></extra>"))
    fig = themed_figure(bars, f"Consent of {unit} per channel and purpose", 190 + 40 * max(len(labels), 1),
                  barmode="stack", xaxis=dict(title=unit), yaxis=dict(autorange="reversed"))
    fig.layout.legend.update(y=-0.45, traceorder="normal")
    return fig


# -- tables --------------------------------------------------------------------------------------
def _dates(at: pd.Series, date_columns: pd.Series, schema: Schema, masked: bool) -> pd.Series:
    """Statement dates as text, masked as their date column is (a consent date may be personal)."""
    text = pd.Series([None if pd.isna(t) else (t.strftime("%Y-%m-%d") if t == t.normalize()
                                               else t.strftime("%Y-%m-%d %H:%M")) for t in at],
                     index=at.index, dtype=object)
    if not masked:
        return text
    out = text.copy()
    known = set(schema.names)
    for col in date_columns.dropna().unique():
        rows = (date_columns == col).to_numpy()
        out[rows] = mask_series(text[rows], schema[col] if col in known else None).to_numpy(dtype=object)
    out[date_columns.isna().to_numpy() & text.notna().to_numpy()] = mask_series(
        text[date_columns.isna() & text.notna()], None).to_numpy(dtype=object)  # a date from the value itself
    return out


def _values(values: pd.Series, columns: pd.Series, schema: Schema, masked: bool) -> pd.Series:
    """Raw consent values, masked where their column is not declared non-personal (consent columns are not)."""
    if not masked:
        return values.astype(object)
    out = values.astype(object).copy()
    known = set(schema.names)
    for col in columns.dropna().unique():
        rows = (columns == col).to_numpy()
        out[rows] = mask_series(values[rows], schema[col] if col in known else None).to_numpy(dtype=object)
    return out


def mapping_view(mapping: pd.DataFrame, schema: Schema, *, masked: bool = True) -> pd.DataFrame:
    """The value mapping for the page: unknowns flagged first within each column."""
    if mapping.empty:
        return pd.DataFrame(columns=["column", "value", "records", "status", "how it was read", "flag"])
    m = mapping.copy()
    m["value"] = _values(m["value"], m["column"], schema, masked)
    m["value"] = m["value"].where(m["value"].notna(), "(missing)")
    m["order"] = [0 if f else 1 if s is not None else 2 for f, s in zip(m["flagged"], m["status"], strict=True)]
    m["column_order"] = pd.factorize(m["column"])[0]
    m = m.sort_values(["column_order", "order", "records"], ascending=[True, True, False], kind="stable")
    return pd.DataFrame({
        "column": m["column"], "value": m["value"], "records": [f"{int(n):,}" for n in m["records"]],
        "status": m["status"].where(m["status"].notna(), "no statement"), "how it was read": m["how"],
        "flag": ["⚑ unknown" if f else "" for f in m["flagged"]],
    })


def conflicts_view(effect: consent.MergeEffect, st: consent.Statements, schema: Schema, *, masked: bool = True,
                   limit: int = CONFLICTS_SHOWN) -> pd.DataFrame:
    """Golden records whose members disagree, each with the members' statements (first ``limit`` records)."""
    conflicted = effect.golden[effect.golden["conflict"]].sort_values(["golden_id", "channel", "purpose"])
    ids = conflicted["golden_id"].drop_duplicates().head(limit)
    conflicted = conflicted[conflicted["golden_id"].isin(ids)]
    members = effect.crosswalk[effect.crosswalk["golden_id"].isin(ids)]
    rows = st.table.merge(members, on="record_key").merge(
        conflicted[["golden_id", "channel", "purpose", "status", "rule"]].rename(
            columns={"status": "decided", "rule": "rule"}), on=["golden_id", "channel", "purpose"])
    if rows.empty:
        return pd.DataFrame(columns=["golden record", "channel", "purpose", "decided", "rule", "record",
                                     "source", "party", "said", "on", "evidence"])
    rows = rows.sort_values(["golden_id", "channel", "purpose", "at", "record_key"], kind="stable",
                            na_position="first")
    evidence = rows["column"].astype(str) + "=" + _values(rows["value"], rows["column"], schema, masked).astype(str)
    out = pd.DataFrame({
        "golden record": rows["golden_id"].to_numpy(), "channel": rows["channel"].to_numpy(),
        "purpose": rows["purpose"].to_numpy(), "decided": rows["decided"].to_numpy(),
        "rule": rows["rule"].to_numpy(), "record": rows["record_key"].to_numpy(),
        "source": rows["source"].to_numpy(), "party": rows["party"].fillna("unknown").to_numpy(),
        "said": rows["status"].to_numpy(),
        "on": _dates(rows["at"], rows["date_column"], schema, masked).to_numpy(),
        "evidence": evidence.to_numpy(),
    })
    first = ~out[["golden record", "channel", "purpose"]].duplicated()
    for col in ("golden record", "channel", "purpose", "decided", "rule"):
        out[col] = out[col].where(first.to_numpy(), "")
    return out.reset_index(drop=True)


def changes_view(effect: consent.MergeEffect, *, limit: int = CHANGES_SHOWN) -> pd.DataFrame:
    """Records that lost or gained consent by merging (lost first)."""
    ch = effect.changes.sort_values(["change", "channel", "purpose", "golden_id", "record_key"],
                                    ascending=[False, True, True, True, True], kind="stable").head(limit)
    return pd.DataFrame({
        "record": ch["record_key"], "golden record": ch["golden_id"], "channel": ch["channel"],
        "purpose": ch["purpose"], "change": ch["change"], "alone": ch["before"], "merged": ch["after"],
        "decided by": [f"{consent.RULES.get(r, r)} (record {k})" if isinstance(k, str) else consent.RULES.get(r, r)
                       for r, k in zip(ch["rule"], ch["decided_by"], strict=True)],
    })


# -- the section of one dataset ------------------------------------------------------------------
def _dataset_section(ws: Workspace, ds: Dataset, cfg: consent.ConsentConfig, *, party: Party = None,
                    masked: bool = True) -> list[Any]:
    try:
        a = analysis(ws, ds, cfg, party=party)
    except (OSError, KeyError) as exc:
        return [html.heading(f"{ds.label}: consent", level=2),
                html.note(f"The stored data of this dataset cannot be read ({type(exc).__name__}).")]
    except WorkbenchError as exc:
        return [html.heading(f"{ds.label}: consent", level=2), html.note(str(exc))]
    st, effect = a["statements"], a["effect"]
    schema = ds.schema
    plan = [s for s in st.plan if s.problem != consent.NOT_IN_DATASET]  # a YAML may name other datasets' columns
    flagged = st.mapping[st.mapping["flagged"]] if len(st.mapping) else st.mapping
    with_statement = st.table["record_key"].nunique()
    head = f"{ds.label}: consent of {ds.rows_kept:,} records"
    if effect is not None:
        head += f", merged into {effect.crosswalk['golden_id'].nunique():,} golden records"
    parts: list[Any] = [html.heading(head, level=2)]
    tiles = [("consent columns read", f"{sum(1 for s in plan if not s.problem)} of {len(plan)}"),
             ("records with a statement", f"{with_statement:,}"),
             ("values read as unknown", f"{int(flagged['records'].sum()) if len(flagged) else 0:,}")]
    if effect is not None:
        tiles += [("conflicting golden records", f"{int(effect.golden['conflict'].sum()):,}"),
                  ("records losing consent", f"{int((effect.changes['change'] == 'lost').sum()):,}"),
                  ("records gaining consent", f"{int((effect.changes['change'] == 'gained').sum()):,}")]
    parts.append(html.tiles(tiles))
    parts.append(html.note(f"Merged by: {a['origin']}." if effect is not None else
                           f"Consent per record only: {a['origin']}. Cluster the dataset (and build golden "
                           "records) to see consent after merging." if len(st) else
                           "No consent statement could be read from this dataset."))
    for s in plan:
        if s.problem:
            parts.append(html.note(f"Left out: {s.column}: {s.problem}"))
    if len(st):
        if effect is not None:
            parts.append(reachable_bars(effect.summary))
            parts.append(status_mix(effect.golden, effect.crosswalk["golden_id"].nunique()))
            parts.append(html.heading("Reachable customers per channel and purpose", level=3))
            parts.append(html.table(_summary_view(effect.summary), max_rows=100))
        else:
            summary = _unmerged_summary(a["records_alone"], ds.rows_kept)
            parts.append(reachable_bars(summary, merged=False))
            parts.append(status_mix(a["records_alone"], ds.rows_kept, unit="records"))
    parts.append(html.heading("How the consent columns were read", level=3))
    parts.append(html.table(_plan_view(plan), max_rows=100))
    parts.append(html.heading("How values were read" + (" (unknowns flagged)" if len(flagged) else ""), level=3))
    parts.append(html.note("Case, spaces and punctuation do not matter; a value not in the vocabulary is unknown "
                           "and flagged. Add or change values under consent: values: in a consent YAML."))
    parts.append(html.table(mapping_view(st.mapping, schema, masked=masked), max_rows=200))
    if effect is not None:
        parts += _merge_parts(effect, st, schema, masked=masked)
    return parts


def _merge_parts(effect: consent.MergeEffect, st: consent.Statements, schema: Schema, *,
                 masked: bool) -> list[Any]:
    parts: list[Any] = []
    n_conflicts = int(effect.golden["conflict"].sum())
    parts.append(html.heading("Conflicts: members of one golden record say different things"
                              + (" (dates masked)" if masked else ""), level=3))
    if not n_conflicts:
        parts.append(html.note("No golden record has members whose explicit statements disagree."))
    else:
        view = conflicts_view(effect, st, schema, masked=masked)
        shown = view["golden record"].ne("").sum() if len(view) else 0
        parts.append(html.note(f"{n_conflicts:,} golden record/channel/purpose combinations conflict; the first "
                               f"{int(shown)} are shown with every member's statement. The latest explicit "
                               "statement wins; on the same date an opt-out wins; third-party data never grants."))
        parts.append(html.table(view, max_rows=500))
    lost, gained = (effect.changes["change"] == "lost").sum(), (effect.changes["change"] == "gained").sum()
    parts.append(html.heading("Consent lost or gained through merging", level=3))
    if not len(effect.changes):
        parts.append(html.note("Merging changed no record's reachability."))
    else:
        parts.append(html.note(f"{int(lost):,} records could be contacted alone but not as part of their golden "
                               f"record (lost); {int(gained):,} could not alone but can now (gained). "
                               f"First {min(len(effect.changes), CHANGES_SHOWN)} shown."))
        parts.append(html.table(changes_view(effect), max_rows=CHANGES_SHOWN))
    if effect.left_out:
        parts.append(html.note(f"{effect.left_out:,} statements are of records the clustering does not name: "
                               "left out of the merge."))
    return parts


def _summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    def share(n: int, total: int) -> str:
        return f"{n:,} ({100.0 * n / total:.1f}%)" if total else f"{n:,}"

    return pd.DataFrame({
        "channel": summary["channel"], "purpose": summary["purpose"],
        "reachable records (before)": [share(int(n), int(t)) for n, t in
                                       zip(summary["reachable_records"], summary["records"], strict=True)],
        "reachable golden records (after)": [share(int(n), int(t)) for n, t in
                                             zip(summary["reachable_golden"], summary["golden_records"],
                                                 strict=True)],
        "records losing consent": [f"{int(n):,}" for n in summary["lost"]],
        "records gaining consent": [f"{int(n):,}" for n in summary["gained"]],
        "conflicting golden records": [f"{int(n):,}" for n in summary["conflicts"]],
    })


def _unmerged_summary(records: pd.DataFrame, total: int) -> pd.DataFrame:
    g = records.assign(granted=records["status"] == consent.GRANTED).groupby(["channel", "purpose"])["granted"]
    out = g.sum().reset_index(name="reachable_records")
    out["records"] = total
    return out


def _plan_view(plan: list[consent.ColumnSpec]) -> pd.DataFrame:
    p = consent.consent_plan_frame(plan)
    return pd.DataFrame({
        "column": p["column"], "channel": p["channel"].fillna("(unknown)"), "purpose": p["purpose"],
        "inverted": ["yes: a Y there means no" if v else "no" for v in p["inverted"]],
        "date from": p["date_column"].fillna("(no date)"), "how": p["how"],
        "problem": p["problem"].fillna(""),
    })
