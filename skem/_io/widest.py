"""Which intervals to name: the notably wide ones, widest first.

One rule for the report page, the command's summary and its Dask summary:
an interval is notably wide when its standard error is over ``WIDE_FACTOR``
times the median one, and the wide ones are ranked by the width shown, ties
broken by label.
"""

import numpy as np

# The report names at most N_WIDEST items whose interval is notably wide (the
# command's summary fewer): a standard error over WIDE_FACTOR times the
# median one.
N_WIDEST = 5
WIDE_FACTOR = 1.2


def _half_width(table, log=False):
    """Half the width of each interval as shown, ``(ci_high - ci_low) / 2``.

    With ``log`` (``score_scale='log'``), of the logarithms, ``log(ci_high /
    ci_low) / 2``: a relative width, as the std errors are, so that the least
    certain items rank first, not the largest scores.

    Parameters
    ----------
    table : pandas.DataFrame or dask.dataframe.DataFrame
        An item table with the columns ``ci_low`` and ``ci_high``.
    log : bool, default=False

    Returns
    -------
    half : pandas.Series or dask.dataframe.Series
    """
    if log:
        return np.log(table["ci_high"] / table["ci_low"]) / 2
    return (table["ci_high"] - table["ci_low"]) / 2


def _wide_threshold(std_error):
    """The standard error above which an item's interval is notably wide.

    WIDE_FACTOR times the median of the finite, positive standard errors;
    infinite if there are none.
    """
    std_error = np.asarray(std_error, dtype=float)
    finite = std_error[np.isfinite(std_error) & (std_error > 0)]
    return WIDE_FACTOR * float(np.median(finite)) if finite.size else np.inf


def _is_wide(std_error):
    """Whether each item's interval is notably wide.

    Notably: a finite standard error over :func:`_wide_threshold`.

    Parameters
    ----------
    std_error : array-like of shape (n_items,)

    Returns
    -------
    wide : ndarray of shape (n_items,), dtype bool
    """
    std_error = np.asarray(std_error, dtype=float)
    return np.isfinite(std_error) & (std_error > _wide_threshold(std_error))


def _widest(std_error, limit=N_WIDEST, half=None, labels=None):
    """Up to ``limit`` items whose interval is notably wider than typical.

    Notably: a standard error over :func:`_wide_threshold`. When all items
    have the same raters, no interval stands out and none is named. Ranked
    by :func:`_rank_widest`.

    Parameters
    ----------
    std_error : array-like of shape (n_items,)
    limit : int or None, default=N_WIDEST
        None for every notably wide item.
    half : array-like of shape (n_items,), default=None
        The half width of each interval as shown (clipped to a bounded
        scale), which ranks the items; ``std_error`` if None.
    labels : array-like of shape (n_items,), default=None
        The item labels, whose order breaks ties; the items' order if None.

    Returns
    -------
    positions : ndarray of int
        The items, widest first.
    """
    std_error = np.asarray(std_error, dtype=float)
    wide = np.flatnonzero(_is_wide(std_error))
    half = std_error if half is None else np.asarray(half, dtype=float)
    labels = None if labels is None else np.asarray(labels, dtype=object)[wide]
    limit = wide.size if limit is None else limit
    return wide[_rank_widest(half[wide], labels, limit)]


def _rank_widest(half, labels=None, limit=N_WIDEST):
    """Positions of the ``limit`` widest intervals, ties broken by label.

    Widths equal to 9 significant digits are equal: items with the same
    raters differ only by roundings of their locations. Among them the
    labels' text order decides (the positions' order without labels), so
    that the report, the summary and the Dask summary name the same items
    whatever the items' order.

    Parameters
    ----------
    half : array-like of shape (n,)
        The half width of each interval.
    labels : array-like of shape (n,), default=None
    limit : int, default=N_WIDEST

    Returns
    -------
    positions : ndarray of int
        At most ``limit``, widest first.
    """
    half = np.asarray(half, dtype=float)
    # A NaN width cannot be ranked; an infinite one is the widest.
    candidates = np.flatnonzero(~np.isnan(half))
    if limit <= 0:
        return np.zeros(0, dtype=np.intp)
    if candidates.size > limit:  # only those that may tie with the cut, to sort
        cut = np.partition(half[candidates], -limit)[-limit]
        candidates = candidates[half[candidates] >= _tie_floor(cut)]

    def key(k):
        tie = k if labels is None else str(labels[k])
        return -float(f"{half[k]:.9g}"), tie

    return np.asarray(sorted(candidates.tolist(), key=key)[:limit], dtype=np.intp)


def _tie_floor(half):
    """The least width that may tie ``half`` to 9 significant digits."""
    return half - 1e-8 * abs(half) if np.isfinite(half) else half
