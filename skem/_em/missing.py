"""What counts as "not rated" in the containers a user may pass.

NaN does in NumPy arrays. pandas' markers (``pd.NA``, ``None``) and a masked
entry of a ``numpy.ma`` array are turned into NaN, and a pandas sparse column
into its dense values, before scikit-learn's validation, which would refuse,
keep or drop them.
"""

import numpy as np


def _missing_as_nan(data, gold=False):
    """Data with pandas' missing markers (pd.NA, None) and masks as NaN.

    NumPy cannot turn ``pd.NA`` into a float, so an object-dtype DataFrame,
    Series, array or a list holding it would fail validation with a
    TypeError; here it means "not rated" (or, for gold scores, "not known"),
    like NaN. So does a masked entry of a ``numpy.ma`` array, whose value underneath
    NumPy's conversion would keep. A pandas sparse column is made dense, as
    pandas reads it: an unstored cell is the fill value (0, a rating of 0;
    NaN, not rated). Other data pass through unchanged; the caller's data
    are never modified.

    Parameters
    ----------
    data : array-like
        Ratings or gold scores.
    gold : bool, default=False
        Whether ``data`` are gold scores, for the words of a warning.

    Returns
    -------
    data : array-like
        ``data`` itself, or a copy with the markers replaced.
    """
    if isinstance(data, np.ma.MaskedArray):
        dtype = np.float64 if data.dtype.kind in "biuf" else object
        data = np.ma.filled(data.astype(dtype), np.nan)
    if isinstance(data, (list, tuple)):
        # NumPy turns None in a list into NaN, but not pd.NA.
        cells = np.asarray(data, dtype=object)
        if any(type(value).__name__ == "NAType" for value in cells.flat):
            return _MISSING_AS_NAN(cells)
        return data
    if isinstance(data, np.ndarray):
        if data.dtype != object:
            return data
        return _MISSING_AS_NAN(data)
    dtypes = getattr(data, "dtypes", None)
    if dtypes is None or not hasattr(data, "notna"):
        return data
    if getattr(dtypes, "ndim", 0) == 0:  # a Series
        dtypes = [dtypes]
    sparse = [type(dtype).__name__ == "SparseDtype" for dtype in dtypes]
    if any(sparse):
        data = _as_dense(data, sparse, gold)
        dtypes = list(getattr(data.dtypes, "values", [data.dtypes]))
    if not any(getattr(dtype, "kind", None) == "O" for dtype in dtypes):
        return data
    # A column of pandas' string dtype keeps pd.NA through where(): as
    # objects it takes NaN, and its numbers written as text still convert.
    strings = [_is_string_dtype(dtype) for dtype in dtypes]
    if any(strings):
        if getattr(data, "ndim", 1) == 1:
            data = data.astype(object)
        else:
            columns = zip(data.columns, strings, strict=True)
            data = data.astype({name: object for name, text in columns if text})
    return data.where(data.notna(), np.nan)


def _as_dense(data, sparse, gold):
    """A DataFrame or Series with its pandas sparse columns made dense.

    pandas reads an unstored cell as the column's fill value, and so does
    the fit; scikit-learn's conversion to a SciPy matrix would drop the
    cells (a fill of 0) or refuse the frame (any other fill). Numbers become
    float64, so that a NaN fill of an integer column stays NaN. A fill that
    is a number is warned of: a SciPy sparse matrix, or a frame made from
    one (``DataFrame.sparse.from_spmatrix``), means "not rated" there.

    Parameters
    ----------
    data : pandas.DataFrame or pandas.Series
    sparse : list of bool
        Which columns are sparse.
    gold : bool
        Whether ``data`` are gold scores: an unstored cell is then a known
        score, which pins its item.

    Returns
    -------
    data : pandas.DataFrame or pandas.Series
        A new one.
    """
    frame = data.to_frame() if data.ndim == 1 else data
    dense, fills = {}, set()
    for k, (dtype, is_sparse) in enumerate(zip(frame.dtypes, sparse, strict=True)):
        if not is_sparse:
            continue
        fill = dtype.fill_value
        if frame.iloc[:, k].sparse.density < 1 and not _is_missing(fill):
            fills.add(fill)
        number = np.dtype(dtype.subtype).kind in "biuf"
        dense[frame.columns[k]] = np.float64 if number else dtype.subtype
    if fills:
        from skem._em.validation import _warn_at_caller

        cells, unknown = (
            ("known gold scores", "items without one")
            if gold
            else ("ratings", "cells that are not rated")
        )
        _warn_at_caller(
            "pandas sparse columns with the fill value "
            f"{' or '.join(sorted(map(repr, fills)))} are read as pandas reads "
            f"them: their unstored cells are {cells} of that value. For "
            f"{unknown} use a NaN fill (pd.SparseDtype(float, np.nan))"
            + ("." if gold else " or a SciPy sparse matrix."),
            UserWarning,
        )
    frame = frame.astype(dense)
    return frame.iloc[:, 0] if data.ndim == 1 else frame


def _is_marker(value):
    """Whether ``value`` is ``None`` or ``pd.NA`` (without importing pandas)."""
    return value is None or type(value).__name__ == "NAType"


def _is_missing(value):
    """Whether a scalar fill value is a missing marker (NaN, None, pd.NA)."""
    return _is_marker(value) or value != value


def _is_string_dtype(dtype):
    """Whether ``dtype`` is pandas' string dtype (without importing pandas)."""
    return type(dtype).__name__ == "StringDtype"


_MISSING_AS_NAN = np.frompyfunc(
    lambda value: np.nan if _is_marker(value) else value, 1, 1
)
