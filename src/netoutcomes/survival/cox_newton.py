"""Newton-Raphson on the Cox partial likelihood, as R's ``coxfit6.c`` / ``agfit4.c``.

From beta = 0 with step halving, converged when ``|1 - loglik_old / loglik_new| <=
eps`` (``coxph.control``: eps = 1e-9, iter.max = 20).  The fit sees the data only
through ``sums_at(beta)`` (a ``CoxTimeSums`` table), so in-memory arrays and the
engine's aggregate queries give the same fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from netoutcomes.errors import InputError
from netoutcomes.survival.cox_sums import CoxTimeSums, FloatArray
from netoutcomes.survival.cox_terms import Ties, partial_likelihood_step

EPS = 1e-9  # coxph.control(eps)
ITER_MAX = 20  # coxph.control(iter.max)
TOLER_CHOL = float(np.finfo(float).eps) ** 0.75  # coxph.control(toler.chol)
TOLER_INF = EPS**0.5  # coxph.control(toler.inf)


@dataclass(frozen=True)
class NewtonResult:
    coef: FloatArray
    var: FloatArray  # inverse information at coef
    loglik_null: float  # at beta = 0
    loglik: float
    score_test: float  # u(0)' I(0)^-1 u(0)
    score_at_fit: FloatArray
    iterations: int
    converged: bool
    warnings: tuple[str, ...] = ()  # what R's coxph warns about (the fit is still R's)
    # Columns whose information became singular during the fit (R's cholesky2 dropped
    # them at the converged point): R's coxph reports their coefficient NA and variance
    # 0, while its linear predictor (concordance, residuals) uses the value in ``coef``.
    singular: tuple[int, ...] = ()


def _newton_step(info: FloatArray, u: FloatArray, dropped: list[int]) -> FloatArray:
    """R's ``chsolve2`` after ``cholesky2``: a column whose pivot is dropped
    (``singular_columns``) takes no step; the others solve their own block."""
    if not dropped:
        return np.asarray(np.linalg.solve(info, u))
    kept = _kept(u.size, dropped)
    step = np.zeros(u.size)
    if kept:
        step[kept] = np.linalg.solve(info[np.ix_(kept, kept)], u[kept])
    return step


def _inverse(info: FloatArray, dropped: list[int]) -> FloatArray:
    """R's ``chinv2``: the inverse of the kept block, 0 in a dropped column's row and column."""
    if not dropped:
        return np.asarray(np.linalg.inv(info), dtype=np.float64)
    kept = _kept(info.shape[0], dropped)
    var = np.zeros(info.shape)
    if kept:
        var[np.ix_(kept, kept)] = np.linalg.inv(info[np.ix_(kept, kept)])
    return var


def _kept(p: int, dropped: list[int]) -> list[int]:
    return [i for i in range(p) if i not in dropped]


def column_scale(
    total_weight: float, spread: FloatArray, zero_one: NDArray[np.bool_]
) -> FloatArray:
    """R's per-column scale (coxfit6.c) from ``spread = sum(w |x - weighted mean|)`` per
    column: ``sum(w) / spread``; 1 for a -1/0/1 column (R neither centres nor scales
    those) and for a constant one.  R fits on the scaled columns; here the scale enters
    only where it changes an answer, ``cholesky2``'s pivot rule (``singular_columns``).
    (R's agfit4.c, for (start, stop] data, means to centre per stratum but, by a slip in
    its loop, centres on the first sorted row's value; the weighted mean is taken here.)"""
    spread = np.asarray(spread, dtype=np.float64)
    with np.errstate(divide="ignore"):
        scale = np.where(spread > 0, total_weight / spread, 1.0)
    return np.asarray(np.where(zero_one, 1.0, scale), dtype=np.float64)


def singular_columns(info: FloatArray, scale: FloatArray | None = None) -> list[int]:
    """Columns R's ``cholesky2`` would drop: a pivot below ``toler.chol`` times the largest
    diagonal element, working through the columns in order (so the later of two
    collinear columns is the one named).  With ``scale`` (``column_scale``) on the
    information of the scaled columns, as R's coxph: a column on a scale 1e-7 of
    another's is fitted, not dropped."""
    a = np.array(info, dtype=np.float64)
    if scale is not None:
        a *= np.outer(scale, scale)
    n = a.shape[0]
    diag_max = float(np.max(np.diag(a))) if n else 0.0
    eps = TOLER_CHOL * diag_max if diag_max > 0 else TOLER_CHOL
    bad: list[int] = []
    for i in range(n):
        pivot = a[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            # column i is never read again (the steps after i read rows and columns
            # > i only), so nothing of it needs clearing
            bad.append(i)
            continue
        for j in range(i + 1, n):
            factor = a[j, i] / pivot
            a[j, j:] -= factor * a[i, j:]
            a[j:, j] = a[j, j:]
    return bad


def fit_cox(
    sums_at: Callable[[FloatArray], CoxTimeSums],
    p: int,
    ties: Ties = "efron",
    eps: float = EPS,
    iter_max: int = ITER_MAX,
    names: list[str] | None = None,
    scale: FloatArray | None = None,
) -> NewtonResult:
    """Newton-Raphson on the partial likelihood from beta = 0, as R's coxfit6/agfit4.

    ``sums_at(beta)`` returns the per-time sums at ``beta``.  A step that lowers
    the log-likelihood is shortened towards the last accepted point, more each time in
    a row, as R's coxfit6.c: ``(newbeta + k beta) / (k + 1)`` at the k-th (the midpoint,
    then a third of the way...); converged when ``|1 - loglik_old / loglik_new| <= eps``,
    on a shortened step too, as survival 3.x's coxfit6.c (this loop used to wait for a
    full step).  Out of iterations on a rejected step, the last accepted point is
    returned with its sums evaluated again, as R.
    Raises InputError for a singular information matrix at beta = 0 (naming the
    columns; R's pivot rule on the columns scaled by ``scale``, ``column_scale``).  A
    coefficient running to infinity (monotone likelihood) or no convergence in
    ``iter_max`` steps gives R's answer (the last step) with a warning, as R does.
    A step whose log-likelihood, score or information is not finite is shortened, and
    a column whose information turns singular on the way takes no more steps; at the
    converged point it is in ``singular`` (R's NA, variance 0), as R's cholesky2.
    """
    names = names or [f"x{i + 1}" for i in range(p)]
    beta = np.zeros(p)
    loglik0, u, info = partial_likelihood_step(sums_at(beta), beta, ties)
    bad = singular_columns(info, scale)
    if bad:
        which = ", ".join(names[i] for i in bad)
        raise InputError(
            f"singular design: covariate {which} is constant or a linear combination "
            "of the others (in the rows used, within strata)"
        )
    step = _newton_step(info, u, bad)  # none dropped at beta = 0 (refused above)
    score_test = float(u @ step)
    best = loglik0
    newbeta = beta + step
    halving = 0  # rejected steps in a row
    converged = False
    newlk = loglik0
    iteration = 0
    for iteration in range(1, iter_max + 1):
        newlk, u, info = partial_likelihood_step(sums_at(newbeta), newbeta, ties)
        if not (np.isfinite(newlk) and np.all(np.isfinite(u)) and np.all(np.isfinite(info))):
            newlk = -np.inf  # R: a non-finite loglik, score or information is a bad step
        if np.isfinite(newlk) and abs(1.0 - best / newlk) <= eps:
            converged = True
            break
        if newlk < best:
            if iteration == iter_max:  # out of iterations on a rejected step: R's beta
                # R: "recompute the last good version of imat and u" (with iter.max = 1
                # R keeps the rejected point's imat; every caller here uses 20)
                newbeta = beta
                newlk, u, info = partial_likelihood_step(sums_at(beta), beta, ties)
                break
            halving += 1  # R: "get more aggressive when it doesn't work"
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        elif iteration < iter_max:
            halving = 0
            best = newlk
            beta = newbeta
            newbeta = newbeta + _newton_step(info, u, singular_columns(info, scale))
    if not np.all(np.isfinite(newbeta)) or not np.isfinite(newlk):
        raise InputError("the Cox fit failed: numeric overflow (a coefficient ran to infinity)")
    dropped = singular_columns(info, scale)
    var = _inverse(info, dropped)
    coef = newbeta
    # R's coxph.fit: NA where the converged point's information is singular (not when
    # out of iterations: R's flag 1000 marks none)
    singular = tuple(dropped) if converged else ()
    # R's coxph.fit: "Loglik converged before variable ...; coefficient may be infinite."
    infs = np.abs(u @ var)
    infinite = (infs > eps) & (infs > TOLER_INF * np.abs(coef))
    warnings: list[str] = []
    if singular:
        which = ", ".join(names[i] for i in singular)
        warnings.append(
            f"the information of {which} became singular as its coefficient ran towards "
            "infinity (e.g. the only subject of a group died first); its coefficient is NA "
            "and its variance 0, as in R"
        )
    if converged and np.any(infinite):
        which = ", ".join(names[i] for i in np.flatnonzero(infinite))
        warnings.append(
            f"monotone likelihood: the coefficient of {which} may be infinite "
            "(the log-likelihood converged before it did; e.g. no events in one group); "
            "its hazard ratio and interval are meaningless"
        )
    if not converged:
        warnings.append(
            f"the Cox fit did not converge in {iter_max} iterations; these are the "
            "values of the last one (a coefficient may be infinite)"
        )
    return NewtonResult(
        coef=coef,
        var=var,
        loglik_null=loglik0,
        loglik=newlk,
        score_test=score_test,
        score_at_fit=u,
        iterations=iteration,
        converged=converged,
        warnings=tuple(warnings),
        singular=singular,
    )
