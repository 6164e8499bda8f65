"""Newton-Raphson's step halving against R's coxph (tests/fixtures/r/cox_mutation_newton.R).

Written for the mutation survivors of ``survival/cox_newton.py``: no R case of the other
Cox tests halves a step, so the halving, and the convergence test's ``not halving``,
could be changed unnoticed.  Each data set has one large covariate value, so the first
full Newton step overshoots.  ``at_iter`` is R's coefficient with ``iter.max = k``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from netoutcomes.survival.cox import (
    CoxData,
    centred,
    column_scale,
    cox_ph,
    fit_cox,
    scale_of,
    singular_columns,
)

REF = json.loads(
    (
        Path(__file__).resolve().parents[1] / "fixtures" / "r" / "cox_mutation_newton.json"
    ).read_text()
)


def data(name: str) -> CoxData:
    ref = REF[name]
    x = np.array(ref["x"], float)[:, None]
    return CoxData(x, np.array(ref["time"], float), np.array(ref["event"], float) == 1)


def after(name: str, ties: str, k: int) -> np.ndarray:
    """Our coefficient after k Newton iterations (centred as cox_ph and R centre)."""
    d = data(name)
    xc, _ = centred(d.x, None, counting=False)
    fitdata = CoxData(xc, d.time, d.event)
    return fit_cox(fitdata.sums_at, 1, ties, iter_max=k).coef  # type: ignore[arg-type]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("name", ["single", "double"])
def test_fit_with_halved_steps_is_r(name: str, ties: str) -> None:
    ref = REF[name][ties]
    fit = cox_ph(data(name), ["x"], ties)  # type: ignore[arg-type]
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=1e-9)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=1e-9)
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], ref["loglik"], rtol=1e-12)
    assert fit.warnings == ()


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_one_halving_takes_r_iterations_and_path(ties: str) -> None:
    # R: iteration 1 a full step to 0.37 (efron; accepted), iteration 2 a step to -0.13
    # that lowers the log-likelihood, so iteration 3 evaluates the midpoint 0.12 (R's
    # (newbeta + halving * beta) / (halving + 1) with halving = 1: the midpoint, as
    # ours), accepted; converged at iteration 6.
    ref = REF["single"][ties]
    assert cox_ph(data("single"), ["x"], ties).iterations == ref["iter"] == 6  # type: ignore[arg-type]
    at_iter = np.array(ref["at_iter"])
    rejected = 2  # R's coefficient at iter.max = 2 is still the one after iteration 1
    assert at_iter[rejected - 1] == at_iter[rejected - 2]
    for k in range(1, ref["iter"] + 1):
        if k != rejected:
            np.testing.assert_allclose(after("single", ties, k), at_iter[k - 1], rtol=1e-12)


def test_two_halvings_in_a_row_take_r_iterations() -> None:
    # R (survival >= 3, coxfit6.c) shortens a second rejected step in a row to
    # (newbeta + 2 beta) / 3 ('get more aggressive'); halving towards the last accepted
    # point each time took 8 iterations here where R takes 9 (the same coefficient).
    ref = REF["double"]["efron"]
    assert cox_ph(data("double"), ["x"], "efron").iterations == ref["iter"]


def test_out_of_iterations_on_a_rejected_step_is_r_last_accepted_point() -> None:
    # R's coxfit6.c, out of iterations, returns the last accepted point (its loglik
    # recomputed there), not the last point evaluated when that step lowered the
    # log-likelihood.
    ref = REF["single"]["efron"]
    np.testing.assert_allclose(after("single", "efron", 2), ref["at_iter"][1], rtol=1e-9)


SINGULAR = json.loads(
    (
        Path(__file__).resolve().parents[1] / "fixtures" / "r" / "cox_mutation_singular.json"
    ).read_text()
)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize(
    "design",
    [
        "sum_of_two",
        "constant_first",
        "collinear_then_more",
        "two_dropped",
        "constant_and_collinear",
    ],
)
def test_aliased_columns_as_r_cholesky2(design: str, ties: str) -> None:
    # s = a + 2b needs both earlier pivots to be found aliased; a constant column first,
    # or a dropped column in the middle, must leave the later pivots as they are
    ref = SINGULAR[design]
    d = {k: np.array(v, float) for k, v in SINGULAR["data"].items()}
    columns = list(ref["columns"])
    x = np.column_stack([d[c] for c in columns])
    fit = cox_ph(CoxData(x, d["time"], d["event"] == 1), columns, ties)  # type: ignore[arg-type]
    want = np.array([np.nan if v is None else v for v in ref[ties]["coef"]], float)
    np.testing.assert_array_equal(np.isnan(fit.coef), np.isnan(want))
    np.testing.assert_allclose(fit.coef, want, rtol=1e-9)
    np.testing.assert_allclose(fit.se, ref[ties]["se"], rtol=1e-9, atol=0)
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], ref[ties]["loglik"], rtol=1e-12)
    dropped = [c for c, v in zip(columns, want, strict=True) if np.isnan(v)]
    (warning,) = fit.warnings
    assert warning.startswith(f"singular design: covariate {', '.join(dropped)} is constant")


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_a_small_last_step_is_no_infinite_coefficient_as_r(ties: str) -> None:
    # Efron converges (loglik) while the next Newton step |u V| is still ~5e-9: above
    # eps (1e-9) but far below toler.inf |coef| (sqrt(1e-9) * 2.52 = 8e-5), so R does not
    # name the coefficient as possibly infinite; neither may we
    ref = REF["small_last_step"][ties]
    fit = cox_ph(data("small_last_step"), ["x"], ties)  # type: ignore[arg-type]
    assert ref["warnings"] == [] and fit.warnings == ()
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=1e-9)
    assert fit.iterations == ref["iter"]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_no_effect_converges_at_the_first_iteration_as_r(ties: str) -> None:
    # x = 0 and x = 1 die alike: the score at 0 is 0, the first step goes nowhere and the
    # log-likelihood is unchanged: converged at iteration 1 (R's fit$iter 1)
    ref = REF["symmetric"][ties]
    fit = cox_ph(data("symmetric"), ["x"], ties)  # type: ignore[arg-type]
    assert fit.iterations == ref["iter"] == 1
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=1e-12)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_a_covariate_on_a_tiny_scale_is_not_aliased_as_r(ties: str) -> None:
    # information ~1e-14: below toler.chol as an absolute bound, so cholesky2's bound
    # must be relative to the largest diagonal element (R's coef ~ -3.9e6)
    ref = REF["tiny_scale"][ties]
    fit = cox_ph(data("tiny_scale"), ["x"], ties)  # type: ignore[arg-type]
    assert fit.warnings == ()
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=1e-9)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=1e-9)
    assert fit.iterations == ref["iter"]


@pytest.mark.parametrize(
    "block", ["mixed_scales", "mixed_scales_weighted", "mixed_scales_counting"]
)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_a_column_on_a_much_smaller_scale_than_another_is_not_aliased_as_r(
    block: str, ties: str
) -> None:
    # R scales each column by sum(w) / sum(w |x - mean|) before cholesky2, so a column on a
    # scale 1e-7 of another's is fitted (coef ~ -6.6e6), not called aliased: toler.chol
    # relative to the largest diagonal of the unscaled information would drop it
    ref = SINGULAR[block]
    d = {k: np.array(v, float) for k, v in SINGULAR["data"].items()}
    x = np.column_stack([d[c] for c in ref["columns"]])
    entry = d["start"] if block.endswith("counting") else None
    weights = d["w"] if block.endswith("weighted") else None
    fit = cox_ph(
        CoxData(x, d["time"], d["event"] == 1, entry, weights),
        list(ref["columns"]),
        ties,  # type: ignore[arg-type]
    )
    assert fit.warnings == ()
    np.testing.assert_allclose(fit.coef, ref[ties]["coef"], rtol=1e-9)
    np.testing.assert_allclose(fit.se, ref[ties]["se"], rtol=1e-9)
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], ref[ties]["loglik"], rtol=1e-12)


FIRST = json.loads(
    (
        Path(__file__).resolve().parents[1] / "fixtures" / "r" / "cox_first_step_rejected.json"
    ).read_text()
)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_a_rejected_first_step_follows_r_path(ties: str) -> None:
    # Efron: R's first step from 0 lowers the log-likelihood, so iteration 2 evaluates
    # the midpoint (halving counts from 0: (newbeta + 1 * 0) / 2) and iter.max = 1
    # returns beta = 0; Breslow's first step is accepted and its third is rejected.
    ref = FIRST[ties]
    x = np.array(FIRST["x"])[:, None]
    time, event = np.array(FIRST["time"]), np.array(FIRST["event"]) == 1
    fit = cox_ph(CoxData(x, time, event), ["x"], ties)  # type: ignore[arg-type]
    assert fit.iterations == ref["iter"]
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=1e-12)
    xc, _ = centred(x, None, counting=False)
    centred_data = CoxData(xc, time, event)
    for k, expected in enumerate(ref["at_iter"], start=1):
        coef = fit_cox(centred_data.sums_at, 1, ties, iter_max=k).coef  # type: ignore[arg-type]
        np.testing.assert_allclose(coef, [expected], rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_a_nearly_collinear_column_after_a_constant_one_is_na_as_r(ties: str) -> None:
    # a3 = a + ~3e-7 noise: its pivot on the scaled information (~1.6e-10) is below
    # toler.chol times the largest diagonal (~2e-9), above toler.chol alone: R drops it,
    # and the constant k before it (spread 0: R's scale 1, not a division by 0)
    ref = SINGULAR["near_collinear"]
    d = {k: np.array(v, float) for k, v in ref["data"].items()}
    x = np.column_stack([d[c] for c in ref["columns"]])
    fit = cox_ph(CoxData(x, d["time"], d["event"] == 1), list(ref["columns"]), ties)  # type: ignore[arg-type]
    want = np.array([np.nan if v is None else v for v in ref[ties]["coef"]], float)
    np.testing.assert_array_equal(np.isnan(fit.coef), np.isnan(want))
    np.testing.assert_allclose(fit.coef, want, rtol=1e-9)
    np.testing.assert_allclose(fit.se, ref[ties]["se"], rtol=1e-9, atol=0)


def test_column_scale_by_hand() -> None:
    # R's coxfit6.c: scale = sum(w) / sum(w |x - weighted mean|); 1 for a -1/0/1 column
    # (not centred, not scaled) and for a constant one (spread 0: "rare case of a
    # constant covariate")
    x = np.array([[1.0, -1.0, 2.0], [2.0, 0.0, 2.0], [3.0, 1.0, 2.0], [6.0, 1.0, 2.0]])
    # column 0: mean 3, |x - 3| = 2, 1, 0, 3: 4 / 6; weights 1, 2, 1, 1: mean 14 / 5,
    # |x - 2.8| = 1.8, 0.8 (weight 2), 0.2, 3.2: 5 / (1.8 + 1.6 + 0.2 + 3.2) = 5 / 6.8
    np.testing.assert_allclose(scale_of(x, None), [4 / 6, 1.0, 1.0], rtol=1e-15)
    w = np.array([1.0, 2.0, 1.0, 1.0])
    np.testing.assert_allclose(scale_of(x, w), [5 / 6.8, 1.0, 1.0], rtol=1e-15)
    assert column_scale(4.0, np.array([0.0, 2.0]), np.array([False, True])).tolist() == [1.0, 1.0]


def test_the_pivot_bound_is_toler_chol_times_the_largest_diagonal() -> None:
    # R's cholesky2: eps = toler.chol * max(diag) whenever some diagonal is positive,
    # below 1 too; a pivot under eps is dropped (by hand on diagonal matrices, where the
    # pivots are the diagonal)
    tol = float(np.finfo(float).eps) ** 0.75  # coxph.control(toler.chol), ~1.8e-12
    assert singular_columns(np.diag([1e-3, 5e-15])) == []  # bound 1.8e-15
    assert singular_columns(np.diag([1e-3, 1e-15])) == [1]
    assert singular_columns(np.diag([1e3, 1e-9])) == [1]  # bound 1.8e-9
    assert singular_columns(np.diag([1e3, 3e-9])) == []
    assert 1e-15 < tol * 1e-3 < 5e-15 and 1e-9 < tol * 1e3 < 3e-9
    # with a scale, on the scaled matrix: diag (1e3, 1e-9) scaled by (1e-3, 1e3) is (1e-3, 1e-3)
    assert singular_columns(np.diag([1e3, 1e-9]), np.array([1e-3, 1e3])) == []


@pytest.mark.parametrize(
    ("field", "what"),
    [("rxx_risk", "information"), ("rx_risk", "score"), ("r_risk", "log-likelihood")],
)
def test_a_step_with_a_non_finite_information_or_score_is_shortened_as_r(
    field: str, what: str
) -> None:
    # R's coxfit6.c: a step whose score (notfinite = 2), information (3) or log-likelihood
    # (4) is not finite is "not converging": the next point is the midpoint
    # (newbeta + 1 * beta) / 2, as for a step that lowers the log-likelihood.  Worked on
    # the 'single' data (R's first full step is accepted, above) by making one sum at
    # the first step's point infinite: only the information (or the score) is then not
    # finite while the log-likelihood still is (and is better than at 0).
    d = data("single")
    xc, _ = centred(d.x, None, counting=False)
    plain = CoxData(xc, d.time, d.event)
    visited: list[float] = []

    def sums_at(beta: np.ndarray):  # type: ignore[no-untyped-def]
        sums = plain.sums_at(beta)
        visited.append(float(beta[0]))
        if len(visited) == 2:  # the first Newton step's point
            value = np.array(getattr(sums, field), dtype=float)
            value.flat[-1] = np.inf  # one sum at the last event time
            sums = replace(sums, **{field: value})
        return sums

    fit = fit_cox(sums_at, 1, "efron")  # type: ignore[arg-type]
    first_step = visited[1]
    assert first_step != 0.0
    # the step at 0 was the last accepted one: the third point is halfway to it
    assert visited[2] == pytest.approx(first_step / 2, rel=1e-15), what
    # and the fit still reaches R's maximum (by another path, so it stops at another
    # point within eps of it: the log-likelihood, flat there, is R's)
    ref = REF["single"]["efron"]
    assert fit.converged
    np.testing.assert_allclose(fit.loglik, ref["loglik"][1], rtol=1e-12)
