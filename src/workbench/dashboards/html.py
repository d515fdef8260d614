"""Small HTML builders for dashboards; every data value passes through ``escape``."""

from __future__ import annotations

from html import escape

import pandas as pd

STYLE = """
<style>
.wb-tiles{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0 16px}
.wb-tile{border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;min-width:140px;background:#fafbfc}
.wb-tile .wb-value{font-size:26px;font-weight:600;color:#264653}
.wb-tile .wb-label{font-size:12px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
.wb-table table{border-collapse:collapse;font-size:13px}
.wb-table th,.wb-table td{border-bottom:1px solid #eaecef;padding:4px 8px;text-align:left !important}
.wb-note{color:#57606a;font-size:13px}
</style>
"""


def tiles(items: list[tuple[str, str]], classes: list[str] | None = None) -> str:
    """A row of headline figures: ``[(label, value), ...]``, each tile optionally with an extra CSS class."""
    extra = classes or [""] * len(items)
    body = "".join(
        f'<div class="wb-tile{" " + escape(css) if css else ""}"><div class="wb-value">{escape(str(v))}</div>'
        f'<div class="wb-label">{escape(str(label))}</div></div>'
        for (label, v), css in zip(items, extra, strict=True)
    )
    return f'{STYLE}<div class="wb-tiles">{body}</div>'


def table(frame: pd.DataFrame, *, max_rows: int = 50) -> str:
    """A frame as an HTML table with every cell escaped."""
    return '<div class="wb-table">' + frame.head(max_rows).astype(object).where(frame.head(max_rows).notna(), "").to_html(index=False, escape=True) + "</div>"


def heading(text: str, level: int = 3) -> str:
    return f"<h{level}>{escape(text)}</h{level}>"


def note(text: str) -> str:
    return f'<p class="wb-note">{escape(text)}</p>'
