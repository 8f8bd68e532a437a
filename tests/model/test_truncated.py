"""The guarded Newton steps of the truncated forms: location, bias and sigma."""

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import optimize, stats

import skem._model.rescue
import skem._model.truncated
from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.driver import _BaseEM
from skem._model.form import _model_form, _Params
from skem._model.newton import _propose_precision, _step_truncated_location
from skem._model.truncated import (
    _SIGMA_PRIORS,
    _joint_truncated_step,
    _step_truncated_bias,
    _step_truncated_sigma,
)
from skem._model.truncated_terms import _kernel_annotator_sums, _kernel_truncated_terms
from tests._helpers import (
    BOUNDS,
    _backend,
    _fit_quietly,
    _log_sigma_prior,
    _ratings,
    _terms,
)


def _truncated_example():
    """Ratings of 4 items by 4 annotators, interior optimum for every group."""
    X = np.array(
        [
            [0.40, 0.45, 0.55, 0.35],
            [0.55, 0.60, 0.50, np.nan],
            [0.62, 0.50, 0.70, 0.58],
            [0.45, 0.52, np.nan, 0.40],
        ]
    )
    item, annotator = np.nonzero(~np.isnan(X))
    ratings = _ratings(item, annotator, X[item, annotator], *X.shape)
    weights = np.array([1.0, 0.8, 0.3, 0.6])
    return X, ratings, weights


def _loop_group_objective(X, rating_weight, mu, bias, sigma, by, group):
    """sum of w log TruncNormal(s; mu_i + b_a, sigma_a, [0, 1]) over the group."""
    total = 0.0
    low, high = BOUNDS
    for i, a in zip(*np.nonzero(~np.isnan(X)), strict=True):
        if (i if by == "item" else a) != group:
            continue
        location, scale = mu[i] + bias[a], sigma[a]
        total += rating_weight[a] * stats.truncnorm.logpdf(
            X[i, a],
            (low - location) / scale,
            (high - location) / scale,
            loc=location,
            scale=scale,
        )
    return total


@pytest.mark.parametrize("by", ["item", "annotator"])
def test_truncated_location_step_never_lowers_and_converges_to_the_argmax(by):
    """Each guarded step on the consensus (or the biases) keeps every group's
    loop objective sum w log truncnorm from decreasing; iterated, it reaches the
    argmax of minimize_scalar on that objective to 1e-6. Frozen groups stay."""
    X, ratings, weights = _truncated_example()
    mu = np.array([0.1, 0.9, 0.3, 0.8])  # far from the optimum
    bias = np.array([0.05, -0.1, 0.0, 0.2])
    sigma = np.array([0.1, 0.15, 0.2, 0.12])
    rating_weights = weights[ratings.annotator]
    n_groups = X.shape[0] if by == "item" else X.shape[1]
    # Weights well above 0 never underflow: the rating weights are w_a.
    log_posterior = np.log(weights)

    def objectives(mu, bias):
        return np.array(
            [
                _loop_group_objective(X, weights, mu, bias, sigma, by, g)
                for g in range(n_groups)
            ]
        )

    terms = _terms(ratings, mu, bias, sigma)
    data = _backend(ratings, mu, bias, sigma)
    before = objectives(mu, bias)
    for _ in range(60):
        if by == "item":
            mu, terms = _step_truncated_location(
                ratings, mu, bias, sigma, rating_weights, terms, BOUNDS
            )
        else:
            bias = _step_truncated_bias(data, weights, log_posterior, bias, sigma)
            terms = data.state.terms
        after = objectives(mu, bias)
        assert np.all(after >= before - 1e-12 * (1 + np.abs(before)))
        before = after
    # The returned terms are those of the returned parameters.
    np.testing.assert_allclose(
        terms["log_density"], _terms(ratings, mu, bias, sigma)["log_density"]
    )

    current = mu if by == "item" else bias
    limits = BOUNDS if by == "item" else (-1.0, 1.0)
    for g in range(n_groups):

        def negative(value, g=g):
            trial = current.copy()
            trial[g] = value
            if by == "item":
                return -_loop_group_objective(X, weights, trial, bias, sigma, by, g)
            return -_loop_group_objective(X, weights, mu, trial, sigma, by, g)

        best = optimize.minimize_scalar(
            negative, bounds=limits, method="bounded", options={"xatol": 1e-10}
        )
        assert limits[0] + 1e-3 < best.x < limits[1] - 1e-3  # interior optimum
        assert current[g] == pytest.approx(best.x, abs=1e-6)

    # A frozen group (a gold item) keeps its value.
    if by == "item":
        frozen = np.array([True, False, False, False])
        start = np.array([0.1, 0.9, 0.3, 0.8])
        moved, _ = _step_truncated_location(
            ratings,
            start,
            bias,
            sigma,
            rating_weights,
            _terms(ratings, start, bias, sigma),
            BOUNDS,
            frozen=frozen,
        )
        assert moved[0] == start[0] and np.all(moved[1:] != start[1:])


def _loop_sigma_objective(X, weights, mu, bias, sigma, shared_sigma, nu):
    """sum_a [w_a sum_i log TruncNormal(s_ia) + log ScaledInvChi2(sigma_a^2;
    nu, shared_sigma^2)]; without the prior if nu is None."""
    total = sum(
        _loop_group_objective(X, weights, mu, bias, sigma, "annotator", a)
        for a in range(X.shape[1])
    )
    if nu is not None:
        total += _log_sigma_prior(sigma, shared_sigma, nu).sum()
    return total


@pytest.mark.parametrize("shared", [False, True])
def test_truncated_sigma_step_never_lowers_and_converges_to_the_argmax(shared):
    """Each guarded step on the precisions (jointly with the shared scale tau
    of the prior, per annotator) never lowers the loop objective sum_a [w_a sum
    log truncnorm + log ScaledInvChi2(sigma_a^2; nu, tau^2)], the prior a
    density of log sigma_a^2 (no prior if shared); iterated, each sigma_a is
    the argmax given tau, and tau the argmax given the sigmas, by
    minimize_scalar on the loop objective."""
    X, ratings, weights = _truncated_example()
    mu = np.array([0.4, 0.55, 0.6, 0.45])
    bias = np.array([0.0, 0.02, 0.0, -0.05])
    sigma = np.full(4, 0.5) if shared else np.array([0.5, 0.01, 0.3, 0.02])
    tau, nu, min_sigma = (None, None, 1e-3) if shared else (0.1, 4.0, 1e-3)

    data = _backend(ratings, mu, bias, sigma)
    before = _loop_sigma_objective(X, weights, mu, bias, sigma, tau, nu)
    for _ in range(80):
        prior = None if shared else (tau, nu)
        sigma, tau = _step_truncated_sigma(data, bias, sigma, weights, prior, min_sigma)
        terms = data.state.terms
        if shared:
            tau = None
        after = _loop_sigma_objective(X, weights, mu, bias, sigma, tau, nu)
        assert after >= before - 1e-12 * (1 + abs(before))
        before = after
    if shared:
        assert np.all(sigma == sigma[0])
    np.testing.assert_allclose(
        terms["log_density"], _terms(ratings, mu, bias, sigma)["log_density"]
    )

    log_bounds = (math.log(min_sigma), math.log(5.0))
    for a in [0] if shared else range(4):

        def negative(log_sigma, a=a):
            trial = sigma.copy()
            if shared:
                trial[:] = math.exp(log_sigma)
            else:
                trial[a] = math.exp(log_sigma)
            return -_loop_sigma_objective(X, weights, mu, bias, trial, tau, nu)

        best = optimize.minimize_scalar(
            negative, bounds=log_bounds, method="bounded", options={"xatol": 1e-10}
        )
        assert log_bounds[0] + 0.1 < best.x < log_bounds[1] - 0.1
        assert sigma[a] == pytest.approx(math.exp(best.x), rel=1e-6)
    if not shared:
        best = optimize.minimize_scalar(
            lambda log_tau: (
                -_loop_sigma_objective(
                    X, weights, mu, bias, sigma, math.exp(log_tau), nu
                )
            ),
            bounds=log_bounds,
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert tau == pytest.approx(math.exp(best.x), rel=1e-6)


@pytest.mark.parametrize("noise", ["per_annotator", "shared"])
def test_joint_step_takes_half_its_proposal_where_the_whole_lowers_q(
    monkeypatch, noise
):
    """From sigmas of 0.033 (the Newton point of the precisions overshoots),
    the whole joint step lowers Q, the loop objective sum_a [w_a sum log
    truncnorm + log ScaledInvChi2(sigma_a^2; nu, tau^2)], and is refused.
    The step then takes half of it: each location and each precision half
    way to the proposal, the shared scale the best given the sigmas (their
    harmonic mean), and Q rises."""
    X, ratings, weights = _truncated_example()
    mu, bias = np.array([0.4, 0.55, 0.6, 0.45]), np.zeros(4)
    sigma, tau, nu = np.full(4, 0.033), 0.033, 4.0
    form = _model_form(True, noise, False, nu, 1e-3)
    params = _Params(bias, sigma, tau, 0.8)
    log_posterior = np.log(weights)

    def step(fractions):
        monkeypatch.setattr(skem._model.truncated, "_JOINT_STEP_FRACTIONS", fractions)
        data = _backend(ratings, mu, bias, sigma)
        sigma_weights, prior = _SIGMA_PRIORS[noise](
            form, data, params, weights, log_posterior
        )
        statistics = data.update(_kernel_annotator_sums, bias, sigma)
        taken = _joint_truncated_step(
            form, data, params, weights, log_posterior, sigma_weights, prior, statistics
        )
        whole = _step_truncated_sigma(
            data, bias, sigma, sigma_weights, prior, 1e-3, True, statistics
        )
        return taken, data.state.trial.location, whole

    def q(location, sigma, tau):
        if noise == "shared":
            return _loop_sigma_objective(X, weights, location, bias, sigma, None, None)
        return _loop_sigma_objective(X, weights, location, bias, sigma, tau, nu)

    refused, whole_location, (whole_sigma, whole_tau) = step((1.0,))
    assert refused is None
    assert q(whole_location, whole_sigma, whole_tau) < q(mu, sigma, tau)
    (half_sigma, half_tau, _), half_location, _ = step((1.0, 0.5))
    np.testing.assert_allclose(half_location, (mu + whole_location) / 2, rtol=1e-12)
    np.testing.assert_allclose(
        half_sigma**-2.0, (sigma**-2.0 + whole_sigma**-2.0) / 2, rtol=1e-12
    )
    assert half_tau == pytest.approx(np.sqrt(4 / np.sum(half_sigma**-2.0)))
    assert q(half_location, half_sigma, half_tau) > q(mu, sigma, tau) + 1.0


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("noise", ["per_annotator", "shared"])
@pytest.mark.parametrize("on_levels", [False, True])
@pytest.mark.parametrize("joint", ["whole", "half", "refused"])
def test_each_m_step_leaves_the_sums_of_the_blocks_terms(
    monkeypatch, hard, bias, noise, on_levels, joint
):
    """The blocks keep only some terms per rating and carry the per-annotator
    sums of all of them through trials, settles and steps of some items. After
    every M-step of a fit, the sums it hands the E-step, and the block's own
    when known, equal the sums computed from scratch at the new parameters:
    with and without biases, soft and hard, on levels, when the joint step
    takes half its proposal, and when it is refused (the blockwise steps,
    whose location step leaves the sums unknown). So do the sums that the
    sigma steps start from."""
    if joint == "half":
        monkeypatch.setattr(skem._model.truncated, "_JOINT_STEP_FRACTIONS", (0.5,))
    if joint == "refused":
        monkeypatch.setattr(
            skem._model.truncated, "_joint_truncated_step", lambda *args: None
        )
    rng = np.random.default_rng(7)
    truth = rng.uniform(0.1, 0.9, 40)
    X = np.clip(truth[:, None] + rng.normal(0, 0.08, (40, 9)), 0, 1)
    X[:, 6:] = rng.uniform(0, 1, (40, 3))
    X[rng.random(X.shape) < 0.2] = np.nan
    if on_levels:
        X = np.round(X * 10) / 10
    checked = []
    posterior = _BaseEM._posterior

    def checking_posterior(self, data, form, params, log_density, *args):
        fresh = _kernel_truncated_terms(
            replace(data.state, terms=None, sums=None, trial=None),
            params.bias,
            params.sigma,
        )[1]
        np.testing.assert_allclose(log_density, fresh["log_density"], rtol=1e-12)
        if data.state.sums is not None:
            for key, value in fresh.items():
                np.testing.assert_allclose(
                    data.state.sums[key], value, rtol=1e-12, atol=1e-12, err_msg=key
                )
        checked.append(data.state.sums is not None)
        return posterior(self, data, form, params, log_density, *args)

    monkeypatch.setattr(_BaseEM, "_posterior", checking_posterior)
    annotator_sums = skem._model.truncated._kernel_annotator_sums

    def checking_annotator_sums(block, bias, sigma):
        block, sums = annotator_sums(block, bias, sigma)
        fresh = _kernel_truncated_terms(replace(block, trial=None), bias, sigma)[1]
        for key, value in fresh.items():
            np.testing.assert_allclose(
                sums[key], value, rtol=1e-12, atol=1e-12, err_msg=key
            )
        return block, sums

    for module in (skem._model.truncated, skem._model.rescue):
        monkeypatch.setattr(module, "_kernel_annotator_sums", checking_annotator_sums)
    estimator = (HardAnnotatorEM if hard else AnnotatorEM)(
        bias=bias, noise=noise, score_range=(0, 1), max_iter=8, tol=0
    )
    _fit_quietly(estimator, X)
    assert len(checked) > 8
    if on_levels:
        assert estimator.levels_ is not None


def test_propose_precision_clips_an_overflowing_newton_step_without_warnings():
    """A fuzzing helper's finding: a huge gradient over a curvature just
    below -tiny overflowed to inf with a RuntimeWarning; the step is the
    limit it would be clipped to anyway."""
    import warnings

    precision = np.array([1.0, 1.0, 4.0])
    gradient = np.array([1e300, -1e300, 1.0])
    curvature = np.array([-1e-300, -1e-300, -1.0])
    limits = (precision / 16, precision * 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proposal = _propose_precision(precision, gradient, curvature, limits)
    np.testing.assert_array_equal(proposal, [16.0, 1 / 16, 5.0])
