"""The fitted items: consensus, location and standard error of each."""

import numpy as np
import pytest

from skem._em.backend import _Block, _combine_outputs, _InMemoryBackend
from skem._em.items import (
    _collect_item_results,
    _kernel_consensus,
    _kernel_item_results,
)
from skem._model.evidence import _estimate_consensus_weights
from skem._model.form import _model_form, _Params
from skem._model.intervals import (
    _compute_consensus_std_error,
    _compute_std_error_sums,
    _estimate_std_error_correction,
)
from tests._helpers import _ratings

_FORMS = {
    "truncated": (True, None),
    "normal": (False, None),
    "student_t": (False, 3.0),
}


def _panel(seed):
    """Every annotator of six rates each of 30 items, with fitted parameters."""
    rng = np.random.default_rng(seed)
    n_items, n_annotators = 30, 6
    item = np.repeat(np.arange(n_items), n_annotators)
    annotator = np.tile(np.arange(n_annotators), n_items)
    score = rng.uniform(0, 1, item.size)
    ratings = _ratings(item, annotator, score, n_items, n_annotators)
    location = rng.uniform(0.2, 0.8, n_items)
    params = _Params(
        rng.uniform(-0.05, 0.05, n_annotators),
        rng.uniform(0.05, 0.3, n_annotators),
        0.15,
        0.7,
    )
    weights = rng.uniform(0, 1, n_annotators)
    run = {
        "params": params,
        "weights": weights,
        "log_posterior": np.log(weights),
        "judged": np.arange(n_annotators) != 2,
    }
    return ratings, location, run


def _form(name):
    bounded, tail = _FORMS[name]
    return _model_form(bounded, "per_annotator", True, 10.0, 1e-3, False, None, tail)


def _consensus_weights(run):
    return _estimate_consensus_weights(
        run["weights"], run["log_posterior"], run["params"].pi, run["judged"]
    )


def _one_block_results(name, seed):
    """The form, the panel of ``seed`` and its item results from one block."""
    form = _form(name)
    ratings, location, run = _panel(seed)
    data = _InMemoryBackend(
        _Block(ratings, None, location), ratings.n_per_annotator, False
    )
    items = _collect_item_results(data, form, run)
    return form, ratings, location, run, items


@pytest.mark.parametrize("name", _FORMS)
def test_item_results_are_the_consensus_and_its_corrected_std_error(name):
    """The consensus is the form's at the consensus weights (the judged
    annotators' posterior, ``pi`` for the others); its std error is the
    precision-weighted one, scaled by the correction of the squared
    residuals about that consensus (none with a Student-t error); the
    location is EM's own on a bounded form, else the consensus."""
    form, ratings, location, run, items = _one_block_results(name, 0)
    params = run["params"]
    weights, log_weights = _consensus_weights(run)
    consensus = form.consensus(ratings, params, weights, log_weights, None)
    fitted = None if name == "student_t" else (consensus, params.bias, params.sigma)
    correction = _estimate_std_error_correction(
        **_compute_std_error_sums(ratings, weights, None, fitted)
    )
    std_error = _compute_consensus_std_error(
        ratings, weights, params.sigma * form.error_scale, None, correction
    )
    np.testing.assert_array_equal(items["consensus"], consensus)
    np.testing.assert_array_equal(items["std_error"], std_error)
    expected_location = location if form.bounded else consensus
    np.testing.assert_array_equal(items["location"], expected_location)


@pytest.mark.parametrize("name", _FORMS)
def test_item_results_of_blocks_that_split_the_items_are_those_of_one_block(name):
    """Two blocks that split the items (as :mod:`skem.dask` splits them)
    give each item the results of one block of every rating: the
    correction's sums add up over the blocks, and each block keeps its own
    items' consensus for the second pass. (The t location iterates until its
    largest move is small, which depends on the items of the block.)"""
    form, ratings, location, run, whole = _one_block_results(name, 1)
    params = run["params"]
    weights, log_weights = _consensus_weights(run)
    blocks, sums = [], []
    for items in (np.arange(12), np.arange(12, ratings.n_items)):
        part = np.isin(ratings.item, items)
        local = np.searchsorted(items, ratings.item[part])
        block = _Block(
            _ratings(
                local,
                ratings.annotator[part],
                ratings.score[part],
                items.size,
                ratings.n_annotators,
            ),
            None,
            location[items],
        )
        block, block_sums = _kernel_consensus(block, form, params, weights, log_weights)
        blocks.append(block)
        sums.append(block_sums)
    correction = _estimate_std_error_correction(**_combine_outputs(sums))
    parts = [
        _kernel_item_results(block, form, params, weights, correction)[1]
        for block in blocks
    ]
    atol = 1e-10 if name == "student_t" else 0.0
    for key, value in whole.items():
        np.testing.assert_allclose(
            np.concatenate([part[key] for part in parts]), value, 1e-12, atol
        )
