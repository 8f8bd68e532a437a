"""The sigma rescue: its choice by the marginal term, bound, screen and skip."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import skem._model.form
import skem._model.likelihoods
import skem._model.rescue
from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.backend import _Block
from skem._em.ratings import _Ratings, _ratings_from_matrix
from skem._model.form import _model_form, _Params
from skem._model.likelihoods import (
    _compute_good_terms,
    _estimate_normal_log_density,
)
from skem._model.rescue import (
    _choose_sigma_by_marginal,
    _kernel_level_density_bounds,
    _kernel_log_mass_sums,
    _rescue,
    _rescue_truncated_sigma,
    _settle_rescue,
)
from skem._model.truncated_terms import _kernel_annotator_sums
from tests._helpers import (
    _backend,
    _budget,
    _fit_quietly,
    _log_sigma_prior,
    _random_ratings,
    _terms,
)


def test_choose_sigma_by_marginal_takes_the_candidate_exactly_when_higher():
    """The candidate is taken iff log(pi e^g' + (1-pi) e^bad) + log p(sigma'^2)
    > log(pi e^g + (1-pi) e^bad) + log p(sigma^2), computed here by a loop,
    by more than rounding: a tie to rounding keeps the current sigma, so that
    the order of the ratings never decides."""
    rng = np.random.default_rng(0)
    n = 400
    sigma = rng.uniform(0.01, 0.5, n)
    candidate = rng.uniform(0.01, 0.5, n)
    good = rng.uniform(-40.0, 5.0, n)
    candidate_good = good + rng.normal(0, 3, n)
    log_bad = rng.uniform(-20.0, 0.0, n)
    tau, nu = 0.1, 50.0
    # Ties: the same sigma and density is never "higher", nor one that
    # differs from it by rounding.
    candidate[:10], candidate_good[:10] = sigma[:10], good[:10]
    candidate_good[5:10] = good[5:10] * (1 - 1e-15)

    for pi in (0.3, 1e-6, 1 - 1e-6):
        take = _choose_sigma_by_marginal(
            sigma, good, candidate, candidate_good, pi, log_bad, (tau, nu)
        )
        assert not take[:10].any()
        decided = 0
        for a in range(10, n):

            def marginal(log_good, s, a=a, pi=pi):
                top = max(log_good, log_bad[a])
                mixed = pi * math.exp(log_good - top) + (1 - pi) * math.exp(
                    log_bad[a] - top
                )
                return top + math.log(mixed) + _log_sigma_prior(s, tau, nu)

            difference = marginal(candidate_good[a], candidate[a]) - marginal(
                good[a], sigma[a]
            )
            if abs(difference) < 1e-9:
                continue  # a tie to rounding: either choice is right
            decided += 1
            assert take[a] == (difference > 0), a
        assert decided > 0.9 * (n - 10)


@settings(max_examples=_budget(50))
@given(
    seed=st.integers(0, 2**32 - 1),
    widest=st.floats(0.01, 1.0),
    n_ratings=st.integers(1, 40),
)
def test_truncated_density_at_a_narrower_sigma_is_below_the_rescue_bound(
    seed, widest, n_ratings
):
    """For consensus values inside the bounds, an annotator's truncated log
    density at any sigma up to ``widest`` is at most the plain normal one
    minus sum log Z(mu_i, widest): the upper bound by which the rescue rules
    out candidates without a pass of normal CDFs per rating, here with the
    kernel's lower bound on each log Z, itself checked against
    scipy.stats.norm, rating by rating."""
    rng = np.random.default_rng(seed)
    n_items, n_annotators = 6, 3
    ratings = _random_ratings(rng, n_items, n_annotators, n_ratings)
    mu = rng.uniform(0, 1, n_items)
    mu[rng.integers(0, n_items)] = rng.choice([0.0, 1.0])
    selected = np.array([True, False, True])
    block = _Block(ratings, None, mu)
    _, outputs = _kernel_log_mass_sums(block, widest, selected)
    expected = np.zeros(n_annotators)
    for i, a in zip(ratings.item, ratings.annotator, strict=True):
        if selected[a]:
            expected[a] += math.log(
                stats.norm.cdf((1 - mu[i]) / widest) - stats.norm.cdf(-mu[i] / widest)
            )
    assert np.all(
        outputs["log_mass"][selected]
        <= expected[selected] + 1e-12 * (1 + np.abs(expected[selected]))
    )
    assert np.all(outputs["log_mass"][~selected] == 0)

    sigma = rng.uniform(1e-3, 1.0, n_annotators) * widest
    terms = _terms(ratings, mu, np.zeros(n_annotators), sigma)
    exact = np.bincount(ratings.annotator, terms["log_density"], minlength=3)
    residuals = ratings.score - mu[ratings.item]
    sq_residuals = np.bincount(ratings.annotator, residuals**2, minlength=3)
    n = np.bincount(ratings.annotator, minlength=3)
    bound = _estimate_normal_log_density(sq_residuals, n, sigma) - outputs["log_mass"]
    assert np.all(
        exact[selected] <= bound[selected] + 1e-9 * (1 + np.abs(exact)[selected])
    )


def test_log_mass_sums_by_chunks_of_items_are_those_of_one_pass(monkeypatch):
    """Items taken 3 at a time, some locations outside the bounds (no bound,
    -inf), give the sums of one pass, to rounding: the bound is evaluated
    item by item, and only the sums over each chunk's ratings regroup."""
    rng = np.random.default_rng(11)
    ratings = _random_ratings(rng, 10, 4, 60)
    mu = rng.uniform(-0.1, 1.1, 10)
    mu[[2, 5]] = [-0.2, 1.3]
    selected = np.array([True, True, False, True])
    block = _Block(ratings, None, mu)
    whole = _kernel_log_mass_sums(block, 0.2, selected)[1]["log_mass"]
    monkeypatch.setattr(skem._model.likelihoods, "_CHUNK_SIZE", 3)
    chunked = _kernel_log_mass_sums(block, 0.2, selected)[1]["log_mass"]
    np.testing.assert_allclose(chunked, whole, rtol=1e-14)
    assert np.isneginf(whole[selected]).any() and whole[2] == 0.0


@pytest.mark.parametrize("em", ["soft", "hard"])
def test_rescue_screen_rules_out_only_candidates_that_lose(monkeypatch, em):
    """The rescue with its bound takes exactly the candidates that it takes
    when it evaluates every candidate (log Z = -inf disables the bound), on
    suspects of two kinds: noisy honest raters, whose wider sigma is taken,
    and random raters, whom the bound rules out before any per-rating pass."""
    rng = np.random.default_rng(0)
    n_items = 200
    truth = rng.uniform(0, 1, n_items)
    spread = np.r_[np.full(6, 0.06), np.full(3, 0.25)]
    honest = np.clip(truth[:, None] + rng.normal(0, spread, (n_items, 9)), 0, 1)
    X = np.c_[honest, rng.uniform(0, 1, (n_items, 3))]
    ratings = _ratings_from_matrix(X)
    weights = np.r_[np.ones(6), np.full(6, 1e-3)]
    sigma = np.full(12, 0.06)
    prior = (0.06, 20.0)

    def rescue():
        data = _backend(ratings, truth, np.zeros(12), sigma)
        current = data.reduce(_kernel_annotator_sums, np.zeros(12), sigma)
        return _rescue_truncated_sigma(
            data, np.zeros(12), sigma, weights, prior, em, current, False
        )

    evaluated = []
    trial = skem._model.rescue._kernel_annotator_trial

    def recording_trial(block, bias, sigma, weights, log_posterior, annotators):
        evaluated.append(annotators.copy())
        return trial(block, bias, sigma, weights, log_posterior, annotators)

    monkeypatch.setattr(skem._model.rescue, "_kernel_annotator_trial", recording_trial)
    screened, taken = rescue()
    # Only the noisy honest raters needed their pass of normal CDFs.
    np.testing.assert_array_equal(evaluated[0], np.arange(12) // 3 == 2)
    monkeypatch.setattr(
        skem._model.rescue,
        "_kernel_log_mass_sums",
        lambda block, *_: (block, {"log_mass": np.full(12, -np.inf)}),
    )
    unscreened, taken_unscreened = rescue()
    np.testing.assert_array_equal(taken, taken_unscreened)
    np.testing.assert_array_equal(screened, unscreened)
    assert taken[6:9].all() and not taken[9:].any()


@settings(max_examples=_budget(100))
@given(
    seed=st.integers(0, 2**32 - 1),
    n_levels=st.integers(2, 101),
    n_ratings=st.integers(1, 40),
    log_sigma=st.floats(-28.0, 0.0),
    biased=st.booleans(),
)
def test_level_density_is_below_the_rescue_bound(
    seed, n_levels, n_ratings, log_sigma, biased
):
    """Each selected annotator's log density of levels, as the levels form
    computes it (its normal CDFs), is at most the bound of
    :func:`_kernel_level_density_bounds`, for locations on the scale or off
    it, with or without biases, for sigmas from 1e-12 to the scale's width:
    the screen never rules out a candidate that could win."""
    rng = np.random.default_rng(seed)
    n_items, n_annotators = 5, 4
    half_step = 0.5 / n_levels
    levels = (2 * rng.integers(0, n_levels, n_ratings) + 1) * half_step
    ratings = _Ratings(
        rng.integers(0, n_items, n_ratings),
        rng.integers(0, n_annotators, n_ratings),
        levels,
        n_items,
        n_annotators,
    ).with_scores(levels, half_step)
    mu = rng.uniform(-0.5, 1.5, n_items)
    mu[0] = rng.choice(levels)
    bias = rng.normal(0, 0.2, n_annotators) if biased else np.zeros(n_annotators)
    sigma = np.exp(log_sigma) * rng.uniform(0.5, 1.0, n_annotators)
    selected = np.array([True, False, True, True])
    _, outputs = _kernel_level_density_bounds(
        _Block(ratings, None, mu), bias, sigma, selected
    )
    annotator = ratings.annotator
    exact = np.bincount(
        annotator,
        _compute_good_terms(
            ratings.score,
            mu[ratings.item] + bias[annotator],
            sigma[annotator],
            (0.0, 1.0),
            half_step=half_step,
        )["log_density"],
        minlength=n_annotators,
    )
    bound = outputs["bound"]
    assert np.all(
        exact[selected] <= bound[selected] + 1e-9 * (1 + np.abs(exact[selected]))
    )
    assert np.all(bound[~selected] == 0)


def test_level_bound_rounds_as_the_levels_form_does():
    """A cell 2.7e7 sigmas away, for a sigma of 2e-12: the distance to it
    taken as ``(score - location - h) / sigma`` rounds 2.7e-5 sigmas away
    from the levels form's ``((score - h) - location) / sigma``, and a bound
    from it fell 490 below the form's log density of -3.6e14."""
    half_step = 0.5 / 1001
    score = np.array([0.526973026973027])
    ratings = _Ratings(np.array([0]), np.array([0]), score, 1, 1).with_scores(
        score, half_step
    )
    location, sigma = np.array([0.5264180084028115]), np.array([2.0554184264809466e-12])
    _, outputs = _kernel_level_density_bounds(
        _Block(ratings, None, location), np.zeros(1), sigma, np.array([True])
    )
    exact = _compute_good_terms(
        score, location, sigma, (0.0, 1.0), half_step=half_step
    )["log_density"]
    assert exact[0] < -3e14
    assert exact[0] <= outputs["bound"][0]
    # An open cell 38 sigmas below the location: its ends 40 sigmas apart
    # differ by a rounding under 40, and it is still open to the bound.
    score = np.array([half_step])
    ratings = _Ratings(np.array([0]), np.array([0]), score, 1, 1).with_scores(
        score, half_step
    )
    location, sigma = np.array([1.8329138135787857]), np.array([0.04821517253462501])
    _, outputs = _kernel_level_density_bounds(
        _Block(ratings, None, location), np.zeros(1), sigma, np.array([True])
    )
    exact = _compute_good_terms(
        score, location, sigma, (0.0, 1.0), half_step=half_step
    )["log_density"]
    assert exact[0] <= outputs["bound"][0]


@pytest.mark.parametrize("em", ["soft", "hard"])
def test_on_levels_the_screen_rules_out_only_candidates_that_lose(monkeypatch, em):
    """On levels too, the rescue with its bound takes exactly the candidates
    that it takes when it evaluates every candidate, and random raters with
    many ratings on a fine scale need no pass of normal CDFs."""
    rng = np.random.default_rng(1)
    n_items = 300
    truth = rng.uniform(0.2, 0.8, n_items)
    spread = np.r_[np.full(4, 0.08), np.full(2, 0.3)]
    honest = truth[:, None] + rng.normal(0, spread, (n_items, 6))
    X = np.c_[honest, rng.uniform(0, 1, (n_items, 2))]
    # Twenty levels on the unit range: each cell 0.05 wide.
    X = np.clip(np.round((X - 0.025) / 0.05), 0, 19) * 0.05 + 0.025
    unit = _ratings_from_matrix(X)
    ratings = unit.with_scores(unit.score, half_step=0.025)
    weights = np.r_[np.ones(4), np.full(4, 1e-3)]
    sigma = np.full(8, 0.08)

    def rescue():
        data = _backend(ratings, truth, np.zeros(8), sigma)
        current = data.reduce(_kernel_annotator_sums, np.zeros(8), sigma)
        return _rescue_truncated_sigma(
            data, np.zeros(8), sigma, weights, (0.08, 20.0), em, current, True
        )

    evaluated = []
    trial = skem._model.rescue._kernel_annotator_trial

    def recording_trial(block, bias, sigma, weights, log_posterior, annotators):
        evaluated.append(annotators.copy())
        return trial(block, bias, sigma, weights, log_posterior, annotators)

    monkeypatch.setattr(skem._model.rescue, "_kernel_annotator_trial", recording_trial)
    screened, taken = rescue()
    np.testing.assert_array_equal(evaluated[0], np.arange(8) // 2 == 2)
    monkeypatch.setattr(
        skem._model.rescue,
        "_kernel_level_density_bounds",
        lambda block, *_: (block, {"bound": np.full(8, np.inf)}),
    )
    unscreened, taken_unscreened = rescue()
    np.testing.assert_array_equal(evaluated[1], weights < 0.5)
    np.testing.assert_array_equal(taken, taken_unscreened)
    np.testing.assert_array_equal(screened, unscreened)
    assert taken[4:6].all() and not taken[6:].any()


def _panel_with_suspects():
    """Six careful raters, three honest but noisy, three random (the last).

    The noisy and the random raters are judged bad (weight 1e-3), all at the
    careful raters' sigma: the noisy raters win their wider candidate, the
    random raters do not.
    """
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 1, 200)
    spread = np.r_[np.full(6, 0.06), np.full(3, 0.25)]
    honest = np.clip(truth[:, None] + rng.normal(0, spread, (200, 9)), 0, 1)
    ratings = _ratings_from_matrix(np.c_[honest, rng.uniform(0, 1, (200, 3))])
    return ratings, truth, np.r_[np.ones(6), np.full(6, 1e-3)]


def _rescue_of(ratings, truth, weights, declined, em="soft"):
    """:func:`_rescue` of a per-annotator truncated form at sigma 0.06."""
    sigma = np.full(12, 0.06)
    data = _backend(ratings, truth, np.zeros(12), sigma)
    sums = data.reduce(_kernel_annotator_sums, np.zeros(12), sigma)
    form = _model_form(True, "per_annotator", False, 20.0, 1e-3, em == "hard")
    return _rescue(form, data, np.zeros(12), sigma, 0.06, weights, sums, declined)


@pytest.mark.parametrize("em", ["soft", "hard"])
def test_rescue_is_not_offered_again_while_the_declined_stay_judged_bad(
    monkeypatch, em
):
    """A rescue that took nothing records its suspects; the next M-step with
    the same suspects skips the offer and says so, with sigma unchanged; other
    suspects get an offer."""
    ratings, truth, weights = _panel_with_suspects()
    weights[6:9] = 1.0  # only the random raters are suspects
    _, sigma, _, sums = _rescue_of(ratings, truth, weights, None, em)
    suspects = np.arange(12) >= 9
    np.testing.assert_array_equal(sums["declined"], suspects)
    assert not sums["rescue_skipped"]
    np.testing.assert_array_equal(sigma, 0.06)

    offers = []
    offer = skem._model.rescue._offer_rescue

    def recording_offer(*args):
        offers.append(args)
        return offer(*args)

    monkeypatch.setattr(skem._model.rescue, "_offer_rescue", recording_offer)
    _, sigma, shared, sums = _rescue_of(ratings, truth, weights, suspects, em)
    assert offers == [] and sums["rescue_skipped"]
    np.testing.assert_array_equal(sums["declined"], suspects)
    np.testing.assert_array_equal(sigma, 0.06)
    assert shared == pytest.approx(0.06)
    _rescue_of(ratings, truth, weights, np.arange(12) >= 10, em)
    assert len(offers) == 1


def test_rescue_that_takes_a_candidate_records_nothing_to_skip():
    """Taken candidates widen the noisy raters' sigma, and the next M-step
    offers the rescue again: nothing is recorded as declined."""
    ratings, truth, weights = _panel_with_suspects()
    _, sigma, _, sums = _rescue_of(ratings, truth, weights, None)
    assert (sigma[6:9] > 0.06).all()
    np.testing.assert_array_equal(sigma[np.r_[0:6, 9:12]], 0.06)
    assert "declined" not in sums and "rescue_skipped" not in sums


@pytest.mark.parametrize("em", ["soft", "hard"])
def test_settle_offers_only_a_skipped_rescue_and_returns_what_it_takes(em):
    """Before a run stops: nothing to do if the M-step offered its rescue or
    if the offer takes nothing; otherwise the rescue's own sigma, shared
    scale and the sums at them."""
    ratings, truth, weights = _panel_with_suspects()
    sigma = np.full(12, 0.06)
    form = _model_form(True, "per_annotator", False, 20.0, 1e-3, em == "hard")
    params = _Params(np.zeros(12), sigma, 0.06, 0.5)

    def settle(skipped, weights):
        data = _backend(ratings, truth, np.zeros(12), sigma)
        sums = data.reduce(_kernel_annotator_sums, np.zeros(12), sigma)
        statistics = {**sums, "declined": weights < 0.5, "rescue_skipped": skipped}
        return _settle_rescue(form, data, params, weights, statistics)

    assert settle(False, weights) is None
    random_only = np.where(np.arange(12) < 9, 1.0, 1e-3)
    assert settle(True, random_only) is None
    assert settle(True, np.ones(12)) is None
    new_sigma, shared, sums = settle(True, weights)
    _, expected, expected_shared, expected_sums = _rescue_of(
        ratings, truth, weights, None, em
    )
    np.testing.assert_array_equal(new_sigma, expected)
    assert shared == expected_shared
    np.testing.assert_allclose(sums["log_density"], expected_sums["log_density"])
    assert "rescue_skipped" not in sums


@pytest.mark.parametrize("estimator", [AnnotatorEM, HardAnnotatorEM])
def test_fit_that_skips_declined_rescues_is_the_fit_that_offers_every_one(
    monkeypatch, estimator
):
    """Skipping an offer that would take nothing changes nothing: the fit is
    the one that offers the rescue at every M-step, to the last bit, and it
    skipped some; the run stopped after the settle's offer."""
    rng = np.random.default_rng(3)
    truth = rng.uniform(0.1, 0.9, 60)
    X = np.clip(truth[:, None] + rng.normal(0, 0.05, (60, 10)), 0, 1)
    X[:, 7:] = rng.uniform(0, 1, (60, 3))
    rescue = skem._model.rescue._rescue
    skipped, settled = [], []

    def recording_rescue(*args):
        out = rescue(*args)
        skipped.append(out[3].get("rescue_skipped", False))
        return out

    settle = skem._model.form._settle_rescue

    def recording_settle(*args):
        settled.append(settle(*args))
        return settled[-1]

    monkeypatch.setitem(skem._model.rescue._RESCUES, "per_annotator", recording_rescue)
    monkeypatch.setattr(skem._model.form, "_settle_rescue", recording_settle)
    fit = _fit_quietly(estimator(score_range=(0, 1)), X)
    assert any(skipped) and settled[-1] is None
    monkeypatch.setitem(
        skem._model.rescue._RESCUES,
        "per_annotator",
        lambda *args: rescue(*args[:-1], None),
    )
    every = _fit_quietly(estimator(score_range=(0, 1)), X)
    np.testing.assert_array_equal(fit.mu_, every.mu_)
    np.testing.assert_array_equal(fit.weights_, every.weights_)
    np.testing.assert_array_equal(fit.sigma_, every.sigma_)
    assert fit.n_iter_ == every.n_iter_
    assert (fit.weights_[7:] < 0.5).all()


@settings(max_examples=_budget(60), deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    pi=st.floats(0.01, 0.99),
    noise_prior=st.floats(1.0, 200.0),
    hard=st.booleans(),
)
def test_settle_never_lowers_the_objective_at_the_runs_parameters(
    seed, pi, noise_prior, hard
):
    """The settle's offer is a coordinate step on the objective the run
    stops at: its ``pi`` is the parameters', not the one the E-step's
    weights would give. Random panels, sigmas and ``pi``; the weights are
    the E-step's at them, as in a run (hard EM: from random flags)."""
    rng = np.random.default_rng(seed)
    n_items, n_annotators = rng.integers(4, 30), rng.integers(3, 9)
    truth = rng.uniform(0, 1, n_items)
    spread = rng.uniform(0.02, 0.5, n_annotators)
    X = np.clip(truth[:, None] + rng.normal(0, spread, (n_items, n_annotators)), 0, 1)
    X[rng.random(X.shape) < 0.3] = np.nan
    X[0] = rng.uniform(0, 1, n_annotators)
    ratings = _ratings_from_matrix(X)
    sigma = rng.uniform(0.01, 0.3, n_annotators)
    weights = rng.uniform(0, 1, n_annotators)
    if hard:
        weights = np.round(weights)
    form = _model_form(True, "per_annotator", False, noise_prior, 1e-3, hard)
    params = _Params(np.zeros(n_annotators), sigma, float(np.median(sigma)), pi)
    data = _backend(ratings, truth, params.bias, sigma)
    sums = data.reduce(_kernel_annotator_sums, params.bias, sigma)
    estimator = (HardAnnotatorEM if hard else AnnotatorEM)()
    before = estimator._posterior(data, form, params, sums["log_density"], weights)
    weights = before["responsibility"]
    statistics = {**sums, "declined": weights < 0.5, "rescue_skipped": True}
    settled = _settle_rescue(form, data, params, weights, statistics)
    if settled is None:
        return
    new_sigma, shared_sigma, new_sums = settled
    after = estimator._posterior(
        data,
        form,
        _Params(params.bias, new_sigma, shared_sigma, pi),
        new_sums["log_density"],
        before["weights"],
    )
    slack = 1e-9 * (1.0 + abs(before["objective"]))
    assert after["objective"] >= before["objective"] - slack


def test_skipped_rescue_returns_the_shared_scale_a_declined_offer_gives(monkeypatch):
    """The skip path's shared scale is the one a declined offer returns, the
    estimate from the unchanged sigmas, not the step's own (here 0.1)."""
    ratings, truth, weights = _panel_with_suspects()
    weights[6:9] = 1.0
    sigma = np.r_[np.full(6, 0.05), np.full(6, 0.07)]
    form = _model_form(True, "per_annotator", False, 20.0, 1e-3)
    data = _backend(ratings, truth, np.zeros(12), sigma)
    sums = data.reduce(_kernel_annotator_sums, np.zeros(12), sigma)
    offered = _rescue(form, data, np.zeros(12), sigma, 0.1, weights, sums, None)
    skipped = _rescue(
        form, data, np.zeros(12), sigma, 0.1, weights, sums, offered[3]["declined"]
    )
    assert skipped[3]["rescue_skipped"] and not offered[3]["rescue_skipped"]
    np.testing.assert_array_equal(offered[1], sigma)
    assert skipped[2] == offered[2] != 0.1


@pytest.mark.parametrize("estimator", [AnnotatorEM, HardAnnotatorEM])
def test_run_that_skips_every_offer_converges_only_after_the_settle(
    monkeypatch, estimator
):
    """With every M-step's offer skipped, the settle is the only rescue: on
    panels of honest raters of unequal noise under a weak prior some settle
    takes a candidate, the run goes on after it (the E-step redone, its
    change measured again), and the objective still never decreases."""
    rescue = skem._model.rescue._rescue

    def skipping_rescue(form, data, bias, sigma, shared, weights, sums, declined):
        suspects = (weights < 0.5) & (data.n_per_annotator > 0)
        return rescue(form, data, bias, sigma, shared, weights, sums, suspects)

    settled, reports = [], []
    settle = skem._model.form._settle_rescue

    def recording_settle(*args):
        result = settle(*args)
        settled.append((len(reports), result is not None))
        return result

    monkeypatch.setitem(skem._model.rescue._RESCUES, "per_annotator", skipping_rescue)
    monkeypatch.setattr(skem._model.form, "_settle_rescue", recording_settle)
    took = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        truth = rng.uniform(0.1, 0.9, 40)
        spread = rng.choice([0.03, 0.06, 0.25], 10)
        X = np.clip(truth[:, None] + rng.normal(0, spread, (40, 10)), 0, 1)
        X[:, 8:] = rng.uniform(0, 1, (40, 2))
        settled.clear()
        reports.clear()
        # One start: a leg of init='auto''s race may end at the take.
        fit = estimator(score_range=(0, 1), noise_prior=5.0, init="median")
        fit._iteration_callback = reports.append
        _fit_quietly(fit, X)
        for iteration, taken in settled:
            if taken:
                took += 1
                # The iteration of the take is reported next; its run goes on.
                this, after = reports[iteration : iteration + 2]
                assert (after.init, after.run) == (this.init, this.run)
        assert np.all(np.diff(fit.log_likelihoods_) >= -1e-9 * abs(fit.log_likelihood_))
    assert took > 0


def test_run_that_ends_at_max_iter_settles_a_skipped_rescue(monkeypatch):
    """A run that stops at max_iter without converging also offers the rescue
    its last M-step skipped, as part of its last iteration."""
    rescue = skem._model.rescue._rescue
    monkeypatch.setitem(
        skem._model.rescue._RESCUES,
        "per_annotator",
        lambda form, data, bias, sigma, shared, weights, sums, declined: rescue(
            form,
            data,
            bias,
            sigma,
            shared,
            weights,
            sums,
            (weights < 0.5) & (data.n_per_annotator > 0),
        ),
    )
    calls, reports = [], []
    settle = skem._model.form._settle_rescue

    def recording_settle(form, data, params, weights, statistics):
        calls.append((len(reports), statistics.get("rescue_skipped", False)))
        return settle(form, data, params, weights, statistics)

    monkeypatch.setattr(skem._model.form, "_settle_rescue", recording_settle)
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.1, 0.9, 40)
    X = np.clip(truth[:, None] + rng.normal(0, 0.05, (40, 10)), 0, 1)
    X[:, 8:] = rng.uniform(0, 1, (40, 2))
    fit = AnnotatorEM(score_range=(0, 1), init="median", max_iter=2, tol=0.0)
    fit._iteration_callback = reports.append
    _fit_quietly(fit, X)
    assert not fit.converged_
    # The first run's two iterations: the settle runs in its second, after a
    # skipped offer.
    assert (1, True) in calls and (reports[1].init, reports[1].n_iter) == ("median", 2)
