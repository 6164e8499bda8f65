"""A fitted Cox model with R's ``summary(coxph)`` numbers (``CoxFit``), built from a
Newton fit (``cox_summary``), and R's report of aliased (NA) columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netoutcomes.survival.cox_newton import NewtonResult
from netoutcomes.survival.cox_sums import CoxTimeSums, FloatArray
from netoutcomes.survival.cox_terms import Ties


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model with the numbers R's ``summary(coxph)`` reports."""

    terms: list[str]  # coefficient names (sexmale, age)
    coef: FloatArray
    se: FloatArray
    robust_se: FloatArray | None
    hr: FloatArray
    hr_lower: FloatArray
    hr_upper: FloatArray
    z: FloatArray
    p: FloatArray
    loglik_null: float
    loglik: float
    lrt: float
    wald: float
    score: float
    df: int
    n: int
    nevent: int
    concordance: float
    var: FloatArray
    iterations: int
    ties: Ties
    means: FloatArray  # covariate means the fit centred on (R's fit$means)
    sums: CoxTimeSums  # per-time sums at coef, covariates centred on ``means``
    warnings: tuple[str, ...] = ()  # R's warnings: infinite coefficient, no convergence

    @property
    def lrt_p(self) -> float:
        from netoutcomes.survival.chisq import chi2_upper_tail  # lazy: scipy, start-up

        return float(chi2_upper_tail(self.lrt, self.df))

    @property
    def wald_p(self) -> float:
        from netoutcomes.survival.chisq import chi2_upper_tail  # lazy: see lrt_p

        return float(chi2_upper_tail(self.wald, self.df))

    @property
    def score_p(self) -> float:
        from netoutcomes.survival.chisq import chi2_upper_tail  # lazy: see lrt_p

        return float(chi2_upper_tail(self.score, self.df))


def _with_aliased(fit: CoxFit, aliased: list[int], names: list[str], x: FloatArray) -> CoxFit:
    """The fit without the aliased columns, reported as R does: coefficient, hazard
    ratio, limits and p NA; se and robust se 0 (R's ``vcov`` and ``fit$var``)."""
    p = len(names)
    kept = [i for i in range(p) if i not in aliased]

    def spread(values: FloatArray, fill: float) -> FloatArray:
        out = np.full(p, fill)
        out[kept] = values
        return out

    var = np.zeros((p, p))
    var[np.ix_(kept, kept)] = fit.var
    # The kept columns' means are those the reduced fit centred on (R's nocenter: a
    # -1/0/1 column's is 0), the point its curves describe; an aliased column's
    # coefficient is NA, so its mean moves nothing.
    means = np.array(np.average(x, axis=0), dtype=np.float64)
    means[kept] = fit.means
    which = ", ".join(names[i] for i in aliased)
    warning = (
        f"singular design: covariate {which} is constant or a linear combination of the "
        "others (in the rows used, within strata); its coefficient is NA, as in R"
    )
    return CoxFit(
        terms=list(names),
        coef=spread(fit.coef, np.nan),
        se=spread(fit.se, 0.0),
        robust_se=None if fit.robust_se is None else spread(fit.robust_se, 0.0),
        hr=spread(fit.hr, np.nan),
        hr_lower=spread(fit.hr_lower, np.nan),
        hr_upper=spread(fit.hr_upper, np.nan),
        z=spread(fit.z, np.nan),
        p=spread(fit.p, np.nan),
        loglik_null=fit.loglik_null,
        loglik=fit.loglik,
        lrt=fit.lrt,
        wald=fit.wald,
        score=fit.score,
        df=fit.df,
        n=fit.n,
        nevent=fit.nevent,
        concordance=fit.concordance,
        var=var,
        iterations=fit.iterations,
        ties=fit.ties,
        means=means,
        sums=fit.sums,  # of the columns kept
        warnings=(warning, *fit.warnings),
    )


def cox_summary(
    names: list[str],
    newton: NewtonResult,
    ties: Ties,
    *,
    n: int,
    nevent: int,
    means: FloatArray,
    sums: CoxTimeSums,
    robust_se: FloatArray | None = None,
    concordance: float = float("nan"),
    conf_level: float = 0.95,
) -> CoxFit:
    """R's ``summary(coxph)`` numbers (HR and limits, Wald z and p, LRT, Wald and
    score tests) from a Newton fit: one place for ``cox_ph`` and the engine's
    ``engine.analysis.cox_on``."""
    # lazy, for CLI start-up: scipy.special (scipy.stats, used before, cost ~0.5 s)
    from netoutcomes.survival.chisq import normal_quantile, normal_upper_tail

    coef = newton.coef.copy()
    coef[list(newton.singular)] = np.nan  # R's NA where the information became singular
    kept = [i for i in range(coef.size) if i not in newton.singular]
    se = np.sqrt(np.diag(newton.var))
    with np.errstate(invalid="ignore"):
        z = coef / se
    q = normal_quantile(0.5 + conf_level / 2.0)
    with np.errstate(over="ignore"):  # an infinite coefficient's limit: inf, as R
        hr_lower, hr_upper = np.exp(coef - q * se), np.exp(coef + q * se)
    block = np.ix_(kept, kept)
    return CoxFit(
        terms=list(names),
        coef=coef,
        se=se,
        robust_se=robust_se,
        hr=np.exp(coef),
        hr_lower=hr_lower,
        hr_upper=hr_upper,
        z=z,
        p=2.0 * normal_upper_tail(np.abs(z)),
        loglik_null=newton.loglik_null,
        loglik=newton.loglik,
        lrt=2.0 * (newton.loglik - newton.loglik_null),
        wald=float(coef[kept] @ np.linalg.solve(newton.var[block], coef[kept])),
        score=newton.score_test,
        df=len(kept),
        n=n,
        nevent=nevent,
        concordance=concordance,
        var=newton.var,
        iterations=newton.iterations,
        ties=ties,
        means=means,
        # over the estimated columns only, as an aliased fit's (cox.zph tests those)
        sums=sums.of_columns(kept) if newton.singular else sums,
        warnings=newton.warnings,
    )
