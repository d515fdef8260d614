"""The Spark engine: the matching stages and the assessment rules on a Spark DataFrame.

Optional: install with ``pip install 'workbench[spark]'`` (the stock pyspark
wheel, Java 17; no extra jars). Nothing here is imported by ``import workbench``;
pyspark is imported only when a Spark entry point is used.
"""

from __future__ import annotations

from typing import Any

from workbench.spark.session import local_session, require_pyspark

__all__ = ["local_session", "require_pyspark", "run_checks_spark"]


def __getattr__(name: str) -> Any:
    if name == "run_checks_spark":  # lazily: the rule engine (pandera) loads only when checks run
        from workbench.spark.assess import run_checks_spark

        return run_checks_spark
    raise AttributeError(f"module 'workbench.spark' has no attribute {name!r}")
