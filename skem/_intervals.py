"""The uncertainty of the fitted consensus."""

import numpy as np


def _compute_consensus_std_error(ratings, weights, sigma, gold=None):
    """Standard error of each item's consensus.

    ``c / sqrt(P_i)`` with ``P_i = sum_a w_a / sigma_a**2`` over the
    annotators who rated item ``i``: the error of a precision-weighted mean of
    good ratings that counts annotator ``a`` as ``w_a`` of a good rating.
    ``c`` corrects for the degrees of freedom that the item means use up:
    ``c**2 = sum_i W_i / sum_i (W_i - V_i / W_i)`` with ``W_i = sum_a w_a``
    and ``V_i = sum_a w_a**2``, since ``E[sum_a w_a (s_ia - mu_i)**2] =
    sigma**2 (W_i - V_i / W_i)`` for an estimated ``mu_i`` and one shared
    sigma (gold items lose nothing). A maximum-likelihood sigma alone makes
    intervals too narrow when items have few raters.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    weights : ndarray of shape (n_annotators,)
        Weight of each annotator, in [0, 1].
    sigma : ndarray of shape (n_annotators,)
        Maximum-likelihood (or a posteriori) standard deviation of each
        annotator's good ratings.
    gold : ndarray of shape (n_items,), default=None
        Known consensus of some items, NaN elsewhere; their error is 0.

    Returns
    -------
    std_error : ndarray of shape (n_items,)
        NaN for items without any rating (and no gold), ``inf`` for items
        whose raters all have zero weight.
    """
    rating_weights = weights[ratings.annotator]
    n_items = ratings.n_items
    weight_sums = np.bincount(ratings.item, rating_weights, minlength=n_items)
    square_sums = np.bincount(ratings.item, rating_weights**2, minlength=n_items)
    precisions = np.bincount(
        ratings.item, rating_weights / sigma[ratings.annotator] ** 2, minlength=n_items
    )
    estimated = weight_sums > 0
    if gold is not None:
        estimated &= np.isnan(gold)
    used_up = (square_sums[estimated] / weight_sums[estimated]).sum()
    total = weight_sums.sum()
    correction = np.sqrt(total / (total - used_up)) if total > used_up else 1.0
    with np.errstate(divide="ignore"):
        std_error = correction / np.sqrt(precisions)
    std_error[ratings.n_per_item == 0] = np.nan
    if gold is not None:
        std_error[~np.isnan(gold)] = 0.0
    return std_error
