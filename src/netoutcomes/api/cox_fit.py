"""``no.coxph``: Cox proportional hazards from a formula or a covariate list, as R's ``coxph``.

Data -> model -> results: the right-hand side's columns are grouped by the engine and
typed by the reader rules (``api.cox_columns``) to settle which are numbers and each
factor's levels; the
terms become a ``CoxSpec`` (``api.formula``, ``api.cox_terms``); the engine fits it
where the data lives (``engine.analysis.cox_on``); ``CoxModel`` (``api.cox_model``)
holds and shows the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netoutcomes.api.cox_columns import right_hand_columns
from netoutcomes.api.cox_model import CoxModel
from netoutcomes.api.cox_terms import Variable, covariate_terms, design_columns
from netoutcomes.api.data import column_names, engine_data, resolve_backend
from netoutcomes.api.formula import parse_formula
from netoutcomes.engine.analysis import cox_on, survival_data_on
from netoutcomes.errors import InputError
from netoutcomes.survival.design import is_numeric
from netoutcomes.survival.model_spec import CoxSpec

TIES = ("efron", "breslow")


def coxph(
    data: Any,
    formula: str | None = None,
    *,
    time: str | None = None,
    event: str | None = None,
    covariates: Sequence[str] | None = None,
    entry: str | None = None,
    strata: str | Sequence[str] | None = None,
    cluster: str | None = None,
    robust: bool = False,
    weights: str | None = None,
    ties: str = "efron",
    reference: Mapping[str, str] | None = None,
    conf_level: float = 0.95,
    backend: str | None = None,
    spark_master: str | None = None,
) -> CoxModel:
    """Fit a Cox model, as R's ``coxph(formula, data, ties=, weights=, robust=)``.

    Either ``formula`` (``"Surv(time, status) ~ age + factor(ecog) + strata(inst)"``)
    or ``time=``, ``event=`` and ``covariates=[...]`` (a text column is a factor).
    ``reference={"sex": "male"}`` chooses a factor's reference level (default: the
    first in R's sort order).  ``cluster`` or ``robust=True`` adds robust SEs.
    """
    if ties not in TIES:
        raise InputError(f"ties: {ties!r} is not one of {', '.join(TIES)}")
    if cluster is not None and robust:
        raise InputError("cluster and robust: give one (cluster clusters on a column)")
    strata_columns = column_names("strata", strata)
    refs = dict(reference or {})
    parsed = None
    if formula is not None:
        if covariates is not None or time is not None or event is not None:
            raise InputError("give either formula= or time=, event= and covariates=, not both")
        parsed = parse_formula(formula)
        time, event, entry = parsed.time, parsed.event, parsed.entry
        strata_columns = list(dict.fromkeys(strata_columns + list(parsed.strata)))
        if parsed.cluster is not None:
            if robust:
                raise InputError("cluster() in the formula and robust=True: give one")
            cluster = parsed.cluster
        refs = {**parsed.reference, **refs}
        used = parsed.columns
    else:
        if time is None or event is None or not covariates:
            raise InputError(
                "give formula= or time=, event= and covariates=[...] (at least one column)"
            )
        names = list(covariates)
        duplicated = sorted({c for c in names if names.count(c) > 1})
        if duplicated:
            raise InputError(f"covariates: column {duplicated[0]!r} is given twice")
        used = names
    others = strata_columns + ([cluster] if cluster else [])
    extra = list(dict.fromkeys(used + others))
    engine = resolve_backend(data, backend)
    try:
        kept = right_hand_columns(engine_data(data), event, extra, engine, spark_master)
    except InputError:
        # A bad file or value: the reader on the used rows names the first bad row.
        survival_data_on(
            engine_data(data), time, event, entry, extra, engine,  # type: ignore[arg-type]
            spark_master, weights=weights,
        )  # fmt: skip
        raise
    numeric = {name: is_numeric(values) for name, values in kept.items()}
    terms: list[tuple[Variable, ...]] = (
        parsed.variables(numeric)
        if parsed is not None
        else covariate_terms(list(covariates or []), kept)
    )
    spec_columns, references = design_columns(terms, kept, refs)
    spec = CoxSpec(
        time=time,
        event=event,
        columns=spec_columns,
        entry=entry,
        strata=tuple(strata_columns),
        cluster=cluster,
        robust=robust,
        weights=weights,
        ties=ties,  # type: ignore[arg-type]
        reference=references,
    )
    fitted = cox_on(engine_data(data), spec, engine, spark_master, conf_level)  # type: ignore[arg-type]
    return CoxModel(spec, fitted, formula, conf_level)
