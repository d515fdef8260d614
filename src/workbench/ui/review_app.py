"""Cluster review widget: walk the queue, see members side by side, split, merge, verify, undo.

    from workbench.ui.review_app import ReviewApp
    ReviewApp(ws, "customers")              # personal data masked by role
    ReviewApp(ws, "customers", mask_pii=False)

A thin client of ``workbench.review.ClusterReview``: every decision is stored
in the workspace the moment the button is pressed, and errors are shown in the
widget (ipywidgets would only log them). Every value is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as W
import pandas as pd

from workbench.access import authorize_reveal
from workbench.errors import WorkbenchError
from workbench.households import household_of
from workbench.masking import mask_free_text, value_masker, value_maskers
from workbench.review import ClusterReview
from workbench.templating import Markup, fragment, stylesheet
from workbench.ui.diff import pieces, record_table
from workbench.ui.feedback import error_text, guarded

SORT_OPTIONS = [("lowest confidence first", "confidence"), ("largest first", "size")]
ALL_SOURCES = "__all__"
ALL_TAGS = "__all__"

def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def member_grid(members: pd.DataFrame, columns: list[str], *, mask: dict[str, Callable] | None = None,
                source: str | None = None) -> str:
    """Members side by side (one column each), differences from the first member marked; all escaped."""
    mask = mask or {}
    rows = []
    for col in columns:
        raw = [_text(v) for v in members[col]]
        m = mask.get(col)
        shown = [v if v is None or m is None else _text(m(v)) for v in raw]
        state = "wb-same" if len(set(raw)) <= 1 else "wb-differs"
        cells = [None if v is None else pieces(shown[0], v)[1] if j else [(v, False)] for j, v in enumerate(shown)]
        rows.append({"classes": f"wb-row {state}" + (" wb-source" if col == source else ""), "name": col,
                     "cells": cells})
    heads = [(str(k), float(c)) for k, c in zip(members.index, members["_confidence"], strict=True)]
    return fragment("review.html", "member_grid", members=heads, rows=rows)


def notes_html(notes: list, *, mask: bool) -> str:
    """A cluster's tags (badges) and notes (analyst, time, text); emails, phones and dates in notes
    masked when ``mask``; everything escaped."""
    written = [{"analyst": a.analyst, "when": str(a.at)[:16], "on": None if a.target_kind == "cluster" else a.keys[0],
                "text": (_text(mask_free_text(pd.Series([a.text], dtype=object)).iloc[0]) if mask else a.text) or ""}
               for a in notes if a.kind == "note"]
    return fragment("review.html", "notes", tags=sorted({a.text for a in notes if a.kind == "tag"}), notes=written)


def household_line(house: pd.DataFrame) -> str:
    """The cluster's household (``workbench.households.household_of``): its id, size, what links it, the
    other clusters in it; empty when no households run knows the cluster."""
    if house.empty:
        return ""
    h = house.iloc[0]
    others = list(h["other_clusters"])
    shown = ", ".join(map(str, others[:10])) + (f" and {len(others) - 10} more" if len(others) > 10 else "")
    return fragment("review.html", "household_line",
                    what="organization group" if h["kind"] == "organization" else "household",
                    household_id=str(h["household_id"]), size=int(h["size"]),
                    reasons=str(h["reasons"]) if h["reasons"] else "", others=shown if others else "")


def links_table(links: pd.DataFrame, threshold: float | None) -> str:
    """The scored pairs of a cluster: which ones joined it (at or above the threshold), and labels."""
    rows = [(str(a), str(b), float(s), bool(j), str(lab) if lab else "")
            for a, b, s, j, lab in links[["left_key", "right_key", "score", "joined", "label"]].itertuples(index=False)]
    return fragment("review.html", "links_table", links=rows, threshold=threshold)


def explanation_table(expl: pd.DataFrame, *, mask: bool) -> str:
    """A link's per-field explanation: standardized values (masked), similarity, contribution."""
    as_text = value_masker(None) if mask else None
    rows = []
    for r in expl.itertuples(index=False):
        left, right = _text(r.left), _text(r.right)
        if as_text is not None:
            left = None if left is None else _text(as_text(left))
            right = None if right is None else _text(as_text(right))
        rows.append({"field": str(r.field), "left": left, "right": right, "distance": float(r.distance),
                     "contribution": float(r.contribution)})
    score = expl.attrs.get("score")
    return fragment("review.html", "explanation_table", rows=rows, score=None if score is None else float(score))


def status_line(cluster_id: str, records: int, confidence: float, decision: Any, sources: str, household: str) -> str:
    """The line above the members: the cluster, its size and lowest confidence, sources, decision, household."""
    return fragment("review.html", "status", cluster_id=cluster_id, records=records, confidence=float(confidence),
                    sources=sources, decision=None if decision is None or pd.isna(decision) else str(decision),
                    household=Markup(household))


class ReviewApp:
    """Review the clusters of ``dataset``'s latest clustering; display the app with ``app`` or by itself."""

    def __init__(self, ws, dataset, *, mask_pii: bool = True):
        if not mask_pii:  # stewards and admins only, audited (refused otherwise)
            authorize_reveal(ws, f"cluster review of {getattr(dataset, 'name', dataset)}")
        self.mask_pii = mask_pii
        self.review = ClusterReview(ws, dataset)
        ds = self.review.dataset
        self.columns = [c for c in ds.schema.names if c != ds.key]
        self.masks = value_maskers(ds.schema, self.columns) if mask_pii else {}
        self.queue = pd.DataFrame()
        self.pos = 0
        self.cluster_id: str | None = None
        self._build()
        if self.review.run is None:
            self._say(self.review.message)
            self.empty.value = fragment("parts.html", "note", text=self.review.message)
            self.empty.layout.display = None
            for w in self._controls:
                w.disabled = True
            return
        self._reload()

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.sort = W.Dropdown(options=SORT_OPTIONS, value="confidence", description="Order")
        sources = [("all sources", ALL_SOURCES)] + [(s, s) for s in self.review.sources()]
        self.source = W.Dropdown(options=sources, value=ALL_SOURCES, description="Source")
        self.unreviewed = W.Checkbox(value=False, description="hide reviewed", indent=False)
        self.tag_filter = W.Dropdown(options=self._tag_options(), value=ALL_TAGS, description="Tag")
        self.notes_html = W.HTML()
        self.note_text = W.Text(placeholder="a note on this cluster", description="Note")
        self.add_note = W.Button(description="Add note", icon="sticky-note")
        self.tag_text = W.Text(placeholder="tag, e.g. vip", description="Tag")
        self.add_tag = W.Button(description="Tag cluster", icon="tag")
        self.prev = W.Button(description="Previous", icon="arrow-left")
        self.next = W.Button(description="Next", icon="arrow-right")
        self.position = W.HTML()
        self.status = W.HTML()
        self.members_html = W.HTML()
        self.links_html = W.HTML()
        self.link = W.Dropdown(options=[], description="Link")
        self.explain = W.Button(description="Explain link", icon="question")
        self.explanation = W.HTML()
        self.record = W.Dropdown(options=[], description="Record")
        self.split = W.Button(description="Split selected record", icon="scissors", button_style="warning")
        self.merge_target = W.Combobox(options=[], placeholder="cluster id or record key",
                                       description="Merge with", ensure_option=False)
        self.merge = W.Button(description="Merge with cluster", icon="compress")
        self.verify = W.Button(description="Verify", icon="check", button_style="success")
        self.undo = W.Button(description="Undo", icon="undo")
        self.message = W.HTML()
        self.empty = W.HTML(layout=W.Layout(display="none"))
        for widget, css in [
            (self.sort, "wb-review-sort"), (self.source, "wb-review-source"),
            (self.unreviewed, "wb-review-unreviewed"), (self.prev, "wb-review-prev"),
            (self.next, "wb-review-next"), (self.position, "wb-review-position"),
            (self.status, "wb-review-status"), (self.members_html, "wb-review-members"),
            (self.links_html, "wb-review-links"), (self.link, "wb-review-link"),
            (self.explain, "wb-review-explain"), (self.explanation, "wb-review-explanation"),
            (self.record, "wb-review-record"), (self.split, "wb-review-split"),
            (self.merge_target, "wb-review-merge-target"), (self.merge, "wb-review-merge"),
            (self.verify, "wb-review-verify"), (self.undo, "wb-review-undo"),
            (self.message, "wb-review-message"), (self.empty, "wb-review-empty"),
            (self.tag_filter, "wb-review-tag-filter"), (self.notes_html, "wb-review-notes"),
            (self.note_text, "wb-review-note-text"), (self.add_note, "wb-review-add-note"),
            (self.tag_text, "wb-review-tag-text"), (self.add_tag, "wb-review-add-tag"),
        ]:
            widget.add_class(css)
        for button in (self.prev, self.next, self.explain, self.split, self.merge, self.verify, self.undo,
                       self.add_note, self.add_tag):
            button.layout.width = "auto"
        self._controls = [self.sort, self.source, self.unreviewed, self.prev, self.next, self.link, self.explain,
                          self.record, self.split, self.merge_target, self.merge, self.verify, self.undo,
                          self.tag_filter, self.note_text, self.add_note, self.tag_text, self.add_tag]

        self.sort.observe(self._on_filter, names="value")
        self.source.observe(self._on_filter, names="value")
        self.unreviewed.observe(self._on_filter, names="value")
        self.tag_filter.observe(self._on_filter, names="value")
        self.add_note.on_click(self._on_note)
        self.add_tag.on_click(self._on_tag)
        self.prev.on_click(self._on_prev)
        self.next.on_click(self._on_next)
        self.explain.on_click(self._on_explain)
        self.split.on_click(self._on_split)
        self.merge.on_click(self._on_merge)
        self.verify.on_click(self._on_verify)
        self.undo.on_click(self._on_undo)

        self.app = W.VBox([
            W.HTML(stylesheet()),
            self.empty,
            W.HBox([self.sort, self.source, self.tag_filter, self.unreviewed]),
            W.HBox([self.prev, self.next, self.position]),
            self.status,
            W.HTML("<h4>Members</h4>"), self.members_html,
            W.HTML("<h4>Links that joined them</h4>"), self.links_html,
            W.HBox([self.link, self.explain]), self.explanation,
            W.HTML("<h4>Notes and tags</h4>"), self.notes_html,
            W.HBox([self.note_text, self.add_note]), W.HBox([self.tag_text, self.add_tag]),
            W.HTML("<h4>Decide</h4>"),
            W.HBox([self.record, self.split]),
            W.HBox([self.merge_target, self.merge]),
            W.HBox([self.verify, self.undo]),
            self.message,
        ])
        self.app.add_class("wb-review")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.app)

    # -- callbacks: one or two lines each ---------------------------------------------------
    @guarded
    def _on_filter(self, _change) -> None:
        self._reload()

    @guarded
    def _on_prev(self, _button) -> None:
        self._go(self.pos - 1)

    @guarded
    def _on_next(self, _button) -> None:
        self._go(self.pos + 1)

    @guarded
    def _on_explain(self, _button) -> None:
        self._show_explanation(*self.link.value)

    @guarded
    def _on_split(self, _button) -> None:
        dec = self.review.split(self.record.value)
        self._after(f"Split {dec.keys[0]} out of its cluster.", focus=dec.keys[1] if len(dec.keys) > 1 else None)

    @guarded
    def _on_merge(self, _button) -> None:
        dec = self.review.merge(self._selected(), self.merge_target.value)
        self._after(f"Merged into one cluster of {len(dec.keys)} records.", focus=dec.keys[0])

    @guarded
    def _on_verify(self, _button) -> None:
        dec = self.review.verify(self._selected())
        self._after(f"Verified cluster of {len(dec.keys)} records.", focus=dec.keys[0])

    @guarded
    def _on_note(self, _button) -> None:
        self.review.annotations.note(self.review.member_keys(self._selected()), self.note_text.value)
        self.note_text.value = ""
        self._after("Note added.", focus=self.cluster_id)

    @guarded
    def _on_tag(self, _button) -> None:
        tag = self.review.annotations.tag(self.review.member_keys(self._selected()), self.tag_text.value)
        self.tag_text.value = ""
        self.tag_filter.options = self._tag_options()
        self._after(f"Tagged {tag.text}.", focus=self.cluster_id)

    def _tag_options(self) -> list[tuple[str, str]]:
        return [("all tags", ALL_TAGS)] + [(t, t) for t in self.review.annotations.tags()]

    @guarded
    def _on_undo(self, _button) -> None:
        dec = self.review.undo()
        self._after(f"Undid {dec.action} of {', '.join(dec.keys)}." if dec else "Nothing of yours to undo.",
                    focus=dec.keys[0] if dec else self.cluster_id)

    # -- showing -------------------------------------------------------------------------
    def _selected(self) -> str:
        """The cluster on screen; an action without one gets a message, not a crash."""
        if self.cluster_id is None:
            raise WorkbenchError("no cluster selected: the review queue is empty")
        return self.cluster_id

    def _fail(self, exc: BaseException) -> None:
        self._say(error_text(exc), error=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.value = escape(text)
        if error:
            self.message.add_class("wb-error")
        else:
            self.message.remove_class("wb-error")

    def _reload(self, focus: str | None = None) -> None:
        """Rebuild the queue from the filters and show ``focus``'s cluster (or the one at the same place)."""
        source = None if self.source.value == ALL_SOURCES else self.source.value
        tag = None if self.tag_filter.value == ALL_TAGS else self.tag_filter.value
        self.queue = self.review.queue(self.sort.value, source, include_reviewed=not self.unreviewed.value, tag=tag)
        ids = list(self.queue["cluster_id"])
        if focus is not None and self.review.cluster_of(focus) in ids:
            self.pos = ids.index(self.review.cluster_of(focus))
        self._go(self.pos)

    def _after(self, text: str, *, focus: str | None) -> None:
        self._reload(focus)
        self._say(text)

    def _go(self, pos: int) -> None:
        n = len(self.queue)
        self.pos = max(0, min(pos, n - 1))
        self.prev.disabled = self.pos <= 0
        self.next.disabled = self.pos >= n - 1
        if n == 0:
            self.cluster_id = None
            self.position.value = "no cluster to review"
            for w in (self.status, self.members_html, self.links_html, self.explanation, self.notes_html):
                w.value = ""
            self.record.options, self.link.options = [], []
            return
        self.position.value = f"cluster {self.pos + 1:,} of {n:,}"
        self._show(str(self.queue.iloc[self.pos]["cluster_id"]))

    def _show(self, cluster_id: str) -> None:
        rv = self.review
        self.cluster_id = cluster_id
        row = rv.clusters[rv.clusters["cluster_id"] == cluster_id]
        members = rv.members(cluster_id)
        srcs = "" if not rv.source_column else ", ".join(
            sorted({str(v) for v in members[rv.source_column].dropna()}))
        house = household_line(household_of(rv.ws, [str(k) for k in members.index], dataset=rv.dataset.name))
        self.status.value = status_line(cluster_id, len(members), row["confidence"].min(), row["decision"].iloc[0],
                                        srcs, house)
        self.members_html.value = member_grid(members, self.columns, mask=self.masks, source=rv.source_column)
        links = rv.links(cluster_id)
        self.links_html.value = links_table(links, rv.threshold)
        self.link.options = [(f"{a} – {b} ({s:.2f})", (a, b)) for a, b, s in
                             links[["left_key", "right_key", "score"]].itertuples(index=False)]
        self.link.value = self.link.options[0][1] if self.link.options else None
        self.explain.disabled = not self.link.options
        self.explanation.value = ""
        self.notes_html.value = notes_html(rv.notes(cluster_id), mask=self.mask_pii)
        self.record.options = list(members.index)
        self.record.value = self.record.options[0]
        self.merge_target.options = list(rv.neighbours(cluster_id)["cluster_id"])
        self.merge_target.value = ""

    def _show_explanation(self, left: str, right: str) -> None:
        members = self.review.members(self._selected())
        pair = record_table(members.loc[left].to_dict(), members.loc[right].to_dict(), self.columns,
                            mask=self.masks, titles=(left, right), style=False)
        self.explanation.value = pair + explanation_table(self.review.explain(left, right), mask=self.mask_pii)
