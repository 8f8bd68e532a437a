"""Regression tests for the model-side defects 2 to 6 of issue 20.

Each test failed on 0.4.1. The issue's minimal inputs come first, then a
property test per defect.
"""

import warnings
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from skem import AnnotatorEM
from skem._em.driver import _NOISE_PRIOR_RANGE
from skem._model.likelihoods import _compute_sigma_log_prior
from skem.datasets import make_ratings
from tests._helpers import (
    ESTIMATORS,
    SIGMA_AT_ITS_FLOOR,
    _budget,
    _fit_quietly,
    _judgeable,
)


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


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bounded_bias_consensus_is_read_against_the_average_annotator(Estimator):
    """Keeping the locations in range must not move the consensus: on a panel
    rated near the floor, the shift that keeps the locations inside the range
    left every bias about -47 and ``mu_`` 49 points off (MAE 49.3 against the
    plain mean's 3.5); the biases are now reported with weighted mean 0 and the
    consensus stays with the ratings, equal to ``transform``."""
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 25, 80)
    noise = rng.normal(0, 15, (80, 12)) + rng.normal(0, 5, 12)
    X = np.clip(np.round(truth[:, None] + noise), 0, 100)
    em = _fit_quietly(Estimator(bias=True, score_range=(0, 100)), X)
    _assert_in_range(em.location_, em.score_range_)
    assert abs(em.weights_ @ em.bias_) <= 1e-9 * em.weights_.sum() * 100
    plain_mae = np.abs(X.mean(axis=1) - truth).mean()
    assert np.abs(em.mu_ - truth).mean() <= 1.25 * plain_mae
    np.testing.assert_allclose(em.transform(X).ravel(), em.mu_, rtol=1e-12)


# --------------------------------------------------------------------------
# Defects 3 and 4: noise_prior, large and extreme.
# --------------------------------------------------------------------------

ISSUE_PANEL = np.array([[1.0, 2.0, 5.0], [3.0, 3.0, 1.0], [4.0, 5.0, 2.0]])


def _decimal_log_prior_difference(sigma, other, tau, nu):
    """``log p(log sigma**2) - log p(log other**2)`` of the scaled
    inverse-chi-squared prior, to 50 digits: the normalizing constant cancels,
    so no lgamma."""
    with localcontext() as context:
        context.prec = 50
        h, tau2 = Decimal(nu) / 2, Decimal(tau) ** 2

        def unnormalized(s):
            variance = Decimal(s) ** 2
            return -h * variance.ln() - h * tau2 / variance

        return float(unnormalized(sigma) - unnormalized(other))


@pytest.mark.parametrize("nu", [3.0, 1e6, 1e9, 1e12])
def test_sigma_log_prior_differences_keep_their_digits_for_large_strengths(nu):
    """The prior's terms grow like nu and cancel to a number of size log nu:
    differences between two sigmas near the mode, as EM's guards compare them,
    match a 50-digit computation to 1e-9 relative (0.4.1 lost them from about
    nu = 1e9 on)."""
    tau = 0.3
    mode = tau  # of the density of log sigma^2
    for relative in (1e-7, 1e-5, 1e-3, 0.1):
        sigma, other = mode * (1 + relative), mode
        values = _compute_sigma_log_prior(np.array([sigma, other]), tau, nu)
        expected = _decimal_log_prior_difference(sigma, other, tau, nu)
        np.testing.assert_allclose(
            values[0] - values[1], expected, rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("bounded", [False, True])
@pytest.mark.parametrize("noise_prior", [1e7, 1e8, 1e9])
def test_large_noise_prior_objective_never_decreases(Estimator, bounded, noise_prior):
    """The issue's panel at a strong prior: log_likelihoods_ never decreases
    (it did from about 1e9 on, when the log prior cancelled)."""
    em = _fit_quietly(
        Estimator(bounded=bounded, noise_prior=noise_prior, tol=0, max_iter=100),
        ISSUE_PANEL,
    )
    assert np.all(np.isfinite(em.log_likelihoods_))
    _assert_monotone(em.log_likelihoods_)


def test_per_annotator_fit_tends_to_the_shared_fit_as_noise_prior_grows(
    every_candidate_in_the_mixture,
):
    """As nu grows, every sigma_a tends to the shared fit's one sigma, the pooled
    ``sqrt(sum_a w_a SS_a / sum_a w_a n_a)``, and the weights to the shared
    fit's (about [0.98, 0.98, 0] on the issue's panel): at 1e8 and 1e9 they
    agree to 1e-6. 0.4.1 drifted (5e-4 off at 1e12) and collapsed from 1e17
    on; with the prior on sigma**2 the limit kept two pseudo-ratings per
    annotator (weights 0.967). Three items of three raters cannot judge
    anyone at this panel's agreement: the fits keep everyone in the mixture
    to test the steps."""
    shared = AnnotatorEM(
        bounded=False, noise="shared", init="all_good", tol=1e-12, max_iter=500
    ).fit(ISSUE_PANEL)
    for nu in (1e8, 1e9):
        em = AnnotatorEM(
            bounded=False, noise_prior=nu, init="all_good", tol=1e-12, max_iter=500
        ).fit(ISSUE_PANEL)
        residuals = ISSUE_PANEL - em.mu_[:, np.newaxis]
        pooled = np.sqrt(
            em.weights_
            @ (residuals**2).sum(axis=0)
            / (em.weights_.sum() * ISSUE_PANEL.shape[0])
        )
        np.testing.assert_allclose(em.sigma_, pooled, rtol=1e-7)
        np.testing.assert_allclose(em.weights_, shared.weights_, atol=1e-6)
        np.testing.assert_allclose(em.sigma_, shared.sigma_, rtol=1e-6)
    assert shared.weights_[2] < 1e-6 < 0.97 < shared.weights_[:2].min()


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_strongest_noise_prior_fits_the_same_in_any_annotator_order(Estimator):
    """A fuzzing helper's panel with biases: at noise_prior=1e12 the order of
    the columns picked the maximum (log-likelihood 39.4 or 28.4, mu_ 0.06
    apart); at the top of the accepted range the two orders agree."""
    X = np.array([[2, 2, 4, 2], [3, 3, 3, 2], [3, np.nan, 4, 4], [3, 3, 2, 2.0]])
    order = [1, 2, 0, 3]
    params = {"bias": True, "noise_prior": _NOISE_PRIOR_RANGE[1]}
    fit = _fit_quietly(Estimator(**params), X)
    permuted = _fit_quietly(Estimator(**params), X[:, order])
    np.testing.assert_allclose(permuted.mu_, fit.mu_, atol=1e-7)
    np.testing.assert_allclose(permuted.weights_, fit.weights_[order], atol=1e-7)
    assert permuted.log_likelihood_ == pytest.approx(fit.log_likelihood_, abs=1e-6)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "noise_prior", [5e-324, 1e-310, 1e-301, 1.1e9, 1e12, 1e17, 1e308]
)
def test_noise_prior_outside_its_usable_range_is_a_value_error(Estimator, noise_prior):
    """Values where doubles cannot hold the prior are refused, naming the
    range; 0.4.1 accepted 5e-324 and 1e308 and returned an all-NaN objective."""
    with pytest.raises(ValueError, match=r"noise_prior.*1e-300.*1000000000\.0"):
        Estimator(noise_prior=noise_prior).fit(ISSUE_PANEL)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("bounded", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("noise_prior", [1e-300, 1e9])
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
    """noise_prior log-uniform over its whole accepted range, or (half of the
    draws) over its strong end from 1e-3: the whole range spans 312 decades,
    most of them tiny values."""
    low, high = np.log10(_NOISE_PRIOR_RANGE)
    if draw(st.booleans()):
        low = -3.0
    exponent = draw(st.floats(low, high))
    return float(np.clip(10.0**exponent, *_NOISE_PRIOR_RANGE))


@st.composite
def _small_panels(draw):
    """make_ratings panels of 1 to 12 items and 2 to 5 annotators, some rounded."""
    X = make_ratings(
        draw(st.integers(1, 12)),
        draw(st.integers(2, 5)),
        bad_fraction=draw(st.sampled_from([0.0, 0.3, 0.7])),
        sigma=draw(st.sampled_from([0.0, 0.05, 0.3])),
        missing_fraction=draw(st.sampled_from([0.0, 0.4])),
        score_range=(1.0, 5.0),
        random_state=draw(st.integers(0, 2**32 - 1)),
    )
    if draw(st.booleans()):
        X = np.round(X)
    assume(_judgeable(X))
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
    """For noise_prior drawn log-uniformly over [1e-300, 1e9] (and over
    [1e-3, 1e9]), every per-annotator form, soft and hard, has a finite
    objective that never decreases by more than 1e-8 of its size."""
    em = _fit_quietly(
        Estimator(
            bounded=bounded, bias=bias, noise_prior=noise_prior, tol=0, max_iter=30
        ),
        X,
    )
    assert np.all(np.isfinite(em.log_likelihoods_))
    _assert_monotone(em.log_likelihoods_)


# --------------------------------------------------------------------------
# Defect 5: the lattice test of score_range='auto' and affine maps.
# --------------------------------------------------------------------------


def _integer_panel(seed, n_items=20, n_annotators=5):
    """Integer ratings 1..5 with random raters; every level appears."""
    X = np.round(
        make_ratings(
            n_items,
            n_annotators,
            bad_fraction=0.4,
            sigma=0.6,
            score_range=(1.0, 5.0),
            random_state=seed,
        )
    )
    X[0, :] = [1.0, 5.0, 3.0, 2.0, 4.0][:n_annotators]
    return X


def _mapped_range(a, b):
    """The image of (0.5, 5.5) under s -> a * s + b, as (low, high)."""
    ends = sorted((a * 0.5 + b, a * 5.5 + b))
    return ends[0], ends[1]


def _assert_same_range(got, expected, a, b):
    # Rounding of a * s + b: a few eps of the largest |score|, per end.
    magnitude = abs(a) * 5.5 + abs(b)
    np.testing.assert_allclose(
        got, expected, rtol=0, atol=64 * np.finfo(float).eps * magnitude
    )


def test_auto_range_of_integer_ratings_with_a_large_offset_keeps_its_half_steps():
    """The issue's example: 1e-6 * s + 37.86 of integer ratings 1..5 got the
    range (1, 5) in s (no half steps) and weights off by 0.99; now the range
    is the image of (0.5, 5.5) and the weights those of s."""
    X = _integer_panel(0)
    a, b = 1e-6, 37.86
    reference = AnnotatorEM().fit(X)
    mapped = AnnotatorEM().fit(a * X + b)
    _assert_same_range(mapped.score_range_, _mapped_range(a, b), a, b)
    np.testing.assert_allclose(mapped.weights_, reference.weights_, atol=1e-6)


@settings(max_examples=_budget(40), deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    log_scale=st.floats(-100, 100),
    negative=st.booleans(),
    log_offset_ratio=st.floats(-3, 8),
    offset_sign=st.sampled_from([-1.0, 0.0, 1.0]),
)
def test_auto_range_and_weights_of_integer_ratings_are_invariant_to_affine_maps(
    seed, log_scale, negative, log_offset_ratio, offset_sign
):
    """For integer ratings 1..5 and ``Y = a * X + b``, with ``|a|`` from 1e-100
    to 1e100 and ``|b|`` up to 1e8 ``|a|`` (the step stays above 1e-8 of
    the largest |score|), ``score_range_`` of ``Y`` is the image of X's
    ``(0.5, 5.5)`` and the weights are X's (to 1e-5).

    For ``a < 0`` the map reverses the scale: "invariant" means the range is
    the image with its ends swapped, ``(5.5 a + b, 0.5 a + b)``, and the
    weights are the same, since the model is symmetric under reflection (the
    uniform and the (truncated) normal are, and the biases change sign).
    """
    a = (-1.0 if negative else 1.0) * 10.0**log_scale
    b = offset_sign * abs(a) * 10.0**log_offset_ratio
    X = _integer_panel(seed)
    Y = a * X + b
    assert np.unique(Y).shape[0] == 5  # the map keeps the levels apart
    reference = AnnotatorEM().fit(X)
    mapped = AnnotatorEM().fit(Y)
    assert reference.score_range_ == (0.5, 5.5)
    _assert_same_range(mapped.score_range_, _mapped_range(a, b), a, b)
    np.testing.assert_allclose(mapped.weights_, reference.weights_, atol=1e-5)


# --------------------------------------------------------------------------
# Defect 6: transform of the training ratings against mu_.
# --------------------------------------------------------------------------


def _assert_transform_is_mu(em, X, gold=None):
    """transform(X) equals mu_ to 1e-12 of the range, except for gold items."""
    consensus = em.transform(X).ravel()
    expected = em.mu_.copy()
    if gold is not None:
        known = ~np.isnan(gold)
        consensus, expected = consensus[~known], expected[~known]
    low, high = em.score_range_
    np.testing.assert_allclose(consensus, expected, rtol=0, atol=1e-12 * (high - low))


def test_transform_equals_mu_when_every_annotator_has_weight_zero(
    every_candidate_in_the_mixture,
):
    """The issue's case: both annotators end with weight 0; mu_ was the last
    M-step's location, from the previous weights, and transform(X) the final
    weights' fallback. Now both are the consensus at the fitted parameters,
    and so is the plain normal form's location_. (The issue's 2 x 2 panel
    no longer gets there: with two compared ratings each, both annotators
    now enter EM as good; these four items compare each of them four times,
    and the fit keeps both in the mixture, though a pair of raters cannot
    tell who of them is wrong.)"""
    X = np.array([[5.0, 1.0], [4.0, 5.0], [5.0, 2.0], [3.0, 5.0]])
    em = AnnotatorEM(bounded=False, init="all_good").fit(X)
    assert np.all(em.weights_ < 1e-4)
    _assert_transform_is_mu(em, X)
    np.testing.assert_allclose(em.location_, X.mean(axis=1), rtol=1e-5)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("noise", ["shared", "per_annotator"])
def test_transform_equals_mu_with_bias_and_an_item_rated_by_a_zero_weight_rater(
    Estimator, noise
):
    """Plain normal form with bias=True: the last M-step's location was taken
    before the biases were re-centred, so an item rated only by a weight-0
    annotator differed (0.9221 against 0.9248 in the issue)."""
    X = np.array(
        [[0.2, 0.25, 0.9], [0.6, 0.62, 0.1], [0.8, 0.78, 0.4], [np.nan, np.nan, 0.95]]
    )
    em = _fit_quietly(Estimator(bounded=False, noise=noise, bias=True), X)
    assert em.weights_[2] < 1e-3
    _assert_transform_is_mu(em, X)


@st.composite
def _panels_with_weightless_items(draw):
    """Small panels, often with items rated only by annotators who end at 0."""
    n_items, n_annotators = draw(st.integers(1, 8)), draw(st.integers(2, 4))
    X = np.round(
        make_ratings(
            n_items,
            n_annotators,
            bad_fraction=draw(st.sampled_from([0.0, 0.5, 1.0])),
            sigma=draw(st.sampled_from([0.0, 0.3, 1.0])),
            missing_fraction=draw(st.sampled_from([0.0, 0.3, 0.6])),
            score_range=(1.0, 5.0),
            random_state=draw(st.integers(0, 2**32 - 1)),
        )
    )
    # A random rater's own items: rated by nobody else.
    lone = draw(st.integers(0, n_annotators - 1))
    extra = np.full((2, n_annotators), np.nan)
    extra[:, lone] = draw(st.sampled_from([[1.0, 5.0], [5.0, 5.0], [2.0, 4.0]]))
    X = np.vstack([X, extra])
    assume(_judgeable(X))
    return X


@settings(max_examples=_budget(60))
@given(
    X=_panels_with_weightless_items(),
    Estimator=st.sampled_from(ESTIMATORS),
    bounded=st.booleans(),
    noise=st.sampled_from(["shared", "per_annotator"]),
    bias=st.booleans(),
    init=st.sampled_from(["auto", "all_good", "median"]),
)
def test_transform_of_the_training_ratings_is_mu_for_every_form(
    X, Estimator, bounded, noise, bias, init
):
    """For every form, soft and hard, any init, and panels with items whose
    only raters end with weight 0: transform(X) equals mu_ to 1e-12 of the
    score range (one code path, the consensus at the fitted parameters)."""
    em = _fit_quietly(Estimator(bounded=bounded, noise=noise, bias=bias, init=init), X)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*have no rating", UserWarning)
        _assert_transform_is_mu(em, X)


# --------------------------------------------------------------------------
# Found by the extended fuzzer: a warm start from a fit on a wider scale.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("bounded", [False, True])
@pytest.mark.parametrize("noise", ["shared", "per_annotator"])
@SIGMA_AT_ITS_FLOOR
def test_warm_start_from_a_fit_on_a_much_wider_range_fits_finitely(
    Estimator, bounded, noise
):
    """Fuzz seed 3022856: a first fit on constant ratings (range (-0.5, 0.5))
    then a warm refit whose range is 1e-281 wide started from a unit-space
    sigma of 1e281; its square overflowed (an OverflowError on 0.4.1, a
    non-finite objective or a RuntimeWarning otherwise). The warm start now
    keeps sigma and the shared scale within [min_sigma, 1] of the new range."""
    em = Estimator(bounded=bounded, noise=noise, warm_start=True, max_iter=5)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*have no rating", UserWarning)
        warnings.filterwarnings("ignore", ".*did not converge")
        warnings.simplefilter("error", RuntimeWarning)
        em.fit(np.array([[0.0, 0.0], [np.nan, 0.0]]))
        em.fit(np.array([[7.564833815959259e-282, 0.0], [0.0, 0.0]]))
    assert np.all(np.isfinite(em.log_likelihoods_))
    for name in ("weights_", "sigma_", "shared_sigma_", "mu_"):
        assert np.all(np.isfinite(getattr(em, name))), name
