"""`netoutcomes stats km|logrank --json` on the fixture CSVs against R, and bad input -> exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from netoutcomes.interfaces.cli.main import _register_commands, app

sys.path.insert(0, str(Path(__file__).parent / "survival"))
from km_reference_cases import (  # noqa: E402
    DATA,
    EDGE_KM_CASES,
    KM_CASES,
    LOGRANK_CASES,
    MORE_KM_CASES,
    MORE_LOGRANK_CASES,
    KmCase,
    LogrankCase,
    assert_close,
    load_reference,
)

_register_commands()
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["stats", *args])


@pytest.fixture(params=["duckdb", "memory"])
def backend(request: pytest.FixtureRequest) -> list[str]:
    """Options choosing the backend: duckdb is the default (no option)."""
    return [] if request.param == "duckdb" else ["--backend", str(request.param)]


def run_json(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
@pytest.mark.parametrize("case", KM_CASES + EDGE_KM_CASES + MORE_KM_CASES, ids=lambda c: c.block)
def test_km_json_matches_r(case: KmCase, conf_type: str) -> None:
    ref = case.expected()
    out = run_json("km", *case.cli_args(), "--conf-type", conf_type)
    csv_rows = len((DATA / f"{case.dataset}.csv").read_text().splitlines()) - 1
    r_rows = sum(v["n"] for v in ref[f"summary_{conf_type}"].values())
    assert out["n_dropped"] == csv_rows - r_rows
    labels = [s["label"] for s in out["strata"]]
    assert labels == list(ref[f"km_{conf_type}"])
    for s in out["strata"]:
        r_table = ref[f"km_{conf_type}"][s["label"]]
        for key, values in r_table.items():
            got = [np.nan if v is None else v for v in s["table"][key]]
            assert_close(got, values, f"{s['label']} {key}")
        rows = [r for r in ref[f"at_times_{conf_type}"] if r["stratum"] == s["label"]]
        for key in ("time", "n_risk", "surv", "std_err", "lower", "upper"):
            got = [np.nan if a[key] is None else a[key] for a in s["at_times"]]
            assert_close(got, [r[key] for r in rows], f"{s['label']} at_times {key}")
        summary = ref[f"summary_{conf_type}"][s["label"]]
        for ours, theirs in [
            ("n", "n"),
            ("events", "events"),
            ("median", "median"),
            ("median_lower", "median_lower"),
            ("median_upper", "median_upper"),
            ("rmst", "rmean"),
            ("rmst_se", "rmean_se"),
        ]:
            got = np.nan if s[ours] is None else s[ours]
            assert_close(got, summary[theirs], f"{s['label']} {ours}")


@pytest.mark.parametrize("rho", ["0", "1"])
@pytest.mark.parametrize("case", LOGRANK_CASES + MORE_LOGRANK_CASES, ids=lambda c: c.block)
def test_logrank_json_matches_r(case: LogrankCase, rho: str) -> None:
    ref = case.expected()[f"rho_{rho}"]
    args = [str(DATA / f"{case.dataset}.csv"), "--time", "time", "--event", "event"]
    args += ["--by", case.by, "--rho", rho]
    if case.strata:
        args += ["--strata", case.strata]
    out = run_json("logrank", *args)
    assert out["groups"] == ref["groups"]
    assert out["df"] == ref["df"]
    for key in ("chisq", "p", "n", "observed", "expected"):
        assert_close(out[key], ref[key], key)


def test_two_group_differences_match_r() -> None:
    ref = load_reference("extra_survival")["two_sample_lung_sex"]
    out = run_json(
        "km", str(DATA / "lung.csv"), "--time", "time", "--event", "event", "--by", "sex",
        "--times", "365", "--tau", "730",
    )  # fmt: skip
    diff = out["difference"]
    assert diff["groups"] == ref["groups"]
    for ours, name in [(diff["surv_at_times"][0], "surv_diff"), (diff["rmst"], "rmst_diff")]:
        assert_close(ours["estimate"], ref[name], name)
        for key in ("se", "lower", "upper", "p"):
            assert_close(ours[key], ref[f"{name}_{key}"], f"{name}_{key}")


def test_event_coded_1_2_and_true_false_and_parquet(tmp_path: Path, backend: list[str]) -> None:
    import pyarrow.parquet as pq
    from pyarrow import csv as pa_csv

    aml = (DATA / "aml.csv").read_text().splitlines()
    as_12 = [aml[0]] + [line.replace(",1,", ",2,").replace(",0,", ",1,") for line in aml[1:]]
    as_tf = [aml[0]] + [line.replace(",1,", ",TRUE,").replace(",0,", ",FALSE,") for line in aml[1:]]
    base = run_json("km", str(DATA / "aml.csv"), "--time", "time", "--event", "event", *backend)
    for lines in (as_12, as_tf):
        path = write(tmp_path, "\n".join(lines) + "\n")
        assert run_json("km", path, "--time", "time", "--event", "event", *backend) == base
    parquet = tmp_path / "aml.parquet"
    pq.write_table(pa_csv.read_csv(DATA / "aml.csv"), parquet)
    assert run_json("km", str(parquet), "--time", "time", "--event", "event", *backend) == base


def test_trend_scores_match_r() -> None:
    # R: (c'(O - E))^2 / (c'Vc) from survdiff(~ celltype + strata(trt)), c = 1, 2, 4, 8
    ref = load_reference("extra_survival")["trend_veteran_celltype_strata_trt"]
    out = run_json(
        "logrank", str(DATA / "veteran.csv"), "--time", "time", "--event", "event",
        "--by", "celltype", "--strata", "trt", "--trend", "--scores", "1,2,4,8",
    )  # fmt: skip
    for key in ("z", "chisq", "p"):
        assert_close(out["trend"][key], ref[key], key)
    bad = run(
        "logrank", str(DATA / "veteran.csv"), "--time", "time", "--event", "event",
        "--by", "celltype", "--trend", "--scores", "1,2",
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "--scores: 2 scores for 4 groups" in bad.stderr


def test_table_mode_reports_dropped_rows_on_stderr() -> None:
    # lung has one row with ph_ecog missing: R's survfit drops it too
    args = ["--time", "time", "--event", "event", "--by", "ph_ecog"]
    result = run("km", str(DATA / "lung.csv"), *args)
    assert result.exit_code == 0
    assert "Kaplan-Meier" in result.stdout
    assert "ph_ecog=3" in result.stdout
    assert "1 row dropped" in result.stderr


def test_logrank_trend_and_pairwise_in_json() -> None:
    out = run_json(
        "logrank", str(DATA / "veteran.csv"), "--time", "time", "--event", "event",
        "--by", "celltype", "--trend", "--pairwise",
    )  # fmt: skip
    assert len(out["pairwise"]) == 6
    assert out["trend"]["scores"] == [1.0, 2.0, 3.0, 4.0]


def write(tmp_path: Path, text: str, name: str = "d.csv") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize(
    ("text", "extra", "message"),
    [
        ("t,e\n1,1\n-2,0\n", [], "data row 2, column 't': time -2 is negative"),
        ("t,e\n1,1\n5,0\n-3,0\n-2,0\n-3,1\n", [], "data row 3, column 't': time -3 is"),
        ("t,e\n1,1\n2,yes\n3,no\n", [], "data row 2, column 'e': event value 'yes' is not"),
        ("t,e\n1,1\nabc,0\n", [], "data row 2, column 't': 'abc' is not a number"),
        ("t,e\n1,1\n2,5\n", [], "data row 2, column 'e': event value 5 is not 0/1"),
        (
            "t,e,a\n1,1,0\n2,0,2\n",
            ["--entry", "a"],
            "data row 2, column 'a': entry 2 is not before",
        ),
        ("", [], "is empty"),
        ("t,e\n1,1\n2,0,5\n3,1\n", [], "cannot read the "),
        ("t,e\n", [], "no data rows"),
        ("t,e\n1,1\n", ["--by", "sex"], "no column 'sex'; the columns are: t, e"),
        ("t,e\n1,1\n", ["--conf-level", "95"], "--conf-level: 95 is not between 0 and 1"),
        ("t,e\n1,1\n", ["--times", "1,x"], "--times: 'x' is not a number"),
        ("t,e,g\n1,1,a\n", ["--by", "g,"], "--by: 'g,' has an empty column name"),
        ("t,e,g\n1,1,a\n", ["--by", "g,g"], "--by: 'g,g' names a column twice"),
    ],
)
def test_km_bad_input_one_line_exit_2(
    tmp_path: Path,
    text: str,
    extra: list[str],
    message: str,
    backend: list[str],
) -> None:
    result = run("km", write(tmp_path, text), "--time", "t", "--event", "e", *extra, *backend)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_missing_file_and_unknown_type_exit_2(tmp_path: Path, backend: list[str]) -> None:
    for path, message in [
        (write(tmp_path, "t,e,g\n1,1,a\n2,0,a\n"), "column 'g' has only one value (g=a)"),
        (str(tmp_path / "nope.csv"), "file not found"),
        (write(tmp_path, "t,e\n1,1\n", "d.txt"), "unknown file type '.txt'"),
    ]:
        result = run("logrank", path, "--time", "t", "--event", "e", "--by", "g", *backend)
        assert result.exit_code == 2
        assert message in result.stderr
        assert "Traceback" not in result.output


def test_installed_command_bad_input_exit_2_without_traceback(tmp_path: Path) -> None:
    import subprocess

    exe = Path(sys.executable).parent / "netoutcomes"
    if not exe.exists():
        pytest.skip("console script not installed")
    bad = write(tmp_path, "t,e\n1,1\n2,7\n")
    proc = subprocess.run(
        [str(exe), "stats", "km", bad, "--time", "t", "--event", "e", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"error: {bad}: data row 2, column 'e': event value 7 is not 0/1 "
        "(TRUE/FALSE, or 1/2 throughout meaning censored/event, are also accepted)"
    ]


@pytest.mark.parametrize("backend_name", ["duckdb", "memory"])
def test_text_codes_sort_as_r_and_quoted_numbers_stay_text(
    tmp_path: Path, backend_name: str
) -> None:
    # Quoted "10", "9" were a character column in R (write.csv quotes only those;
    # docs/statistics.md): R's factor levels "10", "9".  yes/no is text, not logical.
    # <=20 / >50 / 20-50: R's levels(factor(...)) order, checked with Rscript.
    text = (
        "t,e,q,yn,band\n"
        '1,1,"10",yes,<=20\n2,0,"9",no,>50\n3,1,"10",no,20-50\n4,1,"9",yes,<=20\n'
        '5,0,"10",yes,>50\n6,1,"9",no,20-50\n'
    )
    path = write(tmp_path, text)
    options = ["--time", "t", "--event", "e", "--backend", backend_name]
    labels = {
        col: [s["label"] for s in run_json("km", path, *options, "--by", col)["strata"]]
        for col in ("q", "yn", "band")
    }
    assert labels["q"] == ["q=10", "q=9"]
    assert labels["yn"] == ["yn=no", "yn=yes"]
    assert labels["band"] == ["band=<=20", "band=>50", "band=20-50"]


def test_parquet_types_give_the_memory_json_on_duckdb(tmp_path: Path) -> None:
    """Parquet carries its types (int, double, bool, string, dictionary): the engine
    must label and order them exactly as the memory path (the oracle) does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(3)
    n = 60
    table = pa.table(
        {
            "time": pa.array(rng.integers(1, 20, n).astype(float)),
            "days": pa.array(rng.integers(1, 20, n), pa.int32()),
            "ev": pa.array(rng.random(n) < 0.6),
            "code": pa.array([str(v) for v in rng.choice([1, 2, 10], n)]),
            "cat": pa.array(rng.choice(["b", "a", "C"], n).tolist()).dictionary_encode(),
            "dose": pa.array([None if v == 0 else float(v) / 2 for v in rng.integers(0, 3, n)]),
            "big": pa.array(rng.choice([100000.0, 2.0], n)),
        }
    )
    path = str(tmp_path / "types.parquet")
    pq.write_table(table, path)
    for time in ("time", "days"):
        for by in ("code", "cat", "dose", "big", "code,cat", "ev"):
            args = ["km", path, "--time", time, "--event", "ev", "--by", by]
            assert run_json(*args) == run_json(*args, "--backend", "memory"), (time, by)


def _random_csv(rng: np.random.Generator) -> str:
    """A small CSV with what readers disagree on: quoted numeric codes, NA and empty
    cells, yes/no text, TRUE/FALSE or 1/2 events, decimals, 1e+05, and now and then
    a bad value (a negative time, an entry not before the exit, an event code 3)."""
    n = int(rng.integers(8, 30))
    coding = rng.choice(["01", "tf", "12"])
    events = {"01": ("0", "1"), "tf": ("FALSE", "TRUE"), "12": ("1", "2")}[str(coding)]
    quoted = bool(rng.random() < 0.5)
    lines = ["t,e,a,q,yn,d"]
    for _ in range(n):
        t = float(rng.integers(1, 12)) + (0.5 if rng.random() < 0.2 else 0.0)
        a = "NA" if rng.random() < 0.05 else f"{max(0.0, t - float(rng.integers(1, 4))):g}"
        code = str(rng.choice(["9", "10", "2"]))
        q = "" if rng.random() < 0.05 else (f'"{code}"' if quoted else code)
        yn = str(rng.choice(["yes", "no"]))
        d = str(rng.choice(["1e+05", "2", "NA"] if rng.random() < 0.3 else ["100000", "2"]))
        lines.append(f"{t:g},{events[int(rng.random() < 0.6)]},{a},{q},{yn},{d}")
    if rng.random() < 0.3:  # one bad value, somewhere after the first row
        i = int(rng.integers(2, len(lines)))
        fields = lines[i].split(",")
        which = int(rng.integers(0, 3))
        fields[which] = ["-1", "3", "50"][which]
        lines[i] = ",".join(fields)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(12))
def test_random_csv_same_output_on_duckdb_as_memory(tmp_path: Path, seed: int) -> None:
    """Exit code, stdout and stderr of the default backend equal the memory path's."""
    path = write(tmp_path, _random_csv(np.random.default_rng(seed)))
    base = ["--time", "t", "--event", "e"]
    for args in (
        ["km", path, *base, "--by", "q,yn", "--times", "3,6"],
        ["km", path, *base, "--entry", "a", "--by", "d"],
        ["logrank", path, *base, "--by", "yn", "--strata", "q"],
    ):
        duck, memory = run(*args, "--json"), run(*args, "--json", "--backend", "memory")
        assert (duck.exit_code, duck.stdout, duck.stderr) == (
            memory.exit_code,
            memory.stdout,
            memory.stderr,
        ), args


def test_progress_never_writes_stdout_and_is_silent_off_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The spinner is for people at a terminal: on a pipe or file it draws nothing, and
    it never writes on stdout (where --json goes)."""
    import time as clock

    from netoutcomes.interfaces.cli.cli_support import progress

    with progress("working", delay=0.0):
        clock.sleep(0.2)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize("by", [[], ["--by", "ph_ecog"], ["--by", "sex"]])
def test_stats_km_imports_no_scipy(by: list[str]) -> None:
    """The curves' normal quantile is the standard library's (R's qnorm bit for bit,
    tests/survival/test_km_quantile.py) and so is the two-group difference's p
    (math.erfc): `stats km` loads no scipy (~0.1 s of start-up)."""
    import subprocess

    args = ["stats", "km", str(DATA / "lung.csv"), "--time", "time", "--event", "event", *by]
    code = (
        "import sys\n"
        f"sys.argv = ['netoutcomes', *{args!r}]\n"
        "from netoutcomes.interfaces.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('SCIPY', 'scipy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "Kaplan-Meier" in out.stdout and "SCIPY False" in out.stdout, out.stdout + out.stderr
