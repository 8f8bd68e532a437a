"""The plain normal forms: every step in closed form.

Good ratings are ``Normal(mu_i + b_a, sigma_a**2)`` on the whole real line
(the lecture's model with ``noise='shared'`` and no bias). Each M-step is
exact: the locations are precision-weighted means, the biases mean
residuals, the sigmas pooled or shrunk toward their prior's scale.
"""

from dataclasses import replace

import numpy as np

from skem._em.backend import _run_steps
from skem._model.likelihoods import (
    _compute_good_terms,
    _estimate_normal_log_density,
    _Gather,
)
from skem._model.rescue import _choose_sigma_by_marginal
from skem._model.steps import (
    _COMBINE,
    _centre_bias,
    _compute_annotator_residual_sums,
    _compute_annotator_sq_residuals,
    _compute_excess_per_annotator_normal,
    _estimate_consensus_normal,
    _estimate_pi,
    _estimate_shared_sigma,
    _estimate_sigma_per_annotator_normal,
    _estimate_sigma_shared_normal,
    _rating_locations,
    _solve_shared_sigma,
)
from skem._model.weights import (
    _compute_annotator_weights,
    _compute_rating_weights,
)


def _start_normal(form, data, params):
    """Each annotator's ``log_density`` at the blocks' locations and ``params``.

    Parameters
    ----------
    form : _ModelForm
    data : backend
    params : _Params

    Returns
    -------
    statistics : dict
    """
    sq_residuals = data.reduce(_kernel_sq_residuals, params.bias)["sq_residuals"]
    return {
        "log_density": _estimate_normal_log_density(
            sq_residuals, data.n_per_annotator, params.sigma
        )
    }


def _m_step_normal(form, data, params, weights, log_posterior, statistics):
    """Closed-form M-step of the plain normal forms.

    The locations (with the biases, if any) then the sigmas, each from its
    table. The closed form needs none of the previous ``statistics``.

    Returns
    -------
    bias, sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
    statistics : dict
        Each annotator's ``log_density`` at the new parameters.
    """
    bias, sq_residuals = _NORMAL_LOCATION_STEPS[form.bias](
        data, params, weights, log_posterior
    )
    sigma, shared_sigma = _NORMAL_SIGMA_STEPS[form.noise](
        form, data, weights, log_posterior, sq_residuals
    )
    log_density = _estimate_normal_log_density(
        sq_residuals, data.n_per_annotator, sigma
    )
    return bias, sigma, shared_sigma, {"log_density": log_density}


def _locate_normal(data, params, weights, log_posterior):
    """Closed-form locations without biases; the squared residuals there.

    Returns
    -------
    bias : ndarray of shape (n_annotators,)
        ``params.bias``, unchanged.
    sq_residuals : ndarray of shape (n_annotators,)
    """
    outputs = data.update(
        _run_steps,
        [
            (
                _kernel_normal_location,
                (weights, log_posterior, params.bias, params.sigma),
            ),
            (_kernel_sq_residuals, (params.bias,)),
        ],
    )
    return params.bias, outputs["sq_residuals"]


def _locate_normal_with_bias(data, params, weights, log_posterior):
    """Closed-form locations, then biases, centred; the squared residuals there.

    Returns
    -------
    bias : ndarray of shape (n_annotators,)
    sq_residuals : ndarray of shape (n_annotators,)
    """
    outputs = data.update(
        _run_steps,
        [
            (
                _kernel_normal_location,
                (weights, log_posterior, params.bias, params.sigma),
            ),
            (_kernel_residual_sums, ()),
        ],
    )
    bias = _estimate_bias_normal(outputs["residual_sums"], data.n_per_annotator)
    bias, shift = _centre_bias(bias, weights, data.n_per_annotator, data.has_gold)
    outputs = data.update(_kernel_shift_location, shift, bias)
    return bias, outputs["sq_residuals"]


def _sigma_shared_normal(form, data, weights, log_posterior, sq_residuals):
    """One pooled sigma, from weights safe from underflow.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
        The pooled sigma.
    """
    n = data.n_per_annotator
    sigma = _estimate_sigma_shared_normal(
        sq_residuals,
        n,
        _compute_annotator_weights(n, weights, log_posterior),
        form.min_sigma,
    )
    return sigma, float(sigma[0])


def _sigma_per_annotator_normal(form, data, weights, log_posterior, sq_residuals):
    """Each sigma and the shared scale of their prior, jointly; then the rescue.

    The joint maximum (:func:`_solve_shared_sigma`); then each annotator
    judged bad may take the sigma fitted as if it were good, where that
    raises its own term of the objective (:func:`_choose_sigma_by_marginal`,
    as :func:`skem._model.rescue._rescue_truncated_sigma` does for the
    truncated forms). A good annotator's own update is already its best
    sigma. The weights of the annotators count one by one, so none
    underflows into a pooled sum and ``log_posterior`` is not needed.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
    """
    n = data.n_per_annotator
    noise_prior, min_sigma = form.noise_prior, form.min_sigma
    sigma, shared_sigma = _solve_sigma_per_annotator_normal(
        form, n, weights, sq_residuals
    )
    candidate = _estimate_sigma_per_annotator_normal(
        sq_residuals, n, np.ones_like(weights), shared_sigma, noise_prior, min_sigma
    )
    take = (weights < 0.5) & _choose_sigma_by_marginal(
        sigma,
        _estimate_normal_log_density(sq_residuals, n, sigma),
        candidate,
        _estimate_normal_log_density(sq_residuals, n, candidate),
        _estimate_pi(weights, data.in_mixture),
        np.zeros(data.n_annotators),
        (shared_sigma, noise_prior),
        _COMBINE[form.em],
    )
    sigma = np.where(take, candidate, sigma)
    return sigma, _estimate_shared_sigma(sigma, min_sigma)


def _solve_sigma_per_annotator_normal(form, n_per_annotator, weights, sq_residuals):
    """The joint maximum over each sigma and their shared scale, closed forms.

    See :func:`skem._model.steps._solve_shared_sigma`.

    Parameters
    ----------
    form : _ModelForm
    n_per_annotator, weights, sq_residuals : ndarray of shape (n_annotators,)

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
    """
    n, noise_prior, min_sigma = n_per_annotator, form.noise_prior, form.min_sigma
    return _solve_shared_sigma(
        lambda t: _estimate_sigma_per_annotator_normal(
            sq_residuals, n, weights, np.sqrt(t), noise_prior, min_sigma
        ),
        n.shape[0],
        min_sigma,
        lambda t: _compute_excess_per_annotator_normal(
            sq_residuals, n, weights, t, noise_prior, min_sigma
        ),
    )


def _kernel_sq_residuals(block, bias):
    """Squared residuals from the block's locations, per annotator."""
    return block, {
        "sq_residuals": _compute_annotator_sq_residuals(
            block.ratings, block.location, bias
        )
    }


def _kernel_residual_sums(block):
    """Residuals from the block's locations, summed per annotator."""
    return block, {
        "residual_sums": _compute_annotator_residual_sums(block.ratings, block.location)
    }


def _kernel_normal_location(block, weights, log_posterior, bias, sigma):
    """The closed-form location: each item's precision-weighted mean rating."""
    ratings = block.ratings
    location = _estimate_consensus_normal(
        ratings,
        _compute_rating_weights(ratings, weights, log_posterior),
        bias,
        sigma,
        block.gold,
    )
    return replace(block, location=location), {}


def _kernel_shift_location(block, shift, bias):
    """Move every location by ``shift``; the squared residuals there."""
    location = block.location + shift
    return replace(block, location=location), {
        "sq_residuals": _compute_annotator_sq_residuals(block.ratings, location, bias)
    }


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


# How the locations (and biases) move, by the form's ``bias``.
_NORMAL_LOCATION_STEPS = {
    "none": _locate_normal,
    "per_annotator": _locate_normal_with_bias,
}

# How the sigmas move, by the form's ``noise``.
_NORMAL_SIGMA_STEPS = {
    "shared": _sigma_shared_normal,
    "per_annotator": _sigma_per_annotator_normal,
}


def _normal_rating_log_density(form, ratings, location, bias, sigma):
    """Each rating's log density under the plain normal.

    Parameters
    ----------
    form : _ModelForm
    ratings : _Ratings
    location : ndarray of shape (n_items,)
    bias, sigma : ndarray of shape (n_annotators,)

    Returns
    -------
    log_density : ndarray of shape (n_ratings,)
    """
    return _compute_good_terms(
        ratings.score,
        _rating_locations(ratings.item, ratings.annotator, location, bias),
        _Gather(sigma, ratings.annotator),
        keep=("log_density",),
    )["log_density"]
