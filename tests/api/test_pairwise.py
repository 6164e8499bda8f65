"""The pairwise log-rank bug of issue 9, through the API and the CLI.

A pair in which no group has an expected event, or only one group has, is
untestable; R's ``survdiff`` on the pair gives chisq 0, p 1, and ``p.adjust``
adjusts among the p-values there are.  R (survival 3.5, on each pair's rows):
a-b chisq 0, p 1; a-c chisq 0.2966965, p 0.5859609; b-c chisq 0, p 1; Holm and
BH 1, 1, 1.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

import netoutcomes as no
from netoutcomes.interfaces.cli.main import _register_commands, app

_register_commands()

REPRODUCER = "time,status,g\n5,1,a\n6,1,a\n9,0,a\n1,0,b\n2,0,b\n3,1,c\n4,1,c\n7,0,c\n"
R_PAIRS = [("g=a", "g=b", 0.0, 1.0), ("g=a", "g=c", 0.2966965, 0.5859609), ("g=b", "g=c", 0.0, 1.0)]


def _check(pairs: list[dict[str, object]]) -> None:
    assert [(p["group_a"], p["group_b"]) for p in pairs] == [(a, b) for a, b, _, _ in R_PAIRS]
    for p, (_, _, chisq, pv) in zip(pairs, R_PAIRS, strict=True):
        assert math.isclose(float(p["chisq"]), chisq, rel_tol=1e-6, abs_tol=1e-12)  # type: ignore[arg-type]
        assert math.isclose(float(p["p"]), pv, rel_tol=1e-6)  # type: ignore[arg-type]
        assert p["p_holm"] == pytest.approx(1.0) and p["p_bh"] == pytest.approx(1.0)


def test_reproducer_through_the_api(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(REPRODUCER)
    _check(no.survdiff(path, "time", "status", by="g", pairwise=True).to_dict()["pairwise"])


def test_reproducer_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(REPRODUCER)
    args = ["stats", "logrank", str(path), "--time", "time", "--event", "status", "--by", "g"]
    result = CliRunner().invoke(app, [*args, "--pairwise", "--json"])
    assert result.exit_code == 0, result.output
    _check(json.loads(result.stdout)["pairwise"])


def test_a_pair_without_a_p_value_changes_no_other_adjusted_p(tmp_path: Path) -> None:
    """Groups b, d and e have no events at all: their pairs' p is NaN (R: df 0). The other
    pairs' Holm and BH p-values are those of the p-values there are (statsmodels'
    multipletests, an independent implementation of R's p.adjust)."""
    from statsmodels.stats.multitest import multipletests

    rows = REPRODUCER + "8,0,d\n9,0,d\n10,0,e\n11,0,e\n"
    path = tmp_path / "r.csv"
    path.write_text(rows)
    pairs = no.survdiff(path, "time", "status", by="g", pairwise=True).to_dict()["pairwise"]
    missing = [p for p in pairs if p["p"] is None]
    untestable = [("g=b", "g=d"), ("g=b", "g=e"), ("g=d", "g=e")]
    assert [(p["group_a"], p["group_b"]) for p in missing] == untestable
    assert all(p["p_holm"] is None and p["p_bh"] is None for p in missing)
    present = [p for p in pairs if p["p"] is not None]
    raw = [float(p["p"]) for p in present]  # type: ignore[arg-type]
    holm = multipletests(raw, method="holm")[1]
    bh = multipletests(raw, method="fdr_bh")[1]
    for p, h, b in zip(present, holm, bh, strict=True):
        assert p["p_holm"] == pytest.approx(h, rel=1e-12)
        assert p["p_bh"] == pytest.approx(b, rel=1e-12)
