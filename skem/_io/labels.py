"""The labels of a fit's items and annotators, given, read from the ratings or numbered.

The one place that checks labels against a fit, for the tables of
:mod:`skem._io.results`, the report page and the plots.
"""

import numpy as np

from skem._em.validation import _is_frame, _is_rating_matrix
from skem._io.long_format import _as_labels


def _unpack_rating_matrix(labels, X, which):
    """Labels and ratings from a :class:`skem.RatingMatrix`, as the labels or X.

    ``consensus_frame(em, train)`` and ``consensus_frame(em, X=train)`` read
    ``train.items`` and ``train.X`` (labels or ratings given too take
    precedence); other labels and ratings pass through.

    Parameters
    ----------
    labels : array-like or RatingMatrix or None
    X : array-like or None
    which : {'items', 'annotators'}

    Returns
    -------
    labels, X
    """
    if _is_rating_matrix(X):
        return (getattr(X, which) if labels is None else labels), X.X
    if not _is_rating_matrix(labels):
        return labels, X
    return getattr(labels, which), labels.X if X is None else X


def _item_labels(estimator, items, X=None):
    """The item labels: ``items``, else the index of a DataFrame ``X``, else 0..n-1."""
    if items is None and _is_frame(X):
        items = X.index
    return _labels(
        items,
        estimator.mu_.shape[0],
        "items",
        other=(estimator.weights_.shape[0], "annotators"),
    )


def _annotator_labels(estimator, annotators, X=None):
    """The annotator labels: ``annotators``, else the fit's, else the columns of
    a DataFrame ``X`` (integer column names give no ``feature_names_in_``),
    else 0..n-1."""
    if annotators is None:
        # annotators_: the labels of a Dask estimator.
        annotators = getattr(
            estimator, "feature_names_in_", getattr(estimator, "annotators_", None)
        )
    if annotators is None and _is_frame(X):
        annotators = X.columns
    n_items = estimator.mu_.shape[0] if hasattr(estimator, "mu_") else None
    return _labels(
        annotators, estimator.weights_.shape[0], "annotators", other=(n_items, "items")
    )


def _labels(labels, n, what, other=(None, None)):
    """``labels`` as a 1-D array of ``n``, or 0..n-1 if None.

    Parameters
    ----------
    labels : array-like or None
    n : int
    what : {'items', 'annotators'}
    other : tuple of (int or None, str)
        The number of the other kind of labels and its name: labels of that
        length are named as a likely mix-up.

    Raises
    ------
    ValueError
        If the labels are not one per row (items) or column (annotators) of
        the fit, with what they look like instead.
    """
    if labels is None:
        return np.arange(n)
    labels = _as_labels(labels)
    if labels.shape == (n,):
        return labels
    if labels.ndim != 1:
        hint = (
            f"got a table of shape {labels.shape}. Pass the labels, such as "
            f"long_to_matrix(...).{what}, or the RatingMatrix itself (the "
            "ratings go in X=)."
        )
    elif labels.shape[0] == other[0]:
        hint = (
            f"got {labels.shape[0]}, as many as the {other[1]}: are these the "
            f"{other[1]}' labels?"
        )
    else:
        hint = f"got {labels.shape[0]}."
    raise ValueError(
        f"Expected {n} {what[:-1]} labels, one per {what[:-1]} of the fit; {hint}"
    )
