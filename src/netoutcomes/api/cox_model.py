"""A fitted Cox model: ``CoxModel``, what ``no.coxph`` returns.

It holds the model description (``CoxSpec``, built by ``api.cox_fit``) and the
engine's result (``engine.analysis.cox_on`` -> ``EngineCox``: R's
``summary(coxph)``, concordance, ``cox.zph``, the baseline hazard, all computed
where the data lives) and shows them; nothing is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from netoutcomes.api import text
from netoutcomes.api.curves import _aligned, _frame
from netoutcomes.api.plain import plain
from netoutcomes.engine.analysis import EngineCox
from netoutcomes.errors import InputError
from netoutcomes.survival.cox import CoxCurve, CoxFit
from netoutcomes.survival.cox_zph import ZphTest
from netoutcomes.survival.model_spec import CoxSpec, design_columns_values

if TYPE_CHECKING:
    import pandas as pd

ZPH_TRANSFORMS = ("km", "rank", "identity", "log")


@dataclass(frozen=True)
class CoxModel:
    """A Cox fit with R's ``summary(coxph)``, ``cox.zph`` and ``concordance`` numbers."""

    spec: CoxSpec
    engine: EngineCox
    formula: str | None
    conf_level: float = 0.95

    @property
    def fit(self) -> CoxFit:
        return self.engine.fit

    @property
    def n_dropped(self) -> int:
        """Rows left out for a missing value in a used column (R's na.omit)."""
        return self.engine.n_dropped

    @property
    def terms(self) -> list[str]:
        """Coefficient names, as R's ``names(coef(fit))``."""
        return list(self.fit.terms)

    @property
    def coef(self) -> np.ndarray:
        return self.fit.coef

    @property
    def concordance(self) -> float:
        """Harrell's concordance, as R's ``fit$concordance["concordance"]``."""
        return self.fit.concordance

    @property
    def reference_levels(self) -> dict[str, str]:
        """Each factor's reference level (the level its contrasts are against)."""
        return dict(self.spec.reference)

    def summary(self) -> pd.DataFrame:
        """One row per coefficient: coef, exp(coef), se, robust se (with cluster or
        robust), z, p and the interval of exp(coef), as R's ``summary(coxph)``: with a
        robust variance z, p and the interval come from the robust se, as in R."""
        f = self.fit
        z, p, lower, upper = self._z_p_interval()
        rows = []
        for i, term in enumerate(f.terms):
            row = {"term": term, "coef": f.coef[i], "exp_coef": f.hr[i], "se": f.se[i]}
            if f.robust_se is not None:
                row["robust_se"] = f.robust_se[i]
            row |= {"z": z[i], "p": p[i], "lower": lower[i], "upper": upper[i]}
            rows.append(row)
        columns = ["term", "coef", "exp_coef", "se"]
        columns += ["robust_se"] if f.robust_se is not None else []
        return _frame(rows, [*columns, "z", "p", "lower", "upper"])

    def _z_p_interval(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What R's summary and print show: from the robust se with cluster/robust."""
        robust = self.engine.robust_coefficients(self.conf_level)
        if robust is None:
            f = self.fit
            return f.z, f.p, f.hr_lower, f.hr_upper
        return robust.z, robust.p, robust.lower, robust.upper

    def tests(self) -> pd.DataFrame:
        """Likelihood ratio, Wald and score (log-rank) tests of all coefficients; with a
        robust variance, as R's summary: the Wald test with the robust variance and the
        robust score test (when the backend computed them: ``EngineCox.robust_var``)."""
        from scipy import stats  # deferred: CLI start-up

        f = self.fit
        wald, wald_p = f.wald, f.wald_p
        robust_wald = self.engine.robust_wald()
        if robust_wald is not None:
            wald, wald_p = robust_wald, float(stats.chi2.sf(robust_wald, f.df))
        rows = [
            {"test": "likelihood ratio", "chisq": f.lrt, "df": f.df, "p": f.lrt_p},
            {"test": "wald", "chisq": wald, "df": f.df, "p": wald_p},
            {"test": "score", "chisq": f.score, "df": f.df, "p": f.score_p},
        ]
        if self.engine.robust_score is not None:
            rscore = self.engine.robust_score
            p = float(stats.chi2.sf(rscore, f.df))
            rows.append({"test": "robust score", "chisq": rscore, "df": f.df, "p": p})
        return _frame(rows, ["test", "chisq", "df", "p"])

    def zph(self, transform: str = "km") -> ZphTest | None:
        """R's ``cox.zph(fit, transform)``: "km" (R's default), "rank", "identity" or
        "log"; None when R cannot compute it either (a singular information matrix)."""
        if transform not in ZPH_TRANSFORMS:
            raise InputError(
                f"zph: transform {transform!r} is not one of {', '.join(ZPH_TRANSFORMS)}"
            )
        try:
            return self.engine.zph(transform)  # type: ignore[arg-type]
        except (ValueError, ArithmeticError):  # a singular expanded information matrix
            return None

    @property
    def concordance_se(self) -> float:
        """The standard error of the concordance (R's ``sqrt(concordance(fit)$var)``)."""
        return self.engine.concordance.std_err

    def baseline_hazard(self) -> pd.DataFrame:
        """R's ``basehaz(fit)``: cumulative hazard at the covariate means, per stratum."""
        return self._curve_frame(self.engine.baseline_hazard())

    def predict_survival(self, newdata: Any) -> pd.DataFrame:
        """Survival curves for covariate patterns (one per row of ``newdata``: a dict of
        columns or a pandas DataFrame), as R's ``survfit(fit, newdata)`` at the event
        times: columns row, stratum, time, cumhaz, surv."""
        import pandas as pd

        frame = pd.DataFrame(newdata)
        columns = {c: frame[c].to_numpy() for c in frame.columns}
        missing = [col for c in self.spec.columns for col, _ in c.parts if col not in columns]
        if missing:
            raise InputError(f"newdata: no column {missing[0]!r}")
        x = design_columns_values(self.spec.columns, columns)
        kept = ~np.isnan(self.fit.coef)
        parts = []
        for i in range(x.shape[0]):
            curve = self._curve_frame(self.engine.baseline_hazard(x[i, kept]))
            curve.insert(0, "row", i)
            parts.append(curve)
        return pd.concat(parts, ignore_index=True)

    def _curve_frame(self, curve: CoxCurve) -> pd.DataFrame:
        labels = self.engine.stratum_labels
        rows = [
            {"stratum": labels[int(curve.stratum[i])] if labels else "all", "time": curve.time[i]}
            | {"cumhaz": curve.cumhaz[i], "surv": curve.surv[i]}
            for i in range(curve.time.size)
        ]
        return _frame(rows, ["stratum", "time", "cumhaz", "surv"])

    def to_dict(self) -> dict[str, Any]:
        """Exactly what ``netoutcomes stats cox --json`` prints."""
        fit, zph = self.fit, self.zph("km")
        out: dict[str, Any] = {"terms": fit.terms, "coef": fit.coef, "se": fit.se}
        if fit.robust_se is not None:
            out["robust_se"] = fit.robust_se
        out |= {
            "hr": fit.hr,
            "hr_lower": fit.hr_lower,
            "hr_upper": fit.hr_upper,
            "p": fit.p,
            "loglik_null": fit.loglik_null,
            "loglik": fit.loglik,
            "lrt": fit.lrt,
            "wald": fit.wald,
            "score": fit.score,
            "n": fit.n,
            "nevent": fit.nevent,
            "concordance": fit.concordance,
            "concordance_se": self.concordance_se,
            "zph": None
            if zph is None
            else {"terms": zph.terms, "chisq": zph.chisq, "df": zph.df, "p": zph.p},
        }
        if self.spec.reference:
            out["reference_levels"] = dict(self.spec.reference)
        if fit.warnings:  # only then, so the keys above stay the contract
            out["warnings"] = list(fit.warnings)
        return plain(out)  # type: ignore[no-any-return,unused-ignore]

    def __repr__(self) -> str:
        """As R prints a coxph: the coefficient table, the LR test, n and events."""
        f = self.fit
        header = ["", "coef", "exp(coef)", "se(coef)"]
        header += ["robust se"] if f.robust_se is not None else []
        header += ["z", "p"]
        rows = []
        z, p, _, _ = self._z_p_interval()  # R's print: from the robust se if there is one
        for i, term in enumerate(f.terms):
            row = [term] + [text.number(v[i], 4) for v in (f.coef, f.hr, f.se)]
            row += [text.number(f.robust_se[i], 4)] if f.robust_se is not None else []
            row += [text.number(z[i], 3), text.p_value(p[i])]
            rows.append(row)
        lines = [f"Cox model{'' if self.formula is None else ': ' + self.formula} ({f.ties} ties)"]
        lines += _aligned([header, *rows])
        if self.spec.reference:
            refs = ", ".join(f"{k} = {v}" for k, v in self.spec.reference.items())
            lines.append(f"Reference levels: {refs}")
        lines += [
            "",
            f"Likelihood ratio test = {text.number(f.lrt, 4)} on {f.df} df, "
            f"{text.p_equals(f.lrt_p)}",
            f"n = {f.n}, number of events = {f.nevent}"
            + (f" ({self.n_dropped} rows dropped: missing values)" if self.n_dropped else ""),
        ]
        return "\n".join(lines)
