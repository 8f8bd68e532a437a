"""The observed ratings of an items x annotators matrix, as flat arrays."""

from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class _Ratings:
    """Observed ratings in coordinate form.

    Every EM step is a handful of passes over these flat arrays, so its cost is
    proportional to the number of observed ratings, never to
    ``n_items * n_annotators``.

    Attributes
    ----------
    item : ndarray of shape (n_ratings,), dtype intp
        Row (item) index of each observed rating.
    annotator : ndarray of shape (n_ratings,), dtype intp
        Column (annotator) index of each observed rating.
    score : ndarray of shape (n_ratings,), dtype float64
        The rating itself.
    n_items, n_annotators : int
        Shape of the matrix the ratings came from.
    half_step : float, default=0.0
        Half the spacing of the levels when the scores are levels of a
        discrete scale: each rating then stands for the interval of this
        half-width around it (see :mod:`skem._model.levels`). 0 for exact
        scores.
    """

    item: np.ndarray
    annotator: np.ndarray
    score: np.ndarray
    n_items: int
    n_annotators: int
    half_step: float = 0.0

    @property
    def n_ratings(self):
        return self.score.shape[0]

    def select(self, mask):
        """The ratings where ``mask`` (one bool per rating) is True."""
        # One scan of the mask, then gathers: cheaper than three masked copies.
        index = np.flatnonzero(mask)
        return _Ratings(
            self.item[index],
            self.annotator[index],
            self.score[index],
            self.n_items,
            self.n_annotators,
            self.half_step,
        )

    def with_scores(self, score, half_step=0.0):
        """The same ratings with other scores (for example in unit space)."""
        ratings = _Ratings(
            self.item, self.annotator, score, self.n_items, self.n_annotators, half_step
        )
        # The same items and annotators: what they determine carries over.
        return ratings._knowing(
            **{name: self.__dict__[name] for name in _LAYOUT if name in self.__dict__}
        )

    def _knowing(self, **layout):
        """These ratings, with some of the ``_LAYOUT`` properties already known.

        A conversion that knows them for free (a CSR matrix has its counts per
        item in its row pointers, and its rows in order) saves a pass over
        every rating each.
        """
        unknown = set(layout) - set(_LAYOUT)
        if unknown:
            raise TypeError(f"Not a property of the ratings' layout: {unknown}.")
        # The properties are cached_property: their cache is the instance's
        # __dict__, which a frozen dataclass leaves writable.
        self.__dict__.update(layout)
        return self

    @cached_property
    def n_per_item(self):
        return np.bincount(self.item, minlength=self.n_items)

    @cached_property
    def n_per_annotator(self):
        return np.bincount(self.annotator, minlength=self.n_annotators)

    def unanimous_scores(self):
        """Each item's score where all its ratings are equal, else NaN.

        A weighted mean of equal scores is that score. Computed as a sum of
        products over a sum of weights, and mapped back from unit scores, it
        can miss it by a unit in the last place: a table then shows
        2.9999999999999996 for an item that everyone rated 3, and items that
        should tie are ranked by rounding.

        Returns
        -------
        scores : ndarray of shape (n_items,)
            NaN for the items whose ratings differ and for those without any.
        """
        return _compute_unanimous_scores(self.item, self.score, self.n_items)

    @cached_property
    def grouped_by_item(self):
        """Whether the ratings come item by item, in increasing item order.

        Ratings from a matrix, dense or sparse, do (row by row), and so do
        Dask's blocks: a chunk of them then spans a short run of items.
        """
        item = self.item
        return bool(np.all(item[1:] >= item[:-1]))


def _compute_unanimous_scores(item, score, n_items):
    """Each item's score where all its ratings are equal, else NaN.

    Parameters
    ----------
    item : ndarray of shape (n_ratings,)
        Item of each rating, in ``0 .. n_items - 1``.
    score : ndarray of shape (n_ratings,)
    n_items : int

    Returns
    -------
    scores : ndarray of shape (n_items,)
        NaN for the items whose ratings differ and for those without any.
    """
    # Any rating of an item is its reference: where they all agree, it is
    # their score; where they do not, some rating differs from it.
    reference = np.full(n_items, np.nan)
    reference[item] = score
    differs = np.bincount(item, weights=score != reference[item], minlength=n_items)
    return np.where(differs > 0, np.nan, reference)


def _exact_where_known(consensus, unanimous, gold=None):
    """``consensus``, at the score the data fix for the items where they do.

    Without biases the consensus of an item whose ratings all agree is a
    mean of equal scores; a gold item's is its known score. Computed in unit
    space and mapped back, either can miss its score by a unit in the last
    place; here it is that score, to the last bit.

    Parameters
    ----------
    consensus : ndarray of shape (n_items,)
        In score units.
    unanimous : ndarray of shape (n_items,) or None
        From :func:`_compute_unanimous_scores`, in score units; None for the
        forms with biases, whose consensus of such an item is not its score.
    gold : ndarray of shape (n_items,), default=None
        The gold items' known scores, NaN elsewhere.

    Returns
    -------
    consensus : ndarray of shape (n_items,)
        A new array.
    """
    exact = np.full_like(consensus, np.nan) if unanimous is None else unanimous
    if gold is not None:
        exact = np.where(np.isnan(gold), exact, gold)
    return np.where(np.isnan(exact), consensus, exact)


# The cached properties that depend on the items and annotators alone.
_LAYOUT = ("n_per_item", "n_per_annotator", "grouped_by_item")


# Values per gather of _compute_item_middle_values: the gathered rows, their
# indices and their sort stay within a few MiB whatever the panel's size.
_MIDDLE_CHUNK = 1 << 18

# Items with at most this many values are sorted by a network of
# compare-exchanges, a column of rows at a time (:func:`_sort_columns`): NumPy
# sorts each row of a matrix on its own, which costs most where rows are short.
# Measured on 2 million values, rows of 2, 5, 10 and 16 values: the row sort
# 29, 12, 8.3 and 4.3 ms, the network 2.1, 4.0, 6.5 and 8.8 ms.
_NETWORK_MAX = 10

# Values per slice of a chunk that the network sorts at once: they stay in
# cache across its compare-exchanges.
_NETWORK_CHUNK = 1 << 16


def _compute_item_middle_values(
    item, values, n_items, counts=None, grouped=None, with_deviations=False
):
    """The two middle values of each item's values: its lower and upper median.

    The items are taken by their number of values: those with ``c`` values
    form a matrix with ``c`` columns, and a sort along its rows finds their
    middle values. Sorting many short rows is many times faster than one sort
    of every value (by item, then value), and takes no more memory than a
    chunk of rows.

    Parameters
    ----------
    item : ndarray of shape (n_values,)
        Item of each value.
    values : ndarray of shape (n_values,)
    n_items : int
    counts : ndarray of shape (n_items,), default=None
        ``np.bincount(item, minlength=n_items)``, if the caller has it.
    grouped : bool, default=None
        Whether ``item`` is non-decreasing, if the caller knows.
    with_deviations : bool, default=False
        Also return the sum of every value's absolute deviation from its
        item's median. The sorted rows hold it without a pass over the
        values: a row's share is its upper half's sum minus its lower
        half's, taken as the sum of the differences of mirrored pairs, each
        at least 0, so that nothing cancels.

    Returns
    -------
    lower, upper : ndarray of shape (n_items,)
        The ``(c - 1) // 2``-th and ``c // 2``-th of an item's ``c`` values
        in increasing order (the same value if ``c`` is odd); NaN for the
        items without any.
    abs_deviations : float
        Only with ``with_deviations``: ``sum |v - m|`` over every value, with
        ``m`` any point between its item's ``lower`` and ``upper`` (the
        median among them).
    """
    if grouped is None:
        grouped = bool(np.all(item[1:] >= item[:-1]))
    if not grouped:
        values = values[np.argsort(item, kind="stable")]
    if counts is None:
        counts = np.bincount(item, minlength=n_items)
    starts = np.cumsum(counts) - counts
    lower, upper = np.full(n_items, np.nan), np.full(n_items, np.nan)
    deviations = 0.0 if with_deviations else None
    by_count = np.argsort(counts, kind="stable")
    edges = np.flatnonzero(np.diff(counts[by_count])) + 1
    for group in np.split(by_count, edges):
        count = int(counts[group[0]]) if group.shape[0] else 0
        if count == 0:
            continue
        # The network sorts the rows' columns: the values of a chunk are
        # gathered transposed, one contiguous array per column.
        by_network = count <= _NETWORK_MAX
        columns = np.arange(count)
        # The same chunks either way: the deviations are summed a chunk at a
        # time, and their rounding follows the chunks.
        rows_per_chunk = max(1, _MIDDLE_CHUNK // count)
        rows_per_slice = max(1, _NETWORK_CHUNK // count)
        for first in range(0, group.shape[0], rows_per_chunk):
            chosen = group[first : first + rows_per_chunk]
            begin, n_rows = int(starts[chosen[0]]), chosen.shape[0]
            if int(starts[chosen[-1]]) - begin == (n_rows - 1) * count:
                # The chosen items are increasing (a stable sort by count),
                # so this span means consecutive items, but for items without
                # values (a full panel): their values are one run, copied
                # without an index per value.
                rows = values[begin : begin + n_rows * count].reshape(n_rows, count)
                # A copy even of a single row, whose transpose is contiguous.
                rows = (rows.T if by_network else rows).copy()
            else:
                index = starts[chosen, np.newaxis] + columns
                rows = values[index.T if by_network else index]
            if by_network:
                for at in range(0, n_rows, rows_per_slice):
                    _sort_columns(rows[:, at : at + rows_per_slice])
                # Row by row again, for the middle values and the pairs.
                rows = rows.T
            else:
                rows.sort(axis=1)
            lower[chosen] = rows[:, (count - 1) // 2]
            upper[chosen] = rows[:, count // 2]
            if deviations is not None and count > 1:
                half = count // 2
                pairs = rows[:, : count - half - 1 : -1] - rows[:, :half]
                # Summed in the order of rows, whichever way they were sorted.
                deviations += float(np.ascontiguousarray(pairs).sum())
    if deviations is not None:
        return lower, upper, deviations
    return lower, upper


def _sort_columns(columns):
    """Sort across the rows of ``columns``, in place: each column ascending.

    Each compare-exchange of :func:`_merge_exchanges` puts the element-wise
    minimum of two rows in the first and the maximum in the second, so that
    every column of ``columns`` ends sorted, as ``np.sort(columns, axis=0)``
    leaves it for values that are not NaN (a zero may come out with the sign
    of another zero it equals).

    Parameters
    ----------
    columns : ndarray of shape (n_values, n_columns)
        Each row contiguous; without NaN.
    """
    spare = np.empty(columns.shape[1])
    for low, high in _merge_exchanges(columns.shape[0]):
        np.minimum(columns[low], columns[high], out=spare)
        np.maximum(columns[low], columns[high], out=columns[high])
        columns[low] = spare


@cache
def _merge_exchanges(n):
    """The compare-exchanges of Batcher's odd-even merge sort of ``n`` values.

    K. E. Batcher, "Sorting networks and their applications" (1968), in the
    form that takes any ``n``, not only powers of two: the network of the
    next power of two without the exchanges that reach beyond ``n``, which
    would only meet values larger than every real one. It has 1, 3, 9, 19
    and 32 exchanges for 2, 3, 5, 8 and 10 values.

    Parameters
    ----------
    n : int

    Returns
    -------
    pairs : tuple of (int, int)
        ``(i, j)``, ``i < j``: after the exchange position ``i`` holds the
        smaller of the two values; applied in order, they sort.
    """
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return tuple(pairs)


def _ratings_from_matrix(X):
    """Collect the observed entries of a validated rating matrix.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_items, n_annotators), dtype float64
        Output of ``validate_data``. In a dense array ``NaN`` means "not rated".
        In a sparse matrix the stored entries are the ratings, explicit zeros
        included, and absent entries mean "not rated"; a stored ``NaN`` also
        means "not rated".

    Returns
    -------
    ratings : _Ratings
        The observed ratings. ``X`` is never modified.

    Raises
    ------
    ValueError
        If a sparse matrix, in any format, stores the same (item, annotator)
        pair twice.
    """
    n_items, n_annotators = X.shape
    # Row by row: the ratings come grouped by item.
    layout = {"grouped_by_item": True}
    if sp.issparse(X):
        if not X.has_canonical_format:
            coo = X.tocoo()
            _check_no_duplicate_pairs(coo.row, coo.col, n_annotators)
        # Item by item, and each item's ratings by annotator, as from a dense
        # matrix: the same ratings in any format come in the same order, so
        # their sums and the fit are bitwise the same; a chunk of ratings
        # spans a short run of items, and the item medians need no sort.
        # Without repeated pairs, the conversions only reorder, and a CSC
        # matrix's column pointers count each annotator's ratings.
        n_per_annotator = (
            np.diff(X.indptr).astype(np.intp) if X.format == "csc" else None
        )
        X = X.tocsr()
        if not X.has_sorted_indices:
            X = X.sorted_indices()
        n_per_item = np.diff(X.indptr).astype(np.intp)
        # The rows straight from the row pointers, in the index type: each
        # conversion of every rating's index is a pass over new memory.
        item = np.repeat(np.arange(n_items, dtype=np.intp), n_per_item)
        annotator = X.indices.astype(np.intp)
        score = np.asarray(X.data, dtype=np.float64)
        missing = np.isnan(score)
        if missing.any():
            observed = ~missing
            item, annotator, score = (
                item[observed],
                annotator[observed],
                score[observed],
            )
        else:
            layout["n_per_item"] = n_per_item
            if n_per_annotator is not None:
                layout["n_per_annotator"] = n_per_annotator
    else:
        item, annotator = np.nonzero(~np.isnan(X))
        score = X[item, annotator]
    return _Ratings(item, annotator, score, n_items, n_annotators)._knowing(**layout)


def _check_no_duplicate_pairs(item, annotator, n_annotators):
    flat = item.astype(np.int64) * n_annotators + annotator
    unique, counts = np.unique(flat, return_counts=True)
    if unique.shape[0] != flat.shape[0]:
        first = unique[np.argmax(counts > 1)]
        raise ValueError(
            "The sparse matrix stores more than one rating for the same "
            f"(item, annotator) pair, e.g. ({first // n_annotators}, "
            f"{first % n_annotators}). Give each pair one rating."
        )
