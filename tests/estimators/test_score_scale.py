"""score_scale='log': every form on the logarithms of the scores, read in score units.

The fit on the logarithms is the fit of ``np.log(X)`` with the scale's own
ends; these tests hold the estimator to that, and to its outputs in score
units: the consensus and its intervals mapped back, the densities of the
scores (with the Jacobian ``1 / s``), and the errors on non-positive scores.
"""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skem import AnnotatorEM, HardAnnotatorEM, consensus_frame
from tests._helpers import ESTIMATORS, _budget, _fit_quietly

pd = pytest.importorskip("pandas")

LOG_FORMS = [
    {},
    {"bounded": False},
    {"bias": True},
    {"noise": "shared"},
    {"bounded": False, "tail": 2.0},
    {"bounded": False, "tail": "auto"},
]


def _counts(seed=0, n_items=30, n_workers=10, relative_error=0.3, junk=2):
    """Guessed counts: each guess is the truth times a log-normal error; junk
    workers type uniform numbers in 1..9,999; 30% of the guesses missing."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(20, 500, n_items)
    X = np.round(
        truth[:, None] * np.exp(rng.normal(0, relative_error, (n_items, n_workers)))
    )
    X[:, :junk] = rng.integers(1, 10_000, (n_items, junk))
    X[rng.random(X.shape) < 0.3] = np.nan
    return X, truth


def _assert_fit_of_the_logarithms(em, on_logs, X):
    """``em``, score_scale='log' on X, is ``on_logs``, fitted on log X."""
    logs = np.log(X)
    np.testing.assert_array_equal(em.weights_, on_logs.weights_)
    np.testing.assert_array_equal(em.sigma_, on_logs.sigma_)
    np.testing.assert_array_equal(em.bias_, on_logs.bias_)
    assert em.pi_ == on_logs.pi_
    assert em.tail_ == on_logs.tail_
    np.testing.assert_allclose(np.log(em.mu_), on_logs.mu_, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(
        np.log(em.location_), on_logs.location_, rtol=1e-14, atol=1e-14
    )
    np.testing.assert_array_equal(em.mu_std_error_, on_logs.mu_std_error_)
    # Densities of the scores: the logarithms' over each rating's score.
    total = np.nansum(logs)
    np.testing.assert_allclose(
        em.log_likelihoods_, on_logs.log_likelihoods_ - total, rtol=1e-12
    )
    np.testing.assert_allclose(
        em.score_samples(X),
        on_logs.score_samples(logs) - np.nansum(logs, axis=1),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        np.log(em.transform(X)), on_logs.transform(logs), rtol=1e-14, atol=1e-14
    )
    np.testing.assert_allclose(
        np.log(em.mu_interval(0.9)), on_logs.mu_interval(0.9), rtol=1e-13, atol=1e-13
    )


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("form", LOG_FORMS, ids=str)
def test_the_log_scale_is_the_fit_of_the_logarithms_in_score_units(Estimator, form):
    """Every form with score_scale='log' fits exactly what it fits on log(X);
    its consensus, locations, intervals and transform are their exponentials,
    and its likelihoods those of the scores, lower by the sum of log(s)."""
    X, _ = _counts()
    em = _fit_quietly(Estimator(score_scale="log", **form), X)
    on_logs = _fit_quietly(Estimator(**form), np.log(X))
    assert em.score_range_ == (np.nanmin(X), np.nanmax(X))
    _assert_fit_of_the_logarithms(em, on_logs, X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@settings(max_examples=_budget(15), deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    relative_error=st.sampled_from([0.05, 0.3, 1.0]),
    junk=st.integers(0, 4),
    form=st.sampled_from(LOG_FORMS),
)
def test_log_scale_objective_never_decreases_and_is_the_logarithms_fit(
    Estimator, seed, relative_error, junk, form
):
    """On the log scale EM never lowers its objective (by more than the
    rounding of the forms' own tests), and it is the objective of the
    logarithms' fit less the sum of log(s): the same monotone EM, whatever
    the counts, their errors, the junk workers and the form."""
    X, _ = _counts(
        seed, n_items=12, n_workers=6, relative_error=relative_error, junk=junk
    )
    em = _fit_quietly(Estimator(score_scale="log", max_iter=30, tol=0, **form), X)
    objectives = em.log_likelihoods_
    assert np.all(np.isfinite(objectives))
    decrease = objectives[:-1] - objectives[1:]
    allowed = 1e-8 * (1 + np.maximum(np.abs(objectives[:-1]), np.abs(objectives[1:])))
    assert np.all(decrease <= allowed), (decrease.max(), objectives)
    on_logs = _fit_quietly(Estimator(max_iter=30, tol=0, **form), np.log(X))
    np.testing.assert_allclose(
        objectives, on_logs.log_likelihoods_ - np.nansum(np.log(X)), rtol=1e-12
    )


def test_the_log_scale_models_relative_errors_better_than_the_mean():
    """On counts with relative errors and junk workers the t on the
    logarithms has a lower error than the mean and than the linear
    default, and it calls the junk workers random and nobody else."""
    X, truth = _counts(seed=3, n_items=60, n_workers=15, relative_error=0.3, junk=2)
    em = AnnotatorEM(score_scale="log", bounded=False, tail="auto").fit(X)
    linear = AnnotatorEM().fit(X)
    error = np.mean(np.abs(em.mu_ - truth))
    assert error < np.mean(np.abs(np.nanmean(X, axis=1) - truth))
    assert error < np.mean(np.abs(linear.mu_ - truth))
    np.testing.assert_array_equal(em.weights_ < 0.5, np.arange(15) < 2)


@pytest.mark.parametrize(
    ("relative", "expected"), [(True, "log"), (False, "linear")], ids=str
)
def test_grid_search_chooses_the_scale_of_the_errors(relative, expected):
    """score compares fits on either scale (densities of the scores): held-out
    ratings choose the log scale for relative errors of 10%, the linear one
    for additive errors of the same size at the middle of the range."""
    rng = np.random.default_rng(5)
    truth = rng.uniform(1000, 3000, 90)
    noise = rng.normal(0, 0.1, (90, 8))
    X = truth[:, None] * np.exp(noise) if relative else truth[:, None] + 2000 * noise
    search = GridSearchCV(
        AnnotatorEM(), {"score_scale": ["linear", "log"]}, cv=3, error_score="raise"
    )
    _fit_quietly(search, X)
    assert search.best_params_ == {"score_scale": expected}


def test_gold_and_an_explicit_range_are_in_score_units():
    """A gold item's consensus is its known count exactly; an explicit range is
    kept as stated, and the fit is that of the logarithms on its logarithms."""
    X, truth = _counts(seed=1)
    gold = np.full(X.shape[0], np.nan)
    gold[:3] = np.round(truth[:3])
    em = AnnotatorEM(score_scale="log", score_range=(1, 10_000)).fit(X, gold=gold)
    np.testing.assert_array_equal(em.mu_[:3], gold[:3])
    assert em.score_range_ == (1.0, 10_000.0)
    on_logs = AnnotatorEM(score_range=(0.0, np.log(10_000))).fit(
        np.log(X), gold=np.log(gold)
    )
    np.testing.assert_allclose(em.weights_, on_logs.weights_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.log(em.mu_[3:]), on_logs.mu_[3:], rtol=1e-12)


def test_consensus_frame_intervals_are_the_logarithms_intervals():
    """consensus_frame's intervals are mu_interval's: asymmetric around the
    consensus, its exponential of the logarithms' interval."""
    X, _ = _counts(seed=2)
    em = AnnotatorEM(score_scale="log").fit(X)
    frame = consensus_frame(em, X=X)
    np.testing.assert_allclose(
        frame[["ci_low", "ci_high"]].to_numpy(), em.mu_interval(0.95), rtol=1e-15
    )
    np.testing.assert_allclose(
        frame["ci_low"] * frame["ci_high"], em.mu_**2, rtol=1e-12
    )
    assert np.all(frame["ci_low"] < em.mu_) and np.all(em.mu_ < frame["ci_high"])


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_warm_refit_on_the_log_scale_is_that_of_the_logarithms(Estimator):
    """A warm refit goes on from the fit on the log scale as on the logarithms."""
    X, _ = _counts(seed=4)
    em = Estimator(score_scale="log", warm_start=True).fit(X)
    on_logs = Estimator(warm_start=True).fit(np.log(X))
    _assert_fit_of_the_logarithms(em.fit(X), on_logs.fit(np.log(X)), X)
    assert em.n_iter_ == on_logs.n_iter_ == 1


@pytest.mark.parametrize(
    ("make", "params", "match"),
    [
        (
            lambda X: np.where(X == np.nanmax(X), 0.0, X),
            {},
            "must be positive: X has 1",
        ),
        (lambda X: -X, {}, "must be positive"),
        (lambda X: X, {"score_range": (0, 10_000)}, "0 < low < high"),
        (lambda X: X, {"levels": [1, 2, 3]}, "does not read"),
    ],
    ids=["zero", "negative", "range from 0", "levels"],
)
def test_what_the_logarithms_cannot_read_is_a_value_error_and_the_fit_stays(
    make, params, match
):
    """Ratings that are not positive, a range from 0 and explicit levels are
    a ValueError that says why; a fitted estimator stays as it was."""
    X, _ = _counts(seed=5)
    em = AnnotatorEM(score_scale="log").fit(X)
    before = pickle.dumps(em)
    em.set_params(**params)
    with pytest.raises(ValueError, match=match):
        em.fit(make(X.copy()))
    em.set_params(**{name: AnnotatorEM().get_params()[name] for name in params})
    assert pickle.dumps(em) == before


def test_gold_that_is_not_positive_is_a_value_error():
    X, _ = _counts(seed=6)
    gold = np.full(X.shape[0], np.nan)
    gold[0] = 0.0
    with pytest.raises(
        ValueError, match="gold holds known scores that are not positive"
    ):
        AnnotatorEM(score_scale="log").fit(X, gold=gold)


@pytest.mark.parametrize("method", ["transform", "score_samples", "score"])
def test_new_ratings_that_are_not_positive_are_a_value_error(method):
    X, _ = _counts(seed=7)
    em = AnnotatorEM(score_scale="log").fit(X)
    X_new = X.copy()
    X_new[0, np.flatnonzero(np.isfinite(X[0]))[0]] = -3.0
    with pytest.raises(ValueError, match="e.g. -3"):
        getattr(em, method)(X_new)


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
def test_the_log_scale_clones_pickles_and_refits_the_same(Estimator):
    """scikit-learn's conventions on positive data, which its own checks do
    not draw for a log scale (they shift data to a minimum of 0): clone,
    pickling and a refit give the same numbers, and the tags say
    positive_only."""
    X, _ = _counts(seed=8)
    em = Estimator(score_scale="log", random_state=0).fit(X)
    again = clone(em).fit(X)
    restored = pickle.loads(pickle.dumps(em))
    for other in (again, restored):
        np.testing.assert_array_equal(other.mu_, em.mu_)
        np.testing.assert_array_equal(other.weights_, em.weights_)
        np.testing.assert_array_equal(other.transform(X), em.transform(X))
    assert em.__sklearn_tags__().input_tags.positive_only
    assert not Estimator().__sklearn_tags__().input_tags.positive_only


@pytest.mark.parametrize(("first", "then"), [("log", "linear"), ("linear", "log")])
def test_a_warm_start_on_the_other_scale_starts_cold(first, then):
    """Review finding: sigma_ on the logarithms read as score points started a
    linear refit at a poor optimum (its consensus 37 times off). After a fit
    on the other score_scale a warm fit is the cold fit."""
    X, _ = _counts(seed=0)
    warm = AnnotatorEM(score_scale=first, warm_start=True, random_state=0).fit(X)
    warm.set_params(score_scale=then).fit(X)
    cold = AnnotatorEM(score_scale=then, random_state=0).fit(X)
    np.testing.assert_array_equal(warm.mu_, cold.mu_)
    np.testing.assert_array_equal(warm.weights_, cold.weights_)
    assert warm.log_likelihood_ == cold.log_likelihood_


def test_a_new_consensus_below_a_wide_log_range_is_kept():
    """Review finding: on a range of 10 to 1e13 the tolerance that puts a
    bounded consensus on an end was 276 at the low end (one relative to the
    high end); a new item's consensus of 3.9 became 6.9. It is the
    logarithms' fit's, below the range that 'auto' extended."""
    rng = np.random.default_rng(0)
    truth = np.exp(rng.uniform(np.log(10), np.log(1e13), 40))
    X = truth[:, None] * np.exp(rng.normal(0, 0.2, (40, 6)))
    em = AnnotatorEM(score_scale="log", random_state=0).fit(X)
    on_logs = AnnotatorEM(random_state=0).fit(np.log(X))
    new = np.array([[3.0, 4.0, 5.0, 4.0, 3.5, 4.5]])
    consensus = em.transform(new)[0, 0]
    assert consensus < em.score_range_[0]
    assert consensus == pytest.approx(np.exp(on_logs.transform(np.log(new))[0, 0]))


def test_logarithms_on_a_lattice_widen_the_range_and_new_ratings_as_in_the_fit():
    """Review finding: ratings 1, 2, 4, ..., 512 widen the range by half a step
    of their logarithms; new ratings beyond it extend the bounds by half a
    step too, as the fit of the logarithms does, so score_samples agree."""
    rng = np.random.default_rng(1)
    X = 2.0 ** rng.integers(0, 10, (30, 5)).astype(float)
    em = AnnotatorEM(score_scale="log", bounded=False).fit(X)
    on_logs = AnnotatorEM(bounded=False, levels=None).fit(np.log(X))
    assert em.score_range_ == pytest.approx(np.exp(on_logs.score_range_), rel=1e-14)
    new = np.array([[2048.0, 4096.0, 1024.0, 2048.0, np.nan]])
    np.testing.assert_allclose(
        em.score_samples(new),
        on_logs.score_samples(np.log(new)) - np.nansum(np.log(new)),
        rtol=1e-9,
    )


def test_a_new_consensus_far_below_a_very_wide_log_range_is_kept():
    """Review finding: four units in the last place of the high end (1e15)
    still put a new consensus of 0.9 onto the low end 1.4; the tolerance is
    relative to the end crossed in both its terms."""
    rng = np.random.default_rng(0)
    truth = np.exp(rng.uniform(np.log(2), np.log(1e15), 40))
    X = truth[:, None] * np.exp(rng.normal(0, 0.2, (40, 6)))
    em = AnnotatorEM(score_scale="log", random_state=0).fit(X)
    on_logs = AnnotatorEM(random_state=0).fit(np.log(X))
    new = em.score_range_[0] * np.array([[0.6, 0.65, 0.7, 0.6, 0.65, 0.7]])
    assert em.transform(new)[0, 0] == pytest.approx(
        np.exp(on_logs.transform(np.log(new))[0, 0])
    )
