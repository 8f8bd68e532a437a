"""Test configuration: hypothesis profiles by tier, and shared fixtures."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from skem._em.ratings import _ratings_from_matrix
from tests._helpers import SMALL_X, _spares_nobody

# CI machines are slow and noisy: no per-example deadline, a bounded budget.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
# The everyday tier, ``pytest -m "not slow"``: every property, fewer examples
# (``tests._helpers._budget`` caps the tests' own budgets at this one).
settings.register_profile(
    "everyday",
    deadline=None,
    max_examples=5,
    suppress_health_check=[HealthCheck.too_slow],
)
# A long hunt for counterexamples, run by hand: HYPOTHESIS_PROFILE=stress.
settings.register_profile("stress", deadline=None, max_examples=1500)


def pytest_configure(config):
    """Load the hypothesis profile: HYPOTHESIS_PROFILE, else by the tier."""
    if "HYPOTHESIS_PROFILE" not in os.environ:
        everyday = "not slow" in (config.getoption("markexpr") or "")
        os.environ["HYPOTHESIS_PROFILE"] = "everyday" if everyday else "ci"
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


def pytest_collection_modifyitems(config, items):
    """The docstring examples that start a Dask cluster are slow, as the
    tests that do (the marker's definition in ``pyproject.toml``)."""
    for item in items:
        examples = getattr(getattr(item, "dtest", None), "examples", ())
        if any("LocalCluster(" in example.source for example in examples):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def ratings():
    """The ratings of the small matrix ``SMALL_X`` of the unit tests."""
    return _ratings_from_matrix(SMALL_X)


@pytest.fixture
def every_candidate_in_the_mixture(monkeypatch):
    """Fits whose mixture holds every annotator with enough compared ratings,
    as if a good rating brought unbounded evidence, that spare nobody for
    one far-off rating nor for the others' consensus, and that keep the
    mixture's fit whatever it gains over everyone good: for tests of the
    steps on panels too small to judge anyone, and of one run of EM
    (:func:`skem._model.evidence._mixture_annotators`,
    :func:`skem._model.lapses._find_lapses`,
    :func:`skem._model.others._find_followers`,
    :func:`skem._model.predictive._find_undetermined`,
    :func:`skem._model.evidence._estimate_mixture_gain`)."""
    monkeypatch.setattr(
        "skem._em.driver._measure_evidence_per_rating", lambda *args: 1e300
    )
    for check in ("_find_lapses", "_find_followers", "_find_undetermined"):
        monkeypatch.setattr(f"skem._em.driver.{check}", _spares_nobody)
    monkeypatch.setattr("skem._em.runs._MIXTURE_TEST_GAIN", -np.inf)


@pytest.fixture
def without_the_predictive_check(monkeypatch):
    """Fits that do not judge their flagged annotators again on the others'
    consensus (:func:`skem._model.others._find_followers`,
    :func:`skem._model.predictive._find_undetermined`): for tests of what the
    mixture's test against everyone good decides, on honest panels where the
    checks would spare the flagged first."""
    for check in ("_find_followers", "_find_undetermined"):
        monkeypatch.setattr(f"skem._em.driver.{check}", _spares_nobody)
