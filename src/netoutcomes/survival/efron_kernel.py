"""The Cox per-time terms (Efron or Breslow ties) as one compiled loop (numba).

For each event time with d tied events, Efron's approximation has sub-steps
m = 0..d-1 whose risk-set sum is ``d2 = r_risk - (m/d) r_event`` and in which the
tied events keep the weight ``g = 1 - m/d``.  ``survival.cox_terms.time_terms``
needs, per time, six sums over the sub-steps: ``log d2``, ``1/d2``, ``g/d2``,
``1/d2^2``, ``g/d2^2`` and ``g^2/d2^2`` (``_one_time``), then a few products with
the time's ``r x`` and ``r x x'`` sums (``_terms_kernel``).  There is one sub-step
per event, so at 1e7 rows (7e6 events) numpy's flat layout spent ~0.2 s per
Newton step on repeats, temporaries and a logarithm per event; with untied times
there is one time per event and numpy's (times, p, p) temporaries cost more
still.  This loop keeps nothing per event, and for a Newton step nothing per
time but the log-likelihood terms.  (A closed form in digamma/trigamma of the
sums was tried before and loses ~7e-6 relative to cancellation: not used.)

The logarithm: ``sum_m log d2_m = steps * log r_risk + log prod_m (d2_m / r_risk)``,
the product taken in blocks (a log per block instead of one per sub-step).  Each
factor ``d2_m / r_risk`` lies in (0, 1] (at least 1/d when the whole risk set
dies), so the product is flushed into the sum before it could underflow; a
rounding error per factor of ~1e-16 in the product is no more than the error of
one rounded logarithm per sub-step.  Non-positive or non-finite sums (a
coefficient running away) take the plain ``log d2`` of every sub-step, so they
give the same -inf / nan as the per-step formula; so does a time with one
sub-step.  The other sums add the sub-steps in blocks (``_BLOCK``), to keep the
rounding of long runs of ties at numpy's level.  After the sub-step sums, the
operations are those of the numpy form, in its order: the same bits.

This module imports numba (~0.2 s): only the Cox fit path imports it, inside
``survival.cox_terms``'s functions (never the ``stats km`` / ``--help`` path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numpy.typing import NDArray

if TYPE_CHECKING:
    from netoutcomes.survival.cox_sums import CoxTimeSums

FloatArray = NDArray[np.float64]
# CoxTimeSums' arrays: n_event, w_event, wx_event, rx_event, rxx_event, r_event, r_risk,
# rx_risk, rxx_risk
SumsArrays = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray,
                   FloatArray, FloatArray, FloatArray]  # fmt: skip

_FLUSH_BELOW = 1e-200  # product flushed into the log sum below this (factors >= 1e-100)
_FACTOR_MIN = 1e-100  # a smaller factor is logged on its own (never underflows the product)
# Sums over a time's sub-steps in blocks of this many, then the blocks summed: a rounding
# error ~(64 + d/64) eps at worst instead of d eps for one running sum (measured at 1e7
# rows, d up to 4,000: <= 1e-15 relative to math.fsum, as numpy's pairwise sums), at no
# extra cost per sub-step.
_BLOCK = 64
# Beyond this risk sum (or below its inverse) a time's squared sub-step sums are taken
# of risk / d2 (``_terms_kernel``): 1 / d2^2 would leave the double range near 1e154.
_NORMALISE_ABOVE = 1e150
_TINY = 1e-300  # below it 1 / risk overflows: left as it was (a fit already lost)


@njit(cache=True, error_model="numpy")  # x / 0 gives inf or nan, as numpy, not an exception
def _one_time(  # pragma: no cover - compiled; tested through sub_step_sums
    d: float, steps: int, risk: float, ev: float
) -> tuple[float, float, float, float, float, float]:
    """The six sums over the sub-steps m = 0..steps-1 of one time (f = m / d)."""
    if steps == 1:  # one sub-step (one death, or Breslow): d2 = r_risk, its own log
        d2 = risk - 0.0 * ev
        inv = 1.0 / d2
        inv2 = inv * inv
        return np.log(d2), inv, inv, inv2, inv2, inv2
    normalised = risk > 0.0 and risk < np.inf
    s_log = s_inv = s_g_inv = s_inv2 = s_g_inv2 = s_gg_inv2 = 0.0
    product = 1.0
    for start in range(0, steps, _BLOCK):
        b_inv = b_g_inv = b_inv2 = b_g_inv2 = b_gg_inv2 = 0.0
        for m in range(start, min(start + _BLOCK, steps)):
            f = m / d
            d2 = risk - f * ev
            g = 1.0 - f
            inv = 1.0 / d2
            b_inv += inv
            b_g_inv += g * inv
            inv2 = inv * inv
            b_inv2 += inv2
            g_inv2 = inv2 * g
            b_g_inv2 += g_inv2
            b_gg_inv2 += g_inv2 * g
            if normalised:
                # d2 / risk, not d2 * (1 / risk): the first sub-step's factor is then
                # exactly 1 (r * (1/r) is often 1 - 2**-53, 2e-16 of error in the log sum).
                factor = d2 / risk
                if factor >= _FACTOR_MIN:
                    product *= factor
                    if product < _FLUSH_BELOW:
                        s_log += np.log(product)
                        product = 1.0
                else:  # tiny, zero, negative or nan: its own log (-inf, nan as d2's)
                    s_log += np.log(factor)
            else:
                s_log += np.log(d2)
        s_inv += b_inv
        s_g_inv += b_g_inv
        s_inv2 += b_inv2
        s_g_inv2 += b_g_inv2
        s_gg_inv2 += b_gg_inv2
    if normalised:
        s_log += steps * np.log(risk) + np.log(product)
    return s_log, s_inv, s_g_inv, s_inv2, s_g_inv2, s_gg_inv2


@njit(cache=True, error_model="numpy")
def _steps_of(n_event: float, breslow: bool) -> tuple[float, int]:  # pragma: no cover
    """(d, number of sub-steps): Breslow one step; Efron m = 0, 1, ... while m < d."""
    if breslow:
        return 1.0, 1
    return n_event, int(np.ceil(n_event))


@njit(cache=True, error_model="numpy")
def _sub_step_sums_kernel(  # pragma: no cover - compiled; tested through sub_step_sums
    n_event: FloatArray, r_event: FloatArray, r_risk: FloatArray, breslow: bool
) -> FloatArray:
    k = n_event.size
    out = np.zeros((6, k))
    for i in range(k):
        d, steps = _steps_of(n_event[i], breslow)
        sums = _one_time(d, steps, r_risk[i], r_event[i])
        for j in range(6):
            out[j, i] = sums[j]
    return out


def sub_step_sums(
    n_event: FloatArray, r_event: FloatArray, r_risk: FloatArray, breslow: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per time, the sums over Efron's sub-steps of ``log d2``, ``1/d2``, ``g/d2``,
    ``1/d2^2``, ``g/d2^2``, ``g^2/d2^2`` (Breslow: the one sub-step m = 0): what
    ``_terms_kernel`` computes first for each time, on its own so that the tests can
    hold it to the plain formula (tests/survival/test_cox_efron_kernel.py)."""
    out = _sub_step_sums_kernel(_vec(n_event), _vec(r_event), _vec(r_risk), bool(breslow))
    return out[0], out[1], out[2], out[3], out[4], out[5]


@njit(cache=True, error_model="numpy")
def _terms_kernel(  # pragma: no cover - compiled; tested through time_terms_arrays
    n_event: FloatArray,
    w_event: FloatArray,
    wx_event: FloatArray,
    rx_event: FloatArray,
    rxx_event: FloatArray,
    r_event: FloatArray,
    r_risk: FloatArray,
    rx_risk: FloatArray,
    rxx_risk: FloatArray,
    breslow: bool,
    per_time: bool,
) -> tuple[FloatArray, ...]:
    """Per time: the log-likelihood term, and either every term (``per_time``) or only
    the score and information summed over the times (what a Newton step needs; nothing
    of size times x p x p is made).  The operations and their order are those of the
    numpy form (``survival.cox_terms.time_terms`` before this kernel, its arrays summed
    over the first axis, in time order), so the results are its bits, except at a time
    whose risk sum is past 1e150 (or below 1e-150), where the numpy form's 1 / d2^2
    over- or underflowed (an information of 1 where R's is 0)."""
    k, p = rx_risk.shape
    rows = k if per_time else 0
    loglik = np.empty(k)
    hazard, hazard_ev = np.empty(rows), np.empty(rows)
    score, xhaz, xhaz_ev, mean_ev = (np.empty((rows, p)), np.empty((rows, p)),
                                     np.empty((rows, p)), np.empty((rows, p)))  # fmt: skip
    information = np.empty((rows, p, p))
    score_total, information_total = np.zeros(p), np.zeros((p, p))
    rest_s, ev_s = np.empty(p), np.empty(p)
    for i in range(k):
        d, steps = _steps_of(n_event[i], breslow)
        s_log, s_inv, s_g_inv, s_inv2, s_g_inv2, s_gg_inv2 = _one_time(
            d, steps, r_risk[i], r_event[i]
        )
        d_steps = 1.0 if breslow else n_event[i]
        w = w_event[i] / d_steps
        risk = r_risk[i]
        # 1 / d2^2 over- or underflows once the risk sum leaves ~[1e-154, 1e154] (a
        # coefficient running away: eta ~ 355): then the squared sums are taken of
        # risk / d2 (between 1 and d) and scaled back by 1 / risk in each product.
        unit = 1.0
        outside = risk > _NORMALISE_ABOVE or risk < 1.0 / _NORMALISE_ABOVE
        if outside and _TINY < risk < np.inf:
            unit = 1.0 / risk
            _, _, _, s_inv2, s_g_inv2, s_gg_inv2 = _one_time(d, steps, 1.0, r_event[i] * unit)
        scale = np.sqrt(s_inv2) * unit
        if s_inv2 > 0:
            g_ratio = s_g_inv2 / s_inv2
            gg_ratio = s_gg_inv2 / s_inv2
        else:
            g_ratio = gg_ratio = 0.0
        for a in range(p):
            rest_x = rx_risk[i, a] - rx_event[i, a]  # the risk set without the tied events
            ev_x = rx_event[i, a]
            mean_sum = rest_x * s_inv + ev_x * s_g_inv
            score_ia = wx_event[i, a] - w * mean_sum
            if per_time:
                score[i, a] = score_ia
                rest_u, ev_u = rest_x * unit, ev_x * unit  # unit = 1 but past 1e150
                xhaz[i, a] = w * (rest_u * (s_inv2 * unit) + ev_u * (s_g_inv2 * unit))
                xhaz_ev[i, a] = w * (rest_u * (s_g_inv2 * unit) + ev_u * (s_gg_inv2 * unit))
                mean_ev[i, a] = mean_sum / d_steps
            else:
                score_total[a] += score_ia
            rest_s[a] = rest_x * scale
            ev_s[a] = ev_x * scale
        for a in range(p):
            for b in range(p):
                rest_xx = rxx_risk[i, a, b] - rxx_event[i, a, b]
                second = rest_xx * s_inv + rxx_event[i, a, b] * s_g_inv
                outer = (
                    rest_s[a] * rest_s[b]
                    + (rest_s[a] * ev_s[b] + rest_s[b] * ev_s[a]) * g_ratio
                    + ev_s[a] * ev_s[b] * gg_ratio
                )
                if per_time:
                    information[i, a, b] = w * (second - outer)
                else:
                    information_total[a, b] += w * (second - outer)
        loglik[i] = -w * s_log
        if per_time:
            hazard[i] = w * s_inv
            hazard_ev[i] = w * s_g_inv
    return (loglik, score, information, hazard, xhaz, hazard_ev, xhaz_ev, mean_ev, score_total,
            information_total)  # fmt: skip


def _inputs(sums: CoxTimeSums) -> SumsArrays:
    return (_vec(sums.n_event), _vec(sums.w_event), _vec(sums.wx_event), _vec(sums.rx_event),
            _vec(sums.rxx_event), _vec(sums.r_event), _vec(sums.r_risk), _vec(sums.rx_risk),
            _vec(sums.rxx_risk))  # fmt: skip


def time_terms_arrays(sums: CoxTimeSums, breslow: bool) -> tuple[FloatArray, ...]:
    """``survival.cox_terms.time_terms``'s eight arrays (loglik, score, information,
    hazard, xhaz, hazard_ev, xhaz_ev, mean_ev) in one pass over the times, with no
    (times, p, p) temporaries: at 1e6 distinct event times (untied times) the numpy
    form took ~0.7 s per call."""
    return tuple(_terms_kernel(*_inputs(sums), bool(breslow), True)[:8])


def step_totals(sums: CoxTimeSums, breslow: bool) -> tuple[FloatArray, FloatArray, FloatArray]:
    """What a Newton step needs: the per-time log-likelihood terms, and the score and
    information summed over the times."""
    out = _terms_kernel(*_inputs(sums), bool(breslow), False)
    return out[0], out[8], out[9]


def _vec(a: FloatArray) -> FloatArray:
    return np.ascontiguousarray(a, dtype=np.float64)
