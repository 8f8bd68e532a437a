"""normal."""

from dataclasses import replace

import numpy as np

from skem._model.likelihoods import (
    _estimate_normal_log_density,
)
from skem._model.rescue import _choose_sigma_by_marginal
from skem._model.steps import (
    _COMBINE,
    _compute_annotator_residual_sums,
    _compute_annotator_sq_residuals,
    _compute_annotator_weights,
    _compute_bias_shift,
    _compute_rating_weights,
    _estimate_consensus_normal,
    _estimate_pi,
    _estimate_shared_sigma,
    _estimate_sigma_per_annotator_normal,
    _estimate_sigma_shared_normal,
    _solve_shared_sigma,
)


def _start_normal(form, data, params):
    sq_residuals = data.reduce(_kernel_sq_residuals, params.bias)["sq_residuals"]
    return {
        "log_density": _estimate_normal_log_density(
            sq_residuals, data.n_per_annotator, params.sigma
        )
    }


def _kernel_sq_residuals(block, bias):
    """Squared residuals per annotator."""
    return block, {
        "sq_residuals": _compute_annotator_sq_residuals(block.ratings, block.mu, bias)
    }


def _kernel_normal_consensus(block, weights, log_posterior, bias, sigma, with_bias):
    """The closed-form consensus; the sums that the annotators' update needs."""
    ratings = block.ratings
    mu = _estimate_consensus_normal(
        ratings,
        _compute_rating_weights(ratings, weights, log_posterior),
        bias,
        sigma,
        block.gold,
    )
    if with_bias:
        outputs = {"residual_sums": _compute_annotator_residual_sums(ratings, mu)}
    else:
        outputs = {"sq_residuals": _compute_annotator_sq_residuals(ratings, mu, bias)}
    return replace(block, mu=mu), outputs


def _kernel_shift_consensus(block, shift, bias):
    """Move every consensus by ``shift``; the squared residuals there."""
    mu = block.mu + shift
    return replace(block, mu=mu), {
        "sq_residuals": _compute_annotator_sq_residuals(block.ratings, mu, bias)
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


_SIGMA_UPDATES_NORMAL = {
    "shared": _estimate_sigma_shared_normal,
    "per_annotator": _estimate_sigma_per_annotator_normal,
}


def _m_step_normal(form, data, params, weights, log_posterior, statistics):
    """Closed-form M-step of the plain normal forms.

    Returns the new bias, sigma and shared scale, and each annotator's
    ``log_density`` at them.
    """
    n = data.n_per_annotator
    outputs = data.update(
        _kernel_normal_consensus,
        weights,
        log_posterior,
        params.bias,
        params.sigma,
        form.bias,
    )
    bias = params.bias
    if form.bias:
        bias = _estimate_bias_normal(outputs["residual_sums"], n)
        shift = _compute_bias_shift(bias, weights, data.has_gold)
        bias = bias - shift
        outputs = data.update(_kernel_shift_consensus, shift, bias)
    sq_residuals = outputs["sq_residuals"]
    update = _SIGMA_UPDATES_NORMAL[form.noise]
    shared_sigma = params.shared_sigma
    if form.noise == "shared":
        sigma = update(
            sq_residuals,
            n,
            _compute_annotator_weights(n, weights, log_posterior),
            None,
            None,
            form.min_sigma,
        )
    else:
        sigma, shared_sigma = _solve_shared_sigma(
            lambda t: update(
                sq_residuals, n, weights, np.sqrt(t), form.strength, form.min_sigma
            ),
            data.n_annotators,
            form.min_sigma,
        )
        candidate = update(
            sq_residuals,
            n,
            np.ones_like(weights),
            shared_sigma,
            form.strength,
            form.min_sigma,
        )
        # As in _rescue_truncated_sigma: a good annotator's own update is
        # already its best sigma.
        take = (weights < 0.5) & _choose_sigma_by_marginal(
            sigma,
            _estimate_normal_log_density(sq_residuals, n, sigma),
            candidate,
            _estimate_normal_log_density(sq_residuals, n, candidate),
            _estimate_pi(weights),
            np.zeros(data.n_annotators),
            (shared_sigma, form.strength),
            _COMBINE[form.hard],
        )
        sigma = np.where(take, candidate, sigma)
        shared_sigma = _estimate_shared_sigma(sigma, form.min_sigma)
    log_density = _estimate_normal_log_density(sq_residuals, n, sigma)
    return bias, sigma, shared_sigma, {"log_density": log_density}
