"""Per-rating arrays recycled within a fit instead of returned to the system.

Each pass of a bounded form writes its per-rating terms into new arrays, and
the terms it replaces are freed. glibc's ``malloc`` keeps freed memory for
reuse only up to 32 MiB a block (4 million doubles); a larger array is mapped
from the kernel when allocated and unmapped when freed, so every page of the
next pass's array is faulted in and zeroed again on first write. In a default
fit of 10**7 ratings that was about 1.9 million page faults, a fifth of the
fit's time.

So, while EM runs from its starts (:func:`_recycling`), :func:`_empty` hands
out again an array of the same length that nothing references any more: the
terms a step replaced. Whether anything does is read from the reference
count, as NumPy decides when it may reuse a temporary; a view keeps its base
referenced. An array in use, by a block that a race keeps or by a caller's
variable, is never handed out. The pool holds no more arrays than EM held at
once, and lets them go when the outermost block ends.
"""

import contextlib
import sys
import threading

import numpy as np

# Arrays shorter than this come from np.empty as before: malloc keeps them
# for reuse, and a pass over the pool would cost more than it saves.
_MIN_RECYCLED = 2**20

_local = threading.local()


def _count_references(pool, index):
    """``sys.getrefcount`` of ``pool[index]``, the pool's entry and this call's."""
    return sys.getrefcount(pool[index])


# The count of an array that only the pool holds, measured the way every
# entry is, so that an interpreter that skips or adds references on the way
# counts the same for both.
_ONLY_IN_POOL = (
    _count_references([object()], 0) if hasattr(sys, "getrefcount") else None
)


@contextlib.contextmanager
def _recycling():
    """Recycle the arrays of :func:`_empty` in this thread while the block runs.

    Nested uses share the outermost pool, which is dropped when it ends.
    Without ``sys.getrefcount`` (an interpreter without reference counts)
    nothing is recycled.
    """
    if getattr(_local, "pool", None) is not None or _ONLY_IN_POOL is None:
        yield
        return
    _local.pool = []
    try:
        yield
    finally:
        _local.pool = None


def _empty(n_values):
    """An uninitialized float64 array of ``n_values``, recycled if one is free.

    Parameters
    ----------
    n_values : int

    Returns
    -------
    array : ndarray of shape (n_values,)
        Its values are arbitrary, as those of ``np.empty``.
    """
    pool = getattr(_local, "pool", None)
    if pool is None or n_values < _MIN_RECYCLED:
        return np.empty(n_values)
    for index in range(len(pool)):
        if (
            pool[index].shape[0] == n_values
            and _count_references(pool, index) == _ONLY_IN_POOL
        ):
            return pool[index]
    array = np.empty(n_values)
    pool.append(array)
    return array
