"""The in-memory Cox oracle: a ``CoxSpec`` on arrays, fitted by ``survival.cox.cox_ph``.

The engines (``engine.cox_engine``) are tested against it.  Reading and typing are
``engine.source``'s; the design is ``model_spec.design_columns_values``; strata are
labelled and ordered as R (``survival.groups.crossed_level_labels``).  The engine
also comes here to word an error: when its checks find a bad value it reads the
rows and lets these rules name the first bad one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from netoutcomes.engine.concordance_se import concordance_with_se
from netoutcomes.engine.cox_result import EngineCox, r_wald_quadratic, zph_terms
from netoutcomes.engine.inputs import Described, arrow_columns
from netoutcomes.engine.source import SurvivalData, validated_survival_data
from netoutcomes.errors import InputError
from netoutcomes.survival.cox import (
    CoxData,
    CoxFit,
    cox_ph,
    integer_codes,
    r_timefix,
    score_residuals,
)
from netoutcomes.survival.cox_zph import km_transform, rank_transform
from netoutcomes.survival.groups import crossed_level_labels
from netoutcomes.survival.model_spec import CoxSpec, design_columns_values


def numeric_columns(spec: CoxSpec) -> list[str]:
    """Columns used by value (not as factor levels): they must hold numbers."""
    return list(dict.fromkeys(col for c in spec.columns for col, lv in c.parts if lv is None))


def spec_survival_data(
    described: Described, spec: CoxSpec, raw: dict[str, Any] | None = None
) -> SurvivalData:
    """The used columns read, typed and validated by the reader rules (rows with a
    missing value dropped); ``raw``: pyarrow columns already read (by an engine)."""
    used = spec.used_columns
    if raw is None:
        raw = arrow_columns(described, used)
    others = [c for c in used if c not in (spec.time, spec.event, spec.entry)]
    return validated_survival_data(
        described.path or __import__("pathlib").Path(described.name),
        described.file_format,
        raw,
        spec.time,
        spec.event,
        spec.entry,
        others,
        noun=described.row_noun,
        weights=spec.weights,
        numeric=[c for c in numeric_columns(spec) if c not in (spec.time, spec.event)],
    )


@dataclass(frozen=True)
class SpecArrays:
    data: CoxData  # x uncentred, times tied as R's aeqSurv
    cluster: np.ndarray | None
    stratum_labels: list[str]
    n_dropped: int


def spec_arrays(described: Described, spec: CoxSpec) -> SpecArrays:
    data = spec_survival_data(described, spec)
    x = design_columns_values(spec.columns, data.columns)
    strata = None
    labels: list[str] = []
    if spec.strata:
        labels, codes = crossed_level_labels(
            [(c, data.columns[c]) for c in spec.strata], data.written_as_double
        )
        strata = np.asarray(codes, dtype=np.int64)
    cluster = None
    if spec.cluster:
        cluster, _ = integer_codes(np.asarray(data.columns[spec.cluster]))
    time, entry = r_timefix(data.time, data.entry)
    weights = None if spec.weights is None else np.asarray(data.columns[spec.weights], float)
    cox = CoxData(x, time, data.event, entry, weights, strata)
    return SpecArrays(cox, cluster, labels, data.n_dropped)


def memory_cox(described: Described, spec: CoxSpec, conf_level: float = 0.95) -> EngineCox:
    """The oracle: every number from the rows in memory."""
    if not spec.columns:
        raise InputError("no covariates: give at least one column")
    arrays = spec_arrays(described, spec)
    d = arrays.data
    names = [c.name for c in spec.columns]
    try:
        fit = cox_ph(d, names, spec.ties, cluster=arrays.cluster, robust=spec.robust,
                     conf_level=conf_level)  # fmt: skip
    except InputError as exc:
        raise InputError(f"{described.name}: {exc}") from None
    coef = np.nan_to_num(fit.coef, nan=0.0)
    score = (d.x - fit.means) @ coef
    terms, columns = zph_terms(spec, fit.coef)
    robust_var, robust_score = None, None
    if arrays.cluster is not None or spec.robust:
        robust_var, robust_score = _robust_tests(d, fit, arrays.cluster)
    return EngineCox(
        fit=fit,
        concordance=concordance_with_se(
            d.time, d.event, score, d.entry, d.strata, d.weights, arrays.cluster
        ),
        n_dropped=arrays.n_dropped,
        terms=terms,
        term_columns=columns,
        stratum_labels=arrays.stratum_labels,
        km_at_events=km_transform(d.time, d.event, d.entry, fit.sums.time),
        rank_at_events=rank_transform(d.time, fit.sums.time),
        robust_var=robust_var,
        robust_score=robust_score,
    )


def _cluster_scores(d: CoxData, x: np.ndarray, beta: np.ndarray, fit: CoxFit,
                    cluster: np.ndarray | None) -> np.ndarray:  # fmt: skip
    """The score residuals at ``beta`` (times the case weights), summed per cluster
    (each row its own cluster without one): what the sandwich is made of."""
    centred = CoxData(x, d.time, d.event, d.entry, d.weights, d.strata)
    sums = centred.sums_at(beta)
    resid = score_residuals(x, d.time, d.event, d.entry, d.strata, beta, sums, fit.ties)
    if d.weights is not None:
        resid = resid * d.weights[:, None]
    if cluster is None:
        return resid
    _, groups = np.unique(cluster, return_inverse=True)
    summed = np.zeros((int(groups.max()) + 1, resid.shape[1]))
    np.add.at(summed, groups, resid)
    return summed


def _robust_tests(d: CoxData, fit: CoxFit, cluster: np.ndarray | None) -> tuple[np.ndarray, float]:
    """R's robust variance ``var M var`` over the estimated columns (``fit$var``) and
    robust score test ``U0' M0^-1 U0`` (``fit$rscore``), as the engine's
    ``cox_after`` computes them.  Score residuals do not depend on the centring, so
    the columns are centred on the fit's means whatever they are."""
    kept = np.flatnonzero(~np.isnan(fit.coef))
    x = np.asarray(d.x, dtype=np.float64).reshape(len(d.time), -1)[:, kept]
    x = x - fit.means[kept]
    var = fit.var[np.ix_(kept, kept)]
    at_fit = _cluster_scores(d, x, fit.coef[kept], fit, cluster)
    robust_var = var @ (at_fit.T @ at_fit) @ var
    at_zero = _cluster_scores(d, x, np.zeros(kept.size), fit, cluster)
    total = at_zero.sum(axis=0)
    return robust_var, r_wald_quadratic(at_zero.T @ at_zero, total)
