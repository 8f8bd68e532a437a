"""The starts of EM: each block's first locations, from medians, weights or a fit.

``init='median'`` starts from each item's median, ``'all_good'``,
``'random'``, initial weights and ``init='auto'``'s agreement of each
annotator with the others from the lecture's weighted mean, and a warm
start from the previous fit's locations. :func:`_initialize_params` turns the
kernels' sums into the first annotator parameters.
"""

from dataclasses import replace

import numpy as np
from sklearn.utils import check_array

from skem._em.ratings import _compute_item_middle_values
from skem._model.form import _Params
from skem._model.likelihoods import _chunks
from skem._model.steps import (
    _apply_gold,
    _compute_annotator_sq_residuals,
    _estimate_consensus_normal,
    _estimate_pi,
    _estimate_sigma_shared_normal,
)
from skem._model.weights import (
    _compute_annotator_weights,
    _compute_rating_weights,
)

# The reference of each agreement start (_kernel_agreement_sums).
_AGREEMENT_REFERENCES = {"agreement": "others", "median_agreement": "median"}


def _initialize_params(data, form, init, random_state):
    """The initial parameters of one start, and each block's start.

    Parameters
    ----------
    data : backend
        The items, in unit score space; each block gets its first locations.
    form : _ModelForm
    init : {'median', 'all_good', 'agreement', 'median_agreement', 'ones', \
'random'} or array-like of shape (n_annotators,)
        The start, or initial weights (checked here). The starts of
        ``init='auto'``: ``'agreement'`` and ``'median_agreement'`` are the
        initial weights of :func:`_estimate_agreement_weights`, from each
        annotator's correlation with the other ratings of its items and with
        its items' medians; ``'ones'`` is ``np.ones(n_annotators)``.
    random_state : RandomState
        Draws the weights of ``'random'``.

    Returns
    -------
    params : _Params
        One sigma for everyone (within the unit range for a bounded form),
        no bias, and pi.
    """
    n_annotators = data.n_annotators
    if not isinstance(init, str):
        weights = _check_init_weights(init, n_annotators)
        init = "weights"
    elif init in _AGREEMENT_REFERENCES:
        weights = _estimate_agreement_weights(
            **data.reduce(_kernel_agreement_sums, _AGREEMENT_REFERENCES[init])
        )
        init = "weights"
    if init == "median":
        deviations = data.update(_kernel_initialize_median, form.bounded)
        # sqrt(pi/2) * mean |residual| is consistent for normal ratings.
        # Not the MAD: on a discrete scale most residuals from an integer
        # median are exactly 0, and a zero sigma makes everyone look bad.
        mean_deviation = deviations["abs_deviations"] / data.n_ratings
        sigma = max(np.sqrt(np.pi / 2) * mean_deviation, form.min_sigma)
        pi = 0.5
    else:
        if init in ("all_good", "ones"):
            weights = np.ones(n_annotators)
        elif init == "random":
            weights = random_state.uniform(size=n_annotators)
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        # The lecture's M-step from these weights: one sigma, no bias.
        sq_residuals = data.update(
            _kernel_initialize_weighted, weights, log_weights, form.bounded
        )["sq_residuals"]
        sigma = _estimate_sigma_shared_normal(
            sq_residuals,
            data.n_per_annotator,
            _compute_annotator_weights(data.n_per_annotator, weights, log_weights),
            form.min_sigma,
        )[0]
        # all_good is the lecture's start: everyone's ratings shape mu and
        # sigma, but the prior does not presume that everyone is good. The
        # ones of init='auto' are initial weights of 1: pi at its bound. An
        # annotator without ratings has no likelihood term: it has no say in
        # pi either.
        rated = data.n_per_annotator > 0
        pi = 0.5 if init == "all_good" else float(np.mean(weights[rated]))
    if form.bounded:
        sigma = min(sigma, 1.0)
    return _Params(
        np.zeros(n_annotators),
        np.full(n_annotators, sigma),
        sigma,
        _estimate_pi(np.array([pi]), np.ones(1, dtype=bool)),
    )


def _check_init_weights(init, n_annotators):
    """``init`` as initial weights: one P(good) in [0, 1] per annotator, one > 0."""
    try:
        weights = check_array(
            init, ensure_2d=False, dtype=np.float64, input_name="init"
        )
    except (TypeError, ValueError) as error:
        # NumPy's own words name neither init nor what it may be.
        raise ValueError(
            "init must be 'auto', 'agreement', 'median_agreement', 'all_good', "
            "'median', 'random' or "
            f"one initial P(good) per annotator; got {init!r} ({error})."
        ) from error
    if weights.ndim != 1 or weights.shape[0] != n_annotators:
        raise ValueError(
            "init must be 'auto', 'agreement', 'median_agreement', 'all_good', "
            "'median', 'random' or "
            f"one initial P(good) per annotator: X has {n_annotators} annotators, init "
            f"has shape {weights.shape}."
        )
    if np.any((weights < 0) | (weights > 1)):
        raise ValueError("init probabilities must lie in [0, 1].")
    if not np.any(weights > 0):
        raise ValueError("init must give at least one annotator P(good) > 0.")
    return weights


def _kernel_initialize_median(block, bounded):
    """Each item's median; the sum of absolute deviations from the medians.

    The deviations come from the medians' sorted rows, not from a pass over
    every rating; a gold item's are taken about its median too, since they
    only size the start's sigma.
    """
    ratings = block.ratings
    medians, deviations = _estimate_item_medians(ratings, with_deviations=True)
    location = _apply_gold(medians, block.gold)
    if bounded:
        location = np.clip(location, 0.0, 1.0)
    return replace(block, location=location, terms=None, sums=None, trial=None), {
        "abs_deviations": deviations
    }


def _kernel_agreement_sums(block, reference):
    """Each annotator's sums of its ratings and of their references.

    The input of :func:`_estimate_agreement_weights`. A gold item's
    reference is its known score.

    Parameters
    ----------
    block : _Block
        Whole items: each item's ratings are all in the block.
    reference : {'others', 'median'}
        A rating's reference: the mean of the other ratings of its item (a
        rating alone on its item has none and is left out), or the item's
        median.

    Returns
    -------
    block : _Block
        The same block.
    sums : dict of ndarray of shape (n_annotators,)
        Per annotator: ``n``, its number of ratings with a reference; ``x``
        and ``y``, the sums of those ratings and of their references;
        ``xx``, ``yy`` and ``xy``, the sums of their squares and products.
    """
    ratings = block.ratings
    gold = block.gold
    if reference == "median":
        medians = _apply_gold(_estimate_item_medians(ratings), gold)
    else:
        count = ratings.n_per_item
        total = np.bincount(ratings.item, ratings.score, minlength=ratings.n_items)
    n = ratings.n_annotators
    sums = {key: np.zeros(n) for key in ("n", "x", "y", "xx", "yy", "xy")}
    # A chunk at a time: no per-rating arrays beside the ratings.
    for chunk in _chunks(ratings.n_ratings):
        item, whose = ratings.item[chunk], ratings.annotator[chunk]
        x = ratings.score[chunk]
        if reference == "median":
            y = medians[item]
        else:
            others = count[item] - 1
            with np.errstate(divide="ignore", invalid="ignore"):
                y = (total[item] - x) / others
            referenced = others > 0
            if gold is not None:
                known = gold[item]
                is_gold = ~np.isnan(known)
                y = np.where(is_gold, known, y)
                referenced |= is_gold
            if not referenced.all():
                whose, x, y = whose[referenced], x[referenced], y[referenced]
        sums["n"] += np.bincount(whose, minlength=n)
        for key, values in (("x", x), ("y", y), ("xx", x * x), ("yy", y * y)):
            sums[key] += np.bincount(whose, values, minlength=n)
        sums["xy"] += np.bincount(whose, x * y, minlength=n)
    return block, sums


def _estimate_agreement_weights(n, x, y, xx, yy, xy):
    """Initial P(good) from each annotator's agreement with the items.

    A random annotator's ratings do not follow the items, so their
    correlation with a reference that does is about 0, whatever the scale; a
    good annotator's is positive. A start that weighs each annotator by its
    correlation finds the maximum where the random annotators are random,
    which a start from everyone good can miss. Two references, each right
    where the other fails (:data:`skem._em.runs._AUTO_STARTS`):

    - the mean of the *other* ratings of the item (psychometrics' corrected
      item-total correlation). A reference that holds the annotator's own
      rating correlates with it whoever rated: where most annotators are
      random, a random one then looks as agreeing as a good one;
    - the item's median. Where an item has 3 ratings, the others' mean of
      a good annotator holds the third rating in full; if that rater
      contradicts the item, the good annotator's correlation vanishes,
      while the median of the three follows the two who agree.

    Parameters
    ----------
    n, x, y, xx, yy, xy : ndarray of shape (n_annotators,)
        Per annotator: its number of ratings with a reference, the sums of
        those ratings ``x`` and of their references ``y``, of their squares
        and of their products (:func:`_kernel_agreement_sums`).

    Returns
    -------
    weights : ndarray of shape (n_annotators,)
        Pearson's correlation, clipped at 0, over the largest. An annotator
        whose correlation is not defined (fewer than 3 ratings with a
        reference, or ratings or references without spread) gets 1/2:
        nothing is known of it. All 1/2 if no correlation is positive. A
        correlation within the sums' rounding of 0 is 0, in any order of the
        ratings.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        spread_x = xx - x * x / n
        spread_y = yy - y * y / n
        covariance = xy - x * y / n
        correlation = covariance / np.sqrt(spread_x * spread_y)
        # A covariance below what rounding the sums leaves is none: its sign
        # would follow the order of the ratings, and a start of 1 for the
        # annotator and 0 for the rest, or 1/2 for all, with it.
        rounding = 1e-14 * n * np.sqrt(xx * yy)
    correlation = np.where(np.abs(covariance) <= rounding, 0.0, correlation)
    # A spread below what rounding the sums leaves is none.
    known = (n >= 3) & (spread_x > 1e-12 * xx) & (spread_y > 1e-12 * yy)
    weights = np.full(n.shape[0], 0.5)
    positive = np.clip(np.where(known, correlation, 0.0), 0.0, 1.0)
    largest = float(np.max(positive, initial=0.0))
    if largest > 0:
        weights[known] = positive[known] / largest
    return weights


def _kernel_initialize_weighted(block, weights, log_weights, bounded):
    """The lecture's consensus from initial weights; the squared residuals."""
    ratings = block.ratings
    bias = np.zeros(ratings.n_annotators)
    location = _estimate_consensus_normal(
        ratings,
        _compute_rating_weights(ratings, weights, log_weights),
        bias,
        np.ones(ratings.n_annotators),
        block.gold,
    )
    sq_residuals = _compute_annotator_sq_residuals(ratings, location, bias)
    if bounded:
        location = np.clip(location, 0.0, 1.0)
    return replace(block, location=location, terms=None, sums=None, trial=None), {
        "sq_residuals": sq_residuals
    }


def _kernel_initialize_warm(block, bounded):
    """The previous fit's locations; new items start from their median."""
    location = block.location.copy()
    unknown = np.isnan(location)
    if unknown.any():
        location[unknown] = _estimate_item_medians(block.ratings)[unknown]
    location = _apply_gold(location, block.gold)
    if bounded:
        location = np.clip(location, 0.0, 1.0)
    return replace(block, location=location, terms=None, sums=None, trial=None), {}


def _estimate_item_medians(ratings, with_deviations=False):
    """Median rating of each item.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    with_deviations : bool, default=False
        Also return the sum of the ratings' absolute deviations from their
        items' medians.

    Returns
    -------
    medians : ndarray of shape (n_items,)
        NaN for the items without any rating.
    abs_deviations : float
        Only with ``with_deviations``.
    """
    lower, upper, *deviations = _compute_item_middle_values(
        ratings.item,
        ratings.score,
        ratings.n_items,
        ratings.n_per_item,
        ratings.grouped_by_item,
        with_deviations=with_deviations,
    )
    medians = 0.5 * (lower + upper)
    return (medians, *deviations) if with_deviations else medians
