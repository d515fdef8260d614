"""ipywidgets apps over the workbench: thin clients of the layers below.

``import workbench.ui`` imports no ipywidgets; each app is imported when
first used, so dashboards and the CLI never pay for (or need) the widget stack::

    from workbench.ui import LabelingApp
    LabelingApp(ws.deduper("customers"), mask_pii=False)
    ReviewApp(ws, "customers")

``workbench.ui.diff`` (pure HTML builders) is shared by every app that shows
records side by side. Their HTML comes from the package's templates and their
styles from its one stylesheet (``workbench.templating``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["KeyListener", "LabelingApp", "ReviewApp", "diff"]

_LAZY = {
    "LabelingApp": "workbench.ui.labeling",
    "KeyListener": "workbench.ui.keys",
    "ReviewApp": "workbench.ui.review_app",
}


def __getattr__(name: str) -> Any:
    if name == "diff":
        return import_module("workbench.ui.diff")
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workbench.ui' has no attribute {name!r}")
