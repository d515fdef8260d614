"""Character-level differences between two values, and two records side by side, as safe HTML.

Pure functions (no ipywidgets): the labeling widget and the cluster review
both show pairs of records with them. Values are diffed as text and the
pieces rendered by the ``diff.html`` template, which escapes each one, so a
hostile value (``<img src=x onerror=...>``) is shown as text and never
becomes markup. The styles are in the workbench stylesheet (``templating``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from difflib import SequenceMatcher
from typing import Any

from workbench.templating import fragment, stylesheet

__all__ = ["highlight", "pieces", "record_table"]

#: Below this similarity two values are simply different: marking the few
#: characters they happen to share ("Smith" / "Jones" share an "o"...) is noise.
WHOLE_VALUE_RATIO = 0.3


def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        if value != value:  # NaN
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


#: A value cut into pieces: (text, whether it differs from the other value).
Pieces = list[tuple[str, bool]]


def pieces(a: str | None, b: str | None) -> tuple[Pieces, Pieces]:
    """Both values cut into pieces, the characters where they differ flagged.

    Equal values (and a value against a missing one) come back as one piece
    unflagged (none when missing); values with little in common are flagged whole.
    """
    a, b = _text(a), _text(b)
    if a is None or b is None or a == b:
        return _whole(a, False), _whole(b, False)
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < WHOLE_VALUE_RATIO:
        return _whole(a, True), _whole(b, True)
    left: Pieces = []
    right: Pieces = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 > i1:
            left.append((a[i1:i2], op != "equal"))
        if j2 > j1:
            right.append((b[j1:j2], op != "equal"))
    return left, right


def _whole(text: str | None, differs: bool) -> Pieces:
    return [(text, differs)] if text else []


def highlight(a: str | None, b: str | None) -> tuple[str, str]:
    """Both values HTML-escaped, their character-level differences in ``<mark class="wb-diff">`` (see ``pieces``)."""
    left, right = pieces(a, b)
    return fragment("diff.html", "marked", pieces=left), fragment("diff.html", "marked", pieces=right)


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
    ``style`` puts the workbench stylesheet first; an app that includes it
    once already passes ``False``.
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
        pl, pr = pieces(shown_l, shown_r)
        show_lstd = lstd is not None and lstd != lraw
        show_rstd = rstd is not None and rstd != rraw
        sl = sr = None
        if show_lstd or show_rstd:
            sl, sr = pieces(_masked(lstd, m), _masked(rstd, m))
        rows.append({
            "classes": f"wb-row {state}" + (" wb-aux" if name in aux_set else ""), "name": str(name),
            "label": str(labels.get(name, name)),
            "left": None if shown_l is None else pl, "left_std": sl if show_lstd else None,
            "right": None if shown_r is None else pr, "right_std": sr if show_rstd else None,
        })
    table = fragment("diff.html", "record_table", titles=titles, rows=rows)
    return (stylesheet() + table) if style else table


def _masked(value: str | None, masker: Masker | None) -> str | None:
    if value is None or masker is None:
        return value
    return _text(masker(value))
