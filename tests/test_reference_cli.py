"""Every gen.R-format R reference, replayed through `netoutcomes stats ... --json`.

The way a reviewer checks the command line on a dataset held back from us: take a
block made by gen.R's ``km_case`` / ``logrank_case`` / ``cox_case``, read its R
``formula`` into a request, turn it into the command line (``tests/api/reference_replay.py``
holds the blocks, the one key map from API arguments to CLI options, and the checks
against R shared with tests/api/test_reference_api.py), run it and compare every
number R wrote, to 1e-6 relative.  Every block runs on the default backend (duckdb)
and on memory; a few on spark (``-m spark``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "api"))

from reference_replay import (  # noqa: E402
    BLOCKS,
    CHECKS,
    FIXTURES,
    REQUESTS,
    VARIANTS,
    Block,
    assert_same_json,
    cli_args,
    kind_of,
)

from netoutcomes.interfaces.cli.main import _register_commands, app  # noqa: E402

_register_commands()
runner = CliRunner()

BACKENDS = ("duckdb", "memory")  # duckdb is the default: it runs without --backend


def _cases(kind: str) -> list[Any]:
    return [
        pytest.param(b, v, backend, id=f"{b.id}:{v}:{backend}")
        for b in BLOCKS
        if kind_of(b) == kind
        for v in VARIANTS[kind]
        for backend in BACKENDS
    ]


def run_json(args: list[str], backend: str = "duckdb") -> dict[str, Any]:
    if backend != "duckdb":
        args = [*args, "--backend", backend]
    result = runner.invoke(app, ["stats", *args, "--json"])
    assert result.exit_code == 0, f"netoutcomes stats {' '.join(args)}\n{result.output}"
    return json.loads(result.stdout)


def args_for(block: Block, variant: str) -> list[str]:
    kind = kind_of(block)
    return cli_args(kind, block.csv, REQUESTS[kind](block, variant))


@pytest.mark.parametrize(("block", "conf_type", "backend"), _cases("km"))
def test_km(block: Block, conf_type: str, backend: str) -> None:
    CHECKS["km"](run_json(args_for(block, conf_type), backend), block, conf_type)


@pytest.mark.parametrize(("block", "rho", "backend"), _cases("logrank"))
def test_logrank(block: Block, rho: str, backend: str) -> None:
    CHECKS["logrank"](run_json(args_for(block, rho), backend), block, rho)


@pytest.mark.parametrize(("block", "ties", "backend"), _cases("cox"))
def test_cox(block: Block, ties: str, backend: str) -> None:
    CHECKS["cox"](run_json(args_for(block, ties), backend), block, ties)


# ---------------------------------------------------------------- the installed command

_INSTALLED = [
    ("more/r/retinopathy.json", "km_by_risk_code", "log"),
    ("more/r/gbsg.json", "logrank_hormon_strata_grade_meno", "1"),
    ("more/r/nwtco.json", "cox_histol_stage_age_subcohort", "efron"),
]


@pytest.mark.parametrize(
    ("source", "name", "variant"), _INSTALLED, ids=[f"{s}:{n}:{v}" for s, n, v in _INSTALLED]
)
def test_installed_command(source: str, name: str, variant: str) -> None:
    """A few blocks through ``.venv/bin/netoutcomes`` itself, as a reviewer runs it."""
    exe = Path(sys.executable).parent / "netoutcomes"
    if not exe.exists():
        pytest.skip("console script not installed")
    block = next(b for b in BLOCKS if b.source == source and b.name == name)
    proc = subprocess.run(
        [str(exe), "stats", *args_for(block, variant), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    CHECKS[kind_of(block)](json.loads(proc.stdout), block, variant)


@pytest.fixture(scope="module")
def spark_session() -> Any:
    """Created before the command runs, so its getOrCreate takes this small session."""
    sys.path.insert(0, str(Path(__file__).parent / "engine"))
    from local_spark import local_spark_session

    session = local_spark_session()
    yield session
    session.stop()


@pytest.mark.spark
@pytest.mark.parametrize(
    ("source", "name", "variant"), _INSTALLED, ids=[f"{s}:{n}:{v}" for s, n, v in _INSTALLED]
)
def test_spark_backend(spark_session: Any, source: str, name: str, variant: str) -> None:
    """A few blocks with ``--backend spark``: the same numbers as R."""
    block = next(b for b in BLOCKS if b.source == source and b.name == name)
    CHECKS[kind_of(block)](run_json(args_for(block, variant), "spark"), block, variant)


def test_every_reference_file_is_walked() -> None:
    """No gen.R-format file or block is silently left out of the replay."""
    sources = {b.source for b in BLOCKS}
    for path in (FIXTURES / "more" / "r").glob("*.json"):
        if "dataset" in json.loads(path.read_text()):
            assert str(path.relative_to(FIXTURES)) in sources, path
    for name in ("aml", "heart", "lung", "veteran", "km_more"):
        assert f"r/{name}.json" in sources
    kinds = [kind_of(b) for b in BLOCKS]
    assert kinds.count("km") >= 35 and kinds.count("logrank") >= 29 and kinds.count("cox") >= 35


_DEFAULT_VARIANT = {"km": "log", "logrank": "1", "cox": "efron"}


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_default_backend_json_is_the_memory_json(block: Block) -> None:
    """Not only close to R: the default (duckdb) output is the in-memory output, key
    for key (labels, group order, n_dropped), every number bit for bit for KM and
    log-rank (the same count tables) and to 1e-10 for Cox (the engine sums per time in
    SQL, in another order than the memory oracle)."""
    kind = kind_of(block)
    args = args_for(block, _DEFAULT_VARIANT[kind])
    assert_same_json(run_json(args), run_json(args, "memory"), 1e-10 if kind == "cox" else 0.0)
