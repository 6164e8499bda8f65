"""R's ``fit$concordance`` (value and std) through ``cox_on`` on every backend.

Reference: tests/engine/r/concordance_se.R (survival 3.5.3) -> concordance_se.json:
lung (age + sex + ph_ecog, with case weights 1, 2, 3 repeating, and age + sex
clustered on inst), veteran with
strata and with Breslow ties, and heart as (start, stop] data.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from engine_reference import FIXTURES

from netoutcomes.engine.analysis import cox_on
from netoutcomes.survival.model_spec import CoxSpec, DesignColumn

REFERENCE = json.loads((Path(__file__).parent / "r" / "concordance_se.json").read_text())
DATA = FIXTURES / "data"


def _numeric(*names: str) -> tuple[DesignColumn, ...]:
    return tuple(DesignColumn(c, c, ((c, None),)) for c in names)


def _factor(column: str, levels: tuple[str, ...]) -> tuple[DesignColumn, ...]:
    return tuple(DesignColumn(f"{column}{lv}", column, ((column, lv),)) for lv in levels)


LUNG = CoxSpec("time", "event", _numeric("age") + _factor("sex", ("male",)) + _numeric("ph_ecog"))
VETERAN = _factor("trt", ("test",)) + _numeric("karno")


def _weighted_lung(tmp_path: Path) -> Path:
    rows = list(csv.DictReader((DATA / "lung.csv").open()))
    path = tmp_path / "lung_w.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*rows[0], "w"])
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow({**row, "w": 1 + i % 3})
    return path


def _case(name: str, tmp_path: Path) -> tuple[Path, CoxSpec]:
    if name == "lung_age_sex_ecog":
        return DATA / "lung.csv", LUNG
    if name == "lung_weighted":
        return _weighted_lung(tmp_path), replace(LUNG, weights="w")
    if name == "lung_cluster_inst":
        return DATA / "lung.csv", replace(LUNG, columns=LUNG.columns[:2], cluster="inst")
    if name == "veteran_strata":
        return DATA / "veteran.csv", CoxSpec("time", "event", VETERAN, strata=("celltype",))
    if name == "veteran_breslow":
        cells = _factor("celltype", ("large", "smallcell", "squamous"))
        return DATA / "veteran.csv", CoxSpec("time", "event", VETERAN + cells, ties="breslow")
    columns = _numeric("age", "year", "surgery", "transplant")
    return DATA / "heart.csv", CoxSpec("stop", "event", columns, entry="start")


NAMES = [k for k in REFERENCE if not k.endswith("version")]


@pytest.mark.parametrize("name", NAMES)
def test_concordance_and_its_std_equal_r(
    backend: str, spark_if_needed: Any, tmp_path: Path, name: str
) -> None:
    path, spec = _case(name, tmp_path)
    got = cox_on(path, spec, backend=backend).concordance  # type: ignore[arg-type]
    r = REFERENCE[name]
    assert got.concordance == pytest.approx(r["concordance"], rel=1e-12)
    assert got.std_err == pytest.approx(r["std"], rel=1e-10)
    assert (got.concordant, got.discordant, got.tied_x) == pytest.approx(
        (r["concordant"], r["discordant"], r["tied_x"]), rel=1e-12
    )


def test_counts_equal_the_survival_kernel_on_random_data() -> None:
    # concordance_with_se counts the pairs itself (from its per-event query); the
    # survival.concordance kernel (checked against R in tests/survival) must agree:
    # tied times and scores, delayed entry, strata, weights.
    import numpy as np

    from netoutcomes.engine.concordance_se import concordance_with_se
    from netoutcomes.survival.concordance import concordance

    rng = np.random.default_rng(1)
    for trial in range(40):
        n = int(rng.integers(5, 300))
        time = rng.integers(1, 20, n).astype(float)
        event = rng.random(n) < 0.6
        score = np.round(rng.normal(size=n), 1)
        entry = None
        if trial % 2:
            entry = time - rng.integers(1, 5, n)
            entry = np.where(entry < 0, -1.0, entry)
        strata = rng.integers(0, 3, n) if trial % 3 == 0 else None
        weights = rng.random(n) * 3 if trial % 5 == 0 else None
        want = concordance(time, event, score, entry, strata, weights)
        got = concordance_with_se(time, event, score, entry, strata, weights)
        assert (got.concordant, got.discordant, got.tied_x, got.tied_y) == pytest.approx(
            (want.concordant, want.discordant, want.tied_x, want.tied_y), rel=1e-12, abs=1e-12
        ), trial
        assert got.concordance == pytest.approx(want.concordance, rel=1e-12, nan_ok=True)


@pytest.mark.spark
@pytest.mark.parametrize("name", ["lung_cluster_inst", "heart_counting"])
def test_spark_pull_in_chunks_equals_r(
    spark_session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """On Spark the concordance's rows come in chunks (hash of the risk score mod k) so
    the JVM never holds them all; with chunks of 17 rows every row must still come once."""
    from netoutcomes.engine import cox_after

    monkeypatch.setattr(cox_after, "PULL_ROWS", 17)
    path, spec = _case(name, tmp_path)
    got = cox_on(path, spec, backend="spark").concordance
    r = REFERENCE[name]
    assert got.concordance == pytest.approx(r["concordance"], rel=1e-12)
    assert got.std_err == pytest.approx(r["std"], rel=1e-10)
