"""The E-steps of soft and hard EM: each annotator's posterior, and the objective."""

import numpy as np

from skem._model.likelihoods import _estimate_log_posterior

# Log-odds this close to the best, relative to the size of the log joint
# probabilities they come from, count as tied in the hard E-step: rounding.
_TIE_RTOL = 1e-12


def _soft_e_step(log_good, log_bad, rated, previous_weights=None):
    """Soft E-step: the posterior, and the marginal log-likelihood."""
    log_marginal, log_posterior, log_posterior_bad = _estimate_log_posterior(
        log_good, log_bad
    )
    objective = float(log_marginal.sum())
    return objective, np.exp(log_posterior), log_posterior, log_posterior_bad


def _hard_e_step(log_good, log_bad, rated, previous_weights=None):
    """Hard E-step: the best flags, and the classification log-likelihood.

    Parameters
    ----------
    log_good, log_bad : ndarray of shape (n_annotators,)
        Log joint probability of each annotator's ratings with ``z=1``,
        ``z=0``.
    rated : ndarray of shape (n_annotators,), dtype bool
        Which annotators have ratings.
    previous_weights : ndarray of shape (n_annotators,), default=None
        The previous E-step's flags, kept if the new assignment would be
        worse.

    Returns
    -------
    objective : float
        Over the annotators with ratings.
    weights : ndarray of shape (n_annotators,)
        1.0 for good, 0.0 for bad; an annotator without ratings is good if
        ``pi >= 0.5``, as its posterior says, and counts nowhere.
    log_posterior, log_posterior_bad : ndarray of shape (n_annotators,)
    """
    _, log_posterior, log_posterior_bad = _estimate_log_posterior(log_good, log_bad)
    good = _assign_good_annotators(log_good, log_bad, rated)
    # An annotator without ratings has no flag to fit: its term would only be
    # log(pi) or log(1 - pi), and an empty column would change the objective.
    objective = float(np.where(good, log_good, log_bad)[rated].sum())
    if previous_weights is not None:
        # Tied annotators are all made good, which is symmetric but not
        # always the best assignment: never trade the previous one for
        # a worse one, so the classification likelihood never decreases.
        previous = previous_weights > 0.5
        previous_objective = float(np.where(previous, log_good, log_bad)[rated].sum())
        if np.any(previous & rated) and previous_objective > objective:
            good, objective = previous, previous_objective
    return objective, good.astype(np.float64), log_posterior, log_posterior_bad


def _assign_good_annotators(log_good, log_bad, rated):
    """Hard E-step: the most likely flag of each annotator, one good at least.

    Parameters
    ----------
    log_good, log_bad : ndarray of shape (n_annotators,)
        Log joint probability of each annotator's ratings with ``z=1``, ``z=0``.
    rated : ndarray of shape (n_annotators,), dtype bool
        Which annotators have ratings. At least one is True.

    Returns
    -------
    good : ndarray of shape (n_annotators,), dtype bool
        ``log_good >= log_bad``, i.e. ``P(good) >= 0.5``. If no rated annotator
        qualifies, the rated one with the largest ``log_good - log_bad`` is
        made good: the classification likelihood is a sum over annotators, so
        this is its maximum under the constraint. Annotators tied with it (to
        ``_TIE_RTOL`` of the size of their log joint probabilities, so up to
        rounding) are made good too, so that the outcome does not depend on
        the order of the annotators.
    """
    good = log_good >= log_bad
    if not np.any(good & rated):
        log_odds = np.where(rated, log_good - log_bad, -np.inf)
        rounding = _TIE_RTOL * (np.abs(log_good) + np.abs(log_bad))
        good |= rated & (log_odds >= log_odds.max() - rounding)
    return good


# The E-step of soft and hard EM, by the form's ``em``.
_E_STEPS = {"soft": _soft_e_step, "hard": _hard_e_step}
