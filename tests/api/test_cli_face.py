"""The `stats` commands as a face over the API: each option reaches the API, the output
files are the API's tables, and the human tables read as a statistician reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import netoutcomes as no
from netoutcomes.interfaces.cli.main import _register_commands, app

FIXTURES = Path(__file__).parent.parent / "fixtures"
LUNG = FIXTURES / "data" / "lung.csv"
LUNG_W = FIXTURES / "api" / "lung_weights.csv"

_register_commands()


def run(*args: str, columns: int | None = None) -> tuple[int, str, str]:
    env = {} if columns is None else {"COLUMNS": str(columns)}
    result = CliRunner().invoke(app, ["stats", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_logrank_q_and_weights_reach_the_api() -> None:
    code, out, err = run(
        "logrank", str(LUNG_W), "--time", "time", "--event", "event", "--by", "sex",
        "--rho", "1", "--q", "1", "--weights", "wi", "--json",
    )  # fmt: skip
    assert code == 0, err
    api = no.survdiff(LUNG_W, "time", "event", by="sex", rho=1.0, q=1.0, weights="wi")
    assert json.loads(out) == api.to_dict()
    assert api.to_dict()["q"] == 1.0
    plain = no.survdiff(LUNG_W, "time", "event", by="sex", rho=1.0).to_dict()
    assert plain["chisq"] != api.chisq  # q and the weights change the test


def test_cox_formula_and_weights_reach_the_api() -> None:
    formula = "Surv(time, event) ~ age + sex + cluster(inst)"
    code, out, err = run(
        "cox", str(LUNG_W), "--formula", formula, "--weights", "wi", "--backend", "memory",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    api = no.coxph(LUNG_W, formula, weights="wi", backend="memory")
    assert out == json.dumps(api.to_dict()) + "\n"


def test_formula_and_covariates_together_is_one_line_error() -> None:
    code, _, err = run(
        "cox", str(LUNG), "--formula", "Surv(time, event) ~ age", "--covariates", "age"
    )
    assert code == 2
    assert err.startswith("error: --formula: give the formula or") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("command", "api_table"),
    [
        (["km", "--by", "sex"], lambda: no.survfit(LUNG, "time", "event", by="sex").table),
        (
            ["logrank", "--by", "ph_ecog"],
            lambda: no.survdiff(LUNG, "time", "event", by="ph_ecog").summary(),
        ),
        (
            ["logrank", "--by", "ph_ecog", "--pairwise"],
            lambda: no.survdiff(LUNG, "time", "event", by="ph_ecog", pairwise=True).pairs(),
        ),
        (
            ["cox", "--covariates", "age,sex"],
            lambda: no.coxph(LUNG, time="time", event="event", covariates=["age", "sex"]).summary(),
        ),
    ],
    ids=["km", "logrank", "pairwise", "cox"],
)
def test_csv_is_the_api_table(tmp_path: Path, command: list[str], api_table: object) -> None:
    out = tmp_path / "table.csv"
    kind, *rest = command
    code, _, err = run(
        kind, str(LUNG), "--time", "time", "--event", "event", *rest, "--csv", str(out)
    )
    assert code == 0, err
    written = pd.read_csv(out)
    expected = api_table()  # type: ignore[operator]
    assert list(written.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(written, expected.reset_index(drop=True), check_dtype=False)


def test_group_labels_are_whole_at_80_columns() -> None:
    code, out, err = run(
        "km", str(LUNG), "--time", "time", "--event", "event", "--by", "sex,ph_ecog",
        columns=80,
    )  # fmt: skip
    assert code == 0, err
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    for label in ("sex=female, ph_ecog=0", "sex=male, ph_ecog=3"):
        assert label in out


def test_human_numbers() -> None:
    code, out, err = run("logrank", str(LUNG), "--time", "time", "--event", "event", "--by", "sex")
    assert code == 0, err
    assert "Chisq = 10.33 on 1 df, p = 0.00131" in out
    assert " 138 " in out and "138.0" not in out  # counts as integers
    code, out, err = run("cox", str(LUNG), "--time", "time", "--event", "event",
                         "--covariates", "age,sex")  # fmt: skip
    assert code == 0, err
    assert " to " in out  # intervals as "lower to upper"
    assert "e+" not in out
