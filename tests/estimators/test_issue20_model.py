"""Regression tests for the model-side defects 2 to 6 of issue 20.

Each test failed on 0.4.1. The issue's minimal inputs come first, then a
property test per defect.
"""

import warnings
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skem import AnnotatorEM
from skem._em.driver import _NOISE_PRIOR_RANGE
from skem._model.likelihoods import _compute_sigma_log_prior
from skem.datasets import make_ratings
from tests._helpers import ESTIMATORS, _budget, _fit_quietly


def _assert_monotone(objectives):
    decrease = objectives[:-1] - objectives[1:]
    allowed = 1e-8 * (1 + np.maximum(np.abs(objectives[:-1]), np.abs(objectives[1:])))
    assert np.all(decrease <= allowed), (decrease.max(), objectives)


def _assert_in_range(values, score_range):
    """Every finite value lies in the range, up to rounding of the unit map."""
    low, high = score_range
    slack = 1e-12 * (high - low)
    finite = values[np.isfinite(values)]
    assert np.all((finite >= low - slack) & (finite <= high + slack)), (
        values,
        score_range,
    )


# --------------------------------------------------------------------------
# Defect 2: with bias=True a bounded location left the score range.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("noise_prior", [1e-6, 1.0, 200.0])
def test_bounded_bias_locations_and_consensus_stay_in_the_score_range(
    Estimator, noise_prior
):
    """The issue's panel: ``location_[0]`` was 0.31 below the range (0.5, 3.5)
    for hard EM; both estimators now keep location_ and mu_ inside it, with a
    monotone objective."""
    X = np.array([[1.0, 2.0], [3.0, 1.0]])
    em = _fit_quietly(
        Estimator(bias=True, noise_prior=noise_prior, tol=0, max_iter=60), X
    )
    assert em.score_range_ == (0.5, 3.5)
    _assert_in_range(em.location_, em.score_range_)
    _assert_in_range(em.mu_, em.score_range_)
    _assert_monotone(em.log_likelihoods_)


# --------------------------------------------------------------------------
# Defects 3 and 4: noise_prior, large and extreme.
# --------------------------------------------------------------------------

ISSUE_PANEL = np.array([[1.0, 2.0, 5.0], [3.0, 3.0, 1.0], [4.0, 5.0, 2.0]])


def _decimal_log_prior_difference(sigma, other, tau, nu):
    """``log p(sigma**2) - log p(other**2)`` of the scaled inverse-chi-squared
    prior, to 50 digits: the normalizing constant cancels, so no lgamma."""
    with localcontext() as context:
        context.prec = 50
        h, tau2 = Decimal(nu) / 2, Decimal(tau) ** 2

        def unnormalized(s):
            variance = Decimal(s) ** 2
            return -(h + 1) * variance.ln() - h * tau2 / variance

        return float(unnormalized(sigma) - unnormalized(other))


@pytest.mark.parametrize("nu", [3.0, 1e6, 1e9, 1e12])
def test_sigma_log_prior_differences_keep_their_digits_for_large_strengths(nu):
    """The prior's terms grow like nu and cancel to a number of size log nu:
    differences between two sigmas near the mode, as EM's guards compare them,
    match a 50-digit computation to 1e-9 relative (0.4.1 lost them from about
    nu = 1e9 on)."""
    tau = 0.3
    mode = tau * np.sqrt(nu / (nu + 2))
    for relative in (1e-7, 1e-5, 1e-3, 0.1):
        sigma, other = mode * (1 + relative), mode
        values = _compute_sigma_log_prior(np.array([sigma, other]), tau, nu)
        expected = _decimal_log_prior_difference(sigma, other, tau, nu)
        np.testing.assert_allclose(
            values[0] - values[1], expected, rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("bounded", [False, True])
@pytest.mark.parametrize("noise_prior", [1e9, 1e11, 1e12])
def test_large_noise_prior_objective_never_decreases(Estimator, bounded, noise_prior):
    """The issue's panel at a strong prior: log_likelihoods_ never decreases
    (it did from about 1e9 on, when the log prior cancelled)."""
    em = _fit_quietly(
        Estimator(bounded=bounded, noise_prior=noise_prior, tol=0, max_iter=100),
        ISSUE_PANEL,
    )
    assert np.all(np.isfinite(em.log_likelihoods_))
    _assert_monotone(em.log_likelihoods_)


def test_per_annotator_fit_tends_to_one_pooled_sigma_as_noise_prior_grows():
    """As nu grows, every sigma_a tends to one value, the pooled
    ``sum_a w_a SS_a / (sum_a w_a n_a + 2 n_annotators)`` (the shared fit with
    the prior's two pseudo-ratings per annotator), and the fit converges: at
    1e9 and 1e12 the weights agree to 1e-6 and sigma_ is the pooled value to
    1e-7. 0.4.1 drifted (5e-4 off at 1e12) and collapsed from 1e17 on."""
    fits = {}
    for nu in (1e9, 1e12):
        em = AnnotatorEM(
            bounded=False, noise_prior=nu, init="all_good", tol=1e-12, max_iter=500
        ).fit(ISSUE_PANEL)
        residuals = ISSUE_PANEL - em.mu_[:, np.newaxis]
        pooled = np.sqrt(
            em.weights_
            @ (residuals**2).sum(axis=0)
            / (em.weights_.sum() * ISSUE_PANEL.shape[0] + 2 * ISSUE_PANEL.shape[1])
        )
        np.testing.assert_allclose(em.sigma_, pooled, rtol=1e-7)
        fits[nu] = em
    np.testing.assert_allclose(fits[1e9].weights_, fits[1e12].weights_, atol=1e-6)
    assert fits[1e12].weights_[2] < 1e-6 < 0.9 < fits[1e12].weights_[0]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("noise_prior", [5e-324, 1e-310, 1e-301, 1.1e12, 1e17, 1e308])
def test_noise_prior_outside_its_usable_range_is_a_value_error(Estimator, noise_prior):
    """Values where doubles cannot hold the prior are refused, naming the
    range; 0.4.1 accepted 5e-324 and 1e308 and returned an all-NaN objective."""
    with pytest.raises(ValueError, match=r"noise_prior.*1e-300.*1000000000000"):
        Estimator(noise_prior=noise_prior).fit(ISSUE_PANEL)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("bounded", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("noise_prior", [1e-300, 1e12])
def test_noise_prior_at_the_ends_of_its_range_fits_finitely_and_monotonically(
    Estimator, bounded, bias, noise_prior
):
    """The ends of the accepted range: finite attributes, a finite monotone
    objective and no RuntimeWarning, on a panel with an annotator without
    ratings (whose best precision under a weak prior overflowed)."""
    X = make_ratings(12, 4, bad_fraction=0.25, sigma=0.1, random_state=3)
    X[:, 3] = np.nan
    X[0, 3] = X[0, 0]
    X = np.column_stack([X, np.full(12, np.nan)])
    X[1, 4] = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        em = _fit_quietly(
            Estimator(
                bounded=bounded, bias=bias, noise_prior=noise_prior, tol=0, max_iter=30
            ),
            X,
        )
    for name in ("weights_", "sigma_", "shared_sigma_", "bias_", "mu_"):
        assert np.all(np.isfinite(getattr(em, name))), name
    assert np.all(np.isfinite(em.log_likelihoods_))
    _assert_monotone(em.log_likelihoods_)


@st.composite
def _noise_priors(draw):
    """noise_prior drawn log-uniformly over its whole accepted range."""
    low, high = np.log10(_NOISE_PRIOR_RANGE)
    exponent = draw(st.floats(low, high))
    return float(np.clip(10.0**exponent, *_NOISE_PRIOR_RANGE))


@st.composite
def _small_panels(draw):
    """make_ratings panels of 1 to 12 items and 1 to 5 annotators, some rounded."""
    X = make_ratings(
        draw(st.integers(1, 12)),
        draw(st.integers(1, 5)),
        bad_fraction=draw(st.sampled_from([0.0, 0.3, 0.7])),
        sigma=draw(st.sampled_from([0.0, 0.05, 0.3])),
        missing_fraction=draw(st.sampled_from([0.0, 0.4])),
        score_range=(1.0, 5.0),
        random_state=draw(st.integers(0, 2**32 - 1)),
    )
    if draw(st.booleans()):
        X = np.round(X)
    return X


@settings(max_examples=_budget(40))
@given(
    X=_small_panels(),
    noise_prior=_noise_priors(),
    Estimator=st.sampled_from(ESTIMATORS),
    bounded=st.booleans(),
    bias=st.booleans(),
)
def test_objective_never_decreases_for_any_accepted_noise_prior(
    X, noise_prior, Estimator, bounded, bias
):
    """For noise_prior drawn log-uniformly over [1e-300, 1e12], every
    per-annotator form, soft and hard, has a finite objective that never
    decreases by more than 1e-8 of its size."""
    em = _fit_quietly(
        Estimator(
            bounded=bounded, bias=bias, noise_prior=noise_prior, tol=0, max_iter=30
        ),
        X,
    )
    assert np.all(np.isfinite(em.log_likelihoods_))
    _assert_monotone(em.log_likelihoods_)
