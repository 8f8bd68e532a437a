"""Evidence before a verdict: who the ratings can judge, and the consensus weights.

A random annotator is told from a good one by disagreeing with the others on
the same items. On an item that only one other annotator rated, a
disagreement says nothing of who is wrong; from two others on, the
annotator is compared with a consensus it does not make alone. An
annotator's *judged* ratings are its ratings on items that at least two
others rated too. With fewer than ``MIN_JUDGED_RATINGS`` of them, a posterior
would rest on locations fitted largely to the annotator's own ratings, and be
over-confident either way: its verdict is "undetermined", and in the
consensus it counts as the panel's prior ``pi`` says. Across many items,
though, even disagreements one against one add up: a rater who differs from
every partner is the odd one. So EM keeps in its good/random mixture every
annotator with at least ``MIN_JUDGED_RATINGS`` *compared* ratings, on items
that someone else rated too (:func:`_mixture_annotators`). One with fewer
enters EM as good: its one or two ratings then neither condemn it nor, once
it is condemned, leave the noise model to those who happened to agree; and
``pi`` is the share of good annotators in the mixture. When nobody can be
judged, every annotator counts at ``pi``: the consensus is the
precision-weighted mean of everyone. A fit where no item has two ratings, or
with one annotator, judges nobody at all, and is refused
(:func:`_check_judgeable`).
"""

import numpy as np

# Judged ratings needed before a posterior moves the consensus or a verdict.
MIN_JUDGED_RATINGS = 3

# An item's ratings judge its raters when it has at least this many: each
# rater against at least two others.
_JUDGING_RATERS = 3


def _count_judged_ratings(ratings):
    """Each annotator's compared and judged ratings, in one pass.

    Compared: on items that at least one other annotator rated too; judged:
    at least two others. Every item's ratings lie in one block, so the
    counts of the blocks add up.

    Parameters
    ----------
    ratings : _Ratings

    Returns
    -------
    n_compared, n_judged : ndarray of shape (n_annotators,), dtype int64
    """
    # Each rating's item raters, capped: 1 (alone), 2 (compared) or 3 (judged).
    raters = np.minimum(ratings.n_per_item[ratings.item], _JUDGING_RATERS)
    counts = np.bincount(
        ratings.annotator * _JUDGING_RATERS + (raters - 1),
        minlength=ratings.n_annotators * _JUDGING_RATERS,
    ).reshape(ratings.n_annotators, _JUDGING_RATERS)
    return counts[:, 1] + counts[:, 2], counts[:, 2].copy()


def _kernel_rater_counts(block):
    """The block's compared and judged ratings per annotator, and most raters.

    The input of :func:`_mixture_annotators`, of the verdicts and of
    :func:`_check_judgeable`.
    """
    ratings = block.ratings
    n_compared, n_judged = _count_judged_ratings(ratings)
    return block, {
        "n_judged": n_judged,
        "n_compared": n_compared,
        "max_raters": int(np.max(ratings.n_per_item, initial=0)),
    }


def _mixture_annotators(n_compared):
    """The annotators whose good/random flag the mixture fits.

    Those with at least ``MIN_JUDGED_RATINGS`` compared ratings. Every other
    annotator with ratings enters EM as good: its term of the objective is
    its good log density, without ``pi``, and its ratings weigh 1 in the
    M-step. The objective stays a fixed function of the parameters, so EM
    stays monotone.

    Parameters
    ----------
    n_compared : ndarray of shape (n_annotators,)
        Each annotator's ratings on items that someone else rated too.

    Returns
    -------
    in_mixture : ndarray of shape (n_annotators,), dtype bool
    """
    return np.asarray(n_compared) >= MIN_JUDGED_RATINGS


def _estimate_consensus_weights(weights, log_posterior, pi, n_judged):
    """Each annotator's weight in the consensus, and its log.

    Parameters
    ----------
    weights, log_posterior : ndarray of shape (n_annotators,)
        The E-step's ``P(good)`` of each annotator (hard EM: its flag) and
        the log posterior.
    pi : float
        The prior probability of a good annotator, in (0, 1).
    n_judged : ndarray of shape (n_annotators,)
        The judged ratings of :func:`_count_judged_ratings`.

    Returns
    -------
    weights, log_weights : ndarray of shape (n_annotators,)
        ``weights`` and ``log_posterior`` where the annotator has at least
        ``MIN_JUDGED_RATINGS`` judged ratings; ``pi`` and ``log pi``
        elsewhere.
    """
    return (
        _where_judged(n_judged, weights, pi),
        _where_judged(n_judged, log_posterior, np.log(pi)),
    )


def _estimate_consensus_log_bad_weights(log_posterior_bad, pi, n_judged):
    """The log of one minus each annotator's consensus weight.

    The complement of :func:`_estimate_consensus_weights`, kept apart from
    ``log(1 - weight)``, which loses its digits for a weight near 1.

    Parameters
    ----------
    log_posterior_bad : ndarray of shape (n_annotators,)
        The E-step's ``log P(bad)`` of each annotator.
    pi, n_judged
        As for :func:`_estimate_consensus_weights`.

    Returns
    -------
    log_bad_weights : ndarray of shape (n_annotators,)
        ``log_posterior_bad`` where the annotator has at least
        ``MIN_JUDGED_RATINGS`` judged ratings; ``log(1 - pi)`` elsewhere.
    """
    return _where_judged(n_judged, log_posterior_bad, np.log1p(-pi))


def _where_judged(n_judged, posterior, prior):
    """``posterior`` for the annotators with ``MIN_JUDGED_RATINGS`` judged
    ratings, ``prior`` for the others."""
    return np.where(np.asarray(n_judged) >= MIN_JUDGED_RATINGS, posterior, prior)


def _check_judgeable(n_per_annotator, max_raters):
    """Raise a ValueError if the ratings cannot judge any annotator.

    Parameters
    ----------
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    max_raters : int
        The most ratings any item has.

    Raises
    ------
    ValueError
        If fewer than two annotators have ratings (the message also counts
        them as features, as scikit-learn's checks expect), or no item has
        two.
    """
    n_rating = int(np.count_nonzero(n_per_annotator))
    if n_rating < 2:
        raise ValueError(
            f"Cannot judge annotators: {'only one' if n_rating else 'no'} "
            f"annotator has ratings ({n_rating} feature(s) of X). Telling a random "
            "annotator from a good one needs at least two annotators who rated "
            "the same items."
        )
    if max_raters < 2:
        raise ValueError(
            "Cannot judge annotators: no item has two ratings, so no rating can "
            "be compared with another. Collect at least two ratings of some items."
        )
