"""Steps shared by every form: gold, consensus, sigma, pi, the guard.

Every function works in unit score space (the score range is ``[0, 1]``) and
returns new arrays; none modifies its inputs (but :func:`_apply_gold`, which
says so). The closed-form updates here are the normal forms' M-steps and
also serve the others: the consensus of every form, the pooled sigma of the
starts, the per-annotator sigma of the rescue's candidate. The guard
(:func:`_guarded_ascent`) keeps the steps without a closed form from ever
lowering the objective.
"""

import math

import numpy as np

from skem._model.likelihoods import (
    _Gather,
)

# Unit score space: EM's bounds of the scale.
_UNIT_BOUNDS = (0.0, 1.0)


# pi is kept inside [_PI_BOUND, 1 - _PI_BOUND]: at exactly 0 or 1 one of the two
# log-priors is -inf, and EM could never move an annotator back.
_PI_BOUND = 1e-6


# A guarded step is halved at most this many times before the parameter stays,
# and no further once it is below this fraction of the parameter's size: the
# objective cannot tell such a step from rounding.
_MAX_HALVINGS = 20


_NEGLIGIBLE_STEP = 1e-12


# Objectives that differ by less than this fraction of their size are equal
# to rounding. Near a maximum a step changes the objective by no more than
# that, and the sign of the computed change is then noise: a guard that trusts
# it lets the order of the ratings (and so how they are partitioned) decide
# where a parameter stops, to about the square root of the machine epsilon.
# Guards accept a step that lowers the objective by less (as an exact
# comparison would for most of them), and a candidate must raise it by more.
_ROUNDING_RTOL = 1e-12


_TINY = np.finfo(np.float64).tiny

# The shared scale's fixed point is found to this relative width in tau**2.
_TAU_RTOL = 1e-14
_TAU_LOG_RTOL = np.log1p(_TAU_RTOL)
_TAU_MAX_EVALUATIONS = 200
# The first step of the march to the shared scale's fixed point from its
# guess, a factor in tau**2; and the highest tau**2 it reaches.
_TAU_FIRST_FACTOR = 1.01
_TAU_LOG_HIGHEST = float(np.log(1e12))


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


def _estimate_consensus_normal(ratings, rating_weights, bias, sigma, gold=None):
    """Precision-weighted mean of each item's bias-corrected ratings.

    ``mu_i = sum_a p_a (s_ia - b_a) / sum_a p_a`` with ``p_a = w_a /
    sigma_a**2``: the M-step of ``mu`` for plain normal good ratings, and the
    consensus of new items. With one shared sigma and no bias it is the
    lecture's ``sum_a w_a s_ia / sum_a w_a``.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    rating_weights : ndarray of shape (n_ratings,)
        Output of :func:`skem._model.weights._compute_rating_weights`.
    bias, sigma : ndarray of shape (n_annotators,)
        Bias and standard deviation of each annotator's good ratings.
    gold : ndarray of shape (n_items,), default=None
        Known consensus of some items, NaN elsewhere. Known items keep it.

    Returns
    -------
    consensus : ndarray of shape (n_items,)
        NaN exactly for the items without any rating (and without gold).
    """
    annotator = ratings.annotator
    # Without biases, or with sigmas of 1 (a start), the terms that would only
    # subtract 0 or divide by 1 are left out: each is a pass over every rating.
    precision = (
        rating_weights
        if np.all(sigma == 1.0)
        else rating_weights / sigma[annotator] ** 2
    )
    corrected = ratings.score - bias[annotator] if bias.any() else ratings.score
    totals = np.bincount(ratings.item, precision, minlength=ratings.n_items)
    sums = np.bincount(ratings.item, precision * corrected, minlength=ratings.n_items)
    rated = ratings.n_per_item > 0
    consensus = np.full(ratings.n_items, np.nan)
    consensus[rated] = sums[rated] / totals[rated]
    return _apply_gold(consensus, gold)


def _compute_annotator_sq_residuals(ratings, location, bias):
    """Sum of squared deviations from the location, per annotator.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    location : ndarray of shape (n_items,)
        Consensus ``mu`` of each item; finite for every rated item.
    bias : ndarray of shape (n_annotators,)
        Bias of each annotator.

    Returns
    -------
    sq_residuals : ndarray of shape (n_annotators,)
        ``sum_i (s_ia - mu_i - b_a)**2`` over the items that ``a`` rated: the
        only statistic of ``mu`` that the normal forms' E-step needs.
    """
    residuals = ratings.score - location[ratings.item]
    if bias.any():
        residuals -= bias[ratings.annotator]
    np.square(residuals, out=residuals)
    return np.bincount(ratings.annotator, residuals, minlength=ratings.n_annotators)


def _compute_annotator_residual_sums(ratings, location):
    """Sum of deviations from the location, per annotator.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    location : ndarray of shape (n_items,)
        Consensus of each item.

    Returns
    -------
    residual_sums : ndarray of shape (n_annotators,)
        ``sum_i (s_ia - mu_i)`` over the items that ``a`` rated.
    """
    return np.bincount(
        ratings.annotator,
        ratings.score - location[ratings.item],
        minlength=ratings.n_annotators,
    )


def _centre_bias(bias, weights, n_per_annotator, has_gold, limits=None):
    """The biases read against the average annotator, and the shift that does it.

    Subtracting the shift from every bias and adding it to every consensus
    leaves each ``mu_i + b_a``, and so the likelihood, unchanged: the shift
    only picks one of the equivalent solutions, the one whose biases have
    weighted mean 0 over the annotators with ratings. An annotator without
    ratings enters no term of the objective: its bias is 0, the average
    annotator's, rather than whatever the shifts made of its start, and it
    takes no part in the mean. Gold items pin the consensus, and so the
    biases: then the shift is 0. The bounded forms keep every location
    inside the score range: their shift is the one nearest to the centring
    shift that does (``limits`` contains 0 when the locations lie inside the
    range, so the shift never has to move one out).

    Parameters
    ----------
    bias : ndarray of shape (n_annotators,)
    weights : ndarray of shape (n_annotators,)
        Responsibility of each annotator.
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    has_gold : bool
        Whether any item is gold.
    limits : tuple of float, default=None
        ``(lowest, highest)`` shift that keeps every location inside the
        range, or None for no limit.

    Returns
    -------
    bias : ndarray of shape (n_annotators,)
        ``bias - shift``, and 0 for the annotators without ratings.
    shift : float
        ``sum_a w_a b_a / sum_a w_a`` over the annotators with ratings,
        clipped to ``limits``; 0 with gold or without weight.
    """
    rated = n_per_annotator > 0
    weights = np.where(rated, weights, 0.0)
    total = weights.sum()
    shift = 0.0
    if not has_gold and total >= _TINY:
        shift = float((weights @ np.where(rated, bias, 0.0)) / total)
        if limits is not None:
            shift = float(np.clip(shift, *limits))
    return np.where(rated, bias - shift, 0.0), shift


def _estimate_sigma_shared_normal(sq_residuals, n_per_annotator, weights, min_sigma):
    """One pooled sigma for every annotator: ``sum_a w_a SS_a / sum_a w_a n_a``.

    Flooring at ``min_sigma`` is the maximum of the M-step objective over
    ``sigma >= min_sigma``, so EM stays monotone.

    Parameters
    ----------
    sq_residuals : ndarray of shape (n_annotators,)
        Output of :func:`_compute_annotator_sq_residuals`.
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    weights : ndarray of shape (n_annotators,)
        Output of :func:`skem._model.weights._compute_annotator_weights`.
    min_sigma : float
        Floor on sigma, > 0.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
        The pooled value, repeated.
    """
    variance = (weights @ sq_residuals) / (weights @ n_per_annotator)
    sigma = max(float(np.sqrt(variance)), min_sigma)
    return np.full(n_per_annotator.shape[0], sigma)


def _estimate_sigma_per_annotator_normal(
    sq_residuals, n_per_annotator, weights, shared_sigma, noise_prior, min_sigma
):
    """Each annotator's sigma, shrunk toward the shared scale by its prior.

    The maximum of ``w_a log prod_i Normal(s_ia; mu_i + b_a, sigma_a) + log
    p(sigma_a**2)`` under the scaled inverse-chi-squared prior with ``nu =
    noise_prior`` and scale ``tau = shared_sigma``:
    ``sigma_a**2 = (w_a SS_a + nu tau**2) / (w_a n_a + nu)``, floored. An
    annotator with few ratings stays near ``tau``.

    Parameters
    ----------
    sq_residuals : ndarray of shape (n_annotators,)
        Output of :func:`_compute_annotator_sq_residuals`.
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    weights : ndarray of shape (n_annotators,)
        Responsibility of each annotator.
    shared_sigma : float
        ``tau``.
    noise_prior : float
        ``nu``, in pseudo-ratings.
    min_sigma : float
        Floor on sigma, > 0.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    """
    variance = (weights * sq_residuals + noise_prior * shared_sigma**2) / (
        weights * n_per_annotator + noise_prior
    )
    return np.maximum(np.sqrt(variance), min_sigma)


def _compute_excess_per_annotator_normal(
    sq_residuals, n_per_annotator, weights, t, noise_prior, min_sigma
):
    """``sum_a (t / sigma_a(t)**2 - 1)`` for :func:`_solve_shared_sigma`.

    ``sigma_a(t)`` is :func:`_estimate_sigma_per_annotator_normal` with
    ``tau**2 = t``; each term is ``(t w_a n_a - w_a SS_a) / (w_a SS_a
    + nu t)``, the difference taken before it is divided, or ``t /
    min_sigma**2 - 1`` where the floor holds.

    Parameters
    ----------
    sq_residuals, n_per_annotator, weights : ndarray of shape (n_annotators,)
        As for :func:`_estimate_sigma_per_annotator_normal`.
    t : float
        ``tau**2``.
    noise_prior : float
        ``nu``.
    min_sigma : float
        Floor on sigma.

    Returns
    -------
    excess : float
    """
    weighted_ss = weights * sq_residuals
    weighted_n = weights * n_per_annotator
    numerator = weighted_ss + noise_prior * t
    floored = numerator < min_sigma**2 * (weighted_n + noise_prior)
    terms = np.where(
        floored,
        t / min_sigma**2 - 1.0,
        (t * weighted_n - weighted_ss) / numerator,
    )
    return float(terms.sum())


def _estimate_shared_sigma(sigma, min_sigma):
    """The scale ``tau`` that maximizes the annotators' prior given their sigmas.

    ``sum_a log p(sigma_a**2 | nu, tau**2)`` is concave in ``tau**2`` with its
    maximum at the harmonic mean of the variances, ``n / sum_a sigma_a**-2``;
    flooring keeps it at the constrained maximum.

    Parameters
    ----------
    sigma : ndarray of shape (n_annotators,)
        Standard deviation of each annotator.
    min_sigma : float
        Floor, > 0.

    Returns
    -------
    shared_sigma : float
    """
    return max(math.sqrt(sigma.shape[0] / float((sigma**-2.0).sum())), min_sigma)


def _solve_shared_sigma(sigma_given, n_annotators, min_sigma, excess=None, guess=None):
    """Maximize jointly over each ``sigma_a`` and the shared scale ``tau``.

    ``sigma_given(t)`` is each annotator's best sigma when ``tau**2 = t``; the
    best ``tau`` given the sigmas is their harmonic mean
    (:func:`_estimate_shared_sigma`). Alternating the two converges slowly
    when the prior outweighs the data (rate ``nu / (nu + n_a)``), so the
    fixed point ``t * sum_a sigma_a(t)**-2 = n_annotators`` is found directly
    in ``s = log t``. The profile objective's slope in ``t`` has the sign of
    minus the excess, so an upward crossing of the excess is a local maximum
    of the profile. For the plain normal update the excess grows with ``t``
    and the root is unique, the joint maximum; for the truncated forms'
    Newton model of the data terms it need not be, and the root found is the
    first upward crossing met from ``guess``, a proposal that the caller's
    guard checks.

    The excess is nearly linear in ``s``. From the guess, secant steps through
    the last two points march toward the root, each to half the tolerance
    past the secant's root (at most 16 times the previous step; twice it
    where the secant points back), until the sign changes. Regula falsi with
    the Illinois modification then shrinks that bracket to a relative width
    of ``_TAU_RTOL`` in ``t``, on the side where the excess is not negative.
    On the benchmark panels, where the root moves by 0.1 to 15% from one
    M-step to the next, a solve takes 8 to 11 evaluations on average (a
    bracket of 1% either side of the guess, widened by squaring the factor,
    took 10 to 14, plus one more for the sigmas at the root).

    Parameters
    ----------
    sigma_given : callable
        Maps ``t`` to an ndarray of shape (n_annotators,), nondecreasing in
        ``t``, each entry at least ``min_sigma``.
    n_annotators : int
    min_sigma : float
        Floor on ``tau``.
    excess : callable, default=None
        ``excess(t) = sum_a (t / sigma_a(t)**2 - 1)``, if the caller can
        compute it without cancellation. Under a strong prior each term is
        of size ``1 / nu`` while ``t / sigma_a(t)**2`` is about 1, so the
        plain difference loses the root's digits from ``nu`` of about 1e9 on.
        Without it, the sigmas at the root are those its evaluation computed.
    guess : float, default=None
        A ``t`` near the root (the current ``tau**2``): the march starts
        there, with a first step of a factor ``_TAU_FIRST_FACTOR``; without
        one, from ``max(4 min_sigma**2, 1)`` with a factor 4.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
    """
    kept = {}
    if excess is None:

        def excess(t):
            sigma = sigma_given(t)
            kept[t] = sigma
            return t * (sigma**-2.0).sum() - n_annotators

    floor = min_sigma**2
    lowest = float(np.log(floor))

    def at(s):
        # The floor itself at its end, not exp(log(floor)).
        return floor if s <= lowest else float(np.exp(s))

    def evaluate(s):
        kept.clear()
        t = at(s)
        return excess(t), kept.get(t)

    def result(s, sigma):
        t = at(s)
        if sigma is None:
            sigma = sigma_given(t)
        return sigma, (min_sigma if s <= lowest else float(np.sqrt(t)))

    # A guess that is not a positive number (NaN precisions) is no guess.
    if guess is not None and guess > 0:
        s = float(np.clip(np.log(guess), lowest, _TAU_LOG_HIGHEST))
        step = float(np.log(_TAU_FIRST_FACTOR))
    else:
        s, step = float(np.log(max(4.0 * floor, 1.0))), float(np.log(4.0))
    f, sigma = evaluate(s)
    # Up while the excess is negative, down while it is not.
    direction = 1.0 if f < 0 else -1.0
    end = _TAU_LOG_HIGHEST if f < 0 else lowest
    previous = None
    for _ in range(_TAU_MAX_EVALUATIONS):
        if (f < 0) != (direction > 0):
            break
        if direction * (end - s) <= 0:
            # The floor with an excess not negative, or the highest t with a
            # negative one: the constrained maximum.
            return result(s, sigma)
        if previous is not None:
            last = abs(s - previous[0])
            slope = (f - previous[1]) / (s - previous[0])
            step = 2.0 * last
            if slope > 0 and np.isfinite(slope):
                to_root = max(-direction * f / slope, 0.0)
                step = min(to_root + 0.5 * _TAU_LOG_RTOL, 16.0 * last)
        target = s + direction * step
        previous = (s, f, sigma)
        s = min(target, end) if direction > 0 else max(target, end)
        f, sigma = evaluate(s)
    else:
        # No sign change within the budget (a NaN excess): the last point.
        return result(s, sigma)
    if direction > 0:
        (a, f_low, _), (b, f_high, sigma_high) = previous, (s, f, sigma)
    else:
        (a, f_low, _), (b, f_high, sigma_high) = (s, f, sigma), previous
    # Regula falsi; the end kept twice in a row has its value halved
    # (Illinois), so both ends move and the bracket shrinks superlinearly.
    kept_end = 0
    for _ in range(_TAU_MAX_EVALUATIONS):
        if b - a <= _TAU_LOG_RTOL:
            break
        c = (a * f_high - b * f_low) / (f_high - f_low)
        if not np.isfinite(c):
            c = 0.5 * (a + b)
        # At least half the tolerance from either end: next to the root, the
        # step then closes the bracket instead of creeping up on one side.
        c = min(max(c, a + 0.5 * _TAU_LOG_RTOL), b - 0.5 * _TAU_LOG_RTOL)
        f_c, sigma_c = evaluate(c)
        if f_c == 0:
            b, sigma_high = c, sigma_c
            break
        if f_c < 0:
            a, f_low = c, f_c
            if kept_end == -1:
                f_high *= 0.5
            kept_end = -1
        else:
            b, f_high, sigma_high = c, f_c, sigma_c
            if kept_end == 1:
                f_low *= 0.5
            kept_end = 1
    return result(b, sigma_high)


def _estimate_pi(weights, in_mixture):
    """Prior probability of a good annotator: ``mean(w)``, kept off 0 and 1.

    The mean is over the annotators whose flag the mixture fits
    (:func:`skem._model.evidence._mixture_annotators`). The others have no
    ``pi`` in the objective: one without ratings has a soft marginal ``pi +
    (1 - pi) = 1`` (and no term in the hard objective), one with too little
    evidence enters as good. Counted here, an empty column of the
    matrix, or a worker with one rating, would move ``pi``, and with it
    every verdict. Clipping is the maximum of the M-step
    objective over ``[_PI_BOUND, 1 - _PI_BOUND]``: it keeps both log priors
    finite and EM monotone. When the mixture is empty, ``pi`` has no term
    at all, and is ``1 - _PI_BOUND``: everyone is presumed good.

    Parameters
    ----------
    weights : ndarray of shape (n_annotators,)
    in_mixture : ndarray of shape (n_annotators,), dtype bool
        The annotators in the mixture.

    Returns
    -------
    pi : float
    """
    if not in_mixture.any():
        return 1.0 - _PI_BOUND
    mean = float(weights[in_mixture].mean())
    return min(max(mean, _PI_BOUND), 1.0 - _PI_BOUND)


def _rounding_slack(objective):
    """How far an objective can move by rounding alone: ``_ROUNDING_RTOL`` of it.

    Parameters
    ----------
    objective : float or ndarray
        Objective values.

    Returns
    -------
    slack : float or ndarray
        ``_ROUNDING_RTOL * (1 + |objective|)``.
    """
    return _ROUNDING_RTOL * (1.0 + np.abs(objective))


def _guarded_ascent(current, proposal, objective_now, evaluate):
    """Move each group's parameter toward its proposal without lowering its objective.

    Each group's objective depends on its own parameter only. A group takes
    its proposal if the objective does not decrease there (by more than
    rounding, :func:`_rounding_slack`); else the step is
    halved, up to ``_MAX_HALVINGS`` times; else the group keeps its current
    value. For a concave objective and a proposal in an ascent direction a
    short enough step always succeeds, so EM makes progress and never goes
    back.

    Parameters
    ----------
    current, proposal : ndarray of shape (n_groups,)
        Current parameter and proposed one; groups with equal values (or a
        non-finite current value) stay.
    objective_now : ndarray of shape (n_groups,)
        Each group's objective at ``current``.
    evaluate : callable
        ``evaluate(values, groups)`` returns each group's objective at
        ``values``, valid for the groups that the boolean mask ``groups``
        selects (every group if None). The first call selects every group,
        and the last call for each group that moved, or that tried to, is at
        its returned value, so ``evaluate`` can record the per-rating terms
        there as it goes.

    Returns
    -------
    values : ndarray of shape (n_groups,)
        The accepted parameters.
    """
    moving = np.isfinite(current) & (proposal != current)
    if not moving.any():
        return current
    values = np.where(moving, proposal, current)
    objective = evaluate(values, None)
    lowest = objective_now - _rounding_slack(objective_now)
    # Not "objective < lowest": a NaN objective fails too.
    failed = moving & ~(objective >= lowest)
    fraction = 1.0
    size = np.abs(proposal - current)
    floor = _NEGLIGIBLE_STEP * np.maximum(np.abs(current), _TINY)
    for _ in range(_MAX_HALVINGS):
        fraction *= 0.5
        # A group whose halved step would be negligible stops trying, and
        # goes back to its current value below with the others that failed.
        retry = failed & (fraction * size > floor)
        if not retry.any():
            break
        values[retry] = current[retry] + fraction * (proposal[retry] - current[retry])
        objective = evaluate(values, retry)
        failed &= ~retry | ~(objective >= lowest)
    if failed.any():
        values[failed] = current[failed]
        evaluate(values, failed)
    return values


def _rating_locations(item, annotator, location, bias):
    """``mu_i + b_a`` of each rating; without biases, a gather of the location."""
    if bias.any():
        return location[item] + bias[annotator]
    return _Gather(location, item)


# How an annotator's two joint log probabilities make its term of the objective.
_COMBINE = {"soft": np.logaddexp, "hard": np.maximum}
