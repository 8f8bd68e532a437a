"""What counts as "not rated" in the containers a user may pass.

NaN does in NumPy arrays. pandas' markers (``pd.NA``, ``None``) and a masked
entry of a ``numpy.ma`` array are turned into NaN, and a pandas sparse column
into its dense values, before scikit-learn's validation, which would refuse,
keep or drop them.
"""

import numpy as np


def _missing_as_nan(data):
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
        # pandas reads an unstored cell as the column's fill value (0 is a
        # rating); scikit-learn's conversion to a SciPy matrix would drop it,
        # or refuse a fill value other than 0.
        if getattr(data, "ndim", 1) == 1:
            data = data.astype(data.dtype.subtype)
        else:
            columns = zip(data.columns, data.dtypes, sparse, strict=True)
            data = data.astype({name: dtype.subtype for name, dtype, s in columns if s})
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


def _is_string_dtype(dtype):
    """Whether ``dtype`` is pandas' string dtype (without importing pandas)."""
    return type(dtype).__name__ == "StringDtype"


_MISSING_AS_NAN = np.frompyfunc(
    lambda value: (
        np.nan if value is None or type(value).__name__ == "NAType" else value
    ),
    1,
    1,
)
