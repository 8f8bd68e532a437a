"""The M-step's weights: each rating's and each annotator's responsibility.

An annotator's posterior ``P(good)`` weighs its ratings in every M-step. A
random rater with many ratings has a weight that underflows to exactly 0;
where every rater of an item does, the weights here fall back to their
relative sizes in log space (the limit of the weighted mean), so that no
consensus becomes 0 / 0.
"""

import numpy as np

from skem._model.likelihoods import _CHUNK_SIZE, _chunks
from skem._model.steps import _TINY


def _compute_rating_weights(ratings, weights, log_posterior):
    """Weight of each rating in the M-step: its annotator's responsibility.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    weights : ndarray of shape (n_annotators,)
        Responsibility of each annotator, in [0, 1].
    log_posterior : ndarray of shape (n_annotators,)
        Log posterior of being good. Used only for the items whose raters'
        weights all underflow to zero: there the raters count in proportion
        to ``exp(log_posterior)`` relative to the best of them (equally if
        every one is ``-inf``), the limit of the weighted mean.

    Returns
    -------
    rating_weights : ndarray of shape (n_ratings,)
    """
    rating_weights = weights[ratings.annotator]
    if not _may_underflow(weights):
        return rating_weights
    weight_sums = np.bincount(ratings.item, rating_weights, minlength=ratings.n_items)
    underflow = _underflow_items(ratings, weight_sums)
    if not underflow.any():
        return rating_weights
    selected = underflow[ratings.item]
    # The gather above made rating_weights a new array: written in place.
    rating_weights[selected] = _relative_weights(
        ratings.item[selected],
        log_posterior[ratings.annotator[selected]],
        ratings.n_items,
    )
    return rating_weights


def _may_underflow(weights):
    """Whether any weight is below the smallest normal double."""
    return weights.min(initial=1.0) < _TINY


def _underflow_items(ratings, weight_sums):
    """The rated items whose raters' weights sum to less than ``_TINY``."""
    return (ratings.n_per_item > 0) & (weight_sums < _TINY)


def _relative_weights(item, log_weight, n_items):
    """Rating weights ``exp(log_weight)`` relative to the best of each item's.

    Equal (1) for an item whose every log weight is ``-inf``.

    Parameters
    ----------
    item : ndarray of shape (n_selected,)
        Item of each selected rating.
    log_weight : ndarray of shape (n_selected,)
        Log posterior of each selected rating's annotator.
    n_items : int

    Returns
    -------
    relative : ndarray of shape (n_selected,)
    """
    best = np.full(n_items, -np.inf)
    np.maximum.at(best, item, log_weight)
    hopeless = np.isneginf(best)
    best[hopeless] = 0.0
    relative = np.exp(log_weight - best[item])
    relative[hopeless[item]] = 1.0
    return relative


def _sum_weighted_by_item(ratings, weights, log_posterior, values):
    """Per-item sums of each of ``values`` times the rating weights.

    ``np.bincount(item, w * v)`` for each ``v`` in ``values``, with ``w``
    the rating weights of :func:`_compute_rating_weights`, without an array
    of every rating's weight or product: on ratings grouped by item (as the
    blocks hold them) the weights are gathered and the sums taken a chunk at
    a time, over the chunk's run of items. The items whose every rater's
    weight underflows are summed again with their relative weights. Ratings
    that are not grouped, or fit in one chunk, take one pass of whole arrays.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    weights, log_posterior : ndarray of shape (n_annotators,)
        See :func:`_compute_rating_weights`.
    values : tuple of ndarray of shape (n_ratings,)

    Returns
    -------
    sums : list of ndarray of shape (n_items,)
    """
    item, n_items = ratings.item, ratings.n_items
    if _in_one_pass(ratings):
        rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
        return [
            np.bincount(item, rating_weights * v, minlength=n_items) for v in values
        ]
    annotator = ratings.annotator
    sums = [np.zeros(n_items) for _ in values]
    # Only weights below _TINY can leave an item without weight.
    weight_sums = np.zeros(n_items) if _may_underflow(weights) else None
    for chunk, run, first, last in _item_runs(item):
        chunk_weights = weights[annotator[chunk]]
        if weight_sums is not None:
            weight_sums[first:last] += np.bincount(
                run, chunk_weights, minlength=last - first
            )
        for total, v in zip(sums, values, strict=True):
            total[first:last] += np.bincount(
                run, chunk_weights * v[chunk], minlength=last - first
            )
    if weight_sums is None:
        return sums
    underflow = _underflow_items(ratings, weight_sums)
    if underflow.any():
        # Their ratings, one contiguous run per item.
        starts = np.cumsum(ratings.n_per_item) - ratings.n_per_item
        counts = ratings.n_per_item[underflow]
        offsets = np.cumsum(counts) - counts
        index = np.repeat(starts[underflow] - offsets, counts) + np.arange(counts.sum())
        relative = _relative_weights(
            item[index], log_posterior[annotator[index]], n_items
        )
        for total, v in zip(sums, values, strict=True):
            total[underflow] = np.bincount(
                item[index], relative * v[index], minlength=n_items
            )[underflow]
    return sums


def _in_one_pass(ratings):
    """Whether per-item sums take one pass over whole arrays, not item runs.

    One chunk costs less as whole arrays, which then fit in cache; ratings
    not grouped by item have no runs of items to take chunk by chunk.
    """
    return ratings.n_ratings <= _CHUNK_SIZE or not ratings.grouped_by_item


def _item_runs(item):
    """Chunks of ratings grouped by item, each with its run of items.

    Parameters
    ----------
    item : ndarray of shape (n_ratings,)
        Item of each rating, in increasing order.

    Yields
    ------
    chunk : slice
        ``_CHUNK_SIZE`` ratings (fewer in the last chunk).
    run : ndarray of shape (chunk size,)
        Their items, less ``first``.
    first, last : int
        The chunk's items are ``first .. last - 1``.
    """
    for chunk in _chunks(item.shape[0]):
        run = item[chunk]
        first, last = int(run[0]), int(run[-1]) + 1
        yield chunk, run - first, first, last


def _sum_gathered_by_item(ratings, per_annotator):
    """``np.bincount(item, per_annotator[annotator])``, one value per item.

    On ratings grouped by item the values are gathered a chunk at a time,
    without an array of every rating's.

    Parameters
    ----------
    ratings : _Ratings
    per_annotator : ndarray of shape (n_annotators,)

    Returns
    -------
    sums : ndarray of shape (n_items,)
        Zero for the items without ratings.
    """
    item, n_items = ratings.item, ratings.n_items
    if _in_one_pass(ratings):
        return np.bincount(item, per_annotator[ratings.annotator], minlength=n_items)
    sums = np.zeros(n_items)
    for chunk, run, first, last in _item_runs(item):
        sums[first:last] += np.bincount(
            run, per_annotator[ratings.annotator[chunk]], minlength=last - first
        )
    return sums


def _compute_annotator_weights(n_per_annotator, weights, log_posterior):
    """Weight of each annotator in a pooled estimate, safe from underflow.

    Parameters
    ----------
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    weights : ndarray of shape (n_annotators,)
        Responsibility of each annotator.
    log_posterior : ndarray of shape (n_annotators,)
        Log posterior of being good. If the weighted number of ratings
        underflows, the rated annotators count by ``exp(log_posterior)``
        relative to the best of them, or equally if every one is ``-inf``.

    Returns
    -------
    weights : ndarray of shape (n_annotators,)
    """
    if weights @ n_per_annotator >= _TINY:
        return weights
    rated = n_per_annotator > 0
    best = log_posterior[rated].max()
    if np.isneginf(best):
        return rated.astype(np.float64)
    return np.exp(np.where(rated, log_posterior - best, -np.inf))
