import os

import pytest
from hypothesis import HealthCheck, settings

from skem._em.ratings import _ratings_from_matrix
from tests._helpers import SMALL_X

# CI machines are slow and noisy: no per-example deadline, a bounded budget.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
# A long hunt for counterexamples, run by hand: HYPOTHESIS_PROFILE=stress.
settings.register_profile("stress", deadline=None, max_examples=1500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def ratings():
    """The ratings of the small matrix ``SMALL_X`` of the unit tests."""
    return _ratings_from_matrix(SMALL_X)
