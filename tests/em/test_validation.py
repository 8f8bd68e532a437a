"""Validation of what the estimators are given, before any fitted attribute changes."""

import re
from typing import NamedTuple

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score

from skem import AnnotatorEM, RatingMatrix, annotator_frame, consensus_frame
from skem._em.validation import (
    _check_rating_matrix,
    _check_sparse_structure,
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
    # The tables take it, for its labels and ratings.
    for table in (consensus_frame, annotator_frame):
        assert table(em, X=matrix).equals(table(em, matrix))


@pytest.mark.parametrize(
    "columns",
    [("item", "annotator", "score"), ("Item", "Score"), ("annotator", "score")],
)
def test_long_format_ratings_are_refused_with_the_way_to_a_matrix(columns):
    """A table of one rating per row, with numeric labels, used to fit as
    three annotators: two of long_to_matrix's default columns name it."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    long = pd.DataFrame(
        {name: rng.integers(1, 6, 40).astype(float) for name in columns}
    )
    before = long.copy()
    with pytest.raises(ValueError, match="X looks like long-format ratings") as info:
        AnnotatorEM().fit(long)
    assert "skem.long_to_matrix(df, item=" in str(info.value)
    assert repr(columns[1]) in str(info.value)
    em = AnnotatorEM().fit(make_ratings(40, len(columns), random_state=0))
    for refused in (
        em.transform,
        lambda X: consensus_frame(em, X=X),
        lambda X: annotator_frame(em, X=X),
    ):
        with pytest.raises(ValueError, match="long-format"):
            refused(long)
    pd.testing.assert_frame_equal(long, before)


@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[s]"])
@pytest.mark.parametrize("as_frame", [False, True])
def test_dates_and_durations_are_refused_not_fitted_as_their_ticks(dtype, as_frame):
    """NumPy and pandas turn dates into float ticks without a word."""
    X = np.arange(12).reshape(4, 3).astype(dtype)
    if as_frame:
        pd = pytest.importorskip("pandas")
        X = pd.DataFrame(X).assign(extra=1.0)
    with pytest.raises(ValueError, match=r"X holds dates or durations \("):
        AnnotatorEM().fit(X)


def test_a_column_of_labels_is_refused_with_the_way_to_the_index():
    """A pivot after reset_index keeps its numeric "item" column, which fitted
    as an annotator; a column of clip names failed on "could not convert
    string to float". Both name the column and the fix."""
    pd = pytest.importorskip("pandas")
    X = make_ratings(20, 3, random_state=0)
    wide = pd.DataFrame(X, columns=["ann", "bob", "cat"]).rename_axis("item")
    with pytest.raises(ValueError, match=r"column 'item' holds the item labels"):
        AnnotatorEM().fit(wide.reset_index())
    named = wide.reset_index().assign(item=[f"clip{i}" for i in range(20)])
    named = named.rename(columns={"item": "video"})
    with pytest.raises(
        ValueError, match=r"column 'video' holds text, such as 'clip0'.*set_index"
    ):
        AnnotatorEM().fit(named)
    as_text = pd.DataFrame(X.astype(str), columns=["ann", "bob", "cat"])
    np.testing.assert_array_equal(
        AnnotatorEM().fit(as_text).mu_, AnnotatorEM().fit(X).mu_
    )


def test_a_slip_among_ratings_is_named_by_its_cell_not_taken_for_labels():
    """A new user's finding: one typo in a column of ratings was read as a
    column of labels, with the advice to make it the index. Mostly numbers,
    the column is ratings: the error names the cell and its row, and leaves
    the frame as it was."""
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(
        {
            "ann": [1.0, 2.0, 3.0, 4.0, 5.0],
            "bob": ["4", "x", "3", "y", "1"],
            "cat": [2, 3, 4, 5, 1],
        },
        index=["v1", "v2", "v3", "v4", "v5"],
    )
    before = X.copy()
    message = (
        "column 'bob' holds 2 cells of text among 3 numbers, the first 'x' in "
        "the row labelled 'v2'. Correct them, or make them NaN"
    )
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        AnnotatorEM().fit(X)
    assert "set_index" not in str(raised.value)
    pd.testing.assert_frame_equal(X, before)
    X.loc["v4", "bob"] = "5"
    with pytest.raises(ValueError, match=r"holds a cell of text .* Correct it, or"):
        AnnotatorEM().fit(X)
    # Mostly missing, as sparse ratings are: still ratings, not labels.
    X["bob"] = ["x", np.nan, np.nan, np.nan, "5"]
    message = "a cell of text among 1 number, 'x' in the row labelled 'v1'"
    with pytest.raises(ValueError, match=re.escape(message)):
        AnnotatorEM().fit(X)


@pytest.mark.parametrize(
    "columns",
    [
        ["score", "ann", "bob", "cat"],
        ["judge", "user", "subject", "mos"],  # a reference MOS as one more rater
        ["expert", "crowd", "label", "participant"],
        ["human", "llm_judge", "answer", "question"],
    ],
)
def test_a_wide_frame_of_annotators_is_a_rating_matrix(columns):
    """Annotators named like the roles of the long format (a review found
    these refused by a first, wider rule) fit as annotators."""
    pd = pytest.importorskip("pandas")
    X = make_ratings(20, 4, random_state=0)
    wide = pd.DataFrame(X, columns=columns)
    np.testing.assert_array_equal(AnnotatorEM().fit(wide).mu_, AnnotatorEM().fit(X).mu_)


def test_other_tuples_are_left_to_the_usual_validation():
    class Pair(NamedTuple):
        a: float
        b: float

    _check_rating_matrix(Pair(1.0, 2.0))
    _check_rating_matrix((np.ones(3), np.ones(3)))


def _set(X, name, change):
    """X with its array ``name`` replaced by ``change`` of a copy of it."""
    values = np.array(getattr(X, name))
    setattr(X, name, change(values))
    return X


def _put(position, value):
    """A change that writes ``value`` at ``position`` (negative from the end)."""
    return lambda v: np.where(np.arange(v.size) == position % v.size, value, v)


# Arrays set by hand that no SciPy constructor would build: each case's
# format, how it is broken, and the words of the error.
_MALFORMED = {
    "csr, data longer": ("csr", "data", lambda v: np.append(v, 9.0), "data holds 13"),
    "csr, index past the columns": (
        "csr",
        "indices",
        _put(-1, 7),
        "index of 7, outside 0..2",
    ),
    "csr, negative index": ("csr", "indices", _put(0, -1), "column index of -1"),
    "csr, pointers that fall": (
        "csr",
        "indptr",
        lambda v: v[[0, 2, 1, 3, 4]],
        "indptr does not rise from 0",
    ),
    "csr, a pointer short": ("csr", "indptr", lambda v: v[:-1], "4 pointers, not 5"),
    "csc, index past the rows": (
        "csc",
        "indices",
        _put(0, 4),
        "row index of 4, outside 0..3",
    ),
    "csc, indices shorter": ("csc", "indices", lambda v: v[:-1], "indices holds 11"),
    "coo, row past the rows": ("coo", "row", _put(0, 9), "row index of 9"),
    "coo, data shorter": ("coo", "data", lambda v: v[:-1], "12, 12 and 11 entries"),
}


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array])
@pytest.mark.parametrize("case", list(_MALFORMED), ids=list(_MALFORMED))
def test_a_malformed_sparse_matrix_is_refused_with_what_is_wrong(case, container):
    """Before any SciPy routine reads it: some fitted ratings that were not
    there, and some crashed the interpreter. The caller's matrix is left as
    it is (SciPy's own check would prune it), and so is a fitted estimator."""
    fmt, name, change, words = _MALFORMED[case]
    ratings = np.array([[1.0, 2, 3], [2, 3, 4], [1, 2, 5], [3, 3, 3]])
    X = _set(container(ratings).asformat(fmt), name, change)
    before = np.array(getattr(X, name))
    em = AnnotatorEM().fit(ratings)
    mu = em.mu_.copy()
    with pytest.raises(ValueError, match="malformed sparse matrix") as error:
        em.fit(X)
    assert words in str(error.value)
    np.testing.assert_array_equal(getattr(X, name), before)
    np.testing.assert_array_equal(em.mu_, mu)
    with pytest.raises(ValueError, match=words):
        em.transform(X)


def test_the_results_refuse_a_malformed_sparse_matrix_too():
    pytest.importorskip("pandas")
    ratings = make_ratings(6, 3, random_state=0)
    X = _set(sp.csr_array(ratings), "indices", lambda v: v + 5)
    em = AnnotatorEM().fit(ratings)
    with pytest.raises(ValueError, match="column index of 7, outside 0..2"):
        annotator_frame(em, X=X)


def test_well_formed_sparse_matrices_pass_the_structure_check():
    """Every format SciPy builds, empty ones and stored zeros included."""
    X = make_ratings(12, 5, missing_fraction=0.5, sparse_output=True, random_state=0)
    X.data[0] = 0.0
    for fmt in ("csr", "csc", "coo", "lil", "dok"):
        _check_sparse_structure(X.asformat(fmt))
    _check_sparse_structure(sp.csr_array((3, 2)))
    _check_sparse_structure(sp.coo_array((3, 2)))


@pytest.mark.parametrize("fmt", ["bsr", "dia"])
def test_formats_that_store_padding_zeros_are_refused(fmt):
    """A BSR matrix's blocks and a DIA matrix's diagonals store zeros beside
    the ratings; read as CSR they were ratings of 0 (a 4 x 4 panel's range
    became -0.5..5.5 and its first consensus 1.503 instead of 1.411)."""
    X = sp.csr_array(
        np.array([[4.0, 0, 1, 1], [4, 5, 3, 4], [3, 5, 4, 1], [4, 1, 4, 2]])
    )
    X.eliminate_zeros()
    padded = sp.bsr_array(X, blocksize=(2, 2)) if fmt == "bsr" else X.todia()
    assert padded.nnz > X.nnz or fmt == "dia"
    with pytest.raises(ValueError, match=f"{fmt.upper()} format, whose"):
        AnnotatorEM().fit(padded)


def test_a_frame_with_a_repeated_column_name_is_refused_by_name():
    """Not pandas' AttributeError ('DataFrame' object has no attribute
    'dtype'), from fit, transform and the results alike."""
    pd = pytest.importorskip("pandas")
    ratings = make_ratings(6, 3, random_state=0)
    X = pd.DataFrame(ratings, columns=["a", "a", "b"])
    message = "column 'a' more than once"
    with pytest.raises(ValueError, match=message):
        AnnotatorEM().fit(X)
    em = AnnotatorEM().fit(ratings)
    with pytest.raises(ValueError, match=message):
        em.transform(X)
    with pytest.raises(ValueError, match=message):
        annotator_frame(em, X=X)


def test_string_columns_with_missing_values_fit_as_their_object_twins():
    """pandas' string dtype keeps pd.NA where object columns take NaN: it
    failed with a TypeError about NAType. The caller's frame is unchanged."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "a": ["1", "2", None, "4"],
            "b": ["2", "3", "4", "5"],
            "c": ["1", "3", "5", "4"],
        }
    )
    text = frame.astype("string")
    before = text.copy()
    expected = AnnotatorEM().fit(frame.astype(object)).mu_
    np.testing.assert_array_equal(AnnotatorEM().fit(text).mu_, expected)
    pd.testing.assert_frame_equal(text, before)
    mixed = text.astype({"b": np.float64})
    np.testing.assert_array_equal(AnnotatorEM().fit(mixed).mu_, expected)


def test_a_gold_series_indexed_unlike_x_is_refused():
    """A fuzzing helper's finding: gold goes by position, so a Series keyed
    by X's row labels in another order put its known score on another item,
    without a sign. The same labels in the same order, and arrays, fit."""
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(
        [[1.0, 1, 5], [5, 5, 1], [3, 3, 3]],
        index=["i0", "i1", "i2"],
        columns=list("abc"),
    )
    reordered = pd.Series([np.nan, np.nan, 2.0], index=["i2", "i1", "i0"])
    em = AnnotatorEM().fit(X)
    mu = em.mu_.copy()
    with pytest.raises(ValueError, match=r"index differs from X's.*reindex"):
        em.fit(X, gold=reordered)
    np.testing.assert_array_equal(em.mu_, mu)
    aligned = reordered.reindex(X.index)
    expected = AnnotatorEM().fit(X, gold=aligned.to_numpy()).mu_
    np.testing.assert_array_equal(AnnotatorEM().fit(X, gold=aligned).mu_, expected)
    assert expected[0] == 2.0


@pytest.mark.parametrize(
    "gold, message",
    [
        (["x", np.nan, np.nan], "gold must hold numbers or NaN: could not convert"),
        ([10**400, np.nan, np.nan], "gold must hold numbers or NaN: int too large"),
        ({0: 1.0}, "gold must be an array-like .* got a dict"),
    ],
    ids=["text", "huge int", "dict"],
)
def test_gold_that_is_no_number_is_refused_by_name(gold, message):
    """A gold score that is no float gives a ValueError that names gold."""
    X = np.array([[1.0, 2.0], [2.0, 3.0], [4.0, 4.0]])
    with pytest.raises(ValueError, match=message):
        AnnotatorEM().fit(X, gold=gold)


def test_a_rating_too_large_for_a_float_is_a_value_error_that_says_so():
    """A Python int beyond float64 gives a ValueError, not a bare OverflowError."""
    X = [[1, 2, 3], [2, 3, 10**400], [1, 1, 2]]
    with pytest.raises(ValueError, match="X holds a number too large for a float"):
        AnnotatorEM().fit(X)
    em = AnnotatorEM().fit([[1, 2, 3], [2, 3, 4], [1, 1, 2]])
    with pytest.raises(ValueError, match="X holds a number too large for a float"):
        em.transform(X)
