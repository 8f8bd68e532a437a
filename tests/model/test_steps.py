"""Unit tests of the pure model helpers and the ratings representation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from skem._model.likelihoods import (
    _compute_sigma_log_prior,
)
from skem._model.normal import _estimate_bias_normal
from skem._model.steps import (
    _PI_BOUND,
    _apply_gold,
    _centre_bias,
    _compute_annotator_residual_sums,
    _compute_annotator_sq_residuals,
    _estimate_consensus_normal,
    _estimate_pi,
    _estimate_shared_sigma,
    _estimate_sigma_per_annotator_normal,
    _estimate_sigma_shared_normal,
    _guarded_ascent,
    _rounding_slack,
    _solve_shared_sigma,
)
from skem._model.weights import (
    _compute_annotator_weights,
    _compute_rating_weights,
)
from tests._helpers import (
    ONE3,
    ZERO3,
    _log_sigma_prior,
    _ratings,
)
from tests._helpers import (
    SMALL_X as X,
)


def _consensus(ratings, weights, log_posterior, gold=None):
    rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
    return _estimate_consensus_normal(ratings, rating_weights, ZERO3, ONE3, gold)


def _shared_sigma(sq_residuals, n_per_annotator, weights, log_posterior, floor):
    weights = _compute_annotator_weights(
        np.asarray(n_per_annotator), weights, log_posterior
    )
    return _estimate_sigma_shared_normal(sq_residuals, n_per_annotator, weights, floor)[
        0
    ]


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
    n = ratings.n_per_annotator
    centred, shift = _centre_bias(bias, weights, n, has_gold=False)
    assert weights @ centred == pytest.approx(0.0)
    assert shift == pytest.approx((bias[0] + bias[1]) / 2)
    np.testing.assert_array_equal(centred, bias - shift)
    # Gold items pin the consensus, and so the biases.
    assert _centre_bias(bias, weights, n, has_gold=True)[1] == 0.0
    assert _centre_bias(bias, np.zeros(3), n, has_gold=False)[1] == 0.0


def test_centre_bias_sets_an_annotator_without_ratings_to_0_and_leaves_it_out():
    """Its bias enters no term: it would only drift with the shifts, and tilt them."""
    bias = np.array([0.3, -0.1, 0.7, 0.2])
    weights = np.array([1.0, 0.5, 0.9, 1.0])
    n_per_annotator = np.array([4, 2, 0, 3])
    centred, shift = _centre_bias(bias, weights, n_per_annotator, has_gold=False)
    rated = n_per_annotator > 0
    assert shift == pytest.approx(weights[rated] @ bias[rated] / weights[rated].sum())
    assert centred[2] == 0.0
    assert weights[rated] @ centred[rated] == pytest.approx(0.0, abs=1e-15)
    # With gold, or clipped to limits, it is still 0.
    assert _centre_bias(bias, weights, n_per_annotator, has_gold=True)[0][2] == 0.0
    limited, shift = _centre_bias(bias, weights, n_per_annotator, False, (0.0, 0.01))
    assert shift == 0.01
    np.testing.assert_allclose(limited[rated], bias[rated] - 0.01)
    assert limited[2] == 0.0


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


def test_estimate_pi_is_the_mean_weight_in_the_mixture_kept_off_0_and_1():
    everyone = np.ones(4, dtype=bool)
    assert _estimate_pi(np.array([1.0, 0.0, 0.5, 0.5]), everyone) == 0.5
    assert _estimate_pi(np.ones(4), everyone) == 1 - _PI_BOUND
    assert _estimate_pi(np.zeros(4), everyone) == _PI_BOUND
    # An annotator outside the mixture (no ratings, or too few compared) has
    # no pi in the objective: it does not count.
    in_mixture = np.array([True, True, False, True])
    assert _estimate_pi(np.array([1.0, 0.0, 1.0, 1.0]), in_mixture) == (
        pytest.approx(2 / 3)
    )
    # An empty mixture: everyone enters as good, and so does pi.
    assert _estimate_pi(np.zeros(4), np.zeros(4, dtype=bool)) == 1 - _PI_BOUND


def _small_example():
    """Ratings of 5 items by 4 annotators (annotator 3 rates only item 0)."""
    X = np.array(
        [
            [0.20, 0.25, 0.90, 0.40],
            [0.50, 0.55, 0.10, np.nan],
            [0.70, 0.65, 0.40, np.nan],
            [0.35, np.nan, 0.80, np.nan],
            [0.60, 0.62, np.nan, np.nan],
        ]
    )
    item, annotator = np.nonzero(~np.isnan(X))
    return X, _ratings(item, annotator, X[item, annotator], *X.shape)


def test_per_annotator_normal_sigma_is_the_prior_shrunk_formula_by_a_loop():
    """sigma_a = sqrt((w_a SS_a + nu tau^2) / (w_a n_a + nu)), floored, where
    SS_a sums (s - mu_i - b_a)^2 over a's ratings; it also maximizes
    w_a sum log N(s; mu + b_a, sigma) + log ScaledInvChi2(sigma^2; nu, tau^2),
    the prior a density of log sigma^2."""
    X, ratings = _small_example()
    mu = np.array([0.3, 0.5, 0.6, 0.5, 0.6])
    bias = np.array([0.0, 0.02, -0.1, 0.05])
    weights = np.array([1.0, 0.7, 0.01, 0.0])
    tau, nu, min_sigma = 0.15, 5.0, 1e-3

    ss, n = np.zeros(4), np.zeros(4)
    for i, a in zip(*np.nonzero(~np.isnan(X)), strict=True):
        ss[a] += (X[i, a] - mu[i] - bias[a]) ** 2
        n[a] += 1
    expected = [
        max(
            math.sqrt((weights[a] * ss[a] + nu * tau**2) / (weights[a] * n[a] + nu)),
            min_sigma,
        )
        for a in range(4)
    ]
    got = _estimate_sigma_per_annotator_normal(ss, n, weights, tau, nu, min_sigma)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)

    for a in range(4):

        def negative_objective(log_sigma, a=a):
            sigma = math.exp(log_sigma)
            rated = ~np.isnan(X[:, a])
            log_lik = stats.norm.logpdf(X[rated, a], mu[rated] + bias[a], sigma).sum()
            prior = _log_sigma_prior(sigma, tau, nu)
            return -(weights[a] * log_lik + prior)

        best = optimize.minimize_scalar(
            negative_objective,
            bounds=(-12, 2),
            method="bounded",
            options={"xatol": 1e-12},
        )
        assert got[a] == pytest.approx(math.exp(best.x), rel=1e-6)

    # The floor is the constrained maximum when the formula falls below it.
    floored = _estimate_sigma_per_annotator_normal(
        np.zeros(4), n, np.ones(4), 1e-5, nu, 0.01
    )
    np.testing.assert_array_equal(floored, np.full(4, 0.01))


@pytest.mark.parametrize("nu", [1.0, 50.0])
def test_shared_sigma_maximizes_the_sum_of_the_annotators_log_priors(nu):
    """_estimate_shared_sigma is argmax_tau sum_a log ScaledInvChi2(sigma_a^2;
    nu, tau^2), found here by a fine grid and refined by scipy.optimize, and is
    floored at min_sigma when the argmax lies below it."""
    sigma = np.array([0.05, 0.1, 0.12, 0.4, 0.02])

    def total(tau):
        return stats.invgamma(a=nu / 2, scale=nu * tau**2 / 2).logpdf(sigma**2).sum()

    grid = np.geomspace(1e-3, 1.0, 20001)
    values = (
        stats.invgamma(a=nu / 2, scale=nu * grid[:, np.newaxis] ** 2 / 2)
        .logpdf(sigma**2)
        .sum(axis=1)
    )
    best_index = int(np.argmax(values))
    got = _estimate_shared_sigma(sigma, 1e-4)
    assert grid[best_index - 1] <= got <= grid[best_index + 1]
    refined = optimize.minimize_scalar(
        lambda log_tau: -total(math.exp(log_tau)),
        bounds=(math.log(grid[best_index - 1]), math.log(grid[best_index + 1])),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert got == pytest.approx(math.exp(refined.x), rel=1e-6)
    # skem's own log prior, summed, has the same argmax.
    assert _compute_sigma_log_prior(sigma, got, nu).sum() >= max(
        _compute_sigma_log_prior(sigma, got * (1 + eps), nu).sum()
        for eps in (-1e-4, 1e-4)
    )
    # Below the floor the constrained maximum is the floor.
    assert _estimate_shared_sigma(sigma, 0.5) == 0.5


def test_solve_shared_sigma_is_the_joint_argmax_of_sigmas_and_tau():
    """_solve_shared_sigma with the plain normal update maximizes
    sum_a [w_a sum_i log N(s; mu_i, sigma_a) + log ScaledInvChi2(sigma_a^2; nu,
    tau^2)] jointly over every sigma_a and tau (scipy.optimize.minimize)."""
    X, _ = _small_example()
    mu = np.array([0.3, 0.5, 0.6, 0.5, 0.6])
    weights = np.array([1.0, 0.7, 0.2, 0.9])
    nu, min_sigma = 5.0, 1e-3
    rated = ~np.isnan(X)
    ss = np.array(
        [np.sum((X[rated[:, a], a] - mu[rated[:, a]]) ** 2) for a in range(4)]
    )
    n = rated.sum(axis=0)

    sigma, tau = _solve_shared_sigma(
        lambda t: _estimate_sigma_per_annotator_normal(
            ss, n, weights, math.sqrt(t), nu, min_sigma
        ),
        4,
        min_sigma,
    )

    def negative(log_params):
        sigmas, shared = np.exp(log_params[:4]), math.exp(log_params[4])
        total = 0.0
        for a in range(4):
            total += (
                weights[a]
                * stats.norm.logpdf(X[rated[:, a], a], mu[rated[:, a]], sigmas[a]).sum()
            )
        return -(total + _log_sigma_prior(sigmas, shared, nu).sum())

    best = optimize.minimize(
        negative,
        np.log(np.r_[np.full(4, 0.2), 0.2]),
        method="Nelder-Mead",
        options={"xatol": 1e-11, "fatol": 1e-14, "maxiter": 40000, "maxfev": 40000},
    )
    np.testing.assert_allclose(sigma, np.exp(best.x[:4]), rtol=1e-6)
    assert tau == pytest.approx(math.exp(best.x[4]), rel=1e-6)
    assert negative(np.log(np.r_[sigma, tau])) <= best.fun + 1e-9


def test_normal_consensus_is_a_loop_precision_weighted_mean_with_gold():
    """mu_i = sum_a p_a (s_ia - b_a) / sum_a p_a with p_a = w_a / sigma_a^2;
    NaN for unrated items, the gold value for gold items."""
    X, _ = _small_example()
    X = np.vstack([X, np.full(4, np.nan)])  # item 5 has no rating
    item, annotator = np.nonzero(~np.isnan(X))
    ratings = _ratings(item, annotator, X[item, annotator], *X.shape)
    weights = np.array([0.9, 0.6, 0.05, 1.0])
    bias = np.array([0.01, -0.03, 0.2, 0.0])
    sigma = np.array([0.1, 0.2, 0.5, 0.05])

    expected = np.full(X.shape[0], np.nan)
    for i in range(X.shape[0]):
        numerator = denominator = 0.0
        for a in range(X.shape[1]):
            if not np.isnan(X[i, a]):
                precision = weights[a] / sigma[a] ** 2
                numerator += precision * (X[i, a] - bias[a])
                denominator += precision
        if denominator:
            expected[i] = numerator / denominator

    got = _estimate_consensus_normal(ratings, weights[annotator], bias, sigma)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert np.isnan(got[5])

    gold = np.full(X.shape[0], np.nan)
    gold[[1, 5]] = [0.42, 0.77]
    with_gold = _estimate_consensus_normal(
        ratings, weights[annotator], bias, sigma, gold
    )
    expected[[1, 5]] = [0.42, 0.77]
    np.testing.assert_allclose(with_gold, expected, rtol=1e-12, atol=1e-15)


def _random_sigma_update(seed):
    """A random panel's plain normal update of every sigma given ``t``.

    Returns ``(sigma_given, n_annotators, min_sigma)``; ``sigma_given(t)`` is
    :func:`_estimate_sigma_per_annotator_normal` at ``tau = sqrt(t)``.
    """
    rng = np.random.default_rng(seed)
    n_annotators = int(rng.integers(2, 40))
    ss = rng.uniform(0, 3, n_annotators) ** 2
    n = rng.integers(0, 30, n_annotators)
    weights = rng.uniform(0, 1, n_annotators)
    nu, min_sigma = float(rng.choice([0.5, 5.0, 200.0])), 1e-3

    def sigma_given(t):
        return _estimate_sigma_per_annotator_normal(
            ss, n, weights, math.sqrt(t), nu, min_sigma
        )

    return sigma_given, n_annotators, min_sigma


@pytest.mark.parametrize("guess", [None, 1e-5, 0.02, 3.0])
@pytest.mark.parametrize("seed", range(5))
def test_solve_shared_sigma_finds_the_bisection_root_in_few_evaluations(seed, guess):
    """The root of t * sum_a sigma_a(t)**-2 = M, to 1e-13 relative, in at most
    25 evaluations of the excess from any guess (plain bisection to the same
    width took about 50), on the plain normal update of random panels."""
    sigma_given, n_annotators, min_sigma = _random_sigma_update(seed)
    calls = []

    def excess(t):
        calls.append(t)
        return t * np.sum(sigma_given(t) ** -2.0) - n_annotators

    _, tau = _solve_shared_sigma(sigma_given, n_annotators, min_sigma, excess, guess)
    n_evaluations = len(calls)
    low, high = min_sigma**2, 1e12  # the oracle: bisection in log t
    for _ in range(300):
        middle = math.sqrt(low * high)
        low, high = (middle, high) if excess(middle) < 0 else (low, middle)
    assert tau**2 == pytest.approx(high, rel=1e-13)
    assert n_evaluations <= 25


@pytest.mark.parametrize("off", [1 / 1.15, 0.999, 1.001, 1.15])
@pytest.mark.parametrize("seed", range(5))
def test_solve_shared_sigma_from_a_near_guess_reuses_the_roots_sigmas(seed, off):
    """Without ``excess``, every call of ``sigma_given`` is one evaluation of
    the default excess, none repeated for the result: the sigmas returned
    are those computed at the returned root. From a guess within 15% of the
    root (as between M-steps) it takes at most 12 calls, and the root agrees
    with the one found from no guess to 1e-13."""
    update, n_annotators, min_sigma = _random_sigma_update(seed)
    calls = []

    def sigma_given(t):
        calls.append(t)
        return update(t)

    _, root = _solve_shared_sigma(sigma_given, n_annotators, min_sigma)
    calls.clear()
    sigma, tau = _solve_shared_sigma(
        sigma_given, n_annotators, min_sigma, guess=off * root**2
    )
    assert len(calls) == len(set(calls)) <= 12
    assert tau**2 == pytest.approx(root**2, rel=1e-13)
    np.testing.assert_allclose(sigma, sigma_given(tau**2), rtol=1e-14)


@pytest.mark.parametrize("guess", [np.nan, -1.0, 0.0])
def test_solve_shared_sigma_reads_a_guess_that_is_not_positive_as_none(guess):
    """Review finding: a NaN guess (from NaN precisions) made the march loop
    forever. A guess that is not a positive number is no guess; and an
    excess that is NaN everywhere still ends, at the floor."""
    sigma_given, n_annotators, min_sigma = _random_sigma_update(0)
    expected = _solve_shared_sigma(sigma_given, n_annotators, min_sigma)
    got = _solve_shared_sigma(sigma_given, n_annotators, min_sigma, guess=guess)
    np.testing.assert_array_equal(got[0], expected[0])
    assert got[1] == expected[1]
    nowhere = _solve_shared_sigma(
        sigma_given, n_annotators, min_sigma, lambda t: np.nan, guess
    )
    assert nowhere[1] == min_sigma


def _recording(objective):
    """``evaluate`` for _guarded_ascent, recording the values of each call."""
    calls = []

    def evaluate(values, groups):
        calls.append((values.copy(), None if groups is None else groups.copy()))
        # Valid only for the groups asked for, as the contract says.
        value = objective(values)
        return value if groups is None else np.where(groups, value, np.nan)

    return evaluate, calls


def test_guarded_ascent_keeps_the_current_value_when_even_a_negligible_step_fails():
    """Fuzz finding: a step of one ulp that lowered its group's objective was
    kept, because the halving stopped at negligible steps without going back.
    (The objective here is as steep as a truncated term at sigma 4e-7.)"""
    current = np.array([-0.47062651, 0.2, 0.3])
    proposal = np.array([np.nextafter(current[0], 0.0), 0.25, 0.3])
    now = np.array([39.19, 1.0, 2.0])

    def objective(values):
        return np.array(
            [39.19 - 5e12 * abs(values[0] - current[0]), 1.0 + (values[1] - 0.2), 2.0]
        )

    evaluate, calls = _recording(objective)
    values = _guarded_ascent(current, proposal, now, evaluate)
    np.testing.assert_array_equal(values, [current[0], 0.25, 0.3])
    last, groups = calls[-1]
    assert groups[0] and last[0] == current[0]  # the terms end at the kept value


@settings(max_examples=200, deadline=None)
@given(
    current=st.lists(st.floats(-1, 1), min_size=1, max_size=6),
    data=st.data(),
)
def test_guarded_ascent_never_returns_a_value_below_its_current_objective(
    current, data
):
    """Property: whatever the objective (here a function drawn per group,
    steep or flat, uphill or downhill, noisy or smooth, NaN far out), each
    returned value is the current one or has an objective no lower than the
    current one less rounding, and evaluate's last call for each group that
    tried to move is at its returned value."""
    current = np.array(current)
    n = current.size
    step = np.array(data.draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n)))

    def per_group(values):
        return np.array(data.draw(st.lists(values, min_size=n, max_size=n)))

    slope = per_group(st.sampled_from([0.0, 1.0, -1.0, 1e6, -1e6, 1e13, -1e13]))
    curvature = per_group(st.sampled_from([0.0, 1.0, 1e6, 1e13]))
    wiggle = per_group(st.floats(0, 10))
    # Beyond this distance the objective is NaN, as a term that overflows is.
    undefined_beyond = per_group(st.sampled_from([np.inf, 0.5, 1e-13]))
    proposal = current + step * data.draw(st.sampled_from([1.0, 1e-12, 1e-16]))

    def objective(values):
        gap = values - current
        value = (
            3.0
            + slope * gap
            - curvature * gap * gap
            + np.sin(wiggle * 1e3 * gap) * np.abs(gap)
        )
        return np.where(np.abs(gap) > undefined_beyond, np.nan, value)

    now = objective(current)
    evaluate, calls = _recording(objective)
    values = _guarded_ascent(current, proposal, now, evaluate)
    moved = values != current
    assert np.all(objective(values)[moved] >= now[moved] - _rounding_slack(now[moved]))
    tried = proposal != current
    for group in np.flatnonzero(tried):
        last = [v for v, g in calls if g is None or g[group]][-1]
        assert last[group] == values[group]
