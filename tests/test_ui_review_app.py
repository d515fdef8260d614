"""The cluster review widget without a browser: driven by .click() and .value, checked in the store."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

from conftest import HOSTILE
from workbench import Workspace
from workbench.review import ReviewDecisions, current_clusters
from workbench.templating import stylesheet

pytest.importorskip("ipywidgets")

from workbench.ui.review_app import ReviewApp  # noqa: E402


def all_html(app: ReviewApp) -> str:
    return "\n".join(w.value for w in (app.status, app.members_html, app.links_html, app.explanation, app.message,
                                       app.position, app.empty))


def shown_keys(app: ReviewApp) -> list[str]:
    return re.findall(r'class="wb-member" data-key="([^"]+)"', app.members_html.value)


def test_import_workbench_does_not_import_ipywidgets():
    code = "import sys, workbench, workbench.review, workbench.ui; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_browse_the_queue(review_ws, widget_errors):
    app = ReviewApp(review_ws, "customers")
    assert "wb-review" in app.app._dom_classes
    assert app.cluster_id == "K1" and shown_keys(app) == ["K1", "K2", "K3"]
    assert app.position.value == "cluster 1 of 2" and app.prev.disabled
    assert "confidence 0.60" in app.status.value and "crm, web" in app.status.value
    # the links that joined the cluster: the two above the threshold say so
    assert app.links_html.value.count('class="wb-joined"') == 2 and app.links_html.value.count("wb-weak") == 1
    assert list(app.record.options) == ["K1", "K2", "K3"] and app.record.value == "K1"
    assert list(app.merge_target.options) == ["K4"]  # the near miss is offered as a merge
    app.next.click()
    assert app.cluster_id == "K4" and app.next.disabled and not app.prev.disabled
    app.next.click()
    assert app.cluster_id == "K4"
    app.prev.click()
    assert app.cluster_id == "K1"
    app.source.value = "pos"
    assert app.cluster_id == "K4" and app.position.value == "cluster 1 of 1"
    app.source.value = "__all__"
    app.sort.value = "size"
    assert app.cluster_id == "K1"
    assert {o[1] for o in app.source.options} == {"__all__", "crm", "pos", "web"}
    assert not widget_errors


def test_decisions_are_stored_at_once(review_ws, widget_errors):
    app = ReviewApp(review_ws, "customers")
    rd = ReviewDecisions(review_ws, "dedupe:customers")
    app.record.value = "K2"
    app.split.click()
    assert [(d.action, d.keys[0]) for d in rd.active()] == [("split", "K2")]
    assert "Split K2" in app.message.value and "wb-error" not in app.message._dom_classes
    assert app.cluster_id == "K1" and shown_keys(app) == ["K1", "K3"]  # the rest of the cluster stays in view
    assert current_clusters(review_ws, "customers").set_index("key").loc["K2", "cluster_size"] == 1

    app.verify.click()
    assert rd.active()[-1].action == "verify" and set(rd.active()[-1].keys) == {"K1", "K3"}
    assert "wb-verify" in app.status.value and "confidence 1.00" in app.status.value

    app.merge_target.value = "K4"
    app.merge.click()
    assert rd.active()[-1].action == "merge" and shown_keys(app) == ["K1", "K3", "K4", "K5"]

    app.undo.click()
    assert [d.action for d in rd.active()] == ["split", "verify"] and "Undid merge" in app.message.value
    assert shown_keys(app) == ["K1", "K3"]
    # the decisions are in the store, with the analyst, and in the audit log
    assert {d.analyst for d in rd.active()} == {"tester"}
    assert "review:split" in set(review_ws.audit_log()["action"])
    # a new app (another kernel, a page reload) shows the same state
    again = ReviewApp(Workspace(review_ws.path), "customers")
    assert "K2" not in shown_keys(again) and not widget_errors


def test_errors_are_shown_in_the_widget(review_ws, widget_errors):
    app = ReviewApp(review_ws, "customers")
    app.merge_target.value = "<b>nobody</b>"
    app.merge.click()
    assert "wb-error" in app.message._dom_classes
    assert "no record" in app.message.value and "<b>" not in app.message.value
    app.next.click()
    app.record.value = "K4"
    app.split.click()  # K5 is now alone too: the cluster leaves the queue, which moves on
    assert app.cluster_id == "K1" and app.position.value == "cluster 1 of 1"
    assert not widget_errors
    app.undo.click()
    assert "wb-error" not in app.message._dom_classes


def test_hostile_values_are_escaped(review_ws, widget_errors):
    for mask in (False, True):
        app = ReviewApp(review_ws, "customers", mask_pii=mask)
        assert app.app.children[0].value == stylesheet()  # the app's styles: the workbench stylesheet, once
        html = all_html(app)
        for value in HOSTILE.values():
            assert value not in html
        assert "<img" not in html and "<script" not in html and "</table><b>" not in html
        if not mask:
            assert "&lt;img src=x onerror=alert(1)&gt;" in html
            assert "ann.smith@example.com" in html
        else:
            assert "ann.smith@example.com" not in html and "a***@example.com" in html
            assert "Smith" not in html
    assert not widget_errors


def test_without_a_clustering_the_app_says_what_to_do(workspace_copy, widget_errors):
    app = ReviewApp(Workspace(workspace_copy), "customers")
    assert "not been clustered yet" in app.empty.value and app.empty.layout.display is None
    assert app.split.disabled and app.verify.disabled and app.cluster_id is None
    assert not widget_errors


def test_on_a_real_clustering_with_link_explanations(deduped_copy, widget_errors):
    from workbench import access

    access.grant(Workspace(deduped_copy), "ana", "analyst")  # granted by the workspace's admin
    ws = Workspace(deduped_copy, user="ana")
    app = ReviewApp(ws, "customers")
    first = app.cluster_id
    assert app.position.value.startswith("cluster 1 of ")
    assert app.link.value is not None and not app.explain.disabled
    app.explain.click()
    assert "wb-explain" in app.explanation.value and "model score" in app.explanation.value
    assert "wb-record-table" in app.explanation.value
    customers = ws.dataset("customers").frame
    members = customers[customers["customer_id"].isin(shown_keys(app))]
    raw = [v for v in members["email"].dropna().tolist() + members["phone"].dropna().tolist() if len(v) >= 6]
    assert raw and not [v for v in raw if v in all_html(app)], "PII must be masked by default"
    app.record.value = app.record.options[-1]
    split = app.record.value
    app.split.click()
    assert ReviewDecisions(ws, "dedupe:customers").active()[-1].keys[0] == split
    cur = current_clusters(ws, "customers").set_index("key")
    assert cur.loc[split, "cluster_size"] == 1 and split not in shown_keys(app)
    assert isinstance(app.queue, pd.DataFrame) and first
    assert not widget_errors


def test_a_viewer_is_told_that_review_decisions_need_an_analyst(deduped_copy, widget_errors):
    ws = Workspace(deduped_copy, user="vera")  # a name the workspace does not know: a viewer
    app = ReviewApp(ws, "customers")
    app.record.value = app.record.options[-1]
    app.split.click()
    assert ReviewDecisions(ws, "dedupe:customers").active() == []
    assert "needs the analyst role" in app.message.value and "vera" in app.message.value


def test_one_guard_reports_every_apps_callback_errors(caplog):
    """``ui.feedback.guarded``: the app shows the error (``_fail``) and the log has it; nothing is raised
    into ipywidgets, where nobody reads it."""
    import logging

    from workbench import WorkbenchError
    from workbench.ui.feedback import error_text, guarded

    class App:
        def __init__(self):
            self.shown = []

        def _fail(self, exc):
            self.shown.append(error_text(exc))

        @guarded
        def click(self, what):
            raise what

    app = App()
    with caplog.at_level(logging.ERROR, logger="workbench.ui"):
        assert app.click(WorkbenchError("no cluster selected")) is None
        app.click(KeyError("email"))
    assert app.shown == ["no cluster selected", "KeyError: 'email'"]
    assert [r.getMessage() for r in caplog.records] == ["App: no cluster selected", "App: action failed"]
    assert caplog.records[1].exc_info is not None  # an unexpected error keeps its traceback in the log
