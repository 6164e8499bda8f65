"""The normal quantile behind every interval (``survival.km.z_value``) against R's qnorm.

R's ``qnorm`` is Wichura's AS241; so is ``statistics.NormalDist.inv_cdf``, which
``normal_quantile`` uses.  The reference (``tests/fixtures/r/qnorm.json``, made by
``qnorm.R`` beside it) holds R's values on 2,999 probabilities, tails included;
they must agree to the bit, not to a tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from netoutcomes.survival.km import normal_quantile, z_value

REFERENCE = Path(__file__).parents[1] / "fixtures" / "r" / "qnorm.json"


def _reference() -> tuple[np.ndarray, np.ndarray]:
    ref = json.loads(REFERENCE.read_text())
    return np.array(ref["p"], dtype=np.float64), np.array(ref["qnorm"], dtype=np.float64)


def test_normal_quantile_is_r_qnorm_bit_for_bit() -> None:
    p, expected = _reference()
    got = np.array([normal_quantile(float(x)) for x in p])
    assert p.size == 2999 and p.min() < 1e-250 and p.max() > 1 - 1e-15
    assert got.view(np.int64).tolist() == expected.view(np.int64).tolist()


def test_z_value_is_r_qnorm_bit_for_bit() -> None:
    p, expected = _reference()
    # z_value(level) is qnorm(1 - (1 - level) / 2): invert that map where it is exact
    # (p >= 0.5 gives level = 2p - 1 exactly); elsewhere compare the quantile itself.
    upper = p >= 0.5
    levels = 2.0 * p[upper] - 1.0
    exact = (1.0 - (1.0 - levels) / 2.0) == p[upper]
    got = np.array([z_value(float(c)) for c in levels[exact & (levels > 0)]])
    want = expected[upper][exact & (levels > 0)]
    assert got.size > 1000
    assert got.view(np.int64).tolist() == want.view(np.int64).tolist()


@pytest.mark.parametrize(
    ("level", "r_qnorm"),
    [  # R: sprintf("%.17g", qnorm(1 - (1 - level) / 2))
        (0.8, 1.2815515655446008),
        (0.9, 1.6448536269514715),
        (0.95, 1.9599639845400536),
        (0.99, 2.5758293035488999),
        (0.999, 3.2905267314919255),
    ],
)
def test_z_value_common_levels(level: float, r_qnorm: float) -> None:
    assert z_value(level) == r_qnorm
