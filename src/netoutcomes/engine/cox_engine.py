"""Cox on the engine (DuckDB, Spark): placeholder until the aggregate passes land."""

from __future__ import annotations

from netoutcomes.engine.backends import Backend
from netoutcomes.engine.cox_result import EngineCox
from netoutcomes.engine.inputs import Described
from netoutcomes.survival.model_spec import CoxSpec


def engine_cox(
    described: Described,
    spec: CoxSpec,
    backend: Backend,
    spark_master: str | None,
    conf_level: float,
) -> EngineCox:
    raise NotImplementedError("cox_on on duckdb/spark: in progress (use backend='memory')")
