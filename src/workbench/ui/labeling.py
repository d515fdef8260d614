"""The labeling app: an analyst answers "same customer?" for the pairs a matching session asks about.

A thin client of the session's protocol (``workbench.matching.session.LabelingSession``):
every label is stored in the workspace the moment it is given (with the
analyst's name), so closing the notebook or a kernel crash loses nothing.
Callbacks are one line calling a method; a method's errors appear in the
app's error area and in the log, never only in a log nobody reads.

    app = LabelingApp(ws.deduper("customers"), mask_pii=False)
    app            # y / n / u / Backspace / f, or the buttons
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd

from workbench.access import AccessDenied, authorize_reveal, can_reveal
from workbench.errors import WorkbenchError
from workbench.templating import fragment, stylesheet
from workbench.ui.feedback import guarded, log_error
from workbench.ui.records import pair_rows

if TYPE_CHECKING:
    from workbench.matching.session import LabelingSession

log = logging.getLogger(__name__)

__all__ = ["KEYS", "LabelingApp"]

#: Keyboard shortcut -> action.
KEYS = {"y": "match", "n": "distinct", "u": "unsure", "Backspace": "undo", "f": "finish"}
#: Seconds the model figures wait for a quicker next label before they are recomputed.
SUMMARY_DELAY = 0.3
LEGEND = "y match \u00b7 n distinct \u00b7 u unsure \u00b7 \u232b undo \u00b7 f finish"

class LabelingApp:
    """Label the pairs a session asks about; ``Finish`` clusters (or links) everything.

    ``mask_pii`` masks personal fields by role (a toggle in the app changes it);
    ``analyst`` names who labels (default: the workspace user), stored with each label.
    """

    def __init__(self, session: LabelingSession, *, mask_pii: bool = True, analyst: str | None = None,
                 show_pii_toggle: bool = True, keyboard: bool = True):
        self.session = session
        self.analyst = analyst or session.ws.user  # stored with each label; the workspace's user stays as it is
        self.pair = None
        self.clusters: pd.DataFrame | None = None
        self.result: Any = None
        self.errors: list[BaseException] = []
        self.threshold: float | None = None
        self.precision: float | None = None
        self.recall: float | None = None
        self._worker: threading.Thread | None = None
        self._lock = threading.RLock()
        self._closed = False
        self._summary_due = threading.Event()
        self._summary_thread: threading.Thread | None = None
        self._summary_gen = 0
        self._summary_computing = False

        self.title = _html("wb-title")
        self.mask_toggle = w.Checkbox(value=bool(mask_pii), description="Mask personal data", indent=False,
                                      layout=w.Layout(width="auto", display="" if show_pii_toggle else "none"))
        self.mask_toggle.add_class("wb-mask-toggle")
        if not can_reveal(getattr(session.ws, "role", "viewer")):  # only stewards and admins may unmask
            self.mask_toggle.value, self.mask_toggle.disabled = True, True
            self.mask_toggle.tooltip = "only stewards and admins may see personal data unmasked"
        self.pair_info = _html("wb-pair-info")
        self.table = _html("wb-pair")
        self.buttons = {
            "match": _button("Match (y)", "success", "check", "Same customer (y)", "wb-match"),
            "distinct": _button("Distinct (n)", "danger", "times", "Different customers (n)", "wb-distinct"),
            "unsure": _button("Unsure (u)", "warning", "question", "Cannot tell (u)", "wb-unsure"),
            "undo": _button("Undo (\u232b)", "", "undo", "Take the last label back (Backspace)", "wb-undo"),
            "finish": _button("Finish (f)", "", "flag-checkered", "Cluster every record with the model (f)",
                              "wb-finish-button"),
        }
        self.progress_bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="220px"))
        self.progress_bar.add_class("wb-progress-bar")
        self.progress_html = _html("wb-progress")
        self.model_html = _html("wb-model")
        self.status = _html("wb-status")
        self.error = _html("wb-error")
        self.finish_bar = w.FloatProgress(value=0, min=0, max=1, description="", bar_style="info",
                                          layout=w.Layout(width="320px", display="none"))
        self.finish_bar.add_class("wb-finish-bar")
        self.finish_html = _html("wb-finish")

        self.keys = None
        if keyboard:
            try:
                from workbench.ui.keys import KeyListener
            except ImportError:  # anywidget missing: the buttons still work
                self.status.value = "keyboard shortcuts need anywidget (pip install anywidget)"
            else:
                self.keys = KeyListener(list(KEYS), self.press, legend=LEGEND, scope=".wb-labeling")

        # Callbacks: one line each, through the error guard.
        for action, button in self.buttons.items():
            button.on_click(lambda _b, a=action: self._run(getattr(self, a)))
        self.mask_toggle.observe(lambda _c: self._run(self._render_pair), "value")

        header = w.HBox([self.title, self.mask_toggle],
                        layout=w.Layout(justify_content="space-between", align_items="center"))
        bar = w.HBox([self.buttons[a] for a in ("match", "distinct", "unsure", "undo", "finish")])
        bar.add_class("wb-buttons")
        progress = w.HBox([self.progress_bar, self.progress_html], layout=w.Layout(align_items="center"))
        self.plan_html = _html("wb-plan")
        self.plan_html.value = _plan_summary(getattr(session, "plan", None))
        parts = [w.HTML(stylesheet()), header, self.plan_html, self.pair_info, self.table, bar]
        parts += [self.keys] if self.keys is not None else []
        parts += [self.status, self.error, progress, self.model_html, self.finish_bar, self.finish_html]
        self.widget = w.VBox(parts)
        self.widget.add_class("wb-labeling")
        self._run(self._start)

    # -- display ------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- actions (what buttons and keys call) -------------------------------------
    def press(self, key: str) -> None:
        """What a keyboard shortcut does: ``y``, ``n``, ``u``, ``Backspace`` or ``f``."""
        key = key.lower() if len(key) == 1 else key
        if key in KEYS:
            self._run(getattr(self, KEYS[key]))

    def match(self) -> None:
        self._label("match")

    def distinct(self) -> None:
        self._label("distinct")

    def unsure(self) -> None:
        self._label("unsure")

    def undo(self) -> None:
        """Take the analyst's own last label back (never another analyst's); its pair is shown again."""
        self._refuse_while_busy()
        if self.session.labels.last(self.analyst) is None:
            self.status.value = "Nothing to undo."
            return
        pair = self.session.undo(analyst=self.analyst)
        self._show(pair if pair is not None else self.session.next_pair(analyst=self.analyst))
        taken = f"{pair.left_id} \u2194 {pair.right_id}" if pair is not None else "a label"
        self.status.value = escape(f"Took back the label of {taken}.")

    def finish(self, *, wait: bool = False) -> None:
        """Cluster (or link) every record in the background; the app stays responsive and shows progress."""
        self._refuse_while_busy()
        p = self.session.progress
        if not p.enough:
            raise WorkbenchError(f"Not enough labels to train a model yet: {p}. Label a few more pairs, then Finish.")
        self._set_busy(True)
        done = threading.Event()
        started = time.monotonic()
        expected = self._expected_seconds()
        self.finish_bar.layout.display = ""
        self.finish_bar.value, self.finish_bar.bar_style = 0.0, "info"
        self.finish_html.value = escape(f"{self._finish_verb()} every record\u2026")
        self._worker = threading.Thread(target=self._finish_work, args=(done, started), daemon=True,
                                        name="workbench-finish")
        ticker = threading.Thread(target=self._tick, args=(done, started, expected), daemon=True,
                                  name="workbench-finish-progress")
        self._worker.start()
        ticker.start()
        if wait:
            self.wait()

    def wait(self, timeout: float | None = None) -> None:
        """Block until a running Finish is done (for scripts and tests)."""
        if self._worker is not None:
            self._worker.join(timeout)

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    # -- internals ----------------------------------------------------------------
    def _start(self) -> None:
        self._render_title()
        self._show(self.session.next_pair(analyst=self.analyst))

    def _label(self, label: str) -> None:
        self._refuse_while_busy()
        pair = self.pair
        if pair is None:
            raise WorkbenchError("There is no pair to label: every pair in the pool has a label. Press Finish.")
        with self._lock:
            progress = self.session.mark(pair, label, analyst=self.analyst)
            self._show(self.session.next_pair(analyst=self.analyst), progress)
        self.status.value = fragment("labeling.html", "saved",
                                     text=f"Saved {label} for {pair.left_id} \u2194 {pair.right_id} (by {self.analyst}).",
                                     conflict=self.session.labels.in_conflict(pair.left_id, pair.right_id))

    def _show(self, pair, progress=None) -> None:
        """Show ``pair`` first (what the analyst waits for), then the progress figures."""
        p = progress if progress is not None else self.session.progress
        self.pair = pair
        self.error.value = ""
        self._render_pair(p)
        self._render_progress(p)

    def _render_title(self) -> None:
        s = self.session
        what = (f"Deduplicate {s.left_ds.name}" if s.right_ds is s.left_ds
                else f"Link {s.left_ds.name} to {s.right_ds.name}")
        self.title.value = fragment("labeling.html", "title", what=what, analyst=str(self.analyst))

    def _render_pair(self, progress=None) -> None:
        pair = self.pair
        for action in ("match", "distinct", "unsure"):
            self.buttons[action].disabled = pair is None or self.busy
        if pair is None:
            self.pair_info.value = ""
            self.table.value = fragment("labeling.html", "no_pairs")
            return
        number = (progress if progress is not None else self.session.progress).total + 1
        self.pair_info.value = fragment("labeling.html", "pair_info", number=number, score=pair.score,
                                        origin=str(pair.origin) if pair.origin else "")
        self.table.value = pair_rows(self.session, pair).html(mask_pii=self._masked(pair), style=False)

    def _masked(self, pair) -> bool:
        """Mask unless unticked by someone allowed to reveal: checked here in the kernel and audited."""
        if self.mask_toggle.value:
            return True
        try:
            authorize_reveal(self.session.ws, f"{self.session.task} pair "
                                              f"{pair.left_id} | {pair.right_id}")
        except AccessDenied:
            self.mask_toggle.value = True  # whatever the browser sent
            raise
        return False

    def _render_progress(self, p) -> None:
        need = p.min_match + p.min_distinct
        self.progress_bar.max = need
        self.progress_bar.value = min(p.match, p.min_match) + min(p.distinct, p.min_distinct)
        self.progress_bar.bar_style = "success" if p.enough else "info"
        missing = []
        if p.match < p.min_match:
            missing.append(f"{p.min_match - p.match} more match")
        if p.distinct < p.min_distinct:
            missing.append(f"{p.min_distinct - p.distinct} more distinct")
        self.progress_html.value = fragment("labeling.html", "progress", p=p, missing=missing)
        self.buttons["finish"].button_style = "primary" if p.enough else ""
        self._schedule_model_summary(p)

    # -- model figures: cross-validation takes 30 ms to a second, so never before the next pair ----
    def update_model_summary(self) -> None:
        """Recompute the model's precision/recall figures now (the app does it in the background)."""
        self.model_html.value = self._model_summary(self.session.progress)

    def _schedule_model_summary(self, p) -> None:
        self._summary_gen += 1
        if not p.enough:
            self.model_html.value = ""
            return
        if self._summary_thread is None or not self._summary_thread.is_alive():
            self._summary_thread = threading.Thread(target=self._summary_loop, daemon=True,
                                                    name="workbench-model-summary")
            self._summary_thread.start()
        self._summary_due.set()

    def _summary_loop(self) -> None:
        while not self._closed:
            self._summary_due.wait()
            self._summary_computing = True
            try:
                self._summary_due.clear()
                time.sleep(SUMMARY_DELAY)  # an analyst answering quickly gets the next pair first
                if self._closed or self._summary_due.is_set():
                    continue
                gen = self._summary_gen
                html = self._model_summary(self.session.progress)
                if gen == self._summary_gen:
                    self.model_html.value = html
            except Exception as exc:
                log_error("LabelingApp", exc)
                self._fail(exc)
            finally:
                self._summary_computing = False

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Block until background work (Finish, model figures) is done: for scripts and tests."""
        deadline = time.monotonic() + timeout
        self.wait(timeout)
        while time.monotonic() < deadline and (self._summary_due.is_set() or self._summary_computing):
            time.sleep(0.02)

    def close(self) -> None:
        """Stop background threads and close the widgets."""
        self._closed = True
        self._summary_due.set()
        _close_all(self.widget)

    def _model_summary(self, p) -> str:
        """Cross-validated precision and recall at the suggested threshold, once a model exists."""
        if not p.enough:
            return ""
        from workbench.matching.model import suggest_threshold

        try:
            curve = self.session.threshold_curve()
        except WorkbenchError as exc:
            return fragment("labeling.html", "model_note", text=str(exc))
        t = float(suggest_threshold(curve))
        row = curve.iloc[int((curve["threshold"] - t).abs().to_numpy().argmin())]
        self.threshold, self.precision, self.recall = t, float(row["precision"]), float(row["recall"])
        return fragment("labeling.html", "model_summary", threshold=t, precision=self.precision, recall=self.recall,
                        labels=p.match + p.distinct)

    def _refuse_while_busy(self) -> None:
        if self.busy:
            raise WorkbenchError(f"{self._finish_verb()} is still running; labels wait until it is done.")

    def _set_busy(self, busy: bool) -> None:
        for action, button in self.buttons.items():
            button.disabled = busy or (self.pair is None and action in ("match", "distinct", "unsure"))

    def _finish_verb(self) -> str:
        return self.session.finish_verb

    def _expected_seconds(self) -> float:
        """How long Finish took last time on this data (a guess from its size the first time)."""
        last = self.session.last_run
        if last is None:
            try:
                last = self.session.ws.latest_result(self.session.run_kind, self.session.left_ds)
            except Exception:  # an estimate only
                last = None
        if isinstance(last, dict) and isinstance(last.get("seconds"), dict) and last["seconds"]:
            return max(1.0, float(sum(last["seconds"].values())))
        return 5.0 + len(self.session.left_ds.frame) / 1000

    def _finish_work(self, done: threading.Event, started: float) -> None:
        try:
            result = self.session.finish(progress=self._stage)
            done.set()
            self._finished(result, time.monotonic() - started)
        except Exception as exc:
            done.set()
            self.finish_bar.bar_style = "danger"
            self.finish_html.value = ""
            log_error("LabelingApp", exc)
            self._fail(exc)
        finally:
            done.set()
            self._set_busy(False)

    def _stage(self, stage: str, done: int, total: int | None) -> None:
        """The engine's real stage, under the time-based bar ("score pairs: 40,000 of 120,000")."""
        try:
            of = f" of {total:,}" if total else ""
            self.finish_html.value = escape(f"{self._finish_verb()} every record: {stage} {done:,}{of}")
        except Exception:  # never let a display hiccup stop the clustering
            log.exception("progress display failed")

    def _tick(self, done: threading.Event, started: float, expected: float) -> None:
        while not done.wait(0.25):
            elapsed = time.monotonic() - started
            self.finish_bar.value = min(elapsed / expected, 0.95)
            self.finish_bar.description = f"{elapsed:.0f} s"

    def _finished(self, result: Any, seconds: float) -> None:
        self.result = self.session.last_run
        self.finish_bar.value, self.finish_bar.bar_style = 1.0, "success"
        self.finish_bar.description = f"{seconds:.0f} s"
        clusters = getattr(result, "clusters", None)  # a Clustering (a linker's Finish gives links)
        if isinstance(clusters, pd.DataFrame):
            self.clusters = clusters
            figures = (self.result or {}).get("figures") or {}
            threshold = (self.result or {}).get("threshold")
            at = f" at threshold {threshold:.2f}" if isinstance(threshold, float) else ""
            text = (f"Clustered {len(clusters):,} records into {figures.get('clusters', 0):,} clusters{at} "
                    f"({figures.get('records_in_multi_record_clusters', 0):,} records in clusters of two or more) "
                    f"in {seconds:.1f} s; stored in the workspace.")
        else:
            text = f"{self._finish_verb()} done in {seconds:.1f} s; stored in the workspace."
        warning = ((self.result or {}).get("figures") or {}).get("blocking_warning")
        self.finish_html.value = fragment("labeling.html", "finished", text=text, warning=warning or "")

    @guarded
    def _run(self, action: Callable[[], Any]) -> None:
        """Run an action for a button or key: errors go to the error area and the log, never vanish."""
        action()

    def _fail(self, exc: BaseException) -> None:
        """Show ``exc`` in the error area (a WorkbenchError as its message, anything else with details)."""
        self.errors.append(exc)
        details = (None if isinstance(exc, WorkbenchError)
                   else "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        self.error.value = fragment("labeling.html", "error_box", name=type(exc).__name__, message=str(exc),
                                    details=details)


def _plan_summary(plan: pd.DataFrame | None) -> str:
    """'These fields, compared this way': the comparison plan in one line, columns left out in another."""
    if plan is None or plan.empty:
        return ""
    used = plan[plan["field"].notna()]
    left_out = plan[plan["field"].isna()]
    return fragment("labeling.html", "plan",
                    used="Comparing " + ", ".join(f"{c} as {k}" for c, k in zip(used["column"], used["compared as"],
                                                                               strict=True)),
                    skipped="; ".join(f"{c} ({why})" for c, why in zip(left_out["column"], left_out["why"], strict=True)))


def _close_all(widget: w.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close_all(child)
    widget.close()


def _html(css: str) -> w.HTML:
    out = w.HTML("")
    out.add_class(css)
    return out


def _button(text: str, style: str, icon: str, tooltip: str, css: str) -> w.Button:
    b = w.Button(description=text, button_style=style, icon=icon, tooltip=tooltip,
                 layout=w.Layout(width="auto", min_width="110px"))
    b.add_class(css)
    return b
