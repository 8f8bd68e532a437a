"""make_ratings: the promises of its docstring."""

import numpy as np
import pytest

from skem.datasets import make_ratings


@pytest.mark.parametrize("missing_fraction", [0.0, 0.5, 0.97])
def test_every_item_has_exactly_the_stated_number_of_raters(missing_fraction):
    X = make_ratings(40, 30, missing_fraction=missing_fraction, random_state=0)
    expected = max(1, round((1 - missing_fraction) * 30))
    np.testing.assert_array_equal(np.sum(~np.isnan(X), axis=1), expected)


def test_exactly_the_stated_number_of_annotators_are_bad():
    _, _, good = make_ratings(
        10, 12, bad_fraction=0.25, return_truth=True, random_state=3
    )
    assert good.dtype == bool and int((~good).sum()) == 3


def test_truth_lies_in_the_middle_of_the_range_and_ratings_within_it():
    X, mu, _ = make_ratings(
        500, 8, sigma=2.0, score_range=(1, 5), return_truth=True, random_state=0
    )
    assert np.all((mu >= 1.4) & (mu <= 4.6))
    assert np.nanmin(X) >= 1 and np.nanmax(X) <= 5


def test_good_annotators_scatter_by_sigma_around_the_truth():
    X, mu, good = make_ratings(
        4000, 4, bad_fraction=0.5, sigma=0.01, return_truth=True, random_state=0
    )
    residual = X[:, good] - mu[:, None]
    assert np.nanstd(residual) == pytest.approx(0.01, rel=0.05)
    assert np.nanstd(X[:, ~good] - mu[:, None]) > 0.2


def test_sparse_output_stores_the_same_ratings_as_the_dense_one():
    """Explicit zeros included: a rating clipped to 0 is still a rating."""
    dense = make_ratings(50, 20, missing_fraction=0.8, random_state=7)
    sparse = make_ratings(
        50, 20, missing_fraction=0.8, sparse_output=True, random_state=7
    )
    assert sparse.format == "csr" and sparse.nnz == np.sum(~np.isnan(dense))
    stored = sparse.tocoo()
    np.testing.assert_array_equal(stored.data, dense[stored.row, stored.col])


def test_the_same_seed_gives_the_same_ratings():
    first = make_ratings(20, 5, missing_fraction=0.4, random_state=11)
    np.testing.assert_array_equal(
        first, make_ratings(20, 5, missing_fraction=0.4, random_state=11)
    )


def test_a_range_that_is_not_two_increasing_finite_numbers_is_refused():
    with pytest.raises(ValueError, match="low < high"):
        make_ratings(5, 3, score_range=(1.0, 1.0))
    with pytest.raises(ValueError, match="finite"):
        make_ratings(5, 3, score_range=(0.0, np.inf))
    # Fuzzing finding: these raised NumPy's OverflowError, an unpacking error
    # and a float conversion error.
    for odd in [(-1e308, 1e308), (0, 1, 2), ("a", "b")]:
        with pytest.raises(ValueError, match=r"score_range must be two finite"):
            make_ratings(5, 3, score_range=odd)
