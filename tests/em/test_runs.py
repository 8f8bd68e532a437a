"""The runs of EM: the rise left to a run, and the test of the mixture."""

from unittest import mock

import numpy as np
import pytest

from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.runs import _estimate_remaining_rise
from skem.datasets import make_ratings


def test_remaining_rise_is_the_geometric_tail_of_the_last_two_increments():
    """Increments 8 then 4 (rate 1/2) leave 4 + 2 + 1 + ... less the 4
    taken: 4 more."""
    assert _estimate_remaining_rise([0.0, 8.0, 12.0]) == pytest.approx(4.0)
    assert _estimate_remaining_rise([-5.0, 0.0, 8.0, 12.0]) == pytest.approx(4.0)
    # Rate 0.9: 0.9 / 0.1 times the last increment.
    assert _estimate_remaining_rise([0.0, 10.0, 19.0]) == pytest.approx(81.0)


@pytest.mark.parametrize(
    "objectives, expected",
    [
        ([0.0], np.inf),
        ([0.0, 1.0], np.inf),
        ([0.0, 1.0, 3.0], np.inf),  # speeding up: not yet linear
        ([0.0, 1.0, 2.0], np.inf),  # a rate of 1
        ([0.0, 1.0, 1.0], 0.0),  # stopped rising
        ([0.0, 0.0, 1.0], np.inf),
    ],
)
def test_remaining_rise_is_unbounded_until_the_run_converges_linearly(
    objectives, expected
):
    assert _estimate_remaining_rise(objectives) == expected


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
@pytest.mark.parametrize("seed", range(6))
def test_a_nested_run_stopped_early_reaches_the_decision_of_one_run_to_the_end(
    Estimator, seed
):
    """Panels with 0 to 40% random raters, some with three raters per item:
    stopping the nested run once the mixture passes whatever is left of its
    rise keeps the same annotators flagged as running it to convergence."""
    rng = np.random.default_rng(seed)
    X = make_ratings(
        40,
        10,
        bad_fraction=[0.0, 0.1, 0.2, 0.4][seed % 4],
        missing_fraction=0.7 if seed % 2 else 0.2,
        sigma=float(rng.uniform(0.5, 1.5)),
        score_range=(1, 5),
        random_state=seed,
    )
    early = Estimator(score_range=(1, 5)).fit(X)
    with mock.patch(
        "skem._em.runs._estimate_remaining_rise", lambda objectives: np.inf
    ):
        full = Estimator(score_range=(1, 5)).fit(X)
    np.testing.assert_array_equal(early.weights_ < 0.5, full.weights_ < 0.5)
    np.testing.assert_array_equal(early.judged_, full.judged_)
    np.testing.assert_allclose(early.mu_, full.mu_, rtol=0, atol=1e-9)
