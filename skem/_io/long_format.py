"""Long-format ratings (one row per rating) to matrices and back."""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from skem._em.validation import _warn_at_caller
from skem._io.words import clipped, no_columns, spaced_name_hint


class RatingMatrix(NamedTuple):
    """A rating matrix with the labels of its rows and columns.

    Returned by :func:`long_to_matrix`; unpack it as ``X, items, annotators``.

    Parameters
    ----------
    X : pandas.DataFrame or scipy.sparse.csr_matrix of shape \
(n_items, n_annotators)
        The ratings. A DataFrame has NaN for "not rated"; a sparse matrix
        stores exactly the ratings (explicit zeros included).
    items : ndarray of shape (n_items,)
        The item label of each row, sorted.
    annotators : ndarray of shape (n_annotators,)
        The annotator label of each column: sorted, or the ``annotators``
        passed to :func:`long_to_matrix`.

    See Also
    --------
    long_to_matrix : Build one from long-format ratings.

    Examples
    --------
    >>> from skem import long_to_matrix
    >>> matrix = long_to_matrix(None, item=["b", "a"], annotator=[7, 7],
    ...                         score=[1.0, 2.0])
    >>> matrix.X.toarray(), matrix.items.tolist(), matrix.annotators.tolist()
    (array([[2.],
           [1.]]), ['a', 'b'], [7])
    """

    X: object
    items: np.ndarray
    annotators: np.ndarray


def long_to_matrix(
    data=None,
    *,
    item="item",
    annotator="annotator",
    score="score",
    duplicates="raise",
    sparse=True,
    annotators=None,
    unknown_annotators="raise",
):
    """Pivot long-format ratings (item, annotator, score) into a rating matrix.

    Crowdsourcing platforms and subjective tests export one rating per row;
    the estimators take one row per item and one column per annotator.

    Parameters
    ----------
    data : pandas.DataFrame, default=None
        The ratings, one per row. If None, ``item``, ``annotator`` and
        ``score`` are array-likes of equal length instead of column names.
    item, annotator, score : str or array-like, default='item', 'annotator', \
'score'
        Column names in ``data``, or the values themselves if ``data`` is None.
        Labels may be strings or integers; scores must be finite numbers.
    duplicates : {'raise', 'mean'}, default='raise'
        What to do when an annotator rated the same item more than once:
        raise a ValueError naming an example, or average the ratings.
    sparse : bool, default=True
        Return a CSR matrix (True) or a DataFrame with NaN for "not rated"
        (False). The CSR matrix is built from the ratings directly, with no
        dense intermediate, so its memory grows with the number of ratings.

        .. versionchanged:: 0.6
           ``sparse='auto'``, deprecated in 0.2, is removed.
    annotators : array-like of shape (n_annotators,), default=None
        The column labels, in order: for example the ``annotators`` of the
        training :class:`RatingMatrix`, or an estimator's
        ``feature_names_in_``. Use it to build a matrix of new ratings that
        an estimator fitted on the training matrix can ``transform`` or
        ``score``; annotators who did not rate anything get an empty column.
        Labels must be unique and not missing. If None, the columns are the
        annotators present in the ratings, sorted.
    unknown_annotators : {'raise', 'drop'}, default='raise'
        What to do with ratings by an annotator not in ``annotators``: raise
        a ValueError naming an example, or drop them with a UserWarning
        saying how many were dropped. Ignored if ``annotators`` is None.

    Returns
    -------
    matrix : RatingMatrix
        Named tuple ``(X, items, annotators)``.

    Raises
    ------
    ValueError
        For a missing column, an empty table, a missing label, a missing or
        non-numeric or infinite score, (with ``duplicates='raise'``) a
        repeated (item, annotator) pair, invalid ``annotators`` labels, or
        (with ``unknown_annotators='raise'``) a rating by an annotator not in
        ``annotators``.

    See Also
    --------
    consensus_frame : The fitted consensus per item, keyed by item label.
    annotator_frame : The fitted reliability per annotator, keyed by label.

    Examples
    --------
    >>> import pandas as pd
    >>> from skem import AnnotatorEM, long_to_matrix
    >>> ratings = pd.DataFrame({"item": list("aaabbbcccdd"),
    ...                         "annotator": ["ann", "bob", "cat"] * 3 + ["ann", "bob"],
    ...                         "score": [4.0, 4.2, 1.0, 2.0, 2.1, 5.0, 3.0, 3.1, 1.2,
    ...                                   4.5, 4.4]})
    >>> X, items, annotators = long_to_matrix(ratings, sparse=False)
    >>> X
    annotator  ann  bob  cat
    item
    a          4.0  4.2  1.0
    b          2.0  2.1  5.0
    c          3.0  3.1  1.2
    d          4.5  4.4  NaN

    By default the matrix is sparse, which the estimators accept as well:

    >>> train = long_to_matrix(ratings)
    >>> train.X.format, train.X.shape, train.X.nnz
    ('csr', (4, 3), 11)
    >>> em = AnnotatorEM(score_range=(1, 5)).fit(train.X)
    >>> em.weights_.round(2)
    array([1., 1., 0.])

    New ratings need the training annotators as columns, in the same order,
    to be transformed; here ``cat``, flagged as unreliable, does not count:

    >>> new = pd.DataFrame({"item": ["e", "e", "f"], "annotator": ["cat", "bob", "ann"],
    ...                     "score": [5.0, 2.0, 4.0]})
    >>> test = long_to_matrix(new, annotators=train.annotators)
    >>> test.items, test.annotators
    (array(['e', 'f'], dtype=object), array(['ann', 'bob', 'cat'], dtype=object))
    >>> em.transform(test.X).ravel().round(2)
    array([2., 4.])
    """
    pd = _import_pandas()
    if duplicates not in ("raise", "mean"):
        raise ValueError(f"duplicates must be 'raise' or 'mean'; got {duplicates!r}.")
    if sparse not in (True, False):
        raise ValueError(
            f"sparse must be True (a CSR matrix) or False (a DataFrame); got "
            f"{sparse!r}."
        )
    if unknown_annotators not in ("raise", "drop"):
        raise ValueError(
            f"unknown_annotators must be 'raise' or 'drop'; got {unknown_annotators!r}."
        )
    names = (
        (item, annotator, score) if data is not None else ("item", "annotator", "score")
    )
    item_values, annotator_values, score_values = _columns(
        pd, data, item, annotator, score
    )

    if len(score_values) == 0:
        raise ValueError("The ratings table is empty: there is no rating to fit.")
    for label_name, values in zip(
        names[:2], (item_values, annotator_values), strict=True
    ):
        missing = pd.isna(values)
        if missing.any():
            raise ValueError(
                f"Column {label_name!r} has a missing label in row "
                f"{int(np.flatnonzero(missing)[0])}."
            )
    scores = _numeric_scores(pd, score_values, names[2])

    rows, item_labels = _factorize(pd, item_values, names[0])
    if annotators is None:
        cols, annotator_labels = _factorize(pd, annotator_values, names[1])
    else:
        annotator_labels = _check_annotator_labels(pd, annotators)
        cols = pd.Index(annotator_labels).get_indexer(annotator_values)
        unknown = cols < 0
        if unknown.any():
            rows, cols, scores = _drop_unknown(
                pd,
                unknown,
                rows,
                cols,
                scores,
                annotator_values,
                unknown_annotators,
            )
    rows, cols = rows.astype(np.intp), cols.astype(np.intp)
    shape = (len(item_labels), len(annotator_labels))

    rows, cols, scores = _resolve_duplicates(
        rows, cols, scores, shape[1], duplicates, item_labels, annotator_labels
    )
    if sparse:
        X = sp.csr_matrix((scores, (rows, cols)), shape=shape)
    else:
        values = np.full(shape, np.nan)
        values[rows, cols] = scores
        X = pd.DataFrame(
            values,
            index=pd.Index(item_labels, name=names[0]),
            columns=pd.Index(annotator_labels, name=names[1]),
        )
    return RatingMatrix(X, item_labels, annotator_labels)


def _import_pandas():
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Long-format ratings need pandas: pip install pandas."
        ) from error
    return pandas


def _columns(pd, data, item, annotator, score):
    if data is None:
        values = [_as_labels(item), _as_labels(annotator), np.asarray(score)]
        lengths = {len(v) for v in values}
        if len(lengths) != 1:
            raise ValueError(
                "item, annotator and score must have the same length; got "
                f"{[len(v) for v in values]}."
            )
        return values
    if not isinstance(data, pd.DataFrame):
        package = type(data).__module__.split(".")[0]
        kind = type(data).__name__
        raise ValueError(
            "data must be a pandas DataFrame of long-format ratings, one row a "
            f"rating; got {kind if package == 'builtins' else f'{package}.{kind}'}"
            ". For a Dask DataFrame, use "
            "skem.dask; for a dict, pandas.DataFrame(data)."
        )
    missing = [name for name in (item, annotator, score) if name not in data.columns]
    if missing:
        raise ValueError(
            f"The ratings table has {no_columns(missing)}; its "
            f"columns are {', '.join(map(repr, map(str, data.columns)))}. Name "
            "the columns with item=, annotator= and score="
            f"{spaced_name_hint(missing, data.columns)}."
        )
    names = list(data.columns)
    repeated = [name for name in (item, annotator, score) if names.count(name) > 1]
    if repeated:
        raise ValueError(
            f"The ratings table has the column {repeated[0]!r} more than once; "
            "give each column a name of its own."
        )
    return [data[name].to_numpy() for name in (item, annotator, score)]


def _as_labels(values):
    """A 1-D array of labels, each as given.

    ``np.asarray([7, "7"])`` is ``['7', '7']``: NumPy gives a list of mixed
    types one type, which would make the annotators 7 and '7' one (or
    ``2**53`` and ``2**53 + 1`` as floats, or ``True`` the number 1). A list
    of mixed types stays a list of objects instead, compared as pandas
    compares them.

    Parameters
    ----------
    values : array-like

    Returns
    -------
    labels : ndarray
    """
    labels = np.asarray(values)
    if isinstance(values, list | tuple) and labels.ndim == 1 and labels.dtype != object:
        types = {type(value) for value in values}
        # Mixed types, or integers too large for int64 and uint64 made floats.
        coerced = len(types) > 1 or (types == {int} and labels.dtype.kind == "f")
    else:
        coerced = False
    if coerced:
        labels = np.empty(len(values), dtype=object)
        labels[:] = list(values)
    return labels


def _factorize(pd, values, name):
    """Codes of a label column and its labels, in their sorted order.

    Raises
    ------
    ValueError
        If the labels mix types that have no order, such as bytes and
        numbers.
    """
    try:
        codes, labels = pd.factorize(values, sort=True)
    except TypeError as error:
        raise ValueError(
            f"Column {name!r} mixes labels that cannot be put in order ({error}); "
            "give its labels one type, for example text."
        ) from None
    return codes, np.asarray(labels)


def _numeric_scores(pd, values, name):
    numbers = _coerced_numbers(pd.Series(values))
    _check_real(numbers, name)
    scores = numbers.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        remedy = ""
        if pd.isna(pd.Series(values)).any():
            remedy = (
                " A rating that is missing is a row to leave out, for example "
                f"with df.dropna(subset=[{name!r}])."
            )
        raise ValueError(
            f"Column {name!r} must hold finite numbers; row {row} has "
            f"{_shown(values[row])} ({int(bad.sum())} such row(s) in all).{remedy}"
        )
    return scores


def _check_real(numbers, name):
    """Refuse a column of complex numbers, which a cast to float would cut.

    Parameters
    ----------
    numbers : pandas.Series
        The column's numbers (:func:`_coerced_numbers`).
    name : str
        The column's name, for the message.

    Raises
    ------
    ValueError
        If the numbers are complex, naming one with an imaginary part.
    """
    if numbers.dtype.kind == "c":
        complex_values = numbers.to_numpy()
        imaginary = np.flatnonzero(complex_values.imag != 0)
        example = complex_values[imaginary[0] if imaginary.size else 0]
        raise ValueError(
            f"Column {name!r} must hold real numbers; it holds complex ones, "
            f"such as {complex(example)!r}."
        )


def _shown(value):
    """``repr`` of a label or a score for a message, as the user wrote it.

    NumPy scalars show as Python ones (``nan``, ``1``, not
    ``np.float64(nan)``); a long one is :func:`~skem._io.words.clipped`,
    with its length.
    """
    if isinstance(value, np.generic):
        value = value.item()
    return clipped(repr(value), with_length=True)


def _coerced_numbers(values):
    """``pd.to_numeric(values, errors="coerce")``, overflows included.

    Parameters
    ----------
    values : pandas.Series

    Returns
    -------
    numbers : pandas.Series
        NaN where a value is no number (every value of a column of dates or
        durations), and where it is a Python int too
        large for a float (beyond about 1.8e308), which pandas would raise
        an OverflowError for instead of naming the value.
    """
    import pandas as pd

    if values.dtype.kind in ("m", "M"):
        # Dates and durations are no scores: to_numeric would give their
        # ticks, in whatever unit they happen to be stored.
        return pd.Series(np.nan, index=values.index)
    try:
        return pd.to_numeric(values, errors="coerce")
    except OverflowError:
        return pd.to_numeric(
            values.map(lambda value: np.nan if _overflows(value) else value),
            errors="coerce",
        )


def _overflows(value):
    """Whether ``float(value)`` overflows."""
    try:
        float(value)
    except OverflowError:
        return True
    except (TypeError, ValueError):
        return False
    return False


def _resolve_duplicates(rows, cols, scores, n_cols, duplicates, items, annotators):
    key = rows.astype(np.int64) * n_cols + cols
    order = np.argsort(key, kind="stable")
    repeated = key[order][1:] == key[order][:-1]
    if not repeated.any():
        return rows, cols, scores
    if duplicates == "raise":
        first = order[1:][repeated][0]
        # Slicing then tolist() gives plain Python labels, not numpy scalars.
        annotator = annotators[cols[first] : cols[first] + 1].tolist()[0]
        item = items[rows[first] : rows[first] + 1].tolist()[0]
        raise ValueError(
            f"Annotator {annotator!r} rated item {item!r} more than once "
            f"({int(repeated.sum())} repeated pair(s) in all). Remove the repeats, "
            "or average them with duplicates='mean' (skem fit: --duplicates mean)."
        )
    unique, inverse = np.unique(key, return_inverse=True)
    counts = np.bincount(inverse)
    # From one of each pair's scores (whichever an assignment to a repeated
    # index keeps): repeats of one score then average to it exactly (a sum of
    # three 0.7 over 3 is 0.6999999999999998).
    reference = np.empty(unique.size)
    reference[inverse] = scores
    with np.errstate(over="ignore", invalid="ignore"):
        means = reference + np.bincount(inverse, scores - reference[inverse]) / counts
    overflow = ~np.isfinite(means)
    if overflow.any():  # huge scores: each divided first, at a rounding's cost
        means[overflow] = np.bincount(inverse, scores / counts[inverse])[overflow]
    return (unique // n_cols).astype(np.intp), (unique % n_cols).astype(np.intp), means


def _check_annotator_labels(pd, annotators):
    labels = _as_labels(annotators)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(
            "annotators must be a non-empty 1-D array-like of labels; got shape "
            f"{labels.shape}."
        )
    missing = pd.isna(labels)
    if missing.any():
        raise ValueError(
            f"annotators has a missing label at position "
            f"{int(np.flatnonzero(missing)[0])}."
        )
    duplicated = pd.Index(labels).duplicated()
    if duplicated.any():
        label = labels[np.flatnonzero(duplicated)[0] :][:1].tolist()[0]
        raise ValueError(
            f"annotators has the label {label!r} more than once "
            f"({int(duplicated.sum())} repeated label(s) in all); each column "
            "needs its own label."
        )
    return labels


def _drop_unknown(pd, unknown, rows, cols, scores, labels, action):
    unknown_labels = pd.unique(labels[unknown])
    n_ratings, n_annotators = int(unknown.sum()), len(unknown_labels)
    example = unknown_labels[:1].tolist()[0]
    if unknown.all():
        raise ValueError(
            f"None of the {n_ratings} rating(s) is by an annotator in annotators "
            f"(for example {example!r} is not). Check that the labels have the "
            "same type as the training ones (7 is not '7')."
        )
    if action == "raise":
        raise ValueError(
            f"{n_ratings} rating(s) are by {n_annotators} annotator(s) not in "
            f"annotators, for example {example!r}. Remove them, or drop them "
            "with unknown_annotators='drop'."
        )
    keep = ~unknown
    left_unrated = len(np.setdiff1d(rows[unknown], rows[keep]))
    _warn_at_caller(
        f"Dropped {n_ratings} rating(s) by {n_annotators} annotator(s) not in "
        f"annotators (for example {example!r})"
        + (
            f"; {left_unrated} item(s) are left without any rating."
            if left_unrated
            else "."
        ),
        UserWarning,
    )
    return rows[keep], cols[keep], scores[keep]
