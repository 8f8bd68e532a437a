"""The default against the plain mean on random subsamples of the real sets.

A set with truth gives one comparison; a user's panel is another draw. Each
row refits the default, seed by seed, on a random share of a set's
annotators (the items they rated), of its items (every rating of each), or
of its ratings, and compares its consensus with the mean of the same
ratings on the set's own metrics.

Spearman's rho against a truth of a few levels moves with how a consensus
breaks the plain mean's ties, and any consensus that is not exactly the
mean breaks them. So each Spearman row also gives how many seeds the mean
itself would lose beyond the margin with its ties broken at random: the
count a consensus that knows nothing more than the mean is expected to
reach.
"""

import warnings

import numpy as np

from benchmarks import peers
from benchmarks._common import Skipped, shared_data_dir, table
from skem import AnnotatorEM

SHARES = (0.3, 0.5, 0.7)
KINDS = ("annotators", "items", "ratings")
# Issue 16's margins: an error at most 1% above the mean's, a Spearman at
# most 0.01 below it.
ERROR_MARGIN = 1.01
SPEARMAN_MARGIN = 0.01
# Random tie-breaks of the mean per seed, for its expected count of seeds.
N_TIE_BREAKS = 50


def _subsample(X, kind, share, seed):
    """A random ``share`` of ``X``'s annotators, items or ratings.

    Returns the kept ratings, without the items and annotators left with
    none, and the kept items' rows in ``X``. Annotators are drawn as a set
    of ``max(2, round(share * n))`` columns; items and ratings each kept
    with probability ``share``.
    """
    rng = np.random.default_rng(seed)
    if kind == "annotators":
        n_annotators = X.shape[1]
        columns = rng.choice(
            n_annotators, max(2, round(share * n_annotators)), replace=False
        )
        X = X[:, columns]
    elif kind == "items":
        X = np.where((rng.random(X.shape[0]) < share)[:, None], X, np.nan)
    else:
        X = np.where(rng.random(X.shape) < share, X, np.nan)
    observed = ~np.isnan(X)
    rows = np.flatnonzero(observed.any(axis=1))
    return X[np.ix_(rows, np.flatnonzero(observed.any(axis=0)))], rows


def _on_all_rows(values, rows, n_rows):
    full = np.full(n_rows, np.nan)
    full[rows] = values
    return full


def _ties_broken_beyond(metric, mean, rows, n_rows, seed):
    """The share of random tie-breaks of ``mean`` that lose beyond the margin."""
    rng = np.random.default_rng(seed)
    plain = metric(_on_all_rows(mean, rows, n_rows), rows)
    jitter = 1e-9 * max(np.ptp(mean), 1.0)
    lost = 0
    for _ in range(N_TIE_BREAKS):
        broken = mean + jitter * rng.standard_normal(mean.size)
        broken_metric = metric(_on_all_rows(broken, rows, n_rows), rows)
        lost += broken_metric - plain < -SPEARMAN_MARGIN
    return lost / N_TIE_BREAKS


def subsample_table(quick=False):
    """Per set, metric, kind and share: the default over (or minus) the mean."""
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
        for kind in KINDS:
            for share in shares:
                scores = {name: [] for name, _, _ in data.metrics}
                ties = {name: [] for name, _, _ in data.metrics}
                flagged = []
                for seed in seeds:
                    X, rated = _subsample(data.X, kind, share, seed)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        em = AnnotatorEM().fit(X)
                        mean = np.nanmean(X, axis=1)
                    for name, metric, higher in data.metrics:
                        default = metric(_on_all_rows(em.mu_, rated, n_rows), rated)
                        plain = metric(_on_all_rows(mean, rated, n_rows), rated)
                        if higher:
                            scores[name].append(default - plain)
                            ties[name].append(
                                _ties_broken_beyond(metric, mean, rated, n_rows, seed)
                            )
                        else:
                            scores[name].append(default / plain)
                    flagged.append(np.mean(em.weights_ < 0.5))
                for name, _, higher in data.metrics:
                    rows.append(
                        _row(title, name, kind, share, higher, scores[name], ties[name])
                        + [f"{max(flagged):.0%}"]
                    )
    headers = [
        "set",
        "metric",
        "kept",
        "default's metric, the mean's",
        "average over seeds",
        "worst seed",
        "seeds beyond the margin",
        "the mean with its ties broken at random: seeds beyond (expected)",
        "most flagged",
    ]
    note = (
        f"Each seed (numpy default_rng(seed), seeds 0 to {len(seeds) - 1}) keeps "
        "a random share of the annotators (and the items they rated), of the "
        "items (with every rating of each), or of the ratings, fits the default "
        "AnnotatorEM() and compares it with the plain mean of the same ratings: "
        "the error over the mean's, or the Spearman minus the mean's. Beyond the "
        f"margin: an error more than {ERROR_MARGIN - 1:.0%} above the mean's, a "
        f"Spearman more than {SPEARMAN_MARGIN} below. The mean with its ties "
        f"broken at random ({N_TIE_BREAKS} draws a seed, a jitter of 1e-9 of its "
        "range): the seeds it is expected to lose beyond the margin itself, "
        "which is where a consensus that breaks the mean's ties without knowing "
        "more would be. 'most flagged': the largest share of the kept "
        "annotators with a weight below 0.5 over the seeds."
    )
    return table(headers, rows), note


def _row(title, name, kind, share, higher, values, ties):
    values = np.array(values)
    if higher:
        beyond = values < -SPEARMAN_MARGIN
        average, worst = f"{np.mean(values):+.4f}", f"{np.min(values):+.4f}"
        expected = f"{np.sum(ties):.1f}"
    else:
        beyond = values > ERROR_MARGIN
        average, worst = f"{np.mean(values):.4f}", f"{np.max(values):.4f}"
        expected = ""
    return [
        title,
        name,
        f"{share:.0%} of {kind}",
        "minus" if higher else "over",
        average,
        worst,
        f"{np.sum(beyond)} of {len(values)}",
        expected,
    ]
