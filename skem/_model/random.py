"""The random annotator: uniform answers, or one level given to every item.

A random annotator's ratings do not depend on the items. The lecture's
random annotator answers uniformly over the scale: density 1 per rating in
the unit space of the score range. On a scale of ``K`` levels a second
kind is as common in crowdsourcing: the "straightliner", who gives one
level to every item (3 on every question of a 1..5 survey, the slider's
start on every clip). Such ratings are not uniform, and a noisy good
component explains them better than the uniform does (the consensus' own
spread is their only deviation), so without this kind the fit counts them
as careful and lets them pull the consensus.

So on levels a random annotator gives one level throughout with prior
probability ``ONE_LEVEL_SHARE``, the level picked uniformly, and answers
uniformly otherwise. Its ratings' density, in unit space where each of the
``K`` cells is ``1 / K`` wide, is

    (1 - ONE_LEVEL_SHARE) * 1  +  ONE_LEVEL_SHARE * K**(n_a - 1) * [one level]

for an annotator with ``n_a >= 1`` ratings (``1 / K`` for the level, then
probability 1 for each repeat, over the cells' width): 1 for one rating,
as without ratings. It is a density of the ratings alone, with no parameter, so every
step of EM keeps its guarantee; a good annotator who gives one level to
several items whose consensus differs pays for it in its own likelihood,
and one whose items all sit at that level does not. On exact scores the
random annotator stays uniform.
"""

import numpy as np

# The prior probability that a random annotator on levels gives one level to
# every item. Small, so that an honest rater whose few ratings happen to
# agree stays with the good component (the one-level density passes the
# uniform's from 4 ratings on 1..5, from 8 on yes/no), and so that the
# uniform part, 1 - ONE_LEVEL_SHARE, moves every other verdict by 0.01 nats:
# at 0.1 it dropped a flag on two of ten draws of 30% of dot_guessing's
# players (read as 319 levels), each then beyond the mean's error.
ONE_LEVEL_SHARE = 0.01


def _kernel_annotator_score_ends(block):
    """The lowest and the highest unit score of each annotator in the block.

    Returns
    -------
    block, {"min_score": ndarray, "max_score": ndarray, "max_half_step": float}
        The scores' ends of shape (n_annotators,), ``+inf`` and ``-inf``
        without ratings; the ratings' half-step, 0 for exact scores.
    """
    ratings = block.ratings
    lowest = np.full(ratings.n_annotators, np.inf)
    highest = np.full(ratings.n_annotators, -np.inf)
    np.minimum.at(lowest, ratings.annotator, ratings.score)
    np.maximum.at(highest, ratings.annotator, ratings.score)
    return block, {
        "min_score": lowest,
        "max_score": highest,
        "max_half_step": float(ratings.half_step),
    }


def _estimate_random_log_density(n_per_annotator, one_level, n_levels):
    """Log density of each annotator's ratings under the random component.

    Parameters
    ----------
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    one_level : ndarray of shape (n_annotators,) of bool
        Whether all of the annotator's ratings are on one level.
    n_levels : float or None
        ``K``, the number of levels of the scale; None for exact scores,
        whose random annotator is uniform.

    Returns
    -------
    log_density : ndarray of shape (n_annotators,)
        In the unit space of the score range: 0 for exact scores and for
        annotators with at most one rating, else ``log((1 - s) + s * K**(n_a - 1) *
        one_level)`` with ``s = ONE_LEVEL_SHARE``.
    """
    n = np.asarray(n_per_annotator, dtype=float)
    if n_levels is None:
        return np.zeros(n.shape)
    with np.errstate(divide="ignore"):
        log_one_level = np.where(
            one_level,
            np.log(ONE_LEVEL_SHARE) + (n - 1.0) * np.log(n_levels),
            -np.inf,
        )
    log_density = np.logaddexp(np.log1p(-ONE_LEVEL_SHARE), log_one_level)
    # One rating is on one level either way: the uniform, exactly.
    return np.where(n > 1, log_density, 0.0)


def _random_log_density(data):
    """:func:`_estimate_random_log_density` of the ratings in ``data``'s blocks."""
    ends = data.reduce(_kernel_annotator_score_ends)
    half_step = ends["max_half_step"]
    if not half_step > 0:
        return np.zeros(data.n_annotators)
    return _estimate_random_log_density(
        data.n_per_annotator,
        ends["max_score"] - ends["min_score"] < half_step,
        1.0 / (2.0 * half_step),
    )
