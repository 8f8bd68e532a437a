"""The M-step's weights: per rating, per annotator, and their chunked sums."""

import numpy as np
import pytest

import skem._model.weights
from skem._em.ratings import _Ratings
from skem._model.weights import _compute_rating_weights, _sum_weighted_by_item


def test_compute_rating_weights_treats_hopeless_raters_equally(ratings):
    weights = np.array([0.0, 0.0, 1.0])
    rating_weights = _compute_rating_weights(ratings, weights, np.full(3, -np.inf))
    # Items 0 (raters 0, 1) and the first rating of item 3 have no weight left.
    rated_by_2 = ratings.annotator == 2
    np.testing.assert_array_equal(rating_weights[rated_by_2], 1.0)
    in_item_0 = ratings.item == 0
    np.testing.assert_array_equal(rating_weights[in_item_0], [1.0, 1.0])


def _grouped(ratings):
    order = np.argsort(ratings.item, kind="stable")
    return _Ratings(
        ratings.item[order],
        ratings.annotator[order],
        ratings.score[order],
        ratings.n_items,
        ratings.n_annotators,
    )


@pytest.mark.parametrize("grouped", [True, False])
@pytest.mark.parametrize("underflow", [False, True])
def test_sum_weighted_by_item_equals_bincount_of_the_rating_weights(
    monkeypatch, grouped, underflow
):
    """Chunks of 7 ratings, each item's sums possibly split between two
    chunks, give np.bincount(item, w * v) with w the rating weights of
    _compute_rating_weights, to 1e-13: on ratings grouped by item (summed
    chunk by chunk) or not (one pass), and with items whose every rater's
    weight underflows (summed again with their relative weights)."""
    rng = np.random.default_rng(5)
    # Items 0-2 are rated by annotators 0 and 1 alone, the others by anyone.
    item = np.r_[np.repeat(np.arange(3), 3), np.repeat(np.arange(3, 12), 6)]
    annotator = np.r_[rng.integers(0, 2, 9), rng.integers(0, 6, 54)]
    order = np.arange(item.size) if grouped else rng.permutation(item.size)
    ratings = _Ratings(item[order], annotator[order], rng.uniform(size=63), 12, 6)
    assert ratings.grouped_by_item == grouped
    weights = rng.uniform(0.1, 1.0, 6)
    log_posterior = np.log(weights)
    if underflow:
        weights[:2] = 0.0
        log_posterior[:2] = [-900.0, -1000.0]
    values = (rng.normal(size=63), rng.uniform(size=63))
    rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
    expected = [
        np.bincount(ratings.item, rating_weights * v, minlength=12) for v in values
    ]
    if underflow:
        # Items 0-2 count their raters at relative weights, not at 0.
        assert np.all(expected[1][:3] > 0)
    monkeypatch.setattr(skem._model.weights, "_CHUNK_SIZE", 7)
    sums = _sum_weighted_by_item(ratings, weights, log_posterior, values)
    for total, want in zip(sums, expected, strict=True):
        np.testing.assert_allclose(total, want, rtol=1e-13, atol=1e-15)
