"""Character-level differences between two values, and two records side by side, as safe HTML.

Pure functions (no ipywidgets): the labeling widget and the cluster review
both show pairs of records with them. Every value is HTML-escaped piece by
piece *after* diffing, so a hostile value (``<img src=x onerror=...>``) is
shown as text and never becomes markup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from difflib import SequenceMatcher
from html import escape
from typing import Any

__all__ = ["STYLE", "highlight", "record_table"]

#: Below this similarity two values are simply different: marking the few
#: characters they happen to share ("Smith" / "Jones" share an "o"...) is noise.
WHOLE_VALUE_RATIO = 0.3

STYLE = """<style>
.wb-record-table{border-collapse:collapse;font-size:13px;width:100%;table-layout:fixed}
.wb-record-table th,.wb-record-table td{border-bottom:1px solid #eaecef;padding:4px 8px;text-align:left;vertical-align:top;word-break:break-word}
.wb-record-table thead th{background:#f6f8fa;font-weight:600}
.wb-record-table th.wb-field{width:22%;font-weight:500;color:#57606a}
.wb-record-table tr.wb-same td,.wb-record-table tr.wb-same th{color:#8c959f;opacity:.75}
.wb-record-table tr.wb-aux th.wb-field{font-style:italic}
.wb-record-table tr.wb-differs th.wb-field{color:#24292f;font-weight:600}
.wb-record-table mark.wb-diff{background:#ffd33d;color:inherit;padding:0 1px;border-radius:2px}
.wb-record-table .wb-std{color:#57606a;font-size:12px;margin-top:2px}
.wb-record-table .wb-std::before{content:"\\2192  ";color:#8c959f}
.wb-record-table .wb-missing{color:#8c959f}
</style>"""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        if value != value:  # NaN
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def highlight(a: str | None, b: str | None) -> tuple[str, str]:
    """Both values HTML-escaped, their character-level differences in ``<mark class="wb-diff">``.

    Equal values (and a value against a missing one) come back escaped without
    marks; values with little in common are marked whole.
    """
    a, b = _text(a), _text(b)
    if a is None or b is None or a == b:
        return escape(a or ""), escape(b or "")
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < WHOLE_VALUE_RATIO:
        return _mark(a), _mark(b)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            left.append(escape(a[i1:i2]))
            right.append(escape(b[j1:j2]))
            continue
        if i2 > i1:
            left.append(_mark(a[i1:i2]))
        if j2 > j1:
            right.append(_mark(b[j1:j2]))
    return "".join(left), "".join(right)


def _mark(text: str) -> str:
    return f'<mark class="wb-diff">{escape(text)}</mark>' if text else ""


Masker = Callable[[Any], Any]


def record_table(left: Mapping[str, Any], right: Mapping[str, Any], fields: Sequence[str], *,
                 left_std: Mapping[str, Any] | None = None, right_std: Mapping[str, Any] | None = None,
                 mask: Mapping[str, Masker] | None = None, titles: tuple[str, str] = ("Left", "Right"),
                 labels: Mapping[str, str] | None = None, aux: Sequence[str] = (), style: bool = True) -> str:
    """Two records aligned field by field, as an HTML table.

    A row per field: equal fields dimmed (``wb-same``), differing ones with
    their differences marked (``wb-differs``); the standardized value (from
    ``left_std``/``right_std``, keyed like the records) appears under the raw
    one where it differs. ``mask`` (``{field: callable}``) is applied to raw and
    standardized values before anything is compared for display, so masked
    values never leak through the highlighting. ``labels`` renames rows,
    ``aux`` names fields shown in italics (not compared by the matcher).
    """
    left_std = left_std or {}
    right_std = right_std or {}
    mask = mask or {}
    labels = labels or {}
    aux_set = set(aux)
    rows = []
    for name in fields:
        m = mask.get(name)
        lraw, rraw = _text(left.get(name)), _text(right.get(name))
        lstd, rstd = _text(left_std.get(name)), _text(right_std.get(name))
        if lraw == rraw:
            state = "wb-same"
        elif lstd is not None and lstd == rstd:
            state = "wb-differs wb-std-same"  # differ only in form: "CODY" / "Cody"
        else:
            state = "wb-differs"
        shown_l, shown_r = _masked(lraw, m), _masked(rraw, m)
        hl, hr = highlight(shown_l, shown_r)
        show_lstd = lstd is not None and lstd != lraw
        show_rstd = rstd is not None and rstd != rraw
        sl = sr = ""
        if show_lstd or show_rstd:
            sl, sr = highlight(_masked(lstd, m), _masked(rstd, m))
        classes = f"wb-row {state}" + (" wb-aux" if name in aux_set else "")
        rows.append(
            f'<tr class="{classes}" data-field="{escape(str(name))}">'
            f'<th class="wb-field">{escape(str(labels.get(name, name)))}</th>'
            f'<td class="wb-left">{_cell(shown_l, hl, sl if show_lstd else None)}</td>'
            f'<td class="wb-right">{_cell(shown_r, hr, sr if show_rstd else None)}</td></tr>'
        )
    head = (f'<thead><tr><th class="wb-field">field</th><th class="wb-left">{escape(titles[0])}</th>'
            f'<th class="wb-right">{escape(titles[1])}</th></tr></thead>')
    table = f'<table class="wb-record-table">{head}<tbody>{"".join(rows)}</tbody></table>'
    return (STYLE + table) if style else table


def _masked(value: str | None, masker: Masker | None) -> str | None:
    if value is None or masker is None:
        return value
    return _text(masker(value))


def _cell(value: str | None, html: str, std_html: str | None) -> str:
    body = '<span class="wb-missing">&mdash;</span>' if value is None else f'<span class="wb-value">{html}</span>'
    if std_html is not None:
        body += f'<div class="wb-std" title="standardized">{std_html}</div>'
    return body
