"""Guarded Newton steps: the maths of the truncated forms' M-step.

The truncated normal is an exponential family in its location (sigma fixed)
and in its precision ``1 / sigma**2`` (location fixed), so each rating's term
is concave in either: a Newton step moves toward the maximum of its local
quadratic, and :func:`skem._model.steps._guarded_ascent` halves it until the
objective does not decrease, so that EM stays monotone. Pure functions of
arrays; the kernels and client steps of :mod:`skem._model.truncated` call
them.
"""

import numpy as np

from skem._model.likelihoods import (
    _KEPT_TERMS,
    _compute_good_terms,
    _Gather,
)
from skem._model.steps import _TINY, _guarded_ascent, _solve_shared_sigma

# A Newton step on a precision moves it by at most this factor either way.
_MAX_PRECISION_FACTOR = 16.0


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
    # One array for both products: each new array of every rating costs the
    # system's paging-in as much again.
    product = np.multiply(rating_weights, terms["location_slope"])
    gradient = np.bincount(group, product, minlength=n_groups)
    np.multiply(rating_weights, terms["location_information"], out=product)
    curvature = np.bincount(group, product, minlength=n_groups)
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
    proposal = (current + step).clip(*limits)
    if frozen is not None:
        proposal[frozen] = current[frozen]
    return proposal


def _step_truncated_location(
    ratings,
    location,
    bias,
    sigma,
    rating_weights,
    terms,
    bounds,
    frozen=None,
):
    """One guarded Newton step on each item's location, truncated form.

    See :func:`_compute_location_derivatives`. The location stays within the
    bounds, with or without biases: ratings on a bound would otherwise pull
    it to infinity, and the bounded forms promise a location on the scale.
    Every item's step depends on that item's ratings only.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings, unit scores.
    location : ndarray of shape (n_items,)
    bias, sigma : ndarray of shape (n_annotators,)
    rating_weights : ndarray of shape (n_ratings,)
        Output of :func:`skem._model.weights._compute_rating_weights`.
    terms : dict
        Per-rating terms at the current parameters, with bounds.
    bounds : tuple of float
        ``(low, high)`` of the truncation.
    frozen : ndarray of shape (n_items,), dtype bool, default=None
        Items that keep their value (gold items).

    Returns
    -------
    location : ndarray of shape (n_items,)
        The new location.
    terms : dict
        Per-rating terms at the new location.
    """
    item, n_items = ratings.item, ratings.n_items
    gradient, curvature = _compute_location_derivatives(
        rating_weights, terms, item, n_items
    )
    proposal = _propose_location(location, gradient, curvature, bounds, frozen)
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
            half_step=ratings.half_step,
            keep=_KEPT_TERMS,
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

    values = _guarded_ascent(location, proposal, objective_now, evaluate)
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


def _propose_joint_sigma(
    gradient, curvature, precision, limits, noise_prior, min_sigma
):
    """The joint maximum over each sigma and the shared scale of their prior.

    The data terms enter as their local quadratic in the precision, the
    scaled inverse-chi-squared prior on ``log sigma**2``, ``(nu/2) log lam -
    nu tau^2 lam / 2``, exactly; :func:`_solve_shared_sigma` finds the shared scale.

    Parameters
    ----------
    gradient, curvature, precision : ndarray of shape (n_annotators,)
        Output of :func:`_compute_precision_derivatives`, and the current
        precisions.
    limits : tuple of ndarray
        Lowest and highest precision of each annotator.
    noise_prior : float
        ``nu``.
    min_sigma : float
        Floor on sigma and on the shared scale.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
    """
    half = 0.5 * noise_prior
    lowest, highest = limits

    offset = gradient - curvature * precision
    discriminant = 4.0 * curvature * half

    def sigma_given(t):
        b = offset - half * t
        best = 2.0 * half / (np.sqrt(b * b - discriminant) - b)
        return np.maximum(np.fmin(best, highest), lowest) ** -0.5

    guess = precision.shape[0] / precision.sum()
    # An annotator without ratings under a weak prior has a best precision
    # beyond doubles: inf or NaN, which fmin takes to its highest. One errstate
    # for the whole solve: entered at each evaluation, it cost a third of one.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _solve_shared_sigma(
            sigma_given, precision.shape[0], min_sigma, guess=guess
        )


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
    # A huge gradient over a tiny curvature overflows to +-inf, which the
    # limits then clip: the step goes as far as it may.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        target = np.where(
            curvature < -_TINY, precision - gradient / curvature, precision
        )
    return target.clip(*limits)


def _precision_limits(precision, min_sigma):
    """How far a step may move each precision: a factor either way, and the box.

    The box is ``min_sigma <= sigma <= 1``: a bounded form's sigma never
    exceeds the range's width. The truncated density barely changes beyond
    it, but the levels' open outer cells would reward a sigma without bound
    for an annotator who rates only the ends, up to overflow in score units.
    """
    return (
        np.maximum(precision / _MAX_PRECISION_FACTOR, 1.0),
        np.minimum(precision * _MAX_PRECISION_FACTOR, min_sigma**-2.0),
    )
