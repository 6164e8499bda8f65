"""Cumulative incidence with competing risks: Aalen-Johansen, as R's multi-state ``survfit``.

``survfit(Surv(time, factor(status)) ~ group)`` with status 0 = censored and
1..k = the cause of the event fits a multi-state model with one start state and
k absorbing states; the probability of being in state j is the cumulative
incidence of cause j (the Aalen-Johansen estimator).  Everything here follows R's
``survival`` (3.5) to the digit:

- rows are the distinct exit times (event of any cause or censoring), as R's
  ``fit$time``; ``n_risk`` are those in the start state just before the time
  (entry < t <= exit), ``n_event`` the events of the cause at the time;
- ``cif_j(t) = sum over event times s <= t of S(s-) d_j(s) / n(s)`` where ``S`` is
  the Kaplan-Meier of any event (the probability of still being event-free);
- ``std_err`` is R's default for multi-state curves: the infinitesimal jackknife
  (``robust = TRUE``), the square root of the sum over subjects of their
  squared influence on ``cif_j(t)``.  It is not the Greenwood-type (Aalen) or the
  delta-method variance that cmprsk's ``cuminc`` reports, so the two packages'
  standard errors differ slightly;
- the interval is R's default ``conf.type = "log"`` applied to the probability:
  the standard error of log(cif) is ``std_err / cif`` (0 where std_err is 0),
  ``exp(log(cif) -+ z std_err / cif)``, the upper limit clipped at 1 and both
  undefined (NaN) where cif = 0 (R's ``survfit_confint(logse = FALSE)``).

The influence of subject i on the curves has a closed form (``_influence_sums``), so
the variance at every time costs O(n + times) instead of R's O(n x times).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netoutcomes.survival.counts import FloatArray
from netoutcomes.survival.groups import crossed_level_labels
from netoutcomes.survival.km import ConfType, confidence_interval
from netoutcomes.survival.timefix import r_timefix

IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class CauseCurve:
    """The cumulative incidence of one cause at the stratum's distinct exit times."""

    cause: int
    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    cif: FloatArray
    std_err: FloatArray
    lower: FloatArray
    upper: FloatArray

    @property
    def events(self) -> float:
        return float(self.n_event.sum())


@dataclass(frozen=True)
class CauseAtTimes:
    """R's ``summary(fit, times=, extend=TRUE)`` for one cause."""

    cause: int
    time: FloatArray
    n_risk: FloatArray
    cif: FloatArray
    std_err: FloatArray
    lower: FloatArray
    upper: FloatArray


@dataclass(frozen=True)
class CompetingRisks:
    """One stratum (or group): a curve per cause, and the event-free probability."""

    label: str
    n: int
    time: FloatArray
    n_risk: FloatArray
    n_censor: FloatArray
    event_free: FloatArray  # R's pstate[, "(s0)"]: Kaplan-Meier of any event
    causes: tuple[CauseCurve, ...]
    conf_type: ConfType
    conf_level: float

    def cause(self, code: int) -> CauseCurve:
        for c in self.causes:
            if c.cause == code:
                return c
        raise KeyError(code)


def cause_codes(status: FloatArray) -> list[int]:
    """The causes present (non-zero status codes, ascending): R's states after ``(s0)``."""
    codes = np.unique(np.asarray(status, dtype=np.float64))
    return [int(c) for c in codes if c != 0]


def _risk_grid(
    time: FloatArray, status: FloatArray, entry: FloatArray | None, causes: list[int]
) -> tuple[FloatArray, IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    """Grid of distinct exit times; per subject its exit and entry index; per time the
    number at risk, the events per cause (times x causes) and the censorings."""
    grid = np.unique(time)
    exit_at = np.searchsorted(grid, time)
    # Entry index: the number of grid times <= entry (at risk from that grid row on).
    enter_at = (
        np.zeros(time.size, dtype=np.intp)
        if entry is None
        else np.searchsorted(grid, entry, side="right").astype(np.intp)
    )
    m = grid.size
    exits = np.bincount(exit_at, minlength=m).astype(np.float64)
    enters = np.bincount(enter_at, minlength=m + 1)[:m].astype(np.float64)
    n_risk = np.cumsum(enters) - np.concatenate([[0.0], np.cumsum(exits)[:-1]])
    n_event = (
        np.column_stack(
            [np.bincount(exit_at[status == k], minlength=m).astype(np.float64) for k in causes]
        )
        if causes
        else np.zeros((m, 0))
    )
    n_censor = np.bincount(exit_at[status == 0], minlength=m).astype(np.float64)
    return grid, exit_at, enter_at, n_risk, n_event, n_censor


def _before(values: FloatArray, index: IntArray) -> FloatArray:
    """A cumulative quantity just before grid row ``index`` (0 before the first row)."""
    return np.concatenate([[0.0], values])[index]


def _influence_sums(
    n_risk: FloatArray,
    n_event: FloatArray,
    surv_before: FloatArray,
    cif: FloatArray,
    exit_at: IntArray,
    enter_at: IntArray,
    status: FloatArray,
    cause: int,
) -> FloatArray:
    """Sum over subjects of their squared influence on ``cif`` (one cause) at each row.

    The infinitesimal jackknife of the Aalen-Johansen estimator (R's Csurvfitci) in
    closed form.  With G(t) = sum d/(n(n-d)) (Greenwood's sum) a subject that is at
    risk from its entry a has, on the event-free state, influence S(t) (G(t) - G(a));
    on cause j, at a row t with it still at risk:
        U(t) = B(t) - B(a) - G(a) (F(t) - F(a)),
        B(t) = sum over rows s <= t of S(s-) (G(s-) - 1/n(s)) d_j(s)/n(s),
    plus S(e-)/n(e) at its exit e if that is an event of cause j.  After its exit,
    U(t) = U(e) + c (F(t) - F(e)) with c = G(e) - G(a) when censored and
    c = G(e-) - G(a) - 1/n(e) after an event of any cause.  So the sum of squares is
    a quadratic in F(t) and B(t) whose coefficients are running sums over subjects.
    """
    m = n_risk.size
    d_all = n_event.sum(axis=1)
    d_j = n_event[:, cause]
    with np.errstate(divide="ignore", invalid="ignore"):
        g_terms = np.where(d_all > 0, d_all / (n_risk * (n_risk - d_all)), 0.0)
        hazard_j = np.where(d_j > 0, d_j / n_risk, 0.0)
    g_terms = np.where((d_all > 0) & (n_risk <= d_all), np.inf, g_terms)
    greenwood = np.cumsum(g_terms)
    g_before = np.concatenate([[0.0], greenwood[:-1]])
    with np.errstate(invalid="ignore"):
        # Once S reaches 0 (everyone at risk failed) later entrants add nothing.
        b_terms = np.where(
            (d_j > 0) & (surv_before > 0), surv_before * (g_before - 1.0 / n_risk) * hazard_j, 0.0
        )
    b_cum = np.cumsum(b_terms)

    g_a = _before(greenwood, enter_at)
    # Entering after S reached 0 (G infinite): S stays 0, so no influence at all.
    g_a = np.where(np.isfinite(g_a), g_a, 0.0)
    f_a = _before(cif, enter_at)
    b_a = _before(b_cum, enter_at)
    beta = g_a * f_a - b_a  # U(t) = B(t) - g_a F(t) + beta while at risk
    e = exit_at
    with np.errstate(divide="ignore", invalid="ignore"):
        u_exit = (
            b_cum[e]
            - g_a * cif[e]
            + beta
            + np.where(status == cause + 1, surv_before[e] / n_risk[e], 0.0)
        )
        c = np.where(status == 0, greenwood[e], g_before[e] - 1.0 / n_risk[e]) - g_a
    # After the curve reaches S = 0 nothing changes (F flat): keep c finite.
    c = np.where(np.isfinite(c), c, 0.0)
    alpha = u_exit - c * cif[e]

    def by_exit(x: FloatArray) -> FloatArray:
        return np.cumsum(np.bincount(e, weights=x, minlength=m))

    def by_entry(x: FloatArray) -> FloatArray:
        return np.cumsum(np.bincount(enter_at, weights=x, minlength=m + 1)[:m])

    exited = by_exit(alpha**2) + 2.0 * cif * by_exit(alpha * c) + cif**2 * by_exit(c**2)

    def active(x: FloatArray) -> FloatArray:
        return by_entry(x) - by_exit(x)

    ones = np.ones_like(g_a)
    at_risk = (
        active(ones) * b_cum**2
        + active(beta**2)
        + cif**2 * active(g_a**2)
        + 2.0 * b_cum * active(beta)
        - 2.0 * b_cum * cif * active(g_a)
        - 2.0 * cif * active(beta * g_a)
    )
    total: FloatArray = np.maximum(exited + at_risk, 0.0)
    return total


def aalen_johansen(
    time: FloatArray,
    status: FloatArray,
    entry: FloatArray | None = None,
    causes: list[int] | None = None,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
    label: str = "all",
) -> CompetingRisks:
    """Cumulative incidence of each cause in one stratum, as R's multi-state ``survfit``.

    ``status`` holds 0 (censored) or a cause code 1..k; ``causes`` lists the codes to
    report (default: those present; R reports every level of the whole data's factor,
    so a group without events of a cause gets a flat 0 curve).  ``entry``: delayed
    entry, at risk on (entry, time].  Times are not tied for rounding error here
    (``cif_by_group`` does that over the whole data, as R).
    """
    time = np.asarray(time, dtype=np.float64)
    status = np.asarray(status, dtype=np.float64)
    codes = cause_codes(status) if causes is None else list(causes)
    # Columns of n_event follow ``codes``; internally cause j is column j (status j + 1).
    position = {code: j + 1 for j, code in enumerate(codes)}
    internal = np.array([0.0 if s == 0 else float(position.get(int(s), -1)) for s in status])
    if np.any(internal < 0):
        raise ValueError(f"status has codes outside the causes {codes}")
    grid, exit_at, enter_at, n_risk, n_event, n_censor = _risk_grid(
        time, internal, entry, list(range(1, len(codes) + 1))
    )
    d_all = n_event.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(d_all > 0, d_all / n_risk, 0.0)
    event_free = np.asarray(np.cumprod(1.0 - hazard), dtype=np.float64)
    surv_before = np.concatenate([[1.0], event_free[:-1]])
    curves = []
    for j, code in enumerate(codes):
        with np.errstate(divide="ignore", invalid="ignore"):
            increments = np.where(n_event[:, j] > 0, surv_before * n_event[:, j] / n_risk, 0.0)
        cif = np.cumsum(increments)
        variance = _influence_sums(
            n_risk, n_event, surv_before, cif, exit_at, enter_at, internal, j
        )
        std_err = np.sqrt(variance)
        with np.errstate(divide="ignore", invalid="ignore"):
            se_log = np.where(std_err == 0, 0.0, std_err / cif)
        lower, upper = confidence_interval(cif, se_log, conf_type, conf_level)
        curves.append(CauseCurve(code, grid, n_risk, n_event[:, j], cif, std_err, lower, upper))
    return CompetingRisks(
        label=label,
        n=int(time.size),
        time=grid,
        n_risk=n_risk,
        n_censor=n_censor,
        event_free=event_free,
        causes=tuple(curves),
        conf_type=conf_type,
        conf_level=conf_level,
    )


def cif_at(curve: CauseCurve, times: FloatArray) -> CauseAtTimes:
    """The curve at given times, as R's ``summary(fit, times=, extend=TRUE)``.

    The value is that of the last row at or before each time; ``n_risk`` is the number
    at risk at the first row at or after it (0 past the last row).  Before the first
    row R reads the start row ``survfit0`` prepends at ``min(0, time)``: cif, its
    standard error and both limits 0.
    """
    times = np.sort(np.asarray(times, dtype=np.float64))
    if curve.time.size == 0:  # no rows: nothing at risk, nothing happened (was IndexError)
        zeros = np.zeros(times.size)
        return CauseAtTimes(curve.cause, times, zeros, zeros, zeros, zeros, zeros)
    start = float(min(0.0, curve.time.min()))
    if curve.time[0] == start:
        time, n_risk = curve.time, curve.n_risk
        cif, se, lo, up = curve.cif, curve.std_err, curve.lower, curve.upper
    else:
        zero = np.zeros(1)
        time = np.concatenate([[start], curve.time])
        n_risk = np.concatenate([curve.n_risk[:1], curve.n_risk])
        cif, se, lo, up = (
            np.concatenate([zero, x]) for x in (curve.cif, curve.std_err, curve.lower, curve.upper)
        )
    at_or_before = np.maximum(np.searchsorted(time, times, side="right") - 1, 0)
    first_at_or_after = np.searchsorted(time, times, side="left")
    return CauseAtTimes(
        cause=curve.cause,
        time=times,
        n_risk=np.concatenate([n_risk, [0.0]])[first_at_or_after],
        cif=cif[at_or_before],
        std_err=se[at_or_before],
        lower=lo[at_or_before],
        upper=up[at_or_before],
    )


Column = tuple[str, np.ndarray]


def cif_by_group(
    time: FloatArray,
    status: FloatArray,
    group: Column | list[Column] | None = None,
    entry: FloatArray | None = None,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
    r_doubles: frozenset[str] = frozenset(),
) -> list[CompetingRisks]:
    """One fit per group, labelled and ordered as R's strata (``groups.level_labels``).

    Times closer than rounding error are tied over the whole data first (R's
    ``aeqSurv``); every group reports every cause present in the data.
    """
    time = np.asarray(time, dtype=np.float64)
    status = np.asarray(status, dtype=np.float64)
    time, entry = r_timefix(time, entry)
    causes = cause_codes(status)
    labels, codes = crossed_level_labels(group, r_doubles)
    if group is None:
        codes = np.zeros(time.size, dtype=np.intp)
    out = []
    for gi, name in enumerate(labels):
        rows = codes == gi
        if not rows.any():
            continue
        out.append(
            aalen_johansen(
                time[rows],
                status[rows],
                None if entry is None else entry[rows],
                causes,
                conf_type,
                conf_level,
                name,
            )
        )
    return out
