"""Helpers shared by the tests: the forms, hypothesis budgets, small ratings."""

import itertools
import os
import warnings

import numpy as np
import pytest
from hypothesis import settings
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.backend import _Block, _InMemoryBackend
from skem._em.ratings import _Ratings
from skem._model.likelihoods import (
    _compute_good_terms,
)
from skem._model.truncated_terms import _kernel_truncated_terms

# The lecture's model, which some tests check against its formulas.
LECTURE = {"bounded": False, "noise": "shared"}
ZERO3, ONE3 = np.zeros(3), np.ones(3)

# A small rating matrix of the unit tests: one item without any rating.
SMALL_X = np.array(
    [
        [1.0, 2.0, np.nan],
        [3.0, np.nan, 5.0],
        [np.nan, np.nan, np.nan],
        [0.0, 4.0, 2.0],
    ]
)

ESTIMATORS = [AnnotatorEM, HardAnnotatorEM]

# Every model form: bounded x noise x bias, and the Student-t good component
# (a plain form with a tail) with each noise, one with biases.
FORMS = [
    {"bounded": bounded, "noise": noise, "bias": bias}
    for bounded, noise, bias in itertools.product(
        (True, False), ("shared", "per_annotator"), (False, True)
    )
] + [
    {"bounded": False, "noise": "per_annotator", "bias": False, "tail": 1.0},
    {"bounded": False, "noise": "shared", "bias": True, "tail": 3.0},
]

# The forms of the everyday tier (``pytest -m "not slow"``). The first four
# are the rows of bounded x noise x bias in which every pair of their values
# occurs (an orthogonal array that holds the default and the lecture's form);
# the fifth is a Student-t form. The full run tests every form.
EVERYDAY_FORMS = [
    {"bounded": True, "noise": "per_annotator", "bias": False},
    {"bounded": True, "noise": "shared", "bias": True},
    {"bounded": False, "noise": "per_annotator", "bias": True},
    {"bounded": False, "noise": "shared", "bias": False},
    {"bounded": False, "noise": "per_annotator", "bias": False, "tail": 1.0},
]

# The truncation of the unit tests: the unit score range.
BOUNDS = (0.0, 1.0)


def _form_id(form):
    """A test id of a form's parameters.

    Parameters
    ----------
    form : dict
        Estimator parameters.

    Returns
    -------
    id : str
    """
    return "-".join(f"{key}={value}" for key, value in form.items())


def _form_params(forms=None, estimators=None):
    """Test parameters of forms, those outside the everyday tier marked slow.

    Parameters
    ----------
    forms : list of dict, default=None
        Estimator parameters; every form (``FORMS``) when None.
    estimators : list of type, default=None
        When given, one parameter ``(Estimator, form)`` for each estimator and
        form; otherwise one parameter ``form`` for each form.

    Returns
    -------
    params : list of pytest.param
        Each with its id, and ``pytest.mark.slow`` unless its form is in
        ``EVERYDAY_FORMS``.
    """
    forms = FORMS if forms is None else forms
    pairs = [(None, form) for form in forms]
    if estimators is not None:
        pairs = [(Estimator, form) for Estimator in estimators for form in forms]
    params = []
    for Estimator, form in pairs:
        marks = () if form in EVERYDAY_FORMS else pytest.mark.slow
        if Estimator is None:
            params.append(pytest.param(form, marks=marks, id=_form_id(form)))
        else:
            name = f"{Estimator.__name__}-{_form_id(form)}"
            params.append(pytest.param(Estimator, form, marks=marks, id=name))
    return params


def _budget(n_examples):
    """The number of hypothesis examples of a test that asks for ``n_examples``.

    ``n_examples`` in the full run; at most the profile's budget in the
    everyday tier (``pytest -m "not slow"``, see ``tests/conftest.py``); the
    profile's budget under ``HYPOTHESIS_PROFILE=stress``.

    Parameters
    ----------
    n_examples : int

    Returns
    -------
    n_examples : int
    """
    profile = os.environ.get("HYPOTHESIS_PROFILE")
    if profile == "stress":
        return settings().max_examples
    if profile == "everyday":
        return min(n_examples, settings().max_examples)
    return n_examples


def _ratings(item, annotator, score, n_items, n_annotators):
    """Ratings from lists of item and annotator codes and scores.

    Parameters
    ----------
    item, annotator, score : array-like of shape (n_ratings,)
    n_items, n_annotators : int

    Returns
    -------
    ratings : _Ratings
    """
    return _Ratings(
        np.asarray(item, dtype=np.intp),
        np.asarray(annotator, dtype=np.intp),
        np.asarray(score, dtype=np.float64),
        n_items,
        n_annotators,
    )


def _random_ratings(rng, n_items, n_annotators, n_ratings):
    """Ratings of uniform scores by random annotators on random items.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_items, n_annotators, n_ratings : int

    Returns
    -------
    ratings : _Ratings
    """
    return _Ratings(
        rng.integers(0, n_items, n_ratings),
        rng.integers(0, n_annotators, n_ratings),
        rng.uniform(0, 1, n_ratings),
        n_items,
        n_annotators,
    )


def _terms(ratings, mu, bias, sigma):
    """Per-rating truncated terms on ``BOUNDS``, from whole arrays.

    Parameters
    ----------
    ratings : _Ratings
    mu : ndarray of shape (n_items,)
        The locations.
    bias, sigma : ndarray of shape (n_annotators,)

    Returns
    -------
    terms : dict
    """
    return _compute_good_terms(
        ratings.score,
        mu[ratings.item] + bias[ratings.annotator],
        sigma[ratings.annotator],
        BOUNDS,
    )


def _backend(ratings, mu, bias, sigma):
    """One block of the ratings, at these parameters, in memory.

    Parameters
    ----------
    ratings : _Ratings
    mu : ndarray of shape (n_items,)
        The locations.
    bias, sigma : ndarray of shape (n_annotators,)

    Returns
    -------
    backend : _InMemoryBackend
        Its block holds the kept terms and their sums, as a fit's blocks do.
    """
    block, _ = _kernel_truncated_terms(_Block(ratings, None, mu), bias, sigma)
    return _InMemoryBackend(block, ratings.n_per_annotator, False)


def _fit_quietly(estimator, X, **fit_params):
    """Fit without the expected warnings: no convergence, items without ratings.

    Parameters
    ----------
    estimator : estimator
    X : array-like
    **fit_params
        Passed to ``fit``.

    Returns
    -------
    estimator : estimator
        Fitted.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", ".*have no rating", UserWarning)
        warnings.filterwarnings("ignore", ".*at its floor min_sigma", UserWarning)
        return estimator.fit(X, **fit_params)


def _log_sigma_prior(sigma, tau, nu):
    """The prior of ``sigma`` by scipy: with ``sigma**2 ~ Scale-inv-chi2(nu,
    tau**2)``, the density of ``log sigma**2`` is the inverse-gamma density of
    ``sigma**2`` (``a = nu / 2``, ``scale = nu tau**2 / 2``) times ``sigma**2``."""
    variance = np.asarray(sigma, dtype=np.float64) ** 2
    return stats.invgamma(a=nu / 2, scale=nu * tau**2 / 2).logpdf(variance) + np.log(
        variance
    )


def _judgeable(X):
    """Whether a rating matrix can judge its annotators (else fit raises).

    Parameters
    ----------
    X : ndarray of shape (n_items, n_annotators)
        NaN where not rated.

    Returns
    -------
    judgeable : bool
        At least two annotators have ratings and some item has two.
    """
    observed = ~np.isnan(X)
    return bool(
        np.count_nonzero(observed.any(axis=0)) >= 2 and observed.sum(axis=1).max() >= 2
    )


def _panel_with_unanimous_items():
    """120 items rated 1..5 by 8 raters, 30% missing; in about 40% of the
    items every rating agrees (two of them at least).

    Returns
    -------
    X : ndarray of shape (120, 8)
    agree : ndarray of shape (120,), dtype bool
        The unanimous items.
    """
    rng = np.random.default_rng(0)
    X = rng.integers(1, 6, size=(120, 8)).astype(float)
    X[rng.random(X.shape) < 0.3] = np.nan
    agree = rng.random(120) < 0.4
    X[agree] = np.where(
        np.isnan(X[agree]), np.nan, rng.integers(1, 6, (agree.sum(), 1))
    )
    X[agree, 0] = X[agree, 1] = np.nanmax(X[agree], axis=1)
    return X, agree


def _hard_panel_of_few_raters():
    """The benchmarks' hard 1..5 panel with 3 to 5 raters per item, whose
    default fit calls 3 of its 18 honest raters random beside the 2 random
    ones."""
    from benchmarks.crowds import _hard_panel

    return _hard_panel(np.random.default_rng(1), (3, 5), 2)[0]


def _yes_no_panel_with_spammers():
    """The benchmarks' yes/no panel: 200 items, 5 of 20 workers each, 4 of
    them spammers."""
    from benchmarks.yes_no import _yes_no_panel

    return _yes_no_panel(np.random.default_rng(3), 200, 20, 5, 0.6, 0.95, 4)[0]


def _panel_with_an_offset_rater():
    """40 items on 1..9, 8 raters, 2 of them random; rater 0 is careful but
    rates 2 above the others, so that a fit without biases leaves it
    undetermined, its ratings following the items."""
    from skem.datasets import make_ratings

    X = np.round(
        make_ratings(
            40, 8, bad_fraction=0.25, sigma=0.4, score_range=(1, 9), random_state=3
        )
    )
    X[:, 0] = np.clip(X[:, 0] + 2, 1, 9)
    return X


def _test_cluster(n_workers, processes=False):
    """A ``distributed.LocalCluster`` for one test: single-threaded workers,
    no dashboard, and the scheduler's health-check server on a free port
    (parallel test workers would all ask for Dask's 8787, and warn)."""
    import distributed

    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
    )


class DaskLikeFit(BaseEstimator):
    """A fitted estimator as a Dask fit is: ``annotators_`` and ``consensus_``,
    no ``mu_``."""

    def fit(self, em, annotators):
        self.weights_ = em.weights_
        self.log_posterior_ = em.log_posterior_
        self.annotators_ = np.asarray(annotators, dtype=object)
        self.consensus_ = "on the cluster"
        return self


def _spares_nobody(data, *run):
    """A stand-in for a check of the driver that spares annotators
    (``_find_lapses``, ``_find_followers``, ``_find_undetermined``): it
    spares nobody."""
    return np.zeros(data.n_annotators, dtype=bool)


def _quiet_sklearn_checks(test):
    """``test`` with the warnings that scikit-learn's estimator checks draw
    from skem ignored: their small random panels leave items without a
    rating (whose consensus is NaN, as the warning says), give ratings that
    agree exactly (sigma at its floor), and stop at ``max_iter``. The checks
    test the interface; those warnings are asserted where they are the point
    (``tests/em/test_validation.py``, ``tests/estimators/test_edge_cases.py``,
    ``tests/estimators/test_estimators.py``)."""
    for message, category in (
        (".*have no rating", "UserWarning"),
        (".*ended at its floor", "UserWarning"),
        ("", "sklearn.exceptions.ConvergenceWarning"),
    ):
        test = pytest.mark.filterwarnings(f"ignore:{message}:{category}")(test)
    return test


# For tests whose panels end with sigma at its floor (ratings that agree
# exactly, or a min_sigma above their noise): the fit says so in a
# UserWarning, which tests/estimators/test_edge_cases.py asserts.
SIGMA_AT_ITS_FLOOR = pytest.mark.filterwarnings(
    "ignore:.*ended at its floor:UserWarning"
)
