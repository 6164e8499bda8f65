"""The abstract-style Methods paragraph, written from the protocol.

Its numbers are protocol settings (window, landmarks, thresholds), not results,
so they link to no table cell.
"""

from __future__ import annotations

from netoutcomes.study.results import Segment, StudyResult

ADJUSTMENT_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": ""}


def write_methods(result: StudyResult) -> list[Segment]:
    """The Methods paragraph, from the protocol (its numbers are settings, not results)."""
    p = result.protocol
    spec = p.survival
    comparisons = p.comparisons
    rules = "; ".join((r.label or r.id).rstrip(".") for r in p.eligibility)
    shown = [f"{t:g}" for t in spec.landmarks_years]
    landmarks = ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]
    parts = [
        f"Every registry patient was screened for a first {p.entry.agent_name} therapy between "
        f"{p.entry.window_start:%d %B %Y} and {p.entry.window_end:%d %B %Y}"
        + (f" and the protocol's rules ({rules})" if rules else "")
        + "; missing data never counted as a pass. ",
    ]
    if p.outcomes:
        parts.append(
            "Best response was the best category from first therapy to the first reading in "
            "the worst category, with exact (Clopper-Pearson) 95% confidence intervals over "
            "all analysed patients. "
        )
    origins = " and ".join(
        {"diagnosis": "histological diagnosis", "first_therapy": "first therapy"}[o]
        for o in spec.origins
    )
    parts.append(
        f"Overall survival from {origins} was estimated by the Kaplan-Meier method "
        "(Greenwood variance, log-transformed 95% intervals) at "
        f"{landmarks} years; median follow-up by the reverse Kaplan-Meier method. "
    )
    if "diagnosis" in spec.origins and spec.delayed_entry:
        parts.append(
            "From diagnosis, patients entered the risk set at first therapy (left truncation) "
            "to avoid immortal-time bias. "
        )
    if spec.data_cutoff is not None:
        parts.append(f"Follow-up was censored at the data cut-off, {spec.data_cutoff:%d %B %Y}. ")
    at_risk = f" or with fewer than {spec.min_at_risk} patients at risk"
    parts.append(
        "No survival estimate is reported beyond a cohort's last follow-up time"
        + (at_risk if spec.min_at_risk > 1 else "")
        + f"; cohorts with fewer than {spec.min_patients} patients or {spec.min_events} deaths "
        "are flagged and not tested. "
    )
    if comparisons.nested:
        parts.append(
            "Nested cohorts were compared descriptively by differences in landmark survival "
            "(Wald intervals). "
        )
    if comparisons.disjoint:
        tau = comparisons.rmst_tau_years or max(spec.landmarks_years)
        adjust = ADJUSTMENT_NAMES[comparisons.adjustment]
        parts.append(
            "Disjoint groups were compared by the log-rank test, Cox proportional-hazards "
            f"regression (Efron ties) and the restricted mean survival time to {tau:g} years"
            + (f"; log-rank p-values were {adjust}-adjusted" if adjust else "")
            + ". "
        )
    labels = {e.id: e.label for e in p.endpoints}
    progression = [e for e in p.endpoints if e.kind != "time_to_next_treatment"]
    if progression:
        names = " and ".join(
            (e.label if i == 0 else e.label[:1].lower() + e.label[1:])
            + (" (responders)" if e.kind == "duration_of_response" else "")
            for i, e in enumerate(progression)
        )
        censor = {getattr(e, "censoring", "") for e in progression}
        where = (
            "the last adequate tumour assessment"
            if censor == {"last_adequate_assessment"}
            else "the last assessment or contact"
        )
        parts.append(
            f"{names} (event: first progression or death; censored at {where}) were "
            "estimated likewise, with the cumulative incidence of progression against death "
            "(Aalen-Johansen) and Gray's test. "
        )
    for e in p.endpoints:
        if e.kind == "time_to_next_treatment":
            parts.append(f"{e.label} ended at the next treatment or death. ")
    for model in p.models:
        covariates = ", ".join(c.replace("_", " ") for c in model.covariates)
        outcome = labels.get(model.endpoint, model.endpoint.replace("_", " ")).lower()
        parts.append(
            f"An adjusted Cox model of {outcome} included {covariates} (complete cases"
            + (f", stratified by {', '.join(model.strata)}" if model.strata else "")
            + "), with the Schoenfeld-residual test of proportional hazards; fewer than 10 "
            "events per variable is flagged. "
        )
    parts.append(
        "Statistics were computed with netoutcomes, whose estimators match R's survival package."
    )
    return [Segment("".join(parts))]
