"""Two-sample summaries a clinician asks for: S_a(t) - S_b(t) at a landmark, RMST_a - RMST_b.

Both groups are independent, so the variance of a difference is the sum of the
two variances: Greenwood's variance of S at the landmark (R's
``summary(fit, times=)$std.err``), and R's ``rmean`` variance for the RMST.  The
interval is the normal (Wald) interval on the difference scale and the p-value
the two-sided z-test of no difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netoutcomes.survival.km import KaplanMeier, restricted_mean, survival_at, z_value


@dataclass(frozen=True)
class Difference:
    """A difference between two groups (a minus b) with its Wald interval."""

    estimate: float
    se: float
    lower: float
    upper: float
    p: float
    conf_level: float


def _wald(estimate: float, se: float, conf_level: float) -> Difference:
    z = z_value(conf_level)
    # 2 * pnorm(-|z|) as erfc(|z| / sqrt 2): the standard library's erfc, so `stats km
    # --by` with two groups loads no scipy (~0.1 s of start-up); against R's pnorm it is
    # within 1.4e-13 relative over |z| up to 37 (scipy's ndtr: 1.7e-13).
    p = math.erfc(abs(estimate / se) / math.sqrt(2.0)) if se > 0 else float("nan")
    return Difference(estimate, se, estimate - z * se, estimate + z * se, p, conf_level)


def survival_difference(
    a: KaplanMeier, b: KaplanMeier, time: float, conf_level: float = 0.95
) -> Difference:
    """S_a(time) - S_b(time) with Greenwood SEs (NaN SE where a curve has dropped to 0)."""
    at_a = survival_at(a, np.array([time]))
    at_b = survival_at(b, np.array([time]))
    estimate = float(at_a.surv[0] - at_b.surv[0])
    se = float(np.hypot(at_a.std_err[0], at_b.std_err[0]))
    return _wald(estimate, se, conf_level)


def rmst_difference(
    a: KaplanMeier, b: KaplanMeier, tau: float, conf_level: float = 0.95
) -> Difference:
    """RMST_a(tau) - RMST_b(tau), SE from R's ``rmean`` variance of each group."""
    ra, rb = restricted_mean(a, tau), restricted_mean(b, tau)
    return _wald(ra.rmst - rb.rmst, float(np.hypot(ra.se, rb.se)), conf_level)
