"""Assess a dataset: rule checks, a scorecard per quality dimension, fitness per purpose.

::

    from workbench.assess import history
    a = ws.assess("acquired")                  # zero-config rules from the field roles (assessment.assess)
    a.health, a.scores, a.fitness, a.checks, a.failures
    history(ws, "acquired")                    # scores across runs

Names resolve lazily: a dashboard importing ``workbench.assess.runs`` or
``.plots`` does not pay for the rule engine (pandera) on page load.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Assessment",
    "Scorecard",
    "build_scorecard",
    "assess",
    "from_run",
    "history",
    "report_html",
    "write_report",
]

_WHERE = {
    "Assessment": "assessment",
    "assess": "assessment",
    "from_run": "assessment",
    "history": "runs",
    "Scorecard": "scorecard",
    "build_scorecard": "scorecard",
    "report_html": "report",
    "write_report": "report",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f"workbench.assess.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'workbench.assess' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
