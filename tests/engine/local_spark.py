"""The small local SparkSession the tests share (skips the test without Java or PySpark)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest


def local_spark_session() -> Any:
    if shutil.which("java") is None:
        pytest.skip("the spark backend needs Java (no `java` on PATH)")
    pytest.importorskip("pyspark", reason="the spark backend needs PySpark")
    from netoutcomes.engine.backends import spark_session as make_session

    # Two local cores and few shuffle partitions keep the Spark tests to about a minute.
    session = make_session("local[2]", shuffle_partitions=4)
    session.sparkContext.setLogLevel("ERROR")
    return session
