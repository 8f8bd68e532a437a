"""The starts of EM: item medians and their sort, initial weights."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skem._em.backend import _Block
from skem._em.ratings import _Ratings, _ratings_from_matrix
from skem._model.starts import (
    _check_init_weights,
    _estimate_agreement_weights,
    _estimate_item_medians,
    _kernel_agreement_sums,
    _kernel_initialize_median,
)
from tests._helpers import _budget


def test_estimate_item_medians(ratings):
    medians = _estimate_item_medians(ratings)
    np.testing.assert_allclose(medians[[0, 1, 3]], [1.5, 4.0, 2.0])
    assert np.isnan(medians[2])


@pytest.mark.parametrize("grouped", [True, False])
def test_estimate_item_medians_matches_np_median_in_any_order(grouped):
    """Rows of many lengths, ties galore, empty items, ratings by item or not."""
    rng = np.random.RandomState(0)
    dense = rng.randint(0, 5, (300, 40)).astype(float)
    dense[rng.rand(300, 40) < 0.8 * rng.rand(300, 1)] = np.nan
    dense[7] = np.nan
    rows, columns = np.nonzero(~np.isnan(dense))
    if not grouped:
        order = rng.permutation(rows.shape[0])
        rows, columns = rows[order], columns[order]
    ratings = _Ratings(rows, columns, dense[rows, columns], *dense.shape)
    assert ratings.grouped_by_item == grouped
    assert len(np.unique(ratings.n_per_item)) > 20
    expected = [
        np.median(row[~np.isnan(row)]) if i != 7 else np.nan
        for i, row in enumerate(dense)
    ]
    np.testing.assert_array_equal(_estimate_item_medians(ratings), expected)


@pytest.mark.parametrize("shape", [(0, 3), (4, 3)])
def test_estimate_item_medians_without_ratings_are_nan(shape):
    """A Dask block of an empty part has no items, or items and no rating."""
    medians = _estimate_item_medians(_ratings_from_matrix(np.full(shape, np.nan)))
    assert medians.shape == (shape[0],)
    assert np.isnan(medians).all()


def test_estimate_item_medians_of_an_item_longer_than_a_chunk(monkeypatch):
    monkeypatch.setattr("skem._em.ratings._MIDDLE_CHUNK", 4)
    rng = np.random.RandomState(1)
    dense = np.full((3, 11), np.nan)
    dense[0] = rng.rand(11)
    dense[2, :6] = rng.rand(6)
    ratings = _ratings_from_matrix(dense)
    np.testing.assert_array_equal(
        _estimate_item_medians(ratings),
        [np.median(dense[0]), np.nan, np.median(dense[2, :6])],
    )


def test_check_init_weights_accepts_probabilities_as_floats():
    weights = _check_init_weights([0, 1, 0.5], 3)
    assert weights.dtype == np.float64
    np.testing.assert_array_equal(weights, [0.0, 1.0, 0.5])


@pytest.mark.parametrize(
    "init, message",
    [
        ([0.5, 0.5], "X has 3 annotators, init has shape \\(2,\\)"),
        (
            [0.5, 0.5],
            "^init must be 'auto', 'agreement', 'median_agreement', 'all_good', "
            "'median', 'random' or",
        ),
        (
            {"a": 1},
            "^init must be 'auto', 'agreement', 'median_agreement', 'all_good', "
            "'median', 'random' or",
        ),
        ([[0.5, 0.5, 0.5]], "init has shape \\(1, 3\\)"),
        ([0.5, 1.5, 0.5], "must lie in \\[0, 1\\]"),
        ([0.0, 0.0, 0.0], "at least one annotator P\\(good\\) > 0"),
        ({"a": 1}, "one initial P\\(good\\) per annotator"),
        # NumPy's words alone named neither init nor what it may be.
        (["good", "good", "bad"], "^init must be .*could not convert string"),
        ([0.5, np.nan, 0.5], "^init must be .*init contains NaN"),
    ],
)
def test_check_init_weights_names_the_problem(init, message):
    with pytest.raises(ValueError, match=message):
        _check_init_weights(init, 3)


def test_kernel_initialize_median_sums_deviations_over_chunks(monkeypatch):
    """The absolute deviations from the medians, from chunks of sorted rows."""
    monkeypatch.setattr("skem._em.ratings._MIDDLE_CHUNK", 5)
    rng = np.random.RandomState(2)
    dense = np.where(rng.rand(9, 6) < 0.3, np.nan, rng.rand(9, 6))
    ratings = _ratings_from_matrix(dense)
    assert ratings.n_ratings > 3 * 5
    block, outputs = _kernel_initialize_median(_Block(ratings), bounded=True)
    medians = np.nanmedian(dense, axis=1)
    expected = np.nansum(np.abs(dense - medians[:, np.newaxis]))
    np.testing.assert_allclose(outputs["abs_deviations"], expected, rtol=1e-14)
    np.testing.assert_array_equal(block.location, medians)


def _agreement_weights(X, reference, gold=None):
    block = _Block(ratings=_ratings_from_matrix(X), gold=gold)
    return _estimate_agreement_weights(**_kernel_agreement_sums(block, reference)[1])


def _reference_panel():
    """Three good raters, a random, a reversed and a constant one; 12 items."""
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 1, 12)
    X = np.column_stack(
        [truth + rng.normal(0, s, 12) for s in (0.05, 0.1, 0.3)]
        + [rng.uniform(0, 1, 12), 1.0 - truth, np.full(12, 0.5)]
    )
    X[3:, 3] = np.where(np.arange(9) < 7, X[3:, 3], np.nan)  # 10 ratings
    X[2:, 5] = np.nan  # a constant rater, and only 2 ratings
    return X


def _expected_weights(X, references):
    """np.corrcoef of each column with its references, clipped, over the largest."""
    expected = np.full(X.shape[1], 0.5)
    for a in range(X.shape[1]):
        known = ~np.isnan(X[:, a]) & ~np.isnan(references[:, a])
        if known.sum() >= 3 and np.ptp(X[known, a]) > 0:
            r = np.corrcoef(X[known, a], references[known, a])[0, 1]
            expected[a] = max(r, 0.0)
    defined = expected != 0.5
    if not np.any(expected[defined] > 0):
        return np.full(X.shape[1], 0.5)
    expected[defined] /= expected[defined].max()
    return expected


def test_agreement_weights_are_correlations_with_the_item_medians():
    """reference='median': Pearson's r of each annotator's ratings with its
    items' medians (np.corrcoef), clipped at 0, over the largest; 1/2 where
    r is undefined: fewer than 3 ratings, or a constant rater."""
    X = _reference_panel()
    medians = np.repeat(np.nanmedian(X, axis=1)[:, np.newaxis], X.shape[1], axis=1)
    weights = _agreement_weights(X, "median")
    np.testing.assert_allclose(weights, _expected_weights(X, medians), rtol=1e-9)
    assert weights[4] == 0.0 and weights[5] == 0.5  # reversed; too few


def _others_means(X):
    """Each rating's reference: the mean of the other ratings of its item."""
    rated = ~np.isnan(X)
    count = rated.sum(axis=1, keepdims=True)
    total = np.nansum(X, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rated & (count > 1), (total - X) / (count - 1), np.nan)


def test_agreement_weights_are_correlations_with_the_others_ratings():
    """reference='others': r with the mean of the other ratings of each item
    (the corrected item-total correlation); a rating alone on its item has no
    reference and does not count, nor toward the 3 ratings r needs."""
    X = _reference_panel()
    X[0, :5] = np.nan  # item 0: the constant rater's rating alone
    X[1, 1:5] = np.nan  # item 1: two ratings
    weights = _agreement_weights(X, "others")
    np.testing.assert_allclose(
        weights, _expected_weights(X, _others_means(X)), rtol=1e-9
    )
    assert weights[4] == 0.0 and weights[5] == 0.5  # reversed; one referenced


def test_agreement_weights_take_a_gold_items_known_score_as_its_reference():
    """A gold item's reference is its known score, for either reference, and
    a rating alone on a gold item counts."""
    X = _reference_panel()
    X[0, 1:] = np.nan  # item 0: rater 0 alone
    gold = np.full(X.shape[0], np.nan)
    gold[[0, 4]] = [0.2, 0.9]
    for reference, references in (
        ("others", _others_means(X)),
        ("median", np.repeat(np.nanmedian(X, axis=1)[:, None], X.shape[1], axis=1)),
    ):
        references[[0, 4]] = gold[[0, 4], np.newaxis]
        weights = _agreement_weights(X, reference, gold)
        expected = _expected_weights(X, references)
        np.testing.assert_allclose(weights, expected, rtol=1e-9)


def test_agreement_with_the_others_spares_a_good_rater_among_random_ones():
    """Two good raters among eight uniform ones, on items of 10 ratings: the
    items' medians are mostly random ratings, and each random rater's own
    rating pulls its item's median toward it; the others' mean does not."""
    rng = np.random.default_rng(3)
    truth = rng.uniform(0, 1, 200)
    X = np.column_stack(
        [truth + rng.normal(0, 0.05, 200) for _ in range(2)]
        + [rng.uniform(0, 1, 200) for _ in range(8)]
    )
    others = _agreement_weights(X, "others")
    median = _agreement_weights(X, "median")
    assert others[2:].max() < 0.2 < 0.8 < others[:2].min()
    assert median[2:].max() > 2 * others[2:].max()


def test_agreement_with_the_medians_spares_two_raters_against_a_reversed_one():
    """Three raters an item, one reversed: each good rater's others' mean holds
    the reversed rating in full and does not follow the items, while the
    median of the three does (the docstring example of annotator_frame)."""
    X = np.array([[4.0, 4.2, 1.0], [2.0, 2.1, 5.0], [3.0, 3.1, 2.0], [1.5, 1.4, 4.5]])
    np.testing.assert_array_equal(_agreement_weights(X, "others"), [0.5, 0.5, 0.5])
    median = _agreement_weights(X, "median")
    assert median[2] == 0.0 and median[:2].min() > 0.9


@settings(max_examples=_budget(100))
@given(
    n_items=st.integers(2, 12),
    n_annotators=st.integers(2, 6),
    chunk=st.integers(1, 9),
    scale=st.floats(0.1, 10.0),
    shift=st.floats(-10.0, 10.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_agreement_weights_depend_neither_on_units_nor_on_chunks(
    n_items, n_annotators, chunk, scale, shift, seed
):
    """For either reference, the weights are those of np.corrcoef on the
    dense panel, whatever the units of the scores (a positive affine map;
    a fit hands the kernel scores on the unit range) and however the
    ratings are cut into chunks; with gold items too."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0, 1, n_items)
    noise = rng.uniform(0.01, 1.0, n_annotators)
    X = truth[:, np.newaxis] + noise * rng.standard_normal((n_items, n_annotators))
    X[rng.random(X.shape) < 0.3] = np.nan
    rated = ~np.all(np.isnan(X), axis=1)
    X, truth = X[rated], truth[rated]
    gold = np.where(rng.random(X.shape[0]) < 0.2, truth, np.nan)
    medians = np.repeat(np.nanmedian(X, axis=1)[:, None], n_annotators, axis=1)
    for reference, references in (("others", _others_means(X)), ("median", medians)):
        references = np.where(np.isnan(gold)[:, None], references, gold[:, None])
        expected = _expected_weights(X, references)
        with mock.patch("skem._model.likelihoods._CHUNK_SIZE", chunk):
            weights = _agreement_weights(X, reference, gold)
        moved = _agreement_weights(scale * X + shift, reference, scale * gold + shift)
        np.testing.assert_allclose(weights, expected, atol=1e-7)
        np.testing.assert_allclose(moved, weights, atol=1e-7)


def test_agreement_weights_without_a_positive_correlation_are_all_one_half():
    """A reversed rater (r = -1) and one whose items' medians do not vary: no
    correlation is positive, so nobody is known to agree."""

    def sums(x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        return {
            "n": x.size,
            "x": x.sum(),
            "y": y.sum(),
            "xx": x @ x,
            "yy": y @ y,
            "xy": x @ y,
        }

    pairs = [sums([0, 1, 2], [2, 1, 0]), sums([0, 1, 2], [1, 1, 1])]
    stacked = {key: np.array([pair[key] for pair in pairs]) for key in pairs[0]}
    np.testing.assert_array_equal(_estimate_agreement_weights(**stacked), [0.5, 0.5])


def test_agreement_weights_read_a_correlation_within_rounding_as_zero():
    """A fuzzer's finding: an uncorrelated rater's covariance, summed in one
    order of its ratings, came out +1e-16 (a start of 1 for it and 0 for a
    reversed rater) and in another -1e-16 (1/2 for both). Within the sums'
    rounding it is 0, in any order; a small correlation above it still
    counts."""

    def sums(x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        return {"n": x.size, "x": x.sum(), "y": y.sum(), "xx": x @ x}, {
            "yy": y @ y,
            "xy": x @ y,
        }

    x, y = [0.1, 0.7, 0.2, 0.6], [0.3, 0.3, 0.6, 0.6]  # r = 0 exactly
    reversed_rater = {**sums([0, 1, 2], [2, 1, 0])[0], **sums([0, 1, 2], [2, 1, 0])[1]}
    for towards in (np.inf, -np.inf, None):
        first, second = sums(x, y)
        if towards is not None:  # the last bit of the sum, either way
            second["xy"] = np.nextafter(second["xy"], towards)
        pairs = [{**first, **second}, reversed_rater]
        stacked = {key: np.array([pair[key] for pair in pairs]) for key in pairs[0]}
        np.testing.assert_array_equal(
            _estimate_agreement_weights(**stacked), [0.5, 0.5]
        )
    first, second = sums(x, [0.3, 0.3, 0.6, 0.6 + 1e-6])
    pairs = [{**first, **second}, reversed_rater]
    stacked = {key: np.array([pair[key] for pair in pairs]) for key in pairs[0]}
    np.testing.assert_array_equal(_estimate_agreement_weights(**stacked), [1.0, 0.0])
