"""The Dask backend: one block of whole items per partition, held by the workers.

Each block is a future on the cluster. A kernel runs as one task per block;
its new block stays on the worker and only the per-annotator outputs (vectors
of length ``n_annotators``) travel to the client. The chain of kernel tasks is
the blocks' lineage: if a worker is lost, the scheduler recomputes its blocks
from the input.
"""

import operator

import numpy as np
from dask.sizeof import sizeof

from skem._em.backend import _Block, _combine_outputs
from skem._em.huge_pages import _without_huge_page_advice

# Annotator vectors larger than this are scattered to the workers once per
# step instead of being sent inside each task.
_SCATTER_NBYTES = 1 << 16

# The blocks' outputs are summed on the workers in a tree of this fan-in, so
# that the client receives one set of per-annotator vectors per step, not one
# per block.
_REDUCTION_FAN_IN = 16


def _run_kernel(kernel, state, *args, fit_values=None):
    """Run ``kernel`` on a block, or on the block of a previous kernel's result.

    ``fit_values``, the ratings of the whole fit (the block's if None),
    decide NumPy's advice of huge pages on the worker as the ratings of an
    in-memory fit do (:mod:`skem._em.huge_pages`): a worker holds several
    blocks, and the memory that stalls is the process's, not one block's.
    """
    block = state[0] if isinstance(state, tuple) else state
    n_values = block.ratings.score.shape[0] if fit_values is None else fit_values
    with _without_huge_page_advice(n_values):
        return kernel(block, *args)


def _kernel_outputs(kernel, state, *args, fit_values=None):
    return _run_kernel(kernel, state, *args, fit_values=fit_values)[1]


def _combine_output_list(outputs):
    return _combine_outputs(outputs)


def _block_of(state):
    return state[0] if isinstance(state, tuple) else state


class _DaskBackend:
    """Blocks on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client
    blocks : list of distributed.Future
        One :class:`skem._em.backend._Block` per partition.
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator, over every block.
    has_gold : bool
        Whether any item is gold.

    Attributes
    ----------
    in_mixture : ndarray of shape (n_annotators,), dtype bool
        As for :class:`skem._em.backend._InMemoryBackend`.
    """

    def __init__(self, client, blocks, n_per_annotator, has_gold):
        # Each entry of ``state`` is a future of a block, or of a kernel's
        # ``(block, outputs)``.
        self.client = client
        self.state = list(blocks)
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
        """Run ``kernel`` on every block, keep the new blocks, combine the outputs.

        The kernel's result, ``(block, outputs)``, stays on its worker as the
        new state; the next kernel takes the block from it, so that only the
        outputs need a task of their own.
        """
        args = self._broadcast(args)
        self.state = [
            self.client.submit(
                _run_kernel,
                kernel,
                state,
                *args,
                fit_values=self.n_ratings,
                pure=False,
            )
            for state in self.state
        ]
        outputs = [
            self.client.submit(operator.getitem, result, 1, pure=False)
            for result in self.state
        ]
        return self._combine(outputs)

    def reduce(self, kernel, *args):
        """Run ``kernel`` on every block and combine the outputs; blocks stay."""
        return self._combine(self.collect(kernel, *args))

    def collect(self, kernel, *args):
        """The outputs of ``kernel`` on every block, as futures on the cluster."""
        args = self._broadcast(args)
        return [
            self.client.submit(
                _kernel_outputs,
                kernel,
                state,
                *args,
                fit_values=self.n_ratings,
                pure=False,
            )
            for state in self.state
        ]

    def blocks(self):
        """Futures of the current blocks themselves."""
        return [
            self.client.submit(_block_of, state, pure=False) for state in self.state
        ]

    def _combine(self, outputs):
        """Combine the blocks' output futures on the workers, then gather."""
        # Every level stays referenced until the gather: a future released
        # while a task of the next level waits on it could be forgotten.
        levels = [outputs]
        while len(outputs) > _REDUCTION_FAN_IN:
            outputs = [
                self.client.submit(
                    _combine_output_list,
                    outputs[start : start + _REDUCTION_FAN_IN],
                    pure=False,
                )
                for start in range(0, len(outputs), _REDUCTION_FAN_IN)
            ]
            levels.append(outputs)
        combined = _combine_outputs(self.client.gather(outputs))
        del levels
        return combined

    def _broadcast(self, args):
        """Scatter the large arrays among ``args`` (in chained steps too)."""
        if isinstance(args, np.ndarray) and args.nbytes > _SCATTER_NBYTES:
            return self.client.scatter(args, broadcast=True, hash=False)
        if isinstance(args, (tuple, list)):
            return type(args)(self._broadcast(arg) for arg in args)
        return args


@sizeof.register(_Block)
def _sizeof_block(block):
    """Bytes held by a block, so that Dask's memory manager counts them."""
    ratings = block.ratings
    total = sum(
        array.nbytes
        for array in (ratings.item, ratings.annotator, ratings.score)
        if array is not None
    )
    for array in (block.gold, block.location, block.unanimous):
        if array is not None:
            total += array.nbytes
    trial = block.trial
    for arrays in (
        block.terms,
        block.sums,
        None if trial is None else trial.terms,
        None if trial is None else trial.sums,
    ):
        if arrays:
            total += sum(value.nbytes for value in arrays.values())
    if block.item_labels is not None:
        total += sizeof(block.item_labels)
    return int(total)


def _kernel_counts(block):
    ratings = block.ratings
    return block, {"n": ratings.n_per_annotator}


def _combine_counts(client, blocks, n_annotators):
    """Each annotator's number of ratings.

    Parameters
    ----------
    client : distributed.Client
    blocks : list of distributed.Future
        The blocks, each holding whole items.
    n_annotators : int

    Returns
    -------
    n_ratings : ndarray of shape (n_annotators,) of int64
    """
    outputs = client.gather(
        [client.submit(_kernel_outputs, _kernel_counts, block) for block in blocks]
    )
    combined = _combine_outputs(outputs)
    return combined["n"].astype(np.int64)


def _release_arrow_memory(client):
    """Hand back what pyarrow's pool kept from reading and shuffling."""

    def release():
        try:
            import pyarrow
        except ImportError:
            return
        pyarrow.default_memory_pool().release_unused()

    client.run(release)
