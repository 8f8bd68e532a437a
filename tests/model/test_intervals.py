"""The standard errors of the consensus."""

import numpy as np
import pytest

from skem._model.intervals import _compute_consensus_std_error


def test_compute_consensus_std_error_uses_each_annotators_precision(ratings):
    weights, sigma = np.ones(3), np.array([1.0, 2.0, 0.5])
    std_error = _compute_consensus_std_error(ratings, weights, sigma)
    # Items 0, 1, 3 have 2, 2, 3 raters of weight 1: W - V/W = 1, 1, 2.
    correction = np.sqrt(7 / 4)
    assert std_error[0] == pytest.approx(correction / np.sqrt(1 + 1 / 4))
    assert std_error[3] == pytest.approx(correction / np.sqrt(1 + 1 / 4 + 4))
    assert np.isnan(std_error[2])
