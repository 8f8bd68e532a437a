"""What the other annotators say of an annotator's items: the others' consensus.

The predictive check (:mod:`skem._model.predictive`) judges a flagged
annotator on its items' locations estimated without it, each other rater
weighed by its weight over its variance::

    m_{i,-a} = sum_{b != a} lam_b (s_ib - b_b) / sum_{b != a} lam_b,
    v_{i,-a} = 1 / sum_{b != a} lam_b,   lam_b = w_b / sigma_b**2,

and on how far those other ratings are from their own mean: where the
others disagree on an annotator's items more than on the panel's usual
ones (items rated in batches, some batches harder than others), its own
deviations are no sign that it answers at random. Before that, a flagged
annotator whose ratings follow the others' consensus beyond chance is
spared outright (:func:`_find_followers`): a random rater's ratings do not
depend on the items. Items whose other raters weigh less than
``_MIN_OTHER_WEIGHT`` in all have no consensus of the others. Every sum is
taken from each item's totals over all its ratings less the annotator's
own, one pass per block, in memory and on Dask alike.
"""

from typing import NamedTuple

import numpy as np
from scipy import stats

from skem._model.evidence import _flagged_annotators
from skem._model.likelihoods import _chunks

# An item whose other raters weigh less than this in all (the sum of their
# M-step weights) has no consensus of the others: its rating is not judged.
_MIN_OTHER_WEIGHT = 0.5

# The others' squared deviations are a difference of two sums of the item's
# size, so raters who agree exactly leave a residue of rounding (about 1e-13
# of those sums, in an order that follows the ratings'); below this fraction
# of the item's sum of squares they are 0. A real spread this small is far
# below the finest levels' spacing (1e-3 of the range).
_ROUNDING = 1e-9

# A flagged annotator whose ratings follow the others' consensus of its items
# with a one-sided p-value below this does not answer at random: about one
# random annotator in a thousand is spared by chance.
_AGREEMENT_LEVEL = 1e-3


class _ItemTotals(NamedTuple):
    """Each item's sums over its ratings, ``lam_b = w_b / sigma_b**2``: of
    ``lam_b (s_ib - b_b)``, ``lam_b``, ``w_b``, ``lam_b (s_ib - b_b)**2`` and
    ``w_b**2``."""

    weighted: np.ndarray
    precision: np.ndarray
    weight: np.ndarray
    square: np.ndarray
    weight_square: np.ndarray


def _sum_item_totals(item, annotator, score, n_items, weights, bias, sigma):
    """The items' sums that :func:`_estimate_others_locations` reads.

    Parameters
    ----------
    item, annotator, score : ndarray of shape (n_ratings,)
        Every rating of the items, in unit score space, and whose they are.
    n_items : int
    weights, bias, sigma : ndarray of shape (n_annotators,)

    Returns
    -------
    totals : _ItemTotals
        Five ndarray of shape (n_items,).
    """
    lam = weights / sigma**2
    lam_of, weight_of = lam[annotator], weights[annotator]
    unbiased = score - bias[annotator]
    weighted = lam_of * unbiased
    return _ItemTotals(
        np.bincount(item, weighted, n_items),
        np.bincount(item, lam_of, n_items),
        np.bincount(item, weight_of, n_items),
        np.bincount(item, weighted * unbiased, n_items),
        np.bincount(item, weight_of * weight_of, n_items),
    )


def _subtract_own(item, annotator, score, totals, weights, bias, sigma):
    """Each rating's item totals less its own terms: the other ratings' sums.

    Parameters
    ----------
    item, annotator, score : ndarray of shape (n_ratings,)
        Ratings in unit score space, and whose they are.
    totals : _ItemTotals
        Each item's sums over all its ratings (:func:`_sum_item_totals`).
    weights, bias, sigma : ndarray of shape (n_annotators,)

    Returns
    -------
    others : tuple of five ndarray of shape (n_ratings,)
        The sums of :func:`_sum_item_totals` over the item's other ratings.
    judged : ndarray of shape (n_ratings,), dtype bool
        Whether those weigh at least ``_MIN_OTHER_WEIGHT`` in all, with a
        positive precision.
    """
    own_weight = weights[annotator]
    own_lam = own_weight / sigma[annotator] ** 2
    unbiased = score - bias[annotator]
    own_weighted = own_lam * unbiased
    total, precision, weight, square, weight_square = (
        values[item] for values in totals
    )
    others = (
        total - own_weighted,
        precision - own_lam,
        weight - own_weight,
        square - own_weighted * unbiased,
        weight_square - own_weight * own_weight,
    )
    # Subtracting one rater's weight rounds: an item whose others are at the
    # minimum in exact arithmetic stays judged.
    judged = (others[2] >= _MIN_OTHER_WEIGHT - 1e-9) & (others[1] > 0)
    return others, judged


def _estimate_others_locations(
    item, annotator, score, totals, weights, bias, sigma, gold=None
):
    """Each rating's item location estimated from the item's other ratings.

    Parameters
    ----------
    item, annotator, score : ndarray of shape (n_ratings,)
        Ratings in unit score space, and whose they are.
    totals : _ItemTotals
        Each item's sums over all its ratings (:func:`_sum_item_totals`).
    weights : ndarray of shape (n_annotators,)
        What each annotator weighs in the others' consensus
        (:func:`_estimate_review_weights`).
    bias, sigma : ndarray of shape (n_annotators,)
    gold : ndarray of shape (n_items,) or None, default=None
        Known unit-space locations of gold items (NaN elsewhere): there the
        location is known, with variance 0.

    Returns
    -------
    location : ndarray of shape (n_ratings,)
        ``sum_{b != a} lam_b (s_ib - b_b) / sum_{b != a} lam_b`` with
        ``lam_b = w_b / sigma_b**2``; NaN where the rating is not judged.
    variance : ndarray of shape (n_ratings,)
        ``1 / sum_{b != a} lam_b``, the variance of that location.
    judged : ndarray of shape (n_ratings,), dtype bool
        Whether the item's other raters weigh at least ``_MIN_OTHER_WEIGHT``
        in all (always on a gold item).
    """
    (others_total, others_precision, *_), judged = _subtract_own(
        item, annotator, score, totals, weights, bias, sigma
    )
    location = np.full(item.shape, np.nan)
    variance = np.full(item.shape, np.nan)
    location[judged] = others_total[judged] / others_precision[judged]
    variance[judged] = 1.0 / others_precision[judged]
    if gold is not None:
        known = ~np.isnan(gold[item])
        location[known] = gold[item][known]
        variance[known] = 0.0
        judged = judged | known
    return location, variance, judged


def _estimate_others_dispersion(item, annotator, score, totals, weights, bias, sigma):
    """How far an item's other ratings are from their own mean, against what
    their sigmas lead one to expect.

    Parameters
    ----------
    item, annotator, score : ndarray of shape (n_ratings,)
        Ratings in unit score space, and whose they are.
    totals : _ItemTotals
        Each item's sums over all its ratings (:func:`_sum_item_totals`).
    weights, bias, sigma : ndarray of shape (n_annotators,)

    Returns
    -------
    squares : ndarray of shape (n_ratings,)
        ``sum_{b != a} lam_b (s_ib - b_b - m_{i,-a})**2``, the others'
        weighted squared deviations from their weighted mean, with ``lam_b =
        w_b / sigma_b**2``; 0 where the rating is not judged, and where
        it is within ``_ROUNDING`` of the item's sum of ``lam_b (s_ib -
        b_b)**2`` over all its ratings (others who agree exactly).
    freedom : ndarray of shape (n_ratings,)
        What ``squares`` is expected to be where the others' sigmas are
        right: ``W - sum w_b**2 / W`` with ``W = sum_{b != a} w_b``, their
        degrees of freedom (``n - 1`` for ``n`` others of weight 1); 0 where
        the rating is not judged.
    """
    others, judged = _subtract_own(item, annotator, score, totals, weights, bias, sigma)
    total, precision, weight, square, weight_square = (
        values[judged] for values in others
    )
    squares = np.zeros(item.shape)
    freedom = np.zeros(item.shape)
    spread = square - total * total / precision
    # The residue is relative to the item's whole sum, before the rater's own
    # terms came off it.
    spread[spread <= _ROUNDING * totals.square[item[judged]]] = 0.0
    squares[judged] = spread
    freedom[judged] = weight - weight_square / weight
    # Subtracting one rater's terms rounds.
    np.maximum(freedom, 0.0, out=freedom)
    return squares, freedom


def _kernel_others_dispersion(block, weights, bias, sigma, among):
    """Per annotator ``among``, the sums over its judged ratings of
    :func:`_estimate_others_dispersion`.

    Parameters
    ----------
    block : _Block
    weights, bias, sigma : ndarray of shape (n_annotators,)
    among : ndarray of shape (n_annotators,), dtype bool

    Returns
    -------
    block, {"others_squares": ndarray, "others_freedom": ndarray}
        Each of shape (n_annotators,).
    """
    ratings = block.ratings
    n = ratings.n_annotators
    sums = {"others_squares": np.zeros(n), "others_freedom": np.zeros(n)}
    if not among.any():
        return block, sums
    item, annotator, score = ratings.item, ratings.annotator, ratings.score
    totals = _sum_item_totals(
        item, annotator, score, ratings.n_items, weights, bias, sigma
    )
    for chunk in _chunks(ratings.n_ratings):
        index = chunk.start + np.flatnonzero(among[annotator[chunk]])
        whose = annotator[index]
        squares, freedom = _estimate_others_dispersion(
            item[index], whose, score[index], totals, weights, bias, sigma
        )
        sums["others_squares"] += np.bincount(whose, squares, minlength=n)
        sums["others_freedom"] += np.bincount(whose, freedom, minlength=n)
    return block, sums


def _estimate_dispersion_ratio(others_squares, others_freedom, good):
    """How much more the others disagree on each annotator's items than on
    the good annotators' items.

    Parameters
    ----------
    others_squares, others_freedom : ndarray of shape (n_annotators,)
        :func:`_kernel_others_dispersion`'s sums.
    good : ndarray of shape (n_annotators,), dtype bool
        The annotators whose items set the panel's yardstick.

    Returns
    -------
    ratio : ndarray of shape (n_annotators,)
        ``(others_squares / others_freedom)`` over the same ratio pooled over
        the ``good`` annotators, at least 1; 1 where the others have less
        than one degree of freedom in all, and everywhere if the good
        annotators' others do, or agree exactly. The fitted sigmas are too
        narrow alike for every item (the panel's noise factor undoes that);
        what is left is how much harder an annotator's items are than the
        panel's usual ones. It only widens: items on which the others agree
        closely (on a coarse scale of levels, to the level) are no reason to
        judge an annotator more strictly than its noise says.
    """
    ratio = np.ones(others_squares.shape)
    panel_freedom = np.sum(others_freedom[good])
    if not panel_freedom >= 1.0:
        return ratio
    panel = np.sum(others_squares[good]) / panel_freedom
    measured = others_freedom >= 1.0
    # A subnormal yardstick is none: dividing by it overflows.
    if not panel >= np.finfo(float).tiny:
        return ratio
    ratio[measured] = others_squares[measured] / others_freedom[measured] / panel
    return np.maximum(ratio, 1.0)


def _iter_others_locations(block, weights, bias, sigma, among):
    """Chunk by chunk, the judged ratings of the annotators ``among``, with
    their items' others' locations.

    Parameters
    ----------
    block : _Block
    weights, bias, sigma : ndarray of shape (n_annotators,)
        As in :func:`_estimate_others_locations`.
    among : ndarray of shape (n_annotators,), dtype bool

    Yields
    ------
    index : ndarray of shape (n_judged,)
        Where the chunk's judged ratings of ``among`` are in
        ``block.ratings``.
    location, variance : ndarray of shape (n_judged,)
        :func:`_estimate_others_locations` of those ratings.
    """
    ratings = block.ratings
    item, annotator, score = ratings.item, ratings.annotator, ratings.score
    totals = _sum_item_totals(
        item, annotator, score, ratings.n_items, weights, bias, sigma
    )
    for chunk in _chunks(ratings.n_ratings):
        index = chunk.start + np.flatnonzero(among[annotator[chunk]])
        location, variance, judged = _estimate_others_locations(
            item[index],
            annotator[index],
            score[index],
            totals,
            weights,
            bias,
            sigma,
            block.gold,
        )
        yield index[judged], location[judged], variance[judged]


def _kernel_others_agreement(block, weights, bias, sigma, among):
    """Per annotator ``among``, the moments of its judged ratings and their
    items' others' locations (:func:`_estimate_others_locations`).

    Parameters
    ----------
    block : _Block
    weights, bias, sigma : ndarray of shape (n_annotators,)
    among : ndarray of shape (n_annotators,), dtype bool

    Returns
    -------
    block, {"agreement_moments": ndarray of shape (6, n_annotators)}
        The count of judged ratings ``s`` and the sums of ``s``, ``m``,
        ``s**2``, ``m**2`` and ``s m``, ``m`` the others' location.
    """
    ratings = block.ratings
    n = ratings.n_annotators
    moments = np.zeros((6, n))
    if not among.any():
        return block, {"agreement_moments": moments}
    annotator, score = ratings.annotator, ratings.score
    for index, others, _ in _iter_others_locations(block, weights, bias, sigma, among):
        whose, own = annotator[index], score[index]
        for row, values in enumerate(
            (None, own, others, own * own, others * others, own * others)
        ):
            moments[row] += np.bincount(whose, values, minlength=n)
    return block, {"agreement_moments": moments}


def _estimate_agreement_p_value(moments):
    """How likely ratings that ignore their items follow the others'
    consensus as closely as each annotator's do.

    A random annotator's ratings do not depend on the items: under that
    hypothesis they are independent of the others' locations of its items,
    and their Pearson correlation ``r`` over ``n`` judged ratings is tested
    by ``t = r sqrt((n - 2) / (1 - r**2))`` on ``n - 2`` degrees of freedom,
    one-sided (only agreement speaks against random).

    Parameters
    ----------
    moments : ndarray of shape (6, n_annotators)
        :func:`_kernel_others_agreement`'s sums.

    Returns
    -------
    p_value : ndarray of shape (n_annotators,)
        The one-sided p-value of ``r``; 1 with fewer than 3 judged ratings,
        or where the ratings or the others' locations do not vary (beyond
        rounding: ``_ROUNDING`` of their sum of squares).
    """
    count, own, others, own_square, others_square, product = moments
    p_value = np.ones(count.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        own_spread = own_square - own * own / count
        others_spread = others_square - others * others / count
        covariance = product - own * others / count
    valid = (
        (count >= 3)
        & (own_spread > _ROUNDING * own_square)
        & (others_spread > _ROUNDING * others_square)
    )
    r = np.clip(
        covariance[valid] / np.sqrt(own_spread[valid] * others_spread[valid]), -1, 1
    )
    freedom = count[valid] - 2
    with np.errstate(divide="ignore"):
        t = r * np.sqrt(freedom / (1.0 - r * r))
    p_value[valid] = stats.t.sf(t, freedom)
    return p_value


def _estimate_review_weights(responsibility, pi):
    """What each annotator weighs in the others' consensus, while the
    flagged are under review.

    A flagged annotator's own verdict is what the check reviews, so it does
    not silence it in the review of another's: it counts at the prior
    ``pi``, as an undetermined annotator counts in the consensus. Otherwise,
    where the first fit took the half of a panel that happens to agree for
    the good ones, each flagged annotator would be predicted from that half
    alone, and condemned by it.

    Parameters
    ----------
    responsibility : ndarray of shape (n_annotators,)
        The run's M-step weights (1 outside the mixture).
    pi : float

    Returns
    -------
    weights : ndarray of shape (n_annotators,)
        ``max(responsibility, pi)``.
    """
    return np.maximum(responsibility, pi)


def _find_followers(data, run):
    """The flagged annotators of ``run`` whose ratings follow the items.

    The random component's ratings do not depend on the items. A flagged
    annotator whose ratings follow the others' consensus of its items beyond
    chance (:func:`_estimate_agreement_p_value` below ``_AGREEMENT_LEVEL``)
    is no random rater, whatever its likelihood: an honest one whose errors
    are larger than the noise model allows it, or who rates a constant step
    above or below everyone else. The data do not fit either component, so
    it is undetermined (:mod:`skem._model.predictive`).

    Parameters
    ----------
    data : backend
    run : dict
        A run of :meth:`skem._em.driver._BaseEM._run_em`.

    Returns
    -------
    followers : ndarray of shape (n_annotators,), dtype bool
    """
    flagged = _flagged_annotators(run)
    if not flagged.any():
        return flagged
    params = run["params"]
    moments = data.reduce(
        _kernel_others_agreement,
        _estimate_review_weights(run["responsibility"], params.pi),
        params.bias,
        params.sigma,
        flagged,
    )["agreement_moments"]
    return flagged & (_estimate_agreement_p_value(moments) < _AGREEMENT_LEVEL)
