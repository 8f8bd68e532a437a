"""The default against the plain mean on random subsamples of the real sets.

A set with truth gives one comparison; a user's panel is another draw of
annotators. Each row refits the default on a random share of a set's
annotators (the items they rated), seed by seed, and compares its consensus
with the mean of the same ratings on the set's own metrics.
"""

import warnings

import numpy as np

from benchmarks import peers
from benchmarks._common import Skipped, shared_data_dir, table
from skem import AnnotatorEM

SHARES = (0.3, 0.5, 0.7)
# Issue 16's margins: an error at most 1% above the mean's, a Spearman at
# most 0.01 below it.
ERROR_MARGIN = 1.01
SPEARMAN_MARGIN = 0.01


def _subsample(X, share, seed):
    """The columns of a random ``share`` of annotators, and the rated rows."""
    rng = np.random.default_rng(seed)
    n_annotators = X.shape[1]
    columns = rng.choice(
        n_annotators, max(2, round(share * n_annotators)), replace=False
    )
    sub = X[:, columns]
    rows = np.flatnonzero(np.sum(~np.isnan(sub), axis=1) > 0)
    return sub[rows], rows


def _on_all_rows(values, rows, n_rows):
    full = np.full(n_rows, np.nan)
    full[rows] = values
    return full


def subsample_table(quick=False):
    """Per set, metric and share: the default over (or minus) the mean."""
    folder = shared_data_dir()
    shares = SHARES[1:2] if quick else SHARES
    seeds = range(2 if quick else 30)
    rows = []
    for title, subfolder, load in peers.SETS:
        try:
            data = load(folder / subfolder)
        except Skipped:
            continue
        if not data.metrics:
            continue
        n_rows = data.X.shape[0]
        for share in shares:
            scores = {name: [] for name, _, _ in data.metrics}
            flagged = []
            for seed in seeds:
                X, rated = _subsample(data.X, share, seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    em = AnnotatorEM().fit(X)
                    mean = np.nanmean(X, axis=1)
                for name, metric, higher in data.metrics:
                    default = metric(_on_all_rows(em.mu_, rated, n_rows), rated)
                    plain = metric(_on_all_rows(mean, rated, n_rows), rated)
                    scores[name].append(default - plain if higher else default / plain)
                flagged.append(np.mean(em.weights_ < 0.5))
            for name, _, higher in data.metrics:
                values = np.array(scores[name])
                beyond = values < -SPEARMAN_MARGIN if higher else values > ERROR_MARGIN
                rows.append(
                    [
                        title,
                        name,
                        f"{share:.0%}",
                        "minus" if higher else "over",
                        f"{np.mean(values):+.4f}"
                        if higher
                        else f"{np.mean(values):.4f}",
                        f"{np.min(values):+.4f}" if higher else f"{np.max(values):.4f}",
                        f"{np.sum(beyond)} of {len(values)}",
                        f"{max(flagged):.0%}",
                    ]
                )
    headers = [
        "set",
        "metric",
        "annotators kept",
        "default's metric, the mean's",
        "average over seeds",
        "worst seed",
        "seeds beyond the margin",
        "most flagged",
    ]
    note = (
        f"Each seed keeps a random share of the annotators (numpy default_rng(seed), "
        f"seeds 0 to {len(seeds) - 1}) and the items they rated, fits the default "
        "AnnotatorEM() and compares it with the plain mean of the same ratings: "
        "the error over the mean's, or the Spearman minus the mean's. Beyond the "
        f"margin: an error more than {ERROR_MARGIN - 1:.0%} above the mean's, a "
        f"Spearman more than {SPEARMAN_MARGIN} below. 'most flagged': the largest "
        "share of the kept annotators with a weight below 0.5 over the seeds."
    )
    return table(headers, rows), note
