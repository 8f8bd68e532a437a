"""The ratings representation: from dense and sparse matrices, and subsets."""

import itertools
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import skem._em.ratings as ratings_module
from skem._em.ratings import (
    _compute_item_middle_values,
    _compute_unanimous_scores,
    _exact_where_known,
    _merge_exchanges,
    _Ratings,
    _ratings_from_matrix,
    _sort_columns,
)
from tests._helpers import (
    SMALL_X as X,
)


def test_ratings_from_dense_keep_exactly_the_non_nan_entries(ratings):
    assert ratings.n_ratings == 7
    np.testing.assert_array_equal(ratings.score, X[ratings.item, ratings.annotator])
    np.testing.assert_array_equal(ratings.n_per_item, [2, 2, 0, 3])
    np.testing.assert_array_equal(ratings.n_per_annotator, [3, 2, 2])


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_ratings_from_sparse_keep_explicit_zeros(fmt):
    dense = np.array([[0.0, 2.0], [0.0, 0.0]])
    matrix = sp.csr_matrix(([0.0, 2.0], ([0, 0], [0, 1])), shape=(2, 2)).asformat(fmt)
    ratings = _ratings_from_matrix(matrix)
    assert ratings.n_ratings == 2  # the stored 0.0 is a rating, (1, *) are not
    assert sorted(zip(ratings.item, ratings.annotator, strict=True)) == [(0, 0), (0, 1)]
    assert dense[0, 0] == ratings.score[ratings.annotator == 0][0]


def test_ratings_from_any_sparse_format_come_item_by_item_as_from_csr():
    rng = np.random.RandomState(0)
    dense = np.where(rng.rand(30, 8) < 0.4, np.nan, rng.rand(30, 8))
    rows, columns = np.nonzero(~np.isnan(dense))
    csr = sp.csr_matrix((dense[rows, columns], (rows, columns)), shape=dense.shape)
    from_csr = _ratings_from_matrix(csr)
    order = rng.permutation(rows.shape[0])
    shuffled = sp.coo_matrix(
        (dense[rows, columns][order], (rows[order], columns[order])), dense.shape
    )
    for other in (csr.tocsc(), shuffled, dense):
        ratings = _ratings_from_matrix(other)
        assert ratings.grouped_by_item
        for name in ("item", "annotator", "score"):
            np.testing.assert_array_equal(
                getattr(ratings, name), getattr(from_csr, name)
            )


def test_ratings_from_coo_reject_duplicate_pairs():
    matrix = sp.coo_matrix(([1.0, 2.0], ([1, 1], [0, 0])), shape=(2, 2))
    with pytest.raises(ValueError, match=r"same \(item, annotator\) pair.*\(1, 0\)"):
        _ratings_from_matrix(matrix)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_ratings_from_compressed_reject_duplicate_pairs(fmt):
    # Built from (data, indices, indptr): scipy keeps the repeated entry.
    matrix = sp.csr_matrix(([1.0, 2.0, 3.0], [0, 0, 1], [0, 2, 3]), shape=(2, 2))
    if fmt == "csc":
        matrix = sp.csc_matrix(([1.0, 2.0, 3.0], [0, 0, 1], [0, 2, 3]), shape=(2, 2))
    assert not matrix.has_canonical_format
    with pytest.raises(ValueError, match=r"same \(item, annotator\) pair"):
        _ratings_from_matrix(matrix)


def test_ratings_select_keeps_the_shape_and_the_chosen_ratings(ratings):
    mask = ratings.score > 1.5
    chosen = ratings.select(mask)
    assert (chosen.n_items, chosen.n_annotators) == (4, 3)
    np.testing.assert_array_equal(chosen.score, ratings.score[mask])
    np.testing.assert_array_equal(chosen.item, ratings.item[mask])
    np.testing.assert_array_equal(chosen.n_per_annotator, [1, 2, 2])


def test_grouped_by_item_says_whether_items_come_in_order():
    """Ratings from a matrix come item by item; reversed, they do not."""
    ratings = _ratings_from_matrix(np.arange(12.0).reshape(4, 3))
    assert ratings.grouped_by_item
    backwards = slice(None, None, -1)
    reversed_ratings = _Ratings(
        ratings.item[backwards],
        ratings.annotator[backwards],
        ratings.score[backwards],
        4,
        3,
    )
    assert not reversed_ratings.grouped_by_item


def test_unanimous_scores_are_the_score_where_all_ratings_agree():
    X = np.array(
        [
            [3.0, 3.0, np.nan],
            [3.0, 4.0, 3.0],
            [np.nan, np.nan, np.nan],
            [0.1 + 0.2, np.nan, 0.1 + 0.2],
            [2.0, np.nan, np.nan],
        ]
    )
    unanimous = _ratings_from_matrix(X).unanimous_scores()
    np.testing.assert_array_equal(unanimous, [3.0, np.nan, np.nan, 0.1 + 0.2, 2.0])
    ratings = _ratings_from_matrix(X)
    # In any order of the ratings: Dask's blocks need not group them.
    order = np.random.default_rng(0).permutation(ratings.score.shape[0])
    np.testing.assert_array_equal(
        _compute_unanimous_scores(ratings.item[order], ratings.score[order], 5),
        unanimous,
    )


def test_exact_where_known_puts_gold_over_unanimous_over_the_fitted_consensus():
    consensus = np.array([2.9999999999999996, 3.5, 1.0000000000000002, 4.0])
    unanimous = np.array([3.0, np.nan, 1.0, np.nan])
    gold = np.array([np.nan, np.nan, 2.0, np.nan])
    np.testing.assert_array_equal(
        _exact_where_known(consensus, unanimous, gold), [3.0, 3.5, 2.0, 4.0]
    )
    # With biases nothing is unanimous; a gold item still keeps its score.
    np.testing.assert_array_equal(
        _exact_where_known(consensus, None, gold), [consensus[0], 3.5, 2.0, 4.0]
    )
    assert _exact_where_known(consensus, unanimous) is not consensus


@pytest.mark.parametrize("stored_nan", [True, False])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "dense"])
def test_ratings_from_matrix_know_their_layout_as_counted(fmt, stored_nan):
    """The counts a conversion knows for free are those a count of the ratings gives.

    A stored NaN is not a rating: its row and column have one rating fewer.
    """
    rng = np.random.RandomState(0)
    dense = np.where(rng.rand(40, 9) < 0.5, np.nan, rng.rand(40, 9))
    rows, columns = np.nonzero(~np.isnan(dense))
    data = dense[rows, columns]
    if stored_nan:
        data[::7] = np.nan
    matrix = sp.csr_matrix((data, (rows, columns)), shape=dense.shape)
    matrix = matrix.toarray() if fmt == "dense" else matrix.asformat(fmt)
    if fmt == "dense":
        matrix[matrix == 0] = np.nan
    ratings = _ratings_from_matrix(matrix)
    # Without a stored NaN, a compressed format's pointers give its counts.
    known = {"csr": "n_per_item", "csc": "n_per_annotator"}.get(fmt)
    assert (known in ratings.__dict__) == (known is not None and not stored_nan)
    counted = _Ratings(ratings.item, ratings.annotator, ratings.score, 40, 9)
    assert ratings.grouped_by_item == counted.grouped_by_item
    for count in ("n_per_item", "n_per_annotator"):
        np.testing.assert_array_equal(getattr(ratings, count), getattr(counted, count))
        assert getattr(ratings, count).dtype == getattr(counted, count).dtype
    assert ratings.item.dtype == ratings.annotator.dtype == np.intp


def test_with_scores_carries_the_layout_over_and_nothing_else(ratings):
    counts = ratings.n_per_item
    assert ratings.grouped_by_item
    unit = ratings.with_scores(ratings.score / 10.0, 0.05)
    assert unit.__dict__["n_per_item"] is counts
    assert unit.__dict__["grouped_by_item"] is True
    assert "n_per_annotator" not in unit.__dict__  # not computed yet: not carried
    np.testing.assert_array_equal(unit.n_per_annotator, ratings.n_per_annotator)
    assert unit.half_step == 0.05
    assert "n_per_item" not in ratings.select(ratings.score > 1.5).__dict__


def test_knowing_refuses_what_is_not_the_layout(ratings):
    with pytest.raises(TypeError, match="score"):
        ratings._knowing(score=np.zeros(7))


@pytest.mark.parametrize("grouped", [True, False])
def test_compute_item_middle_values_are_the_lower_and_upper_medians(grouped):
    rng = np.random.default_rng(1)
    item = np.sort(rng.integers(0, 7, 60))
    if not grouped:
        item = rng.permutation(item)
    values = rng.integers(0, 4, 60).astype(float)  # ties
    lower, upper = _compute_item_middle_values(item, values, 9)
    told = _compute_item_middle_values(item, values, 9, grouped=grouped)
    np.testing.assert_array_equal(told, (lower, upper))
    *middle, deviations = _compute_item_middle_values(
        item, values, 9, with_deviations=True
    )
    np.testing.assert_array_equal(middle, (lower, upper))
    medians = np.array([np.median(values[item == i]) for i in item])
    assert deviations == np.sum(np.abs(values - medians))
    for i in range(9):
        mine = np.sort(values[item == i])
        if mine.size:
            assert (lower[i], upper[i]) == (
                mine[(mine.size - 1) // 2],
                mine[mine.size // 2],
            )
        else:
            assert np.isnan(lower[i]) and np.isnan(upper[i])


@settings(deadline=None)
@given(
    counts=st.lists(st.sampled_from([0, 1, 2, 3, 4, 5]), min_size=1, max_size=30),
    chunk=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_item_middle_values_are_the_medians_in_any_chunking(counts, chunk, seed):
    """Runs of items with equal counts, split in chunks of any size, between
    items without values, give each item its own lower and upper median, and
    and the values' absolute deviations from their medians sum as over
    each item's own."""
    counts = np.array(counts)
    item = np.repeat(np.arange(counts.size), counts)
    values = np.random.default_rng(seed).integers(0, 5, item.size).astype(float)
    with (
        mock.patch.object(ratings_module, "_MIDDLE_CHUNK", chunk),
        mock.patch.object(ratings_module, "_NETWORK_CHUNK", chunk),
    ):
        lower, upper, deviations = _compute_item_middle_values(
            item, values, counts.size, with_deviations=True
        )
    total = 0.0
    for i, c in enumerate(counts):
        mine = np.sort(values[item == i])
        expected = (mine[(c - 1) // 2], mine[c // 2]) if c else (np.nan, np.nan)
        np.testing.assert_array_equal((lower[i], upper[i]), expected)
        if c:
            total += np.sum(np.abs(mine - np.median(mine)))
    assert deviations == total


@pytest.mark.parametrize("n", range(1, 13))
def test_merge_exchanges_sort_every_column_of_zeros_and_ones(n):
    """A network of compare-exchanges that sorts every 0-1 input sorts every
    input (the 0-1 principle): all 2**n of them, as columns."""
    columns = np.array(list(itertools.product([0.0, 1.0], repeat=n))).T.copy()
    _sort_columns(columns)
    assert np.all(np.diff(columns, axis=0) >= 0)
    assert all(low < high < n for low, high in _merge_exchanges(n))


@settings(deadline=None)
@given(
    counts=st.lists(st.integers(0, 14), min_size=1, max_size=25),
    repeat=st.sampled_from([1, 40]),
    grouped=st.booleans(),
    middle_chunk=st.sampled_from([7, 64, 1 << 18]),
    slice_size=st.sampled_from([1, 5, 1 << 16]),
    seed=st.integers(0, 2**32 - 1),
)
def test_item_middle_values_by_network_are_bitwise_those_of_the_row_sort(
    counts, repeat, grouped, middle_chunk, slice_size, seed
):
    """Items sorted by the network of compare-exchanges, in slices of any
    size, get the same middle values, and the same sum of absolute
    deviations to the last bit, as with every row sorted by NumPy in the same
    chunks; the values given stay as they were."""
    rng = np.random.default_rng(seed)
    # Many items of a count span several chunks, and slices.
    counts = np.tile(counts, repeat)
    item = np.repeat(np.arange(counts.size), counts)
    if not grouped:
        item = rng.permutation(item)
    # Ties, and magnitudes far apart, whose sums round differently by order.
    pool = rng.standard_normal(6) * 10.0 ** rng.integers(-3, 9, 6)
    values = rng.choice(pool, item.size)
    before = values.copy()
    with (
        mock.patch.object(ratings_module, "_MIDDLE_CHUNK", middle_chunk),
        mock.patch.object(ratings_module, "_NETWORK_CHUNK", slice_size),
    ):
        by_network = _compute_item_middle_values(
            item, values, counts.size, with_deviations=True
        )
        np.testing.assert_array_equal(values, before)
        with mock.patch.object(ratings_module, "_NETWORK_MAX", 0):
            by_sort = _compute_item_middle_values(
                item, values, counts.size, with_deviations=True
            )
    np.testing.assert_array_equal(by_network[:2], by_sort[:2])
    assert by_network[2] == by_sort[2]
