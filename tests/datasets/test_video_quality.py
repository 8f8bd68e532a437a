"""The bundled Netflix video-quality ratings."""

import numpy as np
import pytest

from skem.datasets import load_video_quality


def test_every_documented_key_is_an_attribute_of_the_bunch():
    """Each key is reachable as an attribute: none is shadowed by a dict method."""
    nflx = load_video_quality()
    for key, value in nflx.items():
        assert getattr(nflx, key) is value, key


def test_labels_index_the_rows_and_columns_of_the_data():
    nflx = load_video_quality()
    assert nflx.data.shape == (nflx.item_labels.size, nflx.annotators.size) == (79, 30)
    assert np.all(np.diff(nflx.item_labels) > 0)
    assert np.all(np.diff(nflx.annotators) > 0)
    assert set(nflx.unreliable) <= set(nflx.annotators)


def test_with_outliers_false_drops_exactly_the_unreliable_columns():
    full = load_video_quality()
    public = load_video_quality(with_outliers=False)
    kept = ~np.isin(full.annotators, full.unreliable)
    assert public.unreliable.size == 0
    np.testing.assert_array_equal(public.annotators, full.annotators[kept])
    np.testing.assert_array_equal(public.data, full.data[:, kept])
    assert not np.isnan(public.data).any()
    low, high = public.score_range
    assert np.nanmin(public.data) >= low and np.nanmax(public.data) <= high
    assert "Apache License 2.0" in public.DESCR


def test_frame_holds_the_same_ratings_in_long_format():
    pytest.importorskip("pandas")
    public = load_video_quality(with_outliers=False, as_frame=True)
    assert len(public.frame) == 2054
    assert list(public.frame.columns) == ["item", "annotator", "score"]
    rows = np.searchsorted(public.item_labels, public.frame["item"])
    cols = np.searchsorted(public.annotators, public.frame["annotator"])
    np.testing.assert_array_equal(public.data[rows, cols], public.frame["score"])
    assert load_video_quality().frame is None
