"""Every R reference block through the Python API, and the API's ``.to_dict()`` equal to
the CLI's ``--json`` bit for bit (tests/api/reference_replay.py: the blocks, the one
request -> API / CLI map, the checks against R)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from reference_replay import (
    BLOCKS,
    CHECKS,
    REQUESTS,
    VARIANTS,
    Block,
    api_json,
    assert_same_json,
    cli_args,
    kind_of,
)
from typer.testing import CliRunner

from netoutcomes.interfaces.cli.main import _register_commands, app

_register_commands()
runner = CliRunner()


def _cases() -> list[Any]:
    return [pytest.param(b, v, id=f"{b.id}:{v}") for b in BLOCKS for v in VARIANTS[kind_of(b)]]


@pytest.mark.parametrize(("block", "variant"), _cases())
def test_api_matches_r(block: Block, variant: str) -> None:
    kind = kind_of(block)
    CHECKS[kind](api_json(kind, block.csv, REQUESTS[kind](block, variant)), block, variant)


_FIRST_VARIANT = {"km": "log-log", "logrank": "1", "cox": "breslow"}


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_to_dict_is_the_cli_json(block: Block) -> None:
    """Equal as JSON text: the same keys in the same order and the same doubles.

    Cox runs on the memory backend here: DuckDB's parallel aggregates add the per-time
    sums in a different order from run to run, so two DuckDB fits of the same data can
    differ in the last bits (checked below to 1e-10)."""
    kind = kind_of(block)
    request = REQUESTS[kind](block, _FIRST_VARIANT[kind])
    if kind == "cox":
        request["backend"] = "memory"
    result = runner.invoke(app, ["stats", *cli_args(kind, block.csv, request), "--json"])
    assert result.exit_code == 0, result.output
    assert result.stdout == json.dumps(api_json(kind, block.csv, request), allow_nan=False) + "\n"


@pytest.mark.parametrize("block", [b for b in BLOCKS if kind_of(b) == "cox"], ids=lambda b: b.id)
def test_cox_to_dict_is_the_cli_json_on_duckdb(block: Block) -> None:
    request = REQUESTS["cox"](block, "efron")
    result = runner.invoke(app, ["stats", *cli_args("cox", block.csv, request), "--json"])
    assert result.exit_code == 0, result.output
    assert_same_json(json.loads(result.stdout), api_json("cox", block.csv, request), 1e-10)
