"""Trials: a step under test in the blocks, merged and settled as the protocol says."""

from dataclasses import replace

import numpy as np
import pytest

from skem._em.backend import _Block
from skem._model.steps import _UNIT_BOUNDS
from skem._model.trial import _kernel_annotator_trial, _kernel_settle_trial, _Trial
from skem._model.truncated_terms import _kernel_truncated_terms
from tests._helpers import _random_ratings, _terms


def _block(seed=0):
    """A block of random ratings with its terms and sums at a location, sigma 0.2."""
    rng = np.random.default_rng(seed)
    ratings = _random_ratings(rng, 6, 4, 40)
    location = rng.uniform(0.2, 0.8, 6)
    bias, sigma = np.zeros(4), np.full(4, 0.2)
    return _kernel_truncated_terms(_Block(ratings, None, location), bias, sigma)[0]


def _fresh(block, sigma):
    """The kept terms and the sums of ``block`` computed from scratch at ``sigma``."""
    return _kernel_truncated_terms(replace(block, trial=None), np.zeros(4), sigma)[0]


def _assert_terms_equal(actual, expected):
    assert actual.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


def test_trials_of_some_annotators_merge_and_settle_for_the_chosen_ones():
    """Two trials of some annotators, the second on top of the first, then a
    settle for some of them: exactly their ratings take the trial's terms,
    which equal the terms computed from scratch at the new sigmas."""
    block = _block()
    weights = np.ones(4)
    new_sigma = np.array([0.2, 0.3, 0.4, 0.2])
    first = np.array([False, True, False, False])
    second = np.array([False, False, True, False])
    block, outputs = _kernel_annotator_trial(
        block, np.zeros(4), new_sigma, weights, None, first
    )
    assert block.trial.selected is not None  # a subset trial
    assert outputs["objective"][~first].sum() == 0
    block, _ = _kernel_annotator_trial(
        block, np.zeros(4), new_sigma, weights, None, second
    )
    assert block.trial.selected is None  # merged into a whole trial
    before = block.terms
    taken = first | second
    settled, _ = _kernel_settle_trial(block, True, taken)
    assert settled.trial is None
    np.testing.assert_array_equal(settled.location, block.location)
    fresh = _fresh(block, new_sigma).terms
    rows = taken[block.ratings.annotator]
    assert settled.terms.keys() == fresh.keys()
    for key in fresh:
        np.testing.assert_array_equal(settled.terms[key][rows], fresh[key][rows])
        np.testing.assert_array_equal(settled.terms[key][~rows], before[key][~rows])
    # The sums are those of the block's terms at the sigmas it now has.
    now = _fresh(block, np.where(taken, new_sigma, 0.2)).sums
    assert settled.sums.keys() == now.keys()
    for key in now:
        np.testing.assert_allclose(settled.sums[key], now[key], rtol=1e-13, err_msg=key)


@pytest.mark.parametrize("annotators", [None, [True, False, True, False]])
def test_a_settled_trial_keeps_sums_known_only_where_they_are(annotators):
    """A trial's sums are those of every annotator's ratings: settled for
    some annotators on a block whose own sums are unknown (after a step that
    moved only some items), the block's sums stay unknown; settled whole,
    they are the trial's."""
    block = replace(_block(4), sums=None)
    chosen = None if annotators is None else np.array(annotators)
    block, _ = _kernel_annotator_trial(
        block, np.zeros(4), np.full(4, 0.3), np.ones(4), None, None
    )
    settled, _ = _kernel_settle_trial(block, True, chosen)
    if chosen is None:
        expected = _fresh(block, np.full(4, 0.3)).sums
        for key in expected:
            np.testing.assert_allclose(settled.sums[key], expected[key], rtol=1e-13)
    else:
        assert settled.sums is None


@pytest.mark.parametrize("subset", [False, True])
def test_a_dropped_trial_leaves_the_block_as_it_was(subset):
    """Settling without accepting drops the trial and keeps the terms."""
    block = _block(1)
    annotators = np.array([True, False, True, False]) if subset else None
    trial_block, _ = _kernel_annotator_trial(
        block, np.zeros(4), np.full(4, 0.5), np.ones(4), None, annotators
    )
    settled, outputs = _kernel_settle_trial(trial_block, False)
    assert settled.trial is None and outputs == {}
    _assert_terms_equal(settled.terms, block.terms)


def test_a_whole_trial_settles_its_location_and_terms():
    """Accepting a whole trial gives the block its location and terms."""
    block = _block(2)
    location = np.clip(block.location + 0.05, *_UNIT_BOUNDS)
    terms = _terms(block.ratings, location, np.zeros(4), np.full(4, 0.2))
    settled, _ = _kernel_settle_trial(
        replace(block, trial=_Trial(location, terms)), True
    )
    np.testing.assert_array_equal(settled.location, location)
    _assert_terms_equal(settled.terms, terms)


def test_merged_terms_are_new_arrays():
    """The merged terms of a trial never alias the block's or the trial's."""
    block = _block(3)
    trial = _Trial(
        block.location, {k: v[:5].copy() for k, v in block.terms.items()}, np.arange(5)
    )
    merged = trial.merged_terms(block.terms)
    for key in merged:
        assert not np.shares_memory(merged[key], block.terms[key])
        assert not np.shares_memory(merged[key], trial.terms[key])
