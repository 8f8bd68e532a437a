"""NumPy's advice of huge pages, withheld while a large fit runs.

On Linux NumPy asks the kernel for transparent huge pages (``madvise``) for
every array of 4 MiB or more. Where the kernel's ``defrag`` policy is
``madvise``, its default, the first touch of such memory can stall on a
synchronous compaction of physical memory whenever no free huge page is at
hand, which is the usual state of a machine that has run for a while (NumPy
issue 31590). A large fit allocates its per-rating arrays afresh each
iteration, and the stalls then cost more than the computation: a default fit
of 10**7 ratings took 27.8 s with the advice and 15.0 s without it on the
2-core machine of the change. Where the arrays are smaller, a freed huge page
is at hand for the next allocation, and the advice saves page faults
instead (2,000,000 ratings in the lecture's form: 0.93 s with it, 1.12 s
without).

So a fit with at least :data:`_MIN_VALUES` values turns the advice off
while it runs, as scikit-learn's ``KMeans`` limits the BLAS threads while
it runs, and restores NumPy's setting when the last such fit of the process
ends. A user who sets ``NUMPY_MADVISE_HUGEPAGE`` has chosen: the setting is
then left alone.
"""

import contextlib
import importlib
import os
import threading
from numbers import Integral

import numpy as np
import scipy.sparse as sp

# A float64 array of this many values is 16 MiB. Whole fits with and without
# the advice, in turns (the time without it, over the time with it):
#
#   ratings (millions)            1     1.5   2     3     4.5   10
#   default form                  1.06  0.89  0.79  0.76  0.72  0.54
#   lecture's form                            1.20  0.84  0.75  0.59
#
# Above this size both forms gain; below it the lecture's form loses.
_MIN_VALUES = 2**21

_lock = threading.Lock()
# The fits that hold the advice off, and NumPy's setting before the first.
_holders = 0
_setting_before = None


def _find_setter():
    """NumPy's ``_set_madvise_hugepage``, or None where it has none."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        setter = getattr(module, "_set_madvise_hugepage", None)
        if setter is not None:
            return setter
    return None


def _count_values(X):
    """The values that ``X`` stores, or None if it does not say.

    The stored values of a sparse matrix, the cells of an array or a
    DataFrame; None for a list, or for a lazy collection whose size is not
    yet known. Read before validation, so only plain attributes: a
    malformed sparse matrix's ``nnz`` raises SciPy's error, not skem's.
    """
    if sp.issparse(X):
        data = getattr(X, "data", None)
        if isinstance(data, np.ndarray) and data.dtype != object:
            return data.size
        return None
    n_values = getattr(X, "size", None)
    return int(n_values) if isinstance(n_values, Integral) else None


@contextlib.contextmanager
def _without_huge_page_advice(n_values, setter=None):
    """Withhold NumPy's advice of huge pages for the block, if ``n_values`` is large.

    Parameters
    ----------
    n_values : int or None
        The values (ratings, or cells of a dense matrix) that the fit holds;
        None if unknown, which leaves the setting alone.
    setter : callable, default=None
        ``_set_madvise_hugepage(enabled) -> previous``; NumPy's if None.

    Yields
    ------
    withheld : bool
        Whether the advice is off inside the block (this call's doing or an
        enclosing fit's).
    """
    global _holders, _setting_before
    if setter is None:
        setter = _find_setter()
    if (
        setter is None
        or n_values is None
        or n_values < _MIN_VALUES
        or "NUMPY_MADVISE_HUGEPAGE" in os.environ
    ):
        yield False
        return
    with _lock:
        if _holders == 0:
            _setting_before = setter(False)
        _holders += 1
    try:
        yield True
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                setter(_setting_before)
                _setting_before = None
