"""`netoutcomes stats cox`: a face over ``no.coxph`` (Cox proportional hazards, as R's coxph).

Thin: parse the options, call the API, print ``.to_dict()`` (``--json``) or a
Rich table.  The model logic (formulas, factor coding, aliasing, cox.zph terms)
is in ``netoutcomes.api``; the API is imported inside the command so that
``--help`` stays fast.
"""

from __future__ import annotations

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
    column_list,
    echo_json,
    progress,
    write_csv,
)
from netoutcomes.interfaces.cli.main import fail, stats_app


class TiesOption(StrEnum):
    efron = "efron"
    breslow = "breslow"


def _covariate_list(text_: str) -> list[str]:
    names = [c.strip() for c in text_.split(",") if c.strip()]
    if not names:
        raise InputError("--covariates: give at least one column name, e.g. --covariates age,sex")
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        raise InputError(f"--covariates: column {duplicated[0]!r} is given twice")
    return names


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _print_cox(model: Any, ties: str, conf_level: float) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    out = model.to_dict()
    # p and the interval as R's print/summary show them: from the robust SE with
    # cluster/robust (the JSON keeps the model-based ones, as the R reference blocks).
    shown = model.summary()
    n_dropped = model.n_dropped
    console = Console()
    if not console.is_terminal:  # a file or a pipe: no reason to squeeze into 80 columns
        console = Console(width=120)
    robust = "robust_se" in out
    pct = f"{conf_level * 100:g}%"
    table = Table(title=f"Cox proportional hazards ({ties} ties)", box=box.SIMPLE_HEAD)
    columns = ["term", "coef", "HR", f"{pct} CI", "SE"] + (["robust SE"] if robust else [])
    for col in [*columns, "p"]:
        table.add_column(col, justify="left" if col == "term" else "right", no_wrap=True)
    for i, term in enumerate(out["terms"]):
        row = [
            term,
            text.number(_nan(out["coef"][i]), 3),
            text.number(_nan(out["hr"][i]), 3),
            text.interval(_nan(shown.lower[i]), _nan(shown.upper[i])),
            text.number(_nan(out["se"][i]), 3),
        ]
        row += [text.number(_nan(out["robust_se"][i]), 3)] if robust else []
        table.add_row(*row, text.p_value(_nan(shown.p[i])))
    console.print(table)
    if out.get("reference_levels"):
        refs = ", ".join(f"{k} = {v}" for k, v in out["reference_levels"].items())
        console.print(f"Reference levels: {refs}")
    dropped = f" ({n_dropped} rows with missing values dropped)" if n_dropped else ""
    console.print(f"n = {out['n']}, events = {out['nevent']}{dropped}")
    tests = model.tests()
    if robust:
        console.print("p and limits use the robust SE (as R; the JSON: the model-based SE).")
    names = {"likelihood ratio": "Likelihood ratio test", "wald": "Wald test",
             "robust score": "Robust score test"}  # fmt: skip
    for test in tests.itertuples():
        name = names.get(test.test, "Score (log-rank) test")
        console.print(
            f"{name} = {text.number(test.chisq, 4)} on {test.df} df, {text.p_equals(test.p)}"
        )
    se = out.get("concordance_se")
    se_text = "" if se is None else f" (se = {text.number(se, 3)})"
    console.print(f"Concordance = {text.number(_nan(out['concordance']), 3)}{se_text}")
    zph = out["zph"]
    if zph is not None:
        zt = Table(title="cox.zph (KM transform)", box=box.SIMPLE_HEAD)
        for col in ("term", "chisq", "df", "p"):
            zt.add_column(col, justify="left" if col == "term" else "right")
        for i, term in enumerate(zph["terms"]):
            zt.add_row(
                term,
                text.number(_nan(zph["chisq"][i]), 4),
                str(zph["df"][i]),
                text.p_value(_nan(zph["p"][i])),
            )
        console.print(zt)


@stats_app.command("cox")
def cox_command(
    file: Path = typer.Argument(..., help="CSV or Parquet file."),
    time: str | None = typer.Option(
        None, "--time", help="Exit time column (event or censoring); not with --formula."
    ),
    event: str | None = typer.Option(
        None, "--event", help="Event column (1 = event, 0 = censored); not with --formula."
    ),
    covariates: str | None = typer.Option(
        None, "--covariates", help="Comma-separated covariate columns; text columns are factors."
    ),
    formula: str | None = typer.Option(
        None,
        "--formula",
        help='An R formula, e.g. "Surv(time, status) ~ age + factor(ecog) + strata(inst)".',
    ),
    entry: str | None = typer.Option(
        None, "--entry", help="Entry time column: rows are (entry, time] intervals."
    ),
    strata: str | None = typer.Option(
        None, "--strata", help="Column whose values get separate baseline hazards (a,b: crossed)."
    ),
    weights: str | None = typer.Option(None, "--weights", help=WEIGHTS_HELP),
    ties: TiesOption = typer.Option(TiesOption.efron, "--ties", help="Tie handling."),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Robust (sandwich) SE clustered on this column (e.g. id)."
    ),
    robust: bool = typer.Option(False, "--robust", help="Robust SE, each row its own cluster."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    csv: Path | None = typer.Option(None, "--csv", help=CSV_HELP),
    backend: BackendOption = typer.Option("duckdb", "--backend", help=BACKEND_HELP),
    spark_master: str | None = typer.Option(None, "--spark-master", help=SPARK_MASTER_HELP),
) -> None:
    """Cox proportional hazards, as R's coxph, with cox.zph and concordance."""
    from netoutcomes.api import coxph

    try:
        if formula is not None:
            if covariates is not None or time is not None or event is not None:
                raise InputError(
                    "--formula: give the formula or --time, --event and --covariates, not both"
                )
            model_args: dict[str, Any] = {"formula": formula}
        else:
            if time is None or event is None or covariates is None:
                raise InputError(
                    "give --time, --event and --covariates, or --formula "
                    '"Surv(time, event) ~ a + b"'
                )
            model_args = {"time": time, "event": event, "covariates": _covariate_list(covariates)}
        if cluster is not None and robust:
            raise InputError("--cluster and --robust: give one (--cluster clusters on a column)")
        with progress("Cox model"):
            model = coxph(
                file,
                **model_args,
                entry=entry,
                strata=column_list("--strata", strata),
                cluster=cluster,
                robust=robust,
                weights=weights,
                ties=ties.value,
                backend=backend.value,
                spark_master=spark_master,
            )
            out = model.to_dict()
        write_csv(csv, model.summary)
    except InputError as exc:
        fail(str(exc))
        return
    for warning in out.get("warnings", []):  # as R warns, and still reports the fit
        typer.echo(f"warning: {warning}", err=True)
    if as_json:
        echo_json(out)
    else:
        _print_cox(model, ties.value, 0.95)
