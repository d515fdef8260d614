"""Matching: standardize, label pairs actively, learn blocking, score and cluster at scale.

Public entry points are ``Workspace.deduper`` and ``Workspace.linker``; the
classes here are what they return.
"""

from workbench.matching.deduper import Deduper
from workbench.matching.linker import Linker
from workbench.matching.session import Pair, Progress

__all__ = ["Deduper", "Linker", "Pair", "Progress"]
