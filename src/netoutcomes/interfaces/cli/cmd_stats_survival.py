"""`netoutcomes stats km` and `netoutcomes stats logrank`: a face over ``no.survfit`` and
``no.survdiff``.

Thin: parse the options, call the API, print ``.to_dict()`` (``--json``: the JSON
is the API's by construction) or a Rich table.  No statistics and no SQL here; the
API is imported inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from netoutcomes.api import text
from netoutcomes.errors import InputError
from netoutcomes.interfaces.cli.cli_support import (
    BACKEND_HELP,
    CSV_HELP,
    SPARK_MASTER_HELP,
    WEIGHTS_HELP,
    BackendOption,
    check_conf_level,
    column_list,
    echo_json,
    parse_numbers,
    progress,
    report_dropped,
    write_csv,
)
from netoutcomes.interfaces.cli.main import fail, stats_app


class ConfTypeOption(StrEnum):
    log = "log"
    log_log = "log-log"
    plain = "plain"


class SurvivalTypeOption(StrEnum):
    kaplan_meier = "kaplan-meier"
    exp_hazard = "exp-hazard"


class HazardTypeOption(StrEnum):
    nelson_aalen = "nelson-aalen"
    fleming_harrington = "fleming-harrington"


def _console() -> Any:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # a file or a pipe: as wide as COLUMNS says, else 160
        console = Console(width=int(os.environ.get("COLUMNS", "160")))
    return console


def _table(title: str, columns: list[str]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD)
    for i, col in enumerate(columns):
        # group labels are never truncated: they wrap inside their column instead
        table.add_column(col, justify="left" if i == 0 else "right", overflow="fold")
    return table


def _print_curves(out: dict[str, Any]) -> None:
    console = _console()
    pct = f"{out['conf_level'] * 100:g}%"
    title = "Kaplan-Meier" if out["stype"] == "kaplan-meier" else f"exp(-H), H {out['ctype']}"
    if out["start_time"] is not None:
        title += f", given event-free at {text.number(out['start_time'])}"
    summary = _table(title, ["group", "n", "events", "median", f"{pct} CI", "RMST", "SE"])
    for s in out["strata"]:
        summary.add_row(
            s["label"],
            text.count(s["n"]),
            text.count(s["events"]),
            text.number(_nan(s["median"])),
            text.interval(_nan(s["median_lower"]), _nan(s["median_upper"])),
            text.number(_nan(s["rmst"])),
            text.number(_nan(s["rmst_se"]), 3),
        )
    console.print(summary)
    console.print(f"RMST to {text.number(out['strata'][0]['rmst_tau'])}")
    if any(s["at_times"] for s in out["strata"]):
        at = _table("Survival at given times", ["group", "time", "at risk", "survival", "SE"])
        at.add_column(f"{pct} CI", justify="right")
        for s in out["strata"]:
            for a in s["at_times"]:
                at.add_row(
                    s["label"],
                    text.number(a["time"]),
                    text.count(_nan(a["n_risk"])),
                    text.number(_nan(a["surv"]), 3),
                    text.number(_nan(a["std_err"]), 3),
                    text.interval(_nan(a["lower"]), _nan(a["upper"])),
                )
        console.print(at)
    if any("quantiles" in s for s in out["strata"]):
        qt = _table("Quantiles of survival time", ["group", "p", "time", f"{pct} CI"])
        for s in out["strata"]:
            for q in s["quantiles"]:
                qt.add_row(
                    s["label"],
                    text.number(q["p"]),
                    text.number(_nan(q["time"])),
                    text.interval(_nan(q["lower"]), _nan(q["upper"])),
                )
        console.print(qt)
    diff = out.get("difference")
    if diff is not None:
        a, b = diff["groups"]
        dt = _table(f"Difference {a} minus {b}", ["quantity", "difference", "SE", f"{pct} CI"])
        dt.add_column("p", justify="right")
        rows = [(f"survival at {text.number(d['time'])}", d) for d in diff["surv_at_times"]]
        rows.append((f"RMST to {text.number(diff['rmst']['tau'])}", diff["rmst"]))
        for name, d in rows:
            dt.add_row(
                name,
                text.number(_nan(d["estimate"]), 3),
                text.number(_nan(d["se"]), 3),
                text.interval(_nan(d["lower"]), _nan(d["upper"])),
                text.p_value(_nan(d["p"])),
            )
        console.print(dt)


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


@stats_app.command("km")
def km_command(
    file: Path = typer.Argument(..., help="CSV or Parquet file."),
    time: str = typer.Option(..., "--time", help="Exit time column (event or censoring)."),
    event: str = typer.Option(..., "--event", help="Event column: 0/1, TRUE/FALSE, or 1/2."),
    entry: str | None = typer.Option(None, "--entry", help="Delayed-entry time column."),
    by: str | None = typer.Option(
        None, "--by", help="One curve per value of this column (a,b: per combination)."
    ),
    weights: str | None = typer.Option(None, "--weights", help=WEIGHTS_HELP),
    conf_type: ConfTypeOption = typer.Option(ConfTypeOption.log, "--conf-type"),
    conf_level: float = typer.Option(0.95, "--conf-level"),
    stype: SurvivalTypeOption = typer.Option(
        SurvivalTypeOption.kaplan_meier, "--stype", help="Curve: product limit or exp(-H)."
    ),
    ctype: HazardTypeOption = typer.Option(
        HazardTypeOption.nelson_aalen, "--ctype", help="Cumulative hazard estimator."
    ),
    start_time: float | None = typer.Option(
        None, "--start-time", help="Curves conditional on being event-free at this time."
    ),
    times: str | None = typer.Option(None, "--times", help="Landmark times, e.g. 365,730."),
    tau: float | None = typer.Option(
        None, "--tau", help="RMST horizon (default: the largest observed time)."
    ),
    quantiles: str | None = typer.Option(
        None, "--quantiles", help="Survival-time quantiles, e.g. 0.25,0.5,0.75 (fraction failed)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    csv: Path | None = typer.Option(None, "--csv", help=CSV_HELP),
    plot: Path | None = typer.Option(
        None, "--plot", help="Draw the curves to this .png, .svg or .pdf file."
    ),
    backend: BackendOption = typer.Option("duckdb", "--backend", help=BACKEND_HELP),
    spark_master: str | None = typer.Option(None, "--spark-master", help=SPARK_MASTER_HELP),
) -> None:
    """Kaplan-Meier curves with Greenwood intervals, median, RMST and landmark survival (as R)."""
    from netoutcomes.api import survfit

    try:
        check_conf_level(conf_level)
        landmarks = parse_numbers("--times", times)
        probs = parse_numbers("--quantiles", quantiles)
        by_columns = column_list("--by", by)
        with progress("Kaplan-Meier"):
            fit = survfit(
                file,
                time,
                event,
                entry,
                by_columns,
                weights,
                conf_type.value,
                conf_level,
                backend.value,
                spark_master,
                stype=stype.value,
                ctype=ctype.value,
                start_time=start_time,
            )
            out = fit.to_dict(times=landmarks, tau=tau, quantile_probs=probs)
        write_csv(csv, lambda: fit.table)
        if plot is not None:
            fit.plot(plot)
    except InputError as exc:
        fail(_option_names(str(exc)))
        return
    if as_json:
        echo_json(out)
        return
    report_dropped(fit.n_dropped)
    _print_curves(out)


def _option_names(message: str) -> str:
    """The API names its arguments (``tau:``); the CLI user typed options (``--tau:``)."""
    for name in ("tau", "scores", "quantiles", "times", "weights", "start_time", "plot"):
        if message.startswith(f"{name}: "):
            return "--" + message.replace("_", "-", 1) if name == "start_time" else f"--{message}"
    return message


def _print_logrank(out: dict[str, Any], groups: Any) -> None:
    console = _console()
    rho, q = out["rho"], out["q"]
    title = "Log-rank test" if rho == 0 and q == 0 else f"G(rho = {rho:g}, q = {q:g}) test"
    table = _table(title, ["group", "N", "observed", "expected", "(O-E)^2/E", "(O-E)^2/V"])
    for g in groups.itertuples():  # the API's summary(): R's survdiff table
        table.add_row(
            str(g.group),
            text.count(g.n),
            text.count(g.observed),
            text.number(g.expected, 3),
            text.number(g.o_e2_e, 3),
            text.number(g.o_e2_v, 3),
        )
    console.print(table)
    p = _nan(out["p"])
    console.print(f"Chisq = {text.number(out['chisq'], 4)} on {out['df']} df, {text.p_equals(p)}")
    trend = out.get("trend")
    if trend is not None:
        console.print(
            f"Trend: Chisq = {text.number(trend['chisq'], 4)} on 1 df, "
            f"{text.p_equals(_nan(trend['p']))}"
        )
    pairs = out.get("pairwise")
    if pairs:
        pt = _table("Pairwise comparisons", ["group A", "group B", "chisq", "p", "p (Holm)"])
        pt.add_column("p (BH)", justify="right")
        for pc in pairs:
            pt.add_row(
                pc["group_a"],
                pc["group_b"],
                text.number(_nan(pc["chisq"]), 4),
                text.p_value(_nan(pc["p"])),
                text.p_value(_nan(pc["p_holm"])),
                text.p_value(_nan(pc["p_bh"])),
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
    weights: str | None = typer.Option(None, "--weights", help=WEIGHTS_HELP),
    rho: float = typer.Option(0.0, "--rho", help="G-rho weight S(t-)^rho: 0 log-rank, 1 Peto."),
    q: float = typer.Option(
        0.0, "--q", help="Fleming-Harrington weight S(t-)^rho (1 - S(t-))^q (default 0)."
    ),
    trend: bool = typer.Option(False, "--trend", help="Also test for trend over ordered groups."),
    scores: str | None = typer.Option(
        None, "--scores", help="Trend scores in group order, e.g. 0,0.5,1 (default 1,2,...)."
    ),
    pairwise: bool = typer.Option(False, "--pairwise", help="Also compare every pair of groups."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    csv: Path | None = typer.Option(None, "--csv", help=CSV_HELP),
    backend: BackendOption = typer.Option("duckdb", "--backend", help=BACKEND_HELP),
    spark_master: str | None = typer.Option(None, "--spark-master", help=SPARK_MASTER_HELP),
) -> None:
    """k-sample log-rank / G(rho, q) test as R's survdiff (stratified with --strata)."""
    from netoutcomes.api import survdiff

    try:
        with progress("log-rank test"):
            result = survdiff(
                file,
                time,
                event,
                column_list("--by", by),
                entry,
                column_list("--strata", strata),
                weights,
                rho,
                q,
                trend,
                parse_numbers("--scores", scores),
                pairwise,
                backend.value,
                spark_master,
            )
            out = result.to_dict()
        write_csv(csv, result.pairs if pairwise else result.summary)
    except InputError as exc:
        fail(_option_names(str(exc)))
        return
    if as_json:
        echo_json(out)
        return
    report_dropped(result.n_dropped)
    _print_logrank(out, result.summary())
