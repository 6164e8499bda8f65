"""R's answers for the kernels' edge cases (tests/fixtures/edges/survival_edges.R -> .json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

EDGES = Path(__file__).resolve().parents[1] / "fixtures" / "edges" / "survival_edges.json"
REF: dict[str, Any] = json.loads(EDGES.read_text())


def r_values(values: object) -> np.ndarray:
    """R's numbers as floats: null and "NA"/"NaN" become NaN, "Inf" infinity."""
    if not isinstance(values, list):
        values = [values]
    spelled = {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf, None: np.nan}
    return np.array(
        [spelled[v] if v is None or isinstance(v, str) else float(v) for v in values],
        dtype=np.float64,
    )


def assert_r(ours: object, r: object, what: str, rtol: float = 1e-10) -> None:
    """Equal to R (relative 1e-10 unless told), missing exactly where R's is missing,
    infinite exactly where R's is."""
    ref = r_values(r)
    got = np.atleast_1d(np.asarray(ours, dtype=np.float64))
    assert got.shape == ref.shape, f"{what}: {got.shape} values, R has {ref.shape}"
    assert np.array_equal(np.isnan(got), np.isnan(ref)), f"{what}: NaN at {got} vs R {ref}"
    assert np.array_equal(np.isinf(got), np.isinf(ref)), f"{what}: Inf at {got} vs R {ref}"
    ok = np.isfinite(ref)
    np.testing.assert_allclose(got[ok], ref[ok], rtol=rtol, atol=1e-13, err_msg=what)
