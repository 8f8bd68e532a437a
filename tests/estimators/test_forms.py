"""The model forms: worked examples against loop oracles, monotone EM, sklearn checks.

The oracles in the first half are written from the formulas in the docstrings
with plain Python loops and scipy.stats / scipy.integrate; they share no code
with skem beyond the ``_Ratings`` container and, for the truncated steps, the
per-rating terms handed to the step as its input.

The hypothesis tests use small per-test budgets so that the file stays fast;
``HYPOTHESIS_PROFILE=stress`` runs each of them with the stress profile's
1500 examples instead.
"""

import itertools
import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import integrate, optimize, special, stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

import skem._model.likelihoods
import skem._model.rescue
from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.backend import _Block, _InMemoryBackend
from skem._em.ratings import _Ratings, _ratings_from_matrix
from skem._model.likelihoods import (
    _compute_good_terms,
    _compute_sigma_log_prior,
    _estimate_normal_log_density,
    _Gather,
    _log_normal_mass_lower_bound,
    _shifted_log_normal_mass,
)
from skem._model.newton import _step_truncated_location
from skem._model.rescue import (
    _choose_sigma_by_marginal,
    _kernel_log_mass_sums,
    _rescue_truncated_sigma,
)
from skem._model.steps import (
    _estimate_consensus_normal,
    _estimate_shared_sigma,
    _estimate_sigma_per_annotator_normal,
    _solve_shared_sigma,
)
from skem._model.truncated import (
    _kernel_annotator_sums,
    _step_truncated_bias,
    _step_truncated_sigma,
)
from skem.datasets import make_ratings

ESTIMATORS = [AnnotatorEM, HardAnnotatorEM]

# Every model form: bounded x noise x bias.
FORMS = [
    {"bounded": bounded, "noise": noise, "bias": bias}
    for bounded, noise, bias in itertools.product(
        (True, False), ("shared", "per_annotator"), (False, True)
    )
]


def _form_id(form):
    return "-".join(f"{key}={value}" for key, value in form.items())


def _budget(n_examples):
    """``n_examples`` at the default profile, the profile's budget under stress."""
    if os.environ.get("HYPOTHESIS_PROFILE") == "stress":
        return settings().max_examples
    return n_examples


def _ratings(item, annotator, score, n_items, n_annotators):
    return _Ratings(
        np.asarray(item, dtype=np.intp),
        np.asarray(annotator, dtype=np.intp),
        np.asarray(score, dtype=np.float64),
        n_items,
        n_annotators,
    )


def _random_ratings(rng, n_items, n_annotators, n_ratings):
    """Ratings of uniform scores by random annotators on random items."""
    return _Ratings(
        rng.integers(0, n_items, n_ratings),
        rng.integers(0, n_annotators, n_ratings),
        rng.uniform(0, 1, n_ratings),
        n_items,
        n_annotators,
    )


# --------------------------------------------------------------------------
# (a) log(Phi(beta) - Phi(alpha)).
# --------------------------------------------------------------------------

# Both bounds in the lower tail, both in the upper tail, straddling 0, narrow,
# far out (where Phi itself underflows) and very wide.
MASS_CASES = [
    (-1.0, 1.0),
    (-0.1, 3.0),
    (-40.0, 0.5),
    (-3.0, -2.0),
    (2.0, 3.0),
    (5.0, 6.0),
    (-6.0, -5.0),
    (8.0, 40.0),
    (-50.0, -10.0),
    (30.0, 30.001),
    (-30.001, -30.0),
    (1e-3, 2e-3),
    (-2e-3, -1e-3),
    (37.5, 38.5),
    (-1000.0, -999.0),
    (999.0, 1000.0),
    (-12.0, 12.0),
]


# An interval straddling 0 so narrow that 1 - Phi(alpha) - Phi(-beta) cancels.
NARROW_STRADDLING_CASES = [(0.0, 1e-8), (-1e-8, 0.0), (-5e-9, 5e-9), (-1e-7, 2e-7)]


def _reference_log_mass_scipy(alpha, beta):
    """log(Phi(beta) - Phi(alpha)) from scipy.stats.norm, tail by tail.

    Straddling 0 it adds the two halves ``Phi(beta) - 1/2`` and ``1/2 -
    Phi(alpha)``, each ``erf(|x| / sqrt(2)) / 2``: no cancellation however
    narrow the interval.
    """
    norm = stats.norm
    if alpha >= 0:  # upper tail: sf(alpha) - sf(beta)
        log_a, log_b = norm.logsf(alpha), norm.logsf(beta)
        return log_a + math.log1p(-math.exp(log_b - log_a))
    if beta <= 0:  # lower tail: cdf(beta) - cdf(alpha)
        log_a, log_b = norm.logcdf(alpha), norm.logcdf(beta)
        return log_b + math.log1p(-math.exp(log_a - log_b))
    root2 = math.sqrt(2.0)
    return math.log(0.5 * (special.erf(beta / root2) + special.erf(-alpha / root2)))


def _reference_log_mass_quad(alpha, beta):
    """The same by quadrature of the density scaled to 1 at its peak in [a, b].

    With ``c`` the point of [alpha, beta] closest to 0, ``int phi = exp(-c^2/2)
    / sqrt(2 pi) * int exp(-(t^2 - c^2) / 2) dt``, whose integrand is at most 1:
    nothing underflows however far out the interval lies.
    """
    c = min(max(0.0, alpha), beta)
    width = beta - alpha
    # Resolve the decay scale 1/|c| near c, where all the mass is.
    points = [p for p in (c + 1.0 / max(abs(c), 1.0),) if alpha < p < beta]

    def integrand(t):
        return math.exp(-0.5 * (t - c) * (t + c))

    value, _ = integrate.quad(
        integrand, alpha, beta, epsabs=0, epsrel=2e-14, limit=500, points=points
    )
    assert value > 0 and width > 0
    return math.log(value) - 0.5 * c * c - 0.5 * math.log(2 * math.pi)


def _log_normal_mass(alpha, beta):
    """``log(Phi(beta) - Phi(alpha))`` from _shifted_log_normal_mass."""
    shifted, anchor = _shifted_log_normal_mass(alpha, beta)
    return shifted if anchor is None else shifted - 0.5 * anchor * anchor


@pytest.mark.parametrize(
    ("alpha", "beta"),
    MASS_CASES
    + [
        pytest.param(
            *case,
        )
        for case in NARROW_STRADDLING_CASES
    ],
)
def test_log_normal_mass_matches_scipy_tails_and_quadrature(alpha, beta):
    """_shifted_log_normal_mass, with its anchor's square taken back out,
    equals log(Phi(b) - Phi(a)) to 1e-10 (absolute in log space, i.e.
    relative in the mass), in both tails and straddling 0."""
    got = float(_log_normal_mass(np.array([alpha]), np.array([beta]))[0])
    if (alpha, beta) not in NARROW_STRADDLING_CASES:
        # scipy's difference of CDFs cancels for narrow intervals: quad only.
        assert got == pytest.approx(_reference_log_mass_scipy(alpha, beta), abs=1e-10)
    assert got == pytest.approx(_reference_log_mass_quad(alpha, beta), abs=1e-10)


def test_log_normal_mass_is_elementwise_on_mixed_arrays():
    """A vector mixing straddling and one-tail pairs gives each pair's own value."""
    alpha = np.array([a for a, _ in MASS_CASES])
    beta = np.array([b for _, b in MASS_CASES])
    got = _log_normal_mass(alpha, beta)
    expected = [_reference_log_mass_scipy(a, b) for a, b in MASS_CASES]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


# --------------------------------------------------------------------------
# (b) moments of the truncated standard normal.
# --------------------------------------------------------------------------

MOMENT_CASES = [
    (-1.0, 1.0),
    (-3.0, 0.5),
    (0.5, 4.0),
    (2.0, 3.0),
    (-6.0, -2.0),
    (-0.2, 0.3),
    (-8.0, 8.0),
    (1.0, 1.5),
    (-9.0, 10.0),  # so far out that the truncation is ignored
]


def _quad_truncated_moments(alpha, beta):
    """E[t], E[t^2], Var[t], Var[t^2] of N(0, 1) truncated to [alpha, beta]."""
    c = min(max(0.0, alpha), beta)

    def expect(function):
        value, _ = integrate.quad(
            lambda t: function(t) * math.exp(-0.5 * (t - c) * (t + c)),
            alpha,
            beta,
            epsabs=0,
            epsrel=2e-14,
            limit=500,
        )
        return value

    mass = expect(lambda t: 1.0)
    mean = expect(lambda t: t) / mass
    second = expect(lambda t: t * t) / mass
    var = expect(lambda t: (t - mean) ** 2) / mass
    var_square = expect(lambda t: (t * t - second) ** 2) / mass
    return mean, second, var, var_square


@pytest.mark.parametrize(("alpha", "beta"), MOMENT_CASES)
def test_truncated_moments_match_numerical_integration(alpha, beta):
    """The moments behind _compute_good_terms' derivatives (E[t], Var[t],
    E[t^2], Var[t^2]) of N(0, 1) on [alpha, beta] equal quad to 1e-10
    (relative to the size of each moment); the log density in the terms equals
    scipy.stats.truncnorm's."""
    scores = np.array([alpha + 0.3 * (beta - alpha), beta - 1e-3 * (beta - alpha)])
    terms = _compute_good_terms(scores, np.zeros(2), np.ones(2), bounds=(alpha, beta))
    # At location 0 and sigma 1 the derivatives give the moments back.
    z = terms["z"]
    mean = z - terms["location_slope"]
    var = terms["location_information"]
    second = terms["scale_slope"] + z * z
    var_square = terms["scale_information"]
    expected = _quad_truncated_moments(alpha, beta)
    for name, value, reference in zip(
        ("mean", "second", "var", "var_square"),
        (mean, second, var, var_square),
        expected,
        strict=True,
    ):
        np.testing.assert_allclose(
            value, reference, rtol=0, atol=1e-10 * (1 + abs(reference)), err_msg=name
        )
    np.testing.assert_allclose(
        terms["log_density"],
        stats.truncnorm.logpdf(scores, alpha, beta),
        rtol=0,
        atol=1e-10,
    )


# --------------------------------------------------------------------------
# (c) the plain normal per-annotator sigma update.
# --------------------------------------------------------------------------


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
    """sigma_a = sqrt((w_a SS_a + nu tau^2) / (w_a n_a + nu + 2)), floored, where
    SS_a sums (s - mu_i - b_a)^2 over a's ratings; it also maximizes
    w_a sum log N(s; mu + b_a, sigma) + log ScaledInvChi2(sigma^2; nu, tau^2)."""
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
            math.sqrt(
                (weights[a] * ss[a] + nu * tau**2) / (weights[a] * n[a] + nu + 2)
            ),
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
            prior = stats.invgamma.logpdf(sigma**2, a=nu / 2, scale=nu * tau**2 / 2)
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


# --------------------------------------------------------------------------
# (d) the shared scale tau and the scaled inverse-chi-squared prior.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("nu", [0.5, 3.0, 50.0])
def test_sigma_log_prior_is_the_inverse_gamma_density_of_the_variance(nu):
    """_compute_sigma_log_prior(sigma, tau, nu) equals
    invgamma(a=nu/2, scale=nu tau^2/2).logpdf(sigma^2) (a density of sigma^2)."""
    sigma = np.array([1e-4, 0.01, 0.1, 0.3, 1.0, 7.0])
    for tau in (1e-3, 0.1, 2.0):
        reference = stats.invgamma(a=nu / 2, scale=nu * tau**2 / 2).logpdf(sigma**2)
        np.testing.assert_allclose(
            _compute_sigma_log_prior(sigma, tau, nu),
            reference,
            rtol=1e-12,
            atol=1e-10,
        )


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
        prior = stats.invgamma(a=nu / 2, scale=nu * shared**2 / 2)
        return -(total + prior.logpdf(sigmas**2).sum())

    best = optimize.minimize(
        negative,
        np.log(np.r_[np.full(4, 0.2), 0.2]),
        method="Nelder-Mead",
        options={"xatol": 1e-11, "fatol": 1e-14, "maxiter": 40000, "maxfev": 40000},
    )
    np.testing.assert_allclose(sigma, np.exp(best.x[:4]), rtol=1e-6)
    assert tau == pytest.approx(math.exp(best.x[4]), rel=1e-6)
    assert negative(np.log(np.r_[sigma, tau])) <= best.fun + 1e-9


# --------------------------------------------------------------------------
# (e) the plain normal consensus.
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# (f) guarded Newton steps of the truncated forms.
# --------------------------------------------------------------------------

BOUNDS = (0.0, 1.0)


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


def _terms(ratings, mu, bias, sigma):
    return _compute_good_terms(
        ratings.score,
        mu[ratings.item] + bias[ratings.annotator],
        sigma[ratings.annotator],
        BOUNDS,
    )


@pytest.mark.parametrize("bounds", [None, BOUNDS])
def test_chunked_terms_with_gathers_equal_whole_arrays_and_sum_like_bincount(
    monkeypatch, bounds
):
    """_compute_good_terms over chunks of 7 ratings, with sigma, log sigma and
    the consensus gathered per chunk, gives bitwise the terms of one chunk of
    per-rating arrays; its per-annotator sums, taken chunk by chunk, equal a
    loop over the ratings to 1e-12."""
    rng = np.random.default_rng(3)
    n_items, n_annotators, n_ratings = 9, 5, 60
    ratings = _random_ratings(rng, n_items, n_annotators, n_ratings)
    mu = rng.uniform(0, 1, n_items)
    sigma = rng.uniform(0.02, 0.5, n_annotators)
    whole = _compute_good_terms(
        ratings.score, mu[ratings.item], sigma[ratings.annotator], bounds
    )
    monkeypatch.setattr(skem._model.likelihoods, "_CHUNK_SIZE", 7)
    gathered = (
        ratings.score,
        _Gather(mu, ratings.item),
        _Gather(sigma, ratings.annotator),
        bounds,
        _Gather(np.log(sigma), ratings.annotator),
    )
    chunked = _compute_good_terms(*gathered)
    assert chunked.keys() == whole.keys()
    for key, value in whole.items():
        np.testing.assert_array_equal(chunked[key], value)
    if bounds is None:
        return
    _, sums = _compute_good_terms(*gathered, sum_by=(ratings.annotator, n_annotators))
    expected = {key: np.zeros(n_annotators) for key in sums}
    for r, a in enumerate(ratings.annotator):
        for key in ("log_density", "scale_slope", "scale_information"):
            expected[key][a] += whole[key][r]
        expected["z_squared"][a] += whole["z"][r] ** 2
    for key, value in expected.items():
        np.testing.assert_allclose(sums[key], value, rtol=1e-12, atol=1e-12)


def _backend(ratings, mu, bias, sigma):
    """One block of the ratings, at these parameters, in memory."""
    block = _Block(ratings, None, mu, _terms(ratings, mu, bias, sigma))
    return _InMemoryBackend(block, ratings.n_per_annotator, False)


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
        prior = stats.invgamma(a=nu / 2, scale=nu * shared_sigma**2 / 2)
        total += prior.logpdf(sigma**2).sum()
    return total


@pytest.mark.parametrize("shared", [False, True])
def test_truncated_sigma_step_never_lowers_and_converges_to_the_argmax(shared):
    """Each guarded step on the precisions (jointly with the shared scale tau
    of the prior, per annotator) never lowers the loop objective sum_a [w_a sum
    log truncnorm + log ScaledInvChi2(sigma_a^2; nu, tau^2)] (no prior if
    shared); iterated, each sigma_a is the argmax given tau, and tau the argmax
    given the sigmas, by minimize_scalar on the loop objective."""
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


# --------------------------------------------------------------------------
# (g) the choice of sigma by the marginal term.
# --------------------------------------------------------------------------


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
        prior = stats.invgamma(a=nu / 2, scale=nu * tau**2 / 2)
        decided = 0
        for a in range(10, n):

            def marginal(log_good, s, a=a, pi=pi, prior=prior):
                top = max(log_good, log_bad[a])
                mixed = pi * math.exp(log_good - top) + (1 - pi) * math.exp(
                    log_bad[a] - top
                )
                return top + math.log(mixed) + prior.logpdf(s**2)

            difference = marginal(candidate_good[a], candidate[a]) - marginal(
                good[a], sigma[a]
            )
            if abs(difference) < 1e-9:
                continue  # a tie to rounding: either choice is right
            decided += 1
            assert take[a] == (difference > 0), a
        assert decided > 0.9 * (n - 10)


@settings(max_examples=_budget(200))
@given(alpha=st.floats(-40.0, 0.0), beta=st.floats(0.0, 40.0))
def test_log_normal_mass_lower_bound_is_below_the_mass_and_within_10_percent_on_tails(
    alpha, beta
):
    """The rescue's cheap bound is at most log(Phi(beta) - Phi(alpha)), and
    the tails that it implies, 1 - exp(bound), overstate the exact tails
    Q(-alpha) + Q(beta) of scipy.stats.norm by at most 10%."""
    got = float(_log_normal_mass_lower_bound(np.array([alpha]), np.array([beta]))[0])
    exact = float(_log_normal_mass(np.array([alpha]), np.array([beta]))[0])
    assert got == exact or got <= exact + 1e-12 * (1 + abs(exact))
    tails = stats.norm.sf(-alpha) + stats.norm.sf(beta)
    assert -math.expm1(got) <= 1.1 * tails + 1e-15


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


@pytest.mark.parametrize("hard", [False, True])
def test_rescue_screen_rules_out_only_candidates_that_lose(monkeypatch, hard):
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
        current = data.reduce(_kernel_annotator_sums)
        return _rescue_truncated_sigma(
            data, np.zeros(12), sigma, weights, prior, hard, current
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


# --------------------------------------------------------------------------
# Every form, soft and hard: EM never lowers its objective.
# --------------------------------------------------------------------------


@st.composite
def _model_data(draw):
    """A matrix from make_ratings: random size, noise, missingness, seed and scale."""
    n_items = draw(st.integers(2, 20))
    n_annotators = draw(st.integers(1, 8))
    low, high = draw(st.sampled_from([(0.0, 1.0), (1.0, 5.0), (-50.0, 200.0)]))
    X = make_ratings(
        n_items,
        n_annotators,
        bad_fraction=draw(st.sampled_from([0.0, 0.2, 0.5, 1.0])),
        sigma=draw(st.sampled_from([0.0, 0.05, 0.2, 1.0])) * (high - low),
        missing_fraction=draw(st.sampled_from([0.0, 0.3, 0.7])),
        score_range=(low, high),
        random_state=draw(st.integers(0, 2**32 - 1)),
    )
    if draw(st.booleans()):
        X = np.round(X)  # a discrete scale, with many exact ties
    return X


@st.composite
def _raw_data(draw):
    """A raw hypothesis array of scores in [0, 10] with NaN for missing."""
    shape = (draw(st.integers(1, 12)), draw(st.integers(1, 7)))
    scores = draw(
        arrays(np.float64, shape, elements=st.floats(0, 10, allow_nan=False, width=32))
    )
    missing = draw(arrays(np.bool_, shape))
    assume(not missing.all())
    return np.where(missing, np.nan, scores)


@st.composite
def _data_with_gold(draw):
    X = draw(st.one_of(_model_data(), _raw_data()))
    gold = None
    if draw(st.booleans()):
        known = draw(arrays(np.bool_, X.shape[0]))
        low, high = np.nanmin(X), np.nanmax(X)
        values = draw(
            arrays(np.float64, X.shape[0], elements=st.floats(0, 1, allow_nan=False))
        )
        gold = np.where(known, low + (high - low) * values, np.nan)
    return X, gold


def _fit_quietly(estimator, X, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # The UserWarning about items without ratings is expected.
        warnings.filterwarnings("ignore", ".*have no rating", UserWarning)
        return estimator.fit(X, **fit_params)


def _assert_objective_never_decreases(Estimator, form, data, init):
    X, gold = data
    em = _fit_quietly(Estimator(max_iter=30, tol=0, init=init, **form), X, gold=gold)
    objectives = em.log_likelihoods_
    assert np.all(np.isfinite(objectives))
    decrease = objectives[:-1] - objectives[1:]
    allowed = 1e-8 * (1 + np.maximum(np.abs(objectives[:-1]), np.abs(objectives[1:])))
    assert np.all(decrease <= allowed), (decrease.max(), objectives)
    assert em.log_likelihood_ == objectives[-1]


@pytest.mark.parametrize("form", FORMS, ids=_form_id)
@settings(max_examples=_budget(10))
@given(data=_data_with_gold(), init=st.sampled_from(["median", "all_good"]))
def test_every_form_soft_objective_never_decreases_across_iterations(form, data, init):
    """AnnotatorEM's log_likelihoods_ never decreases by more than rounding.

    Data come from make_ratings (random sizes, seeds, noise, missingness,
    discrete or continuous) or are raw hypothesis arrays; half the draws pass
    gold items through ``fit(X, gold=...)``. EM runs 30 iterations at tol=0.

    The tolerance is 1e-8 * (1 + |objective|) per step. Each iteration's
    objective is a sum over at most a few hundred ratings of terms computed in
    double precision (relative error ~1e-16 each, times log-sum-exp and
    truncated-normal condition numbers of at most ~1e3), and the guarded steps
    compare per-group objectives that are summed in a different order than
    the total; so honest rounding moves the total by far less than 1e-10 of
    its size. A wrong update (a sigma off its maximum, a Newton step accepted
    unguarded, a missed prior term) lowers it by orders of magnitude more.
    """
    _assert_objective_never_decreases(AnnotatorEM, form, data, init)


@pytest.mark.parametrize("form", FORMS, ids=_form_id)
@settings(max_examples=_budget(10))
@given(data=_data_with_gold(), init=st.sampled_from(["median", "all_good"]))
def test_every_form_hard_objective_never_decreases_across_iterations(form, data, init):
    """HardAnnotatorEM's classification objective never decreases (as above).

    The defects that hypothesis found here each have a deterministic
    regression test below.
    """
    _assert_objective_never_decreases(HardAnnotatorEM, form, data, init)


# Deterministic regressions for the defects of the hard E-step that the
# property above can hit (the derandomized draws happen to miss them).

_nan = np.nan
HARD_DECREASE_CASES = [
    pytest.param(
        [[1, 2, 0, 0], [0, 0, 0, 0]],
        [2, 2],
        {"noise": "shared", "max_iter": 12},
        id="near_ties",
    ),
    pytest.param(
        [[2, _nan, 0, _nan]],
        [1.58],
        {"max_iter": 30},
        id="forced_good_with_unrated_annotators",
    ),
    pytest.param(
        [[0, 1], [0, _nan], [2, 0], [2, 1], [_nan, 1], [0, 0], [2, _nan]],
        [1.89, _nan, 1.82, 0.5, 1.03, 1.65, 1.7],
        {"max_iter": 30},
        id="sigma_rescue_of_a_bad_annotator",
    ),
]


@pytest.mark.parametrize(("X", "gold", "params"), HARD_DECREASE_CASES)
def test_hard_objective_never_decreases_on_known_counterexamples(X, gold, params):
    """HardAnnotatorEM's log_likelihoods_ never decreases by more than rounding
    (1e-8 relative, as above) on the counterexamples hypothesis found."""
    em = _fit_quietly(HardAnnotatorEM(tol=0, **params), np.asarray(X, float), gold=gold)
    objectives = em.log_likelihoods_
    decrease = objectives[:-1] - objectives[1:]
    assert np.all(decrease <= 1e-8 * (1 + np.abs(objectives[:-1]))), decrease.max()


# --------------------------------------------------------------------------
# scikit-learn's estimator checks on the non-default forms.
# --------------------------------------------------------------------------

# Every form but the default one (which test_common.py checks), soft and hard.
CHECKED_FORMS = [
    Estimator(random_state=0, **form)
    for form in FORMS
    if form != {"bounded": True, "noise": "per_annotator", "bias": False}
    for Estimator in ESTIMATORS
]


@parametrize_with_checks(CHECKED_FORMS, expected_failed_checks=lambda _: {})
def test_non_default_forms_pass_the_sklearn_checks(estimator, check):
    """Every non-default form passes every scikit-learn estimator check."""
    check(estimator)


# --------------------------------------------------------------------------
# score chooses among forms.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_grid_search_scores_every_form_finitely(Estimator):
    """GridSearchCV over bounded x noise with unshuffled 3-fold CV gives a
    finite mean_test_score for every candidate, and refits the best one."""
    X = make_ratings(60, 8, missing_fraction=0.3, score_range=(1, 5), random_state=3)
    X = np.round(X)
    search = GridSearchCV(
        Estimator(),
        {"bounded": [True, False], "noise": ["shared", "per_annotator"]},
        cv=3,  # unshuffled KFold(3): X is not a classification target
        error_score="raise",
    )
    _fit_quietly(search, X)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (4,)
    assert np.all(np.isfinite(scores))
    assert search.best_estimator_.get_params()["bounded"] in (True, False)
    assert np.isfinite(search.score(X))
