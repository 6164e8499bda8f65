"""Every statistic the study uses, in one place.

The study asks for Kaplan-Meier curves, log-rank tests, Cox fits, RMST and
survival differences, p-value adjustment and exact binomial intervals only
through this module.  The model fits go through the public API
(``netoutcomes.api``, issue 9), so that the study takes the same
data -> engine -> survival path as the CLI: the arrays the study passes become a
small pandas DataFrame, and

- ``counts``, ``km``, ``follow_up_median``: ``no.survfit`` (its engine count table
  and Kaplan-Meier curve);
- ``two_group_test``: ``no.survdiff`` (log-rank) and ``no.coxph`` (hazard ratio);
- ``cox_fit``, ``cox_zph_p``: ``no.coxph`` and its ``CoxModel.zph("km")``;
- ``cumulative_incidence_at``, ``gray_p``: ``no.cif``.

Every call uses ``BACKEND`` (see its comment).  What is not a model fit stays on
the survival kernels (each equal to R, tested in ``tests/survival``):
``km_of_counts`` (a curve from a table ``counts`` already got from the API),
``median``, ``survival_at_times``, ``survival_diff``, ``rmst_diff`` (functions of
curves), ``proportion`` (Clopper-Pearson), ``adjust_p`` (Holm, BH) and
``median_range``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from netoutcomes.api.cif import cif
from netoutcomes.api.comparison import survdiff
from netoutcomes.api.cox_fit import coxph
from netoutcomes.api.cox_model import CoxModel
from netoutcomes.api.curves import survfit
from netoutcomes.survival.cif import CauseAtTimes, CauseCurve, cif_at
from netoutcomes.survival.counts import CountTable
from netoutcomes.survival.cox import CoxFit
from netoutcomes.survival.km import (
    KaplanMeier,
    Median,
    SurvivalAtTimes,
    kaplan_meier,
    median_survival,
    survival_at,
)
from netoutcomes.survival.multiplicity import adjust_bh, adjust_holm
from netoutcomes.survival.proportions import Proportion, clopper_pearson
from netoutcomes.survival.twosample import Difference, rmst_difference, survival_difference

CONF_LEVEL = 0.95
# The API's backend for the study's small frames: the engine's in-memory oracle.  The
# default (DuckDB) costs ~100 ms per Cox fit on 50 rows against ~4 ms here (~12 ms
# against ~1 ms per curve): the demo took 16.0 s with it, 15.1 s with "memory" and
# 15.0 s on the kernels directly.  With "memory" results.json is byte for byte the
# kernels'; with DuckDB one Cox fit differs in its last digit (SQL summation order).
BACKEND: str | None = "memory"

__all__ = [
    "BACKEND",
    "CONF_LEVEL",
    "CauseAtTimes",
    "CoxFit",
    "CountTable",
    "Difference",
    "KaplanMeier",
    "Median",
    "MedianRange",
    "Proportion",
    "SurvivalAtTimes",
    "TwoGroupTest",
    "adjust_p",
    "counts",
    "cox_fit",
    "cox_zph_p",
    "cumulative_incidence_at",
    "follow_up_median",
    "gray_p",
    "km",
    "median",
    "median_range",
    "proportion",
    "rmst_diff",
    "survival_diff",
    "survival_at_times",
    "two_group_test",
]


def _frame(
    time: np.ndarray, entry: np.ndarray | None, **columns: np.ndarray
) -> tuple[pd.DataFrame, str | None]:
    """The study's arrays as the API's data: columns time, [entry], then ``columns``."""
    data = {"time": np.asarray(time, dtype=np.float64)}
    if entry is not None:
        data["entry"] = np.asarray(entry, dtype=np.float64)
    data |= columns
    return pd.DataFrame(data), None if entry is None else "entry"


def _events(event: np.ndarray) -> np.ndarray:
    """Events coded 0/1 (the reader's first convention)."""
    return np.asarray(event, dtype=bool).astype(np.int64)


def _one_curve(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray | None
) -> tuple[CountTable, KaplanMeier]:
    """``no.survfit`` of one group: the engine's count table and the Kaplan-Meier curve."""
    frame, entry_column = _frame(time, entry, event=_events(event))
    fit = survfit(
        frame,
        time="time",
        event="event",
        entry=entry_column,
        conf_level=CONF_LEVEL,
        backend=BACKEND,
    )
    (table,) = fit.tables.tables.values()
    return table, fit.curves[0].km


def counts(time: np.ndarray, event: np.ndarray, entry: np.ndarray | None) -> CountTable:
    return _one_curve(time, event, entry)[0]


def km(time: np.ndarray, event: np.ndarray, entry: np.ndarray | None) -> KaplanMeier:
    """Kaplan-Meier (Greenwood variance, log-transformed 95% intervals), as R's survfit."""
    return _one_curve(time, event, entry)[1]


def km_of_counts(table: CountTable) -> KaplanMeier:
    """The curve of a table ``counts`` got from the API (no data read: a kernel)."""
    return kaplan_meier(table, conf_level=CONF_LEVEL)


def median(curve: KaplanMeier) -> Median:
    return median_survival(curve)


def survival_at_times(curve: KaplanMeier, times: list[float]) -> SurvivalAtTimes:
    return survival_at(curve, np.array(times, dtype=np.float64))


def follow_up_median(time: np.ndarray, event: np.ndarray, entry: np.ndarray | None) -> float:
    """Median follow-up by the reverse Kaplan-Meier method (death censors follow-up)."""
    reverse = ~np.asarray(event, dtype=bool)
    return median_survival(_one_curve(time, reverse, entry)[1]).median


def survival_diff(a: KaplanMeier, b: KaplanMeier, t: float) -> Difference:
    return survival_difference(a, b, t, CONF_LEVEL)


def rmst_diff(a: KaplanMeier, b: KaplanMeier, tau: float) -> Difference:
    return rmst_difference(a, b, tau, CONF_LEVEL)


def proportion(count: int, total: int) -> Proportion:
    """Exact (Clopper-Pearson) 95% interval, as R's binom.test."""
    return clopper_pearson(count, total, CONF_LEVEL)


@dataclass(frozen=True)
class MedianRange:
    median: float
    minimum: float
    maximum: float


def median_range(values: list[float]) -> MedianRange:
    """Median (mean of the two middle values when even, as R's median) and range; NaN if empty."""
    if not values:
        nan = float("nan")
        return MedianRange(nan, nan, nan)
    array = np.asarray(values, dtype=np.float64)
    return MedianRange(float(np.median(array)), float(array.min()), float(array.max()))


def adjust_p(p: np.ndarray, method: str) -> np.ndarray:
    """Holm or Benjamini-Hochberg adjusted p-values (R's p.adjust); 'none' returns p."""
    if method == "holm":
        return adjust_holm(p)
    if method == "bh":
        return adjust_bh(p)
    return np.asarray(p, dtype=np.float64)


@dataclass(frozen=True)
class TwoGroupTest:
    """Log-rank test and Cox hazard ratio of ``group`` against ``versus`` (unrounded)."""

    logrank_chisq: float
    logrank_p: float
    hr: float
    hr_lower: float
    hr_upper: float
    cox_p: float


def two_group_test(
    time: np.ndarray, event: np.ndarray, entry: np.ndarray | None, in_group: np.ndarray
) -> TwoGroupTest:
    """Log-rank (R survdiff) and Cox PH with Efron ties and a group indicator (R coxph),
    both with delayed entry when ``entry`` is given."""
    member = np.asarray(in_group, dtype=bool)
    frame, entry_column = _frame(
        time,
        entry,
        event=_events(event),
        arm=np.where(member, "group", "versus"),
        group=member.astype(np.int64),
    )
    common = {"time": "time", "event": "event", "entry": entry_column, "backend": BACKEND}
    lr = survdiff(frame, by="arm", **common)  # type: ignore[arg-type]
    fit = coxph(frame, covariates=["group"], conf_level=CONF_LEVEL, **common).fit  # type: ignore[arg-type]
    return TwoGroupTest(
        float(lr.chisq),
        float(lr.p),
        float(fit.hr[0]),
        float(fit.hr_lower[0]),
        float(fit.hr_upper[0]),
        float(fit.p[0]),
    )


def cumulative_incidence_at(
    time: np.ndarray, status: np.ndarray, causes: list[int], times: list[float]
) -> dict[int, CauseAtTimes]:
    """Aalen-Johansen cumulative incidence of each cause (status 0 censored, else the cause)
    at ``times``, with R's variance and log intervals (multi-state survfit)."""
    frame, _ = _frame(time, None, status=np.asarray(status, dtype=np.int64))
    (fit,) = cif(frame, time="time", status="status", conf_level=CONF_LEVEL, backend=BACKEND).fits
    grid = np.array(times, dtype=np.float64)
    curves = {c.cause: c for c in fit.causes}
    out = {}
    for cause in causes:
        # A cause with no event has no curve in the API (R's states are the codes
        # present): its incidence is 0 at every time, at risk as the event-free curve.
        curve = curves.get(cause) or _no_event_curve(fit.time, fit.n_risk, cause)
        out[cause] = cif_at(curve, grid)
    return out


def _no_event_curve(time: np.ndarray, n_risk: np.ndarray, cause: int) -> CauseCurve:
    # as the kernel's curve of a cause with no event (R: log intervals of 0 are NA)
    zero, nan = np.zeros(time.size), np.full(time.size, np.nan)
    return CauseCurve(cause, time, n_risk, zero, zero, zero, nan, nan.copy())


def gray_p(time: np.ndarray, status: np.ndarray, in_group: np.ndarray, cause: int) -> float:
    """Gray's test of one cause between two groups (cmprsk::cuminc)."""
    frame, _ = _frame(
        time,
        None,
        status=np.asarray(status, dtype=np.int64),
        group=np.asarray(in_group, dtype=bool).astype(np.int64),
    )
    result = cif(
        frame, time="time", status="status", by="group", conf_level=CONF_LEVEL, backend=BACKEND
    )
    tests = [t for t in result.gray_tests if t.cause == cause]
    return float(tests[0].p) if tests else float("nan")


# cox_fit's fits and the models they came from, for cox_zph_p (whose signature takes
# the fit): by id, with a weak reference so that a reused id is never taken for it.
_MODELS: dict[int, tuple[weakref.ref[CoxFit], CoxModel, dict[str, str]]] = {}


def cox_fit(
    x: np.ndarray,
    names: list[str],
    time: np.ndarray,
    event: np.ndarray,
    entry: np.ndarray | None,
    strata: np.ndarray | None,
) -> CoxFit:
    """Cox proportional hazards, Efron ties, as R's coxph (strata: integer codes).

    The design's columns go to the API as x0, x1, ... (``names`` may hold any
    text); the fit's terms are ``names``."""
    columns = {f"x{j}": np.asarray(x[:, j], dtype=np.float64) for j in range(x.shape[1])}
    if strata is not None:
        columns["stratum"] = np.asarray(strata, dtype=np.int64)
    frame, entry_column = _frame(time, entry, event=_events(event), **columns)
    model = coxph(
        frame,
        time="time",
        event="event",
        covariates=[c for c in columns if c != "stratum"],
        entry=entry_column,
        strata=None if strata is None else "stratum",
        conf_level=CONF_LEVEL,
        backend=BACKEND,
    )
    renamed = dict(zip(model.fit.terms, names, strict=True))
    fit = replace(model.fit, terms=list(names))
    for key in [k for k, (ref, _, _) in _MODELS.items() if ref() is None]:
        del _MODELS[key]
    _MODELS[id(fit)] = (weakref.ref(fit), model, renamed)
    return fit


def cox_zph_p(
    fit: CoxFit, time: np.ndarray, event: np.ndarray, entry: np.ndarray | None
) -> dict[str, float]:
    """R's cox.zph(fit) p-value per term and "GLOBAL" (Kaplan-Meier transform); aliased
    terms (coefficient NA) are left out, as R does.  ``fit`` is one ``cox_fit`` made
    (its model's ``zph``; the data arguments are kept for the callers)."""
    ref, model, renamed = _MODELS[id(fit)]
    if ref() is not fit:
        raise KeyError("cox_zph_p: the fit was not made by cox_fit")
    test = model.zph("km")
    if test is None:
        raise ValueError("cox.zph: the expanded information matrix is singular")
    return {renamed.get(t, t): float(p) for t, p in zip(test.terms, test.p, strict=True)}
