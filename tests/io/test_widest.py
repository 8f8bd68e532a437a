"""Which intervals to name: notably wide, widest first, ties by label."""

import numpy as np
import pytest

from skem._io.widest import (
    WIDE_FACTOR,
    _half_width,
    _is_wide,
    _rank_widest,
    _wide_threshold,
    _widest,
)


def test_wide_threshold_is_the_factor_times_the_median_of_finite_positive_errors():
    std_error = np.array([0.1, 0.2, 0.3, np.nan, np.inf, 0.0, -1.0])
    assert _wide_threshold(std_error) == pytest.approx(WIDE_FACTOR * 0.2)
    assert _wide_threshold(np.array([np.nan, 0.0])) == np.inf


def test_is_wide_marks_finite_errors_over_the_threshold():
    std_error = np.array([0.2, 0.5, 0.2, 0.9, 0.2, np.inf, 0.23, np.nan])
    np.testing.assert_array_equal(
        _is_wide(std_error), [False, True, False, True, False, False, False, False]
    )
    assert not _is_wide(np.full(4, 0.3)).any()


def test_half_width_is_half_the_interval_shown_on_pandas_and_dask():
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame({"ci_low": [1.0, 2.5, 4.0], "ci_high": [2.0, 2.5, 5.0]})
    np.testing.assert_array_equal(_half_width(table).to_numpy(), [0.5, 0.0, 0.5])
    dd = pytest.importorskip("dask.dataframe")
    lazy = _half_width(dd.from_pandas(table, npartitions=2))
    np.testing.assert_array_equal(lazy.compute().to_numpy(), [0.5, 0.0, 0.5])


def test_on_the_log_scale_the_half_width_is_relative():
    """Review finding: on the log scale the largest counts had the widest
    intervals in counts and were named, not the least certain items. There
    the width is of the logarithms: 20 +/- 30% is wider than 5000 +/- 25%."""
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame(
        {"ci_low": [20 / 1.3, 5000 / 1.25], "ci_high": [20 * 1.3, 5000 * 1.25]}
    )
    half = _half_width(table, log=True).to_numpy()
    np.testing.assert_allclose(half, np.log([1.3**2, 1.25**2]) / 2)
    assert half[0] > half[1]
    assert _half_width(table).to_numpy()[0] < _half_width(table).to_numpy()[1]


def test_widest_names_only_notably_wide_intervals_widest_first():
    assert _widest(np.full(10, 0.3)).size == 0
    std_error = np.array([0.2, 0.5, 0.2, 0.9, 0.2, np.inf, 0.23, 0.2])
    np.testing.assert_array_equal(_widest(std_error), [3, 1])
    np.testing.assert_array_equal(_widest(std_error, limit=1), [3])


def test_widths_equal_but_for_rounding_are_ranked_by_label():
    """Items with the same raters have widths that differ in the last bits;
    whatever their order, the labels decide, so that the report, the summary
    and the Dask summary name the same items."""
    labels = np.array(["4", "33", "12", "20", "9", "wide"], dtype=object)
    half = np.array(
        [0.7748921, 0.7748921 + 2e-16, 0.7748921 - 1e-16, 0.7748921, 0.5, 0.9]
    )
    for order in (np.arange(6), np.arange(6)[::-1]):
        picked = _rank_widest(half[order], labels[order], 3)
        assert labels[order][picked].tolist() == ["wide", "12", "20"]
    assert labels[_rank_widest(half, labels, 10)].tolist()[-1] == "9"
    # Review finding: a tie a few ulps below the cut was dropped before the
    # label order could pick it.
    ties = [0.7748921 + d for d in (3e-16, 1e-16, 0.0, -2e-16)]
    tied = np.array(["d", "c", "b", "a"], dtype=object)
    assert tied[_rank_widest(ties, tied, 3)].tolist() == ["a", "b", "c"]
    # Without labels the positions' order breaks ties.
    np.testing.assert_array_equal(_rank_widest(ties, None, 3), [0, 1, 2])


def test_widest_ranks_by_the_width_shown_among_the_notably_wide():
    """Notably wide by the standard error; ranked by the half width shown
    (clipped on a bounded scale), as the report and the summary both do."""
    std_error = np.array([0.2, 0.5, 0.2, 0.9, 0.2, 0.6, 0.2])
    half = np.array([0.4, 0.9, 0.4, 0.7, 0.4, 0.9, 0.4])  # item 3 clipped
    labels = ["a", "z", "c", "d", "e", "b", "g"]
    np.testing.assert_array_equal(_widest(std_error, None, half, labels), [5, 1, 3])
    np.testing.assert_array_equal(_widest(std_error), [3, 5, 1])


def test_an_infinite_width_is_the_widest_and_a_nan_one_is_not_ranked():
    """Fuzz finding: the tie floor of inf was NaN, and nothing was named."""
    np.testing.assert_array_equal(_rank_widest([np.inf, 1.0, 1.0], None, 1), [0])
    np.testing.assert_array_equal(_rank_widest([np.nan, 1.0, 2.0], None, 1), [2])
    np.testing.assert_array_equal(_rank_widest([np.nan, 1.0, 2.0], None, 5), [2, 1])
    assert _rank_widest([1.0, 2.0], None, 0).size == 0
    half = [1.0, 1.0, 1.0, np.inf, 2.0]
    np.testing.assert_array_equal(_widest([1, 1, 1, 5, 6], 1, half), [3])
