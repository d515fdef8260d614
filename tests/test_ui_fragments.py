"""Every HTML fragment from its template: the same HTML as before, hostile values as text, one stylesheet.

``golden/fragments.json`` holds what the f-string builders made (commit a9ecce0)
for the fixed inputs below, which carry markup in every value, name and title.
The templates must render the same HTML: only whitespace between tags and the
spelling of two escapes (markupsafe writes ``&#39;`` and ``&#34;`` where
``html.escape`` wrote ``&#x27;`` and ``&quot;``) may differ. The style blocks
those builders carried are left out: styles live in ``templates/style.css``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from workbench.templating import fragment, stylesheet

GOLDEN = json.loads((Path(__file__).parent / "golden" / "fragments.json").read_text(encoding="utf-8"))
BAD = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert('x')</script>"
SRC = Path(__file__).resolve().parents[1] / "src" / "workbench"


def _mask(value):
    return str(value)[:1] + "***"


def _pages_parts() -> dict[str, str]:
    from workbench.anonymize import k_anonymity
    from workbench.dashboards import html, quality

    drill = quality.DrillDown("ds", [("rule" + BAD + " (3 failed)", "rule" + BAD), ("other", "other")],
                              {"rule" + BAD: html.note("x") + html.table(pd.DataFrame({"key": [SCRIPT]}))})
    frame = pd.DataFrame({"city" + BAD: ["Tulsa", "Reno", "Reno", SCRIPT], "zip": ["1", "2", "2", "3"]})
    return {
        "tiles": html.tiles([("health" + BAD, "96.1"), (SCRIPT, 3)], ["wb-good", "wb-poor x"]),
        "tiles_plain": html.tiles([("records", "1,000")]),
        "table": html.table(pd.DataFrame({"col" + BAD: [SCRIPT, None], "n": [1, 2]})),
        "heading": html.heading("Data " + SCRIPT, level=2),
        "note": html.note("Note " + BAD),
        "drilldown": drill.to_html(),
        "drilldown_empty": quality.DrillDown("ds", [], {}).to_html(),
        "reidentification": k_anonymity(frame, ["city" + BAD, "zip"], k=2).to_html(),
    }


def _review_parts() -> dict[str, str]:
    from workbench.ui import diff
    from workbench.ui import review_app as ra
    from workbench.ui.labeling import _plan_summary

    out = {}
    left = {"first_name": "Jon" + BAD, "email": "jon@x.com", "city": "Tulsa", "phone": None, SCRIPT: "a & b"}
    right = {"first_name": "John" + BAD, "email": "JON@X.COM", "city": "Tulsa", "phone": "+1 312 555 0100",
             SCRIPT: "a &amp; c"}
    out["record_table"] = diff.record_table(
        left, right, ["first_name", "email", "city", "phone", SCRIPT],
        left_std={"email": "jon@x.com", "first_name": "jon"}, right_std={"email": "jon@x.com", "first_name": "john"},
        mask={"email": _mask}, titles=(SCRIPT, 'K2 "q"'), labels={"city": "town " + BAD}, aux=[SCRIPT], style=False)
    members = pd.DataFrame({"first_name": ["Ann" + BAD, "Anne" + BAD, None], "email": ["a@x.com", "b@x.com", "a@x.com"],
                            "source": ["crm", SCRIPT, "crm"], "_confidence": [0.91, 0.5, 1.0]},
                           index=["K1", "K2" + BAD, "K3"])
    out["member_grid"] = ra.member_grid(members, ["first_name", "email", "source"], mask={"email": _mask},
                                        source="source")
    notes = [SimpleNamespace(kind="tag", text="vip" + BAD, target_kind="cluster", keys=["K1"], analyst="a", at="x"),
             SimpleNamespace(kind="tag", text="fraud", target_kind="cluster", keys=["K1"], analyst="a", at="x"),
             SimpleNamespace(kind="note", text=BAD + " call ann@example.com", target_kind="record",
                             keys=[SCRIPT], analyst="eve" + BAD, at=pd.Timestamp("2026-01-02 03:04:05")),
             SimpleNamespace(kind="note", text="plain", target_kind="cluster", keys=["K1"], analyst="bob",
                             at="2026-01-02T03:04:05")]
    out["notes_masked"] = ra.notes_html(notes, mask=True)
    out["notes_unmasked"] = ra.notes_html(notes, mask=False)
    out["notes_empty"] = ra.notes_html([], mask=True)
    house = pd.DataFrame({"household_id": ["H" + BAD], "size": [3], "kind": ["household"],
                          "reasons": ["address " + SCRIPT], "other_clusters": [[f"c{i}" for i in range(12)]]})
    out["household_line"] = ra.household_line(house)
    out["household_org"] = ra.household_line(house.assign(kind="organization", reasons="", other_clusters=[[]]))
    out["household_none"] = ra.household_line(house.iloc[:0])
    links = pd.DataFrame({"left_key": ["K1", BAD], "right_key": [SCRIPT, "K3"], "score": [0.9512, 0.2],
                          "joined": [True, False], "label": ["match" + BAD, None]})
    out["links"] = ra.links_table(links, 0.5)
    out["links_nothreshold"] = ra.links_table(links, None)
    out["links_empty"] = ra.links_table(links.iloc[:0], 0.5)
    expl = pd.DataFrame({"field": ["name" + BAD, "email", "city"], "left": ["ann", "a@x.com", None],
                         "right": [SCRIPT, "b@x.com", "Tulsa"], "distance": [0.25, 1.0, 0.0],
                         "contribution": [1.5, -2.25, 0.0]})
    expl.attrs["score"] = 0.75
    out["explanation_masked"] = ra.explanation_table(expl, mask=True)
    expl.attrs = {}
    out["explanation_unmasked"] = ra.explanation_table(expl, mask=False)
    plan = pd.DataFrame({"field": ["name", None], "column": ["first" + BAD, SCRIPT], "compared as": ["Name", None],
                         "why": ["a name", "constant " + BAD]})
    out["plan_summary"] = _plan_summary(plan)
    out["plan_summary_all_used"] = _plan_summary(plan.iloc[:1])
    return out


def _labeling_parts() -> dict[str, str]:
    """The labeling app's fragments, called as the app calls them."""
    def lab(macro, **values):
        return fragment("labeling.html", macro, **values)

    analyst = "eve" + BAD
    saved = f"Saved match for K1{BAD} \u2194 K2 (by {analyst})."
    needs = SimpleNamespace(total=3, match=1, distinct=2, unsure=0, conflict=0, enough=False, min_match=3,
                            min_distinct=2)
    enough = SimpleNamespace(total=9, match=4, distinct=4, unsure=1, conflict=2, enough=True, min_match=3,
                             min_distinct=3)
    return {
        "title": lab("title", what="Deduplicate c" + BAD, analyst=analyst),
        "no_pairs": lab("no_pairs"),
        "pair_info": lab("pair_info", number=7, score=0.4567, origin="sampler" + BAD),
        "pair_info_first": lab("pair_info", number=1, score=None, origin=""),
        "saved": lab("saved", text=saved, conflict=False),
        "saved_conflict": lab("saved", text=saved, conflict=True),
        "progress_needs": lab("progress", p=needs, missing=["2 more match"]),
        "progress_enough": lab("progress", p=enough, missing=[]),
        "model_summary": lab("model_summary", threshold=0.4251, precision=0.875, recall=0.6667, labels=12),
        "model_note": lab("model_note", text="no model: " + BAD),
        "finished": lab("finished", text="Clustered 5,000 records " + BAD, warning="blocking " + BAD),
        "finished_plain": lab("finished", text="Clustered 5,000 records " + BAD, warning=""),
        "error_workbench": lab("error_box", name="WorkbenchError", message="bad " + BAD, details=None),
        "error_other": lab("error_box", name="RuntimeError", message="disk <full>",
                           details="Traceback (most recent call last):\n  File <x>\nRuntimeError: disk <full>\n"),
    }


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {**_pages_parts(), **_review_parts(), **_labeling_parts()}


def _same_html(html: str) -> str:
    """``html`` with newlines between tags dropped and markupsafe's two escapes spelt as html.escape spells them."""
    html = re.sub(r">\s*\n\s*<", "><", html).strip()
    return html.replace("&#39;", "&#x27;").replace("&#34;", "&quot;")


def test_every_fragment_renders_the_html_the_f_strings_made(rendered):
    assert set(rendered) == set(GOLDEN)
    for name, html in rendered.items():
        assert _same_html(html) == _same_html(GOLDEN[name]), name


def test_hostile_values_reach_every_fragment_as_text(rendered):
    shown = 0
    for name, html in rendered.items():
        assert "<img" not in html and "<script" not in html and "<full>" not in html, name
        if "onerror=alert(1)&gt;" in html or "&lt;script&gt;" in html or "&lt;full&gt;" in html:
            shown += 1
    # every fragment that is given data shows it (escaped); the rest are fixed texts
    fixed = {"no_pairs", "notes_empty", "links_empty", "household_none", "drilldown_empty", "tiles_plain",
             "pair_info_first", "progress_needs", "progress_enough", "model_summary"}
    assert shown == len(rendered) - len(fixed)


def test_the_stylesheet_writes_each_rule_once():
    css = (SRC / "templates" / "style.css").read_text(encoding="utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    selectors = [s.strip() for s in re.findall(r"([^{}]+)\{", css)]
    assert len(selectors) == len(set(selectors)), "a selector is written twice"
    colours = re.findall(r"#[0-9a-fA-F]{3,6}\b", css)
    assert len(colours) == len(set(c.lower() for c in colours)), "a colour is written twice: name it in :root"
    assert stylesheet().startswith("<style>") and stylesheet().rstrip().endswith("</style>")
    # no Python module carries styles of its own
    assert [p.name for p in SRC.rglob("*.py") if "<style" in p.read_text(encoding="utf-8")] == []


def test_apps_pages_and_report_include_the_one_stylesheet(monkeypatch):
    import IPython.display

    from workbench.dashboards import html, render

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda bundle, **_: shown.append(bundle))
    render.show([html.heading("page"), html.tiles([("records", "1")])])
    assert len(shown) == 1 and shown[0]["text/html"].startswith(stylesheet() + "<h3>page</h3>")
    assert "<style" not in html.tiles([("records", "1")])  # once per page, not once per row of tiles
