"""Every engine test runs on each backend (memory, duckdb, spark), like Ibis's own suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from local_spark import local_spark_session

BACKEND_PARAMS = [
    pytest.param("memory", id="memory"),
    pytest.param("duckdb", id="duckdb"),
    pytest.param("spark", id="spark", marks=pytest.mark.spark),
]


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    session = local_spark_session()
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
