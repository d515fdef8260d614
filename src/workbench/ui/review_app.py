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
from workbench.ui.diff import STYLE as DIFF_STYLE
from workbench.ui.diff import highlight, record_table
from workbench.ui.feedback import error_text, guarded

SORT_OPTIONS = [("lowest confidence first", "confidence"), ("largest first", "size")]
ALL_SOURCES = "__all__"
ALL_TAGS = "__all__"

STYLE = """<style>
.wb-review-status{font-size:14px;margin:4px 0}
.wb-review-status .wb-badge{display:inline-block;border-radius:10px;padding:0 8px;margin-left:6px;font-size:12px;
  background:#ddf4ff;color:#0969da}
.wb-review-status .wb-badge.wb-verify{background:#dafbe1;color:#1a7f37}
.wb-review-status .wb-badge.wb-split{background:#fff1e5;color:#bc4c00}
.wb-member-grid{border-collapse:collapse;font-size:13px;width:100%}
.wb-member-grid th,.wb-member-grid td{border-bottom:1px solid #eaecef;padding:3px 8px;text-align:left;vertical-align:top}
.wb-member-grid thead th{background:#f6f8fa}
.wb-member-grid tr.wb-same td,.wb-member-grid tr.wb-same th{color:#8c959f}
.wb-member-grid tr.wb-differs th{font-weight:600}
.wb-member-grid mark.wb-diff{background:#ffd33d;color:inherit;padding:0 1px;border-radius:2px}
.wb-links{border-collapse:collapse;font-size:13px}
.wb-links th,.wb-links td{border-bottom:1px solid #eaecef;padding:3px 8px;text-align:left}
.wb-links tr.wb-weak td{color:#8c959f}
.wb-review-message.wb-error{color:#cf222e;font-weight:600}
.wb-notes{font-size:13px;margin:2px 0;padding-left:18px}
.wb-notes .wb-who{color:#57606a}
.wb-tag{display:inline-block;border-radius:10px;padding:0 8px;margin-right:4px;font-size:12px;background:#eaeef2}
</style>"""


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
    keys = [str(k) for k in members.index]
    head = "".join(f'<th class="wb-member" data-key="{escape(k)}">{escape(k)}'
                   f'<div class="wb-conf">confidence {float(c):.2f}</div></th>'
                   for k, c in zip(keys, members["_confidence"], strict=True))
    rows = []
    for col in columns:
        raw = [_text(v) for v in members[col]]
        m = mask.get(col)
        shown = [v if v is None or m is None else _text(m(v)) for v in raw]
        state = "wb-same" if len(set(raw)) <= 1 else "wb-differs"
        cells = []
        for j, v in enumerate(shown):
            if v is None:
                cells.append('<td><span class="wb-missing">&mdash;</span></td>')
            else:
                cells.append(f"<td>{escape(v) if j == 0 else highlight(shown[0], v)[1]}</td>")
        cls = f"wb-row {state}" + (" wb-source" if col == source else "")
        rows.append(f'<tr class="{cls}" data-field="{escape(col)}"><th>{escape(col)}</th>{"".join(cells)}</tr>')
    return (f'<table class="wb-member-grid"><thead><tr><th>field</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def notes_html(notes: list, *, mask: bool) -> str:
    """A cluster's tags (badges) and notes (analyst, time, text); emails, phones and dates in notes
    masked when ``mask``; everything escaped."""
    tags = sorted({a.text for a in notes if a.kind == "tag"})
    written = [a for a in notes if a.kind == "note"]
    if not tags and not written:
        return '<p class="wb-note">No notes or tags yet.</p>'
    badges = "".join(f'<span class="wb-tag">{escape(t)}</span>' for t in tags)
    items = []
    for a in written:
        text = _text(mask_free_text(pd.Series([a.text], dtype=object)).iloc[0]) if mask else a.text
        where = "" if a.target_kind == "cluster" else f" on {escape(a.keys[0])}"
        when = str(a.at)[:16]
        items.append(f'<li><span class="wb-who">{escape(a.analyst)}, {escape(when)}{where}:</span> '
                     f"{escape(text or '')}</li>")
    return f'<div class="wb-tags">{badges}</div><ul class="wb-notes">{"".join(items)}</ul>'


def household_line(house: pd.DataFrame) -> str:
    """The cluster's household (``workbench.households.household_of``): its id, size, what links it, the
    other clusters in it; empty when no households run knows the cluster."""
    if house.empty:
        return ""
    h = house.iloc[0]
    others = list(h["other_clusters"])
    shown = ", ".join(map(str, others[:10])) + (f" and {len(others) - 10} more" if len(others) > 10 else "")
    what = "organization group" if h["kind"] == "organization" else "household"
    return (f'<br><span class="wb-household">{what} <code>{escape(str(h["household_id"]))}</code>: '
            f'{int(h["size"])} customer(s)' + (f', linked by {escape(str(h["reasons"]))}' if h["reasons"] else "")
            + (f"; other clusters: {escape(shown)}" if others else "") + "</span>")


def links_table(links: pd.DataFrame, threshold: float | None) -> str:
    """The scored pairs of a cluster: which ones joined it (at or above the threshold), and labels."""
    if links.empty:
        return '<p class="wb-note">No scored pair inside this cluster (it was formed by a review decision).</p>'
    thr = "" if threshold is None else f" (threshold {threshold:.2f})"
    body = "".join(
        f'<tr class="{"wb-joined" if j else "wb-weak"}"><td>{escape(str(a))}</td><td>{escape(str(b))}</td>'
        f'<td>{float(s):.3f}</td><td>{"yes" if j else "no"}</td><td>{escape(str(lab)) if lab else ""}</td></tr>'
        for a, b, s, j, lab in links[["left_key", "right_key", "score", "joined", "label"]].itertuples(index=False))
    return (f'<table class="wb-links"><thead><tr><th>record</th><th>record</th><th>score</th>'
            f'<th>joined{escape(thr)}</th><th>analyst label</th></tr></thead><tbody>{body}</tbody></table>')


def explanation_table(expl: pd.DataFrame, *, mask: bool) -> str:
    """A link's per-field explanation: standardized values (masked), similarity, contribution."""
    rows = []
    for r in expl.itertuples(index=False):
        left, right = _text(r.left), _text(r.right)
        if mask:
            as_text = value_masker(None)
            left = None if left is None else _text(as_text(left))
            right = None if right is None else _text(as_text(right))
        sign = "wb-for" if r.contribution > 0 else "wb-against" if r.contribution < 0 else "wb-neutral"
        rows.append(f'<tr class="{sign}"><th>{escape(str(r.field))}</th><td>{escape(left or "")}</td>'
                    f'<td>{escape(right or "")}</td><td>{float(r.distance):.2f}</td>'
                    f'<td>{float(r.contribution):+.2f}</td></tr>')
    score = expl.attrs.get("score")
    title = "" if score is None else f'<p class="wb-note">model score {float(score):.3f}</p>'
    return (f'{title}<table class="wb-links wb-explain"><thead><tr><th>field</th><th>left</th><th>right</th>'
            f'<th>distance</th><th>contribution</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


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
            self.empty.value = f'<p class="wb-note">{escape(self.review.message)}</p>'
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
            W.HTML(STYLE + DIFF_STYLE),
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
        decision = row["decision"].iloc[0]
        badge = "" if decision is None or pd.isna(decision) else \
            f'<span class="wb-badge wb-{escape(str(decision))}">{escape(str(decision))}</span>'
        srcs = "" if not rv.source_column else ", ".join(
            sorted({str(v) for v in members[rv.source_column].dropna()}))
        self.status.value = (f'<b>Cluster {escape(cluster_id)}</b>: {len(members)} records, confidence '
                             f'{float(row["confidence"].min()):.2f}' + (f", sources {escape(srcs)}" if srcs else "")
                             + badge)
        self.status.value += household_line(household_of(rv.ws, [str(k) for k in members.index],
                                                         dataset=rv.dataset.name))
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
