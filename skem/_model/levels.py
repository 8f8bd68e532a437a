"""The levels form: ratings on a discrete scale, each the interval around its level.

On a scale of ``K`` evenly spaced levels (ACR 1..5, a Likert item, 0..100 in
whole numbers) a good annotator's latent score is ``Normal(mu_i + b_a,
sigma_a**2)``, and the reported rating is the level whose cell holds it: the
interval of half a step either side of the level, the two outer cells open
to the scale's ends (a latent score beyond the top is still rated at the
top). A rating's likelihood is the normal's mass on its cell, a probability
of at most 1, so exact agreement is never rewarded without bound, as a
density would reward it when sigma shrinks below the spacing. A random
annotator picks each level with probability ``1 / K``: in the unit space of
the score range, which spans ``K`` cells of width ``2 h``, that is the
uniform density 1 times the cell's width. So each rating's term is ``log
P(cell) - log(2 h)``, a density on the same footing as the continuous forms'.

The mass of an interval is an exponential family in the location and in the
precision, as the truncated normal is, with the interval's moments in place
of the observed score's: EM reuses the truncated forms' guarded Newton steps
(:mod:`skem._model.truncated`) on the terms computed here. The ratings carry
the half-step (:attr:`skem._em.ratings._Ratings.half_step`); which cells are
open follows from the bounds: a cell that reaches an end of the range is
open there. The predictive check also reads the ratings with the outer cells
closed at the range's ends (:func:`_compute_closed_level_log_density`), so
that no verdict rests on how an annotator uses the scale's ends alone.
"""

import contextlib

import numpy as np

from skem._model.normal_mass import (
    _LOG_SQRT_2PI,
    _compute_log_mass_ratios,
    _compute_truncated_moments,
)

# An open end of a cell is taken this many standard deviations beyond its
# other end and beyond the location: the normal's mass past it is below
# 1e-300 of the cell's.
_OPEN = 40.0
# Beyond every standardized end (ratings on levels lie in the range, sigma is
# at least 1e-8 of it): the minimum with it leaves an end as it is.
_NOT_OPEN = 1e300

# A cell is open at an end of the range if its own end lies within this
# fraction of the half-step of it: the unit scores of the outer levels are
# the half-step from the ends up to rounding.
_END_TOLERANCE = 0.5

# Var[t^2] of a rating read as a point is at most 2; of a cell it can exceed
# 2 (an outer cell far in the tail), where the log mass is convex in the
# precision. The precision step's curvature is floored at this, which only
# shapes the step: the guard decides whether it is taken.
_MIN_SCALE_INFORMATION = 0.5


def _compute_level_chunk_terms(
    score, location, sigma, log_sigma, bounds, half_step, out
):
    """Fill ``out``, one chunk of the terms of level ratings.

    The same terms as the truncated form's
    (:func:`skem._model.likelihoods._compute_good_terms`), for a rating
    observed as its cell ``[alpha, beta]`` (standardized) rather than as a
    point: ``log_density = log(Phi(beta) - Phi(alpha)) - log(2 h)``; with
    ``t`` the standard normal restricted to the cell, ``location_slope =
    E[t] / sigma`` and ``location_information = (1 - Var[t]) / sigma**2``, the
    first derivative of the log mass in the location and minus the second;
    ``scale_slope = 1 - E[t^2]`` and ``scale_information = 2 - Var[t^2]``
    (floored at ``_MIN_SCALE_INFORMATION``), the same in the precision up to
    the factors of the truncated form. ``z`` is the level's standardized
    residual. The moments are taken on the cell reflected through the
    location (:func:`_reflected_cell`), where only ``E[t]`` changes sign.

    Parameters
    ----------
    score, location, sigma, log_sigma : ndarray of shape (n_chunk,)
        Unit scores (the levels), ``mu_i + b_a``, ``sigma_a`` and its log.
    bounds : tuple of float
        ``(low, high)`` of the range in unit space.
    half_step : float
        Half the spacing of the levels, in unit space.
    out : list of ndarray
        ``z, log_density, location_slope, location_information,
        scale_slope, scale_information``, each of shape (n_chunk,).
    """
    z, log_density, location_slope, location_information = out[:4]
    scale_slope, scale_information = out[4:]
    np.subtract(score, location, out=z)
    z /= sigma
    near, far, below = _reflected_cell(score, location, sigma, bounds, half_step)
    # A cell narrower than the rounding of its ends (a held-out rating 1e16
    # steps away) is a point to double precision: its terms are the density's.
    point = ~(far > near)
    any_point = point.any()
    if any_point:
        near = np.where(point, far - 1.0, near)
    # A point's moments are overwritten below; far out they are inf - inf.
    with (
        np.errstate(invalid="ignore", divide="ignore")
        if any_point
        else contextlib.nullcontext()
    ):
        log_mass, ratio_near, ratio_far = _compute_log_mass_ratios(near, far)
        mean, var, second, var_square = _compute_truncated_moments(
            near, far, ratio_near, ratio_far
        )
    np.subtract(log_mass, np.log(2.0 * half_step), out=log_density)
    # E[t] of the cell itself: the reflected one's, negated where reflected.
    mean *= 1.0 - 2.0 * below
    np.divide(mean, sigma, out=location_slope)
    # A normal restricted to an interval has Var[t] < 1; far in a tail the
    # recursion's rounding can say otherwise, and the step only needs a shape.
    np.subtract(1.0, np.minimum(var, 1.0), out=location_information)
    location_information /= sigma
    location_information /= sigma
    np.subtract(1.0, second, out=scale_slope)
    np.subtract(2.0, var_square, out=scale_information)
    np.maximum(scale_information, _MIN_SCALE_INFORMATION, out=scale_information)
    if any_point:
        # P(cell) / (2 h) is then the density at the level, phi(z) / sigma.
        z_point = z[point]
        with np.errstate(over="ignore"):
            z_squared = z_point * z_point
        log_density[point] = -_LOG_SQRT_2PI - log_sigma[point] - 0.5 * z_squared
        location_slope[point] = z_point / sigma[point]
        location_information[point] = 1.0 / sigma[point] ** 2
        scale_slope[point] = 1.0 - z_squared
        scale_information[point] = 2.0


def _compute_closed_level_log_density(score, location, sigma, bounds, half_step):
    """Each level rating's log mass under the normal truncated to the range.

    The outer cells end at the range's ends instead of opening beyond them:
    the latent score is the normal restricted to the range, as the bounded
    form reads exact scores, and a rating's probability is its cell's share
    of the range's mass. So the outer levels hold no more than their cells
    (an open cell holds the whole tail), and on ever finer levels the log
    density tends to the truncated normal's. The predictive check reads the
    ends so too (:mod:`skem._model.predictive`); EM does not.

    Parameters
    ----------
    score, location, sigma : ndarray of shape (n_ratings,)
        Unit scores (the levels), their locations and standard deviations.
    bounds : tuple of float
        ``(low, high)`` of the range in unit space.
    half_step : float
        Half the spacing of the levels, in unit space.

    Returns
    -------
    log_density : ndarray of shape (n_ratings,)
        ``log(P(cell) / P(range)) - log(2 h)``, the cells closed at the range's
        ends; a cell narrower than the rounding of its ends has the truncated
        normal's log density at the level.
    """
    near, far, _ = _reflected_cell(
        score, location, sigma, bounds, half_step, open_ends=False
    )
    low, high = bounds
    range_near, range_far, _ = _reflected_cell(
        np.full(np.shape(score), 0.5 * (low + high)),
        location,
        sigma,
        bounds,
        0.5 * (high - low),
        open_ends=False,
    )
    point = ~(far > near)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_mass = _compute_log_mass_ratios(np.where(point, far - 1.0, near), far)[0]
    log_range = _compute_log_mass_ratios(range_near, range_far)[0]
    log_density = log_mass - log_range - np.log(2.0 * half_step)
    if point.any():
        z = (score[point] - location[point]) / sigma[point]
        log_density[point] = (
            -_LOG_SQRT_2PI - np.log(sigma[point]) - 0.5 * z * z - log_range[point]
        )
    return log_density


def _reflected_cell(score, location, sigma, bounds, half_step, open_ends=True):
    """Each rating's cell in standard deviations from its location, reflected.

    A cell below its location is reflected through it, so that the cell lies
    mostly above the location (the case :func:`_compute_log_mass_ratios`
    computes without masks): its ends are ``(|s - m| -+ h) / sigma``. The
    normal is symmetric, so the mass, ``Var[t]``, ``E[t^2]`` and ``Var[t^2]``
    are the cell's own; ``E[t]`` changes sign.

    Parameters
    ----------
    score, location, sigma : ndarray of shape (n_ratings,)
    bounds : tuple of float
        ``(low, high)`` of the range in unit space.
    half_step : float
    open_ends : bool, default=True
        Whether a cell that reaches an end of the range opens beyond it.

    Returns
    -------
    near, far : ndarray of shape (n_ratings,)
        The reflected cell's ends, ``near < far``; an open end ``_OPEN``
        standard deviations beyond the other end and the location, finite
        so that the moments' products stay defined. An open near end (the
        cell holds the location's side beyond it) leaves a mass of at least
        1/2.
    below : ndarray of bool of shape (n_ratings,)
        Whether the cell was reflected: the level lies below the location.
    """
    low, high = bounds
    residual = np.subtract(score, location)
    below = residual < 0
    distance = np.abs(residual, out=residual)
    near = distance - half_step
    near /= sigma
    far = np.add(distance, half_step, out=distance)
    far /= sigma
    if not open_ends:
        return near, far, below
    slack = _END_TOLERANCE * half_step
    bottom = score - half_step <= low + slack
    top = score + half_step >= high - slack
    if bottom.any() or top.any():
        # Reflection swaps which end of the cell is near. Arithmetic, not
        # np.where, which costs several passes. An open near end goes to at
        # most -_OPEN (far > 0 always); an open far end to at least _OPEN
        # beyond the near one (far > 0 is kept where it is not open).
        open_near = (bottom & ~below) | (top & below)
        open_far = (bottom & below) | (top & ~below)
        np.minimum(near, np.multiply(~open_near, _NOT_OPEN) - _OPEN, out=near)
        reach = np.maximum(near, 0.0)
        reach += _OPEN
        reach *= open_far
        np.maximum(far, reach, out=far)
    return near, far, below
