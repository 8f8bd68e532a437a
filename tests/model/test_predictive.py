"""A flagged annotator against the consensus of the others: the predictive check."""

import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.backend import _Block, _InMemoryBackend
from skem._io.verdicts import TOO_LITTLE_AGREEMENT, _annotator_verdicts
from skem._model import predictive
from skem._model.form import _Params
from skem._model.levels import _compute_closed_level_log_density
from skem._model.likelihoods import _compute_good_terms
from skem._model.others import (
    _MIN_OTHER_WEIGHT,
    _estimate_others_locations,
    _estimate_review_weights,
    _sum_item_totals,
)
from skem._model.predictive import (
    _compute_predictive_log_density,
    _estimate_noise_factor,
    _estimate_parabola_peak,
    _estimate_predictive_log_odds,
    _kernel_predictive_log_density,
    _sample_annotators,
)
from tests._helpers import _budget, _ratings, _spares_nobody


def test_others_locations_are_the_weighted_means_of_the_other_ratings():
    """Item 0: three raters; without rater 0 the location is the mean of the
    others' bias-corrected ratings weighed by w / sigma**2, and its variance
    the inverse of their sum. Item 1 has one other rater of weight 0.4,
    below the minimum: not judged. Item 2 is gold: its known location, with
    variance 0."""
    item = np.array([0, 0, 0, 1, 1, 2, 2])
    annotator = np.array([0, 1, 2, 0, 2, 0, 1])
    score = np.array([0.2, 0.5, 0.9, 0.3, 0.6, 0.1, 0.4])
    weights = np.array([1.0, 0.8, 0.4])
    bias = np.array([0.0, 0.1, -0.05])
    sigma = np.array([0.1, 0.2, 0.4])
    gold = np.array([np.nan, np.nan, 0.35])
    totals = _sum_item_totals(item, annotator, score, 3, weights, bias, sigma)
    location, variance, judged = _estimate_others_locations(
        item, annotator, score, totals, weights, bias, sigma, gold
    )
    lam = weights / sigma**2
    # Rater 0 on item 0: the others are raters 1 and 2.
    expected = (lam[1] * (0.5 - 0.1) + lam[2] * (0.9 + 0.05)) / (lam[1] + lam[2])
    assert location[0] == pytest.approx(expected)
    assert variance[0] == pytest.approx(1.0 / (lam[1] + lam[2]))
    # Rater 2 on item 0: raters 0 and 1.
    expected = (lam[0] * 0.2 + lam[1] * 0.4) / (lam[0] + lam[1])
    assert location[2] == pytest.approx(expected)
    assert judged[:3].all()
    # Item 1: rater 0's other weighs 0.4 < 0.5; rater 2's other weighs 1.
    assert weights[2] < _MIN_OTHER_WEIGHT
    np.testing.assert_array_equal(judged[3:5], [False, True])
    assert np.isnan(location[3]) and location[4] == pytest.approx(0.3)
    np.testing.assert_array_equal(location[5:], [0.35, 0.35])
    np.testing.assert_array_equal(variance[5:], [0.0, 0.0])
    assert judged[5:].all()


def test_a_rating_alone_on_its_item_is_not_judged():
    ratings = (np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([0.5, 0.2, 0.3]))
    params = (np.ones(2), np.zeros(2), np.full(2, 0.1))
    totals = _sum_item_totals(*ratings, 2, *params)
    location, variance, judged = _estimate_others_locations(*ratings, totals, *params)
    np.testing.assert_array_equal(judged, [False, True, True])
    assert np.isnan(location[0]) and np.isnan(variance[0])


@pytest.mark.parametrize("bounded", [False, True])
def test_predictive_log_density_is_the_normal_widened_by_the_location_variance(
    bounded,
):
    """sd = sqrt(s**2 + v): the plain normal's scipy density, or the normal
    truncated to the unit range."""
    rng = np.random.default_rng(0)
    score = rng.uniform(0, 1, 20)
    location = rng.uniform(0.1, 0.9, 20)
    variance = rng.uniform(0, 0.02, 20)
    scale = 0.15
    sd = np.sqrt(scale**2 + variance)
    got = _compute_predictive_log_density(
        score, location, variance, scale, 0.0, bounded
    )
    if bounded:
        expected = stats.truncnorm.logpdf(
            score, -location / sd, (1 - location) / sd, location, sd
        )
    else:
        expected = stats.norm.logpdf(score, location, sd)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_predictive_log_density_on_levels_is_the_cell_of_the_widened_normal():
    """On levels the density is the levels form's at sd = sqrt(s**2 + v);
    the plain normal reads no levels."""
    score = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    location = np.array([0.2, 0.35, 0.5, 0.6, 0.8])
    variance = np.array([0.0, 0.01, 0.02, 0.005, 0.0])
    sd = np.sqrt(0.2**2 + variance)
    expected = _compute_good_terms(score, location, sd, (0.0, 1.0), half_step=0.1)
    np.testing.assert_allclose(
        _compute_predictive_log_density(score, location, variance, 0.2, 0.1, True),
        expected["log_density"],
    )
    np.testing.assert_allclose(
        _compute_predictive_log_density(score, location, variance, 0.2, 0.1, False),
        stats.norm.logpdf(score, location, sd),
    )


def test_predictive_log_density_closed_reads_the_normal_truncated_to_the_range():
    """With ``closed`` the levels' outer cells end at the range's ends (the
    normal truncated to it); exact scores read the same either way."""
    score = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    location = np.array([0.2, 0.35, 0.5, 0.6, 0.95])
    variance = np.array([0.0, 0.01, 0.02, 0.005, 0.0])
    sd = np.sqrt(0.3**2 + variance)
    np.testing.assert_allclose(
        _compute_predictive_log_density(
            score, location, variance, 0.3, 0.1, True, closed=True
        ),
        _compute_closed_level_log_density(score, location, sd, (0.0, 1.0), 0.1),
    )
    for bounded in (True, False):
        np.testing.assert_array_equal(
            _compute_predictive_log_density(
                score, location, variance, 0.3, 0.0, bounded, closed=True
            ),
            _compute_predictive_log_density(
                score, location, variance, 0.3, 0.0, bounded
            ),
        )


def test_predictive_log_odds_add_the_prior_odds_and_take_off_the_random_density():
    log_odds = _estimate_predictive_log_odds(
        np.array([3.0, -2.0]), np.array([0.0, -0.01]), 0.8
    )
    np.testing.assert_allclose(log_odds, [np.log(4.0) + 3.0, np.log(4.0) - 1.99])


def test_item_totals_sum_each_items_weighted_ratings():
    totals = _sum_item_totals(
        np.array([0, 0, 2]),
        np.array([0, 1, 1]),
        np.array([0.5, 0.7, 0.2]),
        3,
        np.array([1.0, 0.5]),
        np.array([0.1, -0.1]),
        np.array([0.5, 1.0]),
    )
    np.testing.assert_allclose(totals[0], [4 * 0.4 + 0.5 * 0.8, 0.0, 0.5 * 0.3])
    np.testing.assert_allclose(totals[1], [4.5, 0.0, 0.5])
    np.testing.assert_allclose(totals[2], [1.5, 0.0, 0.5])
    np.testing.assert_allclose(
        totals[3], [4 * 0.4**2 + 0.5 * 0.8**2, 0.0, 0.5 * 0.3**2]
    )
    np.testing.assert_allclose(totals[4], [1.25, 0.0, 0.25])


def test_parabola_peak_is_exact_on_a_parabola_and_near_the_best_point():
    u = np.array([0.0, 0.25, 0.5])
    assert _estimate_parabola_peak(u, -((u - 0.3) ** 2)) == pytest.approx(0.3)
    # The middle point the best: the peak is within half a step of it.
    assert _estimate_parabola_peak(u, np.array([-10.0, 0.0, -1e-9])) == pytest.approx(
        0.375
    )
    # Not concave: the middle point.
    assert _estimate_parabola_peak(u, np.array([0.0, 1.0, 2.0])) == 0.25


def _few_raters_panel(seed, n_items=400, n_annotators=30, per_item=3, noise=0.1):
    """Honest raters of one noise, ``per_item`` to an item, in unit space."""
    rng = np.random.default_rng(seed)
    item = np.repeat(np.arange(n_items), per_item)
    annotator = np.concatenate(
        [rng.choice(n_annotators, per_item, replace=False) for _ in range(n_items)]
    )
    truth = rng.uniform(0.3, 0.7, n_items)
    score = truth[item] + rng.normal(0.0, noise, item.size)
    return _ratings(item, annotator, score, n_items, n_annotators)


def test_noise_factor_undoes_the_shrinking_of_fitted_sigmas():
    """Three raters per item of noise 0.1: sigma fitted beside the items'
    means is about sqrt(2/3) of it. A rating's prediction from the other two
    has the noise's variance plus their mean's, 0.01 * 3 / 2; with the
    fitted sigma the mean's is read too small (sigma**2 / 2), and the factor
    makes up the whole: ``(k sigma)**2 + sigma**2 / 2`` is 0.015, within 5%,
    from the fitted sigma and from the true one (k about 1)."""
    ratings = _few_raters_panel(0)
    n = ratings.n_annotators
    data = _InMemoryBackend(_Block(ratings), ratings.n_per_annotator, False)
    means = np.bincount(ratings.item, ratings.score) / 3.0
    fitted = np.sqrt(np.mean((ratings.score - means[ratings.item]) ** 2))
    assert fitted == pytest.approx(0.1 * np.sqrt(2 / 3), rel=0.05)
    for sigma in (fitted, 0.1):
        params = _Params(np.zeros(n), np.full(n, sigma), sigma, 1.0 - 1e-6)
        factor = _estimate_noise_factor(
            data, params, np.ones(n), np.ones(n, bool), False
        )
        assert (factor * sigma) ** 2 + sigma**2 / 2 == pytest.approx(0.015, rel=0.05)
    assert factor == pytest.approx(1.0, rel=0.03)


def test_noise_factor_keeps_each_annotators_own_noise():
    """Half the raters with noise 0.05, half 0.2, their sigmas known: the
    factor is 1 (within 5%), where one sigma for the panel would be set
    between the two."""
    rng = np.random.default_rng(2)
    n_items, n = 400, 20
    item = np.repeat(np.arange(n_items), 6)
    annotator = np.concatenate(
        [rng.choice(n, 6, replace=False) for _ in range(n_items)]
    )
    sigma = np.where(np.arange(n) < 10, 0.05, 0.2)
    score = rng.uniform(0.3, 0.7, n_items)[item] + rng.normal(0, sigma[annotator])
    ratings = _ratings(item, annotator, score, n_items, n)
    data = _InMemoryBackend(_Block(ratings), ratings.n_per_annotator, False)
    params = _Params(np.zeros(n), sigma, 0.1, 1.0 - 1e-6)
    factor = _estimate_noise_factor(data, params, np.ones(n), np.ones(n, bool), False)
    assert factor == pytest.approx(1.0, rel=0.05)


def test_the_kernel_sums_each_annotators_judged_ratings_only_among():
    """The kernel's sums are those of the helpers, per annotator ``among``."""
    ratings = _few_raters_panel(1, n_items=20, n_annotators=6)
    n = ratings.n_annotators
    weights = np.linspace(0.2, 1.0, n)
    bias = np.linspace(-0.05, 0.05, n)
    sigma = np.linspace(0.05, 0.15, n)
    among = np.arange(n) % 2 == 0
    factors = np.array([0.5, 1.0])
    _, out = _kernel_predictive_log_density(
        _Block(ratings), weights, bias, sigma, factors, among, False
    )
    rated = (ratings.item, ratings.annotator, ratings.score)
    totals = _sum_item_totals(*rated, 20, weights, bias, sigma)
    location, variance, judged = _estimate_others_locations(
        *rated, totals, weights, bias, sigma
    )
    for a in range(n):
        mine = judged & (ratings.annotator == a)
        assert out["n_predicted"][a] == (mine.sum() if among[a] else 0)
        for k, factor in enumerate(factors):
            expected = stats.norm.logpdf(
                ratings.score[mine],
                location[mine] + bias[a],
                np.sqrt((factor * sigma[a]) ** 2 + variance[mine]),
            ).sum()
            assert out["predictive_log_density"][k, a] == pytest.approx(
                expected if among[a] else 0.0
            )


def _hard_panel(seed, n_random=2):
    """1..5 judgments with a noise of 4/3, 8 to 10 raters per item, the
    first ``n_random`` of 20 raters uniform on the levels."""
    from benchmarks.crowds import _hard_panel

    return _hard_panel(np.random.default_rng(seed), (8, 10), n_random)


def _fit(Estimator, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Estimator(**params).fit(X)


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
def test_honest_raters_the_others_consensus_cannot_condemn_are_undetermined(
    Estimator,
):
    """On a hard panel whose first fit flags an honest rater beside the two
    random ones, the check leaves it out of the mixture: undetermined (not
    judged), counted at pi_ in the consensus; the random raters, whom the
    others' consensus condemns, stay random."""
    X, _ = _hard_panel(9)
    with mock.patch("skem._em.driver._find_undetermined", _spares_nobody):
        unchecked = _fit(Estimator, X)
    np.testing.assert_array_equal(np.flatnonzero(unchecked.weights_ < 0.5), [0, 1, 3])
    checked = _fit(Estimator, X)
    np.testing.assert_array_equal(np.flatnonzero(~checked.judged_), [3])
    assert checked.consensus_weights_[3] == pytest.approx(checked.pi_)
    assert np.all(checked.weights_[:2] < 0.1)
    verdicts, reasons = _annotator_verdicts(
        checked.weights_, n_judged=checked.n_judged_ratings_, judged=checked.judged_
    )
    assert verdicts[3] == "undetermined" and TOO_LITTLE_AGREEMENT in reasons[3]
    np.testing.assert_array_equal(verdicts[:2], ["random", "random"])


def test_random_raters_on_a_wide_scale_stay_random():
    """Where random raters' ratings miss the others' consensus by far (a
    panel that agrees closely on a wide scale), the check spares none of
    them, nor flags anyone else."""
    rng = np.random.default_rng(3)
    truth = rng.uniform(1, 5, 40)
    X = np.clip(np.round(truth[:, None] + rng.normal(0, 0.4, (40, 12))), 1, 5)
    X[:, :3] = rng.integers(1, 6, (40, 3))
    em = _fit(AnnotatorEM, X)
    np.testing.assert_array_equal(np.flatnonzero(em.weights_ < 0.1), [0, 1, 2])
    assert em.judged_.all()


def test_review_weights_count_the_flagged_at_the_prior():
    np.testing.assert_array_equal(
        _estimate_review_weights(np.array([1.0, 0.95, 0.3, 0.0]), 0.6),
        [1.0, 0.95, 0.6, 0.6],
    )


@pytest.mark.parametrize("seed", [2, 22])
def test_an_honest_panel_whose_first_fit_collapses_is_not_condemned(seed):
    """1..5 judgments with a noise of 4/3 and 3 to 5 raters per item: on
    these draws the first fit takes the half of the panel that happens to
    agree for the good ones and calls 8 or 9 of the 20 honest raters random.
    Reviewed on the others' consensus, where the flagged count at pi_,
    nobody is called random, and the consensus is within 1% of the plain
    mean's error (1.70 times it before)."""
    from benchmarks.crowds import _error_over_mean, _hard_panel

    X, truth = _hard_panel(np.random.default_rng(seed), (3, 5), 0)
    with mock.patch("skem._em.driver._find_undetermined", _spares_nobody):
        unchecked = _fit(AnnotatorEM, X)
    assert np.sum(unchecked.weights_ < 0.5) >= 8
    checked = _fit(AnnotatorEM, X)
    assert not np.any(checked.judged_ & (checked.weights_ < 0.1))
    assert _error_over_mean(checked.mu_, X, truth) <= 1.01


def _slider_panel(seed, noise=1.5, random_fraction=0.1):
    """0..100 sliders on statements with a verdict 0..5, 110 workers of 11
    answers, honest workers each with its own use of the scale."""
    from benchmarks.crowds import _slider_panel

    return _slider_panel(np.random.default_rng(seed), noise, random_fraction)


def _open_reading_only():
    """The check with the levels read only as EM reads them (outer cells
    open): the closed reading finds nothing to judge."""
    reading = predictive._estimate_reading_log_odds

    def open_only(*args, closed, ratio):
        return None if closed else reading(*args, closed=closed, ratio=ratio)

    return mock.patch.object(predictive, "_estimate_reading_log_odds", open_only)


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
def test_honest_workers_who_keep_off_a_sliders_ends_are_not_condemned(Estimator):
    """Hard judgments on a 0..100 slider, whose honest workers use the scale
    each in their own way: read with open outer cells, the wide normal puts
    much of its mass on 0 and 100, and the workers who answer in the
    middle look less likely than the uniform, so the first fit and the open
    reading condemn half of the honest panel and the consensus falls well
    below the plain mean's Spearman. With the cells closed at the scale's
    ends they cannot be called random: no honest worker is flagged, and the
    consensus is within 0.01 of the mean's."""
    X, verdict, random = _slider_panel(0)
    mean = stats.spearmanr(np.nanmean(X, axis=1), verdict)[0]
    with _open_reading_only():
        opened = _fit(Estimator, X)
    assert np.mean(opened.weights_[~random] < 0.5) > 0.3
    assert stats.spearmanr(opened.mu_, verdict)[0] < mean - 0.05
    both = _fit(Estimator, X)
    assert not np.any(both.weights_[~random] < 0.5)
    assert stats.spearmanr(both.mu_, verdict)[0] >= mean - 0.01


def test_the_closed_reading_is_of_levels_from_the_posteriors_consensus():
    """Levels are read twice, the second time closed and with each
    annotator weighed by its posterior in the others' consensus (the
    flagged counted at pi_ would let random raters vouch for each other);
    exact scores once, open."""
    calls = []
    reading = predictive._estimate_reading_log_odds

    def spy(data, params, weights, flagged, good, form, *, closed, ratio):
        calls.append((closed, weights.copy(), params.pi))
        return reading(
            data, params, weights, flagged, good, form, closed=closed, ratio=ratio
        )

    X, _ = _hard_panel(9)
    with mock.patch.object(predictive, "_estimate_reading_log_odds", spy):
        em = _fit(AnnotatorEM, X)
    assert [closed for closed, _, _ in calls[:2]] == [False, True]
    (_, review, pi), (_, posterior, _) = calls[:2]
    np.testing.assert_array_equal(review, np.maximum(posterior, pi))
    assert np.any(posterior < pi)
    assert em.levels_ is not None
    calls.clear()
    with mock.patch.object(predictive, "_estimate_reading_log_odds", spy):
        _fit(AnnotatorEM, X, levels=None)
    assert calls and not any(closed for closed, _, _ in calls)


@settings(max_examples=_budget(60), deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_items=st.integers(1, 6),
    n_annotators=st.integers(2, 5),
)
def test_others_location_is_the_weighted_mean_of_the_items_other_ratings(
    seed, n_items, n_annotators
):
    """For any panel, weights, biases and sigmas: each judged rating's
    others' location is the weighted mean, computed directly, of the other
    ratings of its item less their biases, and its variance the inverse of
    their weights' sum; a rating is judged exactly when its item's other
    raters weigh at least ``_MIN_OTHER_WEIGHT``."""
    rng = np.random.default_rng(seed)
    rated = rng.random((n_items, n_annotators)) < 0.7
    item, annotator = np.nonzero(rated)
    score = rng.uniform(0, 1, item.size)
    weights = rng.choice([0.0, 0.3, 1.0], n_annotators) * rng.uniform(
        0.5, 1, n_annotators
    )
    bias = rng.normal(0, 0.1, n_annotators)
    sigma = rng.uniform(0.05, 0.5, n_annotators)
    totals = _sum_item_totals(item, annotator, score, n_items, weights, bias, sigma)
    location, variance, judged = _estimate_others_locations(
        item, annotator, score, totals, weights, bias, sigma
    )
    for r in range(item.size):
        others = (item == item[r]) & (np.arange(item.size) != r)
        lam = weights[annotator[others]] / sigma[annotator[others]] ** 2
        assert judged[r] == (weights[annotator[others]].sum() >= _MIN_OTHER_WEIGHT)
        if judged[r]:
            centred = score[others] - bias[annotator[others]]
            assert location[r] == pytest.approx(np.sum(lam * centred) / lam.sum())
            assert variance[r] == pytest.approx(1.0 / lam.sum())


def test_sampled_annotators_are_every_kth_for_about_the_ratings_asked():
    among = np.array([True, True, False, True, True, True, True])
    n = np.array([10, 0, 50, 10, 10, 10, 10])
    # 50 ratings among them, at most 60 asked: all of those with ratings.
    np.testing.assert_array_equal(
        _sample_annotators(among, n, 60), [1, 0, 0, 1, 1, 1, 1]
    )
    # 20 asked: every 3rd of the five with ratings.
    np.testing.assert_array_equal(
        _sample_annotators(among, n, 20), [1, 0, 0, 0, 0, 1, 0]
    )
