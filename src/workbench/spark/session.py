"""A Spark session to run on: the caller's, or a local one set up to work out of the box."""

from __future__ import annotations

import os
import sys
from typing import Any

from workbench.errors import WorkbenchError


def require_pyspark() -> Any:
    """The pyspark module, or a clear error naming the extra to install."""
    try:
        import pyspark
    except ImportError:
        raise WorkbenchError("the Spark engine needs pyspark: pip install 'workbench[spark]' "
                             "(and Java 17 on the machine)") from None
    return pyspark


def local_session(master: str = "local[2]", *, app_name: str = "workbench", shuffle_partitions: int | None = None,
                  driver_memory: str | None = None, checkpoint_dir: str | None = None, ui: bool = False) -> Any:
    """A SparkSession on ``master`` (default ``local[2]``), its Python workers on this interpreter.

    Python workers otherwise start the system Python, which lacks the
    workbench (``ModuleNotFoundError`` in every task). Arrow is on; the web UI
    is off unless ``ui`` (benchmarks read task times from its REST API).
    ``shuffle_partitions`` defaults to four per core of a local master.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    cores = _local_cores(master)
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.ui.enabled", "true" if ui else "false")
               .config("spark.ui.showConsoleProgress", "false")  # no [Stage ...] bars over the CLI's output
               .config("spark.cleaner.referenceTracking.cleanCheckpoints", "true")  # components checkpoint per round
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.shuffle.partitions",
                       str(shuffle_partitions or (4 * cores if cores else 200))))
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if checkpoint_dir:
        spark.sparkContext.setCheckpointDir(checkpoint_dir)
    return spark


def _local_cores(master: str) -> int | None:
    if master == "local":
        return 1
    if master.startswith("local[") and master.endswith("]"):
        inner = master[6:-1].split(",")[0]
        return os.cpu_count() or 1 if inner == "*" else int(inner)
    return None
