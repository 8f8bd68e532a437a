"""The command's two tables, one schema for every backend, and its summary.

Per item: ``<item>, consensus, std_error, ci_low, ci_high, n_ratings``, plus
``location`` for the bounded forms. Per annotator: ``<annotator>, p_good,
verdict, consensus_weight, n_ratings, sigma, bias, log_posterior``. ``<item>`` and
``<annotator>`` are the user's own column names. The schema, the intervals
and the verdicts are those of :mod:`skem._io.results`, imported when a fit
needs them so that ``skem --help`` stays light.
"""

from typing import NamedTuple

import numpy as np

from skem._cli.messages import listing
from skem._io.words import (
    _degrees_of_freedom,
    count,
    label_text,
    number,
    numbers_alike,
    percent,
    signed,
)

# Items a summary names as having a notably wide interval, at most.
WIDEST_SHOWN = 3
# Annotators a summary line names, at most; the annotator table has them all.
# Undetermined ones matter less, and a sparse panel has hundreds.
_NAMED_RANDOM = 10
_NAMED_UNDETERMINED = 5


def in_memory_tables(estimator, matrix, *, level, item_name, annotator_name):
    """The item and annotator tables of an in-memory fit, and its evidence.

    The tables of :func:`skem.consensus_frame` and
    :func:`skem.annotator_frame`, from one pass of evidence over the ratings,
    which :func:`data_notes` reads too. The command checked the column
    names already.

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
    evidence : skem._io.evidence._Evidence
    """
    from skem._io.evidence import _annotator_evidence
    from skem._io.labels import _annotator_labels, _item_labels
    from skem._io.results import _annotator_table, _item_table

    evidence = _annotator_evidence(estimator, matrix.X)
    consensus = _item_table(
        estimator, _item_labels(estimator, matrix.items), evidence, level, item_name
    )
    annotators, _ = _annotator_table(
        estimator,
        _annotator_labels(estimator, matrix.annotators),
        evidence,
        annotator_name,
    )
    return consensus, annotators, evidence


def item_partition(partition, *, bounded, score_range, level, name, log=False):
    """One partition of a Dask fit's ``consensus_`` at another ``level``.

    Parameters
    ----------
    partition : pandas.DataFrame
        Indexed by item, with the columns of ``consensus_``.
    bounded : bool
        Whether the fit's form is bounded (and so has a ``location``).
    score_range : tuple of float
        The fit's ``score_range_``.
    level : float
        Coverage of the intervals.
    name : str
        The user's item column.
    log : bool, default=False
        Whether the fit is on the logarithms of the scores.

    Returns
    -------
    table : pandas.DataFrame
        The item table's columns, the label first.
    """
    import pandas as pd

    from skem._io.results import _item_columns

    columns = _item_columns(
        partition["consensus"].to_numpy(),
        partition["std_error"].to_numpy(),
        partition["n_ratings"].to_numpy(dtype=np.int64),
        partition["location"].to_numpy() if bounded else None,
        level=level,
        score_range=score_range,
        log=log,
    )
    return pd.DataFrame({name: partition.index.to_numpy(), **columns})


class WidestIntervals(NamedTuple):
    """The items the summary names for their wide intervals.

    Parameters
    ----------
    shown : sequence of (label, ci_low, ci_high), default=()
        The widest, widest first, as shown (a clipped interval is not
        centred on its consensus).
    n_wide : int, default=0
        How many intervals are notably wide (:func:`skem._io.widest._is_wide`):
        ``shown`` are the widest of them.
    """

    shown: tuple = ()
    n_wide: int = 0


def summary(
    estimator,
    annotators,
    *,
    n_items,
    name,
    item_name,
    elapsed,
    level,
    widest=None,
    notes=(),
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
    widest : WidestIntervals, default=None
        The items with the widest intervals; none if None.
    notes : list of str, default=()
        Lines about the data, such as :func:`data_notes`'.

    Returns
    -------
    lines : list of str
    """
    verdict = annotators["verdict"].to_numpy()
    labels = annotators[name].to_numpy()
    n_annotators = len(annotators)
    from skem._io.results import _scale_ends
    from skem._io.verdicts import (
        _prior_weight_words,
        _random_weight_words,
        _unjudged_groups,
    )

    low, high = _scale_ends(estimator)
    levels = getattr(estimator, "levels_", None)
    kind = "hard" if getattr(estimator, "_hard", False) else "soft"
    n_ratings = int(annotators["n_ratings"].sum())
    lines = [
        f"{type(estimator).__name__} ({kind} EM) fitted {count(n_items, 'item')} "
        f"rated by {count(n_annotators, 'annotator')} ({count(n_ratings, 'rating')} "
        f"on a {number(low)} to {number(high)} scale"
        + ("" if levels is None else f" of {len(levels)} levels")
        + ")."
    ]
    random = verdict == "random"
    if random.any():
        verb = "answers" if random.sum() == 1 else "answer"
        weights = annotators["consensus_weight"].to_numpy()[random]
        lines.append(
            f"{random.sum()} of {n_annotators} annotators {verb} at random: "
            f"{listing(labels[random], _NAMED_RANDOM)}; "
            f"{_random_weight_words(weights)}."
        )
    else:
        lines.append(f"None of the {n_annotators} annotators answers at random.")
    undetermined = verdict == "undetermined"
    unjudged = undetermined & ~estimator.judged_
    for group, why in _unjudged_groups(estimator):
        group &= undetermined
        if group.any():
            lines.append(
                f"{group.sum()} undetermined ({why}; "
                f"{_prior_weight_words(estimator.pi_)}): "
                f"{listing(labels[group], _NAMED_UNDETERMINED)}."
            )
    either = undetermined & ~unjudged
    if either.any():
        how = (
            "hard EM counts each fully or not at all, by its flag"
            if kind == "hard"
            else "they count in the consensus by how likely they are good"
        )
        lines.append(
            f"{either.sum()} undetermined (their ratings fit either way; {how}): "
            f"{listing(labels[either], _NAMED_UNDETERMINED)}."
        )
    lapsed = estimator.lapsed_
    if lapsed.any():
        lines.append(
            f"{count(int(lapsed.sum()), 'annotator')} with one rating far off the "
            "consensus, read as a slip, not as random answers: "
            f"{listing(labels[lapsed], _NAMED_UNDETERMINED)}."
        )
    lines.append(
        _sigma_line(
            annotators,
            verdict == "consistent",
            getattr(estimator, "tail_", None),
            estimator._score_scale.log,
        )
    )
    if getattr(estimator, "bias", False):
        lines.append(
            _bias_line(
                annotators,
                labels,
                verdict == "consistent",
                estimator._score_scale.log,
            )
        )
    if widest is not None and widest.shown:
        shown = ", ".join(
            f"{item_name} {label_text(label)} ({low:.3g} to {high:.3g})"
            for label, low, high in widest.shown
        )
        among = (
            f" (of the {widest.n_wide:,} notably wide ones)"
            if widest.n_wide > len(widest.shown)
            else ""
        )
        lines.append(
            f"Consensus: the widest {percent(level)} intervals{among} are those of "
            f"{shown}; more ratings narrow them."
        )
    lines += notes
    lines.append(convergence_line(estimator, elapsed))
    return lines


def data_notes(estimator, evidence, annotators, name):
    """The summary's lines on what the ratings of an in-memory fit show.

    - Annotators flagged as random whose ratings follow the consensus, in a
      fit without biases: a constant offset looks random there, and
      ``--bias`` tells (:func:`skem._io.verdicts._random_but_agreeing`).
    - Errors that grow with the score: :func:`skem._io.notes._relative_error_note`.
    - Heavy-tailed errors: :func:`skem._io.notes._heavy_tail_note`.
    - The same score to every item: :func:`skem._io.notes._same_score_note`.
    - Random verdicts on items with few raters:
      :func:`skem._io.notes._few_raters_note`.
    - Verdicts on yes/no labels: :func:`skem._io.notes._yes_no_note`.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
    evidence : skem._io.evidence._Evidence
        What the ratings say, from :func:`in_memory_tables`.
    annotators : pandas.DataFrame
        The annotator table.
    name : str
        The user's annotator column, the first column of ``annotators``.

    Returns
    -------
    lines : list of str
    """
    from skem._io.notes import (
        _few_raters_note,
        _heavy_tail_note,
        _relative_error_note,
        _same_score_note,
        _yes_no_note,
    )
    from skem._io.verdicts import OFFSET_AGREEMENT, _random_but_agreeing

    verdict = annotators["verdict"].to_numpy()
    lines = []
    offset = _random_but_agreeing(verdict, evidence.r)
    if offset.any() and not estimator.bias:
        lines.append(
            f"Before excluding {listing(annotators[name].to_numpy()[offset])}: "
            "flagged as random, their ratings still follow the consensus "
            f"(agreement r of {OFFSET_AGREEMENT:g} or more). Ratings a constant "
            "step above or below everyone else's look random to a fit without "
            "biases: refit with --bias and see whether they are consistent then."
        )
    labels = annotators[name].to_numpy()
    lines.append(follower_note(estimator, labels))
    lines.append(
        _same_score_note(evidence, verdict, lambda same: listing(labels[same]))
    )
    lines.append(_relative_error_note(estimator, evidence, command=True))
    lines.append(_heavy_tail_note(estimator, evidence, verdict, command=True))
    lines.append(_few_raters_note(evidence, verdict))
    lines.append(_yes_no_note(estimator, verdict))
    return [line for line in lines if line]


def follower_note(estimator, labels):
    """The hint to refit with ``--bias`` for the undetermined who follow the items.

    A flagged annotator whose ratings follow the others' consensus of its
    items is undetermined (:ref:`others_consensus`); a constant step above or
    below everyone else is one reason, which a fit without biases cannot
    tell. From the fit alone, so the summary says it in memory and on Dask.

    Parameters
    ----------
    estimator : fitted AnnotatorEM or HardAnnotatorEM
    labels : ndarray of shape (n_annotators,)
        The annotators' labels.

    Returns
    -------
    line : str
        Empty where nobody follows the items, or in a fit with biases.
    """
    from skem._io.verdicts import _unjudged_groups

    followers = _unjudged_groups(estimator)[1][0]
    if not followers.any() or estimator.bias:
        return ""
    return (
        f"If {listing(labels[followers])} "
        f"{'rates' if followers.sum() == 1 else 'rate'} a constant step above "
        "or below everyone else, refit with --bias and see whether they are "
        "consistent then."
    )


def _sigma_line(annotators, consistent, tail=None, log=False):
    """What sigma means, and its value among the consistent annotators.

    With a Student-t error (``tail``) sigma is its scale, not a standard
    deviation (which the t with 2 degrees of freedom or fewer lacks). With
    ``log`` it is on the logarithms of the scores.
    """
    sigma = annotators["sigma"].to_numpy()
    what = (
        "Inconsistency (sigma, the spread of good ratings that the model fits"
        if tail is None
        else "Scale of the deviations from the consensus (sigma of the Student-t "
        f"error with {_degrees_of_freedom(tail)}, the inconsistency"
    )
    what += "; on the logarithms of the scores, where 0.1 is about 10%)" if log else ")"
    if np.all(sigma == sigma[0]):
        return f"{what}: {number(sigma[0])}, the same for every annotator."
    chosen = sigma[consistent] if consistent.any() else sigma
    who = "consistent annotators" if consistent.any() else "annotators"
    if number(chosen.min()) == number(chosen.max()):
        return f"{what} of the {who}: {number(chosen.max())}."
    median, low, high = numbers_alike(np.median(chosen), chosen.min(), chosen.max())
    return f"{what} of the {who}: {median} (median; from {low} to {high})."


def _bias_line(annotators, labels, consistent, log=False):
    """The largest offsets among the consistent annotators, and who has them.

    With ``log`` they are offsets of the logarithms: a factor ``exp(bias)``.
    """
    bias = annotators["bias"].to_numpy()
    chosen = np.flatnonzero(consistent) if consistent.any() else np.arange(len(bias))
    low = chosen[int(np.argmin(bias[chosen]))]
    high = chosen[int(np.argmax(bias[chosen]))]
    among = "the consistent annotators" if consistent.any() else "all annotators"
    what = "how much higher than the consensus an annotator rates"
    if log:
        what += "; on the logarithms of the scores, where 0.1 is about 10% higher"
    return (
        f"Bias ({what}), among {among}: from {signed(bias[low])} "
        f"({label_text(labels[low])}) to {signed(bias[high])} "
        f"({label_text(labels[high])})."
    )


def convergence_line(estimator, elapsed):
    """Convergence in words, with the options to change if the fit did not.

    Parameters
    ----------
    estimator : fitted estimator
    elapsed : float
        Seconds the fit took.

    Returns
    -------
    line : str
    """
    n_iter = estimator.n_iter_
    if estimator.converged_:
        return (
            f"The fit converged: it stopped changing after "
            f"{count(n_iter, 'iteration')} ({elapsed:.2f} s)."
        )
    return (
        f"The fit did NOT converge: it was still changing after "
        f"{count(n_iter, 'iteration')} ({elapsed:.2f} s); treat the results as "
        f"provisional, or fit again with a larger --max-iter (this fit: "
        f"{estimator.max_iter}) or --tol (this fit: {estimator.tol:g})."
    )


def widest_intervals(consensus, name, limit=WIDEST_SHOWN, log=False):
    """The items whose intervals are notably wide, widest first.

    Notably wide by the report's rule (:func:`skem._io.widest._widest`): a
    standard error over 1.2 times the median one; when every item has the
    same raters, none is named. Widest by the interval as shown, clipped to
    the scale for the bounded forms.

    Parameters
    ----------
    consensus : pandas.DataFrame
        The item table (in memory).
    name : str
        The user's item column.
    limit : int, default=3
    log : bool, default=False
        Whether the fit is on the logarithms: the widths ranked are then
        relative (:func:`skem._io.widest._half_width`).

    Returns
    -------
    widest : WidestIntervals
    """
    from skem._io.widest import _half_width, _is_wide, _widest

    half = _half_width(consensus, log).to_numpy()
    labels = consensus[name].to_numpy()
    std_error = consensus["std_error"].to_numpy(dtype=float)
    picked = _widest(std_error, limit, half, labels)
    low, high = consensus["ci_low"].to_numpy(), consensus["ci_high"].to_numpy()
    return WidestIntervals(
        tuple((labels[k], float(low[k]), float(high[k])) for k in picked),
        int(_is_wide(std_error).sum()),
    )


def next_hint(annotators, outputs, command="fit"):
    """The one-line "next:" hint.

    Parameters
    ----------
    annotators : pandas.DataFrame
    outputs : dict
        The outputs written: 'consensus', 'annotators', 'report'.
    command : {'fit', 'demo'}, default='fit'
        The command: ``skem demo`` writes no tables, so it does not suggest
        their options.

    Returns
    -------
    line : str
    """
    verdict = annotators["verdict"]
    random = (verdict == "random").any()
    undetermined = (verdict == "undetermined").any()
    if "report" in outputs and outputs["report"] != "-":
        return f"next: open {outputs['report']} for the figures and what to do."
    if not outputs and command == "demo":
        return (
            "next: skem demo --report report.html draws this fit on one page; "
            "skem fit ratings.csv -o DIR fits your own ratings."
        )
    if not outputs:
        return (
            "next: save the tables with -o DIR (or --consensus/--annotators PATH), "
            "or a page with --report report.html."
        )
    where = outputs.get("annotators")
    if random and where not in (None, "-"):
        # Biases are 0 unless fitted: then they say nothing.
        fitted_bias = bool((annotators["bias"] != 0).any())
        return (
            f"next: check the ratings of the flagged annotators; {where} has "
            f"each one's verdict, p_good, sigma{' and bias' if fitted_bias else ''}."
        )
    if undetermined:
        # Nobody to check: the page says why each one is undetermined.
        return "next: --report report.html says why each annotator is undetermined."
    return "next: --report report.html draws the fit on one page."
