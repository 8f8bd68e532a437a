"""A careful annotator's slip: one rating far off must not call it random."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp

from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.backend import _Block, _InMemoryBackend
from skem._model.form import _model_form, _Params
from skem._model.lapses import (
    _compute_annotator_worst,
    _estimate_lapse_log_density,
    _estimate_lapse_posterior,
)
from skem._model.likelihoods import _compute_good_terms
from tests._helpers import _budget, _ratings, _spares_nobody


def _small_backend(seed, half_step=0.0):
    """Twelve ratings of four annotators (the last without any) on five items."""
    rng = np.random.default_rng(seed)
    item = np.repeat(np.arange(4), 3)
    annotator = np.tile([0, 1, 2], 4)
    score = rng.uniform(0, 1, 12)
    if half_step:
        score = np.round(score / (2 * half_step)) * 2 * half_step
    ratings = _ratings(item, annotator, score, 5, 4).with_scores(score, half_step)
    location = np.append(rng.uniform(0.1, 0.9, 4), np.nan)
    block = _Block(ratings, None, location)
    return _InMemoryBackend(block, ratings.n_per_annotator, False)


def _params(seed):
    rng = np.random.default_rng(seed + 100)
    sigma = rng.uniform(0.1, 0.4, 4)
    return _Params(rng.uniform(-0.1, 0.1, 4), sigma, 0.2, 0.8)


def _per_rating_log_density(likelihood, ratings, location, params, df):
    """Each rating's good log density by scipy, or by the levels terms."""
    loc = location[ratings.item] + params.bias[ratings.annotator]
    scale = params.sigma[ratings.annotator]
    s = ratings.score
    if likelihood == "normal":
        return stats.norm.logpdf(s, loc, scale)
    if likelihood == "student_t":
        return stats.t.logpdf(s, df, loc, scale)
    if likelihood == "truncated":
        return stats.truncnorm.logpdf(s, -loc / scale, (1 - loc) / scale, loc, scale)
    return _compute_good_terms(s, loc, scale, (0.0, 1.0), half_step=ratings.half_step)[
        "log_density"
    ]


def test_annotator_worst_is_the_least_or_largest_value_of_each_annotator():
    annotator = np.array([2, 0, 2, 0, 2])
    values = np.array([3.0, -1.0, 5.0, 4.0, -2.0])
    np.testing.assert_array_equal(
        _compute_annotator_worst(annotator, values, 4, np.minimum),
        [-1.0, np.inf, -2.0, np.inf],
    )
    np.testing.assert_array_equal(
        _compute_annotator_worst(annotator, values, 4, np.maximum),
        [4.0, -np.inf, 5.0, -np.inf],
    )


@pytest.mark.parametrize(
    "bounded, levels, tail",
    [
        (False, False, None),
        (False, False, 3.0),
        (True, False, None),
        (True, True, None),
    ],
    ids=["normal", "student_t", "truncated", "levels"],
)
@pytest.mark.parametrize("seed", range(3))
def test_each_likelihood_gives_the_log_density_of_each_annotators_least_likely_rating(
    bounded, levels, tail, seed
):
    """``form.worst`` against the least of scipy's per-rating log densities
    (the levels form: of its own cell terms); +inf without ratings, and for
    the annotators not asked for."""
    form = _model_form(bounded, "per_annotator", True, 10.0, 1e-3, False, levels, tail)
    data = _small_backend(seed, half_step=0.05 if levels else 0.0)
    params = _params(seed)
    block = data.state
    per_rating = _per_rating_log_density(
        form.likelihood, block.ratings, block.location, params, tail
    )
    expected = [per_rating[block.ratings.annotator == a].min() for a in range(3)]
    worst = form.worst(data, params, np.ones(4, dtype=bool))
    np.testing.assert_allclose(worst[:3], expected, rtol=1e-12, atol=1e-12)
    assert worst[3] == np.inf
    # Only the ratings of the annotators asked for are read.
    among = np.array([False, True, False, True])
    some = form.worst(data, params, among)
    np.testing.assert_allclose(some[1], expected[1], rtol=1e-12, atol=1e-12)
    assert some[0] == some[2] == some[3] == np.inf


@pytest.mark.parametrize("levels", [False, True])
def test_truncated_worst_reads_the_log_densities_of_a_block_that_holds_them(levels):
    """A block that holds its run's terms gives the least of their log
    densities, for everyone or for the annotators asked for only; they are
    read, not computed again (shifted terms shift the result)."""
    form = _model_form(True, "per_annotator", True, 10.0, 1e-3, False, levels, None)
    data = _small_backend(5, half_step=0.05 if levels else 0.0)
    params = _params(5)
    block = data.state
    everyone, some = np.ones(4, dtype=bool), np.array([False, True, False, True])
    fresh = [form.worst(data, params, among) for among in (everyone, some)]
    log_density = _per_rating_log_density(
        form.likelihood, block.ratings, block.location, params, None
    )
    for shift in (0.0, -1.0):
        terms = {"log_density": log_density + shift}
        data.state = _Block(block.ratings, None, block.location, terms)
        for among, expected in zip((everyone, some), fresh, strict=True):
            np.testing.assert_allclose(
                form.worst(data, params, among), expected + shift, rtol=1e-12
            )


def test_lapse_log_density_reads_the_worst_rating_as_random_at_an_unknown_place():
    """``log_density - worst - log(n)``: the random density is 1 in unit
    space, and each of the n ratings could be the slip."""
    log_density = np.array([-10.0, 5.0, 0.0])
    worst = np.array([-8.0, 1.0, np.inf])
    n = np.array([4, 2, 0])
    np.testing.assert_allclose(
        _estimate_lapse_log_density(log_density, worst, n),
        [-10.0 + 8.0 - np.log(4), 5.0 - 1.0 - np.log(2), -np.inf],
    )


@settings(max_examples=_budget(200), deadline=None)
@given(
    log_densities=st.lists(
        st.floats(-300.0, 50.0, allow_nan=False), min_size=1, max_size=30
    )
)
def test_lapse_log_density_is_a_lower_bound_within_log_n_of_the_lapse_hypothesis(
    log_densities,
):
    """The lapse hypothesis, one rating at an unknown place drawn from the
    random density (1): ``log((1/n) sum_j exp(sum_{i != j} log f_i))``. The
    bound from its largest term is never above it, and at most ``log n``
    below."""
    values = np.asarray(log_densities)
    n = values.size
    exact = logsumexp(values.sum() - values) - np.log(n)
    bound = _estimate_lapse_log_density(
        np.array([values.sum()]), np.array([values.min()]), np.array([n])
    )[0]
    tolerance = 1e-9 * (1.0 + np.abs(values).sum())
    assert bound <= exact + tolerance
    assert bound >= exact - np.log(n) - tolerance


def test_lapse_posterior_is_bayes_rule_with_the_lapse_log_density():
    log_density = np.array([-30.0, 2.0])
    worst = np.array([-31.0, -0.5])
    n = np.array([12, 5])
    pi = 0.9
    random = np.array([0.0, 1.5])
    log_posterior, log_posterior_bad = _estimate_lapse_posterior(
        log_density, worst, n, pi, random
    )
    good = pi * np.exp(log_density - worst - np.log(n))
    expected = good / (good + (1 - pi) * np.exp(random))
    np.testing.assert_allclose(np.exp(log_posterior), expected, rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_posterior_bad), 1 - expected, rtol=1e-12)


def _panel_with_a_slip(seed, n_items=20, n_careful=8, n_random=2):
    """Careful raters (sigma 0.05 on 0..1), random raters, and one slip:
    careful rater 0 rates item 0, whose truth is 0.2, at 1."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.2, 0.8, n_items)
    truth[0] = 0.2
    careful = np.clip(truth[:, None] + rng.normal(0, 0.05, (n_items, n_careful)), 0, 1)
    careful[0, 0] = 1.0
    random = rng.uniform(0, 1, (n_items, n_random))
    return np.hstack([careful, random]), n_careful


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
@pytest.mark.parametrize("seed", range(4))
def test_a_careful_annotator_with_one_slip_is_not_called_random(Estimator, seed):
    """Without the lapse (nor the check of whether its ratings follow the
    items, which spares it on some draws) the slip of 16 sigmas calls
    careful rater 0 random; with it, rater 0 is lapsed and good (its
    posterior allows the slip), and the random raters are still flagged."""
    X, n_careful = _panel_with_a_slip(seed)
    with (
        mock.patch("skem._em.driver._find_lapses", _spares_nobody),
        mock.patch("skem._em.driver._find_followers", _spares_nobody),
    ):
        unspared = Estimator(score_range=(0, 1)).fit(X)
    assert unspared.weights_[0] < 0.5
    em = Estimator(score_range=(0, 1)).fit(X)
    np.testing.assert_array_equal(em.lapsed_, np.arange(X.shape[1]) == 0)
    assert em.judged_[0] and np.exp(em.log_posterior_[0]) >= 0.5
    assert np.all(em.weights_[:n_careful] >= 0.5)
    assert np.all(em.weights_[n_careful:] < 0.5)
    # Its slip still counts in the consensus, as in the mean, through its
    # sigma, which the slip widens.
    assert em.sigma_[0] > np.median(em.sigma_[1:n_careful])


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
def test_random_raters_are_not_spared_for_one_rating(Estimator):
    """A random rater's answers are random throughout: with any one of them
    read as a slip the rest still call it random."""
    for seed in range(6):
        X, n_careful = _panel_with_a_slip(seed, n_random=4)
        em = Estimator(score_range=(0, 1)).fit(X)
        assert not em.lapsed_[n_careful:].any()
        assert np.all(em.weights_[n_careful:] < 0.5)


def test_nobody_is_lapsed_where_the_mixture_fails_its_test(monkeypatch):
    """Without a mixture there is no verdict to spare: a fit that gives way
    to everyone good (here forced, by an unreachable gain) lapses nobody.
    The annotator it would have lapsed, which left the mixture, and the
    random raters, whom the mixture flagged, are not judged; the other
    careful raters are."""
    X, n_careful = _panel_with_a_slip(0)
    assert AnnotatorEM(score_range=(0, 1)).fit(X).lapsed_[0]
    monkeypatch.setattr("skem._em.runs._MIXTURE_TEST_GAIN", np.inf)
    em = AnnotatorEM(score_range=(0, 1)).fit(X)
    assert not em.lapsed_.any()
    assert not em.judged_[0] and not em.judged_[n_careful:].any()
    assert em.judged_[1:n_careful].all()


@pytest.mark.parametrize(
    "form",
    [{"noise": "shared"}, {"bias": True}, {"noise": "shared", "bias": True}],
    ids=["shared", "bias", "shared-bias"],
)
def test_forms_without_a_sigma_of_its_own_keep_the_mixtures_verdict(form):
    """Entered as good, a slip widens its annotator's own sigma; under a
    shared sigma it would pull its item as in the plain mean, under a bias
    shift the annotator's every rating. Those forms spare nobody."""
    X, _ = _panel_with_a_slip(0)
    em = AnnotatorEM(score_range=(0, 1), **form).fit(X)
    assert not em.lapsed_.any()
    assert em.weights_[0] < 0.5
