"""Property-based tests of both estimators on random, partly missing ratings."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skem import HardAnnotatorEM
from skem.datasets import make_ratings
from tests._helpers import ESTIMATORS, LECTURE, _judgeable

LOW, HIGH = 0.0, 10.0


@st.composite
def rating_matrices(draw, max_items=12, max_annotators=7):
    """A matrix of scores in [0, 10] with NaN for missing, one rating at least."""
    n_items = draw(st.integers(1, max_items))
    n_annotators = draw(st.integers(2, max_annotators))
    scores = draw(
        arrays(
            np.float64,
            (n_items, n_annotators),
            elements=st.floats(LOW, HIGH, allow_nan=False, width=32),
        )
    )
    missing = draw(arrays(np.bool_, (n_items, n_annotators)))
    X = np.where(missing, np.nan, scores)
    assume(_judgeable(X))
    return X


@st.composite
def inits(draw, n_annotators):
    kind = draw(st.sampled_from(["all_good", "median", "random", "weights"]))
    if kind != "weights":
        return kind
    weights = draw(
        arrays(np.float64, n_annotators, elements=st.floats(0.0, 1.0, width=32))
    )
    assume(weights.max() > 0)
    return weights


def _fit(Estimator, X, **params):
    with warnings.catch_warnings():
        # Missing items and max_iter runs are expected here.
        warnings.simplefilter("ignore")
        return Estimator(**LECTURE, score_range=(LOW, HIGH), **params).fit(X)


def _fitted_with_random_init(data, Estimator, **params):
    """A fit from a random init, with gold scores for some items half the time."""
    X = data.draw(rating_matrices())
    init = data.draw(inits(X.shape[1]))
    seed = data.draw(st.integers(0, 2**16))
    y = None
    if data.draw(st.booleans()):
        known = data.draw(arrays(np.bool_, X.shape[0]))
        values = data.draw(
            arrays(np.float64, X.shape[0], elements=st.floats(LOW, HIGH, width=32))
        )
        y = np.where(known, values, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = Estimator(
            **LECTURE, score_range=(LOW, HIGH), init=init, random_state=seed, **params
        )
        return X, y, em.fit(X, gold=y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@given(data=st.data())
def test_log_likelihood_never_decreases_across_iterations(Estimator, data):
    """EM never lowers its objective (marginal LL; classification LL if hard).

    Checked to a tolerance of 1e-9 relative, over up to 60 iterations with
    tol=0, from every kind of init, with and without gold items.
    """
    _, _, em = _fitted_with_random_init(data, Estimator, max_iter=60, tol=0)
    objectives = em.log_likelihoods_
    assert np.all(np.isfinite(objectives))
    decrease = objectives[:-1] - objectives[1:]
    assert np.all(decrease <= 1e-9 * np.maximum(1.0, np.abs(objectives[:-1])))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@given(data=st.data())
def test_weights_lie_in_unit_interval_and_parameters_are_finite(Estimator, data):
    """weights_ is in [0, 1], pi_ in (0, 1), sigma_ > 0, and mu_ is finite
    exactly where an item has a rating or a gold score."""
    X, y, em = _fitted_with_random_init(data, Estimator)
    assert np.all((em.weights_ >= 0) & (em.weights_ <= 1))
    assert 0 < em.pi_ < 1 and em.sigma_ > 0
    determined = ~np.isnan(X).all(axis=1)
    if y is not None:
        determined |= ~np.isnan(y)
    assert np.all(np.isfinite(em.mu_[determined]))
    assert np.all(np.isnan(em.mu_[~determined]))
    if Estimator is HardAnnotatorEM:
        assert set(np.unique(em.weights_)) <= {0.0, 1.0}
        assert em.weights_[~np.isnan(X).all(axis=0)].sum() >= 1


@st.composite
def model_rating_matrices(draw):
    """A random matrix drawn from the model, with missing entries.

    The symmetry properties hold exactly only in exact arithmetic. On
    arbitrary tiny matrices (say one item rated 5 and 0 by two annotators) EM
    starts on a saddle of perfect symmetry, and which annotator rounding pushes
    off it depends on the order of the sums; that is a tie, not a failure of
    the property. Matrices from the model, with sizes, noise, missingness and
    seed chosen by hypothesis, have a well-defined answer.
    """
    n_items = draw(st.integers(5, 30))
    n_annotators = draw(st.integers(3, 10))
    X = make_ratings(
        n_items,
        n_annotators,
        bad_fraction=draw(st.sampled_from([0.0, 0.2, 0.4])),
        sigma=draw(st.sampled_from([0.2, 0.5, 1.0])),
        missing_fraction=draw(st.sampled_from([0.0, 0.3, 0.6])),
        score_range=(LOW, HIGH),
        random_state=draw(st.integers(0, 2**16)),
    )
    # Two annotators whose only ratings are one shared item sit symmetrically
    # about its mean, whatever the scores: a tie that no order can break.
    assume((~np.isnan(X)).sum(axis=0).min() >= 2)
    assume(_judgeable(X))
    return X


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@given(
    X=model_rating_matrices(),
    init=st.sampled_from(["all_good", "median"]),
    data=st.data(),
)
def test_permuting_annotators_and_items_permutes_weights_and_mu(
    Estimator, X, init, data
):
    """Relabelling annotators permutes weights_; reordering items permutes mu_."""
    item_order = data.draw(st.permutations(range(X.shape[0])))
    annotator_order = data.draw(st.permutations(range(X.shape[1])))
    em = _fit(Estimator, X, init=init, tol=1e-12, max_iter=500)
    permuted = _fit(
        Estimator,
        X[np.ix_(item_order, annotator_order)],
        init=init,
        tol=1e-12,
        max_iter=500,
    )
    np.testing.assert_allclose(
        permuted.weights_, em.weights_[annotator_order], atol=1e-6
    )
    np.testing.assert_allclose(permuted.mu_, em.mu_[item_order], atol=1e-6)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@given(
    X=model_rating_matrices(),
    init=st.sampled_from(["all_good", "median"]),
    scale=st.sampled_from([0.01, 0.5, 3.0, 1000.0, -2.0]),
    shift=st.floats(-100, 100, width=32),
)
def test_affine_change_of_scores_moves_mu_and_sigma_and_keeps_weights(
    Estimator, X, init, scale, shift
):
    """s -> c*s + b with the same change of score_range gives mu -> c*mu + b,
    sigma -> |c|*sigma and the same weights."""
    em = _fit(Estimator, X, init=init, tol=1e-12, max_iter=500)
    low, high = sorted((scale * LOW + shift, scale * HIGH + shift))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moved = Estimator(
            **LECTURE, score_range=(low, high), init=init, tol=1e-12, max_iter=500
        ).fit(scale * X + shift)
    np.testing.assert_allclose(moved.weights_, em.weights_, atol=1e-6)
    np.testing.assert_allclose(
        moved.mu_, scale * em.mu_ + shift, rtol=1e-6, atol=1e-6 * abs(scale) * HIGH
    )
    assert moved.sigma_ == pytest.approx(abs(scale) * em.sigma_, rel=1e-6)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@given(X=rating_matrices(), seed=st.integers(0, 2**16), n_init=st.integers(1, 3))
def test_same_random_state_gives_identical_results(Estimator, X, seed, n_init):
    """Two fits with the same random_state agree bit for bit."""
    first = _fit(Estimator, X, init="random", n_init=n_init, random_state=seed)
    second = _fit(Estimator, X, init="random", n_init=n_init, random_state=seed)
    np.testing.assert_array_equal(first.weights_, second.weights_)
    np.testing.assert_array_equal(first.mu_, second.mu_)
    np.testing.assert_array_equal(first.log_likelihoods_, second.log_likelihoods_)
