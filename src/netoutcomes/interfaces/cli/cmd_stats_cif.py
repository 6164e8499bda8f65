"""`netoutcomes stats cif`: cumulative incidence with competing risks on any CSV/Parquet.

Thin: parses options, calls ``netoutcomes.api.cif.cif`` and renders its result
(``--json`` prints exactly its ``to_dict()``).  Module-level imports are typer
only: numpy, pandas and Rich load inside the command so that
``netoutcomes --help`` stays fast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from netoutcomes.errors import InputError
from netoutcomes.interfaces.cli.cli_support import (
    check_conf_level,
    column_list,
    echo_json,
    parse_numbers,
    progress,
    report_dropped,
)
from netoutcomes.interfaces.cli.main import fail, stats_app

if TYPE_CHECKING:
    from netoutcomes.api.cif import CumulativeIncidence


def _num(x: float, digits: int = 4) -> str:
    """Counts as integers, other numbers to ``digits`` significant digits, NA if undefined."""
    if not math.isfinite(x):
        return "NA"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}"


def _prob(x: float) -> str:
    return "NA" if not math.isfinite(x) else f"{x:.3f}"


def _interval(lower: float, upper: float) -> str:
    """R gives no interval where the incidence is 0 (NA)."""
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return "NA"
    return f"{_prob(lower)}-{_prob(upper)}"


def _p_value(p: float) -> str:
    if not math.isfinite(p):
        return "NA"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _print(result: CumulativeIncidence) -> None:
    import numpy as np
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from netoutcomes.survival.cif import cif_at

    console = Console()
    causes = result.causes
    counts = Table(title="Events by cause", box=box.SIMPLE_HEAD)
    for col in ["group", "n", *(f"cause {c}" for c in causes), "censored"]:
        counts.add_column(col, justify="left" if col == "group" else "right", overflow="fold")
    for fit in result.fits:
        counts.add_row(
            fit.label,
            str(fit.n),
            *(_num(c.events) for c in fit.causes),
            _num(float(fit.n_censor.sum())),
        )
    console.print(counts)

    pct = f"{result.conf_level * 100:g}%"
    landmarks = list(result.times)
    where = "at the given times" if landmarks else "at each group's last time"
    table = Table(title=f"Cumulative incidence (Aalen-Johansen), {where}", box=box.SIMPLE_HEAD)
    for col in ("group", "cause", "time", "at risk", "CIF", "SE", f"{pct} CI"):
        table.add_column(col, justify="left" if col == "group" else "right", overflow="fold")
    for fit in result.fits:
        for curve in fit.causes:
            wanted = landmarks or [float(curve.time[-1])]
            at = cif_at(curve, np.asarray(wanted, dtype=np.float64))
            for i in range(at.time.size):
                table.add_row(
                    fit.label,
                    str(curve.cause),
                    _num(float(at.time[i])),
                    _num(float(at.n_risk[i])),
                    _prob(float(at.cif[i])),
                    _prob(float(at.std_err[i])),
                    _interval(float(at.lower[i]), float(at.upper[i])),
                )
    if causes:
        console.print(table)
    if result.gray_tests:
        strata = f", stratified by {', '.join(result.gray_strata)}" if result.gray_strata else ""
        gray = Table(title=f"Gray's test between groups{strata}", box=box.SIMPLE_HEAD)
        for col in ("cause", "chisq", "df", "p"):
            gray.add_column(col, justify="right")
        for t in result.gray_tests:
            gray.add_row(str(t.cause), f"{t.chisq:.3f}", str(t.df), _p_value(t.p))
        console.print(gray)


@stats_app.command("cif")
def cif_command(
    file: Path = typer.Argument(..., help="CSV or Parquet file."),
    time: str = typer.Option(..., "--time", help="Exit time column (event or censoring)."),
    status: str = typer.Option(
        ..., "--status", help="Status column: 0 censored, 1..k the cause of the event."
    ),
    by: str | None = typer.Option(
        None, "--by", help="One curve set per value of this column (a,b: per combination)."
    ),
    times: str | None = typer.Option(None, "--times", help="Report times, e.g. 365,730."),
    conf_level: float = typer.Option(0.95, "--conf-level", help="Confidence level (0.95)."),
    entry: str | None = typer.Option(None, "--entry", help="Delayed-entry time column."),
    gray_strata: str | None = typer.Option(
        None, "--gray-strata", help="Stratify Gray's test by this column (a,b: combinations)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Cumulative incidence of competing events (Aalen-Johansen, as R's survfit) and
    Gray's test between groups (as cmprsk::cuminc)."""
    try:
        check_conf_level(conf_level)
        by_columns = column_list("--by", by) or None
        landmarks = parse_numbers("--times", times) or []
        strata_columns = column_list("--gray-strata", gray_strata) or None
        from netoutcomes.api.cif import cif  # deferred: numpy and pandas (CLI start-up)

        with progress("cumulative incidence"):
            result = cif(
                file,
                time=time,
                status=status,
                by=by_columns,
                times=landmarks,
                conf_level=conf_level,
                entry=entry,
                gray_strata=strata_columns,
            )
    except InputError as exc:
        fail(str(exc))
        return
    if as_json:
        echo_json(result.to_dict())
        return
    report_dropped(result.n_dropped)
    if not result.causes:
        typer.echo("note: no events (every status is 0): the incidence is 0", err=True)
    _print(result)
