"""The honesty rules: what the study does not report, and why.

- **Follow-up.** Survival at a landmark later than the cohort's largest
  follow-up time (the last exit, death or censoring) is not estimable: the
  curve says nothing beyond it.  This is R's ``summary(fit, times,
  extend = FALSE)``, which drops such times.  (A curve that has dropped to 0
  stays at 0, but R drops those times too, and so do we.)
- **At risk.** A landmark with fewer than ``survival.min_at_risk`` patients at
  risk is not reported (default 1: only the follow-up rule).
- **Small cohorts.** A cohort with fewer than ``survival.min_patients``
  patients (default 10) or ``survival.min_events`` deaths (default 5) is
  flagged in its table row, on its curve and in the text, and a disjoint
  comparison with such a group gets no test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netoutcomes.study import statistics as st
from netoutcomes.study.protocol import SurvivalSpec


@dataclass(frozen=True)
class LandmarkEstimate:
    """Survival at one landmark (proportions, unrounded); NaN with a reason when not shown."""

    time: float
    surv: float
    lower: float
    upper: float
    at_risk: int
    reason: str | None  # None: reported

    @property
    def reported(self) -> bool:
        return self.reason is None


def follow_up_end(time: np.ndarray) -> float:
    """The largest follow-up time (years): the last exit, death or censoring."""
    return float(time.max()) if time.size else float("nan")


def not_estimable_reason(end: float) -> str:
    return f"not estimable (follow-up ends at {end:.1f} years)"


def landmark_reason(t: float, end: float, at_risk: int, min_at_risk: int) -> str | None:
    """Why an estimate at landmark ``t`` is not shown, or None when it is."""
    if not math.isfinite(end) or t > end:
        return not_estimable_reason(end)
    if at_risk < min_at_risk:
        return f"not reported (fewer than {min_at_risk} at risk)"
    return None


def landmark_estimates(
    curve: st.KaplanMeier, end: float, landmarks: list[float], min_at_risk: int
) -> list[LandmarkEstimate]:
    """Survival at each landmark (in the order given), with the rules above applied."""
    order = sorted(landmarks)
    at = st.survival_at_times(curve, order)
    by_time = {
        t: (float(s), float(lo), float(hi), int(nr))
        for t, s, lo, hi, nr in zip(order, at.surv, at.lower, at.upper, at.n_risk, strict=True)
    }
    out = []
    for t in landmarks:
        s, lo, hi, nr = by_time[t]
        reason = landmark_reason(t, end, nr, min_at_risk)
        if reason is not None:
            s = lo = hi = float("nan")
        out.append(LandmarkEstimate(t, s, lo, hi, nr, reason))
    return out


def small_cohort_reason(
    n: int, events: int, spec: SurvivalSpec, events_word: str = "deaths"
) -> str | None:
    """Why a cohort is too small to test or to trust a curve, or None."""
    if n < spec.min_patients:
        return f"fewer than {spec.min_patients} patients ({n})"
    if events < spec.min_events:
        return f"fewer than {spec.min_events} {events_word} ({events})"
    return None
