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
as without ratings. It is a density of the ratings alone, with no
parameter, so every step of EM keeps its guarantee.

A careful rater whose items all sit at one level gives them that level
too, and its ratings are then those of a straightliner: nothing in them
tells the two apart, and the one-level kind would condemn it whenever it
is more consistent than the panel's noise (16 ratings of 3 on items whose
truth lies between 2.5 and 3.5, or 40 "no" on items that are all no). So
the kind counts only for an annotator whose items the *other* raters tell
apart: their ratings of those items differ between the items more than
within them, by the F test of a one-way analysis of variance at
``ITEMS_APART_P`` (:func:`_estimate_items_apart`); elsewhere its indicator
above is 0. That too is a function of the ratings alone. (On binary
ratings, whose rare answers make the F test somewhat liberal, a careful
worker whose items are all "no" still meets it about once in a hundred
panels.) On exact scores the random annotator is uniform.
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

# The significance at which the other raters' ratings tell an annotator's
# items apart (:func:`_estimate_items_apart`).
ITEMS_APART_P = 0.01


def _estimate_group_ends(group, values, n_groups):
    """The lowest and the highest of ``values`` in each group.

    Parameters
    ----------
    group : ndarray of shape (n,) of int
    values : ndarray of shape (n,)
    n_groups : int

    Returns
    -------
    lowest, highest : ndarray of shape (n_groups,)
        ``+inf`` and ``-inf`` for a group without values.
    """
    lowest = np.full(n_groups, np.inf)
    highest = np.full(n_groups, -np.inf)
    np.minimum.at(lowest, group, values)
    np.maximum.at(highest, group, values)
    return lowest, highest


def _kernel_annotator_score_ends(block):
    """The lowest and the highest unit score of each annotator in the block.

    Returns
    -------
    block, {"min_score": ndarray, "max_score": ndarray, "max_half_step": float}
        The scores' ends of shape (n_annotators,), ``+inf`` and ``-inf``
        without ratings; the ratings' half-step, 0 for exact scores.
    """
    ratings = block.ratings
    lowest, highest = _estimate_group_ends(
        ratings.annotator, ratings.score, ratings.n_annotators
    )
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
        Whether the one-level kind counts for the annotator: all its
        ratings on one level, on items the other raters tell apart.
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


def _kernel_items_apart_sums(block, one_level):
    """The sums of a one-way analysis of variance of the other raters' ratings
    on the items of each ``one_level`` annotator.

    For a rating of annotator ``a`` on item ``i``, the item's other ratings
    are its ``n_i - 1`` ratings but ``a``'s: their sum and sum of squares
    are the item's less ``a``'s rating. The groups are ``a``'s items.

    Returns
    -------
    block, dict of ndarray of shape (n_annotators,)
        ``"within_ss"`` and ``"within_df"``, the squares of the other
        ratings about their item's mean and their degrees of freedom;
        ``"group_sum"``, ``"group_sum_sq_over_n"``, ``"group_n"`` and
        ``"groups"``: the sums of ``S'``, ``S'**2 / n'`` and ``n'`` over the
        items with another rating, and their number (``S'``, ``n'``: the
        other ratings' sum and count).
    """
    ratings = block.ratings
    n_items, n_annotators = ratings.n_items, ratings.n_annotators
    keys = ("within_ss", "within_df", "group_sum", "group_sum_sq_over_n")
    out = {key: np.zeros(n_annotators) for key in (*keys, "group_n", "groups")}
    mine = one_level[ratings.annotator]
    if not mine.any():
        return block, out
    # Unit scores, in [0, 1] on levels: their sums of squares lose nothing
    # to cancellation, and blocks add up about one origin.
    score = ratings.score
    count = np.bincount(ratings.item, minlength=n_items).astype(float)
    total = np.bincount(ratings.item, score, minlength=n_items)
    squares = np.bincount(ratings.item, score**2, minlength=n_items)
    item, who, own = ratings.item[mine], ratings.annotator[mine], score[mine]
    n_other = count[item] - 1.0
    rated = n_other > 0
    item, who, own, n_other = item[rated], who[rated], own[rated], n_other[rated]
    other_sum = total[item] - own
    other_squares = squares[item] - own**2
    sum_sq_over_n = other_sum**2 / n_other
    within = np.maximum(other_squares - sum_sq_over_n, 0.0)
    for key, values in (
        ("within_ss", within),
        ("within_df", n_other - 1.0),
        ("group_sum", other_sum),
        ("group_sum_sq_over_n", sum_sq_over_n),
        ("group_n", n_other),
        ("groups", np.ones_like(n_other)),
    ):
        out[key] = np.bincount(who, values, minlength=n_annotators)
    return block, out


def _estimate_items_apart(sums):
    """Whether the other raters' ratings tell each annotator's items apart.

    The F test of a one-way analysis of variance, the annotator's items the
    groups: between-item mean square over within-item mean square, at
    ``ITEMS_APART_P``. Not without two items and a within-item degree of
    freedom; yes where the other ratings agree exactly within each item
    but differ between items.

    Parameters
    ----------
    sums : dict of ndarray
        The combined outputs of :func:`_kernel_items_apart_sums`.

    Returns
    -------
    apart : ndarray of shape (n_annotators,) of bool
    """
    from scipy.stats import f as f_distribution

    between_df = sums["groups"] - 1.0
    within_df = sums["within_df"]
    with np.errstate(divide="ignore", invalid="ignore"):
        between_ss = np.maximum(
            sums["group_sum_sq_over_n"] - sums["group_sum"] ** 2 / sums["group_n"],
            0.0,
        )
        ratio = (between_ss / between_df) / (sums["within_ss"] / within_df)
    testable = (between_df > 0) & (within_df > 0)
    apart = np.zeros(between_df.shape, dtype=bool)
    exact = testable & (sums["within_ss"] == 0)
    apart[exact] = between_ss[exact] > 0
    tested = testable & ~exact
    apart[tested] = (
        f_distribution.sf(ratio[tested], between_df[tested], within_df[tested])
        < ITEMS_APART_P
    )
    return apart


def _random_log_density(data):
    """:func:`_estimate_random_log_density` of the ratings in ``data``'s blocks.

    The one-level kind counts for the annotators whose ratings are on one
    level and whose items the other raters tell apart.
    """
    ends = data.reduce(_kernel_annotator_score_ends)
    half_step = ends["max_half_step"]
    if not half_step > 0:
        return np.zeros(data.n_annotators)
    one_level = (data.n_per_annotator > 1) & (
        ends["max_score"] - ends["min_score"] < half_step
    )
    if one_level.any():
        one_level &= _estimate_items_apart(
            data.reduce(_kernel_items_apart_sums, one_level)
        )
    return _estimate_random_log_density(
        data.n_per_annotator, one_level, 1.0 / (2.0 * half_step)
    )
