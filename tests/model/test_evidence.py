"""Evidence before a verdict: judged ratings and the consensus weights."""

import numpy as np

from skem._model.evidence import (
    MIN_JUDGED_RATINGS,
    _count_judged_ratings,
    _estimate_consensus_log_bad_weights,
    _estimate_consensus_weights,
    _mixture_annotators,
)
from tests._helpers import _ratings


def test_judged_ratings_are_those_on_items_with_two_other_raters():
    # Item 0: annotators 0, 1, 2; item 1: 0, 1; item 2: 0, 1, 2, 3; item 3: 3.
    ratings = _ratings(
        [0, 0, 0, 1, 1, 2, 2, 2, 2, 3],
        [0, 1, 2, 0, 1, 0, 1, 2, 3, 3],
        np.full(10, 0.5),
        4,
        4,
    )
    n_compared, n_judged = _count_judged_ratings(ratings)
    np.testing.assert_array_equal(n_judged, [2, 2, 2, 1])
    # Compared: on items that one other annotator rated too.
    np.testing.assert_array_equal(n_compared, [3, 3, 2, 1])


def test_mixture_holds_the_annotators_with_enough_compared_ratings():
    n_compared = np.array([0, 1, MIN_JUDGED_RATINGS - 1, MIN_JUDGED_RATINGS, 400])
    np.testing.assert_array_equal(
        _mixture_annotators(n_compared), [False, False, False, True, True]
    )


def test_consensus_weights_use_the_prior_below_the_minimum_evidence():
    weights = np.array([1.0, 0.0, 0.3, 1e-300])
    log_posterior = np.array([0.0, -800.0, np.log(0.3), -690.0])
    n_judged = np.array([MIN_JUDGED_RATINGS, MIN_JUDGED_RATINGS - 1, 0, 50])
    got, log_got = _estimate_consensus_weights(weights, log_posterior, 0.8, n_judged)
    np.testing.assert_array_equal(got, [1.0, 0.8, 0.8, 1e-300])
    np.testing.assert_array_equal(log_got, [0.0, np.log(0.8), np.log(0.8), -690.0])


def test_consensus_log_bad_weights_are_the_complement_of_the_weights():
    """log(1 - w) of the consensus weights, from the posterior's own log of
    bad where judged (exact for w near 1), log(1 - pi) elsewhere."""
    log_posterior_bad = np.array([-800.0, 0.0, np.log(0.7), -1e-300])
    n_judged = np.array([MIN_JUDGED_RATINGS, MIN_JUDGED_RATINGS - 1, 0, 50])
    got = _estimate_consensus_log_bad_weights(log_posterior_bad, 0.8, n_judged)
    np.testing.assert_array_equal(
        got, [-800.0, np.log1p(-0.8), np.log1p(-0.8), -1e-300]
    )
