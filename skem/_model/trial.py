"""trial."""

from dataclasses import replace

import numpy as np

from skem._model.likelihoods import (
    _compute_good_terms,
    _Gather,
)
from skem._model.steps import _UNIT_BOUNDS, _compute_rating_weights, _rating_locations


def _kernel_annotator_trial(block, bias, sigma, weights, log_posterior, annotators):
    """Terms at new annotator parameters, as the block's trial.

    Only the ratings of the selected ``annotators`` are evaluated (all if
    None); the output is their weighted log density per annotator. The
    weights are the annotators' ``weights``, or the rating weights of
    :func:`_compute_rating_weights` if ``log_posterior`` is given. A trial
    of some annotators on top of another trial merges into it.
    """
    ratings = block.ratings
    selected = (
        slice(None)
        if annotators is None
        else np.flatnonzero(annotators[ratings.annotator])
    )
    annotator = ratings.annotator[selected]
    if log_posterior is None:
        rating_weights = weights[annotator]
    else:
        rating_weights = _compute_rating_weights(ratings, weights, log_posterior)[
            selected
        ]
    terms = _compute_good_terms(
        ratings.score[selected],
        _rating_locations(ratings.item[selected], annotator, block.mu, bias),
        _Gather(sigma, annotator),
        _UNIT_BOUNDS,
        _Gather(np.log(sigma), annotator),
    )
    if annotators is None:
        trial = {"terms": terms}
    elif block.trial is None:
        # The ratings of a few annotators: keep only theirs until settled.
        trial = {"selected": selected, "subset": terms}
    else:
        merged = _trial_terms(block)
        for key, value in terms.items():
            merged[key][selected] = value
        trial = {"terms": merged}
    objective = np.bincount(
        annotator,
        rating_weights * terms["log_density"],
        minlength=ratings.n_annotators,
    )
    return replace(block, trial={"mu": block.mu, **trial}), {"objective": objective}


def _trial_terms(block):
    """A new dict of the trial's terms for every rating of the block."""
    trial = block.trial
    if "subset" not in trial:
        return {key: value.copy() for key, value in trial["terms"].items()}
    return _merge_terms(block.terms, trial["subset"], trial["selected"])


def _merge_terms(terms, subset, selected):
    """Copies of ``terms`` with the selected ratings' entries from ``subset``."""
    merged = {key: value.copy() for key, value in terms.items()}
    for key, value in subset.items():
        merged[key][selected] = value
    return merged


def _kernel_settle_trial(block, accept, annotators=None):
    """Keep the trial (only for the selected annotators, if given), or drop it."""
    trial = block.trial
    if trial is None or not accept:
        return replace(block, trial=None), {}
    if annotators is None:
        terms = trial["terms"] if "subset" not in trial else _trial_terms(block)
        return replace(block, mu=trial["mu"], terms=terms, trial=None), {}
    taken = annotators[block.ratings.annotator]
    if "subset" in trial:
        selected = trial["selected"]
        kept = taken[selected]
        terms = _merge_terms(
            block.terms,
            {key: value[kept] for key, value in trial["subset"].items()},
            selected[kept],
        )
    else:
        terms = _merge_terms(
            block.terms,
            {key: value[taken] for key, value in trial["terms"].items()},
            taken,
        )
    return replace(block, terms=terms, trial=None), {}
