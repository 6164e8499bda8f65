"""`netoutcomes stats km` and `netoutcomes stats logrank`: survival statistics on any CSV/Parquet.

Thin: read and validate the file (engine.source), build count tables, call the
pure statistics (survival.*), render JSON or a Rich table.  JSON keys are a
public contract (issue 2); NaN and infinities are written as null.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from netoutcomes.engine.analysis import grouped_tables_on
from netoutcomes.engine.backends import BACKENDS
from netoutcomes.errors import InputError
from netoutcomes.interfaces.cli.main import fail, stats_app
from netoutcomes.survival.curves import (
    GroupCurve,
    TwoGroupDifferences,
    km_by_group,
    two_group_differences,
)
from netoutcomes.survival.logrank import (
    LogRank,
    PairwiseComparison,
    TrendTest,
    logrank,
    logrank_trend,
    pairwise_logrank,
)
from netoutcomes.survival.twosample import Difference


class BackendOption(StrEnum):
    """Where the file is read and counted (``engine.backends.BACKENDS``)."""

    duckdb = "duckdb"
    spark = "spark"
    memory = "memory"


assert {b.value for b in BackendOption} == set(BACKENDS)

BACKEND_HELP = "Where the file is read and counted: duckdb (default), spark or memory."
SPARK_MASTER_HELP = "Spark master URL for --backend spark (default local[*])."


class ConfTypeOption(StrEnum):
    log = "log"
    log_log = "log-log"
    plain = "plain"


def _json_value(x: Any) -> Any:
    """Plain JSON: numpy to Python, NaN/inf to null, whole floats kept as floats."""
    if isinstance(x, dict):
        return {k: _json_value(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_value(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_json_value(v) for v in x.tolist()]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = float(x)
        return v if math.isfinite(v) else None
    return x


def _echo_json(obj: dict[str, Any]) -> None:
    typer.echo(json.dumps(_json_value(obj), allow_nan=False))


def _parse_numbers(option: str, text: str | None) -> list[float] | None:
    """A comma-separated list of finite numbers (None when the option is absent)."""
    if text is None:
        return None
    out = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise InputError(f"{option}: {part.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"{option}: {part.strip()!r} is not a finite number")
        out.append(value)
    return out


def column_list(option: str, text: str | None) -> list[str]:
    """``--by a`` or ``--by a,b`` (the combinations of a and b, as R's ``~ a + b``);
    the same for ``--strata``."""
    if text is None:
        return []
    names = [c.strip() for c in text.split(",")]
    if not all(names):
        raise InputError(f"{option}: {text!r} has an empty column name")
    if len(set(names)) < len(names):
        raise InputError(f"{option}: {text!r} names a column twice")
    return names


def _check_conf_level(conf_level: float) -> None:
    if not 0.0 < conf_level < 1.0:
        raise InputError(f"--conf-level: {conf_level:g} is not between 0 and 1 (e.g. 0.95)")


def _curve_json(c: GroupCurve) -> dict[str, Any]:
    km = c.km
    at = c.at_times
    return {
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


def _difference_json(d: Difference) -> dict[str, Any]:
    return {"estimate": d.estimate, "se": d.se, "lower": d.lower, "upper": d.upper, "p": d.p}


def _differences_json(diff: TwoGroupDifferences) -> dict[str, Any]:
    return {
        "groups": [diff.group_a, diff.group_b],
        "surv_at_times": [{"time": t} | _difference_json(d) for t, d in diff.at_times],
        "rmst": {"tau": diff.tau} | _difference_json(diff.rmst),
    }


def _print_differences(diff: TwoGroupDifferences, conf_level: float) -> None:
    pct = f"{conf_level * 100:g}%"
    table = Table(title=f"Difference {diff.group_a} minus {diff.group_b}")
    for col in ("quantity", "difference", "SE", f"{pct} CI", "p"):
        table.add_column(col, justify="left" if col == "quantity" else "right")
    rows = [(f"survival at {_fmt(t)}", d) for t, d in diff.at_times]
    rows.append((f"RMST to {_fmt(diff.tau)}", diff.rmst))
    for name, d in rows:
        table.add_row(
            name, _fmt(d.estimate), _fmt(d.se), f"{_fmt(d.lower)} - {_fmt(d.upper)}", _fmt(d.p, 3)
        )
    Console().print(table)


def _fmt(x: float, digits: int = 4) -> str:
    return "NA" if not math.isfinite(x) else f"{x:.{digits}g}"


def _print_curves(curves: list[GroupCurve], conf_level: float) -> None:
    console = Console()
    pct = f"{conf_level * 100:g}%"
    summary = Table(title="Kaplan-Meier")
    for col in ("group", "n", "events", "median", f"{pct} CI", "RMST", "SE", "tau"):
        summary.add_column(col, justify="left" if col == "group" else "right")
    for c in curves:
        summary.add_row(
            c.label,
            str(c.km.n),
            _fmt(c.km.events),
            _fmt(c.median.median),
            f"{_fmt(c.median.lower)} - {_fmt(c.median.upper)}",
            _fmt(c.rmst.rmst),
            _fmt(c.rmst.se),
            _fmt(c.rmst.tau),
        )
    console.print(summary)
    if any(c.at_times is not None for c in curves):
        at_table = Table(title="Survival at given times")
        for col in ("group", "time", "n at risk", "survival", "SE", f"{pct} CI"):
            at_table.add_column(col, justify="left" if col == "group" else "right")
        for c in curves:
            at = c.at_times
            if at is None:
                continue
            for i in range(at.time.size):
                at_table.add_row(
                    c.label,
                    _fmt(at.time[i]),
                    _fmt(at.n_risk[i]),
                    _fmt(at.surv[i]),
                    _fmt(at.std_err[i]),
                    f"{_fmt(at.lower[i])} - {_fmt(at.upper[i])}",
                )
        console.print(at_table)


def _report_dropped(n_dropped: int) -> None:
    if n_dropped:
        rows = "row" if n_dropped == 1 else "rows"
        typer.echo(f"note: {n_dropped} {rows} dropped (missing value in a used column)", err=True)


@stats_app.command("km")
def km_command(
    file: Path = typer.Argument(..., help="CSV or Parquet file."),
    time: str = typer.Option(..., "--time", help="Exit time column (event or censoring)."),
    event: str = typer.Option(..., "--event", help="Event column: 0/1, TRUE/FALSE, or 1/2."),
    entry: str | None = typer.Option(None, "--entry", help="Delayed-entry time column."),
    by: str | None = typer.Option(
        None, "--by", help="One curve per value of this column (a,b: per combination)."
    ),
    conf_type: ConfTypeOption = typer.Option(ConfTypeOption.log, "--conf-type"),
    conf_level: float = typer.Option(0.95, "--conf-level"),
    times: str | None = typer.Option(None, "--times", help="Landmark times, e.g. 365,730."),
    tau: float | None = typer.Option(
        None, "--tau", help="RMST horizon (default: the largest observed time)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    backend: BackendOption = typer.Option("duckdb", "--backend", help=BACKEND_HELP),
    spark_master: str | None = typer.Option(None, "--spark-master", help=SPARK_MASTER_HELP),
) -> None:
    """Kaplan-Meier curves with Greenwood intervals, median, RMST and landmark survival (as R)."""
    try:
        _check_conf_level(conf_level)
        landmarks = _parse_numbers("--times", times)
        by_columns = column_list("--by", by)
        counted = grouped_tables_on(
            file, time, event, entry, by_columns, None, backend.value, spark_master
        )
        tables = counted.tables
        first_time = min(float(t.time.min()) for t in tables.tables.values())
        if tau is not None and tau < min(0.0, first_time):
            raise InputError(f"--tau: {tau:g} is before the start of follow-up")
        curves = km_by_group(tables, conf_type.value, conf_level, landmarks, tau)
        differences = two_group_differences(curves, landmarks, conf_level)
    except InputError as exc:
        fail(str(exc))
        return
    if as_json:
        _echo_json(
            {
                "conf_type": conf_type.value,
                "conf_level": conf_level,
                "n_dropped": counted.n_dropped,
                "strata": [_curve_json(c) for c in curves],
            }
            | ({} if differences is None else {"difference": _differences_json(differences)})
        )
        return
    _report_dropped(counted.n_dropped)
    _print_curves(curves, conf_level)
    if differences is not None:
        _print_differences(differences, conf_level)


def _logrank_json(result: LogRank) -> dict[str, Any]:
    return {
        "chisq": result.chisq,
        "df": result.df,
        "p": result.p,
        "groups": result.groups,
        "n": result.n,
        "observed": result.observed,
        "expected": result.expected,
        "var": result.var,
        "rho": result.rho,
    }


def _print_logrank(
    result: LogRank, trend: TrendTest | None, pairs: list[PairwiseComparison] | None
) -> None:
    console = Console()
    title = "Log-rank test" if result.rho == 0 else f"G-rho test (rho = {result.rho:g})"
    table = Table(title=title)
    for col in ("group", "N", "observed", "expected", "(O-E)^2/E"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for i, g in enumerate(result.groups):
        o, e = result.observed[i], result.expected[i]
        table.add_row(
            g, _fmt(result.n[i]), _fmt(o), _fmt(e), _fmt((o - e) ** 2 / e if e > 0 else math.nan)
        )
    console.print(table)
    console.print(f"Chisq = {_fmt(result.chisq)} on {result.df} df, p = {_fmt(result.p, 3)}")
    if trend is not None:
        console.print(f"Trend: Chisq = {_fmt(trend.chisq)} on 1 df, p = {_fmt(trend.p, 3)}")
    if pairs:
        pt = Table(title="Pairwise comparisons")
        for col in ("group A", "group B", "chisq", "p", "p (Holm)", "p (BH)"):
            pt.add_column(col, overflow="fold")
        for pc in pairs:
            pt.add_row(
                pc.group_a,
                pc.group_b,
                _fmt(pc.chisq),
                _fmt(pc.p, 3),
                _fmt(pc.p_holm, 3),
                _fmt(pc.p_bh, 3),
            )
        console.print(pt)


@stats_app.command("logrank")
def logrank_command(
    file: Path = typer.Argument(..., help="CSV or Parquet file."),
    time: str = typer.Option(..., "--time", help="Exit time column (event or censoring)."),
    event: str = typer.Option(..., "--event", help="Event column: 0/1, TRUE/FALSE, or 1/2."),
    by: str = typer.Option(..., "--by", help="Groups to compare (a,b: combinations)."),
    entry: str | None = typer.Option(None, "--entry", help="Delayed-entry time column."),
    strata: str | None = typer.Option(
        None, "--strata", help="Stratify the test by this column (a,b: by combinations)."
    ),
    rho: float = typer.Option(0.0, "--rho", help="G-rho weight S(t-)^rho: 0 log-rank, 1 Peto."),
    trend: bool = typer.Option(False, "--trend", help="Also test for trend over ordered groups."),
    scores: str | None = typer.Option(
        None, "--scores", help="Trend scores in group order, e.g. 0,0.5,1 (default 1,2,...)."
    ),
    pairwise: bool = typer.Option(False, "--pairwise", help="Also compare every pair of groups."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    backend: BackendOption = typer.Option("duckdb", "--backend", help=BACKEND_HELP),
    spark_master: str | None = typer.Option(None, "--spark-master", help=SPARK_MASTER_HELP),
) -> None:
    """k-sample log-rank / G-rho test as R's survdiff (stratified with --strata)."""
    try:
        by_columns = column_list("--by", by)
        strata_columns = column_list("--strata", strata)
        counted = grouped_tables_on(
            file, time, event, entry, by_columns, strata_columns, backend.value, spark_master
        )
        tables = counted.tables
        if len(tables.groups) < 2:
            raise InputError(
                f"{file}: column {by!r} has only one value ({tables.groups[0]}); "
                "the test compares two or more groups"
            )
        result = logrank(tables, rho=rho)
        trend_scores = _parse_numbers("--scores", scores)
        if trend_scores is not None and len(trend_scores) != len(tables.groups):
            raise InputError(
                f"--scores: {len(trend_scores)} scores for {len(tables.groups)} groups "
                f"({', '.join(tables.groups)})"
            )
        trend_result = logrank_trend(tables, trend_scores, rho=rho) if trend else None
        pairs = pairwise_logrank(tables, rho=rho) if pairwise else None
    except InputError as exc:
        fail(str(exc))
        return
    if as_json:
        out = _logrank_json(result) | {"n_dropped": counted.n_dropped}
        if trend_result is not None:
            out["trend"] = {
                "scores": trend_result.scores,
                "z": trend_result.z,
                "chisq": trend_result.chisq,
                "p": trend_result.p,
            }
        if pairs is not None:
            out["pairwise"] = [pc.__dict__ for pc in pairs]
        _echo_json(out)
        return
    _report_dropped(counted.n_dropped)
    _print_logrank(result, trend_result, pairs)
