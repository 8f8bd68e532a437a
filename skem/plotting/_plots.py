"""Convergence, annotator reliability and consensus plots."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skem._annotator_em import HardAnnotatorEM

GOOD_COLOR, BAD_COLOR = "tab:blue", "tab:red"
TRUTH_COLOR, CONSENSUS_COLOR, MEAN_COLOR = "tab:green", "tab:red", "grey"


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
    """Plot each annotator's weight, sorted, good and bad in two colours.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        A fitted estimator; its ``weights_`` are drawn.
    annotators : array-like of shape (n_annotators,), default=None
        Labels of the annotators; ``feature_names_in_`` or column numbers if
        None.
    threshold : float, default=0.5
        Weight at or above which an annotator counts as good; drawn as a line.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on: one bar per annotator, in increasing order of
        ``log_posterior_`` (which also orders weights that saturate at 0 or 1).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skem import AnnotatorEM
    >>> from skem.datasets import make_ratings
    >>> from skem.plotting import plot_annotator_reliability
    >>> em = AnnotatorEM().fit(make_ratings(50, 6, random_state=0))
    >>> len(plot_annotator_reliability(em).patches)
    6
    """
    check_is_fitted(estimator)
    ax = _axes(ax)
    if annotators is None:
        annotators = getattr(
            estimator, "feature_names_in_", np.arange(estimator.weights_.shape[0])
        )
    annotators = np.asarray(annotators)
    order = np.argsort(estimator.log_posterior_, kind="stable")
    weights = estimator.weights_[order]
    colors = np.where(weights >= threshold, GOOD_COLOR, BAD_COLOR)
    positions = np.arange(len(order))
    ax.bar(positions, weights, color=colors)
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1, label="threshold")
    ax.set_xticks(positions, [str(a) for a in annotators[order]], rotation=90)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("annotator (least reliable first)")
    ax.set_ylabel("P(good | ratings)")
    ax.set_title(
        f"Annotator reliability: {int(np.sum(weights < threshold))} of "
        f"{len(weights)} flagged"
    )
    return ax


def plot_consensus(estimator, *, truth=None, X=None, level=0.95, ax=None):
    """Plot each training item's consensus with its confidence interval.

    Items are sorted by their true score if ``truth`` is given, else by
    consensus. With ``truth`` the true scores are drawn in green; with ``X``
    the plain mean of each item's ratings is drawn in grey beside it.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        A fitted estimator; its ``mu_`` and ``mu_interval(level)`` are drawn.
    truth : array-like of shape (n_items,), default=None
        True scores, where known.
    X : array-like of shape (n_items, n_annotators), default=None
        The training ratings (NaN for missing), for the plain mean.
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
    ['truth', 'plain mean', 'AnnotatorEM (95% interval)']
    """
    check_is_fitted(estimator)
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
        with np.errstate(all="ignore"):
            mean = np.nanmean(np.asarray(X, dtype=float), axis=1)
        ax.plot(
            positions,
            mean[order],
            color=MEAN_COLOR,
            marker="x",
            linestyle="none",
            label="plain mean",
        )
    ax.errorbar(
        positions,
        consensus[order],
        yerr=[consensus[order] - low[order], high[order] - consensus[order]],
        color=CONSENSUS_COLOR,
        marker=".",
        linestyle="none",
        capsize=2,
        label=f"{type(estimator).__name__} ({level:.0%} interval)",
    )
    ax.set_xlabel(
        "item (sorted by " + ("true score)" if truth is not None else "consensus)")
    )
    ax.set_ylabel("score")
    ax.set_title("Consensus per item")
    ax.legend()
    return ax


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    return ax
