"""The sigma rescue: offer an annotator judged bad the sigma it would have if good.

An annotator whose weight is near 0 barely enters the M-step of its own
sigma, which then stays too narrow for an honest but noisy rater, who would
stay "bad" however well a wider sigma fits. The rescue is a coordinate step
on the objective itself (:func:`_choose_sigma_by_marginal`), so EM stays
monotone. The truncated forms evaluate the candidates as a trial on the
blocks (:mod:`skem._model.trial`) after a cheap screen that bounds each
candidate's density from above (:func:`_kernel_log_mass_sums`); the normal
forms, in closed form (:func:`skem._model.normal._sigma_per_annotator_normal`).
"""

from functools import partial

import numpy as np

from skem._model.likelihoods import (
    _CHUNK_SIZE,
    _compute_sigma_log_prior,
    _estimate_normal_log_density,
)
from skem._model.normal_mass import _log_normal_mass_lower_bound
from skem._model.steps import (
    _COMBINE,
    _UNIT_BOUNDS,
    _estimate_pi,
    _estimate_sigma_per_annotator_normal,
    _rounding_slack,
)
from skem._model.trial import _kernel_annotator_trial, _kernel_settle_trial


def _rescue_truncated_sigma(data, bias, sigma, weights, prior, em, current):
    """Offer the annotators judged bad a sigma fitted as if they were good.

    See :func:`_choose_sigma_by_marginal`. The candidate is the plain-normal
    update with weight 1, ``(SS_a + nu tau**2) / (n_a + nu)``, from the
    squared residuals of the annotators with weight below 0.5; one pass of
    the truncated density over their ratings decides. Without biases, an
    upper bound on each candidate's density first rules out the annotators
    whom that pass could not change (see :func:`_kernel_log_mass_sums`).

    Parameters
    ----------
    current : dict
        The blocks' :func:`_kernel_annotator_sums` at the current parameters.

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
    candidate = np.clip(candidate, np.min(sigma), 1.0)
    choose = partial(
        _choose_sigma_by_marginal,
        sigma,
        current["log_density"],
        candidate,
        pi=_estimate_pi(weights, data.n_per_annotator),
        log_bad=np.zeros(n_annotators),
        prior=prior,
        combine=_COMBINE[em],
    )
    if not np.any(bias):
        # Every location lies inside the bounds, where the truncated mass
        # only shrinks as sigma grows: a lower bound on it at the widest
        # candidate bounds each candidate's density from above, for one
        # exponential per item instead of normal CDFs per rating. Most
        # suspects are random raters, whom the bound already rules out.
        widest = float(np.max(candidate[suspect]))
        log_mass = data.reduce(_kernel_log_mass_sums, widest, suspect)["log_mass"]
        # On levels no suspect has a bound (-inf): the screen would keep them all.
        if np.isfinite(log_mass[suspect]).any():
            upper_bound = (
                _estimate_normal_log_density(sq_residuals, n_suspect, candidate)
                - log_mass
            )
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
    if ratings.half_step > 0:
        # A level's probability has no bound cheaper than the pass itself:
        # no suspect is ruled out.
        return block, {"log_mass": np.where(annotators, -np.inf, 0.0)}
    low, high = _UNIT_BOUNDS
    # -inf (no bound) where a location lies outside the bounds.
    inside = (location >= low) & (location <= high)
    log_mass = np.full(location.shape[0], -np.inf)
    log_mass[inside] = _log_normal_mass_lower_bound(
        (low - location[inside]) / sigma, (high - location[inside]) / sigma
    )
    # Summed over every rating, then kept for the selected annotators:
    # selecting their ratings costs more than summing all of them. A chunk at
    # a time, so that the gathered masses stay in cache.
    sums = np.zeros(ratings.n_annotators)
    for start in range(0, ratings.n_ratings, _CHUNK_SIZE):
        chunk = slice(start, start + _CHUNK_SIZE)
        sums += np.bincount(
            ratings.annotator[chunk],
            log_mass[ratings.item[chunk]],
            minlength=ratings.n_annotators,
        )
    return block, {"log_mass": np.where(annotators, sums, 0.0)}


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
