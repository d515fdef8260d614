"""The Spark engine: the matching stages and the assessment rules on a Spark DataFrame.

Optional: install with ``pip install 'workbench[spark]'`` (the stock pyspark
wheel, Java 17; no extra jars). Nothing here is imported by ``import workbench``;
pyspark is imported only when a Spark entry point is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from workbench.spark.session import local_session, require_pyspark

__all__ = ["connected_components", "local_session", "require_pyspark", "run_checks_spark", "spark_cluster_edges"]

#: Names imported on first use: their modules import the matching engine (dedupe, scipy) or the rule
#: engine (pandera).
_LAZY = {"spark_cluster_edges": "workbench.spark.clustering", "connected_components": "workbench.spark.components",
         "run_checks_spark": "workbench.spark.assess"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
