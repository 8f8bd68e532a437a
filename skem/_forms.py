"""The model forms: which statistics and updates each form of the good component uses.

A form is chosen by three parameters, the way ``covariance_type`` chooses a
Gaussian mixture's: ``bounded`` (normal, or normal truncated to the score
range), ``noise`` (one sigma, or one per annotator under a prior toward a
shared scale) and ``bias`` (per-annotator offsets). :func:`_model_form` looks
each piece up in the tables below once per fit; the EM driver only calls the
resulting :class:`_ModelForm`.
"""

import functools
from dataclasses import dataclass, replace

import numpy as np

from skem._likelihoods import (
    _compute_good_terms,
    _compute_sigma_log_prior,
    _estimate_normal_log_density,
)
from skem._updates import (
    _center_bias,
    _choose_sigma_by_marginal,
    _compute_annotator_sq_residuals,
    _compute_annotator_weights,
    _compute_rating_weights,
    _estimate_bias_normal,
    _estimate_consensus_normal,
    _estimate_pi,
    _estimate_shared_sigma,
    _estimate_sigma_per_annotator_normal,
    _estimate_sigma_shared_normal,
    _solve_shared_sigma,
    _step_truncated_location,
    _step_truncated_sigma,
)

# Unit score space: EM's bounds of the scale.
_UNIT_BOUNDS = (0.0, 1.0)

# The location of new items under a truncated form: Newton steps until the
# largest move is below this (in units of the score range).
_LOCATION_TOL = 1e-12
_LOCATION_MAX_STEPS = 100


@dataclass(frozen=True)
class _Params:
    """EM's parameters, in unit score space.

    Attributes
    ----------
    mu : ndarray of shape (n_items,)
        Consensus of each item.
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

    mu: np.ndarray
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

    def compute_statistics(self, ratings, params):
        """The per-form statistics that the next E-step and M-step need."""
        return _COMPUTE_STATISTICS[self.bounded](ratings, params)

    def m_step(self, ratings, params, weights, log_posterior, gold, statistics):
        """Return the new parameters and their statistics."""
        return _M_STEPS[self.bounded](
            self, ratings, params, weights, log_posterior, gold, statistics
        )

    def good_log_density(self, ratings, params, statistics):
        """``sum_i log f_good(s_ia)`` of each annotator at ``params``."""
        return _GOOD_LOG_DENSITY[self.bounded](ratings, params, statistics)

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
        annotator_params = replace(params, mu=consensus)
        terms = _compute_truncated_statistics(ratings, annotator_params, bounds)
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
                by="item",
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


def _compute_normal_statistics(ratings, params):
    return _compute_annotator_sq_residuals(ratings, params.mu, params.bias)


def _compute_truncated_statistics(ratings, params, bounds=_UNIT_BOUNDS):
    annotator = ratings.annotator
    return _compute_good_terms(
        ratings.score,
        params.mu[ratings.item] + params.bias[annotator],
        params.sigma[annotator],
        bounds,
    )


_SIGMA_UPDATES_NORMAL = {
    "shared": _estimate_sigma_shared_normal,
    "per_annotator": _estimate_sigma_per_annotator_normal,
}


def _finish_m_step(form, mu, bias, sigma, shared_sigma, weights):
    """Assemble the new parameters; pi follows w."""
    if form.noise == "shared":
        shared_sigma = float(sigma[0])
    return _Params(mu, bias, sigma, shared_sigma, _estimate_pi(weights))


def _m_step_normal(form, ratings, params, weights, log_posterior, gold, statistics):
    """Closed-form M-step of the plain normal forms.

    Returns the new parameters and the annotators' squared residuals at them.
    """
    rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
    mu = _estimate_consensus_normal(
        ratings, rating_weights, params.bias, params.sigma, gold
    )
    bias = params.bias
    if form.bias:
        bias = _estimate_bias_normal(ratings, mu)
        mu, bias = _center_bias(mu, bias, weights, gold)
    sq_residuals = _compute_annotator_sq_residuals(ratings, mu, bias)
    sigma_weights = (
        _compute_annotator_weights(ratings, weights, log_posterior)
        if form.noise == "shared"
        else weights
    )
    update = _SIGMA_UPDATES_NORMAL[form.noise]
    n = ratings.n_per_annotator
    shared_sigma = params.shared_sigma
    if form.noise == "shared":
        sigma = update(sq_residuals, n, sigma_weights, None, None, form.min_sigma)
    else:
        sigma, shared_sigma = _solve_shared_sigma(
            lambda t: update(
                sq_residuals,
                n,
                sigma_weights,
                np.sqrt(t),
                form.strength,
                form.min_sigma,
            ),
            ratings.n_annotators,
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
        take = _choose_sigma_by_marginal(
            sigma,
            _estimate_normal_log_density(sq_residuals, n, sigma),
            candidate,
            _estimate_normal_log_density(sq_residuals, n, candidate),
            _estimate_pi(weights),
            np.zeros(ratings.n_annotators),
            (shared_sigma, form.strength),
            _COMBINE[form.hard],
        )
        sigma = np.where(take, candidate, sigma)
        shared_sigma = _estimate_shared_sigma(sigma, form.min_sigma)
    params = _finish_m_step(form, mu, bias, sigma, shared_sigma, weights)
    return params, sq_residuals


def _m_step_truncated(form, ratings, params, weights, log_posterior, gold, terms):
    """Generalized M-step of the truncated forms: guarded Newton steps.

    First a joint step: each item's consensus and each annotator's precision
    (with the shared scale) move to their Newton proposals at once, taken if
    the expected complete-data log posterior does not decrease; one pass of
    normal CDFs over the ratings. Otherwise, and always with biases, the
    blocks step one after the other, each guarded per item or annotator.
    Returns the new parameters and the per-rating terms at them.
    """
    rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
    frozen = None if gold is None else ~np.isnan(gold)
    if form.noise == "shared":
        sigma_weights, prior = (
            _compute_annotator_weights(ratings, weights, log_posterior),
            None,
        )
    else:
        sigma_weights, prior = weights, (params.shared_sigma, form.strength)
    location_step = functools.partial(
        _step_truncated_location,
        ratings,
        rating_weights=rating_weights,
        bounds=_UNIT_BOUNDS,
        frozen=frozen,
    )
    sigma_step = functools.partial(
        _step_truncated_sigma,
        ratings,
        weights=sigma_weights,
        bounds=_UNIT_BOUNDS,
        prior=prior,
        min_sigma=form.min_sigma,
    )
    accepted = None
    if not form.bias:
        accepted = _joint_truncated_step(
            form, ratings, params, weights, terms, location_step, sigma_step
        )
    if accepted is not None:
        mu, sigma, shared_sigma, terms = accepted
        bias = params.bias
    else:
        mu, terms = location_step(
            consensus=params.mu,
            bias=params.bias,
            sigma=params.sigma,
            terms=terms,
            by="item",
        )
        bias = params.bias
        if form.bias:
            bias, terms = location_step(
                consensus=mu,
                bias=bias,
                sigma=params.sigma,
                terms=terms,
                by="annotator",
                frozen=None,
            )
            mu, bias = _center_bias(mu, bias, weights, gold)
        sigma, shared_sigma, terms = sigma_step(
            consensus=mu, bias=bias, sigma=params.sigma, terms=terms
        )
    if prior is not None:
        sigma, terms = _rescue_truncated_sigma(
            ratings,
            mu,
            bias,
            sigma,
            weights,
            terms,
            (shared_sigma, form.strength),
            form.hard,
        )
        shared_sigma = _estimate_shared_sigma(sigma, form.min_sigma)
    params = _finish_m_step(form, mu, bias, sigma, shared_sigma, weights)
    return params, terms


def _joint_truncated_step(
    form, ratings, params, weights, terms, location_step, sigma_step
):
    """The joint proposal of consensus and sigma, or None if it lowers Q."""
    mu, _ = location_step(
        consensus=params.mu,
        bias=params.bias,
        sigma=params.sigma,
        terms=terms,
        by="item",
        propose_only=True,
    )
    sigma, shared_sigma, _ = sigma_step(
        consensus=params.mu,
        bias=params.bias,
        sigma=params.sigma,
        terms=terms,
        propose_only=True,
    )
    new_terms = _compute_truncated_statistics(
        ratings, _Params(mu, params.bias, sigma, shared_sigma, params.pi)
    )
    rating_weights = weights[ratings.annotator]
    before = rating_weights @ terms["log_density"] + form.log_prior(params)
    after = rating_weights @ new_terms["log_density"] + form.log_prior(
        _Params(mu, params.bias, sigma, shared_sigma, params.pi)
    )
    if not after >= before:
        return None
    return mu, sigma, shared_sigma, new_terms


def _rescue_truncated_sigma(ratings, mu, bias, sigma, weights, terms, prior, hard):
    """Offer the annotators judged bad a sigma fitted as if they were good.

    See :func:`_choose_sigma_by_marginal`. The candidate is the plain-normal
    update with weight 1, ``(SS_a + nu tau**2) / (n_a + nu + 2)``: one pass
    over the ratings of the annotators with weight below 0.5, and one more to
    evaluate the truncated density there.
    """
    suspect = weights < 0.5
    selected = suspect[ratings.annotator]
    if not selected.any():
        return sigma, terms
    subset = ratings.select(selected)
    n_annotators = ratings.n_annotators
    candidate = _estimate_sigma_per_annotator_normal(
        _compute_annotator_sq_residuals(subset, mu, bias),
        subset.n_per_annotator,
        np.ones(n_annotators),
        *prior,
        0.0,
    )
    candidate = np.clip(candidate, np.min(sigma), 1.0)
    candidate_terms = _compute_truncated_statistics(
        subset, _Params(mu, bias, candidate, prior[0], 0.5)
    )
    take = suspect & _choose_sigma_by_marginal(
        sigma,
        np.bincount(ratings.annotator, terms["log_density"], minlength=n_annotators),
        candidate,
        np.bincount(
            subset.annotator, candidate_terms["log_density"], minlength=n_annotators
        ),
        _estimate_pi(weights),
        np.zeros(n_annotators),
        prior,
        _COMBINE[hard],
    )
    if not take.any():
        return sigma, terms
    taken = take[subset.annotator]
    into = np.flatnonzero(selected)[taken]
    terms = {key: value.copy() for key, value in terms.items()}
    for key, value in candidate_terms.items():
        terms[key][into] = value[taken]
    return np.where(take, candidate, sigma), terms


# How an annotator's two joint log probabilities make its term of the objective.
_COMBINE = {False: np.logaddexp, True: np.maximum}

_COMPUTE_STATISTICS = {
    False: _compute_normal_statistics,
    True: _compute_truncated_statistics,
}

_M_STEPS = {False: _m_step_normal, True: _m_step_truncated}

_GOOD_LOG_DENSITY = {
    False: lambda ratings, params, sq_residuals: _estimate_normal_log_density(
        sq_residuals, ratings.n_per_annotator, params.sigma
    ),
    True: lambda ratings, params, terms: np.bincount(
        ratings.annotator, terms["log_density"], minlength=ratings.n_annotators
    ),
}
