"""``api.plain``: what ``.to_dict()`` and ``--json`` turn numpy values into (worked by hand)."""

from __future__ import annotations

import json

import numpy as np

from netoutcomes.api.plain import plain


def test_float_arrays_keep_their_values_and_non_finite_becomes_none() -> None:
    x = np.array([1.0, np.nan, np.inf, -np.inf, -0.0, 0.1, 2.0])
    out = plain(x)
    assert out == [1.0, None, None, None, 0.0, 0.1, 2.0]
    none = type(None)
    assert [type(v) for v in out] == [float, none, none, none, float, float, float]
    assert json.dumps(out) == "[1.0, null, null, null, -0.0, 0.1, 2.0]"  # whole floats stay 2.0


def test_integer_and_boolean_arrays_become_python_ints_and_bools() -> None:
    assert json.dumps(plain(np.array([3, 0, -2], dtype=np.int64))) == "[3, 0, -2]"
    assert json.dumps(plain(np.array([7], dtype=np.uint8))) == "[7]"
    assert json.dumps(plain(np.array([True, False]))) == "[true, false]"
    assert json.dumps(plain(np.array([0.5], dtype=np.float32))) == "[0.5]"


def test_nested_and_other_values() -> None:
    value = {
        "grid": np.array([[1.0, np.nan], [2.0, 3.0]]),
        "labels": np.array(["a", "b"]),
        "mixed": (np.float64(np.inf), np.int32(4), np.bool_(True), "x", None, np.zeros(0)),
    }
    assert json.dumps(plain(value)) == (
        '{"grid": [[1.0, null], [2.0, 3.0]], "labels": ["a", "b"], '
        '"mixed": [null, 4, true, "x", null, []]}'
    )
