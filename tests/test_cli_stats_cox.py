"""`netoutcomes stats cox` through the command line: R's numbers via --json, and errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from netoutcomes.interfaces.cli.main import _register_commands, app

sys.path.insert(0, str(Path(__file__).parent / "survival"))
from cox_cases import CoxCase, as_array, cox_cases  # noqa: E402

_register_commands()
runner = CliRunner()
CASES = cox_cases()
KEYS = [
    "terms", "coef", "se", "robust_se", "hr", "hr_lower", "hr_upper", "p", "loglik_null",
    "loglik", "lrt", "wald", "score", "n", "nevent", "concordance", "concordance_se", "zph",
]  # fmt: skip


def run(args: list[str], backend: str = "duckdb") -> tuple[int, str, str]:
    """The command on ``backend`` (duckdb, the default, without --backend)."""
    if backend != "duckdb":
        args = [*args, "--backend", backend]
    result = runner.invoke(app, ["stats", "cox", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(params=["duckdb", "memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.dataset}-{c.block}")
def test_json_matches_r(case: CoxCase, ties: str) -> None:
    code, out, err = run(case.cli_args(ties))
    assert code == 0, err
    got = json.loads(out)
    # reference_levels (each factor's reference level) only when the model has a factor
    assert [k for k in got if k != "reference_levels"] == KEYS
    ref = case.reference[ties]
    assert got["terms"] == list(np.atleast_1d(ref["terms"]))
    for key in [k for k in KEYS[1:-1] if k != "concordance_se"]:  # not in these R files
        np.testing.assert_allclose(
            np.atleast_1d(np.array(got[key], dtype=float)),
            as_array(ref[key]),
            rtol=1e-6,
            err_msg=key,
        )
    zref = case.zph_reference(ties)
    assert got["zph"]["terms"] == zref["terms"]
    np.testing.assert_allclose(got["zph"]["chisq"], zref["chisq"], rtol=1e-6)
    np.testing.assert_array_equal(got["zph"]["df"], zref["df"])
    np.testing.assert_allclose(got["zph"]["p"], zref["p"], rtol=1e-6)


def test_robust_se_only_when_asked() -> None:
    case = next(c for c in CASES if c.dataset == "aml")
    args = [a for a in case.cli_args("efron") if a != "--robust"]
    code, out, err = run(args)
    assert code == 0, err
    assert "robust_se" not in json.loads(out)


def test_table_output() -> None:
    case = next(c for c in CASES if c.dataset == "lung")
    code, out, err = run([a for a in case.cli_args("efron") if a != "--json"])
    assert code == 0, err
    assert "sexmale" in out and "GLOBAL" in out and "Concordance" in out


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def assert_one_line_error(args: list[str], *needles: str, backend: str = "duckdb") -> str:
    code, out, err = run(args, backend)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_monotone_likelihood_warns_and_reports_r_numbers(backend: str) -> None:
    # kidney with the PKD infections censored: R fits, warns "Loglik converged before
    # variable 4; coefficient may be infinite" and reports the last step (the numbers
    # are checked against R in tests/test_reference_cli.py).
    path = Path(__file__).parent / "fixtures" / "more" / "data" / "kidney_pkd_censored.csv"
    args = [str(path), "--time", "time", "--event", "event", "--covariates", "age,disease"]
    code, out, err = run([*args, "--json"], backend)
    assert code == 0, err
    assert err.startswith("warning: monotone likelihood: the coefficient of diseasePKD")
    assert err.count("\n") == 1
    got = json.loads(out)
    assert got["warnings"] == [err.removeprefix("warning: ").strip()]
    assert got["coef"][-1] < -15 and got["hr_upper"][-1] is None  # exp(overflow): R's Inf
    code, table, err = run(args, backend)
    assert code == 0 and "warning: monotone likelihood" in err and "diseasePKD" in table


# b = 2a + 1: R's coxph gives coefficient NA for b (the later of the collinear columns).
COLLINEAR = ["1,1,3,7,1", "2,1,5,11,0", "3,0,2,5,1", "4,1,7,15,0", "5,1,1,3,1", "6,0,4,9,0"]


def test_aliased_covariate_is_na_as_in_r(tmp_path: Path, backend: str) -> None:
    # R: coef NA for b, se 0 (vcov), the other coefficients those of the fit without b;
    # R's numbers for such a fit are checked in tests/test_reference_cli.py (nwtco).
    path = write_csv(tmp_path / "collinear.csv", "time,event,a,b,c", COLLINEAR)
    args = [str(path), "--time", "time", "--event", "event", "--json"]
    code, out, err = run([*args, "--covariates", "a,b,c"], backend)
    assert code == 0, err
    assert err.startswith("warning: singular design: covariate b ")
    full = json.loads(out)
    code, out, _ = run([*args, "--covariates", "a,c"], backend)
    reduced = json.loads(out)
    assert full["coef"][1] is None and full["se"][1] == 0.0 and full["p"][1] is None
    np.testing.assert_allclose([full["coef"][0], full["coef"][2]], reduced["coef"], rtol=1e-12)
    np.testing.assert_allclose(full["loglik"], reduced["loglik"], rtol=1e-12)
    assert full["zph"]["terms"] == ["a", "c", "GLOBAL"]


@pytest.mark.parametrize(
    ("header", "rows", "covariates", "needles"),
    [
        ("time,event,a", ["1,1,3", "2,1,3", "3,0,3"], "a", ("singular", "covariate a")),
        ("time,event,a,site", ["1,1,3,x", "2,1,5,x", "3,0,2,x"], "a,site", ("singular", "site")),
        ("time,event,a", ["1,0,3", "2,0,5", "3,0,2"], "a", ("no events",)),
    ],
    ids=["only-constant", "one-level", "no-events"],
)
def test_unfittable_data(
    tmp_path: Path,
    header: str,
    rows: list[str],
    covariates: str,
    needles: tuple[str, ...],
    backend: str,
) -> None:
    path = write_csv(tmp_path / "bad.csv", header, rows)
    args = [str(path), "--time", "time", "--event", "event", "--covariates", covariates]
    assert_one_line_error(args, *needles, backend=backend)


def test_cluster_and_robust_together(backend: str) -> None:
    case = next(c for c in CASES if c.dataset == "heart")
    args = [*case.cli_args("efron"), "--robust"]
    assert_one_line_error(args, "--cluster and --robust", backend=backend)


def test_missing_column(backend: str) -> None:
    case = next(c for c in CASES if c.dataset == "aml")
    args = case.cli_args("efron")
    args[args.index("--covariates") + 1] = "x,nosuch"
    assert_one_line_error(args, "no column 'nosuch'; the columns are", backend=backend)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["1,1,0,3", "2,0,0,5", "-4,1,0,2", "-5,0,0,1"], "data row 3, column 'time': time -4 is"),
        (["1,1,0,3", "x,0,0,5", "3,1,0,2"], "data row 2, column 'time': 'x' is not a number"),
        (["1,1,0,3", "2,0,0,5", "3,4,0,2", "4,4,0,1"], "data row 3, column 'event': event value 4"),
        (["1,1,0,3", "2,0,0,5", "3,1,3,2", "3,1,3,2"], "data row 3, column 'a': entry 3 is not"),
    ],
    ids=["negative-time", "text-time", "event-code", "entry-not-before-exit"],
)
def test_bad_values_name_file_row_column(
    tmp_path: Path, rows: list[str], message: str, backend: str
) -> None:
    # The first bad row of the file is named, also when its value repeats later.
    path = write_csv(tmp_path / "bad.csv", "time,event,a,x", rows)
    args = [str(path), "--time", "time", "--event", "event", "--entry", "a", "--covariates", "x"]
    line = assert_one_line_error(args, message, backend=backend)
    assert line.startswith(f"error: {path}: ")


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_zph_with_an_aliased_coefficient_matches_r(ties: str) -> None:
    # R's cox.zph tests the factor stage_code on its two columns with a coefficient
    # (tests/fixtures/more/aliased_zph.R); gen.R's own zph for this fit is null.
    more = Path(__file__).parent / "fixtures" / "more"
    ref = json.loads((more / "r" / "aliased_zph.json").read_text())[ties]
    args = [str(more / "data" / "nwtco.csv"), "--time", "time", "--event", "event"]
    code, out, err = run([*args, "--covariates", "stage,stage_code,age", "--ties", ties, "--json"])
    assert code == 0, err
    zph = json.loads(out)["zph"]
    assert zph["terms"] == ref["terms"]
    np.testing.assert_array_equal(zph["df"], ref["df"])
    np.testing.assert_allclose(zph["chisq"], ref["chisq"], rtol=1e-6)
    np.testing.assert_allclose(zph["p"], ref["p"], rtol=1e-6)


def test_a_coefficient_running_away_is_na_not_a_traceback(tmp_path: Path, backend: str) -> None:
    # The only x = 1 subject dies first among 100: the information of x at R's converged
    # point is 0 in doubles, and R's coxph reports x NA with variance 0 (this used to end
    # in numpy's "LinAlgError: Singular matrix" traceback); R's numbers in
    # tests/fixtures/r/cox_runaway.json (first100_xz)
    ref = json.loads((Path(__file__).parent / "fixtures" / "r" / "cox_runaway.json").read_text())
    data = ref["first100_xz"]["data"]
    rows = [f"{t:g},{e:g},{x:g},{z:g}" for t, e, x, z in
            zip(data["time"], data["event"], data["x"], data["z"], strict=True)]  # fmt: skip
    path = write_csv(tmp_path / "runaway.csv", "time,event,x,z", rows)
    code, out, err = run([str(path), "--formula", "Surv(time, event) ~ x + z", "--json"], backend)
    assert code == 0, err
    assert err.startswith("warning: the information of x became singular")
    got, want = json.loads(out), ref["first100_xz"]["efron"]
    assert got["coef"][0] is None and got["se"][0] == 0.0 and got["p"][0] is None
    np.testing.assert_allclose(got["coef"][1], want["coef"][1], rtol=1e-9)
    np.testing.assert_allclose(got["zph"]["chisq"], want["zph_km"], rtol=1e-9)
    code, table, err = run([str(path), "--formula", "Surv(time, event) ~ x + z"], backend)
    assert code == 0 and "Traceback" not in err and "NA" in table
