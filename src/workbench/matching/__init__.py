"""Matching: standardize, label pairs actively, learn blocking, score and cluster at scale.

Public entry points are ``Workspace.deduper`` and ``Workspace.linker``; the
classes here are what they return. They are imported on first use: the
review and the dashboards read labels (``matching.labels``) without paying
for dedupe and scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"Deduper": "workbench.matching.deduper", "Linker": "workbench.matching.linker",
         "Pair": "workbench.matching.session", "Progress": "workbench.matching.session"}

__all__ = ["Deduper", "Linker", "Pair", "Progress"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
