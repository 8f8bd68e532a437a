"""M-step updates of the annotator model, one pure function per form.

Every function works in unit score space (the score range is ``[0, 1]``) and
returns new arrays; none modifies its inputs. The plain normal forms have
closed-form updates. The forms truncated to the score range have none: their
updates are guarded Newton steps, which move each parameter toward the Newton
point of its (concave) objective and halve the step until the objective does
not decrease, so that EM stays monotone.
"""

import numpy as np

from skem._model.likelihoods import (
    _compute_good_terms,
    _compute_sigma_log_prior,
    _Gather,
)

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

# A Newton step on a precision moves it by at most this factor either way.
_MAX_PRECISION_FACTOR = 16.0

_TINY = np.finfo(np.float64).tiny


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
    if not np.min(weights, initial=1.0) < _TINY:
        return rating_weights
    weight_sums = np.bincount(ratings.item, rating_weights, minlength=ratings.n_items)
    underflow = (ratings.n_per_item > 0) & (weight_sums < _TINY)
    if not underflow.any():
        return rating_weights
    selected = underflow[ratings.item]
    item = ratings.item[selected]
    log_weight = log_posterior[ratings.annotator[selected]]
    best = np.full(ratings.n_items, -np.inf)
    np.maximum.at(best, item, log_weight)
    hopeless = np.isneginf(best)
    best[hopeless] = 0.0
    relative = np.exp(log_weight - best[item])
    relative[hopeless[item]] = 1.0
    rating_weights = rating_weights.copy()
    rating_weights[selected] = relative
    return rating_weights


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
        Output of :func:`_compute_rating_weights`.
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
    precision = rating_weights / sigma[annotator] ** 2
    totals = np.bincount(ratings.item, precision, minlength=ratings.n_items)
    sums = np.bincount(
        ratings.item,
        precision * (ratings.score - bias[annotator]),
        minlength=ratings.n_items,
    )
    rated = ratings.n_per_item > 0
    consensus = np.full(ratings.n_items, np.nan)
    consensus[rated] = sums[rated] / totals[rated]
    return _apply_gold(consensus, gold)


def _compute_annotator_sq_residuals(ratings, consensus, bias):
    """Sum of squared deviations from the consensus, per annotator.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    consensus : ndarray of shape (n_items,)
        Consensus ``mu`` of each item; finite for every rated item.
    bias : ndarray of shape (n_annotators,)
        Bias of each annotator.

    Returns
    -------
    sq_residuals : ndarray of shape (n_annotators,)
        ``sum_i (s_ia - mu_i - b_a)**2`` over the items that ``a`` rated: the
        only statistic of ``mu`` that the normal forms' E-step needs.
    """
    residuals = ratings.score - consensus[ratings.item] - bias[ratings.annotator]
    np.square(residuals, out=residuals)
    return np.bincount(ratings.annotator, residuals, minlength=ratings.n_annotators)


def _compute_annotator_residual_sums(ratings, consensus):
    """Sum of deviations from the consensus, per annotator.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings.
    consensus : ndarray of shape (n_items,)
        Consensus of each item.

    Returns
    -------
    residual_sums : ndarray of shape (n_annotators,)
        ``sum_i (s_ia - mu_i)`` over the items that ``a`` rated.
    """
    return np.bincount(
        ratings.annotator,
        ratings.score - consensus[ratings.item],
        minlength=ratings.n_annotators,
    )


def _estimate_bias_normal(residual_sums, n_per_annotator):
    """Mean deviation of each annotator from the consensus.

    The M-step of ``b_a`` for plain normal good ratings: annotator ``a``'s
    terms share one weight and one sigma, so they cancel.

    Parameters
    ----------
    residual_sums : ndarray of shape (n_annotators,)
        Output of :func:`_compute_annotator_residual_sums`.
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.

    Returns
    -------
    bias : ndarray of shape (n_annotators,)
        0 for annotators without ratings.
    """
    return residual_sums / np.maximum(n_per_annotator, 1)


def _compute_bias_shift(bias, weights, has_gold):
    """The shift that gives the biases weighted mean 0.

    Subtracting it from every bias and adding it to every consensus leaves
    each ``mu_i + b_a``, and so the likelihood, unchanged: the shift only
    picks one of the equivalent solutions. Gold items pin the consensus, and
    so the biases: then the shift is 0.

    Parameters
    ----------
    bias : ndarray of shape (n_annotators,)
    weights : ndarray of shape (n_annotators,)
        Responsibility of each annotator.
    has_gold : bool
        Whether any item is gold.

    Returns
    -------
    shift : float
        ``sum_a w_a b_a / sum_a w_a``, or 0.
    """
    total = weights.sum()
    if has_gold or total < _TINY:
        return 0.0
    return float((weights @ bias) / total)


def _estimate_sigma_shared_normal(
    sq_residuals, n_per_annotator, weights, shared_sigma, strength, min_sigma
):
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
        Output of :func:`_compute_annotator_weights`.
    shared_sigma, strength : float
        Unused: the shared form has no prior.
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
    sq_residuals, n_per_annotator, weights, shared_sigma, strength, min_sigma
):
    """Each annotator's sigma, shrunk toward the shared scale by its prior.

    The maximum of ``w_a log prod_i Normal(s_ia; mu_i + b_a, sigma_a) + log
    p(sigma_a**2)`` under the scaled inverse-chi-squared prior with ``nu =
    strength`` and scale ``tau = shared_sigma``:
    ``sigma_a**2 = (w_a SS_a + nu tau**2) / (w_a n_a + nu + 2)``, floored. An
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
    strength : float
        ``nu``, in pseudo-ratings.
    min_sigma : float
        Floor on sigma, > 0.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    """
    variance = (weights * sq_residuals + strength * shared_sigma**2) / (
        weights * n_per_annotator + strength + 2.0
    )
    return np.maximum(np.sqrt(variance), min_sigma)


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
    return max(float(np.sqrt(sigma.shape[0] / np.sum(sigma**-2.0))), min_sigma)


def _solve_shared_sigma(sigma_given, n_annotators, min_sigma):
    """Maximize jointly over each ``sigma_a`` and the shared scale ``tau``.

    ``sigma_given(t)`` is each annotator's best sigma when ``tau**2 = t``; the
    best ``tau`` given the sigmas is their harmonic mean
    (:func:`_estimate_shared_sigma`). Alternating the two converges slowly
    when the prior outweighs the data (rate ``nu / (nu + n_a)``), so the
    fixed point ``t * sum_a sigma_a(t)**-2 = n_annotators`` is found directly,
    by bisection in ``log t``: its left side grows with ``t``, so the root is
    unique, and there the profile objective is at its maximum.

    Parameters
    ----------
    sigma_given : callable
        Maps ``t`` to an ndarray of shape (n_annotators,), nondecreasing in
        ``t``, each entry at least ``min_sigma``.
    n_annotators : int
    min_sigma : float
        Floor on ``tau``.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
    """

    def excess(t):
        return t * np.sum(sigma_given(t) ** -2.0) - n_annotators

    low = min_sigma**2
    if excess(low) >= 0:
        return sigma_given(low), min_sigma
    high = max(4.0 * low, 1.0)
    while excess(high) < 0 and high < 1e12:
        high *= 4.0
    for _ in range(200):
        middle = np.sqrt(low * high)
        if excess(middle) < 0:
            low = middle
        else:
            high = middle
        if high <= low * (1 + 1e-14):
            break
    return sigma_given(high), float(np.sqrt(high))


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
    failed = moving & (objective < lowest)
    fraction = 1.0
    size = np.abs(proposal - current)
    floor = _NEGLIGIBLE_STEP * np.maximum(np.abs(current), _TINY)
    for _ in range(_MAX_HALVINGS):
        fraction *= 0.5
        failed &= fraction * size > floor
        if not failed.any():
            break
        values[failed] = current[failed] + fraction * (
            proposal[failed] - current[failed]
        )
        objective = evaluate(values, failed)
        failed &= objective < lowest
    if failed.any():
        values[failed] = current[failed]
        evaluate(values, failed)
    return values


def _compute_location_derivatives(rating_weights, terms, group, n_groups):
    """Gradient and curvature of each group's truncated log density in its location.

    Each rating's term ``w log TN(s; m, sigma, bounds)`` is concave in its
    location ``m`` (the truncated normal with fixed sigma is an exponential
    family in ``m / sigma**2``): its gradient is ``w (z - E[t]) / sigma`` and
    its curvature ``-w Var[t] / sigma**2``, with ``t`` the standardized
    truncated variable; the terms hold both without the weight.

    Parameters
    ----------
    rating_weights : ndarray of shape (n_ratings,)
        Weight of each rating.
    terms : dict
        Per-rating terms at the current parameters, with bounds (see
        :func:`skem._model.likelihoods._compute_good_terms`).
    group : ndarray of shape (n_ratings,)
        Group (item or annotator) of each rating.
    n_groups : int

    Returns
    -------
    gradient, curvature : ndarray of shape (n_groups,)
        The gradient, and minus the curvature (nonnegative).
    """
    gradient = np.bincount(
        group, rating_weights * terms["location_slope"], minlength=n_groups
    )
    curvature = np.bincount(
        group, rating_weights * terms["location_information"], minlength=n_groups
    )
    return gradient, curvature


def _propose_location(current, gradient, curvature, limits, frozen=None):
    """The Newton point of each group's location, within ``limits``.

    Parameters
    ----------
    current, gradient, curvature : ndarray of shape (n_groups,)
        See :func:`_compute_location_derivatives`.
    limits : tuple of float
        ``(low, high)`` that a location keeps.
    frozen : ndarray of shape (n_groups,), dtype bool, default=None
        Groups that keep their value (gold items).

    Returns
    -------
    proposal : ndarray of shape (n_groups,)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(curvature > _TINY, gradient / curvature, 0.0)
    proposal = np.clip(current + step, *limits)
    if frozen is not None:
        proposal[frozen] = current[frozen]
    return proposal


def _step_truncated_location(
    ratings,
    consensus,
    bias,
    sigma,
    rating_weights,
    terms,
    bounds,
    frozen=None,
    propose_only=False,
):
    """One guarded Newton step on each item's consensus, truncated form.

    See :func:`_compute_location_derivatives`. The consensus stays within the
    bounds: ratings on a bound would otherwise pull it to infinity. Every
    item's step depends on that item's ratings only.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings, unit scores.
    consensus : ndarray of shape (n_items,)
    bias, sigma : ndarray of shape (n_annotators,)
    rating_weights : ndarray of shape (n_ratings,)
        Output of :func:`_compute_rating_weights`.
    terms : dict
        Per-rating terms at the current parameters, with bounds.
    bounds : tuple of float
        ``(low, high)`` of the truncation.
    frozen : ndarray of shape (n_items,), dtype bool, default=None
        Items that keep their value (gold items).
    propose_only : bool, default=False
        Return the Newton proposal unchecked, and None for the terms.

    Returns
    -------
    consensus : ndarray of shape (n_items,)
        The new consensus.
    terms : dict
        Per-rating terms at the new consensus.
    """
    low, high = bounds
    # With biases, centring them moves every location: allow a scale's width
    # of room beyond the bounds so that it never fights them.
    slack = (high - low) if np.any(bias) else 0.0
    item, n_items = ratings.item, ratings.n_items
    gradient, curvature = _compute_location_derivatives(
        rating_weights, terms, item, n_items
    )
    proposal = _propose_location(
        consensus, gradient, curvature, (low - slack, high + slack), frozen
    )
    if propose_only:
        return proposal, None
    objective_now = np.bincount(
        item, rating_weights * terms["log_density"], minlength=n_items
    )
    merged = {}

    def evaluate(values, groups):
        selected = slice(None) if groups is None else np.flatnonzero(groups[item])
        annotator = ratings.annotator[selected]
        new_terms = _compute_good_terms(
            ratings.score[selected],
            values[item[selected]] + bias[annotator],
            _Gather(sigma, annotator),
            bounds,
        )
        if groups is None:
            merged.update(new_terms)
        else:
            for key, value in new_terms.items():
                merged[key][selected] = value
        return np.bincount(
            item[selected],
            rating_weights[selected] * new_terms["log_density"],
            minlength=n_items,
        )

    values = _guarded_ascent(consensus, proposal, objective_now, evaluate)
    return values, merged or terms


def _compute_precision_derivatives(gradient_sums, curvature_sums, precision):
    """Gradient and curvature of the truncated log density in the precision.

    With its location fixed, the truncated normal is an exponential family in
    the precision ``lam = sigma**-2``, so each rating's term is concave in
    ``lam``: its gradient is ``w (E[t^2] - z^2) / (2 lam)`` and its curvature
    ``-w Var[t^2] / (4 lam^2)``.

    Parameters
    ----------
    gradient_sums, curvature_sums : ndarray of shape (n_groups,)
        ``sum w (E[t^2] - z^2)`` and ``sum w Var[t^2]`` of each group.
    precision : ndarray of shape (n_groups,)

    Returns
    -------
    gradient, curvature : ndarray of shape (n_groups,)
    """
    return (
        gradient_sums / (2.0 * precision),
        -curvature_sums / (4.0 * precision**2),
    )


def _propose_joint_sigma(gradient, curvature, precision, limits, strength, min_sigma):
    """The joint maximum over each sigma and the shared scale of their prior.

    The data terms enter as their local quadratic in the precision, the
    scaled inverse-chi-squared prior, ``(nu/2 + 1) log lam - nu tau^2 lam /
    2``, exactly; :func:`_solve_shared_sigma` finds the shared scale.

    Parameters
    ----------
    gradient, curvature, precision : ndarray of shape (n_annotators,)
        Output of :func:`_compute_precision_derivatives`, and the current
        precisions.
    limits : tuple of ndarray
        Lowest and highest precision of each annotator.
    strength : float
        ``nu``.
    min_sigma : float
        Floor on sigma and on the shared scale.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
    """
    half = 0.5 * strength + 1.0
    lowest, highest = limits

    def sigma_given(t):
        b = gradient - curvature * precision - 0.5 * strength * t
        with np.errstate(divide="ignore", invalid="ignore"):
            best = 2.0 * half / (np.sqrt(b * b - 4.0 * curvature * half) - b)
        return np.clip(np.nan_to_num(best, nan=highest), lowest, highest) ** -0.5

    return _solve_shared_sigma(sigma_given, precision.shape[0], min_sigma)


def _propose_precision(precision, gradient, curvature, limits):
    """The Newton point of each precision, within ``limits``.

    Parameters
    ----------
    precision, gradient, curvature : ndarray of shape (n_groups,)
    limits : tuple of ndarray
        Lowest and highest precision of each group.

    Returns
    -------
    proposal : ndarray of shape (n_groups,)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.where(
            curvature < -_TINY, precision - gradient / curvature, precision
        )
    return np.clip(target, *limits)


def _precision_limits(precision, min_sigma):
    """How far a step may move each precision: a factor either way, and the floor."""
    return (
        precision / _MAX_PRECISION_FACTOR,
        np.minimum(precision * _MAX_PRECISION_FACTOR, min_sigma**-2.0),
    )


def _choose_sigma_by_marginal(
    sigma,
    good_log_density,
    candidate,
    candidate_log_density,
    pi,
    log_bad,
    prior,
    combine=np.logaddexp,
    screen=False,
):
    """Per annotator, the sigma that gives the higher marginal log posterior.

    An annotator whose weight is near 0 barely enters the M-step of its own
    sigma, which then stays at its prior mode: too narrow for an honest but
    noisy rater, who would stay "bad" however well a wider sigma fits. The
    candidate (sigma fitted as if the annotator were good) is taken where it
    raises the annotator's own term of the objective, ``log(pi f_good +
    (1 - pi) f_bad) + log p(sigma_a)``: a coordinate step on the objective
    itself, so EM stays monotone. For hard EM the term is ``max(log pi f_good,
    log (1 - pi) f_bad) + log p(sigma_a)``: the next E-step can always take
    the better flag, and the current value is at most that maximum.

    Parameters
    ----------
    sigma, candidate : ndarray of shape (n_annotators,)
        The M-step's sigma, and the candidate.
    good_log_density, candidate_log_density : ndarray of shape (n_annotators,)
        ``sum_i log f_good(s_ia)`` at each.
    pi : float
        Prior probability of a good annotator.
    log_bad : ndarray of shape (n_annotators,)
        ``sum_i log f_bad(s_ia)``.
    prior : tuple of (float, float)
        ``(shared_sigma, strength)``.
    combine : callable, default=np.logaddexp
        ``np.logaddexp`` for soft EM, ``np.maximum`` for hard EM.
    screen : bool, default=False
        If True, ``candidate_log_density`` is an upper bound, and the result
        says which candidates could win: those whose bound raises the term at
        all. The ones left out would lose by the rounding slack as well.

    Returns
    -------
    take_candidate : ndarray of shape (n_annotators,), dtype bool
    """
    log_pi, log_not_pi = np.log(pi), np.log1p(-pi)
    current = combine(log_pi + good_log_density, log_not_pi + log_bad)
    current += _compute_sigma_log_prior(sigma, *prior)
    proposed = combine(log_pi + candidate_log_density, log_not_pi + log_bad)
    proposed += _compute_sigma_log_prior(candidate, *prior)
    if screen:
        return proposed > current
    return proposed > current + _rounding_slack(current)


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
