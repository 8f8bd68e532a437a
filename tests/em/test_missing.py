"""Tests of what counts as "not rated" (skem._em.missing)."""

import warnings

import numpy as np
import pytest

from skem._em.missing import _missing_as_nan


def test_missing_markers_become_nan_without_touching_the_callers_data():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, pd.NA, 3.0], "b": [None, 2.0, 1.0]}, dtype=object)
    before = frame.copy()
    cleaned = _missing_as_nan(frame)
    assert np.isnan(np.asarray(cleaned, dtype=float)).sum() == 2
    pd.testing.assert_frame_equal(frame, before)
    plain = np.ones((2, 2))
    assert _missing_as_nan(plain) is plain


def test_pd_na_in_a_list_is_not_rated_as_in_an_array():
    """Fuzz finding: a list holding pd.NA raised NumPy's TypeError, which
    named neither X nor the marker, where an object array of it fitted."""
    pd = pytest.importorskip("pandas")
    from skem import AnnotatorEM

    rows = [[0.6, 0.58, 0.1], [0.9, 0.93, 0.95], [0.3, 0.28, pd.NA], [0.7, 0.7, 0.05]]
    before = [list(row) for row in rows]
    cleaned = _missing_as_nan(rows)
    assert np.isnan(np.asarray(cleaned, dtype=float)).sum() == 1
    assert rows == before
    plain = [[1.0, None], [2.0, 3.0]]  # NumPy's own None, left as it is
    assert _missing_as_nan(plain) is plain
    em = AnnotatorEM().fit(rows)
    np.testing.assert_array_equal(
        em.mu_, AnnotatorEM().fit(np.array(rows, dtype=object)).mu_
    )
    gold = [0.6, pd.NA, pd.NA, pd.NA]
    AnnotatorEM().fit(rows, gold=gold)


@pytest.mark.parametrize("fill", [0.0, np.nan])
def test_a_pandas_sparse_column_becomes_its_dense_values(fill):
    """An unstored cell is the column's fill value, as pandas reads it; the
    caller's frame is kept."""
    pd = pytest.importorskip("pandas")
    dense = pd.DataFrame({"a": [fill, 2.0, fill], "b": [1.0, fill, 3.0]})
    frame = dense.astype({"a": pd.SparseDtype(float, fill)})
    before = frame.copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cleaned = _missing_as_nan(frame)
        series = dense["b"].astype(pd.SparseDtype(float, fill))
        pd.testing.assert_series_equal(_missing_as_nan(series), dense["b"])
    pd.testing.assert_frame_equal(cleaned, dense)
    pd.testing.assert_frame_equal(frame, before)
    # A fill that is a number is a rating there: said, once a call.
    said = [str(w.message) for w in caught]
    assert said == ([] if np.isnan(fill) else [said[0]] * 2)
    assert np.isnan(fill) or said[0].startswith(
        "pandas sparse columns with the fill value 0.0 are read as pandas"
    )


def test_a_sparse_gold_series_with_a_numeric_fill_is_warned_of_as_gold():
    """A reviewer's finding: a sparse gold Series with fill 0 was warned of
    in the words meant for ratings, though every unstored item is pinned to
    a known score of 0."""
    pd = pytest.importorskip("pandas")
    gold = pd.Series([3.0, 0.0, 0.0]).astype(pd.SparseDtype(float, 0.0))
    with pytest.warns(UserWarning, match="unstored cells are known gold scores"):
        dense = _missing_as_nan(gold, gold=True)
    np.testing.assert_array_equal(dense.to_numpy(), [3.0, 0.0, 0.0])
