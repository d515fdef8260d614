"""Small HTML builders for dashboards, from the shared ``parts.html`` templates; every data value is escaped."""

from __future__ import annotations

import pandas as pd

from workbench.templating import Markup, fragment


def tiles(items: list[tuple[str, str]], classes: list[str] | None = None) -> str:
    """A row of headline figures: ``[(label, value), ...]``, each tile optionally with an extra CSS class."""
    extra = classes or [""] * len(items)
    return fragment("parts.html", "tiles",
                    items=[(label, v, css) for (label, v), css in zip(items, extra, strict=True)])


def table(frame: pd.DataFrame, *, max_rows: int = 50) -> str:
    """A frame as an HTML table with every cell escaped (by pandas' ``to_html``)."""
    head = frame.head(max_rows)
    return fragment("parts.html", "table",
                    table_html=Markup(head.astype(object).where(head.notna(), "").to_html(index=False, escape=True)))


def heading(text: str, level: int = 3) -> str:
    return fragment("parts.html", "heading", text=text, level=int(level))


def note(text: str) -> str:
    return fragment("parts.html", "note", text=text)
