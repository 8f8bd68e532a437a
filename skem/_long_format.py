"""Long-format ratings (one row per rating) to matrices and back."""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted


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
        The annotator label of each column, sorted.

    See Also
    --------
    long_to_matrix : Build one from long-format ratings.

    Examples
    --------
    >>> from skem import long_to_matrix
    >>> matrix = long_to_matrix(None, item=["b", "a"], annotator=[7, 7],
    ...                         score=[1.0, 2.0], sparse=True)
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
    sparse="auto",
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
    sparse : {'auto', True, False}, default='auto'
        Return a CSR matrix (True), a DataFrame (False), or a CSR matrix when
        fewer than half of the item x annotator cells are rated ('auto'). The
        sparse matrix is built from the ratings directly, with no dense
        intermediate.

    Returns
    -------
    matrix : RatingMatrix
        Named tuple ``(X, items, annotators)``.

    Raises
    ------
    ValueError
        For a missing column, an empty table, a missing label, a missing or
        non-numeric or infinite score, or (with ``duplicates='raise'``) a
        repeated (item, annotator) pair.

    See Also
    --------
    consensus_frame : The fitted consensus per item, keyed by item label.
    annotator_frame : The fitted reliability per annotator, keyed by label.

    Examples
    --------
    >>> import pandas as pd
    >>> from skem import long_to_matrix
    >>> ratings = pd.DataFrame({"item": ["a", "a", "b", "b", "c"],
    ...                         "annotator": [1, 2, 1, 2, 2],
    ...                         "score": [4.0, 5.0, 2.0, 1.0, 3.0]})
    >>> X, items, annotators = long_to_matrix(ratings, sparse=False)
    >>> X
    annotator    1    2
    item
    a          4.0  5.0
    b          2.0  1.0
    c          NaN  3.0
    """
    pd = _import_pandas()
    if duplicates not in ("raise", "mean"):
        raise ValueError(f"duplicates must be 'raise' or 'mean'; got {duplicates!r}.")
    if sparse not in ("auto", True, False):
        raise ValueError(f"sparse must be 'auto', True or False; got {sparse!r}.")
    names = (
        (item, annotator, score) if data is not None else ("item", "annotator", "score")
    )
    item_values, annotator_values, score_values = _columns(data, item, annotator, score)

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

    rows, item_labels = pd.factorize(item_values, sort=True)
    cols, annotator_labels = pd.factorize(annotator_values, sort=True)
    rows, cols = rows.astype(np.intp), cols.astype(np.intp)
    item_labels, annotator_labels = (
        np.asarray(item_labels),
        np.asarray(annotator_labels),
    )
    shape = (len(item_labels), len(annotator_labels))

    rows, cols, scores = _resolve_duplicates(
        rows, cols, scores, shape[1], duplicates, item_labels, annotator_labels
    )
    density = len(scores) / (shape[0] * shape[1])
    if sparse is True or (sparse == "auto" and density < 0.5):
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


def consensus_frame(estimator, items=None, *, level=0.95):
    """Tabulate the fitted consensus of each item, with its uncertainty.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        A fitted estimator.
    items : array-like of shape (n_items,), default=None
        Item labels, for example ``long_to_matrix(...).items``. Defaults to
        the row numbers.
    level : float, default=0.95
        Coverage of the confidence interval.

    Returns
    -------
    table : pandas.DataFrame
        One row per item with columns ``item``, ``consensus`` (``mu_``),
        ``std_error`` (``mu_std_error_``), ``ci_low`` and ``ci_high``.

    See Also
    --------
    long_to_matrix : Build the matrix and the labels from long format.
    annotator_frame : The reliability of each annotator.

    Examples
    --------
    >>> import numpy as np
    >>> from skem import AnnotatorEM, consensus_frame
    >>> X = np.array([[4.0, 4.2, 1.0], [2.0, 2.1, 5.0], [3.0, 3.1, 2.0]])
    >>> em = AnnotatorEM(score_range=(1, 5)).fit(X)
    >>> consensus_frame(em, ["x", "y", "z"])[["item", "consensus"]].round(2)
      item  consensus
    0    x       4.10
    1    y       2.05
    2    z       3.05
    """
    pd = _import_pandas()
    check_is_fitted(estimator)
    labels = _labels(items, estimator.mu_.shape[0], "items")
    interval = estimator.mu_interval(level)
    return pd.DataFrame(
        {
            "item": labels,
            "consensus": estimator.mu_,
            "std_error": estimator.mu_std_error_,
            "ci_low": interval[:, 0],
            "ci_high": interval[:, 1],
        }
    )


def annotator_frame(estimator, annotators=None):
    """Tabulate the fitted reliability of each annotator.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        A fitted estimator.
    annotators : array-like of shape (n_annotators,), default=None
        Annotator labels, for example ``long_to_matrix(...).annotators``.
        Defaults to ``feature_names_in_`` if the estimator has it, else the
        column numbers.

    Returns
    -------
    table : pandas.DataFrame
        One row per annotator with columns ``annotator``, ``weight``
        (``weights_``: the posterior probability of being good for
        :class:`AnnotatorEM`, the 0/1 flag for :class:`HardAnnotatorEM`),
        ``good`` (``weight >= 0.5``) and ``log_posterior``
        (``log_posterior_``, the log of the posterior probability of being
        good, which still ranks the annotators whose weights round to 0 or 1).

    See Also
    --------
    consensus_frame : The consensus of each item.

    Examples
    --------
    >>> import numpy as np
    >>> from skem import AnnotatorEM, annotator_frame
    >>> X = np.array([[4.0, 4.2, 1.0], [2.0, 2.1, 5.0], [3.0, 3.1, 2.0]])
    >>> em = AnnotatorEM(score_range=(1, 5)).fit(X)
    >>> annotator_frame(em, ["ann", "bob", "cat"]).round(4)
      annotator  weight   good  log_posterior
    0       ann  0.9998   True        -0.0002
    1       bob  0.9998   True        -0.0002
    2       cat  0.0000  False     -1931.4579
    """
    pd = _import_pandas()
    check_is_fitted(estimator)
    if annotators is None:
        annotators = getattr(estimator, "feature_names_in_", None)
    labels = _labels(annotators, estimator.weights_.shape[0], "annotators")
    return pd.DataFrame(
        {
            "annotator": labels,
            "weight": estimator.weights_,
            "good": estimator.weights_ >= 0.5,
            "log_posterior": estimator.log_posterior_,
        }
    )


def _import_pandas():
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Long-format ratings need pandas: pip install 'skem[pandas]'."
        ) from error
    return pandas


def _columns(data, item, annotator, score):
    if data is None:
        values = [np.asarray(v) for v in (item, annotator, score)]
        lengths = {len(v) for v in values}
        if len(lengths) != 1:
            raise ValueError(
                "item, annotator and score must have the same length; got "
                f"{[len(v) for v in values]}."
            )
        return values
    missing = [name for name in (item, annotator, score) if name not in data.columns]
    if missing:
        raise ValueError(
            f"The ratings table has no column {', '.join(map(repr, missing))}; its "
            f"columns are {', '.join(map(repr, map(str, data.columns)))}."
        )
    return [data[name].to_numpy() for name in (item, annotator, score)]


def _numeric_scores(pd, values, name):
    scores = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(
        dtype=np.float64
    )
    bad = ~np.isfinite(scores)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Column {name!r} must hold finite numbers; row {row} has "
            f"{values[row]!r} ({int(bad.sum())} such row(s) in all)."
        )
    return scores


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
    means = np.bincount(inverse, scores) / np.bincount(inverse)
    return (unique // n_cols).astype(np.intp), (unique % n_cols).astype(np.intp), means


def _labels(labels, n, what):
    if labels is None:
        return np.arange(n)
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"Expected {n} {what} labels, got shape {labels.shape}.")
    return labels
