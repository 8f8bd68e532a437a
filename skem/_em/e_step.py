"""The E-steps of soft and hard EM: each annotator's posterior, and the objective.

Only the annotators with enough evidence are in the good/random mixture
(:func:`skem._model.evidence._mixture_annotators`); the other annotators
with ratings enter as good. Soft EM still reports their posterior, hard EM
their flag in the fit, 1; the M-step weighs their ratings 1 and their term
of the objective is their good log density (see :func:`_e_step`).
"""

import numpy as np

from skem._model.likelihoods import _estimate_log_posterior

# Log-odds this close to the best, relative to the size of the log joint
# probabilities they come from, count as tied in the hard E-step: rounding.
_TIE_RTOL = 1e-12


def _e_step(
    em, log_good, log_bad, log_density, in_mixture, rated, previous_weights=None
):
    """The E-step of ``em``: the posterior, the M-step's weights, the objective.

    Parameters
    ----------
    em : {'soft', 'hard'}
    log_good, log_bad : ndarray of shape (n_annotators,)
        Log joint probability of each annotator's ratings with ``z=1``,
        ``z=0``.
    log_density : ndarray of shape (n_annotators,)
        ``sum_i log f_good(s_ia)``, ``log_good`` without ``log pi``.
    in_mixture, rated : ndarray of shape (n_annotators,), dtype bool
        The annotators in the mixture, and those with ratings.
    previous_weights : ndarray of shape (n_annotators,), default=None
        The previous E-step's flags (hard EM).

    Returns
    -------
    posterior : dict
        ``objective``: the terms of the annotators in the mixture (soft:
        ``log(pi f_good + (1 - pi) f_bad)``; hard: the larger) plus ``sum_i
        log f_good`` of the other rated annotators. ``weights``,
        ``log_posterior``, ``log_posterior_bad``: every annotator's posterior
        (hard: its flag, 1 outside the mixture), as reported. ``responsibility`` and
        ``log_responsibility``: what the M-step weighs each annotator's
        ratings by, the posterior in the mixture and 1 elsewhere.
    """
    objective, weights, log_posterior, log_posterior_bad = _E_STEPS[em](
        log_good, log_bad, in_mixture, previous_weights
    )
    presumed = rated & ~in_mixture
    objective += float(log_density.sum(where=presumed))
    if em == "hard":
        # The flags are the fit's: an annotator outside the mixture is good.
        weights = np.where(presumed, 1.0, weights)
    return {
        "objective": objective,
        "weights": weights,
        "log_posterior": log_posterior,
        "log_posterior_bad": log_posterior_bad,
        "responsibility": np.where(presumed, 1.0, weights),
        "log_responsibility": np.where(presumed, 0.0, log_posterior),
    }


def _soft_e_step(log_good, log_bad, in_mixture, previous_weights=None):
    """Soft E-step: the posterior, and the mixture's marginal log-likelihood."""
    log_marginal, log_posterior, log_posterior_bad = _estimate_log_posterior(
        log_good, log_bad
    )
    objective = float(log_marginal.sum(where=in_mixture))
    return objective, np.exp(log_posterior), log_posterior, log_posterior_bad


def _hard_e_step(log_good, log_bad, in_mixture, previous_weights=None):
    """Hard E-step: the best flags, and the mixture's classification log-likelihood.

    Parameters
    ----------
    log_good, log_bad : ndarray of shape (n_annotators,)
        Log joint probability of each annotator's ratings with ``z=1``,
        ``z=0``.
    in_mixture : ndarray of shape (n_annotators,), dtype bool
        Which annotators are in the mixture (all have ratings).
    previous_weights : ndarray of shape (n_annotators,), default=None
        The previous E-step's flags, kept if the new assignment would be
        worse.

    Returns
    -------
    objective : float
        Over the annotators in the mixture.
    weights : ndarray of shape (n_annotators,)
        1.0 for good, 0.0 for bad; an annotator without ratings is good if
        ``pi >= 0.5``, as its posterior says, and counts nowhere.
    log_posterior, log_posterior_bad : ndarray of shape (n_annotators,)
    """
    _, log_posterior, log_posterior_bad = _estimate_log_posterior(log_good, log_bad)
    good = _assign_good_annotators(log_good, log_bad, in_mixture)
    # An annotator without ratings has no flag to fit: its term would only be
    # log(pi) or log(1 - pi), and an empty column would change the objective.
    objective = float(np.where(good, log_good, log_bad)[in_mixture].sum())
    if previous_weights is not None:
        # Tied annotators are all made good, which is symmetric but not
        # always the best assignment: never trade the previous one for
        # a worse one, so the classification likelihood never decreases.
        previous = previous_weights > 0.5
        previous_objective = float(
            np.where(previous, log_good, log_bad)[in_mixture].sum()
        )
        if np.any(previous & in_mixture) and previous_objective > objective:
            good, objective = previous, previous_objective
    return objective, good.astype(np.float64), log_posterior, log_posterior_bad


def _assign_good_annotators(log_good, log_bad, in_mixture):
    """Hard E-step: the most likely flag of each annotator, one good at least.

    Parameters
    ----------
    log_good, log_bad : ndarray of shape (n_annotators,)
        Log joint probability of each annotator's ratings with ``z=1``, ``z=0``.
    in_mixture : ndarray of shape (n_annotators,), dtype bool
        Which annotators are in the mixture (all have ratings); if none is,
        none is forced good.

    Returns
    -------
    good : ndarray of shape (n_annotators,), dtype bool
        ``log_good >= log_bad``, i.e. ``P(good) >= 0.5``. If no annotator in the
        mixture qualifies, the one of them with the largest ``log_good - log_bad`` is
        made good: the classification likelihood is a sum over annotators, so
        this is its maximum under the constraint. Annotators tied with it (to
        ``_TIE_RTOL`` of the size of their log joint probabilities, so up to
        rounding) are made good too, so that the outcome does not depend on
        the order of the annotators.
    """
    good = log_good >= log_bad
    if not np.any(good & in_mixture):
        log_odds = np.where(in_mixture, log_good - log_bad, -np.inf)
        rounding = _TIE_RTOL * (np.abs(log_good) + np.abs(log_bad))
        good |= in_mixture & (log_odds >= log_odds.max() - rounding)
    return good


# The E-step of soft and hard EM, by the form's ``em``.
_E_STEPS = {"soft": _soft_e_step, "hard": _hard_e_step}
