"""Efron's tied-event sub-step sums as one compiled loop (numba).

For each event time with d tied events, Efron's approximation has sub-steps
m = 0..d-1 whose risk-set sum is ``d2 = r_risk - (m/d) r_event`` and in which the
tied events keep the weight ``g = 1 - m/d``.  ``survival.cox.time_terms`` needs,
per time, six sums over the sub-steps: ``log d2``, ``1/d2``, ``g/d2``, ``1/d2^2``,
``g/d2^2`` and ``g^2/d2^2``.  There is one sub-step per event, so at 1e7 rows
(7e6 events) numpy's flat layout spends ~0.2 s per Newton step on repeats,
temporaries and a logarithm per event; this loop reads the three per-time inputs
and keeps nothing per event.  (A closed form in digamma/trigamma of the sums was
tried before and loses ~7e-6 relative to cancellation: not used.)

The logarithm: ``sum_m log d2_m = steps * log r_risk + log prod_m (d2_m / r_risk)``,
the product taken in blocks (a log per block instead of one per sub-step).  Each
factor ``d2_m / r_risk`` lies in (0, 1] (at least 1/d when the whole risk set
dies), so the product is flushed into the sum before it could underflow; a
rounding error per factor of ~1e-16 in the product is no more than the error of
one rounded logarithm per sub-step.  Non-positive or non-finite sums (a
coefficient running away) take the plain ``log d2`` of every sub-step, so they
give the same -inf / nan as the per-step formula.  The other sums add the
sub-steps in blocks (``_BLOCK``), to keep the rounding of long runs of ties at
numpy's level.

This module imports numba (~0.2 s): only the Cox fit path imports it, inside
``survival.cox`` (never the ``stats km`` / ``--help`` path).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_FLUSH_BELOW = 1e-200  # product flushed into the log sum below this (factors >= 1e-100)
_FACTOR_MIN = 1e-100  # a smaller factor is logged on its own (never underflows the product)
# Sums over a time's sub-steps in blocks of this many, then the blocks summed: a rounding
# error ~(64 + d/64) eps at worst instead of d eps for one running sum (measured at 1e7
# rows, d up to 4,000: <= 1e-15 relative to math.fsum, as numpy's pairwise sums), at no
# extra cost per sub-step.
_BLOCK = 64


@njit(cache=True, error_model="numpy")  # x / 0 gives inf or nan, as numpy, not an exception
def _sub_step_sums_kernel(  # pragma: no cover - compiled; tested through sub_step_sums
    n_event: FloatArray, r_event: FloatArray, r_risk: FloatArray, breslow: bool
) -> FloatArray:
    k = n_event.size
    out = np.zeros((6, k))
    for i in range(k):
        if breslow:
            d = 1.0
            steps = 1
        else:
            d = n_event[i]
            steps = int(np.ceil(d))  # m = 0, 1, ... while m < d
        risk, ev = r_risk[i], r_event[i]
        normalised = risk > 0.0 and risk < np.inf
        inv_risk = 1.0 / risk if normalised else 0.0
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
                    factor = d2 * inv_risk
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
        out[0, i] = s_log
        out[1, i] = s_inv
        out[2, i] = s_g_inv
        out[3, i] = s_inv2
        out[4, i] = s_g_inv2
        out[5, i] = s_gg_inv2
    return out


def sub_step_sums(
    n_event: FloatArray, r_event: FloatArray, r_risk: FloatArray, breslow: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per time, the sums over Efron's sub-steps of ``log d2``, ``1/d2``, ``g/d2``,
    ``1/d2^2``, ``g/d2^2``, ``g^2/d2^2`` (Breslow: the one sub-step m = 0)."""
    out = _sub_step_sums_kernel(
        np.ascontiguousarray(n_event, dtype=np.float64),
        np.ascontiguousarray(r_event, dtype=np.float64),
        np.ascontiguousarray(r_risk, dtype=np.float64),
        bool(breslow),
    )
    return out[0], out[1], out[2], out[3], out[4], out[5]
