"""Pure functions of the good/bad annotator model.

Good annotators rate item ``i`` as ``Normal(mu_i, sigma**2)``, bad annotators as
``Uniform(low, high)``, and an annotator is good with prior probability ``pi``.
Every likelihood here is computed in log space: a product of a few hundred
densities underflows double precision.
"""

import numpy as np

# pi is kept inside [_PI_BOUND, 1 - _PI_BOUND]: at exactly 0 or 1 one of the two
# log-priors is -inf, and EM could never move an annotator back.
_PI_BOUND = 1e-6

# With score_range="auto" and all ratings equal, the range is widened by this
# much on each side so that the uniform density stays finite.
_ZERO_WIDTH_PADDING = 0.5

# min_sigma="auto" is this fraction of the width of the score range; it scales
# with the scores, so the fit is invariant to affine changes of the scale.
_AUTO_MIN_SIGMA_FRACTION = 1e-3

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_TINY = np.finfo(np.float64).tiny


def _estimate_consensus(ratings, weights, log_posterior, gold=None):
    """Weighted mean score of each item: ``sum_a w_a s_ia / sum_a w_a``.

    This is the M-step update of ``mu`` and also the consensus that
    ``transform`` returns.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    weights : ndarray of shape (n_annotators,)
        Weight of each annotator in the mean, in [0, 1].
    log_posterior : ndarray of shape (n_annotators,)
        Log posterior probability that each annotator is good. Used only for
        items whose raters all have a weight that underflows to zero: their
        consensus is the limit of the weighted mean, in which the raters count
        in proportion to ``exp(log_posterior)`` relative to the best of them.
    gold : ndarray of shape (n_items,), default=None
        Known consensus of some items, NaN elsewhere. Known items keep it.

    Returns
    -------
    consensus : ndarray of shape (n_items,)
        NaN exactly for the items without any rating (and without gold).
    """
    rating_weights = weights[ratings.annotator]
    weight_sums = np.bincount(ratings.item, rating_weights, minlength=ratings.n_items)
    weighted_scores = np.bincount(
        ratings.item, rating_weights * ratings.score, minlength=ratings.n_items
    )
    rated = ratings.n_per_item > 0
    consensus = np.full(ratings.n_items, np.nan)
    consensus[rated] = weighted_scores[rated] / np.maximum(weight_sums[rated], _TINY)

    underflow = rated & (weight_sums < _TINY)
    if underflow.any():
        consensus[underflow] = _estimate_relative_consensus(
            ratings, log_posterior, underflow
        )[underflow]
    return _apply_gold(consensus, gold)


def _apply_gold(consensus, gold):
    """Give the gold items their known consensus, in place.

    Parameters
    ----------
    consensus : ndarray of shape (n_items,)
        Estimated consensus; modified in place.
    gold : ndarray of shape (n_items,) or None
        Known consensus of some items, NaN elsewhere.

    Returns
    -------
    consensus : ndarray of shape (n_items,)
        The same array.
    """
    if gold is not None:
        known = ~np.isnan(gold)
        consensus[known] = gold[known]
    return consensus


def _estimate_relative_consensus(ratings, log_posterior, selected_items):
    """Consensus of the selected items, weighting raters by relative posterior.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    log_posterior : ndarray of shape (n_annotators,)
        Log posterior probability that each annotator is good.
    selected_items : ndarray of shape (n_items,), dtype bool
        The items to compute; only their ratings are touched.

    Returns
    -------
    consensus : ndarray of shape (n_items,)
        ``sum_a r_a s_ia / sum_a r_a`` with
        ``r_a = exp(log_posterior_a - max over the item's raters)``, for the
        selected items; NaN elsewhere. Raters whose log posterior is ``-inf``
        throughout an item count equally.
    """
    in_selection = selected_items[ratings.item]
    item = ratings.item[in_selection]
    score = ratings.score[in_selection]
    log_weight = log_posterior[ratings.annotator[in_selection]]

    best = np.full(ratings.n_items, -np.inf)
    np.maximum.at(best, item, log_weight)
    hopeless = np.isneginf(best)
    best[hopeless] = 0.0
    relative = np.exp(log_weight - best[item])
    relative[hopeless[item]] = 1.0

    weight_sums = np.bincount(item, relative, minlength=ratings.n_items)
    weighted_scores = np.bincount(item, relative * score, minlength=ratings.n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        consensus = weighted_scores / weight_sums
    consensus[~selected_items] = np.nan
    return consensus


def _compute_consensus_std_error(ratings, weights, sigma, gold=None):
    """Standard error of each item's consensus.

    ``s / sqrt(W_i)`` with ``W_i = sum_a w_a`` over the annotators who rated
    item ``i``: the error of a weighted mean of good ratings that counts
    annotator ``a`` as ``w_a`` of a good rating. ``s`` is ``sigma`` corrected
    for the degrees of freedom that the item means use up:
    ``s**2 = sigma**2 * sum_i W_i / sum_i (W_i - V_i / W_i)`` with
    ``V_i = sum_a w_a**2``, since ``E[sum_a w_a (s_ia - mu_i)**2] =
    sigma**2 (W_i - V_i / W_i)`` for an estimated ``mu_i`` (gold items lose
    nothing). The maximum-likelihood ``sigma`` alone makes intervals too
    narrow when items have few raters.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    weights : ndarray of shape (n_annotators,)
        Weight of each annotator, in [0, 1].
    sigma : float
        Maximum-likelihood standard deviation of good ratings.
    gold : ndarray of shape (n_items,), default=None
        Known consensus of some items, NaN elsewhere; their error is 0.

    Returns
    -------
    std_error : ndarray of shape (n_items,)
        NaN for items without any rating (and no gold), ``inf`` for items
        whose raters all have zero weight.
    """
    rating_weights = weights[ratings.annotator]
    weight_sums = np.bincount(ratings.item, rating_weights, minlength=ratings.n_items)
    square_sums = np.bincount(
        ratings.item, rating_weights**2, minlength=ratings.n_items
    )
    estimated = weight_sums > 0
    if gold is not None:
        estimated &= np.isnan(gold)
    used_up = (square_sums[estimated] / weight_sums[estimated]).sum()
    total = weight_sums.sum()
    correction = np.sqrt(total / (total - used_up)) if total > used_up else 1.0
    with np.errstate(divide="ignore"):
        std_error = sigma * correction / np.sqrt(weight_sums)
    std_error[ratings.n_per_item == 0] = np.nan
    if gold is not None:
        std_error[~np.isnan(gold)] = 0.0
    return std_error


def _compute_annotator_sq_residuals(ratings, consensus):
    """Sum of squared deviations from the consensus, per annotator.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    consensus : ndarray of shape (n_items,)
        Consensus ``mu`` of each item; finite for every rated item.

    Returns
    -------
    sq_residuals : ndarray of shape (n_annotators,)
        ``sum_i (s_ia - mu_i)**2`` over the items that annotator ``a`` rated.
        It is the only statistic of ``mu`` that the E-step needs.
    """
    residuals = ratings.score - consensus[ratings.item]
    np.square(residuals, out=residuals)
    return np.bincount(ratings.annotator, residuals, minlength=ratings.n_annotators)


def _estimate_sigma(sq_residuals, n_per_annotator, weights, log_posterior, min_sigma):
    """Weighted pooled standard deviation of the good ratings, floored.

    ``sigma**2 = sum_a w_a SS_a / sum_a w_a n_a``, where ``SS_a`` is the sum of
    squared residuals of annotator ``a`` and ``n_a`` its number of ratings.
    Flooring at ``min_sigma`` is the maximum of the M-step objective over
    ``sigma >= min_sigma``, so EM stays monotone.

    Parameters
    ----------
    sq_residuals : ndarray of shape (n_annotators,)
        Output of :func:`_compute_annotator_sq_residuals`.
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    weights : ndarray of shape (n_annotators,)
        Weight of each annotator, in [0, 1].
    log_posterior : ndarray of shape (n_annotators,)
        Log posterior of being good. Used, relative to its maximum over the
        annotators with ratings, when every rated annotator's weight is zero;
        if that maximum is ``-inf`` too, the rated annotators count equally.
    min_sigma : float
        Floor on sigma, > 0.

    Returns
    -------
    sigma : float
    """
    weighted_count = weights @ n_per_annotator
    if weighted_count < _TINY:
        rated = n_per_annotator > 0
        best = log_posterior[rated].max()
        if np.isneginf(best):
            weights = rated.astype(np.float64)
        else:
            weights = np.exp(np.where(rated, log_posterior - best, -np.inf))
        weighted_count = weights @ n_per_annotator
    variance = (weights @ sq_residuals) / weighted_count
    return max(float(np.sqrt(variance)), min_sigma)


def _estimate_pi(weights):
    """Prior probability of a good annotator: ``mean(w)``, kept off 0 and 1.

    Clipping is the maximum of the M-step objective over
    ``[_PI_BOUND, 1 - _PI_BOUND]``: it keeps both log priors finite and EM
    monotone.

    Parameters
    ----------
    weights : ndarray of shape (n_annotators,)

    Returns
    -------
    pi : float
    """
    return float(np.clip(np.mean(weights), _PI_BOUND, 1.0 - _PI_BOUND))


def _estimate_annotator_log_joint(
    sq_residuals, n_per_annotator, sigma, pi, log_uniform_density
):
    """Log joint probability of each annotator's ratings and good/bad flag.

    Parameters
    ----------
    sq_residuals : ndarray of shape (n_annotators,)
        ``sum_i (s_ia - mu_i)**2`` per annotator.
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    sigma : float
        Standard deviation of good ratings.
    pi : float
        Prior probability of a good annotator, in (0, 1).
    log_uniform_density : float
        ``-log(high - low)``.

    Returns
    -------
    log_good : ndarray of shape (n_annotators,)
        ``log pi + sum_i log Normal(s_ia; mu_i, sigma)``.
    log_bad : ndarray of shape (n_annotators,)
        ``log(1 - pi) + sum_i log Uniform(s_ia; low, high)``.
    """
    log_good = (
        np.log(pi)
        - n_per_annotator * (_LOG_SQRT_2PI + np.log(sigma))
        - sq_residuals / (2.0 * sigma**2)
    )
    log_bad = np.log1p(-pi) + n_per_annotator * log_uniform_density
    return log_good, log_bad


def _estimate_log_posterior(log_good, log_bad):
    """Posterior of a good annotator, in log space.

    Parameters
    ----------
    log_good, log_bad : ndarray of shape (n_annotators,)
        Output of :func:`_estimate_annotator_log_joint`.

    Returns
    -------
    log_marginal : ndarray of shape (n_annotators,)
        ``log(pi prod N + (1 - pi) prod U)``, each annotator's contribution to
        the log-likelihood.
    log_posterior : ndarray of shape (n_annotators,)
        ``log P(z_a = 1 | s_a)``.
    """
    log_marginal = np.logaddexp(log_good, log_bad)
    return log_marginal, log_good - log_marginal


def _estimate_item_medians(ratings):
    """Median rating of each item.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.

    Returns
    -------
    medians : ndarray of shape (n_items,)
        NaN for the items without any rating.
    """
    sorted_scores = ratings.score[_order_by_item_then_score(ratings)]
    counts = ratings.n_per_item
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rated = counts > 0
    lower = starts[rated] + (counts[rated] - 1) // 2
    upper = starts[rated] + counts[rated] // 2
    medians = np.full(ratings.n_items, np.nan)
    medians[rated] = 0.5 * (sorted_scores[lower] + sorted_scores[upper])
    return medians


def _order_by_item_then_score(ratings):
    """Indices that sort the ratings by item, then by score.

    One stable sort of an integer key ``item * n + rank(score)``: about twice
    as fast as ``np.lexsort`` on two keys, and faster still when the ratings
    arrive grouped by item (CSR or dense input), which the stable sort exploits.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.

    Returns
    -------
    order : ndarray of shape (n_ratings,)
    """
    n = ratings.n_ratings
    if ratings.n_items * n >= 2**62:  # the key would overflow int64
        return np.lexsort((ratings.score, ratings.item))
    score_rank = np.empty(n, dtype=np.int64)
    score_rank[np.argsort(ratings.score)] = np.arange(n)
    return np.argsort(ratings.item.astype(np.int64) * n + score_rank, kind="stable")


def _compute_item_log_likelihood(ratings, consensus, sigma, weights, score_range):
    """Predictive log-likelihood of each item's ratings.

    ``sum_a log(w_a N(s_ia; m_i, sigma) + (1 - w_a) U(s_ia; low, high))`` over
    the annotators who rated item ``i``.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    consensus : ndarray of shape (n_items,)
        Consensus ``m_i`` of each item.
    sigma : float
        Standard deviation of good ratings.
    weights : ndarray of shape (n_annotators,)
        Probability that each annotator is good.
    score_range : tuple of float
        ``(low, high)``; the uniform density is zero outside it.

    Returns
    -------
    log_likelihood : ndarray of shape (n_items,)
        Zero for the items without any rating.
    """
    low, high = score_range
    z = (ratings.score - consensus[ratings.item]) / sigma
    log_normal = -_LOG_SQRT_2PI - np.log(sigma) - 0.5 * z**2
    inside = (ratings.score >= low) & (ratings.score <= high)
    log_uniform = np.where(inside, -np.log(high - low), -np.inf)
    rating_weights = weights[ratings.annotator]
    with np.errstate(divide="ignore"):
        per_rating = np.logaddexp(
            np.log(rating_weights) + log_normal,
            np.log1p(-rating_weights) + log_uniform,
        )
    return np.bincount(ratings.item, per_rating, minlength=ratings.n_items)


def _resolve_score_range(score_range, ratings):
    """The ``(low, high)`` support of a bad annotator's uniform ratings.

    Parameters
    ----------
    score_range : "auto" or array-like of two floats
        The ``score_range`` parameter.
    ratings : _Ratings
        Observed training ratings, at least one.

    Returns
    -------
    score_range : tuple of float
        ``(low, high)`` with ``low < high``. For ``"auto"`` it is the min and
        max of the ratings, widened by ``_ZERO_WIDTH_PADDING`` on each side if
        they are all equal.

    Raises
    ------
    ValueError
        If an explicit range is not two finite numbers with ``low < high``, or
        if a rating lies outside it.
    """
    if isinstance(score_range, str):
        low, high = float(ratings.score.min()), float(ratings.score.max())
        if low == high:
            low, high = low - _ZERO_WIDTH_PADDING, high + _ZERO_WIDTH_PADDING
        return low, high
    bounds = np.asarray(score_range, dtype=np.float64).ravel()
    if (
        bounds.shape != (2,)
        or not np.all(np.isfinite(bounds))
        or bounds[0] >= bounds[1]
    ):
        raise ValueError(
            "score_range must be 'auto' or two finite numbers (low, high) with "
            f"low < high; got {score_range!r}."
        )
    low, high = float(bounds[0]), float(bounds[1])
    _check_ratings_in_range(ratings, (low, high))
    return low, high


def _check_ratings_in_range(ratings, score_range):
    """Raise a ValueError naming the problem if a rating is outside the range.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    score_range : tuple of float
        ``(low, high)``.
    """
    low, high = score_range
    outside = (ratings.score < low) | (ratings.score > high)
    if outside.any():
        first = np.flatnonzero(outside)[0]
        raise ValueError(
            f"X has {int(outside.sum())} rating(s) outside score_range=({low:g}, "
            f"{high:g}), e.g. {ratings.score[first]:g} for item "
            f"{ratings.item[first]}, annotator {ratings.annotator[first]}. "
            "Widen score_range or use score_range='auto'."
        )
