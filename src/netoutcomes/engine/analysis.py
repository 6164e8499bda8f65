"""The engine's entry points for the `stats` commands and the study layer: file in, results out.

``grouped_tables_on`` gives the ``survival.groups.GroupedTables`` that
``survival.curves.km_by_group`` and ``survival.logrank`` take;
``cox_on`` a ``survival.cox.CoxFit``.  ``backend`` chooses where the counting
happens: ``memory`` is the in-memory path (``engine.source``) unchanged,
``duckdb`` (the default) and ``spark`` run one Ibis query (per Newton step for
Cox) where the data lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from netoutcomes.engine.backends import Backend, open_source
from netoutcomes.engine.cox_sums import engine_cox_fit
from netoutcomes.engine.tallies import survival_count_tables
from netoutcomes.survival.cox import CoxFit, Ties
from netoutcomes.survival.groups import GroupedTables


@dataclass(frozen=True)
class EngineTables:
    tables: GroupedTables
    n_dropped: int  # rows with a missing value in a used column


def grouped_tables_on(
    path: str | Path,
    time: str,
    event: str,
    entry: str | None = None,
    by: str | None = None,
    strata: str | None = None,
    backend: Backend = "duckdb",
    spark_master: str | None = None,
) -> EngineTables:
    """Count tables per (strata, by) level of a CSV/Parquet file (or a .duckdb table)."""
    if backend == "memory":
        from netoutcomes.engine.source import grouped_tables, survival_data

        extra = [c for c in dict.fromkeys([by, strata]) if c]
        data = survival_data(Path(path), time, event, entry, extra=extra)
        return EngineTables(grouped_tables(data, by, strata), data.n_dropped)
    source = open_source(path, backend, spark_master=spark_master)
    counts = survival_count_tables(source, time, event, entry=entry, by=by, strata=strata)
    return EngineTables(counts.grouped(), counts.n_dropped)


def cox_on(
    path: str | Path,
    time: str,
    event: str,
    covariates: Sequence[str],
    entry: str | None = None,
    strata: str | None = None,
    ties: Ties = "efron",
    backend: Backend = "duckdb",
    spark_master: str | None = None,
    conf_level: float = 0.95,
) -> tuple[CoxFit, int]:
    """A Cox fit computed on the engine, and the number of rows dropped.

    The engine sees only per-time sums, so what needs the rows themselves is
    not computed: ``robust_se`` is None and ``concordance`` NaN (use the memory
    backend, ``survival.cox.cox_ph``, for those and for ``cox.zph``).
    """
    source = open_source(path, backend, spark_master=spark_master)
    sums, newton = engine_cox_fit(source, time, event, covariates, entry, strata, ties=ties)
    coef = newton.coef
    se = np.sqrt(np.diag(newton.var))
    z = coef / se
    q = stats.norm.ppf(0.5 + conf_level / 2.0)
    fit = CoxFit(
        terms=sums.terms,
        coef=coef,
        se=se,
        robust_se=None,
        hr=np.exp(coef),
        hr_lower=np.exp(coef - q * se),
        hr_upper=np.exp(coef + q * se),
        z=z,
        p=2.0 * stats.norm.sf(np.abs(z)),
        loglik_null=newton.loglik_null,
        loglik=newton.loglik,
        lrt=2.0 * (newton.loglik - newton.loglik_null),
        wald=float(coef @ np.linalg.solve(newton.var, coef)),
        score=newton.score_test,
        df=int(coef.size),
        n=sums.n,
        nevent=sums.nevent,
        concordance=float("nan"),
        var=newton.var,
        iterations=newton.iterations,
        ties=ties,
        means=sums.means,
        sums=sums.sums_at(coef),
    )
    return fit, sums.n_dropped
