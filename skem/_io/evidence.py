"""What the training ratings say about each annotator and item, beyond the fit.

The counts, each annotator's agreement with the consensus and deviation from
it, the ratings far from it, and how the deviations grow with the score: the
evidence behind the verdicts' reasons (:mod:`skem._io.verdicts`), the tables
of :mod:`skem._io.results`, the command's summary and the report page.
"""

import numpy as np
import scipy.sparse as sp

from skem._em.missing import _missing_as_nan
from skem._em.validation import _check_rating_matrix
from skem._io.verdicts import FAR_SIGMAS
from skem._model.random import _estimate_group_ends


class _Evidence:
    """What the training ratings say about each annotator and item.

    Attributes
    ----------
    per_item, per_annotator : ndarray of int
        Number of ratings of each item, and by each annotator.
    r : ndarray of float or None
        Pearson correlation of each annotator's ratings with ``mu_`` on the
        items rated; NaN with fewer than 3 such ratings or no variance.
    deviation : ndarray of float or None
        Root mean square of each annotator's deviations from ``mu_ +
        bias_`` on the items rated; NaN without any.
    far : ndarray of int or None
        Number of each annotator's ratings more than ``FAR_SIGMAS`` of its
        ``sigma_`` from the fitted location plus its bias: under the normal
        error a fraction ``2 * norm.sf(FAR_SIGMAS)`` of a good annotator's.
    growth : tuple of (float, float) or None
        How the deviations from the consensus grow with it, on positive
        scores fitted on the linear scale: the power and its standard error
        (:func:`_estimate_error_growth`); NaN where not measured.
    same : ndarray of bool or None
        Whether the annotator gave one score to each of its at least
        ``MIN_SAME_RATINGS`` ratings, on items whose consensus spans at
        least ``SAME_SPAN`` of the score range (:func:`_same_score_raters`).

    With ``score_scale='log'`` ``r``, ``deviation`` and ``far`` are those of
    the logarithms of the ratings, the consensus and the location.

    ``r``, ``deviation``, ``far``, ``growth`` and ``same`` are None when
    only the counts are known (:meth:`of_counts`).
    """

    def __init__(
        self, per_item, per_annotator, r, deviation, far, growth=None, same=None
    ):
        self.per_item = per_item
        self.per_annotator = per_annotator
        self.r = r
        self.deviation = deviation
        self.far = far
        self.growth = growth
        self.same = same

    @classmethod
    def of_counts(cls, per_item, per_annotator):
        """The evidence of a fit that counted the ratings but does not hold them.

        A Dask fit counts each item's and each annotator's ratings as it
        fits; what the ratings say beyond their number needs them in memory.
        """
        return cls(per_item, per_annotator, None, None, None)


def _annotator_evidence(estimator, X):
    """The :class:`_Evidence` of the training ratings ``X``, or None if X is None."""
    if X is None:
        return None
    rows, cols, scores = _observed(X, estimator.mu_.shape[0], estimator.weights_)
    n_items, n_annotators = estimator.mu_.shape[0], estimator.weights_.shape[0]
    per_item = np.bincount(rows, minlength=n_items)
    per_annotator = np.bincount(cols, minlength=n_annotators)
    consensus, location = estimator.mu_[rows], estimator.location_[rows]
    bias = np.asarray(estimator.bias_)[cols]
    growth = (np.nan, np.nan)
    lowest, highest = scores.min(initial=np.inf), scores.max(initial=-np.inf)
    if not estimator._score_scale.log and 0 < lowest and highest >= SPAN * lowest:
        # An item with a rating at the lowest or the highest of all may have
        # met a floor or a ceiling of the scale; one without was not cut.
        at_end = (scores == lowest) | (scores == highest)
        growth = _estimate_error_growth(
            rows,
            scores - consensus - bias,
            estimator._consensus_weights()[0][cols],
            estimator.mu_,
            np.bincount(rows, at_end, n_items) > 0,
        )
    if estimator._score_scale.log:
        # Where the model's errors are, and bias_ and sigma_ too.
        scores, consensus, location = (
            np.log(scores),
            np.log(consensus),
            np.log(location),
        )
    sigma = np.broadcast_to(estimator.sigma_, (n_annotators,))[cols]
    with np.errstate(invalid="ignore"):
        far = np.abs(scores - location - bias) > FAR_SIGMAS * sigma
    low, high = estimator.score_range_
    width = np.log(high / low) if estimator._score_scale.log else high - low
    return _Evidence(
        per_item,
        per_annotator,
        _correlations(cols, scores, consensus, n_annotators),
        _root_mean_squares(cols, scores - consensus - bias, n_annotators),
        np.bincount(cols, far, n_annotators).astype(np.int64),
        growth,
        _same_score_raters(cols, scores, consensus, n_annotators, width),
    )


# An annotator who gives one score to this many ratings or more, on items
# whose consensus spans at least this share of the score range, is named:
# a careful rater's scores follow the items.
MIN_SAME_RATINGS = 5
SAME_SPAN = 0.25


def _same_score_raters(group, scores, consensus, n_groups, width):
    """Whether each group's scores are one score, on items the consensus tells apart.

    A rater who gives every item the same score (a "straightliner") is not
    random either, and a model of careful and random raters may count it as
    careful: its residuals are the consensus' own spread, no larger than a
    noisy honest rater's.

    Parameters
    ----------
    group : ndarray of shape (n_ratings,)
        Each rating's annotator.
    scores, consensus : ndarray of shape (n_ratings,)
        Each rating, and its item's consensus (NaN where unweighted).
    n_groups : int
    width : float
        The score range's width, in the units of ``scores``.

    Returns
    -------
    same : ndarray of shape (n_groups,) of bool
        True where the group has at least ``MIN_SAME_RATINGS`` ratings, all
        equal, and the finite consensus of its items spans at least
        ``SAME_SPAN * width``.
    """

    def spans(values):
        keep = np.isfinite(values)
        lowest, highest = _estimate_group_ends(group[keep], values[keep], n_groups)
        with np.errstate(invalid="ignore"):
            return highest - lowest

    count = np.bincount(group, minlength=n_groups)
    with np.errstate(invalid="ignore"):
        return (
            (count >= MIN_SAME_RATINGS)
            & (spans(scores) == 0)
            & (spans(consensus) >= SAME_SPAN * width)
        )


# The items, each with two or more ratings that count in the consensus and
# some spread, that the power of the errors' growth needs.
MIN_GROWTH_ITEMS = 10
# ... and ratings whose highest is at least this many times their lowest:
# more than a rating scale's ends (1..5, 1..10), whose floor makes the spread
# grow away from it whatever the errors are; counts, prices and durations
# span orders of magnitude.
SPAN = 20.0


def _estimate_error_growth(item, residuals, weights, consensus, cut=None):
    """The power with which the ratings' deviations grow with the consensus.

    The slope of ``log d_i`` on ``log mu_i`` over the items (least squares),
    with ``d_i`` the root mean square of item ``i``'s residuals weighted by
    their raters' consensus weights: about 0 for errors of one size at every
    score, 1 for errors in proportion to it (guessed counts), whose
    logarithms have errors of one size (Bartlett's rule for a transform that
    makes the spread constant). Items enter with at least two ratings of
    weight 1/2 or more, a positive consensus and a positive ``d_i``.

    Parameters
    ----------
    item : ndarray of shape (n_ratings,)
        Each rating's item.
    residuals : ndarray of shape (n_ratings,)
        Each rating minus its item's consensus and its rater's bias.
    weights : ndarray of shape (n_ratings,)
        The consensus weight of each rating's rater.
    consensus : ndarray of shape (n_items,)
    cut : ndarray of shape (n_items,) of bool, default=None
        Items to leave out: those whose spread an end of the scale may cut
        off. Near a floor the spread grows away from it whatever the errors
        are, as relative errors would make it grow.

    Returns
    -------
    power, std_error : float
        NaN both with fewer than ``MIN_GROWTH_ITEMS`` such items, or no
        spread in their consensus.
    """
    n_items = consensus.shape[0]
    counted = np.bincount(item, weights >= 0.5, minlength=n_items)
    total = np.bincount(item, weights, minlength=n_items)
    # In units of the largest residual, so that no square overflows (a common
    # factor of the spreads leaves the slope as it is); an item whose
    # residuals are all below 1e-154 of it drops out, its squares 0.
    largest = np.max(np.abs(residuals), initial=0.0)
    if largest > 0:
        residuals = residuals / largest
    with np.errstate(invalid="ignore", divide="ignore"):
        squares = np.bincount(item, weights * residuals**2, minlength=n_items)
        spread = np.sqrt(squares / total)
        usable = (counted >= 2) & (spread > 0) & (consensus > 0)
    if cut is not None:
        usable &= ~cut
    if np.count_nonzero(usable) < MIN_GROWTH_ITEMS:
        return np.nan, np.nan
    x, y = np.log(consensus[usable]), np.log(spread[usable])
    x = x - x.mean()
    spread_of_x = float(x @ x)
    if not spread_of_x > 0:
        return np.nan, np.nan
    power = float(x @ y) / spread_of_x
    left = y - y.mean() - power * x
    std_error = float(np.sqrt((left @ left) / (x.size - 2) / spread_of_x))
    return power, std_error


def _root_mean_squares(group, x, n_groups):
    """Root mean square of the finite ``x`` within each group; NaN without any.

    Squared in units of the largest ``|x|``, so that neither scores of 1e200
    overflow nor scores of 1e-200 vanish.
    """
    keep = np.isfinite(x)
    group, x = group[keep], x[keep]
    count = np.bincount(group, minlength=n_groups)
    scale = np.max(np.abs(x), initial=0.0)
    if scale > 0:
        x = x / scale
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.bincount(group, x * x, n_groups) / count) * (scale or 1.0)


def _correlations(group, x, y, n_groups):
    """Pearson correlation of ``x`` and ``y`` within each group, NaN-safe.

    Pairs with a non-finite ``y`` (an unrated or unweighted item's consensus)
    are left out; a group with fewer than 3 pairs or without variance gets NaN.
    """
    keep = np.isfinite(y)
    group, x, y = group[keep], x[keep], y[keep]
    # r does not change with the units; in units of the largest value the
    # squares neither overflow (scores of 1e160) nor sink below the noise floor.
    scale = max(np.max(np.abs(x), initial=0.0), np.max(np.abs(y), initial=0.0))
    if np.isfinite(scale) and scale > 0:
        x, y = x / scale, y / scale
    count = np.bincount(group, minlength=n_groups).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = x - (np.bincount(group, x, n_groups) / count)[group]
        dy = y - (np.bincount(group, y, n_groups) / count)[group]
        sxx = np.bincount(group, dx * dx, n_groups)
        syy = np.bincount(group, dy * dy, n_groups)
        sxy = np.bincount(group, dx * dy, n_groups)
        r = sxy / np.sqrt(sxx * syy)
    # Variance that is only rounding noise counts as none.
    tiny = 1e-12 * np.maximum(1.0, np.bincount(group, x * x + y * y, n_groups))
    r[(count < 3) | (sxx <= tiny) | (syy <= tiny)] = np.nan
    return np.clip(r, -1.0, 1.0)


def _observed(X, n_items, weights):
    """Rows, columns and scores of the observed ratings of X, checked against a fit.

    "Not rated" is what it is to ``fit``: NaN, pandas' missing markers, an
    absent entry of a sparse matrix, or a NaN stored in one. X is never
    modified.
    """
    _check_rating_matrix(X)
    n_annotators = weights.shape[0]
    if sp.issparse(X):
        coo = sp.coo_matrix(X)
        shape = coo.shape
        rows, cols, scores = coo.row, coo.col, coo.data.astype(np.float64)
        rated = ~np.isnan(scores)
        rows, cols, scores = rows[rated], cols[rated], scores[rated]
    else:
        X = _missing_as_nan(X)
        if hasattr(X, "to_numpy"):
            values = X.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            try:
                values = np.asarray(X, dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"X must hold numbers, NaN for 'not rated': {error}"
                ) from None
        shape = values.shape
        if values.ndim == 2:
            rows, cols = np.nonzero(~np.isnan(values))
            scores = values[rows, cols]
    if len(shape) != 2 or tuple(shape) != (n_items, n_annotators):
        raise ValueError(
            f"X must be the training ratings, of shape ({n_items}, "
            f"{n_annotators}) like the fit; got shape {tuple(shape)}."
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("X has an infinite rating; use NaN for 'not rated'.")
    return rows.astype(np.intp), cols.astype(np.intp), scores
