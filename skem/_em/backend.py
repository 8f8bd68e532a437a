"""Where EM's data live: blocks of whole items, and the backend that runs on them.

EM's parameters split in two. The per-item location of an item depends only
on that item's ratings; the per-annotator parameters (sigma, bias, the flags)
depend on every item an annotator rated. So the ratings are cut into blocks
that each hold whole items: a block keeps its items' locations and per-rating
terms, and every step of EM is either a *block kernel*, run on each block
independently, or a step on the per-annotator vectors, run on the client from
the kernels' per-annotator sums.

A kernel is a pure module-level function ``kernel(block, *args) -> (block,
outputs)``: the new state of the block, and a dict of per-annotator (or
scalar) partial results that the backend combines over blocks: by sum, or by
minimum or maximum for keys that start with ``min_`` or ``max_``. The
in-memory backend holds one block; :mod:`skem.dask` holds one per partition
of a Dask DataFrame on a cluster. Both run the same kernels and the same EM
driver, so they give the same numbers.
"""

import functools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class _Block:
    """Whole items, their ratings and their part of EM's state.

    Attributes
    ----------
    ratings : _Ratings
        The items' ratings in unit score space, with item codes local to the
        block (``0 .. n_items - 1``) and the global annotator codes.
    gold : ndarray of shape (n_items,) or None
        Known unit-space consensus of the gold items, NaN elsewhere.
    location : ndarray of shape (n_items,) or None
        The current location of each item (None before initialization).
    terms : dict or None
        Per-rating terms of the truncated forms at the current parameters
        (see :func:`skem._model.likelihoods._compute_good_terms`): those that
        the location steps read again.
    sums : dict or None
        The per-annotator sums of every term at the current parameters (see
        :func:`skem._model.likelihoods._sum_terms_by`), which the E-step and
        the sigma steps need; None after a step that moved only some items.
    trial : _Trial or None
        A step under test (:class:`skem._model.trial._Trial`), until settled.
    item_labels : array-like of shape (n_items,) or None
        The items' labels, where the block came from labelled ratings.
    unanimous : ndarray of shape (n_items,) or None
        Each item's score, in score units, where all its ratings agree, else
        NaN (see :func:`skem._em.ratings._compute_unanimous_scores`): a block
        of labelled ratings keeps it, since its ratings are in unit space.
    consensus : ndarray of shape (n_items,) or None
        Each item's consensus at the end of the fit, in unit space, between
        the two passes of the results (:mod:`skem._em.items`).
    """

    ratings: object
    gold: np.ndarray = None
    location: np.ndarray = None
    terms: dict = None
    sums: dict = None
    trial: object = None
    item_labels: object = None
    unanimous: np.ndarray = None
    consensus: np.ndarray = None

    @property
    def held_log_density(self):
        """Each rating's good log density, if the block still holds its
        run's terms (at its locations and the run's parameters); else None."""
        return None if self.terms is None else self.terms.get("log_density")


def _combine_outputs(outputs):
    """Combine the kernels' outputs of several blocks, key by key.

    Parameters
    ----------
    outputs : list of dict
        One dict per block, with the same keys.

    Returns
    -------
    combined : dict
        Sums, or minima and maxima for the keys named ``min_*`` and ``max_*``.
    """
    combined = {}
    for key in outputs[0]:
        values = [output[key] for output in outputs]
        if key.startswith("min_"):
            combined[key] = functools.reduce(np.fmin, values)
        elif key.startswith("max_"):
            combined[key] = functools.reduce(np.fmax, values)
        else:
            combined[key] = functools.reduce(np.add, values)
    return combined


def _run_steps(block, steps):
    """Run several kernels on a block, one after the other, as one kernel.

    Parameters
    ----------
    block : _Block
    steps : sequence of (kernel, args)
        The kernels and their arguments after the block. Their outputs must
        have distinct keys.

    Returns
    -------
    block : _Block
        The block after the last kernel.
    outputs : dict
        The outputs of every kernel.
    """
    outputs = {}
    for kernel, args in steps:
        block, step_outputs = kernel(block, *args)
        outputs.update(step_outputs)
    return block, outputs


class _InMemoryBackend:
    """All the ratings in one block, in this process.

    Parameters
    ----------
    block : _Block
        The block of every item.
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    has_gold : bool
        Whether any item is gold.

    Attributes
    ----------
    in_mixture : ndarray of shape (n_annotators,), dtype bool
        The annotators in the good/random mixture; the driver sets it from
        their evidence (:func:`skem._model.evidence._mixture_annotators`).
    """

    def __init__(self, block, n_per_annotator, has_gold):
        self.state = block
        self.n_per_annotator = n_per_annotator
        # Until the driver counts the evidence: everyone rated.
        self.in_mixture = n_per_annotator > 0
        self.n_annotators = n_per_annotator.shape[0]
        # Until the driver reads the ratings: the uniform, density 1 in unit
        # space (skem._model.random).
        self.random_log_density = np.zeros(self.n_annotators)
        self.n_ratings = int(n_per_annotator.sum())
        self.has_gold = has_gold

    def update(self, kernel, *args):
        """Run ``kernel`` on the block, keep its new state, return its outputs."""
        self.state, outputs = kernel(self.state, *args)
        return outputs

    def reduce(self, kernel, *args):
        """Run ``kernel`` on the block and return its outputs; the state stays."""
        return kernel(self.state, *args)[1]

    def collect(self, kernel, *args):
        """The per-item outputs of ``kernel``: here, of the one block."""
        return kernel(self.state, *args)[1]
