"""What the other annotators say of an annotator's items: their dispersion."""

import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.backend import _Block
from skem._model import others, predictive
from skem._model.others import (
    _estimate_agreement_p_value,
    _estimate_dispersion_ratio,
    _estimate_others_dispersion,
    _estimate_others_locations,
    _kernel_others_agreement,
    _sum_item_totals,
)
from tests._helpers import _budget, _random_ratings


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


def _moments(own, others):
    own, others = np.asarray(own, float), np.asarray(others, float)
    return np.array(
        [[len(own)], [own.sum()], [others.sum()], [own @ own], [others @ others]]
        + [[own @ others]]
    )


def test_agreement_p_value_is_the_one_sided_pearson_test():
    """Against scipy's Pearson test with the alternative of a positive
    correlation, for ratings that follow, ignore and reverse the others."""
    rng = np.random.default_rng(0)
    others = rng.uniform(0, 1, 15)
    for own in (others + rng.normal(0, 0.2, 15), rng.uniform(0, 1, 15), -others):
        expected = stats.pearsonr(own, others, alternative="greater").pvalue
        p_value = _estimate_agreement_p_value(_moments(own, others))
        assert p_value[0] == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_agreement_p_value_is_one_where_nothing_can_be_told():
    """Fewer than 3 judged ratings, one score for every item (up to
    rounding), or items the others all place alike: no evidence of
    agreement."""
    assert _estimate_agreement_p_value(_moments([0.1, 0.9], [0.2, 0.8]))[0] == 1.0
    constant = np.full(10, 0.1) * 3.0  # 0.30000000000000004
    others = np.linspace(0, 1, 10)
    assert _estimate_agreement_p_value(_moments(constant, others))[0] == 1.0
    assert _estimate_agreement_p_value(_moments(others, np.full(10, 0.7)))[0] == 1.0
    perfect = _estimate_agreement_p_value(_moments(others, others))[0]
    assert perfect < 1e-12


def test_agreement_p_value_of_ratings_that_ignore_their_items_is_uniform():
    """Property: ratings drawn apart from the others' locations (uniform, or
    on 5 levels) reach a p-value below a level about that often, so a
    level of 1e-3 spares about one random annotator in a thousand."""
    rng = np.random.default_rng(1)
    n_draws, n = 4000, 12
    others = rng.uniform(0, 1, (n_draws, n))
    for own in (rng.uniform(0, 1, (n_draws, n)), rng.integers(1, 6, (n_draws, n))):
        moments = np.array(
            [
                np.full(n_draws, n),
                own.sum(1),
                others.sum(1),
                (own * own).sum(1),
                (others * others).sum(1),
                (own * others).sum(1),
            ],
            dtype=float,
        )
        p_value = _estimate_agreement_p_value(moments)
        for level in (0.05, 0.2, 0.5):
            assert abs(np.mean(p_value < level) - level) < 0.025


def test_the_agreement_kernel_sums_the_ratings_and_the_others_locations():
    """The kernel's moments are those of each ``among`` annotator's judged
    ratings and :func:`_estimate_others_locations` of them."""
    rng = np.random.default_rng(2)
    ratings = _random_ratings(rng, 12, 6, 50)
    n = ratings.n_annotators
    weights = np.linspace(0.3, 1.0, n)
    bias = np.linspace(-0.05, 0.05, n)
    sigma = np.linspace(0.05, 0.15, n)
    among = np.arange(n) % 2 == 1
    _, out = _kernel_others_agreement(_Block(ratings), weights, bias, sigma, among)
    rated = (ratings.item, ratings.annotator, ratings.score)
    totals = _sum_item_totals(*rated, ratings.n_items, weights, bias, sigma)
    location, _, judged = _estimate_others_locations(
        *rated, totals, weights, bias, sigma
    )
    for a in range(n):
        mine = judged & (ratings.annotator == a)
        expected = _moments(ratings.score[mine], location[mine])[:, 0]
        np.testing.assert_allclose(
            out["agreement_moments"][:, a], expected if among[a] else 0.0
        )
    assert np.any(out["agreement_moments"][0] > 0)


def _overcounter_panel(seed):
    """Counts of 24 items (20 to 200): 9 careful counters (relative errors
    of 12%), an honest one who overcounts by 15% with errors of 35%
    (rater 0), and 2 who answer uniformly in 10..400 (raters 1 and 2)."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(20, 200, 24)
    X = truth[:, None] * np.exp(rng.normal(-0.05, 0.12, (24, 12)))
    X[:, 0] = truth * np.exp(rng.normal(0.15, 0.35, 24))
    X[:, 1:3] = rng.uniform(10, 400, (24, 2))
    return np.round(X)


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
def test_an_honest_rater_who_follows_the_items_is_not_condemned(Estimator):
    """A counter whose errors are far larger than the panel's misses the
    others' consensus by more than its prior noise allows, and the check's
    likelihood condemns it; but its counts follow the others' consensus of
    the items (a correlation no rater who ignores the items reaches but
    once in a thousand), so it cannot be random: it is undetermined and
    counts at pi_. The uniform raters stay random."""
    X = _overcounter_panel(3)
    with mock.patch.object(others, "_AGREEMENT_LEVEL", 0.0):
        likelihood_only = _fit_quietly(Estimator, X)
    assert likelihood_only.judged_[0] and likelihood_only.weights_[0] < 0.1
    em = _fit_quietly(Estimator, X)
    assert not em.judged_[0]
    assert em.consensus_weights_[0] == pytest.approx(em.pi_)
    assert em.judged_[1:3].all() and np.all(em.weights_[1:3] < 0.1)
    assert not np.any(em.judged_[3:] & (em.weights_[3:] < 0.5))


def _fit_quietly(Estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Estimator().fit(X)
