"""`netoutcomes stats cox`: Cox proportional hazards on any CSV/Parquet file (issue 3).

Thin: ``fit_cox_file`` reads and validates the file (engine.source) and calls the
pure statistics (survival.cox, survival.cox_zph); the command renders JSON or a
Rich table.  JSON keys are a public contract; NaN and infinities are null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from netoutcomes.engine.analysis import survival_data_on
from netoutcomes.engine.backends import Backend
from netoutcomes.errors import InputError
from netoutcomes.interfaces.cli.cmd_stats_survival import (
    BACKEND_HELP,
    SPARK_MASTER_HELP,
    BackendOption,
    _echo_json,
    column_list,
)
from netoutcomes.interfaces.cli.main import fail, stats_app
from netoutcomes.survival.cox import CoxFit, cox_model_data, cox_ph
from netoutcomes.survival.cox_zph import ZphTest, cox_zph


class TiesOption(StrEnum):
    efron = "efron"
    breslow = "breslow"


@dataclass(frozen=True)
class CoxFileResult:
    fit: CoxFit
    zph: ZphTest | None  # None when R's cox.zph could not be computed either
    n_dropped: int


def _covariate_list(text: str) -> list[str]:
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise InputError("--covariates: give at least one column name, e.g. --covariates age,sex")
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        raise InputError(f"--covariates: column {duplicated[0]!r} is given twice")
    return names


def fit_cox_file(
    path: Path,
    time: str,
    event: str,
    covariates: list[str],
    entry: str | None = None,
    strata: str | Sequence[str] | None = None,
    ties: TiesOption = TiesOption.efron,
    cluster: str | None = None,
    robust: bool = False,
    backend: Backend = "memory",
    spark_master: str | None = None,
) -> CoxFileResult:
    """Read the used columns (rows with a missing value dropped, as R) and fit.

    Several ``strata`` columns are crossed, as R's ``strata(a, b)``.  ``backend``
    reads the rows of the used columns (DuckDB or Spark; the typing and checks are
    ``engine.source``'s either way); the fit, robust SE, concordance and cox.zph
    need the rows and run in memory.
    """
    if cluster is not None and robust:
        raise InputError("--cluster and --robust: give one (--cluster clusters on a column)")
    strata_columns = [strata] if isinstance(strata, str) else list(strata or [])
    others = strata_columns + ([cluster] if cluster else [])
    extra = list(dict.fromkeys(covariates + others))
    data = survival_data_on(path, time, event, entry, extra, backend, spark_master)
    try:
        model = cox_model_data(
            data.time, data.event, data.entry, data.columns, covariates, strata_columns, cluster
        )
        fit = cox_ph(
            model.data,
            model.design.column_names,
            ties.value,
            cluster=model.cluster,
            robust=robust,
        )
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    # R's cox.zph tests a term on its columns with a coefficient (not NA, aliased) and
    # leaves out a term with none; the fit's sums are over those columns only, so the
    # terms' column numbers shift
    kept = [int(i) for i in np.flatnonzero(~np.isnan(fit.coef))]
    position = {column: k for k, column in enumerate(kept)}
    terms = [
        (name, [position[c] for c in cols if c in position])
        for name, cols in zip(model.design.term_names, model.design.term_columns, strict=True)
        if any(c in position for c in cols)
    ]
    zph: ZphTest | None
    try:
        zph = cox_zph(
            fit.sums,
            fit.ties,
            [name for name, _ in terms],
            [cols for _, cols in terms],
            model.data.time,
            model.data.event,
            model.data.entry,
        )
    except (ValueError, ArithmeticError):  # a singular expanded information matrix
        zph = None
    return CoxFileResult(fit, zph, data.n_dropped)


def cox_json(result: CoxFileResult) -> dict[str, Any]:
    fit = result.fit
    out: dict[str, Any] = {
        "terms": fit.terms,
        "coef": fit.coef,
        "se": fit.se,
    }
    if fit.robust_se is not None:
        out["robust_se"] = fit.robust_se
    out.update(
        {
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
            "zph": None
            if result.zph is None
            else {
                "terms": result.zph.terms,
                "chisq": result.zph.chisq,
                "df": result.zph.df,
                "p": result.zph.p,
            },
        }
    )
    if fit.warnings:  # only then, so the keys above stay the contract
        out["warnings"] = list(fit.warnings)
    return out


def _fmt(x: float, digits: int = 4) -> str:
    return "NA" if not math.isfinite(x) else f"{x:.{digits}g}"


def _print_cox(result: CoxFileResult) -> None:
    fit = result.fit
    console = Console()
    if not console.is_terminal:  # a file or a pipe: no reason to squeeze into 80 columns
        console = Console(width=120)
    table = Table(title=f"Cox proportional hazards ({fit.ties} ties)", box=box.SIMPLE_HEAD)
    columns = ["term", "coef", "HR", "lower .95", "upper .95", "SE"]
    columns += ["robust SE"] if fit.robust_se is not None else []
    columns += ["p"]
    for col in columns:
        table.add_column(col, justify="left" if col == "term" else "right", no_wrap=True)
    for i, term in enumerate(fit.terms):
        row = [term] + [
            _fmt(v[i], 3) for v in (fit.coef, fit.hr, fit.hr_lower, fit.hr_upper, fit.se)
        ]
        row += [_fmt(fit.robust_se[i], 3)] if fit.robust_se is not None else []
        row += [_fmt(fit.p[i], 3)]
        table.add_row(*row)
    console.print(table)
    dropped = f" ({result.n_dropped} rows with missing values dropped)" if result.n_dropped else ""
    console.print(f"n = {fit.n}, events = {fit.nevent}{dropped}")
    if fit.robust_se is not None:
        console.print("p, limits and the Wald test use the model-based SE (as the JSON).")
    console.print(
        f"Likelihood ratio test = {_fmt(fit.lrt)} on {fit.df} df, p = {_fmt(fit.lrt_p)}\n"
        f"Wald test = {_fmt(fit.wald)} on {fit.df} df, p = {_fmt(fit.wald_p)}\n"
        f"Score (log-rank) test = {_fmt(fit.score)} on {fit.df} df, p = {_fmt(fit.score_p)}\n"
        f"Concordance = {_fmt(fit.concordance)}"
    )
    if result.zph is not None:
        zph = Table(title="cox.zph (KM transform)", box=box.SIMPLE_HEAD)
        for col in ("term", "chisq", "df", "p"):
            zph.add_column(col, justify="left" if col == "term" else "right")
        for i, term in enumerate(result.zph.terms):
            zph.add_row(
                term, _fmt(result.zph.chisq[i]), str(result.zph.df[i]), _fmt(result.zph.p[i])
            )
        console.print(zph)


@stats_app.command("cox")
def cox_command(
    file: Path = typer.Argument(..., help="CSV or Parquet file."),
    time: str = typer.Option(..., "--time", help="Exit time column (event or censoring)."),
    event: str = typer.Option(..., "--event", help="Event column (1 = event, 0 = censored)."),
    covariates: str = typer.Option(
        ..., "--covariates", help="Comma-separated covariate columns; text columns are factors."
    ),
    entry: str | None = typer.Option(
        None, "--entry", help="Entry time column: rows are (entry, time] intervals."
    ),
    strata: str | None = typer.Option(
        None, "--strata", help="Column whose values get separate baseline hazards (a,b: crossed)."
    ),
    ties: TiesOption = typer.Option(TiesOption.efron, "--ties", help="Tie handling."),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Robust (sandwich) SE clustered on this column (e.g. id)."
    ),
    robust: bool = typer.Option(False, "--robust", help="Robust SE, each row its own cluster."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    backend: BackendOption = typer.Option("duckdb", "--backend", help=BACKEND_HELP),
    spark_master: str | None = typer.Option(None, "--spark-master", help=SPARK_MASTER_HELP),
) -> None:
    """Cox proportional hazards, as R's coxph, with cox.zph and concordance."""
    try:
        result = fit_cox_file(
            file,
            time,
            event,
            _covariate_list(covariates),
            entry,
            column_list("--strata", strata),
            ties,
            cluster,
            robust,
            backend.value,
            spark_master,
        )
    except InputError as exc:
        fail(str(exc))
        return
    for warning in result.fit.warnings:  # as R warns, and still reports the fit
        typer.echo(f"warning: {warning}", err=True)
    if as_json:
        _echo_json(cox_json(result))
    else:
        _print_cox(result)
