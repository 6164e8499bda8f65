"""``no.survfit``: Kaplan-Meier curves per group, as R's ``survfit(Surv(...) ~ by)``.

Data -> model -> results: the engine reduces the data to count tables
(``engine.analysis.grouped_tables_on``), the kernels (``survival.km``,
``survival.curves``) compute, and ``SurvivalCurves`` holds the result and
shows it (``.table``, ``.median()``, ``.at()``, ``.to_dict()`` = ``stats km --json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from netoutcomes.api import text
from netoutcomes.api.data import check_conf_level, column_names, engine_data, resolve_backend
from netoutcomes.api.group_curves import group_curves
from netoutcomes.api.plain import plain
from netoutcomes.engine.analysis import grouped_tables_on
from netoutcomes.errors import InputError
from netoutcomes.survival.curves import GroupCurve, two_group_differences
from netoutcomes.survival.groups import GroupedTables
from netoutcomes.survival.hazard import (
    HAZARD_TYPES,
    SURVIVAL_TYPES,
    HazardType,
    SurvivalType,
)
from netoutcomes.survival.km import CONF_TYPES, ConfType, quantiles, restricted_mean, survival_at

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    import pandas as pd  # deferred: the CLI's --json path never needs pandas

    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class SurvivalCurves:
    """Kaplan-Meier curves, one per group (R's strata), in R's group order."""

    tables: GroupedTables
    curves: tuple[GroupCurve, ...]  # with the RMST to the largest time, no landmark times
    conf_type: ConfType
    conf_level: float
    n_dropped: int  # rows with a missing value in a used column
    stype: SurvivalType = "kaplan-meier"  # R's stype 1; "exp-hazard" is stype 2
    ctype: HazardType = "nelson-aalen"  # R's ctype 1; "fleming-harrington" is ctype 2
    start_time: float | None = None  # R's start.time: curves conditional on reaching it

    @property
    def groups(self) -> list[str]:
        return [c.label for c in self.curves]

    @property
    def table(self) -> pd.DataFrame:
        """Every curve row: group, time, n_risk, n_event, n_censor, surv, std_err (SE of
        S, as R's ``summary(fit)``), lower, upper, cumhaz (Nelson-Aalen)."""
        rows = []
        for c in self.curves:
            km = c.km
            with np.errstate(invalid="ignore"):
                std_err = km.surv * km.std_err_cumhaz
            for i in range(km.time.size):
                rows.append(
                    {
                        "group": c.label,
                        "time": km.time[i],
                        "n_risk": km.n_risk[i],
                        "n_event": km.n_event[i],
                        "n_censor": km.n_censor[i],
                        "surv": km.surv[i],
                        "std_err": std_err[i],
                        "lower": km.lower[i],
                        "upper": km.upper[i],
                        "cumhaz": km.cumhaz[i],
                    }
                )
        columns = ["group", "time", "n_risk", "n_event", "n_censor", "surv", "std_err"]
        return _frame(rows, [*columns, "lower", "upper", "cumhaz"])

    def median(self) -> pd.DataFrame:
        """Median survival and its interval per group (R's ``print(fit)``)."""
        rows = [
            {"group": c.label, "median": c.median.median, "lower": c.median.lower}
            | {"upper": c.median.upper}
            for c in self.curves
        ]
        return _frame(rows, ["group", "median", "lower", "upper"])

    def quantile(self, probs: float | Sequence[float] = (0.25, 0.5, 0.75)) -> pd.DataFrame:
        """Survival-time quantiles (p = fraction failed) with intervals, as R's
        ``quantile(fit, probs)``."""
        ps = _probabilities(probs)
        rows = [
            {"group": c.label, "p": q.probability, "time": q.time}
            | {"lower": q.lower, "upper": q.upper}
            for c in self.curves
            for q in quantiles(c.km, ps)
        ]
        return _frame(rows, ["group", "p", "time", "lower", "upper"])

    def at(self, times: float | Sequence[float]) -> pd.DataFrame:
        """Survival at given times, as R's ``summary(fit, times=, extend=TRUE)``."""
        grid = _times(times)
        rows = []
        for c in self.curves:
            at = survival_at(c.km, grid)
            for i in range(at.time.size):
                rows.append(
                    {"group": c.label, "time": at.time[i], "n_risk": at.n_risk[i]}
                    | {"surv": at.surv[i], "std_err": at.std_err[i]}
                    | {"lower": at.lower[i], "upper": at.upper[i]}
                )
        return _frame(rows, ["group", "time", "n_risk", "surv", "std_err", "lower", "upper"])

    def rmst(self, tau: float | None = None) -> pd.DataFrame:
        """Restricted mean survival time to ``tau`` (default: the largest time of all
        groups, R's ``rmean = "common"``) and its SE."""
        tau = self._tau(tau)
        rows = []
        for c in self.curves:
            r = restricted_mean(c.km, tau)
            rows.append({"group": c.label, "tau": r.tau, "rmst": r.rmst, "se": r.se})
        return _frame(rows, ["group", "tau", "rmst", "se"])

    def summary(self) -> pd.DataFrame:
        """One row per group: n, events, median and interval, RMST and SE (R's
        ``summary(fit)$table``)."""
        rows = [
            {"group": c.label, "n": c.km.n, "events": c.km.events}
            | {"median": c.median.median, "lower": c.median.lower, "upper": c.median.upper}
            | {"rmst": c.rmst.rmst, "rmst_se": c.rmst.se, "tau": c.rmst.tau}
            for c in self.curves
        ]
        columns = ["group", "n", "events", "median", "lower", "upper", "rmst", "rmst_se"]
        return _frame(rows, [*columns, "tau"])

    def plot(
        self, path: str | Path | None = None, *, ci: bool = True, xlabel: str = "Time"
    ) -> Figure:
        """The curves with their number-at-risk table (``netoutcomes.figures``); written
        to ``path`` (.png, .svg or .pdf) when given.  ``stats km --plot FILE`` draws this."""
        # deferred: matplotlib only for those who draw
        from netoutcomes.figures import kaplan_meier_figure, save_figure

        figure = kaplan_meier_figure(list(self.curves), ci=ci, xlabel=xlabel, size="page")
        if path is not None:
            if Path(path).suffix.lower() not in {".png", ".svg", ".pdf"}:
                raise InputError(f"plot: {path} must end in .png, .svg or .pdf")
            try:
                save_figure(figure, path)
            except OSError as exc:
                raise InputError(f"plot: cannot write {path}: {exc.strerror}") from None
        return figure

    def _tau(self, tau: float | None) -> float:
        if tau is None:
            return self.curves[0].rmst.tau
        first = min(float(t.time.min()) for t in self.tables.tables.values())
        if tau < min(0.0, first):
            raise InputError(f"tau: {tau:g} is before the start of follow-up")
        return float(tau)

    def to_dict(
        self,
        times: Sequence[float] | None = None,
        tau: float | None = None,
        quantile_probs: Sequence[float] | None = None,
    ) -> dict[str, Any]:
        """Exactly what ``netoutcomes stats km --json`` prints (the CLI prints this):
        ``times`` as ``--times``, ``tau`` as ``--tau``, ``quantile_probs`` as
        ``--quantiles``.  Plain JSON values; NaN and infinities are None."""
        landmarks = None if times is None else [float(t) for t in _times(times)]
        curves = group_curves(
            self.tables,
            self.stype,
            self.ctype,
            self.conf_type,
            self.conf_level,
            self.start_time,
            landmarks,
            self._tau(tau),
        )
        differences = two_group_differences(curves, landmarks, self.conf_level)
        probs = None if quantile_probs is None else _probabilities(quantile_probs)
        out: dict[str, Any] = {
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "stype": self.stype,
            "ctype": self.ctype,
            "start_time": self.start_time,
            "n_dropped": self.n_dropped,
            "strata": [_curve_dict(c, probs) for c in curves],
        }
        if differences is not None:
            out["difference"] = {
                "groups": [differences.group_a, differences.group_b],
                "surv_at_times": [{"time": t} | _difference(d) for t, d in differences.at_times],
                "rmst": {"tau": differences.tau} | _difference(differences.rmst),
            }
        return plain(out)  # type: ignore[no-any-return,unused-ignore]

    def __repr__(self) -> str:
        """As R prints a survfit: n, events, median and its limits per group."""
        pct = f"{self.conf_level:g}"
        header = ["", "n", "events", "median", f"{pct}LCL", f"{pct}UCL"]
        rows = [
            [
                c.label,
                text.count(c.km.n),
                text.count(c.km.events),
                text.number(c.median.median),
                text.number(c.median.lower),
                text.number(c.median.upper),
            ]
            for c in self.curves
        ]
        kind = "Kaplan-Meier" if self.stype == "kaplan-meier" else f"exp(-H), H {self.ctype}"
        since = "" if self.start_time is None else f", given event-free at {self.start_time:g}"
        lines = [f"{kind} curves ({self.conf_type} intervals{since})"]
        lines += _aligned([header, *rows])
        if self.n_dropped:
            lines.append(f"{self.n_dropped} rows dropped (missing values)")
        return "\n".join(lines)


def _aligned(rows: list[list[str]]) -> list[str]:
    """Columns as R prints a matrix: the first left-aligned, the others right-aligned."""
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    return [
        " ".join(
            cell.ljust(widths[j]) if j == 0 else cell.rjust(widths[j]) for j, cell in enumerate(r)
        ).rstrip()
        for r in rows
    ]


def _difference(d: Any) -> dict[str, Any]:
    return {"estimate": d.estimate, "se": d.se, "lower": d.lower, "upper": d.upper, "p": d.p}


def _curve_dict(c: GroupCurve, probs: np.ndarray | None) -> dict[str, Any]:
    km, at = c.km, c.at_times
    out: dict[str, Any] = {
        "label": c.label,
        "n": km.n,
        "events": km.events,
        "median": c.median.median,
        "median_lower": c.median.lower,
        "median_upper": c.median.upper,
        "rmst": c.rmst.rmst,
        "rmst_se": c.rmst.se,
        "rmst_tau": c.rmst.tau,
        "table": {
            "time": km.time,
            "n_risk": km.n_risk,
            "n_event": km.n_event,
            "n_censor": km.n_censor,
            "surv": km.surv,
            "std_err_cumhaz": km.std_err_cumhaz,
            "lower": km.lower,
            "upper": km.upper,
            "cumhaz": km.cumhaz,
            "std_chaz": km.std_chaz,
        },
        "at_times": []
        if at is None
        else [
            {
                "time": at.time[i],
                "n_risk": at.n_risk[i],
                "surv": at.surv[i],
                "std_err": at.std_err[i],
                "lower": at.lower[i],
                "upper": at.upper[i],
            }
            for i in range(at.time.size)
        ],
    }
    if probs is not None:
        out["quantiles"] = [
            {"p": q.probability, "time": q.time, "lower": q.lower, "upper": q.upper}
            for q in quantiles(km, probs)
        ]
    return out


def _times(times: float | Sequence[float]) -> np.ndarray:
    grid = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if not np.all(np.isfinite(grid)):
        raise InputError(f"times: {times!r} has a value that is not a finite number")
    return grid


def _probabilities(probs: float | Sequence[float]) -> np.ndarray:
    ps = np.atleast_1d(np.asarray(probs, dtype=np.float64))
    bad = ps[~((ps >= 0.0) & (ps <= 1.0))]
    if bad.size:
        raise InputError(f"quantiles: {bad[0]:g} is not a probability between 0 and 1")
    return ps


def survfit(
    data: Any,
    time: str,
    event: str,
    entry: str | None = None,
    by: str | Sequence[str] | None = None,
    weights: str | None = None,
    conf_type: str = "log",
    conf_level: float = 0.95,
    backend: str | None = None,
    spark_master: str | None = None,
    *,
    stype: str = "kaplan-meier",
    ctype: str = "nelson-aalen",
    start_time: float | None = None,
) -> SurvivalCurves:
    """Survival curves, as R's ``survfit(Surv(entry, time, event) ~ by, weights=, stype=,
    ctype=, start.time=)``.

    ``data``: a CSV/Parquet path, a pandas or polars DataFrame, a pyarrow Table or
    an Ibis table.  ``by``: one column or several (one curve per combination
    present, labelled as R labels strata).  ``weights``: a case-weight column.
    ``stype``: ``"kaplan-meier"`` (R's 1) or ``"exp-hazard"`` (R's 2, S = exp(-H));
    ``ctype``: the cumulative hazard, ``"nelson-aalen"`` (R's 1) or
    ``"fleming-harrington"`` (R's 2); ``start_time``: curves conditional on being
    event-free at that time (R's ``start.time``).
    """
    if conf_type not in CONF_TYPES:
        raise InputError(f"conf_type: {conf_type!r} is not one of {', '.join(CONF_TYPES)}")
    if stype not in SURVIVAL_TYPES:
        raise InputError(f"stype: {stype!r} is not one of {', '.join(SURVIVAL_TYPES)}")
    if ctype not in HAZARD_TYPES:
        raise InputError(f"ctype: {ctype!r} is not one of {', '.join(HAZARD_TYPES)}")
    check_conf_level(conf_level)
    counted = _grouped_tables(
        data, time, event, entry, column_names("by", by), [], weights, backend, spark_master
    )
    if start_time is not None:
        last = max(float(t.time.max()) for t in counted.tables.tables.values())
        if not np.isfinite(start_time) or start_time > last:
            raise InputError(
                f"start_time: {start_time:g} is not a time before the last one ({last:g})"
            )
    checked = cast(ConfType, conf_type)
    curves = group_curves(
        counted.tables,
        cast(SurvivalType, stype),
        cast(HazardType, ctype),
        checked,
        conf_level,
        start_time,
    )
    return SurvivalCurves(
        counted.tables,
        tuple(curves),
        checked,
        conf_level,
        counted.n_dropped,
        cast(SurvivalType, stype),
        cast(HazardType, ctype),
        None if start_time is None else float(start_time),
    )


def _grouped_tables(
    data: Any,
    time: str,
    event: str,
    entry: str | None,
    by: list[str],
    strata: list[str],
    weights: str | None,
    backend: str | None,
    spark_master: str | None,
) -> Any:
    """The engine's count tables (one reader, one grouped-count path for every input)."""
    return grouped_tables_on(
        engine_data(data),
        time,
        event,
        entry,
        by,
        strata,
        weights,
        resolve_backend(data, backend),  # type: ignore[arg-type]
        spark_master,
    )
