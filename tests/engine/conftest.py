"""Every engine test runs on each backend (memory, duckdb, spark), like Ibis's own suite."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

BACKEND_PARAMS = [
    pytest.param("memory", id="memory"),
    pytest.param("duckdb", id="duckdb"),
    pytest.param("spark", id="spark", marks=pytest.mark.spark),
]


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("the spark backend needs Java (no `java` on PATH)")
    pytest.importorskip("pyspark", reason="the spark backend needs PySpark")
    from netoutcomes.engine.backends import spark_session as make_session

    # Two local cores and few shuffle partitions keep the Spark tests to about a minute.
    session = make_session("local[2]", shuffle_partitions=4)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def spark_if_needed(backend: str, request: pytest.FixtureRequest) -> Any:
    """The shared SparkSession when the backend is spark, else None."""
    if backend != "spark":
        return None
    return request.getfixturevalue("spark_session")
