"""The command's two tables, one schema for every backend, and its summary.

Per item: ``<item>, consensus, std_error, ci_low, ci_high, n_ratings``, plus
``location`` for the bounded forms. Per annotator: ``<annotator>, p_good,
verdict, n_ratings, sigma, bias, log_posterior``. ``<item>`` and
``<annotator>`` are the user's own column names. The in-memory path takes
the tables from :func:`skem.consensus_frame` and :func:`skem.annotator_frame`
when they take a ``name``; the Dask path builds the same columns from the
Dask estimator's fitted attributes.
"""

import inspect
import math

import numpy as np

import skem
from skem._cli.messages import count, listing, show

ITEM_COLUMNS = ("consensus", "std_error", "ci_low", "ci_high", "n_ratings")
ANNOTATOR_COLUMNS = (
    "p_good",
    "verdict",
    "n_ratings",
    "sigma",
    "bias",
    "log_posterior",
)
# The verdict words of skem.annotator_frame: "consistent" from this p_good up,
# "random" from RANDOM_BELOW down, "undetermined" in between, or with fewer
# than MIN_SHARED_RATINGS ratings on items that someone else rated too.
CONSISTENT_FROM = 0.9
RANDOM_BELOW = 0.1
MIN_SHARED_RATINGS = 3
_WIDEST_SHOWN = 3


def item_columns(estimator, name):
    """The columns of the item table of ``estimator``'s form, in order.

    Parameters
    ----------
    estimator : fitted estimator
    name : str
        The user's item column.

    Returns
    -------
    columns : list of str
    """
    return [name, *ITEM_COLUMNS] + (["location"] if estimator.bounded else [])


def _takes_name(function):
    """Whether a skem table function writes the user's column name."""
    return "name" in inspect.signature(function).parameters


def in_memory_tables(estimator, matrix, *, level, item_name, annotator_name):
    """The item and annotator tables of an in-memory fit.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        Fitted on ``matrix.X``.
    matrix : RatingMatrix
        The ratings and their labels.
    level : float
        Coverage of the consensus intervals.
    item_name, annotator_name : str
        The user's column names.

    Returns
    -------
    consensus, annotators : pandas.DataFrame
    """
    X = matrix.X.tocsr()
    per_item = np.diff(X.indptr)
    per_annotator = np.bincount(X.indices, minlength=X.shape[1])
    if _takes_name(skem.consensus_frame):
        consensus = skem.consensus_frame(
            estimator, matrix.items, X=matrix.X, level=level, name=item_name
        )
    else:
        consensus = _item_table(
            matrix.items,
            estimator.mu_,
            estimator.mu_std_error_,
            level,
            bounded=estimator.bounded,
            score_range=estimator.score_range_,
            location=estimator.location_,
        ).assign(n_ratings=per_item)
        consensus = consensus.rename(columns={"item": item_name})
    if _takes_name(skem.annotator_frame):
        annotators = skem.annotator_frame(
            estimator, matrix.annotators, X=matrix.X, name=annotator_name
        )
    else:
        shared = np.bincount(
            X.indices, weights=np.repeat(per_item >= 2, per_item), minlength=X.shape[1]
        )
        annotators = annotator_table(
            estimator, matrix.annotators, annotator_name, per_annotator, shared
        )
    return (
        consensus[item_columns(estimator, item_name)],
        annotators[[annotator_name, *ANNOTATOR_COLUMNS]],
    )


def _item_table(labels, consensus, std_error, level, *, bounded, score_range, location):
    """The item table from the consensus and its standard error (no counts).

    The interval is ``consensus +- z * std_error``, as ``mu_interval`` gives
    it, clipped to the score range for the bounded forms, whose consensus
    cannot leave the scale; they also have a ``location``.
    """
    import pandas as pd
    from scipy.stats import norm

    consensus = np.asarray(consensus, dtype=np.float64)
    std_error = np.asarray(std_error, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        half = float(norm.ppf(0.5 + level / 2)) * std_error
        low, high = consensus - half, consensus + half
    if bounded:
        low, high = (np.clip(v, *score_range) for v in (low, high))
    table = pd.DataFrame(
        {
            "item": labels,
            "consensus": consensus,
            "std_error": std_error,
            "ci_low": low,
            "ci_high": high,
        }
    )
    if bounded:
        table["location"] = np.asarray(location, dtype=np.float64)
    return table


def item_partition(partition, *, bounded, score_range, level, name):
    """One partition of a Dask fit's ``consensus_`` in the item table's schema.

    Parameters
    ----------
    partition : pandas.DataFrame
        Indexed by item, with the columns consensus, std_error, location
        and n_ratings.
    bounded : bool
        Whether the fit's form is bounded.
    score_range : tuple of float
        The fit's ``score_range_``.
    level : float
        Coverage of the intervals.
    name : str
        The user's item column.

    Returns
    -------
    table : pandas.DataFrame
    """
    table = _item_table(
        partition.index.to_numpy(),
        partition["consensus"].to_numpy(),
        partition["std_error"].to_numpy(),
        level,
        bounded=bounded,
        score_range=score_range,
        location=partition["location"].to_numpy(),
    )
    table["n_ratings"] = partition["n_ratings"].to_numpy(dtype=np.int64)
    columns = [name, *ITEM_COLUMNS] + (["location"] if bounded else [])
    return table.rename(columns={"item": name})[columns]


def annotator_table(estimator, labels, name, n_ratings, n_shared):
    """The annotator table from fitted attributes and rating counts.

    Parameters
    ----------
    estimator : fitted estimator
        In memory or on Dask.
    labels : array-like of shape (n_annotators,)
    name : str
        The user's annotator column.
    n_ratings, n_shared : array-like of shape (n_annotators,)
        Each annotator's number of ratings, and of those on items that
        someone else rated too.

    Returns
    -------
    table : pandas.DataFrame
    """
    import pandas as pd

    log_posterior = np.asarray(estimator.log_posterior_, dtype=np.float64)
    p_good = np.exp(log_posterior)  # soft, for hard EM too
    if _takes_name(skem.annotator_frame):
        table = skem.annotator_frame(estimator, labels, name=name)
        verdict = table["verdict"].to_numpy(dtype=object).copy()
    else:
        verdict = np.where(
            p_good >= CONSISTENT_FROM,
            "consistent",
            np.where(p_good <= RANDOM_BELOW, "random", "undetermined"),
        ).astype(object)
    verdict[np.asarray(n_shared) < MIN_SHARED_RATINGS] = "undetermined"
    n = log_posterior.shape[0]
    return pd.DataFrame(
        {
            name: labels,
            "p_good": p_good,
            "verdict": verdict,
            "n_ratings": np.asarray(n_ratings, dtype=np.int64),
            "sigma": np.broadcast_to(estimator.sigma_, (n,)).astype(np.float64),
            "bias": np.broadcast_to(estimator.bias_, (n,)).astype(np.float64),
            "log_posterior": log_posterior,
        }
    )


def summary(
    estimator, annotators, *, n_items, name, item_name, elapsed, level, widest=()
):
    """The plain-words summary of a fit, naming annotators and items by label.

    Parameters
    ----------
    estimator : fitted estimator
    annotators : pandas.DataFrame
        The annotator table.
    n_items : int
    name : str
        The user's annotator column, the first column of ``annotators``.
    item_name : str
        The user's item column.
    elapsed : float
        Seconds the fit took.
    level : float
        Coverage of the intervals.
    widest : list of (label, half_width), default=()
        The items with the widest intervals, widest first.

    Returns
    -------
    lines : list of str
    """
    verdict = annotators["verdict"].to_numpy()
    labels = annotators[name].to_numpy()
    p_good = annotators["p_good"].to_numpy()
    n_annotators = len(annotators)
    low, high = estimator.score_range_
    kind = "hard" if getattr(estimator, "_hard", False) else "soft"
    n_ratings = int(annotators["n_ratings"].sum())
    lines = [
        f"{type(estimator).__name__} ({kind} EM) fitted {count(n_items, 'item')} "
        f"rated by {count(n_annotators, 'annotator')} ({count(n_ratings, 'rating')} "
        f"on a {low:.3g} to {high:.3g} scale)."
    ]
    random = labels[verdict == "random"]
    if random.size:
        verb = "answers" if random.size == 1 else "answer"
        lines.append(
            f"{random.size} of {n_annotators} annotators {verb} at random: "
            f"{listing(random)} (their ratings are left out of the consensus)."
        )
    else:
        lines.append(f"None of the {n_annotators} annotators answers at random.")
    undetermined = verdict == "undetermined"
    n_rated = annotators["n_ratings"].to_numpy()
    few = undetermined & (
        (p_good >= CONSISTENT_FROM)
        | (p_good <= RANDOM_BELOW)
        | (n_rated < MIN_SHARED_RATINGS)
    )
    if few.any():
        lines.append(
            f"{few.sum()} undetermined (too few ratings to judge): "
            f"{listing(labels[few])}."
        )
    either = undetermined & ~few
    if either.any():
        lines.append(
            f"{either.sum()} undetermined (their ratings fit either way; they "
            f"count in the consensus by how likely they are good): "
            f"{listing(labels[either])}."
        )
    lines.append(_sigma_line(annotators, verdict == "consistent"))
    if getattr(estimator, "bias", False):
        lines.append(_bias_line(annotators, labels, verdict == "consistent"))
    if widest:
        shown = ", ".join(
            f"{item_name} {show(label)} (+-{half:.2g})" for label, half in widest
        )
        lines.append(
            f"Consensus: the widest {level:.0%} intervals are those of {shown}; "
            "more ratings narrow them."
        )
    lines.append(_convergence_line(estimator, elapsed))
    return lines


def _sigma_line(annotators, consistent):
    """What sigma means, and its value among the consistent annotators."""
    sigma = annotators["sigma"].to_numpy()
    if np.all(sigma == sigma[0]):
        return (
            f"Typical deviation from the consensus (sigma, the inconsistency): "
            f"{sigma[0]:.3g}, shared by all annotators."
        )
    chosen = sigma[consistent] if consistent.any() else sigma
    who = "consistent annotators" if consistent.any() else "annotators"
    if f"{chosen.min():.3g}" == f"{chosen.max():.3g}":
        return (
            f"Typical deviation from the consensus (sigma, the inconsistency) of "
            f"the {who}: {chosen.max():.3g}."
        )
    return (
        f"Typical deviation from the consensus (sigma, the inconsistency) of the "
        f"{who}: {np.median(chosen):.3g} (median; from {chosen.min():.3g} to "
        f"{chosen.max():.3g})."
    )


def _bias_line(annotators, labels, consistent):
    """The largest offsets among the consistent annotators, and who has them."""
    bias = annotators["bias"].to_numpy()
    chosen = np.flatnonzero(consistent) if consistent.any() else np.arange(len(bias))
    low = chosen[int(np.argmin(bias[chosen]))]
    high = chosen[int(np.argmax(bias[chosen]))]
    return (
        f"Bias (how much higher than the consensus an annotator rates): from "
        f"{bias[low]:+.2f} ({show(labels[low])}) to {bias[high]:+.2f} "
        f"({show(labels[high])})."
    )


def _convergence_line(estimator, elapsed):
    """Convergence in words."""
    n_iter = estimator.n_iter_
    if estimator.converged_:
        return (
            f"The fit converged: it stopped changing after "
            f"{count(n_iter, 'iteration')} ({elapsed:.2f} s)."
        )
    return (
        f"The fit did NOT converge: it was still changing after "
        f"{count(n_iter, 'iteration')} ({elapsed:.2f} s); treat the results as "
        "provisional."
    )


def widest_intervals(consensus, name, limit=_WIDEST_SHOWN):
    """The items whose intervals are widest, with their half-widths.

    Parameters
    ----------
    consensus : pandas.DataFrame
        The item table (in memory).
    name : str
        The user's item column.
    limit : int, default=3

    Returns
    -------
    widest : list of (label, half_width)
    """
    half = (consensus["ci_high"] - consensus["ci_low"]).to_numpy() / 2
    finite = np.flatnonzero(np.isfinite(half))
    order = finite[np.argsort(-half[finite], kind="stable")][:limit]
    labels = consensus[name].to_numpy()
    return [(labels[k], float(half[k])) for k in order if not math.isnan(half[k])]


def next_hint(annotators, outputs):
    """The one-line "next:" hint.

    Parameters
    ----------
    annotators : pandas.DataFrame
    outputs : dict
        The outputs written: 'consensus', 'annotators', 'report'.

    Returns
    -------
    line : str
    """
    flagged = (annotators["verdict"] != "consistent").any()
    if "report" in outputs and outputs["report"] != "-":
        return f"next: open {outputs['report']} for the figures and what to do."
    if not outputs:
        return (
            "next: save the tables with -o DIR (or --consensus/--annotators PATH), "
            "or a page with --report report.html."
        )
    where = outputs.get("annotators")
    if flagged and where not in (None, "-"):
        return (
            f"next: check the ratings of the flagged annotators; {where} has "
            "each one's verdict, sigma and bias."
        )
    return "next: --report report.html draws the fit on one page."
