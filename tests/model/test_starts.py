"""The starts of EM: item medians and their sort, initial weights."""

import numpy as np
import pytest
import scipy.sparse as sp

from skem._em.ratings import _ratings_from_matrix
from skem._model.starts import (
    _check_init_weights,
    _estimate_item_medians,
    _order_by_item_then_score,
)


def test_estimate_item_medians(ratings):
    medians = _estimate_item_medians(ratings)
    np.testing.assert_allclose(medians[[0, 1, 3]], [1.5, 4.0, 2.0])
    assert np.isnan(medians[2])


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_order_by_item_then_score_matches_lexsort(fmt):
    rng = np.random.RandomState(0)
    dense = np.where(rng.rand(300, 20) < 0.5, np.nan, rng.randint(0, 5, (300, 20)))
    matrix = sp.csr_matrix(np.nan_to_num(dense, nan=0.0)).asformat(fmt)
    matrix.data = np.where(matrix.data == 0, 0.0, matrix.data)  # ties galore
    ratings = _ratings_from_matrix(matrix)
    order = _order_by_item_then_score(ratings)
    expected = np.lexsort((ratings.score, ratings.item))
    np.testing.assert_array_equal(ratings.item[order], ratings.item[expected])
    np.testing.assert_array_equal(ratings.score[order], ratings.score[expected])


def test_check_init_weights_accepts_probabilities_as_floats():
    weights = _check_init_weights([0, 1, 0.5], 3)
    assert weights.dtype == np.float64
    np.testing.assert_array_equal(weights, [0.0, 1.0, 0.5])


@pytest.mark.parametrize(
    "init, message",
    [
        ([0.5, 0.5], "X has 3 annotators, init has shape \\(2,\\)"),
        ([[0.5, 0.5, 0.5]], "init has shape \\(1, 3\\)"),
        ([0.5, 1.5, 0.5], "must lie in \\[0, 1\\]"),
        ([0.0, 0.0, 0.0], "at least one annotator P\\(good\\) > 0"),
        ({"a": 1}, "one initial P\\(good\\) per annotator"),
    ],
)
def test_check_init_weights_names_the_problem(init, message):
    with pytest.raises(ValueError, match=message):
        _check_init_weights(init, 3)
