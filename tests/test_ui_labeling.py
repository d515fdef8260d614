"""The labeling app without a browser: buttons, keys, undo, finish, masking, escaping, errors.

Every test also checks that no widget callback crashed silently (``widget_errors``: ipywidgets
logs callback exceptions instead of raising them).
"""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from conftest import HOSTILE_NAME, SAMPLES
from workbench import Workspace
from workbench.matching.labels import LabelStore
from workbench.templating import stylesheet
from workbench.ui.diff import highlight, record_table

TASK = "dedupe:customers"


# -- diff: pure HTML builders -----------------------------------------------------------------

def test_highlight_marks_character_differences():
    left, right = highlight("Jon Smith", "John Smyth")
    assert left == 'Jon Sm<mark class="wb-diff">i</mark>th'
    assert right == 'Jo<mark class="wb-diff">h</mark>n Sm<mark class="wb-diff">y</mark>th'


def test_highlight_equal_missing_and_unrelated_values():
    assert highlight("A & B", "A & B") == ("A &amp; B", "A &amp; B")
    assert highlight(None, "x<y") == ("", "x&lt;y")
    assert highlight(None, None) == ("", "")
    # little in common: marked whole rather than speckled
    assert highlight("Smith", "Jones") == ('<mark class="wb-diff">Smith</mark>', '<mark class="wb-diff">Jones</mark>')


def test_highlight_escapes_hostile_values_inside_and_outside_marks():
    left, right = highlight(HOSTILE_NAME, "<img src=y onerror=alert(2)>")
    for html in (left, right):
        assert "<img" not in html and "&lt;img src=" in html
        assert html.replace('<mark class="wb-diff">', "").replace("</mark>", "").count("<") == 0


def test_record_table_aligns_dims_equal_fields_and_shows_standardized_values():
    left = {"first_name": "CODY", "email": "c@x.com", "city": "Chicago", "phone": None}
    right = {"first_name": "Cody", "email": "c@x.com", "city": "Chicago", "phone": "312-555-0100"}
    html = record_table(left, right, ["first_name", "email", "city", "phone"],
                        left_std={"first_name": "cody"}, right_std={"first_name": "cody", "phone": "+13125550100"})
    rows = html.split("<tr ")[1:]  # body rows (the header row is a bare <tr>)
    assert [r.split('data-field="')[1].split('"')[0] for r in rows] == ["first_name", "email", "city", "phone"]
    assert "wb-same" in rows[1] and "wb-same" in rows[2]
    assert "wb-differs" in rows[0] and "wb-std-same" in rows[0]  # differ only in form
    assert rows[0].count('class="wb-std"') == 2 and "cody" in rows[0]
    assert "wb-missing" in rows[3] and "+13125550100" in rows[3]
    assert '<mark class="wb-diff">' in rows[0]


def test_record_table_escapes_everything_and_masks_before_display():
    left = {"name<b>": HOSTILE_NAME, "email": "john.smith@gmail.com"}
    right = {"name<b>": "x", "email": "jane@gmail.com"}

    def mask(v):
        return v[:1] + "***"

    html = record_table(left, right, ["name<b>", "email"], mask={"email": mask, "name<b>": mask},
                        titles=("<i>L</i>", "R"))
    assert "<img" not in html and "<b>" not in html and "<i>L" not in html
    assert "john.smith" not in html and "jane@" not in html
    text = html.replace('<mark class="wb-diff">', "").replace("</mark>", "")
    assert "j***" in text and "&lt;***" in text


# -- the app --------------------------------------------------------------------------------

@pytest.fixture
def app_factory(workspace_copy):
    """Build apps on a private copy of the prepared workspace; closes them after the test."""
    from workbench.ui import LabelingApp

    apps = []

    def make(path=workspace_copy, **kwargs):
        ws = Workspace(path, user="tester")
        app = LabelingApp(ws.deduper("customers"), **kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.wait_idle()
        app.close()


def stored(path) -> list[tuple[str, str, str, str]]:
    """Active labels as a fresh workspace reads them from the store: (left, right, label, analyst)."""
    ws = Workspace(path)
    try:
        frame = LabelStore(ws, TASK).frame()
    finally:
        ws.close()
    return list(frame[["left_key", "right_key", "label", "analyst"]].itertuples(index=False, name=None))


def pair_key(app) -> tuple[str, str]:
    return (app.pair.left_id, app.pair.right_id)


def truth_key(app) -> str:
    from workbench.oracle import TruthLabeler

    answer = TruthLabeler.for_samples(SAMPLES).answer(app.pair)
    return "y" if answer == "match" else "n"


def assert_clean(app, widget_errors):
    assert widget_errors == []
    assert app.errors == [], app.error.value


def test_import_workbench_and_ui_do_not_import_ipywidgets():
    code = ("import sys, workbench, workbench.ui, workbench.ui.diff, workbench.ui.records; "
            "assert 'ipywidgets' not in sys.modules and 'anywidget' not in sys.modules, 'widget stack imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_app_shows_a_pair_side_by_side(app_factory, widget_errors):
    app = app_factory()
    assert app.pair is not None
    html = app.table.value
    assert "wb-record-table" in html
    assert f">{app.pair.left_id}<" in html and f">{app.pair.right_id}<" in html  # column titles
    assert 'data-field="first_name"' in html and 'data-field="email"' in html
    assert "Pair 1" in app.pair_info.value and "no model yet" in app.pair_info.value
    assert "training needs 3 match and 3 distinct" in app.progress_html.value
    assert "wb-labeling" in app.widget._dom_classes
    # the comparison plan, to confirm before labeling: these fields, compared this way
    assert "Comparing first_name as GivenName" in app.plan_html.value
    assert "Not compared: source (a source says nothing" in app.plan_html.value
    assert_clean(app, widget_errors)


def test_plan_summary_escapes_hostile_column_names():
    import pandas as pd

    from workbench.ui.labeling import _plan_summary

    plan = pd.DataFrame({"field": ["x", None], "column": [HOSTILE_NAME, HOSTILE_NAME + "2"],
                         "compared as": ["String", "not compared"], "confidence": [0.6, None],
                         "why": ["short text", HOSTILE_NAME]})
    html = _plan_summary(plan)
    assert "<img" not in html and html.count("&lt;img src=x onerror=alert(1)&gt;") == 3


def test_buttons_and_keys_store_labels_and_bring_the_next_pair(app_factory, workspace_copy, widget_errors):
    app = app_factory(analyst="alice")
    first = pair_key(app)
    app.buttons["match"].click()
    second = pair_key(app)
    assert second != first
    app.press("n")
    third = pair_key(app)
    assert third not in (first, second)
    app.press("U")  # case does not matter
    assert stored(workspace_copy) == [(*first, "match", "alice"), (*second, "distinct", "alice"),
                                      (*third, "unsure", "alice")]
    assert "Saved unsure" in app.status.value and "alice" in app.status.value
    assert "3</b> labels: 1 match · 1 distinct · 1 unsure" in app.progress_html.value
    assert "Pair 4" in app.pair_info.value
    assert app.session.ws.user == "tester"  # the app's analyst is not forced on the whole workspace
    app.press("x")  # not a shortcut: nothing happens
    assert len(stored(workspace_copy)) == 3
    assert_clean(app, widget_errors)


def test_analyst_defaults_to_the_workspace_user(app_factory, workspace_copy, widget_errors):
    app = app_factory()
    app.press("y")
    assert stored(workspace_copy)[0][3] == "tester"
    assert "labeling as <b>tester</b>" in app.title.value
    assert app.widget.children[0].value == stylesheet()  # the app's styles: the workbench stylesheet, once
    assert "<style" not in app.table.value
    assert_clean(app, widget_errors)


def test_key_messages_from_the_browser_reach_the_app(app_factory, workspace_copy, widget_errors):
    app = app_factory()
    assert app.keys is not None and set(app.keys.shortcuts) == {"y", "n", "u", "Backspace", "f"}
    shown = pair_key(app)

    def browser_sends(content):  # the comm message the JS listener's model.send() produces
        app.keys._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})

    browser_sends({"key": "y"})
    browser_sends({"key": "q"})  # not a shortcut: ignored
    assert stored(workspace_copy) == [(*shown, "match", "tester")]
    browser_sends({"key": "Backspace"})
    assert stored(workspace_copy) == []
    assert pair_key(app) == shown
    assert_clean(app, widget_errors)


def test_undo_takes_the_last_label_back_and_shows_its_pair(app_factory, workspace_copy, widget_errors):
    app = app_factory()
    app.press("Backspace")
    assert app.status.value == "Nothing to undo."
    first = pair_key(app)
    app.press("y")
    second = pair_key(app)
    app.press("n")
    app.buttons["undo"].click()
    assert pair_key(app) == second
    assert stored(workspace_copy) == [(*first, "match", "tester")]
    assert "Took back" in app.status.value
    app.press("Backspace")
    assert pair_key(app) == first and stored(workspace_copy) == []
    app.press("n")  # relabel the same pair differently
    assert stored(workspace_copy) == [(*first, "distinct", "tester")]
    assert_clean(app, widget_errors)


def test_progress_then_model_figures_then_finish_clusters(app_factory, workspace_copy, widget_errors):
    app = app_factory()
    assert app.model_html.value == ""
    for _ in range(20):
        app.press(truth_key(app))
    app.wait_idle()
    assert "enough to train" in app.progress_html.value
    assert app.progress_bar.value == app.progress_bar.max and app.progress_bar.bar_style == "success"
    assert "model score" in app.pair_info.value
    assert "precision" in app.model_html.value and "recall" in app.model_html.value
    assert app.threshold is not None and 0 <= app.precision <= 1 and 0 <= app.recall <= 1

    app.press("f")
    assert app.busy or app.clusters is not None
    app.press("y")  # refused while clustering, said in the app; no label stored
    if app.busy:
        assert "still running" in app.error.value
        assert len(stored(workspace_copy)) == 20
        app.errors.clear()
    app.wait()
    assert app.clusters is not None and set(app.clusters.columns) >= {"key", "cluster_id", "confidence"}
    assert "Clustered 5,000 records" in app.finish_html.value
    assert app.finish_bar.bar_style == "success" and app.finish_bar.value == 1.0
    assert not any(b.disabled for b in app.buttons.values())
    ws = Workspace(workspace_copy)
    runs = ws.runs("dedupe")
    ws.close()
    assert (runs["status"] == "done").sum() == 1
    assert_clean(app, widget_errors)


def test_finish_without_enough_labels_says_so_in_the_app(app_factory, workspace_copy, widget_errors,
                                                          caplog):
    app = app_factory()
    with caplog.at_level(logging.ERROR, logger="workbench.ui"):
        app.buttons["finish"].click()
    assert "Not enough labels" in app.error.value
    assert not app.busy and app.clusters is None
    assert any("Not enough labels" in r.getMessage() for r in caplog.records)
    ws = Workspace(workspace_copy)
    assert ws.runs("dedupe").empty
    ws.close()
    app.errors.clear()
    app.press("y")  # the next action clears the message
    assert app.error.value == ""
    assert_clean(app, widget_errors)


def test_an_error_in_a_callback_appears_in_the_app_and_the_log(app_factory, workspace_copy, widget_errors, caplog, monkeypatch):
    app = app_factory()
    shown = pair_key(app)

    def broken(pair, label, **kwargs):
        raise RuntimeError("disk <full>")

    monkeypatch.setattr(app.session, "mark", broken)
    with caplog.at_level(logging.ERROR, logger="workbench.ui"):
        app.buttons["match"].click()
    assert "RuntimeError" in app.error.value and "disk &lt;full&gt;" in app.error.value
    assert "Traceback" in app.error.value  # the details, folded
    assert [type(e) for e in app.errors] == [RuntimeError]
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)
    assert pair_key(app) == shown and stored(workspace_copy) == []
    assert widget_errors == []  # handled by the app, not swallowed by ipywidgets


def test_an_error_while_finishing_appears_in_the_app(app_factory, widget_errors, monkeypatch):
    app = app_factory()
    for _ in range(12):
        app.press(truth_key(app))

    def broken(**kwargs):
        raise MemoryError("out of memory while scoring")

    monkeypatch.setattr(app.session, "cluster", broken)
    app.finish(wait=True)
    assert "MemoryError" in app.error.value and "out of memory" in app.error.value
    assert app.finish_bar.bar_style == "danger" and not app.busy
    assert not app.buttons["match"].disabled
    assert [type(e) for e in app.errors] == [MemoryError]
    assert widget_errors == []


def test_masking_on_by_default_and_toggled_in_the_app(app_factory, widget_errors):
    app = app_factory()
    raw = [v for v in (app.pair.left.get("email"), app.pair.right.get("email"),
                       app.pair.left.get("last_name"), app.pair.right.get("last_name")) if v]
    assert raw
    assert not [v for v in raw if v in app.table.value]
    assert "***" in app.table.value
    app.mask_toggle.value = False
    assert all(v in app.table.value for v in raw)
    app.mask_toggle.value = True
    assert not [v for v in raw if v in app.table.value]
    assert_clean(app, widget_errors)


def test_masking_off_from_the_start(app_factory, widget_errors):
    app = app_factory(mask_pii=False)
    assert app.pair.left["customer_id"] == app.pair.left_id
    name = app.pair.left.get("last_name")
    assert name and name in app.table.value
    assert_clean(app, widget_errors)


def test_hostile_values_are_shown_as_text(hostile_workspace, widget_errors):
    from workbench.ui import LabelingApp

    ws = Workspace(hostile_workspace, user="tester")
    for mask in (False, True):
        app = LabelingApp(ws.deduper("customers"), mask_pii=mask)
        html = app.table.value + app.pair_info.value
        assert "<img" not in html and "onerror=alert(1)&gt;" in html  # the city is never masked
        if not mask:
            assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 3  # both cities, a first name
        app.press("y")
        assert "<img" not in app.table.value and "<img" not in app.status.value
        assert_clean(app, widget_errors)
        app.close()
    ws.close()


def test_no_pair_left(app_factory, widget_errors, monkeypatch):
    app = app_factory()
    monkeypatch.setattr(app.session, "next_pair", lambda **_: None)
    app.press("y")  # labels the shown pair; the pool has nothing more
    assert app.pair is None and "No more pairs" in app.table.value
    assert app.buttons["match"].disabled and not app.buttons["undo"].disabled
    app.press("n")
    assert "no pair to label" in app.error.value
    assert widget_errors == []
