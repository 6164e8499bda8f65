"""The small local SparkSession the tests share (skips the test without Java or PySpark)."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

# The tests' tables have at most a few thousand rows, so a Spark job's cost is its start:
# planning, code generation and the JVM's own compiling.  With these the Spark set takes
# ~2.5 min on 2 cores instead of ~5.5 (make test's two workers each start one JVM, so one
# local core each).  Interpreted expressions (no code generation) evaluate the same
# plans with the same double arithmetic; the benchmark (make bench) runs Spark
# as shipped, and NETOUTCOMES_SPARK_AS_SHIPPED=1 runs these tests so.
FAST_SMALL_DATA = {
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def local_spark_session() -> Any:
    if shutil.which("java") is None:
        pytest.skip("the spark backend needs Java (no `java` on PATH)")
    pytest.importorskip("pyspark", reason="the spark backend needs PySpark")
    from netoutcomes.engine.backends import spark_session as make_session

    if os.environ.get("NETOUTCOMES_SPARK_AS_SHIPPED"):
        session = make_session("local[2]", shuffle_partitions=4)
    else:
        session = make_session("local[1]", shuffle_partitions=1, conf=FAST_SMALL_DATA)
    session.sparkContext.setLogLevel("ERROR")
    return session
