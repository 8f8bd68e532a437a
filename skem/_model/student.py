"""The Student-t forms: heavy-tailed good ratings, by EM on a scale mixture.

With ``tail=df`` a good rating is ``mu_i + b_a + sigma_a e`` with ``e``
Student-t with ``df`` degrees of freedom (on the whole real line, so for the
plain forms, ``bounded=False``). A wild rating of a careful annotator (a
typo, a slip of a counting task) then costs a few nats, not the square of
its distance, and pulls the consensus far less. The t is a normal whose
precision is scaled by a latent ``u ~ Gamma(df / 2, df / 2)``: EM adds the
scale weights ``u_ai = (df + 1) / (df + z_ai**2)`` to its E-step, and each
M-step is the plain normal form's closed form with every rating weighted by
its ``u`` (an ECM: locations, biases, sigmas, each a coordinate maximum of
the expected complete-data log posterior, so EM stays monotone). The rescue
of the annotators judged bad compares t densities.
"""

from dataclasses import replace

import numpy as np

from skem._em.ratings import _compute_item_middle_values
from skem._model.likelihoods import _compute_student_log_density
from skem._model.normal import (
    _sigma_shared_normal,
    _solve_sigma_per_annotator_normal,
)
from skem._model.rescue import _choose_sigma_by_marginal
from skem._model.steps import (
    _COMBINE,
    _TINY,
    _apply_gold,
    _centre_bias,
    _estimate_consensus_normal,
    _estimate_pi,
    _estimate_shared_sigma,
    _estimate_sigma_per_annotator_normal,
)
from skem._model.weights import (
    _compute_rating_weights,
)

# The consensus of a t form: reweighted means until the largest move is
# below this (in units of the score range), or this many of them.
_CONSENSUS_TOL = 1e-13
_CONSENSUS_MAX_STEPS = 500


def _compute_scale_weights(residual, sigma, df):
    """The E-step of the latent precision scales: ``(df + 1) / (df + z**2)``.

    Parameters
    ----------
    residual, sigma : ndarray of the same shape
    df : float

    Returns
    -------
    u : ndarray
        In ``(0, 1 + 1 / df]``; 1 on average over good ratings.
    """
    z = residual / sigma
    with np.errstate(over="ignore"):
        return (df + 1.0) / (df + z * z)


def _residuals(ratings, location, bias):
    return ratings.score - location[ratings.item] - bias[ratings.annotator]


def _start_student(form, data, params):
    """Each annotator's t ``log_density`` at the blocks' locations and ``params``."""
    return data.reduce(
        _kernel_student_log_density, params.bias, params.sigma, form.tail_df
    )


def _m_step_student(form, data, params, weights, log_posterior, statistics):
    """ECM step of the t forms: scale weights, then the weighted closed forms.

    The scale weights at the current parameters stay with the blocks for the
    whole step; the locations, the biases (centred) and the sigmas then take
    the plain normal forms' closed forms with each rating weighted by its
    scale weight; under the per-annotator prior, the rescue compares t
    densities.

    Returns
    -------
    bias, sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
    statistics : dict
        Each annotator's t ``log_density`` at the new parameters.
    """
    df = form.tail_df
    bias = params.bias
    data.update(
        _kernel_student_location, weights, log_posterior, bias, params.sigma, df
    )
    if form.bias == "per_annotator":
        sums = data.reduce(_kernel_weighted_residual_sums)
        bias = sums["residual_sums"] / np.maximum(sums["scale_sums"], _TINY)
        bias, shift = _centre_bias(bias, weights, data.n_per_annotator, data.has_gold)
        data.update(_kernel_shift_location, shift)
    sq_residuals = data.reduce(_kernel_weighted_sq_residuals, bias)["sq_residuals"]
    sigma, shared_sigma, log_density = _STUDENT_SIGMA_STEPS[form.noise](
        form, data, bias, weights, log_posterior, sq_residuals
    )
    return bias, sigma, shared_sigma, {"log_density": log_density}


def _sigma_shared_student(form, data, bias, weights, log_posterior, sq_residuals):
    """One pooled sigma from the scale-weighted squared residuals."""
    sigma, shared_sigma = _sigma_shared_normal(
        form, data, weights, log_posterior, sq_residuals
    )
    log_density = data.reduce(_kernel_student_log_density, bias, sigma, form.tail_df)
    return sigma, shared_sigma, log_density["log_density"]


def _sigma_per_annotator_student(
    form, data, bias, weights, log_posterior, sq_residuals
):
    """Each sigma and their shared scale, jointly; then the rescue, by t densities.

    See :func:`skem._model.normal._solve_sigma_per_annotator_normal` and
    :func:`skem._model.rescue._choose_sigma_by_marginal`; the candidate of an
    annotator judged bad is its sigma fitted as if it were good.
    """
    n = data.n_per_annotator
    sigma, shared_sigma = _solve_sigma_per_annotator_normal(
        form, n, weights, sq_residuals
    )
    candidate = _estimate_sigma_per_annotator_normal(
        sq_residuals,
        n,
        np.ones_like(weights),
        shared_sigma,
        form.noise_prior,
        form.min_sigma,
    )
    both = data.reduce(
        _kernel_student_log_density_pair, bias, sigma, candidate, form.tail_df
    )
    take = (weights < 0.5) & _choose_sigma_by_marginal(
        sigma,
        both["log_density"],
        candidate,
        both["candidate_log_density"],
        _estimate_pi(weights, data.in_mixture),
        np.zeros(data.n_annotators),
        (shared_sigma, form.noise_prior),
        _COMBINE[form.em],
    )
    if not take.any():
        return sigma, shared_sigma, both["log_density"]
    sigma = np.where(take, candidate, sigma)
    log_density = np.where(take, both["candidate_log_density"], both["log_density"])
    return sigma, _estimate_shared_sigma(sigma, form.min_sigma), log_density


def _estimate_consensus_student(ratings, rating_weights, params, df, gold=None):
    """Each item's location of t ratings at fixed annotator parameters.

    Reweighted precision-weighted means from the lower median of the item's
    counted ratings (bias-corrected), each an EM step of the item's weighted
    t log-likelihood, until the largest move is below ``_CONSENSUS_TOL``:
    the consensus of a t form, in a fit and in ``transform`` alike. The t
    likelihood of a location can have several maxima (two clusters of
    ratings); starting from a rating of the middle one, rather than between
    two, the reweighting climbs to the maximum at that rating's cluster, and
    the rounding of the parameters (a fit's against ``transform``'s) cannot
    tip it to the other.

    Parameters
    ----------
    ratings : _Ratings
    rating_weights : ndarray of shape (n_ratings,)
    params : _Params
    df : float
    gold : ndarray of shape (n_items,), default=None

    Returns
    -------
    consensus : ndarray of shape (n_items,)
        NaN for the items without any rating (and without gold).
    """
    bias, sigma = params.bias, params.sigma
    rating_sigma = sigma[ratings.annotator]
    corrected = ratings.score - bias[ratings.annotator]
    counted = rating_weights > 0
    location, _ = _compute_item_middle_values(
        ratings.item[counted], corrected[counted], ratings.n_items
    )
    for _ in range(_CONSENSUS_MAX_STEPS):
        previous = location
        u = _compute_scale_weights(corrected - location[ratings.item], rating_sigma, df)
        with np.errstate(invalid="ignore"):
            location = _estimate_consensus_normal(
                ratings, rating_weights * u, bias, sigma
            )
        # Every weight of an item underflowed (its ratings 1e154 sigmas away
        # from the median): the median stays.
        stuck = np.isnan(location) & ~np.isnan(previous)
        location[stuck] = previous[stuck]
        if not np.nanmax(np.abs(location - previous), initial=0) > _CONSENSUS_TOL:
            break
    return _apply_gold(location, gold)


def _kernel_student_location(block, weights, log_posterior, bias, sigma, df):
    """Scale weights at the block's locations, kept; then the weighted means."""
    ratings = block.ratings
    u = _compute_scale_weights(
        _residuals(ratings, block.location, bias), sigma[ratings.annotator], df
    )
    location = _estimate_consensus_normal(
        ratings,
        _compute_rating_weights(ratings, weights, log_posterior) * u,
        bias,
        sigma,
        block.gold,
    )
    return replace(block, location=location, terms={"scale_weight": u}), {}


def _kernel_weighted_residual_sums(block):
    """``sum_i u (s - mu_i)`` and ``sum_i u`` per annotator."""
    ratings, u = block.ratings, block.terms["scale_weight"]
    annotator, n = ratings.annotator, ratings.n_annotators
    deviation = ratings.score - block.location[ratings.item]
    return block, {
        "residual_sums": np.bincount(annotator, u * deviation, minlength=n),
        "scale_sums": np.bincount(annotator, u, minlength=n),
    }


def _kernel_shift_location(block, shift):
    """Move every location by ``shift``: ``mu + b`` and the weights stay."""
    return replace(block, location=block.location + shift), {}


def _kernel_weighted_sq_residuals(block, bias):
    """``sum_i u (s - mu_i - b_a)**2`` per annotator."""
    ratings = block.ratings
    residual = _residuals(ratings, block.location, bias)
    return block, {
        "sq_residuals": np.bincount(
            ratings.annotator,
            block.terms["scale_weight"] * residual * residual,
            minlength=ratings.n_annotators,
        )
    }


def _student_rating_log_density(form, ratings, location, bias, sigma):
    """As :func:`skem._model.normal._normal_rating_log_density`, for the t of
    ``form.tail_df``."""
    return _compute_student_log_density(
        _residuals(ratings, location, bias), sigma[ratings.annotator], form.tail_df
    )


def _kernel_student_log_density(block, bias, sigma, df):
    """Each annotator's ``sum_i log t(s_ia; mu_i + b_a, sigma_a, df)``."""
    ratings = block.ratings
    log_density = _compute_student_log_density(
        _residuals(ratings, block.location, bias), sigma[ratings.annotator], df
    )
    return block, {
        "log_density": np.bincount(
            ratings.annotator, log_density, minlength=ratings.n_annotators
        )
    }


def _kernel_student_log_density_pair(block, bias, sigma, candidate, df):
    """:func:`_kernel_student_log_density` at ``sigma`` and at ``candidate``."""
    ratings = block.ratings
    residual = _residuals(ratings, block.location, bias)
    n = ratings.n_annotators
    return block, {
        "log_density": np.bincount(
            ratings.annotator,
            _compute_student_log_density(residual, sigma[ratings.annotator], df),
            minlength=n,
        ),
        "candidate_log_density": np.bincount(
            ratings.annotator,
            _compute_student_log_density(residual, candidate[ratings.annotator], df),
            minlength=n,
        ),
    }


# How the sigmas move, by the form's ``noise``.
_STUDENT_SIGMA_STEPS = {
    "shared": _sigma_shared_student,
    "per_annotator": _sigma_per_annotator_student,
}
