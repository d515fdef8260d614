"""The one jinja2 environment for the HTML the workbench builds, and the one stylesheet of its pages.

Templates ship in ``workbench/templates/``: ``style.css`` (every CSS rule of
the widgets, dashboards and the report, each written once) and one template
per producer, whose macros are its fragments. Autoescaping is on for every
template, so a data value reaches a page only as text. HTML made elsewhere
(another fragment, a plotly chart, pandas' escaped ``to_html``) is passed in
wrapped in ``Markup``, and nothing else is.

Pure (jinja2 only): the UI, the dashboards and the assessment report all
import it, and none of them may import another.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["Markup", "compile_all", "fragment", "render", "stylesheet"]


@cache
def environment() -> jinja2.Environment:
    """Templates from the package, autoescaped; block tags leave no blank lines behind."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("workbench", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True,
        auto_reload=False,  # they ship with the package: no file check per fragment
    )


def render(template: str, **values: Any) -> str:
    """A whole template (a page) rendered with ``values``."""
    return environment().get_template(template).render(**values)


def fragment(template: str, macro: str, **values: Any) -> str:
    """One fragment: macro ``macro`` of ``template`` called with ``values``, as a plain ``str``.

    A plain ``str`` (not ``Markup``), so that a caller concatenating it with
    other HTML gets what it wrote, not an escaped copy.
    """
    return str(getattr(environment().get_template(template).module, macro)(**values)).strip()


def compile_all() -> None:
    """Compile every template now: their first use costs 20-50 ms, which a preheated page pays before a viewer waits."""
    env = environment()
    for name in env.list_templates():
        env.get_template(name)
    stylesheet()


@cache
def stylesheet() -> str:
    """A style element holding every rule of ``style.css``: what an app, a dashboard page or the report shows once."""
    return render("stylesheet.html")
