"""A flagged annotator against the consensus of the others: the predictive check.

An item's location is fitted to its ratings, so with few raters per item the
residuals are smaller than the noise, and sigma fitted beside them is too
narrow: about ``sqrt((n - 1) / n)`` of the truth with ``n`` raters per item
(the incidental-parameter problem of Neyman and Scott). Against that narrow
normal an honest annotator whose errors happen to be the panel's largest
looks uniform, and the mixture calls it random with confidence, though the
data cannot tell it from a random one.

So after the first fit every annotator the mixture flags is judged again on
what the others say of its items. Its rating ``s_ia`` is predicted from the
item's location estimated without it, the mean of the other ratings less
their biases, each weighed by ``w_b / sigma_b**2`` (the fit's M-step
weights over the variances)::

    m_i = sum_{b != a} lam_b (s_ib - b_b) / sum_{b != a} lam_b,
    v_i = 1 / sum_{b != a} lam_b,   lam_b = w_b / sigma_b**2

and a good rating is ``Normal(m_i + b_a, s**2 + v_i)`` (truncated to the
scale, or on the rating's level, as the form reads ratings), against the
random component's density. Nothing of the annotator's own ratings enters its
prediction. Items whose other raters weigh less than ``_MIN_OTHER_WEIGHT`` in
all are skipped: there is no consensus of the others to predict from.

The yardstick ``s`` is one for the panel: the maximum-likelihood noise of
the good annotators' ratings under the same predictions
(:func:`_estimate_panel_scale`). Free of the locations' bias, it recovers
the noise (on 1..5 judgments with a noise of 1.33 and 3 to 5 raters per
item, 1.40 against the fit's 1.12). An annotator's own sigma would not do:
a random annotator's widens until its normal looks like the uniform.

A flagged annotator whose predictive log odds of good, at the fit's ``pi``,
stay above ``log(1 / _VERDICT_ODDS)`` cannot be called random: it is
*undetermined*, leaves the mixture and enters EM as good, as an annotator
with too little evidence does (:mod:`skem._model.evidence`), so each run
keeps its objective fixed and EM stays monotone. Where the fit's flag is
right, the prediction condemns as the fit does: random raters' ratings miss
the others' consensus whatever the yardstick.

The random side is the objective's: the uniform, density 1 in unit space,
in a mixture with the kind that gives one level to every item
(:mod:`skem._model.random`), whose log density for the annotator's ratings
is taken off whole. The check reads the normal forms (plain, truncated,
levels); the Student-t form's tail already lets a careful annotator err
widely.
"""

import numpy as np

from skem._model.evidence import _VERDICT_ODDS, _flagged_annotators
from skem._model.likelihoods import _compute_good_terms
from skem._model.steps import _UNIT_BOUNDS

# An item whose other raters weigh less than this in all (the sum of their
# M-step weights) has no consensus of the others: its rating is not judged.
_MIN_OTHER_WEIGHT = 0.5

# The panel's yardstick is searched on a grid of log sigma in unit space,
# from the form's floor to the width of the scale, then on a finer grid
# around the best point: two passes over the ratings.
_SCALE_GRID_POINTS = 24


def _estimate_others_locations(
    item, annotator, score, n_items, weights, bias, sigma, gold=None
):
    """Each rating's item location estimated from the item's other ratings.

    Parameters
    ----------
    item, annotator, score : ndarray of shape (n_ratings,)
        The ratings, in unit score space, and whose they are.
    n_items : int
    weights : ndarray of shape (n_annotators,)
        Each annotator's M-step weight (its posterior of good).
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
    lam = weights / sigma**2
    rating_lam = lam[annotator]
    centred = score - bias[annotator]
    total = np.bincount(item, rating_lam * centred, minlength=n_items)
    precision = np.bincount(item, rating_lam, minlength=n_items)
    weight = np.bincount(item, weights[annotator], minlength=n_items)
    others_weight = weight[item] - weights[annotator]
    others_precision = precision[item] - rating_lam
    # Subtracting one rater's weight rounds: an item whose others are at the
    # minimum in exact arithmetic stays judged.
    judged = (others_weight >= _MIN_OTHER_WEIGHT - 1e-9) & (others_precision > 0)
    location = np.full(item.shape, np.nan)
    variance = np.full(item.shape, np.nan)
    location[judged] = (total[item] - rating_lam * centred)[judged] / (
        others_precision[judged]
    )
    variance[judged] = 1.0 / others_precision[judged]
    if gold is not None:
        known = ~np.isnan(gold[item])
        location[known] = gold[item][known]
        variance[known] = 0.0
        judged = judged | known
    return location, variance, judged


def _compute_predictive_log_density(
    score, location, variance, scale, half_step, bounded
):
    """Each rating's good log density at its predicted location.

    Parameters
    ----------
    score, location, variance : ndarray of shape (n_ratings,)
        The judged ratings in unit space, their predicted ``m_i + b_a`` and
        the variance of ``m_i``.
    scale : float
        The yardstick ``s``, in unit space.
    half_step : float
        Half the spacing of the levels; 0 for exact scores.
    bounded : bool
        Whether the good density lives on the unit range (truncated, or on
        levels); else the plain normal.

    Returns
    -------
    log_density : ndarray of shape (n_ratings,)
        The log density of ``Normal(location, scale**2 + variance)``,
        truncated to the unit range or integrated over the rating's level
        when ``bounded``; the random density is 1 (0 in log) in unit space.
    """
    sd = np.sqrt(scale**2 + variance)
    return _compute_good_terms(
        score,
        location,
        sd,
        _UNIT_BOUNDS if bounded else None,
        half_step=half_step if bounded else 0.0,
        keep=("log_density",),
    )["log_density"]


def _kernel_predictive_log_density(block, weights, bias, sigma, scales, among, bounded):
    """The predictive log density of the ratings of each annotator ``among``,
    at each yardstick of ``scales``, and how many ratings it judged.

    Parameters
    ----------
    block : _Block
    weights, bias, sigma : ndarray of shape (n_annotators,)
    scales : ndarray of shape (n_scales,)
    among : ndarray of shape (n_annotators,), dtype bool
    bounded : bool

    Returns
    -------
    block, {"predictive_log_density": ndarray, "n_predicted": ndarray}
        Of shapes (n_scales, n_annotators) and (n_annotators,).
    """
    ratings = block.ratings
    n = ratings.n_annotators
    location, variance, judged = _estimate_others_locations(
        ratings.item,
        ratings.annotator,
        ratings.score,
        ratings.n_items,
        weights,
        bias,
        sigma,
        block.gold,
    )
    index = np.flatnonzero(judged & among[ratings.annotator])
    whose = ratings.annotator[index]
    score = ratings.score[index]
    predicted = location[index] + bias[whose]
    variance = variance[index]
    sums = np.zeros((len(scales), n))
    for k, scale in enumerate(scales):
        log_density = _compute_predictive_log_density(
            score, predicted, variance, scale, ratings.half_step, bounded
        )
        sums[k] = np.bincount(whose, log_density, minlength=n)
    counts = np.bincount(whose, minlength=n).astype(float)
    return block, {"predictive_log_density": sums, "n_predicted": counts}


def _estimate_scale_grid(low, high, n_points=_SCALE_GRID_POINTS):
    """``n_points`` yardsticks evenly spaced in log from ``low`` to ``high``."""
    return np.exp(np.linspace(np.log(low), np.log(high), n_points))


def _estimate_panel_scale(data, form, params, weights, good):
    """The maximum-likelihood yardstick of the ``good`` annotators' predictions.

    A grid of ``log s`` from ``form.min_sigma`` to the width of the scale,
    then a finer one between the best point's neighbours: the objective is a
    sum of normal log densities in ``s``, smooth and with one maximum in
    practice, so two passes place it within 2.5% of ``s``.

    Parameters
    ----------
    data : backend
    form : _ModelForm
    params : _Params
    weights : ndarray of shape (n_annotators,)
    good : ndarray of shape (n_annotators,), dtype bool

    Returns
    -------
    scale : float or None
        None where no good annotator has a judged rating.
    """
    low, high = form.min_sigma, 1.0
    for _ in range(2):
        scales = _estimate_scale_grid(low, high)
        sums = data.reduce(
            _kernel_predictive_log_density,
            weights,
            params.bias,
            params.sigma,
            scales,
            good,
            form.bounded,
        )
        if not sums["n_predicted"].any():
            return None
        objective = sums["predictive_log_density"].sum(axis=1)
        best = int(np.argmax(objective))
        low = scales[max(best - 1, 0)]
        high = scales[min(best + 1, len(scales) - 1)]
    return float(scales[best])


def _estimate_predictive_log_odds(predictive_log_density, random_log_density, pi):
    """Each annotator's predictive log odds of good, at the prior ``pi``.

    Parameters
    ----------
    predictive_log_density : ndarray of shape (n_annotators,)
        The sum of the good log densities of its judged ratings at their
        predictions, in unit space.
    random_log_density : ndarray of shape (n_annotators,)
        The log density of its ratings if it is random, less that of the
        uniform (:func:`skem._model.random._estimate_random_log_density`).
    pi : float
        In (0, 1).

    Returns
    -------
    log_odds : ndarray of shape (n_annotators,)
        ``log(pi / (1 - pi)) + predictive_log_density - random_log_density``.
    """
    return np.log(pi) - np.log1p(-pi) + predictive_log_density - random_log_density


def _find_undetermined(data, form, run):
    """The flagged annotators of ``run`` that the others' consensus cannot
    call random.

    Parameters
    ----------
    data : backend
    form : _ModelForm
    run : dict
        A run of :meth:`skem._em.driver._BaseEM._run_em`.

    Returns
    -------
    undetermined : ndarray of shape (n_annotators,), dtype bool
        Flagged annotators whose predictive log odds of good
        (:func:`_estimate_predictive_log_odds`) are at least
        ``-log(_VERDICT_ODDS)``; nobody for the Student-t form.
    """
    flagged = _flagged_annotators(run)
    if not flagged.any() or form.tail_df is not None:
        return np.zeros_like(flagged)
    params = run["params"]
    weights = run["responsibility"]
    scale = _estimate_panel_scale(data, form, params, weights, weights >= 0.5)
    if scale is None:
        return np.zeros_like(flagged)
    sums = data.reduce(
        _kernel_predictive_log_density,
        weights,
        params.bias,
        params.sigma,
        np.array([scale]),
        flagged,
        form.bounded,
    )
    log_odds = _estimate_predictive_log_odds(
        sums["predictive_log_density"][0], data.random_log_density, params.pi
    )
    return flagged & (log_odds >= -np.log(_VERDICT_ODDS))
