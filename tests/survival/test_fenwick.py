"""The helper kernels of ``survival.fenwick`` against numpy's own answers.

The sweeps are checked through ``survival.concordance`` (against the loop oracle in
concordance_reference.py) and ``engine.concordance_se`` (against a pair-by-pair
count); these are the two helpers they rely on for the order and the ranks.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from netoutcomes.survival import fenwick
from netoutcomes.survival.concordance import CodeLookup


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 60), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_stable_order_by_code_is_a_stable_sort_by_code(n: int, n_codes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    code = rng.integers(0, n_codes, n)
    order = rng.permutation(n)
    got, starts = fenwick.stable_order_by_code(order, code, n_codes)
    expected = order[np.argsort(code[order], kind="stable")]
    assert got.tolist() == expected.tolist()
    assert starts.tolist() == [0, *np.cumsum(np.bincount(code, minlength=n_codes)).tolist()]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([-1.5, -0.0, 0.0, 0.25, 3.0, 1e300]), max_size=40))
def test_dense_ranks_equal_numpy_unique_inverse(values: list[float]) -> None:
    x = np.array(values, dtype=np.float64)
    rank, n_ranks = fenwick.dense_ranks(x, np.argsort(x))
    uniques, inverse = np.unique(x, return_inverse=True)
    assert rank.tolist() == inverse.tolist()
    assert n_ranks == uniques.size


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from([-1.5, -0.0, 0.0, 0.25, 3.0, 1e300, -7e-300]), max_size=40),
    st.integers(0, 8),
)
def test_hashed_dense_ranks_equal_numpy_unique_inverse(values: list[float], most: int) -> None:
    x = np.array(values, dtype=np.float64)
    rank, n_ranks = fenwick.dense_ranks_hashed(x, x.view(np.uint64), most)
    uniques, inverse = np.unique(x, return_inverse=True)
    if uniques.size > most:  # more distinct values than the table takes: no ranks
        assert n_ranks == -1
    else:
        assert rank.tolist() == inverse.tolist()
        assert n_ranks == uniques.size


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from([-3.0, -0.0, 1.0, 2.0, 7.0, 40.0, 2.5, 1e9]), min_size=1, max_size=8),
    st.integers(0, 2**32 - 1),
)
def test_code_lookup_equals_searchsorted(pool: list[float], seed: int) -> None:
    # Integer times in a small range take the table; 2.5 or 1e9 in the pool do not.
    distinct = np.unique(np.array(pool))
    values = np.random.default_rng(seed).choice(distinct, 30)
    for needles in (values, np.append(values, 3.0)):  # 3.0 not among the distinct: fall back
        got = np.zeros(needles.size, np.int32)
        CodeLookup(distinct)(needles, got)
        assert got.tolist() == np.searchsorted(distinct, needles).tolist()
