"""Helpers shared by the benchmark sections: data, timing, tables."""

import os
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent


class Skipped(Exception):
    """A section cannot run here (missing data or optional package)."""


def shared_data_dir():
    """The real-data folder, or raise Skipped if it is not on this machine."""
    folder = Path(
        os.environ.get("SKEM_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")
    )
    if not folder.is_dir():
        raise Skipped(f"no real data at {folder} (set SKEM_SHARED_DATA)")
    return folder


def read_long_csv(path):
    """(item, annotator, score) columns of a long-format CSV, as arrays."""
    import pandas as pd

    frame = pd.read_csv(path)
    return (
        frame["item"].to_numpy(),
        frame["annotator"].to_numpy(),
        frame["score"].to_numpy(float),
    )


def replace_with_random_raters(X, fraction, seed, draw):
    """``X`` with a ``fraction`` of its annotators replaced by random raters.

    Parameters
    ----------
    X : ndarray of shape (n_items, n_annotators)
        Ratings, NaN where missing; not modified.
    fraction : float
        Share of the columns replaced, rounded to a whole number of them.
    seed : int
        Seed of the ``RandomState`` that picks the columns, then draws.
    draw : callable
        ``draw(rng, shape)``: the random raters' scores.

    Returns
    -------
    noisy : ndarray of shape (n_items, n_annotators)
        ``X`` with each replaced column's ratings drawn anew, where rated.
    replaced : ndarray of int
        The replaced columns.
    """
    rng = np.random.RandomState(seed)
    replaced = rng.permutation(X.shape[1])[: round(fraction * X.shape[1])]
    noisy = X.copy()
    rated = ~np.isnan(noisy[:, replaced])
    noisy[:, replaced] = np.where(rated, draw(rng, rated.shape), np.nan)
    return noisy, replaced


def median_time(function, repeats):
    """Median wall time of ``repeats`` calls, and the last result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_memory(function):
    """Peak traced allocation (bytes) during ``function()``, and its result.

    NumPy reports its buffers to tracemalloc, so this counts the arrays that
    the call allocates, not the memory held before it.
    """
    tracemalloc.start()
    try:
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def table(headers, rows):
    """A Markdown table."""

    def cell(value):
        if isinstance(value, float):
            if not np.isfinite(value):
                return str(value)
            if abs(value) >= 1000:
                return f"{value:,.0f}"
            return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
