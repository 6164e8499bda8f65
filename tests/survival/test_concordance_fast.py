"""The vectorised concordance against the first, loop-per-row implementation.

``concordance_reference.py`` is that implementation verbatim (a Fenwick tree
swept over the event times, one Python step per row and per event, checked
against R's ``fit$concordance`` by the Cox fixture tests when it was the
package's).  The data here are built to hit every rule: few distinct times
(events tied with events and with censorings), few distinct scores (ties on x),
delayed entry at other rows' event times, strata and non-integer weights.
Weights are multiples of 1/8, so every sum in both implementations is exact in
float64 and the counts must agree to the last bit (checked to 1e-12 relative);
one seeded case with arbitrary float weights is checked to 1e-12 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
from concordance_reference import concordance as reference_concordance
from hypothesis import given, settings
from hypothesis import strategies as st

from netoutcomes.survival import concordance as concordance_module
from netoutcomes.survival.concordance import Concordance, concordance

FIELDS = ("concordant", "discordant", "tied_x", "tied_y")


def assert_same(ours: Concordance, reference: Concordance, rtol: float = 1e-12) -> None:
    for field in FIELDS:
        assert getattr(ours, field) == pytest.approx(
            float(getattr(reference, field)), rel=rtol, abs=0.0
        ), field
    if np.isnan(reference.concordance):
        assert np.isnan(ours.concordance)
    else:
        assert ours.concordance == pytest.approx(reference.concordance, rel=rtol, abs=0.0)


@st.composite
def survival_rows(draw: st.DrawFn) -> dict[str, np.ndarray | None]:
    n = draw(st.integers(1, 40))
    n_times = draw(st.integers(1, 6))
    n_scores = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    time = rng.integers(1, n_times + 1, n).astype(np.float64)
    event = rng.random(n) < draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))
    # Scores on a coarse grid of a few values: many ties on x, negative ones too.
    score = (rng.integers(0, n_scores, n) - 1.0) * 0.25
    entry = None
    if draw(st.booleans()):
        # Entries at 0, at earlier (event) times or at half-steps; always before exit.
        back = rng.integers(1, n_times + 1, n) * draw(st.sampled_from([0.5, 1.0]))
        entry = np.maximum(time - back, -1.0)
    strata = rng.integers(0, draw(st.integers(1, 3)), n) if draw(st.booleans()) else None
    weights = rng.integers(1, 25, n) / 8.0 if draw(st.booleans()) else None
    return {
        "time": time,
        "event": event,
        "risk_score": score,
        "entry": entry,
        "strata": strata,
        "weights": weights,
    }


@settings(max_examples=300, deadline=None)
@given(survival_rows())
def test_matches_reference_on_tied_data(rows: dict[str, np.ndarray | None]) -> None:
    assert_same(concordance(**rows), reference_concordance(**rows))  # type: ignore[arg-type]


def test_matches_reference_on_20000_rows() -> None:
    rng = np.random.default_rng(20251125)
    n = 20_000
    time = rng.integers(1, 400, n).astype(np.float64)
    entry = np.where(rng.random(n) < 0.5, 0.0, np.floor(time * rng.random(n)) - 0.5)
    event = rng.random(n) < 0.6
    # Half the scores continuous, half on a grid (ties on x); arbitrary float weights.
    score = np.where(rng.random(n) < 0.5, rng.normal(size=n), rng.integers(0, 20, n) / 4.0)
    strata = rng.integers(0, 4, n)
    weights = rng.uniform(0.2, 3.0, n)
    args = (time, event, score, entry, strata, weights)
    ours, reference = concordance(*args), reference_concordance(*args)
    assert ours.tied_x > 0 and ours.tied_y > 0
    assert_same(ours, reference)


def test_ranked_by_sorting_when_the_scores_are_many(monkeypatch: pytest.MonkeyPatch) -> None:
    # Beyond HASHED_RANKS distinct scores the ranks come from sorting the scores.
    monkeypatch.setattr(concordance_module, "HASHED_RANKS", 3)
    rng = np.random.default_rng(7)
    n = 300
    time = rng.integers(1, 30, n).astype(np.float64)
    entry = np.where(rng.random(n) < 0.5, 0.0, time - rng.integers(1, 4, n) * 0.5)
    args = (time, rng.random(n) < 0.6, rng.integers(0, 40, n) / 4.0, entry, rng.integers(0, 3, n))
    assert_same(concordance(*args), reference_concordance(*args))


@settings(max_examples=60, deadline=None)
@given(survival_rows())
def test_strata_labels_of_any_kind(rows: dict[str, np.ndarray | None]) -> None:
    # The strata are labels: large, negative, fractional or text labels of the same
    # grouping give the reference's counts for the small codes 0..k-1.
    codes = rows["strata"]
    if codes is None:
        codes = np.zeros(rows["time"].size, np.int64)
    base = {**rows, "strata": codes}
    want = reference_concordance(**base)
    relabelled = (codes * 1000 + 7, -codes - 1, codes + 0.5, np.array([f"s{c}" for c in codes]))
    for labels in relabelled:
        assert_same(concordance(**{**rows, "strata": labels}), want)


def test_no_events_and_single_row() -> None:
    time = np.array([1.0, 2.0])
    none = concordance(time, np.array([False, False]), np.array([0.0, 1.0]))
    assert (none.concordant, none.discordant, none.tied_x, none.tied_y) == (0, 0, 0, 0)
    assert np.isnan(none.concordance)
    one = concordance(np.array([1.0]), np.array([True]), np.array([0.3]))
    assert (one.concordant, one.discordant, one.tied_x, one.tied_y) == (0, 0, 0, 0)


def test_worked_example_by_hand() -> None:
    # Times 1 (event, x=2), 2 (event, x=1), 2 (censored, x=3), 3 (event, x=1).
    # t=1: the event (x=2) vs rows at 2, 2, 3 with x 1, 3, 1: concordant 2, discordant 1.
    # t=2: the event (x=1) vs the censored row at 2 (x=3): discordant; vs row at 3 (x=1): tie.
    # t=3: nobody else at risk.
    result = concordance(
        np.array([1.0, 2.0, 2.0, 3.0]),
        np.array([True, True, False, True]),
        np.array([2.0, 1.0, 3.0, 1.0]),
    )
    assert (result.concordant, result.discordant, result.tied_x, result.tied_y) == (2, 2, 1, 0)
    assert result.concordance == pytest.approx(2.5 / 5)


def test_entry_not_before_exit_is_rejected() -> None:
    with pytest.raises(ValueError, match="entry < time"):
        concordance(np.array([1.0, 2.0]), np.array([True, True]), np.zeros(2), np.array([0.0, 2.0]))
