"""Trials: steps under test, held by the blocks until the client settles them.

A guarded step evaluates its proposal on every block before the client
knows whether to take it. The evaluating kernel leaves a :class:`_Trial` in
each block: the location and per-rating terms that the step would give. The
next kernel that touches the block's terms must be
:func:`_kernel_settle_trial`, which either takes the trial (for every
annotator, or for some) or drops it::

                    joint trial / trial of all annotators
    [no trial] ──────────────────────────────────────────► [whole trial]
        │                                                    │   ▲
        │ trial of some annotators                           │   │ trial of some
        ▼                                                    │   │ annotators
    [subset trial] ──── trial of some annotators ───────────┼──►┘ (merged in)
        │                                                    │
        └──────────────┬─────────────────────────────────────┘
                       │ settle(accept, annotators)
                       ▼
                  [no trial]   accept: the block takes the trial's location
                               and terms (only the given annotators' terms,
                               if given); otherwise it keeps its own.

A *whole* trial holds terms for every rating of the block, a *subset* trial
only for the ratings of the annotators under test (the sigma rescue tries a
few suspects: copying every term for them would cost more than the trial).
A trial of some annotators on top of an open trial merges into it, so the
guarded ascent's halvings (:func:`skem._model.steps._guarded_ascent`) each
rewrite only the annotators that still fail.

A trial also carries the per-annotator sums of every term, which the blocks
do not keep per rating (:data:`skem._model.likelihoods._KEPT_TERMS`). An
annotator's sums cover all its ratings, so they merge and settle by
annotator, as the terms do.
"""

from dataclasses import dataclass, replace

import numpy as np

from skem._model.likelihoods import _KEPT_TERMS, _compute_good_terms, _Gather
from skem._model.steps import (
    _UNIT_BOUNDS,
    _rating_locations,
)
from skem._model.weights import (
    _compute_rating_weights,
)


@dataclass(frozen=True)
class _Trial:
    """A step under test in one block.

    Attributes
    ----------
    location : ndarray of shape (n_items,)
        Each item's location under the step.
    terms : dict
        Per-rating terms under the step: of every rating of the block if
        ``selected`` is None, else of the selected ratings only.
    selected : ndarray of int or None
        Indices of the ratings that ``terms`` covers; None for all.
    sums : dict or None
        The per-annotator sums of every term (:attr:`skem._em.backend._Block.sums`)
        if the whole trial were taken; None where unknown.
    """

    location: np.ndarray
    terms: dict
    selected: np.ndarray = None
    sums: dict = None

    def merged_terms(self, current, update=None, where=None):
        """New arrays of the trial's terms for every rating.

        Parameters
        ----------
        current : dict
            The block's own terms, which the ratings outside ``selected``
            keep.
        update : dict, default=None
            Terms of more ratings to write over the trial's.
        where : ndarray of int, default=None
            The ratings that ``update`` covers.

        Returns
        -------
        terms : dict
        """
        if self.selected is None:
            merged = {key: value.copy() for key, value in self.terms.items()}
        else:
            merged = _merge_terms(current, self.terms, self.selected)
        if update is not None:
            _write_terms(merged, update, where)
        return merged

    def settle(self, block, annotators=None):
        """The block that takes this trial.

        Parameters
        ----------
        block : _Block
            The block that holds the trial.
        annotators : ndarray of shape (n_annotators,), dtype bool, default=None
            Take the trial only for these annotators' ratings (their location
            stays the block's); None takes all of it.

        Returns
        -------
        block : _Block
            Without a trial.
        """
        if annotators is None:
            terms = (
                self.terms if self.selected is None else self.merged_terms(block.terms)
            )
            return replace(
                block, location=self.location, terms=terms, sums=self.sums, trial=None
            )
        taken = annotators[block.ratings.annotator]
        if self.selected is None:
            selected, kept = taken, taken
        else:
            kept = taken[self.selected]
            selected = self.selected[kept]
        subset = {key: value[kept] for key, value in self.terms.items()}
        terms = _merge_terms(block.terms, subset, selected)
        sums = _merge_sums(block.sums, self.sums, annotators)
        return replace(block, terms=terms, sums=sums, trial=None)


def _merge_sums(sums, update, annotators):
    """Per-annotator ``sums`` with the selected annotators' from ``update``.

    Each annotator's sums cover all its ratings, so they merge by annotator.
    None if either is unknown, unless every annotator is selected.

    Parameters
    ----------
    sums, update : dict or None
        Per-annotator sums (:func:`skem._model.likelihoods._sum_terms_by`).
    annotators : ndarray of shape (n_annotators,), dtype bool, or None
        The annotators to take from ``update``; None for all.

    Returns
    -------
    merged : dict or None
    """
    if annotators is None:
        return update
    if sums is None or update is None:
        return None
    return {
        key: np.where(annotators, update[key], value) for key, value in sums.items()
    }


def _merge_terms(terms, subset, selected):
    """Copies of ``terms`` with the selected ratings' entries from ``subset``.

    Parameters
    ----------
    terms : dict
        Per-rating terms of every rating.
    subset : dict
        Terms of the selected ratings.
    selected : ndarray of int or bool
        Which ratings ``subset`` covers.

    Returns
    -------
    merged : dict
    """
    merged = {key: value.copy() for key, value in terms.items()}
    _write_terms(merged, subset, selected)
    return merged


def _write_terms(terms, subset, selected):
    """Write ``subset`` over the selected ratings' entries of ``terms``, in place."""
    for key, value in subset.items():
        terms[key][selected] = value


def _kernel_annotator_trial(block, bias, sigma, weights, log_posterior, annotators):
    """Terms at new annotator parameters, as the block's trial.

    Only the ratings of the selected ``annotators`` are evaluated (all if
    None); the output is their weighted log density per annotator. The trial
    keeps their sums of every term, in place of the block's for them. The
    weights are the annotators' ``weights``, or the rating weights of
    :func:`_compute_rating_weights` if ``log_posterior`` is given. A trial
    of some annotators on top of another trial merges into it.

    Parameters
    ----------
    block : _Block
    bias, sigma : ndarray of shape (n_annotators,)
        The annotator parameters under test.
    weights : ndarray of shape (n_annotators,)
    log_posterior : ndarray of shape (n_annotators,) or None
    annotators : ndarray of shape (n_annotators,), dtype bool, or None

    Returns
    -------
    block : _Block
        With the trial.
    outputs : dict
        ``objective``, per annotator.
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
    terms, new_sums = _compute_good_terms(
        ratings.score[selected],
        _rating_locations(ratings.item[selected], annotator, block.location, bias),
        _Gather(sigma, annotator),
        _UNIT_BOUNDS,
        _Gather(np.log(sigma), annotator),
        sum_by=(annotator, ratings.n_annotators),
        half_step=ratings.half_step,
        keep=_KEPT_TERMS,
    )
    if annotators is None:
        trial = _Trial(block.location, terms, sums=new_sums)
    else:
        base = block.sums if block.trial is None else block.trial.sums
        sums = _merge_sums(base, new_sums, annotators)
        if block.trial is None:
            # The ratings of a few annotators: keep only theirs until settled.
            trial = _Trial(block.location, terms, selected, sums)
        else:
            merged = block.trial.merged_terms(block.terms, terms, selected)
            trial = _Trial(block.location, merged, sums=sums)
    objective = np.bincount(
        annotator,
        rating_weights * terms["log_density"],
        minlength=ratings.n_annotators,
    )
    return replace(block, trial=trial), {"objective": objective}


def _kernel_settle_trial(block, accept, annotators=None):
    """Keep the trial (only for the selected annotators, if given), or drop it.

    Parameters
    ----------
    block : _Block
    accept : bool
        Whether the step is taken.
    annotators : ndarray of shape (n_annotators,), dtype bool, default=None
        Take it only for these annotators.

    Returns
    -------
    block : _Block
        Without a trial.
    outputs : dict
        Empty.
    """
    if block.trial is None or not accept:
        return replace(block, trial=None), {}
    return block.trial.settle(block, annotators), {}
