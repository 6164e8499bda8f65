"""Exact (Clopper-Pearson) confidence interval of a binomial proportion, as R's binom.test."""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import binomtest


@dataclass(frozen=True)
class Proportion:
    successes: int
    n: int
    estimate: float  # NaN when n == 0
    lower: float
    upper: float
    conf_level: float


def clopper_pearson(successes: int, n: int, conf_level: float = 0.95) -> Proportion:
    """successes / n with the exact interval (beta quantiles; 0 and 1 at the edges)."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        nan = float("nan")
        return Proportion(0, 0, nan, nan, nan, conf_level)
    ci = binomtest(successes, n).proportion_ci(confidence_level=conf_level, method="exact")
    return Proportion(successes, n, successes / n, float(ci.low), float(ci.high), conf_level)
