"""The sigma rescue: offer an annotator judged bad the sigma it would have if good.

An annotator whose weight is near 0 barely enters the M-step of its own
sigma, which then stays too narrow for an honest but noisy rater, who would
stay "bad" however well a wider sigma fits. The rescue is a coordinate step
on the objective itself (:func:`_choose_sigma_by_marginal`), so EM stays
monotone. The truncated forms evaluate the candidates as a trial on the
blocks (:mod:`skem._model.trial`) after a cheap screen that bounds each
candidate's density from above (:func:`_kernel_log_mass_sums`, and
:func:`_kernel_level_density_bounds` on levels); the normal forms, in closed
form (:func:`skem._model.normal._sigma_per_annotator_normal`).

The truncated forms' M-step offers the rescue (:func:`_rescue`) only when
the annotators judged bad change, or it took a candidate last time; before
a run stops, :func:`_settle_rescue` offers any rescue it skipped.
"""

from functools import partial

import numpy as np

from skem._em.backend import _run_steps
from skem._model.levels import _reflected_cell
from skem._model.likelihoods import (
    _chunks,
    _compute_sigma_log_prior,
    _estimate_normal_log_density,
)
from skem._model.normal_mass import (
    _LOG_SQRT_2PI,
    _SQRT_2PI,
    _log_normal_mass_lower_bound,
)
from skem._model.steps import (
    _COMBINE,
    _UNIT_BOUNDS,
    _estimate_pi,
    _estimate_shared_sigma,
    _estimate_sigma_per_annotator_normal,
    _rounding_slack,
)
from skem._model.trial import _kernel_annotator_trial, _kernel_settle_trial
from skem._model.truncated_terms import _kernel_annotator_sums


def _rescue_truncated_sigma(
    data, bias, sigma, weights, prior, em, current, levels, pi=None
):
    """Offer the annotators judged bad a sigma fitted as if they were good.

    See :func:`_choose_sigma_by_marginal`. The candidate is the plain-normal
    update with weight 1, ``(SS_a + nu tau**2) / (n_a + nu)``, from the
    squared residuals of the annotators with weight below 0.5; one pass of
    the truncated density over their ratings decides. An upper bound on each
    candidate's density first rules out the annotators whom that pass could
    not change: on levels always (see :func:`_kernel_level_density_bounds`),
    for exact scores without biases (see :func:`_kernel_log_mass_sums`).

    Parameters
    ----------
    current : dict
        The blocks' :func:`_kernel_annotator_sums` at the current parameters.
    levels : bool
        Whether the ratings are levels (the blocks' ratings have a half-step).
    pi : float, default=None
        The objective's ``pi``; None for the M-step's, from ``weights``.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    take : ndarray of shape (n_annotators,), dtype bool
        The annotators who take their candidate. If any, the blocks hold the
        candidates' terms as a trial, for the caller to settle; if none, the
        blocks hold no trial.
    """
    suspect = weights < 0.5
    n_suspect = np.where(suspect, data.n_per_annotator, 0)
    n_annotators = data.n_annotators
    sq_residuals = np.where(suspect, current["z_squared"] * sigma**2, 0.0)
    candidate = _estimate_sigma_per_annotator_normal(
        sq_residuals, n_suspect, np.ones(n_annotators), *prior, 0.0
    )
    candidate = candidate.clip(sigma.min(), 1.0)
    choose = partial(
        _choose_sigma_by_marginal,
        sigma,
        current["log_density"],
        candidate,
        pi=_estimate_pi(weights, data.in_mixture) if pi is None else pi,
        log_bad=data.random_log_density,
        prior=prior,
        combine=_COMBINE[em],
    )
    # Most suspects are random raters, whom an upper bound on the candidate's
    # density already rules out, without normal CDFs per rating.
    if levels:
        upper_bound = data.reduce(
            _kernel_level_density_bounds, bias, candidate, suspect
        )["bound"]
    elif not bias.any():
        # Every location lies inside the bounds, where the truncated mass
        # only shrinks as sigma grows: a lower bound on it at the widest
        # candidate bounds each candidate's density from above, for one
        # exponential per item.
        widest = float(np.max(candidate[suspect]))
        log_mass = data.reduce(_kernel_log_mass_sums, widest, suspect)["log_mass"]
        upper_bound = (
            _estimate_normal_log_density(sq_residuals, n_suspect, candidate) - log_mass
        )
    else:
        upper_bound = None
    if upper_bound is not None:
        suspect &= choose(upper_bound, screen=True)
        if not suspect.any():
            return sigma, suspect
    candidate_log_density = data.update(
        _kernel_annotator_trial,
        bias,
        candidate,
        np.ones(n_annotators),
        None,
        suspect,
    )["objective"]
    take = suspect & choose(candidate_log_density)
    if not take.any():
        data.update(_kernel_settle_trial, False)
    return np.where(take, candidate, sigma), take


def _kernel_log_mass_sums(block, sigma, annotators):
    """A lower bound on ``sum_i log Z(mu_i, sigma)`` per selected annotator.

    ``Z`` is the mass that a normal at each item's location puts inside the
    bounds; its bound (:func:`_log_normal_mass_lower_bound`) is evaluated
    once per item, then summed over the ratings.
    """
    ratings, location = block.ratings, block.location
    low, high = _UNIT_BOUNDS
    log_mass = np.full(location.shape[0], -np.inf)
    # A chunk of items at a time: the bound's temporaries stay small beside
    # the terms that the blocks hold.
    for part in _chunks(location.shape[0]):
        chunk = location[part]
        # -inf (no bound) where a location lies outside the bounds.
        inside = (chunk >= low) & (chunk <= high)
        log_mass[part][inside] = _log_normal_mass_lower_bound(
            (low - chunk[inside]) / sigma, (high - chunk[inside]) / sigma
        )
    # Summed over every rating, then kept for the selected annotators:
    # selecting their ratings costs more than summing all of them. A chunk at
    # a time, so that the gathered masses stay in cache.
    sums = np.zeros(ratings.n_annotators)
    for chunk in _chunks(ratings.n_ratings):
        sums += np.bincount(
            ratings.annotator[chunk],
            log_mass[ratings.item[chunk]],
            minlength=ratings.n_annotators,
        )
    return block, {"log_mass": np.where(annotators, sums, 0.0)}


def _kernel_level_density_bounds(block, bias, sigma, annotators):
    """An upper bound on each selected annotator's log density of levels.

    A level's probability is the normal's mass on its cell, standardized and
    reflected to ``[near, far]`` (:func:`skem._model.levels._reflected_cell`),
    whose outer cells reach past the scale's ends. With ``d = max(near, 0)``
    the distance from the location to the cell, the mass is at most the
    cell's width times the density at its nearest point, ``(far - near)
    phi(d)``; at most
    the tail beyond its near end, ``Q(d) <= exp(-d**2 / 2) / 2`` (Chernoff),
    if ``d > 0``; and at most 1. Each rating's bound is the smaller, less the
    ``log(2 h)`` of the levels' density: a square per rating, and no normal
    CDF.

    Parameters
    ----------
    block : _Block
        Blocks of ratings on levels.
    bias, sigma : ndarray of shape (n_annotators,)
        The locations' biases and the sigmas to bound the density at.
    annotators : ndarray of shape (n_annotators,), dtype bool
        The selected annotators.

    Returns
    -------
    block : _Block
        Unchanged.
    outputs : dict
        ``bound``, per annotator: the bound for the selected, 0 for the others.
    """
    ratings, half_step = block.ratings, block.ratings.half_step
    selected = np.flatnonzero(annotators[ratings.annotator])
    annotator = ratings.annotator[selected]
    location = block.location[ratings.item[selected]]
    if bias.any():
        location = location + bias[annotator]
    # The levels form's own cells: with a sigma of 1e-12 a rounding apart is
    # 1e-5 sigmas, and a bound must not fall below the density it computes.
    near, far, _ = _reflected_cell(
        ratings.score[selected],
        location,
        sigma[annotator],
        _UNIT_BOUNDS,
        half_step,
    )
    distance = np.maximum(near, 0.0)
    # The width 2 h / sigma of a closed cell, per annotator: far out the
    # difference of a cell's ends rounds to 0, its mass does not. A cell over
    # sqrt(2 pi) sigmas wide (every open one: _OPEN, up to rounding) bounds
    # its mass by more than 1, so only the cap holds, which holds for all.
    log_width = np.log(2.0 * half_step / sigma) - _LOG_SQRT_2PI
    cap = np.where(distance > 0, -np.log(2.0), 0.0)
    log_mass = np.where(
        far - near > _SQRT_2PI, cap, np.minimum(log_width[annotator], cap)
    )
    log_mass -= 0.5 * distance * distance
    n_annotators = ratings.n_annotators
    # Not in place: without ratings, bincount's sums are integers.
    bound = np.bincount(annotator, log_mass, minlength=n_annotators) - np.bincount(
        annotator, minlength=n_annotators
    ) * np.log(2.0 * half_step)
    return block, {"bound": np.where(annotators, bound, 0.0)}


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
        ``(shared_sigma, noise_prior)``.
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
    # Both priors in one call: on small panels its fixed cost dominates.
    n_annotators = np.shape(sigma)[0]
    log_prior = _compute_sigma_log_prior(np.concatenate([sigma, candidate]), *prior)
    current = combine(log_pi + good_log_density, log_not_pi + log_bad)
    current += log_prior[:n_annotators]
    proposed = combine(log_pi + candidate_log_density, log_not_pi + log_bad)
    proposed += log_prior[n_annotators:]
    if screen:
        return proposed > current
    return proposed > current + _rounding_slack(current)


def _no_rescue(form, data, bias, sigma, shared_sigma, weights, sums, declined):
    """One shared sigma: nobody has a sigma of its own to rescue."""
    return bias, sigma, shared_sigma, sums


def _rescue(form, data, bias, sigma, shared_sigma, weights, sums, declined):
    """:func:`_rescue_truncated_sigma` if any rated annotator is judged bad.

    A rescue that takes nothing is not offered again while the same
    annotators stay judged bad, as a rule of thumb: their candidates and the
    choice then change only as the locations, the shared scale and ``pi``
    do, slowly near convergence, and each offer is a pass over their
    ratings. Skipping a coordinate step keeps EM monotone; a run ends,
    converged or at ``max_iter``, only after :func:`_settle_rescue` has
    offered a rescue it skipped.

    Parameters
    ----------
    declined : ndarray of shape (n_annotators,), dtype bool, or None
        The annotators judged bad when the rescue last took nothing, from
        the previous M-step's statistics; None if it took a candidate or
        was not needed.

    Returns
    -------
    bias, sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
    sums : dict
        The annotator sums at the new parameters. If the rescue took
        nothing, with ``declined``, the annotators judged bad, and
        ``rescue_skipped``, whether this M-step skipped it.
    """
    suspects = _rated_suspects(data, weights)
    if not suspects.any():
        return bias, sigma, shared_sigma, sums
    skipped = declined is not None and np.array_equal(declined, suspects)
    if skipped:
        shared_sigma, took = _estimate_shared_sigma(sigma, form.min_sigma), False
    else:
        sigma, shared_sigma, sums, took = _offer_rescue(
            form, data, bias, sigma, shared_sigma, weights, sums
        )
    if not took:
        sums = {**sums, "declined": suspects, "rescue_skipped": skipped}
    return bias, sigma, shared_sigma, sums


def _rated_suspects(data, weights):
    """The annotators with ratings whom ``weights`` judge bad (below one half)."""
    return (weights < 0.5) & (data.n_per_annotator > 0)


def _offer_rescue(form, data, bias, sigma, shared_sigma, weights, sums, pi=None):
    """Offer the candidates; the new sigma, shared scale, sums and if any took."""
    sigma, take = _rescue_truncated_sigma(
        data,
        bias,
        sigma,
        weights,
        (shared_sigma, form.noise_prior),
        form.em,
        sums,
        form.likelihood == "levels",
        pi,
    )
    took = bool(take.any())
    if took:
        sums = data.update(
            _run_steps,
            [
                (_kernel_settle_trial, (True, take)),
                (_kernel_annotator_sums, (bias, sigma)),
            ],
        )
    return sigma, _estimate_shared_sigma(sigma, form.min_sigma), sums, took


def _settle_rescue(form, data, params, weights, statistics):
    """The rescue that the last M-step skipped, offered before a run ends.

    Parameters
    ----------
    form : _ModelForm
    data : backend
    params : _Params
        The parameters after that M-step.
    weights : ndarray of shape (n_annotators,)
        The responsibilities of the E-step at ``params``.
    statistics : dict
        The M-step's statistics (see :func:`_rescue`).

    Returns
    -------
    settled : tuple of (sigma, shared_sigma, statistics), or None
        None if the M-step did not skip its rescue, or if no annotator
        judged bad now takes its candidate: the run may stop.
    """
    suspects = _rated_suspects(data, weights)
    if not (statistics.get("rescue_skipped", False) and suspects.any()):
        return None
    # The choice is a coordinate step on the objective at ``params``, whose
    # pi is the M-step's, not the one these weights would give.
    sigma, shared_sigma, sums, took = _offer_rescue(
        form,
        data,
        params.bias,
        params.sigma,
        params.shared_sigma,
        weights,
        statistics,
        params.pi,
    )
    return (sigma, shared_sigma, sums) if took else None


# The rescue of the annotators judged bad, by the form's ``noise``.
_RESCUES = {"shared": _no_rescue, "per_annotator": _rescue}
