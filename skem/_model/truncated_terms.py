"""The truncated forms' per-rating terms and their sums per annotator.

Each block keeps the terms of its ratings at its locations and the current
annotator parameters (:func:`_kernel_truncated_terms`), with their sums per
annotator: the E-step's ``log_density`` and the moments of the next sigma
step. The steps (:mod:`skem._model.truncated`) and the rescue
(:mod:`skem._model.rescue`) take them from here.
"""

from dataclasses import replace

import numpy as np

from skem._model.likelihoods import _KEPT_TERMS, _compute_good_terms, _Gather
from skem._model.steps import _UNIT_BOUNDS, _rating_locations


def _compute_truncated_terms(
    ratings, location, bias, sigma, bounds=_UNIT_BOUNDS, with_sums=False
):
    """The kept per-rating terms of the normal truncated to ``bounds`` here.

    With ``with_sums``, also the per-annotator sums of every term (see
    :func:`skem._model.likelihoods._sum_terms_by`).
    """
    annotator = ratings.annotator
    return _compute_good_terms(
        ratings.score,
        _rating_locations(ratings.item, annotator, location, bias),
        _Gather(sigma, annotator),
        bounds,
        _Gather(np.log(sigma), annotator),
        sum_by=(annotator, ratings.n_annotators) if with_sums else None,
        half_step=ratings.half_step,
        keep=_KEPT_TERMS,
    )


def _annotator_sum(ratings, values):
    return np.bincount(ratings.annotator, values, minlength=ratings.n_annotators)


def _kernel_truncated_terms(block, bias, sigma):
    """Per-rating terms at the block's locations, and their sums per annotator."""
    terms, sums = _compute_truncated_terms(
        block.ratings, block.location, bias, sigma, with_sums=True
    )
    return replace(block, terms=terms, sums=sums, trial=None), sums


def _kernel_annotator_sums(block, bias, sigma):
    """Per-annotator sums of the block's terms: log density and precision moments.

    ``log_density`` is what the E-step needs; ``scale_slope`` and
    ``scale_information`` are ``sum (E[t^2] - z^2)`` and ``sum Var[t^2]``
    over each annotator's ratings: an annotator's ratings share its weight,
    so the next M-step's weighted sums are these times the weights (see
    :func:`skem._model.steps._compute_precision_derivatives`). ``z_squared`` is
    ``sum z^2``, the squared residuals over ``sigma_a**2``.

    The block's own sums, unless a step moved only some of its items since
    they were taken: then one pass at ``bias`` and ``sigma`` takes them
    again. These must be the parameters of the block's terms: known sums are
    returned as they are, without a check against them.
    """
    if block.sums is not None:
        return block, block.sums
    return _kernel_truncated_terms(block, bias, sigma)
