"""The blocks of a fit and the backend that runs kernels on them."""

import numpy as np

from skem._em.backend import _Block
from tests._helpers import _ratings


def test_a_block_holds_a_log_density_only_with_its_runs_terms():
    """None without terms, or with terms that have no log density; else
    the very array the terms hold, not a copy."""
    ratings = _ratings([0, 0, 1], [0, 1, 1], [0.2, 0.4, 0.6], 2, 2)
    log_density = np.array([-0.5, -1.0, -2.0])
    assert _Block(ratings).held_log_density is None
    assert _Block(ratings, terms={"z": np.zeros(3)}).held_log_density is None
    held = _Block(ratings, terms={"log_density": log_density}).held_log_density
    assert held is log_density
