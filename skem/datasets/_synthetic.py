"""Synthetic rating matrices drawn from the good/bad annotator model."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "n_items": [Interval(Integral, 1, None, closed="left")],
        "n_annotators": [Interval(Integral, 1, None, closed="left")],
        "bad_fraction": [Interval(Real, 0, 1, closed="both")],
        "sigma": [Interval(Real, 0, None, closed="left")],
        "missing_fraction": [Interval(Real, 0, 1, closed="left")],
        "score_range": [tuple, list],
        "sparse_output": ["boolean"],
        "return_truth": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_ratings(
    n_items=100,
    n_annotators=10,
    *,
    bad_fraction=0.3,
    sigma=0.1,
    missing_fraction=0.0,
    score_range=(0.0, 1.0),
    sparse_output=False,
    return_truth=False,
    random_state=None,
):
    """Generate ratings from good and bad annotators.

    Each item has a true score ``mu_i`` drawn uniformly from the middle 80% of
    the score range. A good annotator rates it ``mu_i + sigma * N(0, 1)``,
    clipped to the range; a bad annotator rates it uniformly at random over
    the range. Exactly ``round(bad_fraction * n_annotators)`` annotators,
    chosen at random, are bad.

    Parameters
    ----------
    n_items : int, default=100
        Number of items (rows).
    n_annotators : int, default=10
        Number of annotators (columns).
    bad_fraction : float, default=0.3
        Fraction of annotators who answer at random.
    sigma : float, default=0.1
        Standard deviation of good annotators' ratings, in score units.
    missing_fraction : float in [0, 1), default=0.0
        Fraction of the matrix left unrated. Each item is rated by exactly
        ``max(1, round((1 - missing_fraction) * n_annotators))`` annotators
        chosen at random, so no item is left without a rating.
    score_range : tuple of (float, float), default=(0.0, 1.0)
        ``(low, high)`` of the rating scale.
    sparse_output : bool, default=False
        If True, return a CSR matrix whose stored entries are the ratings,
        built without a dense intermediate (for millions of ratings).
        Otherwise a dense array with NaN for missing ratings.
    return_truth : bool, default=False
        If True, also return the true scores and the good/bad mask.
    random_state : int, RandomState instance or None, default=None
        Seed of the generator. Pass an int for reproducible output.

    Returns
    -------
    X : ndarray or scipy.sparse.csr_matrix of shape (n_items, n_annotators)
        The ratings.
    mu : ndarray of shape (n_items,)
        The true score of each item. Only returned if ``return_truth=True``.
    good : ndarray of shape (n_annotators,), dtype bool
        True for the good annotators. Only returned if ``return_truth=True``.

    Examples
    --------
    >>> from skem.datasets import make_ratings
    >>> X, mu, good = make_ratings(5, 4, bad_fraction=0.25, return_truth=True,
    ...                            random_state=0)
    >>> X.shape, mu.shape, int(good.sum())
    ((5, 4), (5,), 3)
    """
    try:
        low, high = (float(bound) for bound in score_range)
    except (TypeError, ValueError):
        low = high = np.nan
    # The width too must be finite: it scales the noise.
    if not (np.isfinite(high - low) and low < high):
        raise ValueError(
            "score_range must be two finite numbers with low < high, less than "
            f"about 1.8e308 apart; got {score_range!r}."
        )
    rng = check_random_state(random_state)
    width = high - low
    mu = rng.uniform(low + 0.1 * width, high - 0.1 * width, size=n_items)
    good = np.ones(n_annotators, dtype=bool)
    good[rng.permutation(n_annotators)[: round(bad_fraction * n_annotators)]] = False

    n_per_item = max(1, round((1.0 - missing_fraction) * n_annotators))
    raters = _choose_raters(n_items, n_annotators, n_per_item, rng)
    item = np.repeat(np.arange(n_items), n_per_item)
    annotator = raters.ravel()
    score = np.clip(mu[item] + sigma * rng.standard_normal(item.shape[0]), low, high)
    is_bad = ~good[annotator]
    score[is_bad] = rng.uniform(low, high, size=int(is_bad.sum()))

    if sparse_output:
        X = sp.csr_matrix((score, (item, annotator)), shape=(n_items, n_annotators))
    else:
        X = np.full((n_items, n_annotators), np.nan)
        X[item, annotator] = score
    return (X, mu, good) if return_truth else X


def _choose_raters(n_items, n_annotators, n_per_item, rng):
    """Distinct random annotators for each item, shape (n_items, n_per_item)."""
    if 2 * n_per_item > n_annotators:
        keys = rng.random_sample((n_items, n_annotators))
        return np.argsort(keys, axis=1)[:, :n_per_item]
    # Few raters among many annotators: draw with replacement and redraw the
    # collisions, which stays O(n_items * n_per_item) in memory.
    raters = rng.randint(0, n_annotators, size=(n_items, n_per_item))
    while True:
        raters.sort(axis=1)
        repeated = np.zeros(raters.shape, dtype=bool)
        repeated[:, 1:] = raters[:, 1:] == raters[:, :-1]
        if not repeated.any():
            return raters
        raters[repeated] = rng.randint(0, n_annotators, size=int(repeated.sum()))
