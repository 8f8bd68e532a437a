"""The uncertainty of the fitted consensus."""

import numbers

import numpy as np
from scipy.special import ndtri

from skem._model.likelihoods import _chunks


def _compute_std_error_sums(ratings, weights, gold=None, fitted=None):
    """The sums behind the scale correction of the std errors.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    weights : ndarray of shape (n_annotators,)
        Weight of each annotator, in [0, 1].
    gold : ndarray of shape (n_items,), default=None
        Known consensus of some items, NaN elsewhere.
    fitted : tuple of ndarray, default=None
        ``(consensus, bias, sigma)``: each item's consensus and each
        annotator's bias and sigma, to sum the squared standardized
        residuals about the consensus; None to leave them out.

    Returns
    -------
    sums : dict
        ``weight_total``, ``sum_i W_i``, and ``used_up``, ``sum_i V_i / W_i``
        over the estimated items (see :func:`_compute_consensus_std_error`);
        with ``fitted``, ``squared_residuals``, ``sum_ia w_a ((s_ia - b_a -
        mu_i) / sigma_a)**2``.
    """
    rating_weights = weights[ratings.annotator]
    weight_sums = np.bincount(ratings.item, rating_weights, minlength=ratings.n_items)
    square_sums = np.bincount(
        ratings.item, rating_weights**2, minlength=ratings.n_items
    )
    estimated = weight_sums > 0
    if gold is not None:
        estimated &= np.isnan(gold)
    sums = {
        "weight_total": float(weight_sums.sum()),
        "used_up": float((square_sums[estimated] / weight_sums[estimated]).sum()),
    }
    if fitted is not None:
        consensus, bias, sigma = fitted
        total = 0.0
        # A chunk at a time: arrays of every rating's residual would add to
        # the peak memory of a large fit.
        for chunk in _chunks(ratings.n_ratings):
            annotator = ratings.annotator[chunk]
            residuals = ratings.score[chunk] - bias[annotator]
            residuals -= consensus[ratings.item[chunk]]
            residuals /= sigma[annotator]
            chunk_weights = rating_weights[chunk]
            # An item whose raters all have weight 0 has no consensus (NaN).
            residuals[chunk_weights == 0] = 0.0
            total += float(chunk_weights @ (residuals * residuals))
        sums["squared_residuals"] = total
    return sums


def _estimate_std_error_correction(weight_total, used_up, squared_residuals=None):
    """The factor ``c`` of the std errors: degrees of freedom, and dispersion.

    ``c**2 = S / sum_i (W_i - V_i / W_i)``, with ``S = sum_ia w_a ((s_ia -
    b_a - mu_i) / sigma_a)**2`` the squared standardized residuals about the
    consensus (see :func:`_compute_consensus_std_error`): the ratings'
    observed spread in units of the model's sigma, each item's mean having
    used up ``V_i / W_i`` of its weight. Where the ratings do not follow a
    plain normal, their spread is not sigma's: on a coarse scale of levels
    a rating varies by more than the latent sigma, and within a bounded range
    by less. Without ``S`` (a Student-t error, whose consensus is not a
    weighted mean), or where ``S`` is 0 (every item's ratings agree), ``S``
    is taken as ``sum_i W_i``, its value when the model's sigma is the
    ratings' spread. 1 where no weight is left for a residual.
    """
    free = weight_total - used_up
    if not free > 0:
        return 1.0
    if squared_residuals is None or not squared_residuals > 0:
        squared_residuals = weight_total
    return float(np.sqrt(squared_residuals / free))


def _compute_consensus_std_error(ratings, weights, sigma, gold=None, correction=None):
    """Standard error of each item's consensus.

    ``c / sqrt(P_i)`` with ``P_i = sum_a w_a / sigma_a**2`` over the
    annotators who rated item ``i``: the error of a precision-weighted mean of
    good ratings that counts annotator ``a`` as ``w_a`` of a good rating.
    ``c`` scales sigma to the ratings' observed spread, corrected for the
    degrees of freedom that the item means use up:
    ``c**2 = sum_ia w_a z_ia**2 / sum_i (W_i - V_i / W_i)`` with ``z_ia``
    the standardized residual about the consensus, ``W_i = sum_a w_a`` and
    ``V_i = sum_a w_a**2``, since ``E[sum_a w_a (s_ia - mu_i)**2] =
    sigma**2 (W_i - V_i / W_i)`` for an estimated ``mu_i`` and one shared
    sigma (gold items lose nothing); see
    :func:`_estimate_std_error_correction`. A maximum-likelihood sigma alone
    makes intervals too narrow when items have few raters, and the latent
    sigma of a coarse scale of levels is narrower than its ratings' spread.

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
    correction : float, default=None
        ``c``, when the items are spread over several blocks (from the sums
        of :func:`_compute_std_error_sums` over all of them); computed from
        ``ratings`` if None.

    Returns
    -------
    std_error : ndarray of shape (n_items,)
        NaN for items without any rating (and no gold), ``inf`` for items
        whose raters all have zero weight.
    """
    if correction is None:
        correction = _estimate_std_error_correction(
            **_compute_std_error_sums(ratings, weights, gold)
        )
    precisions = np.bincount(
        ratings.item,
        weights[ratings.annotator] / sigma[ratings.annotator] ** 2,
        minlength=ratings.n_items,
    )
    with np.errstate(divide="ignore"):
        std_error = correction / np.sqrt(precisions)
    std_error[ratings.n_per_item == 0] = np.nan
    if gold is not None:
        std_error[~np.isnan(gold)] = 0.0
    return std_error


def _compute_consensus_interval(consensus, std_error, level, ends=None, log=False):
    """The normal confidence interval of each item's consensus.

    ``consensus -/+ z * std_error`` with ``z`` the ``(1 + level) / 2``
    quantile of the standard normal, clipped to ``ends``: a bounded form's
    consensus cannot leave its scale, so neither does its interval. With
    ``log``, on the consensus's logarithm, mapped back: ``consensus *
    exp(-/+ z * std_error)``.

    Parameters
    ----------
    consensus, std_error : array-like of shape (n_items,)
        In score units; with ``log``, the std error is of the consensus's
        natural logarithm.
    level : float
        Coverage of the interval, in (0, 1).
    ends : tuple of (float, float), default=None
        The ends of the scale (outer levels, or the score range) for the
        bounded forms; None for the plain normal forms, whose consensus may
        leave the scale.
    log : bool, default=False
        Whether the fit is on the logarithms of the scores
        (``score_scale='log'``).

    Returns
    -------
    low, high : ndarray of shape (n_items,)

    Raises
    ------
    ValueError
        If ``level`` is not a number in (0, 1).
    """
    if isinstance(level, bool) or not isinstance(level, numbers.Real):
        raise ValueError(f"level must be a number in (0, 1); got {level!r}.")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1); got {level!r}.")
    consensus = np.asarray(consensus, dtype=np.float64)
    half_width = float(ndtri(0.5 + level / 2)) * np.asarray(std_error, np.float64)
    if log:
        with np.errstate(over="ignore"):  # an unweighted item's error is inf
            low, high = consensus * np.exp(-half_width), consensus * np.exp(half_width)
    else:
        low, high = consensus - half_width, consensus + half_width
    if ends is not None:
        low, high = np.clip(low, *ends), np.clip(high, *ends)
    return low, high
