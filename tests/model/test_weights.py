"""The M-step's weights: per rating, per annotator, and their chunked sums."""

import numpy as np
import pytest

import skem._model.likelihoods
import skem._model.weights
from skem._em.ratings import _Ratings
from skem._model.weights import (
    _compute_rating_weights,
    _in_one_pass,
    _item_runs,
    _sum_gathered_by_item,
    _sum_weighted_by_item,
)


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
    monkeypatch.setattr(skem._model.likelihoods, "_CHUNK_SIZE", 7)
    sums = _sum_weighted_by_item(ratings, weights, log_posterior, values)
    for total, want in zip(sums, expected, strict=True):
        np.testing.assert_allclose(total, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("grouped", [True, False])
def test_sum_gathered_by_item_equals_bincount_of_the_gathered_values(
    monkeypatch, grouped
):
    """Chunks of 5 ratings give np.bincount(item, v[annotator]) to 1e-13, on
    ratings grouped by item or not, with an item without ratings (0)."""
    rng = np.random.default_rng(3)
    item = np.sort(rng.integers(0, 9, 40))
    item[item == 4] = 5
    annotator = rng.integers(0, 6, 40)
    order = np.arange(40) if grouped else rng.permutation(40)
    ratings = _Ratings(item[order], annotator[order], rng.uniform(size=40), 9, 6)
    per_annotator = rng.normal(size=6)
    expected = np.bincount(ratings.item, per_annotator[ratings.annotator], minlength=9)
    monkeypatch.setattr(skem._model.weights, "_CHUNK_SIZE", 5)
    monkeypatch.setattr(skem._model.likelihoods, "_CHUNK_SIZE", 5)
    sums = _sum_gathered_by_item(ratings, per_annotator)
    np.testing.assert_allclose(sums, expected, rtol=1e-13, atol=1e-15)
    assert sums[4] == 0.0


def test_item_runs_cover_the_ratings_once_with_their_items(monkeypatch):
    """The chunks tile the ratings in order; each run, plus its first item,
    is the chunk's items, which lie within first .. last - 1."""
    monkeypatch.setattr(skem._model.weights, "_CHUNK_SIZE", 4)
    monkeypatch.setattr(skem._model.likelihoods, "_CHUNK_SIZE", 4)
    item = np.array([0, 0, 1, 1, 1, 3, 3, 4, 6, 6, 6])
    covered = []
    for chunk, run, first, last in _item_runs(item):
        np.testing.assert_array_equal(run + first, item[chunk])
        assert run.min() == 0 and first + run.max() == last - 1
        covered.extend(range(item.size)[chunk])
    assert covered == list(range(item.size))


def test_per_item_sums_take_one_pass_for_one_chunk_or_ungrouped_ratings(monkeypatch):
    """Item runs only for more than one chunk of ratings grouped by item."""
    monkeypatch.setattr(skem._model.weights, "_CHUNK_SIZE", 5)
    item = np.repeat(np.arange(4), 3)
    grouped = _Ratings(item, np.tile(np.arange(3), 4), np.zeros(12), 4, 3)
    shuffled = _Ratings(item[::-1].copy(), grouped.annotator, np.zeros(12), 4, 3)
    short = _Ratings(item[:5], grouped.annotator[:5], np.zeros(5), 4, 3)
    assert not _in_one_pass(grouped)
    assert _in_one_pass(shuffled) and _in_one_pass(short)
