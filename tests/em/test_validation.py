"""Validation of what the estimators are given, before any fitted attribute changes."""

from typing import NamedTuple

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score

from skem import AnnotatorEM, RatingMatrix, annotator_frame, consensus_frame
from skem._em.validation import (
    _check_not_labelled_matrix,
    _missing_as_nan,
    _warn_at_caller,
)
from skem.datasets import make_ratings


def test_warn_at_caller_points_at_the_first_line_outside_skem():
    with pytest.warns(UserWarning, match="from here") as record:
        _warn_at_caller("from here", UserWarning)
    assert record[0].filename == __file__


def test_the_estimators_warnings_point_at_the_callers_line():
    """Not into skem, whichever entry point warns, and however deep."""
    X = make_ratings(10, 4, random_state=0)
    X[3] = np.nan
    with pytest.warns(UserWarning, match="have no rating") as fitting:
        em = AnnotatorEM().fit(X)
    with pytest.warns(UserWarning, match="have no rating") as transforming:
        em.transform(X)
    with pytest.warns(ConvergenceWarning) as not_converging:
        AnnotatorEM(max_iter=1, init="median").fit(X[:3])
    with pytest.warns(UserWarning, match="have no rating") as validating:
        cross_val_score(AnnotatorEM(), X, cv=2)  # through scikit-learn and joblib
    for record in (fitting, transforming, not_converging, validating):
        assert {w.filename for w in record} == {__file__}


def test_a_rating_matrix_is_refused_with_the_way_to_its_matrix():
    X = make_ratings(10, 4, random_state=0)
    matrix = RatingMatrix(X, np.arange(10), np.arange(4))
    with pytest.raises(
        ValueError, match=r"X is a RatingMatrix.*long_to_matrix\(\.\.\.\)\.X"
    ):
        AnnotatorEM().fit(matrix)
    em = AnnotatorEM().fit(X)
    mu = em.mu_.copy()
    for method in (em.fit, em.transform, em.score):
        with pytest.raises(ValueError, match="X is a RatingMatrix"):
            method(matrix)
    np.testing.assert_array_equal(em.mu_, mu)
    pytest.importorskip("pandas")
    for table in (consensus_frame, annotator_frame):
        with pytest.raises(ValueError, match="X is a RatingMatrix"):
            table(em, X=matrix)


def test_other_tuples_are_left_to_the_usual_validation():
    class Pair(NamedTuple):
        a: float
        b: float

    _check_not_labelled_matrix(Pair(1.0, 2.0))
    _check_not_labelled_matrix((np.ones(3), np.ones(3)))


def test_missing_markers_become_nan_without_touching_the_callers_data():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, pd.NA, 3.0], "b": [None, 2.0, 1.0]}, dtype=object)
    before = frame.copy()
    cleaned = _missing_as_nan(frame)
    assert np.isnan(np.asarray(cleaned, dtype=float)).sum() == 2
    pd.testing.assert_frame_equal(frame, before)
    plain = np.ones((2, 2))
    assert _missing_as_nan(plain) is plain
