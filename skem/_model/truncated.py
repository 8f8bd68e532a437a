"""The truncated forms: good ratings truncated to the score range, by Newton steps.

Good ratings are ``Normal(mu_i + b_a, sigma_a**2)`` truncated to the score
range, so that good and bad ratings have the same support. No step has a
closed form: each is a guarded Newton step (:mod:`skem._model.newton`) that
never lowers the objective, evaluated as a trial on the blocks
(:mod:`skem._model.trial`) before the client takes it.
"""

from dataclasses import replace

import numpy as np

from skem._em.backend import _run_steps
from skem._model.likelihoods import (
    _compute_good_terms,
    _compute_sigma_log_prior,
    _Gather,
)
from skem._model.newton import (
    _compute_location_derivatives,
    _compute_precision_derivatives,
    _precision_limits,
    _propose_joint_sigma,
    _propose_location,
    _propose_precision,
    _step_truncated_location,
)
from skem._model.rescue import _RESCUES
from skem._model.shift import _estimate_common_shift, _kernel_shift_free_locations
from skem._model.steps import (
    _UNIT_BOUNDS,
    _centre_bias,
    _estimate_shared_sigma,
    _guarded_ascent,
    _rating_locations,
    _rounding_slack,
)
from skem._model.trial import _kernel_annotator_trial, _kernel_settle_trial, _Trial
from skem._model.truncated_terms import (
    _annotator_sum,
    _compute_truncated_terms,
    _kernel_annotator_sums,
    _kernel_truncated_terms,
)
from skem._model.weights import (
    _compute_annotator_weights,
    _compute_rating_weights,
    _sum_weighted_by_item,
)

# The fractions of the joint step tried before one block at a time: far from
# the maximum (a nested run's start) the precisions' Newton point overshoots.
_JOINT_STEP_FRACTIONS = (1.0, 0.5)

# The location of new items: Newton steps until the largest move is below
# this (in units of the score range).
_LOCATION_TOL = 1e-12
_LOCATION_MAX_STEPS = 100


def _compute_bounded_log_density(
    score, item, annotator, half_step, location, bias, sigma
):
    """Each rating's log density under the truncated normal, or its level's.

    Parameters
    ----------
    score, item, annotator : ndarray of shape (n_ratings,)
        The ratings, in unit score space, and whose they are.
    half_step : float
        Half the spacing of the levels; 0 for exact scores.
    location : ndarray of shape (n_items,)
    bias, sigma : ndarray of shape (n_annotators,)

    Returns
    -------
    log_density : ndarray of shape (n_ratings,)
        On levels, the log of the cell's probability over its width.
    """
    return _compute_good_terms(
        score,
        _rating_locations(item, annotator, location, bias),
        _Gather(sigma, annotator),
        _UNIT_BOUNDS,
        _Gather(np.log(sigma), annotator),
        half_step=half_step,
        keep=("log_density",),
    )["log_density"]


def _truncated_rating_log_density(form, ratings, location, bias, sigma):
    """:func:`_compute_bounded_log_density` of every rating of a block."""
    return _compute_bounded_log_density(
        ratings.score,
        ratings.item,
        ratings.annotator,
        ratings.half_step,
        location,
        bias,
        sigma,
    )


def _start_truncated(form, data, params):
    """The blocks' terms at their locations and ``params``; their sums.

    Parameters
    ----------
    form : _ModelForm
    data : backend
    params : _Params

    Returns
    -------
    statistics : dict
        The per-annotator sums of :func:`_kernel_annotator_sums`.
    """
    return data.update(_kernel_truncated_terms, params.bias, params.sigma)


def _m_step_truncated(form, data, params, weights, log_posterior, statistics):
    """Generalized M-step of the truncated forms: guarded Newton steps.

    Without biases, first a joint step: each item's location and each
    annotator's precision (with the shared scale) move to their Newton
    proposals at once, taken if the expected complete-data log posterior
    does not decrease; one pass of normal CDFs over the ratings, and one
    more for half the step if needed. Otherwise,
    and always with biases, the blocks step one after the other, each
    guarded per item or annotator. Then, under the per-annotator prior, the
    rescue (:func:`skem._model.rescue._rescue`, which may skip it). Kernels
    that need no result of the client in between run as one task per block
    (:func:`skem._em.backend._run_steps`).

    Returns
    -------
    bias, sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
    statistics : dict
        The per-annotator sums of :func:`_kernel_annotator_sums` at the new
        parameters, and what the rescue records there.
    """
    sigma_weights, prior = _SIGMA_PRIORS[form.noise](
        form, data, params, weights, log_posterior
    )
    bias, sigma, shared_sigma, sums = _TRUNCATED_STEPS[form.bias](
        form, data, params, weights, log_posterior, sigma_weights, prior, statistics
    )
    return _RESCUES[form.noise](
        form, data, bias, sigma, shared_sigma, weights, sums, statistics.get("declined")
    )


def _sigma_prior_shared(form, data, params, weights, log_posterior):
    """One sigma without a prior: its weights pooled, safe from underflow."""
    return _compute_annotator_weights(
        data.n_per_annotator, weights, log_posterior
    ), None


def _sigma_prior_per_annotator(form, data, params, weights, log_posterior):
    """A sigma per annotator, each under the prior of the current shared scale."""
    return weights, (params.shared_sigma, form.noise_prior)


def _step_without_bias(
    form, data, params, weights, log_posterior, sigma_weights, prior, statistics
):
    """The joint step if it does not lower the objective, else one block at a time."""
    accepted = _joint_truncated_step(
        form, data, params, weights, log_posterior, sigma_weights, prior, statistics
    )
    if accepted is not None:
        data.update(_kernel_settle_trial, True)
        return (params.bias, *accepted)
    _step_locations(data, params, weights, log_posterior)
    return (
        params.bias,
        *_step_sigmas(form, data, params.bias, params.sigma, sigma_weights, prior),
    )


def _step_with_bias(
    form, data, params, weights, log_posterior, sigma_weights, prior, statistics
):
    """Locations, biases (centred) and sigmas, one block at a time.

    The joint step moves no bias, so the previous ``statistics`` are not
    needed.
    """
    extent = _step_locations(data, params, weights, log_posterior)
    bias = _step_truncated_bias(data, weights, log_posterior, params.bias, params.sigma)
    # The shift keeps every location inside the unit range.
    low, high = _UNIT_BOUNDS
    limits = (low - extent["min_location"], high - extent["max_location"])
    bias, shift = _centre_bias(
        bias, weights, data.n_per_annotator, data.has_gold, limits
    )
    # mu + b is unchanged, so are the terms.
    data.update(_kernel_shift_location, shift)
    if not data.has_gold:
        common = _estimate_common_shift(data, weights, bias, params.sigma)
        if common != 0.0:
            bias = np.where(data.n_per_annotator > 0, bias + common, 0.0)
            data.update(
                _run_steps,
                [
                    (_kernel_shift_free_locations, (common,)),
                    (_kernel_truncated_terms, (bias, params.sigma)),
                ],
            )
    return (bias, *_step_sigmas(form, data, bias, params.sigma, sigma_weights, prior))


def _step_locations(data, params, weights, log_posterior):
    """Drop any trial; one guarded Newton step on every location.

    Returns the lowest and highest new location, ``min_location`` and
    ``max_location``.
    """
    return data.update(
        _run_steps,
        [
            (_kernel_settle_trial, (False,)),
            (
                _kernel_location_step,
                (weights, log_posterior, params.bias, params.sigma),
            ),
        ],
    )


def _step_sigmas(form, data, bias, sigma, sigma_weights, prior):
    """The guarded sigma step; the new sigma, shared scale and annotator sums."""
    sigma, shared_sigma = _step_truncated_sigma(
        data, bias, sigma, sigma_weights, prior, form.min_sigma
    )
    return sigma, shared_sigma, data.update(_kernel_annotator_sums, bias, sigma)


def _fit_truncated_location(ratings, params, rating_weights, location, bounds):
    """Maximum-likelihood location of each item, annotator parameters fixed.

    Newton steps from ``location`` (the consensus, clipped to ``bounds``)
    until the largest move is below ``_LOCATION_TOL``.

    Parameters
    ----------
    ratings : _Ratings
        Unit-space ratings of the items.
    params : _Params
    rating_weights : ndarray of shape (n_ratings,)
    location : ndarray of shape (n_items,)
        The start: each item's consensus.
    bounds : tuple of float
        The truncation.

    Returns
    -------
    location : ndarray of shape (n_items,)
    """
    # Ratings of weight 0 do not move a location; dropping them keeps a
    # far-off rating's -inf log density from meeting its zero weight.
    counted = rating_weights > 0
    if not counted.all():
        ratings = ratings.select(counted)
        rating_weights = rating_weights[counted]
    location = np.clip(location, *bounds)
    terms = _compute_truncated_terms(
        ratings, location, params.bias, params.sigma, bounds
    )
    for _ in range(_LOCATION_MAX_STEPS):
        previous = location
        location, terms = _step_truncated_location(
            ratings,
            location,
            params.bias,
            params.sigma,
            rating_weights,
            terms,
            bounds,
        )
        if not np.nanmax(np.abs(location - previous), initial=0) > _LOCATION_TOL:
            break
    return location


def _joint_truncated_step(
    form, data, params, weights, log_posterior, sigma_weights, prior, statistics
):
    """Try the joint proposal of location and sigma, then a fraction of it.

    Returns the new sigma, shared scale and the annotator sums at the first
    trial that does not lower Q, or None if none does. The blocks keep the
    last trial either way: the caller settles it.
    """
    proposed_sigma, proposed_shared = _step_truncated_sigma(
        data,
        params.bias,
        params.sigma,
        sigma_weights,
        prior,
        form.min_sigma,
        propose_only=True,
        sums=statistics,
    )
    before = weights @ statistics["log_density"] + form.log_prior(params)
    for fraction in _JOINT_STEP_FRACTIONS:
        if fraction == 1.0:
            sigma, shared_sigma = proposed_sigma, proposed_shared
        else:
            precision = params.sigma**-2.0
            sigma = (precision + fraction * (proposed_sigma**-2.0 - precision)) ** -0.5
            # The best shared scale given the sigmas, as at the proposal.
            shared_sigma = (
                float(sigma[0])
                if prior is None
                else _estimate_shared_sigma(sigma, form.min_sigma)
            )
        trial = data.update(
            _kernel_joint_trial,
            weights,
            log_posterior,
            params.bias,
            params.sigma,
            sigma,
            fraction,
        )
        proposed = replace(params, sigma=sigma, shared_sigma=shared_sigma)
        after = weights @ trial["log_density"] + form.log_prior(proposed)
        if after >= before - _rounding_slack(before):
            return sigma, shared_sigma, trial
    return None


def _step_truncated_bias(data, weights, log_posterior, bias, sigma):
    """One guarded Newton step on each annotator's bias, truncated form.

    A bias stays within the scale's width of 0. See
    :func:`skem._model.steps._compute_location_derivatives`.
    """
    moments = data.reduce(_kernel_bias_moments, weights, log_posterior, sigma)
    width = _UNIT_BOUNDS[1] - _UNIT_BOUNDS[0]
    proposal = _propose_location(
        bias, moments["gradient"], moments["curvature"], (-width, width)
    )

    def evaluate(values, groups):
        return data.update(
            _kernel_annotator_trial, values, sigma, weights, log_posterior, groups
        )["objective"]

    bias = _guarded_ascent(bias, proposal, moments["objective"], evaluate)
    data.update(_kernel_settle_trial, True)
    return bias


def _step_truncated_sigma(
    data, bias, sigma, weights, prior, min_sigma, propose_only=False, sums=None
):
    """One guarded Newton step on the precision ``1 / sigma**2``, truncated form.

    See :func:`skem._model.steps._compute_precision_derivatives`. The scaled
    inverse-chi-squared prior on ``log sigma**2`` adds ``(nu/2) log lam - nu
    tau^2 lam / 2``,
    concave too. First the joint step on every sigma and the shared scale
    (:func:`skem._model.steps._propose_joint_sigma`), taken if the objective does
    not decrease; else a Newton step per annotator, guarded. A step changes a
    precision by at most a factor ``_MAX_PRECISION_FACTOR`` and keeps ``sigma
    >= min_sigma``.

    Parameters
    ----------
    data : backend
        Blocks with the terms at the current parameters.
    bias, sigma : ndarray of shape (n_annotators,)
        ``sigma`` holds one repeated value for the shared form.
    weights : ndarray of shape (n_annotators,)
        Responsibility of each annotator (for the shared form, the output of
        :func:`_compute_annotator_weights`).
    prior : tuple of (float, float) or None
        ``(shared_sigma, noise_prior)`` of each annotator's prior, or None for
        one shared sigma without a prior.
    min_sigma : float
        Floor on sigma.
    propose_only : bool, default=False
        Return the proposal unchecked, and leave the blocks as they are.
    sums : dict, default=None
        The blocks' :func:`_kernel_annotator_sums`, if known.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
        The new shared scale: for the per-annotator prior, the joint step's
        if it raises the objective, else the best one given the guarded
        per-annotator step's sigma.
    """
    shared = prior is None
    if sums is None:
        sums = data.update(_kernel_annotator_sums, bias, sigma)
    gradient, curvature, objective_now = (
        weights * sums["scale_slope"],
        weights * sums["scale_information"],
        weights * sums["log_density"],
    )
    if shared:
        gradient, curvature, objective_now = (
            np.array([gradient.sum()]),
            np.array([curvature.sum()]),
            np.array([objective_now.sum()]),
        )
        precision = np.array([sigma[0] ** -2.0])
    else:
        precision = sigma**-2.0
    gradient, curvature = _compute_precision_derivatives(gradient, curvature, precision)
    limits = _precision_limits(precision, min_sigma)
    if not shared:
        # An annotator without ratings has its prior term alone, whose
        # maximum, sigma = tau, the proposal reaches at once: held back by a
        # factor, its sigma would trail tau and pull on tau's solve.
        empty = data.n_per_annotator == 0
        limits = (
            np.where(empty, 1.0, limits[0]),
            np.where(empty, min_sigma**-2.0, limits[1]),
        )

    def evaluate(values, groups, shared_sigma=None):
        group_sigma = values**-0.5
        if shared:
            annotator_sigma, annotators = np.full(sigma.shape[0], group_sigma[0]), None
        else:
            annotator_sigma, annotators = group_sigma, groups
        objective = data.update(
            _kernel_annotator_trial, bias, annotator_sigma, weights, None, annotators
        )["objective"]
        if shared:
            return np.array([objective.sum()])
        scale = prior[0] if shared_sigma is None else shared_sigma
        return objective + _compute_sigma_log_prior(group_sigma, scale, prior[1])

    if not shared:
        shared_sigma, noise_prior = prior
        joint_sigma, joint_shared = _propose_joint_sigma(
            gradient, curvature, precision, limits, noise_prior, min_sigma
        )
        if propose_only:
            return joint_sigma, joint_shared
        objective_now = objective_now + _compute_sigma_log_prior(
            sigma, shared_sigma, noise_prior
        )
        # The trial's terms are at the sigmas of these precisions, which the
        # step returns: the blocks' terms stay at the returned parameters.
        joint_precision = joint_sigma**-2.0
        objective = evaluate(joint_precision, None, joint_shared)
        total = objective_now.sum()
        if objective.sum() >= total - _rounding_slack(total):
            data.update(_kernel_settle_trial, True)
            return joint_precision**-0.5, joint_shared
        data.update(_kernel_settle_trial, False)
        half = 0.5 * noise_prior
        gradient = gradient + half / precision - 0.5 * noise_prior * shared_sigma**2
        curvature = curvature - half / precision**2
    proposal = _propose_precision(precision, gradient, curvature, limits)
    if propose_only:
        new_sigma = np.full(sigma.shape[0], proposal[0] ** -0.5)
        return new_sigma, float(new_sigma[0])
    values = _guarded_ascent(precision, proposal, objective_now, evaluate)
    data.update(_kernel_settle_trial, True)
    # Where nothing moved nothing was evaluated: the terms are still at sigma.
    new_sigma = sigma if values is precision else values**-0.5
    if shared:
        new_sigma = np.full(sigma.shape[0], new_sigma[0])
        return new_sigma, float(new_sigma[0])
    return new_sigma, _estimate_shared_sigma(new_sigma, min_sigma)


def _kernel_bias_moments(block, weights, log_posterior, sigma):
    """Each bias's gradient, curvature and objective, truncated form."""
    ratings, terms = block.ratings, block.terms
    rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
    gradient, curvature = _compute_location_derivatives(
        rating_weights, terms, ratings.annotator, ratings.n_annotators
    )
    return block, {
        "gradient": gradient,
        "curvature": curvature,
        "objective": _annotator_sum(ratings, rating_weights * terms["log_density"]),
    }


def _step_block_location(block, weights, log_posterior, bias, sigma):
    """:func:`_step_truncated_location` on a block's items; gold items stay."""
    ratings = block.ratings
    return _step_truncated_location(
        ratings,
        block.location,
        bias,
        sigma,
        _compute_rating_weights(ratings, weights, log_posterior),
        block.terms,
        _UNIT_BOUNDS,
        frozen=_frozen_items(block),
    )


def _propose_block_location(block, weights, log_posterior):
    """The Newton point of each of a block's items (see
    :func:`skem._model.newton._compute_location_derivatives`); gold items
    stay. Its weighted sums need no array of every rating's weight."""
    terms = block.terms
    gradient, curvature = _sum_weighted_by_item(
        block.ratings,
        weights,
        log_posterior,
        (terms["location_slope"], terms["location_information"]),
    )
    return _propose_location(
        block.location, gradient, curvature, _UNIT_BOUNDS, _frozen_items(block)
    )


def _frozen_items(block):
    """The block's gold items, which keep their location; None if none is gold."""
    return None if block.gold is None else ~np.isnan(block.gold)


def _kernel_location_step(block, weights, log_posterior, bias, sigma):
    """One guarded Newton step on each item's location.

    See :func:`skem._model.newton._step_truncated_location`. The outputs are
    the lowest and highest new location, which bound the shift that centres
    the biases.
    """
    location, terms = _step_block_location(block, weights, log_posterior, bias, sigma)
    # Terms of moved items only: the per-annotator sums are taken again when
    # needed (:func:`_kernel_annotator_sums`).
    sums = block.sums if terms is block.terms else None
    return replace(block, location=location, terms=terms, sums=sums), {
        "min_location": np.fmin.reduce(location, initial=np.inf),
        "max_location": np.fmax.reduce(location, initial=-np.inf),
    }


def _kernel_joint_trial(
    block, weights, log_posterior, bias, sigma, new_sigma, fraction=1.0
):
    """Try every item's Newton location (or ``fraction`` of the way) with new sigmas.

    The trial holds the proposed location and the terms there; the output
    is their per-annotator sums, as :func:`_kernel_annotator_sums` gives
    them: if the trial is taken, they are the next E-step's.
    """
    ratings = block.ratings
    location = _propose_block_location(block, weights, log_posterior)
    if fraction != 1.0:
        location = block.location + fraction * (location - block.location)
    terms, sums = _compute_truncated_terms(
        ratings, location, bias, new_sigma, with_sums=True
    )
    return replace(block, trial=_Trial(location, terms, sums=sums)), sums


def _kernel_shift_location(block, shift):
    """Move every location by ``shift``, leaving the terms as they are."""
    return replace(block, location=block.location + shift), {}


# The weights and prior of the sigma step, by the form's ``noise``.
_SIGMA_PRIORS = {
    "shared": _sigma_prior_shared,
    "per_annotator": _sigma_prior_per_annotator,
}

# The steps of the M-step before the rescue, by the form's ``bias``.
_TRUNCATED_STEPS = {"none": _step_without_bias, "per_annotator": _step_with_bias}
