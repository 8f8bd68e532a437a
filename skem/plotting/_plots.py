"""Convergence, annotator reliability and consensus plots."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skem._estimators import HardAnnotatorEM
from skem._io.evidence import _observed
from skem._io.html import _mpl
from skem._io.labels import _annotator_labels
from skem._io.results import _check_consensus_in_memory
from skem._io.words import percent

GOOD_COLOR, BAD_COLOR = "tab:blue", "tab:red"
TRUTH_COLOR, CONSENSUS_COLOR, MEAN_COLOR = "tab:green", "tab:red", "grey"
# Past about 37 (log(2**53)), log_posterior_ rounds to 0 and the log-odds of
# being good are infinite: the reliability plot clips them to +/- this.
LOG_ODDS_CLIP = 40.0


def plot_convergence(estimator, *, ax=None, label=None):
    """Plot the objective of each EM iteration of a fitted estimator.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        A fitted estimator; its ``log_likelihoods_`` are drawn.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure if None.
    label : str, default=None
        Legend label of the curve; the estimator's class name if None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skem import AnnotatorEM
    >>> from skem.datasets import make_ratings
    >>> from skem.plotting import plot_convergence
    >>> em = AnnotatorEM().fit(make_ratings(50, 6, random_state=0))
    >>> ax = plot_convergence(em)
    >>> len(ax.lines[0].get_xdata()) == em.n_iter_
    True
    """
    check_is_fitted(estimator)
    ax = _axes(ax)
    objectives = estimator.log_likelihoods_
    iterations = np.arange(1, len(objectives) + 1)
    ax.plot(iterations, objectives, marker="o", label=label or type(estimator).__name__)
    ax.set_xlabel("EM iteration")
    kind = (
        "classification log-likelihood"
        if isinstance(estimator, HardAnnotatorEM)
        else "log-likelihood"
    )
    ax.set_ylabel(kind)
    ax.set_title("Convergence")
    ax.legend()
    return ax


def plot_annotator_reliability(estimator, *, annotators=None, threshold=0.5, ax=None):
    """Plot each annotator's log-odds of being good, sorted, flagged ones in red.

    The bars show ``log(p / (1 - p))`` with ``p`` the posterior probability of
    being good (from ``log_posterior_``), so the annotators whose weight is
    about 0 or 1 stay visible: a bar points down for an annotator more likely
    bad than good, up otherwise. The log-odds are clipped to
    ``[-LOG_ODDS_CLIP, LOG_ODDS_CLIP]`` (40): past about 37, ``log_posterior_``
    rounds to 0 in double precision and the log-odds would be infinite.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        A fitted estimator; its ``log_posterior_`` and ``weights_`` are drawn.
    annotators : array-like of shape (n_annotators,), default=None
        Labels of the annotators; if None, ``feature_names_in_`` (or a Dask
        fit's ``annotators_``), else column numbers.
    threshold : float, default=0.5
        Weight (probability of being good) below which an annotator is
        flagged as unreliable. Drawn as a line at the log-odds
        ``log(threshold / (1 - threshold))`` (0 for 0.5).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on: one bar per annotator, in increasing order of
        ``log_posterior_``, red for the flagged annotators (``weights_ <
        threshold``) and blue for the others, with a legend.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skem import AnnotatorEM
    >>> from skem.datasets import make_ratings
    >>> from skem.plotting import plot_annotator_reliability
    >>> X = make_ratings(50, 6, bad_fraction=0.3, random_state=0)
    >>> ax = plot_annotator_reliability(AnnotatorEM().fit(X))
    >>> len(ax.patches)
    6
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['reliable', 'flagged as unreliable', 'threshold P(good) = 0.5']
    """
    from matplotlib.patches import Patch

    check_is_fitted(estimator)
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must lie in [0, 1]; got {threshold!r}.")
    ax = _axes(ax)
    annotators = _annotator_labels(estimator, annotators)
    order = np.argsort(estimator.log_posterior_, kind="stable")
    log_odds = _clipped_log_odds(estimator.log_posterior_[order])
    flagged = estimator.weights_[order] < threshold
    positions = np.arange(len(order))
    ax.bar(positions, log_odds, color=np.where(flagged, BAD_COLOR, GOOD_COLOR))
    with np.errstate(divide="ignore"):
        line_at = np.clip(
            np.log(threshold) - np.log1p(-threshold), -LOG_ODDS_CLIP, LOG_ODDS_CLIP
        )
    threshold_line = ax.axhline(
        line_at,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"threshold P(good) = {threshold:g}",
    )
    ax.set_xticks(positions, [_mpl(a) for a in annotators[order]], rotation=90)
    margin = 0.05 * LOG_ODDS_CLIP
    ax.set_ylim(-LOG_ODDS_CLIP - margin, LOG_ODDS_CLIP + margin)
    ax.set_xlabel("annotator (least reliable first)")
    ax.set_ylabel(f"log-odds of being good\n(clipped to ±{LOG_ODDS_CLIP:g})")
    ax.set_title(f"Annotator reliability: {int(flagged.sum())} of {len(order)} flagged")
    ax.legend(
        handles=[
            Patch(color=GOOD_COLOR, label="reliable"),
            Patch(color=BAD_COLOR, label="flagged as unreliable"),
            threshold_line,
        ]
    )
    return ax


def plot_consensus(estimator, *, truth=None, X=None, level=0.95, ax=None):
    """Plot each training item's consensus with its confidence interval.

    Items are sorted by their true score if ``truth`` is given, else by
    consensus. With ``truth`` the true scores are drawn in green; with ``X``
    the plain mean of each item's ratings is drawn in grey beside it.

    The intervals are ``mu_interval(level)``: for the bounded forms clipped
    to the scale (the outer levels ``levels_`` on levels, else
    ``score_range_``), and the legend says so. A fit with
    ``score_scale='log'`` is drawn on a logarithmic axis, where its
    intervals are symmetric and counts of every size can be read.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        A fitted estimator; its ``mu_`` and ``mu_interval(level)`` are drawn.
    truth : array-like of shape (n_items,), default=None
        True scores, where known.
    X : {array-like, sparse matrix} of shape (n_items, n_annotators), \
default=None
        The training ratings, "not rated" as for ``fit`` (NaN, ``pd.NA``,
        absent), for the plain mean.
    level : float, default=0.95
        Coverage of the drawn intervals.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skem import AnnotatorEM
    >>> from skem.datasets import make_ratings
    >>> from skem.plotting import plot_consensus
    >>> X, mu, good = make_ratings(30, 5, return_truth=True, random_state=0)
    >>> ax = plot_consensus(AnnotatorEM().fit(X), truth=mu, X=X)
    >>> ax.get_legend_handles_labels()[1]
    ['truth', 'plain mean', 'AnnotatorEM (95% interval, clipped to the scale)']
    """
    _check_consensus_in_memory(estimator, "plot_consensus")
    n_items = estimator.mu_.shape[0]
    if truth is not None:
        truth = np.asarray(truth, dtype=np.float64)
        if truth.shape != (n_items,):
            raise ValueError(
                f"truth must hold one score per item of the fit ({n_items}); got "
                f"shape {truth.shape}."
            )
    ax = _axes(ax)
    consensus = estimator.mu_
    low, high = estimator.mu_interval(level).T
    order = np.argsort(consensus if truth is None else np.asarray(truth), kind="stable")
    positions = np.arange(len(order))
    if truth is not None:
        ax.plot(
            positions,
            np.asarray(truth)[order],
            color=TRUTH_COLOR,
            marker="o",
            linestyle="none",
            label="truth",
        )
    if X is not None:
        n_items = consensus.shape[0]
        rows, _, scores = _observed(X, n_items, estimator.weights_)
        with np.errstate(invalid="ignore"):  # an unrated item has no mean
            mean = np.bincount(rows, scores, n_items) / np.bincount(rows, None, n_items)
        ax.plot(
            positions,
            mean[order],
            color=MEAN_COLOR,
            marker="x",
            linestyle="none",
            label="plain mean",
        )
    # A consensus outside the scale (a gold score) keeps an empty bar.
    below = np.maximum(consensus[order] - low[order], 0)
    above = np.maximum(high[order] - consensus[order], 0)
    ax.errorbar(
        positions,
        consensus[order],
        yerr=[below, above],
        color=CONSENSUS_COLOR,
        marker=".",
        linestyle="none",
        capsize=2,
        label=f"{type(estimator).__name__} ({percent(level)} interval"
        + (", clipped to the scale)" if estimator.bounded else ")"),
    )
    ax.set_xlabel(
        "item (sorted by " + ("true score)" if truth is not None else "consensus)")
    )
    ax.set_ylabel("score")
    if estimator._score_scale.log:
        ax.set_yscale("log")
    ax.set_title("Consensus per item")
    ax.legend()
    return ax


def _clipped_log_odds(log_posterior):
    """``log(p / (1 - p))`` from ``log(p)``, clipped to +/- LOG_ODDS_CLIP.

    ``log(1 - p) = log(-expm1(log p))`` keeps the precision of small ``1 - p``;
    ``log p == 0`` gives ``+inf`` before clipping.
    """
    # min(., 0): a rounding error must not make log(1 - p) the log of p < 0.
    log_posterior = np.minimum(np.asarray(log_posterior, dtype=float), 0.0)
    with np.errstate(divide="ignore"):
        log_odds = log_posterior - np.log(-np.expm1(log_posterior))
    return np.clip(log_odds, -LOG_ODDS_CLIP, LOG_ODDS_CLIP)


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    return ax
