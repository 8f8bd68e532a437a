"""form."""

from dataclasses import dataclass

import numpy as np

from skem._model.likelihoods import (
    _compute_sigma_log_prior,
)
from skem._model.newton import _step_truncated_location
from skem._model.normal import _m_step_normal, _start_normal
from skem._model.steps import (
    _compute_rating_weights,
    _estimate_consensus_normal,
    _estimate_pi,
)
from skem._model.truncated import (
    _compute_truncated_terms,
    _m_step_truncated,
    _start_truncated,
)

# The location of new items under a truncated form: Newton steps until the
# largest move is below this (in units of the score range).
_LOCATION_TOL = 1e-12
_LOCATION_MAX_STEPS = 100


@dataclass(frozen=True)
class _Params:
    """EM's per-annotator parameters, in unit score space.

    The per-item consensus lives with the items' ratings, in the backend's
    blocks (:class:`skem._em.backend._Block`).

    Attributes
    ----------
    bias : ndarray of shape (n_annotators,)
        Offset of each annotator's good ratings (zeros without ``bias``).
    sigma : ndarray of shape (n_annotators,)
        Standard deviation of each annotator's good ratings (one repeated
        value for the shared form).
    shared_sigma : float
        The scale of the per-annotator prior (``sigma`` for the shared form).
    pi : float
        Prior probability of a good annotator.
    """

    bias: np.ndarray
    sigma: np.ndarray
    shared_sigma: float
    pi: float


@dataclass(frozen=True)
class _ModelForm:
    """One form of the model, with its floor on sigma, ready for EM."""

    bounded: bool
    noise: str
    bias: bool
    strength: float
    min_sigma: float
    hard: bool = False

    def start(self, data, params):
        """Prepare the blocks at ``params``; return the statistics there.

        The statistics are a dict of per-annotator sums, among them
        ``log_density``, ``sum_i log f_good(s_ia)``, which the E-step needs.
        """
        return _STARTS[self.bounded](self, data, params)

    def m_step(self, data, params, weights, log_posterior, statistics):
        """Update the blocks; return the new parameters and their statistics.

        The form's M-step updates the blocks, the biases and the sigmas; pi
        follows the weights.
        """
        bias, sigma, shared_sigma, statistics = _M_STEPS[self.bounded](
            self, data, params, weights, log_posterior, statistics
        )
        if self.noise == "shared":
            shared_sigma = float(sigma[0])
        return _Params(bias, sigma, shared_sigma, _estimate_pi(weights)), statistics

    def log_prior(self, params):
        """Log prior density of the parameters (0 for the shared form)."""
        if self.noise == "shared":
            return 0.0
        return float(
            _compute_sigma_log_prior(
                params.sigma, params.shared_sigma, self.strength
            ).sum()
        )

    def consensus(self, ratings, params, weights, log_posterior, gold=None):
        """The consensus of each item: the precision-weighted mean of its ratings.

        For the plain normal forms this is also the location that EM fits;
        for the bounded forms the location can sit at the ends of the scale,
        and the consensus stays the mean rating of the good annotators.
        """
        rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
        return _estimate_consensus_normal(
            ratings, rating_weights, params.bias, params.sigma, gold
        )

    def location(self, ratings, params, weights, log_posterior, bounds):
        """Maximum-likelihood location of each item, annotator parameters fixed."""
        rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
        consensus = _estimate_consensus_normal(
            ratings, rating_weights, params.bias, params.sigma
        )
        if not self.bounded:
            return consensus
        # Ratings of weight 0 do not move a location; dropping them keeps a
        # far-off rating's -inf log density from meeting its zero weight.
        counted = rating_weights > 0
        if not counted.all():
            ratings = ratings.select(counted)
            rating_weights = rating_weights[counted]
        consensus = np.clip(consensus, *bounds)
        terms = _compute_truncated_terms(
            ratings, consensus, params.bias, params.sigma, bounds
        )
        for _ in range(_LOCATION_MAX_STEPS):
            previous = consensus
            consensus, terms = _step_truncated_location(
                ratings,
                consensus,
                params.bias,
                params.sigma,
                rating_weights,
                terms,
                bounds,
            )
            if not np.nanmax(np.abs(consensus - previous), initial=0) > _LOCATION_TOL:
                break
        return consensus


def _model_form(bounded, noise, bias, strength, min_sigma, hard=False):
    """Build the :class:`_ModelForm` of the estimator's parameters.

    ``hard`` says which objective EM climbs: an annotator's term is
    ``log(pi f_good + (1 - pi) f_bad)`` for soft EM and the larger of the two
    for hard EM, which matters to the coordinate step of
    :func:`_choose_sigma_by_marginal`.
    """
    return _ModelForm(
        bool(bounded), noise, bool(bias), float(strength), min_sigma, bool(hard)
    )


_STARTS = {False: _start_normal, True: _start_truncated}


_M_STEPS = {False: _m_step_normal, True: _m_step_truncated}
