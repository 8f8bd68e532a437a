"""Unit tests of the pure model helpers and the ratings representation."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp
from scipy.stats import norm

from skem._em.driver import _assign_good_annotators
from skem._em.ratings import _ratings_from_matrix
from skem._em.score_range import (
    _check_ratings_in_range,
    _lattice_step,
    _resolve_score_range,
)
from skem._model.intervals import _compute_consensus_std_error
from skem._model.likelihoods import (
    _compute_item_log_likelihood,
    _estimate_annotator_log_joint,
    _estimate_log_posterior,
    _estimate_normal_log_density,
)
from skem._model.normal import _estimate_bias_normal
from skem._model.starts import _estimate_item_medians, _order_by_item_then_score
from skem._model.steps import (
    _PI_BOUND,
    _apply_gold,
    _compute_annotator_residual_sums,
    _compute_annotator_sq_residuals,
    _compute_annotator_weights,
    _compute_bias_shift,
    _compute_rating_weights,
    _estimate_consensus_normal,
    _estimate_pi,
    _estimate_sigma_shared_normal,
)

ZERO3, ONE3 = np.zeros(3), np.ones(3)


def _consensus(ratings, weights, log_posterior, gold=None):
    rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
    return _estimate_consensus_normal(ratings, rating_weights, ZERO3, ONE3, gold)


def _shared_sigma(sq_residuals, n_per_annotator, weights, log_posterior, floor):
    weights = _compute_annotator_weights(
        np.asarray(n_per_annotator), weights, log_posterior
    )
    return _estimate_sigma_shared_normal(
        sq_residuals, n_per_annotator, weights, None, None, floor
    )[0]


X = np.array(
    [
        [1.0, 2.0, np.nan],
        [3.0, np.nan, 5.0],
        [np.nan, np.nan, np.nan],
        [0.0, 4.0, 2.0],
    ]
)


@pytest.fixture
def ratings():
    return _ratings_from_matrix(X)


def test_ratings_from_dense_keep_exactly_the_non_nan_entries(ratings):
    assert ratings.n_ratings == 7
    np.testing.assert_array_equal(ratings.score, X[ratings.item, ratings.annotator])
    np.testing.assert_array_equal(ratings.n_per_item, [2, 2, 0, 3])
    np.testing.assert_array_equal(ratings.n_per_annotator, [3, 2, 2])


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_ratings_from_sparse_keep_explicit_zeros(fmt):
    dense = np.array([[0.0, 2.0], [0.0, 0.0]])
    matrix = sp.csr_matrix(([0.0, 2.0], ([0, 0], [0, 1])), shape=(2, 2)).asformat(fmt)
    ratings = _ratings_from_matrix(matrix)
    assert ratings.n_ratings == 2  # the stored 0.0 is a rating, (1, *) are not
    assert sorted(zip(ratings.item, ratings.annotator, strict=True)) == [(0, 0), (0, 1)]
    assert dense[0, 0] == ratings.score[ratings.annotator == 0][0]


def test_ratings_from_coo_reject_duplicate_pairs():
    matrix = sp.coo_matrix(([1.0, 2.0], ([1, 1], [0, 0])), shape=(2, 2))
    with pytest.raises(ValueError, match=r"same \(item, annotator\) pair.*\(1, 0\)"):
        _ratings_from_matrix(matrix)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_ratings_from_compressed_reject_duplicate_pairs(fmt):
    # Built from (data, indices, indptr): scipy keeps the repeated entry.
    matrix = sp.csr_matrix(([1.0, 2.0, 3.0], [0, 0, 1], [0, 2, 3]), shape=(2, 2))
    if fmt == "csc":
        matrix = sp.csc_matrix(([1.0, 2.0, 3.0], [0, 0, 1], [0, 2, 3]), shape=(2, 2))
    assert not matrix.has_canonical_format
    with pytest.raises(ValueError, match=r"same \(item, annotator\) pair"):
        _ratings_from_matrix(matrix)


def test_estimate_consensus_is_the_weighted_mean(ratings):
    weights = np.array([1.0, 0.5, 0.0])
    consensus = _consensus(ratings, weights, np.log(weights + 1e-300))
    np.testing.assert_allclose(consensus[[0, 1, 3]], [4 / 3, 3.0, 2 / 1.5])
    assert np.isnan(consensus[2])


def test_estimate_consensus_keeps_gold_items(ratings):
    gold = np.array([np.nan, 9.0, 7.0, np.nan])
    consensus = _consensus(ratings, np.ones(3), np.zeros(3), gold)
    np.testing.assert_allclose(consensus, [1.5, 9.0, 7.0, 2.0])


def test_apply_gold_overrides_only_known_items():
    consensus = np.array([1.0, 2.0, np.nan])
    result = _apply_gold(consensus, np.array([np.nan, 5.0, 6.0]))
    assert result is consensus
    np.testing.assert_array_equal(consensus, [1.0, 5.0, 6.0])
    np.testing.assert_array_equal(_apply_gold(np.ones(2), None), [1.0, 1.0])


def test_estimate_consensus_falls_back_to_relative_posterior_on_underflow(ratings):
    # Annotator 0 is the only one with weight; item 1 is rated by 0 and 2, but
    # the weight of 0... is set to zero here with a far better log posterior.
    weights = np.array([0.0, 1.0, 0.0])
    log_posterior = np.array([-800.0, 0.0, -900.0])
    consensus = _consensus(ratings, weights, log_posterior)
    # Item 1: raters 0 (3.0) and 2 (5.0), relative weights 1 and exp(-100).
    assert consensus[1] == pytest.approx(3.0)
    # Item 3 still uses the weights: only annotator 1 counts.
    assert consensus[3] == 4.0
    assert np.isnan(consensus[2])


def test_compute_rating_weights_treats_hopeless_raters_equally(ratings):
    weights = np.array([0.0, 0.0, 1.0])
    rating_weights = _compute_rating_weights(ratings, weights, np.full(3, -np.inf))
    # Items 0 (raters 0, 1) and the first rating of item 3 have no weight left.
    rated_by_2 = ratings.annotator == 2
    np.testing.assert_array_equal(rating_weights[rated_by_2], 1.0)
    in_item_0 = ratings.item == 0
    np.testing.assert_array_equal(rating_weights[in_item_0], [1.0, 1.0])


def test_estimate_consensus_normal_is_precision_weighted_and_bias_corrected(ratings):
    weights, bias, sigma = np.array([1.0, 0.5, 1.0]), np.array([0.5, -1, 0]), [1, 2, 1]
    rating_weights = _compute_rating_weights(ratings, weights, np.log(weights))
    consensus = _estimate_consensus_normal(
        ratings, rating_weights, bias, np.array(sigma, float)
    )
    for i in (0, 1, 3):
        num = den = 0.0
        for a in np.flatnonzero(~np.isnan(X[i])):
            precision = weights[a] / sigma[a] ** 2
            num += precision * (X[i, a] - bias[a])
            den += precision
        assert consensus[i] == pytest.approx(num / den)


def test_estimate_bias_normal_and_the_centring_shift(ratings):
    mu = np.array([1.0, 4.0, np.nan, 2.0])
    residual_sums = _compute_annotator_residual_sums(ratings, mu)
    np.testing.assert_allclose(residual_sums, [0 - 1 - 2, 1 + 2, 1 + 0])
    bias = _estimate_bias_normal(residual_sums, ratings.n_per_annotator)
    np.testing.assert_allclose(bias, [(0 - 1 - 2) / 3, (1 + 2) / 2, (1 + 0) / 2])
    weights = np.array([1.0, 1.0, 0.0])
    shift = _compute_bias_shift(bias, weights, has_gold=False)
    assert weights @ (bias - shift) == pytest.approx(0.0)
    assert shift == pytest.approx((bias[0] + bias[1]) / 2)
    # Gold items pin the consensus, and so the biases.
    assert _compute_bias_shift(bias, weights, has_gold=True) == 0.0
    assert _compute_bias_shift(bias, np.zeros(3), has_gold=False) == 0.0


def test_compute_annotator_sq_residuals(ratings):
    mu = np.array([1.0, 4.0, np.nan, 2.0])
    expected = [0 + 1 + 4, 1 + 4, 1 + 0]
    np.testing.assert_allclose(
        _compute_annotator_sq_residuals(ratings, mu, np.zeros(3)), expected
    )


def test_estimate_sigma_is_weighted_pooled_and_floored():
    sq_residuals = np.array([8.0, 2.0, 100.0])
    n_per_annotator = np.array([2, 2, 1])
    weights = np.array([1.0, 0.5, 0.0])
    log_posterior = np.log(weights + 1e-300)
    sigma = _shared_sigma(sq_residuals, n_per_annotator, weights, log_posterior, 0.1)
    assert sigma == pytest.approx(np.sqrt((8 + 1) / (2 + 1)))
    assert (
        _shared_sigma(sq_residuals, n_per_annotator, weights, log_posterior, 5.0) == 5.0
    )


def test_estimate_sigma_uses_relative_posterior_when_all_weights_vanish():
    sq_residuals = np.array([8.0, 2.0, 0.0])
    n_per_annotator = np.array([2, 2, 0])
    log_posterior = np.array([-1000.0, -1000.0 + np.log(0.5), 0.0])
    sigma = _shared_sigma(
        sq_residuals, n_per_annotator, np.zeros(3), log_posterior, 0.1
    )
    assert sigma == pytest.approx(np.sqrt(9 / 3))


def test_estimate_sigma_counts_raters_equally_when_no_posterior_is_left():
    # Found by hypothesis: init=[0, 1] where annotator 1 has no ratings.
    sigma = _shared_sigma(
        np.array([8.0, 0.0]),
        np.array([2, 0]),
        np.array([0.0, 1.0]),
        np.array([-np.inf, 0.0]),
        0.1,
    )
    assert sigma == pytest.approx(2.0)


def test_estimate_pi_is_the_mean_weight_kept_off_0_and_1():
    assert _estimate_pi(np.array([1.0, 0.0, 0.5, 0.5])) == 0.5
    assert _estimate_pi(np.ones(4)) == 1 - _PI_BOUND
    assert _estimate_pi(np.zeros(4)) == _PI_BOUND


def test_estimate_annotator_log_joint_matches_scipy(ratings):
    mu = np.array([1.5, 4.0, np.nan, 2.0])
    sigma, pi, low, high = 0.7, 0.3, -1.0, 6.0
    sq = _compute_annotator_sq_residuals(ratings, mu, np.zeros(3))
    log_density = _estimate_normal_log_density(
        sq, ratings.n_per_annotator, np.full(3, sigma)
    )
    log_good, log_bad = _estimate_annotator_log_joint(
        log_density, ratings.n_per_annotator, pi, -np.log(high - low)
    )
    for a in range(3):
        mine = ratings.annotator == a
        scores, items = ratings.score[mine], ratings.item[mine]
        expected = np.log(pi) + norm.logpdf(scores, mu[items], sigma).sum()
        assert log_good[a] == pytest.approx(expected)
        assert log_bad[a] == pytest.approx(np.log(1 - pi) - mine.sum() * np.log(7))


def test_estimate_log_posterior_normalizes_without_underflow():
    log_good = np.array([-5000.0, 0.0, -3.0])
    log_bad = np.array([-4000.0, -2000.0, -3.0])
    log_marginal, log_posterior, log_posterior_bad = _estimate_log_posterior(
        log_good, log_bad
    )
    np.testing.assert_allclose(log_marginal, logsumexp([log_good, log_bad], axis=0))
    np.testing.assert_allclose(np.exp(log_posterior), [0.0, 1.0, 0.5])
    np.testing.assert_allclose(np.exp(log_posterior_bad), [1.0, 0.0, 0.5])
    assert np.all(np.isfinite(log_posterior)) and np.all(np.isfinite(log_posterior_bad))


def test_estimate_item_medians(ratings):
    medians = _estimate_item_medians(ratings)
    np.testing.assert_allclose(medians[[0, 1, 3]], [1.5, 4.0, 2.0])
    assert np.isnan(medians[2])


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_order_by_item_then_score_matches_lexsort(fmt):
    rng = np.random.RandomState(0)
    dense = np.where(rng.rand(300, 20) < 0.5, np.nan, rng.randint(0, 5, (300, 20)))
    matrix = sp.csr_matrix(np.nan_to_num(dense, nan=0.0)).asformat(fmt)
    matrix.data = np.where(matrix.data == 0, 0.0, matrix.data)  # ties galore
    ratings = _ratings_from_matrix(matrix)
    order = _order_by_item_then_score(ratings)
    expected = np.lexsort((ratings.score, ratings.item))
    np.testing.assert_array_equal(ratings.item[order], ratings.item[expected])
    np.testing.assert_array_equal(ratings.score[order], ratings.score[expected])


def test_compute_item_log_likelihood_matches_the_mixture_formula(ratings):
    consensus = np.array([1.5, 4.0, np.nan, 2.0])
    weights = np.array([0.9, 0.0, 1.0])
    sigma, score_range = 0.8, (0.0, 4.5)
    with np.errstate(divide="ignore"):
        log_w, log_not_w = np.log(weights), np.log1p(-weights)
    result = _compute_item_log_likelihood(
        ratings,
        consensus,
        ZERO3,
        np.full(3, sigma),
        log_w,
        log_not_w,
        score_range,
        False,
    )
    for i in (0, 1, 3):
        expected = 0.0
        for a in np.flatnonzero(~np.isnan(X[i])):
            s = X[i, a]
            uniform = 1 / 4.5 if 0.0 <= s <= 4.5 else 0.0
            with np.errstate(divide="ignore"):
                expected += np.log(
                    weights[a] * norm.pdf(s, consensus[i], sigma)
                    + (1 - weights[a]) * uniform
                )
        assert result[i] == pytest.approx(expected)
    assert result[2] == 0.0
    # Item 1: annotator 2 gave 5.0, outside (0, 4.5), but is fully "good".
    assert np.isfinite(result[1])


def _range(score_range, scores):
    scale = _resolve_score_range(score_range, np.asarray(scores, dtype=float))
    return scale.low, scale.high


def test_resolve_score_range():
    scores = _ratings_from_matrix(X).score
    # Integers 0..5 lie on a lattice of step 1: half a step on each side.
    assert _range("auto", scores) == (-0.5, 5.5)
    assert _range("auto", scores * 1e-6) == pytest.approx((-0.5e-6, 5.5e-6))
    assert _range("auto", [0.1, 0.25, 0.71]) == (0.1, 0.71)
    assert _range((0, 10), scores) == (0.0, 10.0)
    # All equal: padded relative to the value.
    assert _range("auto", [3.0, 3.0]) == (1.5, 4.5)
    assert _range("auto", [3e-6]) == pytest.approx((1.5e-6, 4.5e-6))
    assert _range("auto", [0.0]) == (-0.5, 0.5)
    with pytest.raises(ValueError, match="low < high"):
        _resolve_score_range((5, 1), scores)
    with pytest.raises(ValueError, match="two finite numbers"):
        _resolve_score_range((0, np.inf), scores)
    with pytest.raises(ValueError, match="two finite numbers"):
        _resolve_score_range({"lo": 1}, scores)
    with pytest.raises(ValueError, match="too wide"):
        _resolve_score_range((-1e308, 1e308), scores)


def test_lattice_step_finds_evenly_spaced_levels():
    assert _lattice_step(np.array([1.0, 3.0, 5.0, 2.0])) == 1.0
    assert _lattice_step(np.array([0.0, 0.25, 1.0])) == 0.25
    assert _lattice_step(np.array([0.0, 0.3, 1.0])) == 0.0
    assert _lattice_step(np.arange(5000.0)) == 0.0  # too many levels


def test_check_ratings_in_range_names_the_offending_rating(ratings):
    scale = _resolve_score_range((0.5, 4.5), np.array([1.0]))
    with pytest.raises(
        ValueError, match=r"2 rating\(s\) outside.*e\.g\. 5 in row 1, column 2"
    ):
        _check_ratings_in_range(ratings, scale)


def test_compute_consensus_std_error_uses_each_annotators_precision(ratings):
    weights, sigma = np.ones(3), np.array([1.0, 2.0, 0.5])
    std_error = _compute_consensus_std_error(ratings, weights, sigma)
    # Items 0, 1, 3 have 2, 2, 3 raters of weight 1: W - V/W = 1, 1, 2.
    correction = np.sqrt(7 / 4)
    assert std_error[0] == pytest.approx(correction / np.sqrt(1 + 1 / 4))
    assert std_error[3] == pytest.approx(correction / np.sqrt(1 + 1 / 4 + 4))
    assert np.isnan(std_error[2])


def test_assign_good_annotators_makes_all_tied_best_annotators_good():
    log_good = np.array([-3.0, -3.0, -5.0])
    log_bad = np.zeros(3)
    good = _assign_good_annotators(log_good, log_bad, np.ones(3, bool))
    np.testing.assert_array_equal(good, [True, True, False])


def test_assign_good_annotators_keeps_one_rated_annotator_good():
    log_good = np.array([-10.0, -3.0, 0.0])
    log_bad = np.array([-1.0, -2.0, 1.0])
    rated = np.array([True, True, False])
    good = _assign_good_annotators(log_good, log_bad, rated)
    # Nobody qualifies; annotator 1 has the best log-odds among the rated.
    np.testing.assert_array_equal(good, [False, True, False])
    good = _assign_good_annotators(log_good, log_bad - 20, rated)
    np.testing.assert_array_equal(good, [True, True, True])


def test_ratings_select_keeps_the_shape_and_the_chosen_ratings(ratings):
    mask = ratings.score > 1.5
    chosen = ratings.select(mask)
    assert (chosen.n_items, chosen.n_annotators) == (4, 3)
    np.testing.assert_array_equal(chosen.score, ratings.score[mask])
    np.testing.assert_array_equal(chosen.item, ratings.item[mask])
    np.testing.assert_array_equal(chosen.n_per_annotator, [1, 2, 2])
