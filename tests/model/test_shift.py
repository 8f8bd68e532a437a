"""The common shift of the biases against the items held at an end of the scale."""

import warnings

import numpy as np
import pytest
from scipy import stats

from skem import AnnotatorEM, HardAnnotatorEM
from skem._model.shift import (
    _estimate_common_shift,
    _held_items,
    _kernel_held_objective,
    _kernel_shift_free_locations,
    _kernel_shift_moments,
)
from skem.datasets import make_ratings
from tests._helpers import _backend, _fit_quietly, _ratings


def _held_example():
    """5 items by 3 annotators; item 1 held at the top, item 3 at the bottom."""
    X = np.array(
        [
            [0.40, 0.45, 0.55],
            [0.97, 0.99, 0.93],
            [0.62, 0.50, 0.70],
            [0.05, 0.01, 0.08],
            [0.30, np.nan, 0.35],
        ]
    )
    item, annotator = np.nonzero(~np.isnan(X))
    ratings = _ratings(item, annotator, X[item, annotator], *X.shape)
    location = np.array([0.45, 1.0, 0.6, 0.0, 0.32])
    bias = np.array([0.02, -0.01, 0.03])
    sigma = np.array([0.05, 0.08, 0.06])
    weights = np.array([1.0, 0.7, 0.4])
    return X, ratings, location, bias, sigma, weights


def _loop_held_objective(X, location, bias, sigma, weights, shift):
    """sum of w log TruncNormal over the ratings of the held items, by loops."""
    total = 0.0
    for i, a in zip(*np.nonzero(~np.isnan(X)), strict=True):
        if 0.0 < location[i] < 1.0:
            continue
        centre, scale = location[i] + bias[a] + shift, sigma[a]
        total += weights[a] * stats.truncnorm.logpdf(
            X[i, a], -centre / scale, (1.0 - centre) / scale, centre, scale
        )
    return total


def test_held_items_are_those_at_an_end_of_the_unit_range():
    location = np.array([0.0, 1e-300, 0.5, 1.0 - 1e-16, 1.0, np.nan])
    np.testing.assert_array_equal(
        _held_items(location), [True, False, False, False, True, False]
    )


def test_held_objective_is_the_truncated_normal_of_the_held_ratings():
    X, ratings, location, bias, sigma, weights = _held_example()
    data = _backend(ratings, location, bias, sigma)
    for shift in (0.0, 0.03, -0.02):
        got = data.reduce(_kernel_held_objective, weights, bias, sigma, shift)
        expected = _loop_held_objective(X, location, bias, sigma, weights, shift)
        assert got["objective"] == pytest.approx(expected, rel=1e-12)


def test_shift_moments_are_the_held_objective_and_its_derivatives():
    """Gradient and curvature against central differences of the objective;
    the extent is that of the free items alone."""
    X, ratings, location, bias, sigma, weights = _held_example()
    data = _backend(ratings, location, bias, sigma)
    moments = data.reduce(_kernel_shift_moments, weights)

    def held(shift):
        return _loop_held_objective(X, location, bias, sigma, weights, shift)

    h = 1e-4
    assert moments["objective"] == pytest.approx(held(0.0), rel=1e-12)
    gradient = (held(h) - held(-h)) / (2 * h)
    curvature = -(held(h) - 2 * held(0.0) + held(-h)) / h**2
    np.testing.assert_allclose(moments["gradient"], gradient, rtol=1e-6)
    np.testing.assert_allclose(moments["curvature"], curvature, rtol=1e-4)
    assert moments["min_free_location"] == 0.32
    assert moments["max_free_location"] == 0.6


def test_shift_free_locations_moves_all_but_the_held_and_drops_the_terms():
    _, ratings, location, bias, sigma, _ = _held_example()
    data = _backend(ratings, location, bias, sigma)
    data.update(_kernel_shift_free_locations, 0.1)
    np.testing.assert_allclose(data.state.location, [0.35, 1.0, 0.5, 0.0, 0.22])
    assert data.state.terms is None and data.state.sums is None


def test_common_shift_is_zero_without_held_items():
    _, ratings, location, bias, sigma, weights = _held_example()
    inside = np.array([0.45, 0.9, 0.6, 0.1, 0.32])
    data = _backend(ratings, inside, bias, sigma)
    assert _estimate_common_shift(data, weights, bias, sigma) == 0.0


def test_common_shift_raises_the_objective_and_keeps_the_free_items_in_range():
    """The held items want to move out (the top one up, the bottom one down:
    opposite pulls); the step finds the shift that the pair prefers, never
    lowers their objective, and keeps every free location in [0, 1]."""
    X, ratings, location, bias, sigma, weights = _held_example()
    data = _backend(ratings, location, bias, sigma)
    shift = _estimate_common_shift(data, weights, bias, sigma)
    before = _loop_held_objective(X, location, bias, sigma, weights, 0.0)
    after = _loop_held_objective(X, location, bias, sigma, weights, shift)
    assert shift != 0.0 and after > before
    free = location[(location > 0) & (location < 1)]
    assert np.all((free - shift >= 0) & (free - shift <= 1))


def test_a_bounded_fit_with_biases_and_an_item_at_the_top_converges_quickly():
    """An item rated at the top holds its location at the bound; the biases
    and the other locations crawled toward the optimum by about 4e-4 per
    iteration (145 iterations, a ConvergenceWarning at max_iter=100). The
    common shift reaches the optimum of a long run in a few iterations."""
    X = make_ratings(20, 6, bad_fraction=0.2, random_state=0)
    assert (X == np.nanmax(X)).sum() >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        em = AnnotatorEM(bias=True).fit(X)
    assert em.n_iter_ <= 20
    long = AnnotatorEM(bias=True, tol=1e-12, max_iter=3000).fit(X)
    assert em.log_likelihood_ >= long.log_likelihood_ - 1e-6 * np.sum(~np.isnan(X))
    np.testing.assert_allclose(em.mu_, long.mu_, atol=1e-3)


_nan = np.nan


def test_shift_objective_is_that_of_em_where_every_rater_of_an_item_is_bad(
    every_candidate_in_the_mixture,
):
    """Review finding: items whose raters all have weight 0 are no part of the
    objective, but the location steps' stand-in weights (about 1) counted
    them in the shift's; one shift moves every held item, and a hard fit's
    objective fell by 6.5e-4 at iteration 8."""
    X = np.array(
        [
            [_nan, 5, _nan, _nan],
            [4, _nan, 2, _nan],
            [3, 3, 4, _nan],
            [_nan, _nan, 4, 5],
            [3, 5, 2, _nan],
            [2, _nan, 2, _nan],
            [_nan, 3, _nan, 5],
            [3, 5, 3, _nan],
            [_nan, 4, 2, _nan],
            [3, 3, _nan, 5],
            [_nan, 2, 4, 2],
        ]
    )
    em = _fit_quietly(
        HardAnnotatorEM(bias=True, noise="shared", max_iter=30, tol=0, init="median"),
        X,
    )
    objectives = em.log_likelihoods_
    assert np.any(em.weights_ == 0)
    decrease = objectives[:-1] - objectives[1:]
    assert np.all(decrease <= 1e-8 * (1 + np.abs(objectives[:-1])))
