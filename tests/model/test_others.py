"""What the other annotators say of an annotator's items: their dispersion."""

import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skem import AnnotatorEM, HardAnnotatorEM
from skem._model import predictive
from skem._model.others import (
    _estimate_dispersion_ratio,
    _estimate_others_dispersion,
    _sum_item_totals,
)
from tests._helpers import _budget


def _dispersion(item, annotator, score, n_items, weights, bias, sigma):
    totals = _sum_item_totals(item, annotator, score, n_items, weights, bias, sigma)
    return _estimate_others_dispersion(
        item, annotator, score, totals, weights, bias, sigma
    )


def test_others_dispersion_is_their_squared_deviations_and_their_freedom():
    """Item 0 rated 0.2, 0.4 and 0.9 by three raters of weight 1 and sigma 1:
    for the first, the others' mean is 0.65 and their squared deviations
    2 * 0.25**2, with 2 - 2 / 2 = 1 degree of freedom. On item 1 the first
    rater's only other weighs 0.5 in all: no consensus, nothing counted."""
    item = np.array([0, 0, 0, 1, 1])
    annotator = np.array([0, 1, 2, 0, 3])
    score = np.array([0.2, 0.4, 0.9, 0.5, 0.6])
    weights = np.array([1.0, 1.0, 1.0, 0.5])
    squares, freedom = _dispersion(
        item, annotator, score, 2, weights, np.zeros(4), np.ones(4)
    )
    np.testing.assert_allclose(squares[:3], [0.125, 0.245, 0.02])
    np.testing.assert_allclose(freedom[:3], [1.0, 1.0, 1.0])
    assert squares[3] == 0 and freedom[3] == 0
    # Rater 3's other (rater 0, weight 1) is a consensus of one: no freedom.
    assert freedom[4] == 0


@settings(max_examples=_budget(100), deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_items=st.integers(1, 5),
    n_annotators=st.integers(2, 6),
)
def test_others_dispersion_is_the_direct_sum_over_the_items_other_ratings(
    seed, n_items, n_annotators
):
    """Property: for any weights, biases and sigmas, each judged rating's
    squares are ``sum_b lam_b (s_ib - b_b - m)**2`` over the item's other
    ratings, ``m`` their weighted mean, and its freedom ``W - sum w_b**2 /
    W``, computed from the item's totals less the rating's own."""
    rng = np.random.default_rng(seed)
    rated = rng.random((n_items, n_annotators)) < 0.8
    item, annotator = np.nonzero(rated)
    score = rng.random(item.size)
    weights = rng.uniform(0.0, 1.0, n_annotators)
    bias = rng.normal(0.0, 0.1, n_annotators)
    sigma = rng.uniform(0.05, 0.5, n_annotators)
    squares, freedom = _dispersion(
        item, annotator, score, n_items, weights, bias, sigma
    )
    for k in range(item.size):
        others = (item == item[k]) & (np.arange(item.size) != k)
        w = weights[annotator[others]]
        lam = w / sigma[annotator[others]] ** 2
        x = score[others] - bias[annotator[others]]
        if w.sum() < 0.5 - 1e-9 or not lam.sum() > 0:
            assert squares[k] == 0 and freedom[k] == 0
            continue
        m = np.sum(lam * x) / np.sum(lam)
        expected = np.sum(lam * (x - m) ** 2)
        assert squares[k] == pytest.approx(expected, rel=1e-7, abs=1e-9)
        assert freedom[k] == pytest.approx(
            max(w.sum() - np.sum(w**2) / w.sum(), 0.0), rel=1e-9, abs=1e-12
        )


def test_dispersion_ratio_is_over_the_good_annotators_and_only_widens():
    """The good annotators' others disagree 3 (squares) on 2 degrees of
    freedom: the panel's yardstick is 1.5. An annotator whose others
    disagree 6 on 2 gets 2; one whose others agree better, 1; one without a
    degree of freedom, 1. Without any for the good ones, 1 for everyone."""
    squares = np.array([1.0, 2.0, 6.0, 0.1, 5.0])
    freedom = np.array([1.0, 1.0, 2.0, 2.0, 0.5])
    good = np.array([True, True, False, False, False])
    np.testing.assert_allclose(
        _estimate_dispersion_ratio(squares, freedom, good), [1.0, 1.33333333, 2, 1, 1]
    )
    none = np.array([0.0, 0.5, 2.0, 2.0, 0.5])
    np.testing.assert_array_equal(_estimate_dispersion_ratio(squares, none, good), 1.0)


def test_dispersion_ratio_is_one_where_the_yardstick_is_subnormal():
    """A yardstick below the smallest normal float is none: dividing by it
    would overflow to an infinite widening."""
    squares = np.array([2.2e-309, 1.0])
    freedom = np.ones(2)
    good = np.array([True, False])
    np.testing.assert_array_equal(
        _estimate_dispersion_ratio(squares, freedom, good), 1.0
    )


@pytest.mark.parametrize("order", range(6))
def test_others_who_agree_exactly_have_no_spread_in_any_order_of_the_ratings(order):
    """Four raters of different sigmas give each of three items one level:
    the others' squared deviations are 0, not the residue of rounding the
    difference of two sums (about 1e-13, and different in each order of the
    ratings), and no ratio is above 1."""
    item = np.repeat(np.arange(3), 4)
    annotator = np.tile(np.arange(4), 3)
    score = np.array([0.1, 0.3, 0.7])[item]
    sigma = np.array([0.0731, 0.0417, 0.1093, 0.0589])
    weights = np.ones(4)
    permutation = np.random.default_rng(order).permutation(item.size)
    item, annotator, score = (
        item[permutation],
        annotator[permutation],
        score[permutation],
    )
    squares, freedom = _dispersion(
        item, annotator, score, 3, weights, np.zeros(4), sigma
    )
    np.testing.assert_array_equal(squares, 0.0)
    per_annotator = np.bincount(annotator, squares, minlength=4)
    freedom = np.bincount(annotator, freedom, minlength=4)
    good = np.array([True, True, True, False])
    np.testing.assert_array_equal(
        _estimate_dispersion_ratio(per_annotator, freedom, good), 1.0
    )


# A fuzzed panel on 1..5 (a helper's seed 1143) on which raters who agree
# exactly made the verdicts follow the order of the annotators.
_AGREEING_PANEL = np.array(
    [
        [5, np.nan, np.nan, np.nan, np.nan, 2],
        [np.nan, 4, 2, 2, 2, 2],
        [np.nan, 2, 3, 3, 3, np.nan],
        [5, np.nan, 1, 1, np.nan, np.nan],
        [5, np.nan, 2, 2, 2, 5],
        [5, np.nan, np.nan, np.nan, 3, np.nan],
        [5, np.nan, 2, np.nan, np.nan, 4],
        [np.nan, 2, 2, 2, 2, np.nan],
        [5, 2, np.nan, 1, np.nan, np.nan],
        [5, 2, 5, 5, np.nan, np.nan],
        [np.nan, np.nan, np.nan, 5, 5, 4],
        [5, 4, np.nan, np.nan, np.nan, np.nan],
        [5, 4, 4, 4, np.nan, np.nan],
        [5, 4, 2, np.nan, np.nan, 1],
    ]
)


@pytest.mark.parametrize("estimator", [AnnotatorEM, HardAnnotatorEM])
def test_verdicts_do_not_follow_the_order_of_the_annotators(estimator):
    """Fitting the annotators in another order gives each the same weight:
    where raters agree exactly, the check's yardstick was rounding residue
    in an order that followed the ratings', and moved one annotator's log
    odds across the verdict's threshold (hard EM: everyone good in one
    order, two annotators random in the other)."""
    permutation = np.array([4, 5, 0, 1, 3, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = estimator().fit(_AGREEING_PANEL)
        second = estimator().fit(_AGREEING_PANEL[:, permutation])
    np.testing.assert_allclose(second.weights_, first.weights_[permutation], atol=1e-6)
    np.testing.assert_allclose(second.mu_, first.mu_, atol=1e-9)
    assert second.log_likelihood_ == pytest.approx(first.log_likelihood_)


def test_honest_workers_who_drew_hard_batches_are_not_condemned():
    """Items rated in batches by the same 5 workers, 30% of the batches much
    harder (noise 2.0 against 0.5), every worker honest (the benchmarks'
    panel, seed 4): judged with the others' consensus alone, 4 workers who
    drew hard batches are called random and the consensus is 3.5% worse
    than the plain mean's; against how much the others disagree on the same
    items, none is, and the consensus is within 1% of the mean's."""
    from benchmarks.crowds import _batched_panel, _error_over_mean

    X, truth = _batched_panel(np.random.default_rng(4), 5)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return AnnotatorEM().fit(X)

    def ones(squares, freedom, good):
        return np.ones(squares.shape)

    with mock.patch.object(predictive, "_estimate_dispersion_ratio", ones):
        alone = fit()
    assert np.sum(alone.weights_ < 0.5) >= 3
    assert _error_over_mean(alone.mu_, X, truth) > 1.02
    em = fit()
    assert not np.any(em.weights_ < 0.5)
    assert _error_over_mean(em.mu_, X, truth) <= 1.01
