"""`netoutcomes stats cif` against R's fixtures (tests/fixtures/cif), and bad input -> exit 2.

The JSON must equal R's multi-state ``survfit`` and ``cmprsk::cuminc`` numbers on
mgus2, pbc and the hand-made synthetic sets (written by cif_reference.R).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import netoutcomes.interfaces.cli.cmd_stats_cif  # noqa: F401  (registers `stats cif`)
from netoutcomes.interfaces.cli.main import app

FIXTURES = Path(__file__).parent / "fixtures" / "cif"
runner = CliRunner()
TOLERANCE = 1e-10


def run(*args: str) -> Any:
    return runner.invoke(app, ["stats", "cif", *args])


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name in ("mgus2", "pbc", "transplant", "handmade", "handmade_entry", "near_ties"):
        ref = json.loads((FIXTURES / f"{name}.json").read_text())
        out += [(name, c) for c in ref["cases"]]
    return out


CASES = _cases()


def _close(ours: list[float | None], theirs: list[float | None], what: str) -> None:
    a = np.array([np.nan if v is None else v for v in ours], dtype=np.float64)
    b = np.array([np.nan if v is None else v for v in theirs], dtype=np.float64)
    assert a.shape == b.shape, what
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=what)
    np.testing.assert_allclose(a, b, rtol=0, atol=TOLERANCE, equal_nan=True, err_msg=what)


@pytest.mark.parametrize(("name", "case"), CASES, ids=[c["name"] for _, c in CASES])
def test_json_equals_r(name: str, case: dict[str, Any]) -> None:
    args = [str(FIXTURES / f"{name}.csv"), "--time", "time", "--status", "status", "--json"]
    if case["by"]:
        args += ["--by", ",".join(c.strip() for c in case["by"].split("+"))]
    if case.get("entry"):
        args += ["--entry", case["entry"]]
    if case.get("gray_strata"):
        args += ["--gray-strata", case["gray_strata"]]
    args += ["--times", ",".join(f"{t:g}" for t in case["times"])]
    args += ["--conf-level", str(case["conf_level"])]
    result = run(*args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [s["label"] for s in out["strata"]] == [s["label"] for s in case["strata"]]
    for ours, theirs in zip(out["strata"], case["strata"], strict=True):
        assert ours["n"] == theirs["n"]
        assert [str(c["cause"]) for c in ours["causes"]] == [c["cause"] for c in theirs["causes"]]
        for oc, tc in zip(ours["causes"], theirs["causes"], strict=True):
            for key, values in tc["table"].items():
                _close(oc["table"][key], values, f"{ours['label']} {oc['cause']} {key}")
            for key, values in tc["at_times"].items():
                _close([row[key] for row in oc["at_times"]], values, f"at {key}")
    expected_gray = case.get("gray_stratified", case.get("gray", []))
    if case.get("entry"):
        expected_gray = []  # cmprsk has no delayed entry: no test
    assert [str(g["cause"]) for g in out["gray"]] == [g["cause"] for g in expected_gray]
    for ours_g, r in zip(out["gray"], expected_gray, strict=True):
        assert ours_g["df"] == r["df"]
        assert ours_g["chisq"] == pytest.approx(r["chisq"], rel=1e-10, abs=1e-12)
        assert ours_g["p"] == pytest.approx(r["p"], rel=1e-10, abs=1e-12)


def test_json_is_the_api_to_dict() -> None:
    from netoutcomes.api.cif import cif

    path = FIXTURES / "pbc.csv"
    result = run(str(path), "--time", "time", "--status", "status", "--by", "sex", "--json")
    api = cif(path, time="time", status="status", by="sex")
    assert json.loads(result.stdout) == json.loads(json.dumps(api.to_dict()))


def test_human_output_reads_like_a_table() -> None:
    result = run(
        str(FIXTURES / "pbc.csv"), "--time", "time", "--status", "status",
        "--by", "stage", "--times", "1000",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Gray's test" in text and "stage=4" in text
    # pbc by stage, death: cmprsk's p is 3.9e-13 -> "< 0.001"; transplant: 0.552
    assert "< 0.001" in text and "0.552" in text
    assert "note: 6 rows dropped" in result.stderr


BAD = [
    (["--status", "bad"], "no column 'bad'"),
    (["--status", "sex"], "data row 1, column 'sex': status 'female' is not 0 (censored)"),
    (["--status", "status", "--times", "1,x"], "--times: 'x' is not a number"),
    (["--status", "status", "--conf-level", "1.5"], "--conf-level: 1.5 is not between"),
]


@pytest.mark.parametrize(("extra", "message"), BAD)
def test_bad_input_is_one_line_and_exit_2(extra: list[str], message: str) -> None:
    result = run(str(FIXTURES / "pbc.csv"), "--time", "time", *extra)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_bad_status_names_the_first_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("t,s\n1,0\n2,1\n3,2.5\n4,-1\n")
    result = run(str(path), "--time", "t", "--status", "s")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {path}: data row 3, column 's': status 2.5 is not 0 (censored) "
        "or a cause code 1, 2, ..."
    )


def test_help_does_not_import_numpy() -> None:
    # The command module is imported by `netoutcomes --help`: typer only.
    code = (
        "import sys; import netoutcomes.interfaces.cli.cmd_stats_cif; "
        "print('numpy' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_parquet_gives_the_csv_json(tmp_path: Path) -> None:
    import pandas as pd

    parquet = tmp_path / "pbc.parquet"
    pd.read_csv(FIXTURES / "pbc.csv").to_parquet(parquet)
    args = ["--time", "time", "--status", "status", "--by", "trt", "--times", "1000", "--json"]
    from_csv = run(str(FIXTURES / "pbc.csv"), *args)
    from_parquet = run(str(parquet), *args)
    assert from_parquet.exit_code == 0, from_parquet.output
    assert json.loads(from_parquet.stdout) == json.loads(from_csv.stdout)
