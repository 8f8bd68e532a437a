"""Helpers shared by the tests: the forms, hypothesis budgets, small ratings."""

import itertools
import os
import warnings

import numpy as np
from hypothesis import settings
from sklearn.exceptions import ConvergenceWarning

from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.backend import _Block, _InMemoryBackend
from skem._em.ratings import _Ratings
from skem._model.likelihoods import (
    _compute_good_terms,
)

# The lecture's model, which some tests check against its formulas.
LECTURE = {"bounded": False, "noise": "shared"}
ZERO3, ONE3 = np.zeros(3), np.ones(3)

SMALL_X = np.array(
    [
        [1.0, 2.0, np.nan],
        [3.0, np.nan, 5.0],
        [np.nan, np.nan, np.nan],
        [0.0, 4.0, 2.0],
    ]
)


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


BOUNDS = (0.0, 1.0)


def _terms(ratings, mu, bias, sigma):
    return _compute_good_terms(
        ratings.score,
        mu[ratings.item] + bias[ratings.annotator],
        sigma[ratings.annotator],
        BOUNDS,
    )


def _backend(ratings, mu, bias, sigma):
    """One block of the ratings, at these parameters, in memory."""
    block = _Block(ratings, None, mu, _terms(ratings, mu, bias, sigma))
    return _InMemoryBackend(block, ratings.n_per_annotator, False)


def _fit_quietly(estimator, X, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # The UserWarning about items without ratings is expected.
        warnings.filterwarnings("ignore", ".*have no rating", UserWarning)
        return estimator.fit(X, **fit_params)
