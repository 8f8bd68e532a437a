"""The runs of EM: their starts, the rise left to a run, and the test of the mixture."""

from unittest import mock

import numpy as np
import pytest

from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.runs import (
    _estimate_remaining_rise,
    _forget_terms,
    _nested_start,
    _prepare_starts,
)
from skem._model.form import _model_form, _Params
from skem._model.starts import _initialize_params
from skem.datasets import make_ratings
from tests._helpers import _backend, _ratings


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


@pytest.mark.parametrize("noise", ["per_annotator", "shared"])
def test_nested_start_gives_each_flagged_annotator_its_sigma_if_good(noise):
    """Annotator 2 is flagged: it starts at ``sqrt((SS + nu tau**2) / (n +
    nu))`` from its squared residuals at the mixture's locations, kept
    within the mixture's smallest sigma and 1; the others keep theirs. With
    a shared noise every annotator starts at the root mean square."""
    ratings = _ratings(
        [0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [0.5, 0.6, 0.1, 0.3, 0.3, 0.9], 2, 3
    )
    sigma = np.array([0.1, 0.2, 0.05])
    data = _backend(ratings, np.array([0.5, 0.3]), np.zeros(3), sigma)
    form = _model_form(True, noise, False, 4.0, 1e-3)
    params = _Params(np.zeros(3), sigma, 0.15, 0.6)
    mixture = {"params": params, "responsibility": np.array([1.0, 0.9, 0.01])}
    start = _nested_start(data, form, mixture)
    flagged = np.sqrt((0.4**2 + 0.6**2 + 4.0 * 0.15**2) / (2 + 4.0))
    expected = np.array([0.1, 0.2, flagged])
    if noise == "shared":
        expected = np.full(3, np.sqrt(np.mean(expected**2)))
    np.testing.assert_allclose(start.sigma, expected)
    assert start.pi == params.pi and start.shared_sigma == params.shared_sigma


def test_forget_terms_drops_the_terms_and_keeps_the_blocks_as_the_runs_state():
    """The blocks keep their ratings and locations, lose their per-rating
    terms and sums, and the run's state is the blocks as they are left."""
    rng = np.random.default_rng(0)
    ratings = _ratings(
        np.repeat(np.arange(4), 3),
        np.tile(np.arange(3), 4),
        rng.uniform(0, 1, 12),
        4,
        3,
    )
    location = rng.uniform(0.2, 0.8, 4)
    data = _backend(ratings, location, np.zeros(3), np.full(3, 0.2))
    assert data.state.terms is not None and data.state.sums is not None
    run = {"state": None}
    _forget_terms(data, run)
    assert run["state"] is data.state
    assert data.state.terms is None and data.state.sums is None
    assert data.state.ratings is ratings
    np.testing.assert_array_equal(data.state.location, location)


def test_prepare_starts_sets_up_each_start_as_it_would_be_alone():
    """Each start's first parameters and blocks are those it gets when set up
    alone from the untouched blocks, the random draws in order, and the
    backend is left as it was."""
    X = make_ratings(30, 6, bad_fraction=0.3, missing_fraction=0.2, random_state=0)
    starts = list(
        enumerate(("agreement", "median_agreement", "ones", "random", "median"), 1)
    )
    _, _, _, (form,), data, _ = AnnotatorEM()._prepare_fit(X, None)
    initial = data.state
    prepared = _prepare_starts(data, form, starts, None, np.random.RandomState(7))
    assert data.state is initial
    draws = np.random.RandomState(7)
    for (number, init), (got_number, got_init, params, state) in zip(
        starts, prepared, strict=True
    ):
        assert (got_number, got_init) == (number, init)
        _, _, _, _, alone, _ = AnnotatorEM()._prepare_fit(X, None)
        expected = _initialize_params(alone, form, init, draws)
        for name in ("bias", "sigma", "shared_sigma", "pi"):
            np.testing.assert_array_equal(
                getattr(params, name), getattr(expected, name)
            )
        np.testing.assert_array_equal(state.location, alone.state.location)
