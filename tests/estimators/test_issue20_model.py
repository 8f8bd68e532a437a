"""Regression tests for the model-side defects 2 to 6 of issue 20.

Each test failed on 0.4.1. The issue's minimal inputs come first, then a
property test per defect.
"""

import numpy as np
import pytest

from tests._helpers import ESTIMATORS, _fit_quietly


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
