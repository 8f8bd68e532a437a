"""The common shift of the biases against the items held at an end of the scale.

With biases, only ``mu_i + b_a`` enters the likelihood: moving every bias by
``c`` and every location by ``-c`` changes nothing. The bounded forms keep each
location in the score range, though, and an item that everyone rates at the
top (or the bottom) is held there by its bound. Raising every bias by ``c``
and lowering every other location by ``c`` then moves only the held items'
``mu_i + b_a``, by ``c``: a direction the location and bias steps can only
crawl along, each a little at a time (a bounded fit with biases took 47
iterations on nflx_public, most of them such a crawl). This step takes it at
once: a guarded Newton step on ``c``, whose objective is the held items'
terms alone.
"""

from dataclasses import replace

import numpy as np

from skem._model.likelihoods import _compute_good_terms, _Gather
from skem._model.steps import _UNIT_BOUNDS, _centre_bias, _guarded_ascent


def _held_items(location):
    """The items whose location lies at an end of the unit range."""
    low, high = _UNIT_BOUNDS
    return (location <= low) | (location >= high)


def _kernel_shift_moments(block, weights):
    """The shift's gradient, curvature and objective, and the free locations' extent.

    From the block's terms at the current parameters: the ratings of the
    held items, summed with their weights. ``min_free_location`` and
    ``max_free_location`` are the lowest and highest location of the other
    items, which must stay in the range.
    """
    ratings, terms, location = block.ratings, block.terms, block.location
    held = _held_items(location)
    free = location[~held]
    outputs = {
        "min_free_location": np.fmin.reduce(free, initial=np.inf),
        "max_free_location": np.fmax.reduce(free, initial=-np.inf),
    }
    if not held.any():
        # Every term is 0: no pass over the ratings.
        return block, {**outputs, "gradient": 0.0, "curvature": 0.0, "objective": 0.0}
    selected = np.flatnonzero(held[ratings.item])
    # The weights of the objective itself, not the stand-ins that the
    # location steps take for items whose every rater's weight underflows:
    # those items are no part of it, and one shift moves every held item.
    rating_weights = weights[ratings.annotator[selected]]
    for key, term in (
        ("gradient", "location_slope"),
        ("curvature", "location_information"),
        ("objective", "log_density"),
    ):
        outputs[key] = float(rating_weights @ terms[term][selected])
    return block, outputs


def _kernel_held_objective(block, weights, bias, sigma, shift):
    """The weighted log density of the held items' ratings, ``shift`` higher."""
    ratings = block.ratings
    selected = np.flatnonzero(_held_items(block.location)[ratings.item])
    item, annotator = ratings.item[selected], ratings.annotator[selected]
    terms = _compute_good_terms(
        ratings.score[selected],
        block.location[item] + bias[annotator] + shift,
        _Gather(sigma, annotator),
        _UNIT_BOUNDS,
        _Gather(np.log(sigma), annotator),
        half_step=ratings.half_step,
        keep=("log_density",),
    )
    return block, {"objective": float(weights[annotator] @ terms["log_density"])}


def _kernel_shift_free_locations(block, shift):
    """Lower every location not held at an end by ``shift``.

    The held items' ratings then have other terms: the block drops its terms
    and sums, and the caller takes them again.
    """
    location = block.location
    moved = np.where(_held_items(location), location, location - shift)
    return replace(block, location=moved, terms=None, sums=None, trial=None), {}


def _estimate_common_shift(data, weights, bias, sigma):
    """The guarded Newton step on the common shift of biases and free locations.

    Parameters
    ----------
    data : backend
        Blocks whose terms are at the current parameters; no gold item.
    weights : ndarray of shape (n_annotators,)
        Responsibility of each annotator, as the objective weighs it.
    bias, sigma : ndarray of shape (n_annotators,)

    Returns
    -------
    shift : float
        ``c``, to add to every bias and subtract from every location that is
        not held at an end: 0 if no item is held, or if no step raises the
        objective. Every bias stays within the scale's width of 0, and every
        free location in the range.
    """
    moments = data.reduce(_kernel_shift_moments, weights)
    curvature = moments["curvature"]
    if not curvature > 0.0:  # no item held (or nothing to learn from them)
        return 0.0
    low, high = _UNIT_BOUNDS
    width = high - low
    rated = data.n_per_annotator > 0
    lowest = max(
        moments["max_free_location"] - high, -width - np.min(bias[rated], initial=0.0)
    )
    highest = min(
        moments["min_free_location"] - low, width - np.max(bias[rated], initial=0.0)
    )
    proposal = float(np.clip(moments["gradient"] / curvature, lowest, highest))

    def evaluate(values, groups):
        return np.array(
            [
                data.reduce(
                    _kernel_held_objective,
                    weights,
                    bias,
                    sigma,
                    float(values[0]),
                )["objective"]
            ]
        )

    shift = _guarded_ascent(
        np.zeros(1), np.array([proposal]), np.array([moments["objective"]]), evaluate
    )
    return float(shift[0])


def _centre_biases(run, n_per_annotator, has_gold):
    """The kept run with its biases read against the average annotator.

    Locations and biases are identified only up to a common shift. The
    bounded forms take the shift that keeps every location inside the score
    range, which need not give the biases weighted mean 0: on a panel rated
    at the floor the biases would drift together, and with them a consensus
    of ``rating - bias``. The consensus (``mu_``, ``transform``) and
    ``bias_`` are read against the average annotator, whatever the shift
    (:func:`skem._model.steps._centre_bias`); the locations keep the range.
    Gold items pin the biases: no shift.

    Parameters
    ----------
    run : dict
        The driver's kept run (:meth:`skem._em.driver._BaseEM._run_em`).
    n_per_annotator : ndarray of shape (n_annotators,)
    has_gold : bool
        Whether any item is gold.

    Returns
    -------
    run : dict
        ``run``, with ``params.bias`` of weighted mean 0 unless gold pins it,
        and 0 for the annotators without ratings.
    """
    params = run["params"]
    bias, _ = _centre_bias(
        params.bias, run["responsibility"], n_per_annotator, has_gold
    )
    return {**run, "params": replace(params, bias=bias)}
