"""The fitted items: each item's consensus, location and standard error.

After EM, the kept run's parameters and weights give every item its results,
block by block, in unit space; the estimators map them to score units. The
annotators count with their consensus weights (:mod:`skem._model.evidence`).
"""

from dataclasses import replace

from skem._model.evidence import _estimate_consensus_weights
from skem._model.intervals import (
    _compute_consensus_std_error,
    _compute_std_error_sums,
    _estimate_std_error_correction,
)


def _kernel_consensus(block, form, params, weights, log_weights):
    """Each item's consensus, kept in the block, and the block's part of the
    std errors' correction.

    The consensus is :meth:`skem._model.form._ModelForm.consensus` at the
    fitted parameters and the consensus weights of the final E-step, the
    code path of ``transform``, for every form. The squared residuals about
    it enter the correction for the forms whose consensus is a
    precision-weighted mean (every form but the Student-t).
    """
    ratings = block.ratings
    consensus = form.consensus(ratings, params, weights, log_weights, block.gold)
    fitted = None
    if form.tail_df is None:
        fitted = (consensus, params.bias, params.sigma)
    sums = _compute_std_error_sums(ratings, weights, block.gold, fitted)
    return replace(block, consensus=consensus), sums


def _kernel_item_results(block, form, params, weights, correction):
    """Each item's location, consensus and standard error, in unit space.

    The consensus is the one :func:`_kernel_consensus` kept. The plain normal
    forms' location is that consensus too (their last M-step took it one
    E-step earlier, from the previous weights); the bounded forms' location
    is EM's own, which can sit at the ends of the scale.
    """
    ratings = block.ratings
    consensus = block.consensus
    std_error = _compute_consensus_std_error(
        ratings, weights, params.sigma * form.error_scale, block.gold, correction
    )
    return block, {
        "location": block.location if form.bounded else consensus,
        "consensus": consensus,
        "std_error": std_error,
    }


def _collect_item_results(data, form, run):
    """The kernel outputs of :func:`_kernel_item_results` of every block.

    The annotators count with their consensus weights
    (:func:`skem._model.evidence._estimate_consensus_weights`).
    """
    params = run["params"]
    weights, log_weights = _estimate_consensus_weights(
        run["weights"], run["log_posterior"], params.pi, run["judged"]
    )
    sums = data.update(_kernel_consensus, form, params, weights, log_weights)
    correction = _estimate_std_error_correction(**sums)
    return data.collect(_kernel_item_results, form, params, weights, correction)
