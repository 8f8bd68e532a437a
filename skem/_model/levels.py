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
open there.
"""

import contextlib

import numpy as np

from skem._model.normal_mass import (
    _LOG_SQRT_2PI,
    _compute_truncated_moments,
    _half_square_from,
    _shifted_log_normal_mass,
)

# An open end of a cell is taken this many standard deviations beyond its
# other end and beyond the location: the normal's mass past it is below
# 1e-300 of the cell's.
_OPEN = 40.0

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
    residual.

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
    alpha, beta = _standardized_cell(score, location, sigma, bounds, half_step)
    # A cell narrower than the rounding of its ends (a held-out rating 1e16
    # steps away) is a point to double precision: its terms are the density's.
    point = ~(beta > alpha)
    any_point = point.any()
    if any_point:
        alpha = np.where(point, beta - 1.0, alpha)
    shifted, anchor = _shifted_log_normal_mass(alpha, beta)
    log_mass = shifted
    if anchor is not None:
        log_mass = shifted - 0.5 * anchor * anchor
    np.subtract(log_mass, np.log(2.0 * half_step), out=log_density)
    # phi(x) / Z with the anchor's square taken out of both, as for the
    # truncated form: far in a tail both are tiny, their ratio is not.
    log_scale = -_LOG_SQRT_2PI - shifted
    ratio_alpha = np.exp(log_scale - _half_square_from(alpha, anchor))
    ratio_beta = np.exp(log_scale - _half_square_from(beta, anchor))
    # A point's moments are overwritten below; far out they are inf - inf.
    with np.errstate(invalid="ignore") if any_point else contextlib.nullcontext():
        mean, var, second, var_square = _compute_truncated_moments(
            alpha, beta, ratio_alpha, ratio_beta
        )
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


def _standardized_cell(score, location, sigma, bounds, half_step):
    """Each rating's cell in standard deviations from its location.

    Parameters
    ----------
    score, location, sigma : ndarray of shape (n_ratings,)
    bounds : tuple of float
        ``(low, high)`` of the range in unit space.
    half_step : float

    Returns
    -------
    alpha, beta : ndarray of shape (n_ratings,)
        The cell's ends, ``alpha < beta``; an open end ``_OPEN`` standard
        deviations beyond the other end and the location, finite so that the
        moments' products stay defined.
    """
    low, high = bounds
    cell_low = score - half_step
    cell_high = score + half_step
    slack = _END_TOLERANCE * half_step
    alpha = (cell_low - location) / sigma
    beta = (cell_high - location) / sigma
    bottom = cell_low <= low + slack
    top = cell_high >= high - slack
    if bottom.any():
        alpha = np.where(bottom, np.minimum(beta, 0.0) - _OPEN, alpha)
    if top.any():
        beta = np.where(top, np.maximum(alpha, 0.0) + _OPEN, beta)
    return alpha, beta
