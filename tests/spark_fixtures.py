"""The Spark session the Spark engine's tests share (``local[2]``), started once per test run.

pyspark is part of ``make test``'s environment (the ``spark`` extra); a missing
pyspark or Java fails these tests in CI instead of skipping them.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    if os.environ.get("CI") != "true":
        pytest.importorskip("pyspark", reason="pip install -e '.[spark]' (make env does)")
    from workbench.spark import local_session

    session = local_session("local[2]", app_name="workbench-tests",
                            checkpoint_dir=str(tmp_path_factory.mktemp("spark-checkpoints")))
    yield session
    session.stop()
