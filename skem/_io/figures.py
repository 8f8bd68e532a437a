"""The report's figures: the annotators' and the items' consensus.

Past ``MAX_FIGURE_LABELS`` annotators a bar each is a blur; the figures then
count the annotators in bins, by verdict, and the page's table names them.
"""

import numpy as np

from skem._io.html import (
    MAX_FIGURE_LABELS,
    VERDICT_COLORS,
    _figure,
    _font_size,
    _height,
    _image,
    _label_axis,
    _legend,
    _mpl,
    _plural,
    _probability,
    _verdict_histogram,
)
from skem._io.verdicts import CONSISTENT_FROM, RANDOM_BELOW, _random_weight_words
from skem._io.widest import WIDE_FACTOR
from skem._io.words import percent


def _reliability_figure(people, annotator_name, figure_class):
    """The figure of each annotator's probability of being good, as HTML.

    One bar per annotator, or past ``MAX_FIGURE_LABELS`` of them a histogram
    by verdict.
    """
    p_good = people["p_good"].to_numpy()
    n = len(people)
    many = n > MAX_FIGURE_LABELS
    who = _plural(annotator_name)
    size = (8, _height(8 if many else n))
    figure = figure_class(figsize=size, layout="constrained")
    ax = figure.add_subplot()
    colors = [VERDICT_COLORS[v] for v in people["verdict"]]
    if many:  # one bar each would be a blur: the table names them
        bins = np.linspace(0.0, 1.0, 21)
        _verdict_histogram(ax, p_good, people["verdict"], bins, who, True)
        ax.set_xlim(0, 1)
        ax.set_title(f"Reliability of the {n} {_mpl(who)}", loc="left")
    else:
        positions = np.arange(n)[::-1]
        ax.barh(positions, p_good, color=colors, height=0.7)
        # A bar of p_good 1e-90 is invisible: a marker at its end shows it.
        ax.scatter(p_good, positions, color=colors, s=14, zorder=3)
        for y, value in zip(positions, p_good, strict=True):
            ax.text(
                min(value, 1.0) + 0.01,
                y,
                _probability(value),
                va="center",
                fontsize=_font_size(n),
                color="#1f2328",
            )
        ax.set_xlim(0, 1.12)
        _label_axis(ax, positions, people["label"], annotator_name)
        name = _mpl(annotator_name)
        ax.set_title(f"Reliability of each {name}", loc="left")
    for value in (RANDOM_BELOW, CONSISTENT_FROM):
        ax.axvline(value, color="#57606a", linestyle="--", linewidth=0.8)
    ax.set_xticks([0, RANDOM_BELOW, 0.5, CONSISTENT_FROM, 1.0])
    ax.set_xlabel("probability that the annotator's ratings follow the consensus")
    _legend(figure)
    kind = "Histogram of" if many else "Bar chart:"
    image = _image(
        figure,
        f"{kind} the probability that each {annotator_name} answers consistently",
    )
    caption = (
        "Each bar counts the annotators whose posterior probability of being "
        "good rather than random lies in its bin, in the colour of their "
        "verdict"
        if many
        else "Each bar is the posterior probability that the annotator is "
        "good rather than random"
    ) + (
        ". Dashed lines: the thresholds of the verdicts "
        f"({RANDOM_BELOW:g} and {CONSISTENT_FROM:g})."
    )
    return _figure(image, caption)


def _annotator_figures(
    people, annotator_name, bias, figure_class, tail=None, log=False
):
    """The figures of each annotator's bias (if estimated) and sigma, as HTML.

    Bars per annotator, or histograms by verdict past ``MAX_FIGURE_LABELS``.
    With a Student-t error (``tail``), sigma is its scale; with ``log``
    (``score_scale='log'``), both are on the logarithms of the scores.
    """
    units = "on the logarithms" if log else "score points"
    n = len(people)
    many = n > MAX_FIGURE_LABELS
    size = (8, _height(8 if many else n))
    figure = figure_class(figsize=size, layout="constrained")
    positions = np.arange(n)[::-1]
    colors = [VERDICT_COLORS[v] for v in people["verdict"]]

    def draw(ax, values):
        if many:  # as in the reliability figure
            who = _plural(annotator_name)
            _verdict_histogram(ax, values, people["verdict"], 30, who)
        else:
            ax.barh(positions, values, color=colors, height=0.7)

    if bias:
        bias_ax, sigma_ax = figure.subplots(1, 2, sharey=not many)
        draw(bias_ax, people["bias"])
        bias_ax.axvline(0, color="#57606a", linewidth=0.8)
        bias_ax.set_xlabel(f"bias ({units} above the consensus)")
        bias_ax.locator_params(axis="x", nbins=4)
        bias_ax.set_title("Bias", loc="left")
        sigma_ax.set_title("Inconsistency", loc="left")
        labelled = bias_ax
    else:
        sigma_ax = labelled = figure.add_subplot()
        sigma_ax.set_title("Inconsistency (no bias fitted)", loc="left")
    draw(sigma_ax, people["sigma"])
    sigma_ax.set_xlabel(f"inconsistency (sigma, {units})")
    if not many:
        _label_axis(labelled, positions, people["label"], annotator_name)
    _legend(figure)
    image = _image(
        figure,
        f"{'Histograms of' if many else 'Bar charts:'} "
        f"{'the bias and ' if bias else ''}the inconsistency of each "
        f"{annotator_name}",
    )
    sigma = (
        "the standard deviation sigma"
        if tail is None
        else "sigma, the scale of the Student-t error"
    )
    caption = (
        "Each bar counts the annotators whose value lies in its bin. " if many else ""
    ) + (
        "Bias (ITU-T P.913, ITU-R BT.500): how much higher (+) or lower (-) "
        "than the consensus the annotator rates on average. Inconsistency: "
        f"the spread the model fits to a good rating once the bias is taken off "
        f"({sigma}). "
        if bias
        else f"Inconsistency: the spread the model fits to a good rating ({sigma}). "
    )
    if log:
        caption += (
            f"{'Both are' if bias else 'It is'} on the natural logarithms of the "
            "scores: 0.1 is about 10%. "
        )
    random = people["verdict"].to_numpy() == "random"
    if random.any():
        weights = people["consensus_weight"].to_numpy()[random]
        caption += (
            f"A random annotator's values say little: {_random_weight_words(weights)}."
        )
    return _figure(image, caption.rstrip())


def _padded(low, high, log):
    """``low`` to ``high`` widened by 4% of the span either side (of the
    logarithms' span on a logarithmic axis), inside positive values there."""
    if log:
        return tuple(np.exp(_padded(np.log(low), np.log(high), False)))
    pad = 0.04 * (high - low)
    return low - pad, high + pad


def _consensus_figure(
    items,
    widest,
    n_wide,
    scale_ends,
    levels,
    *,
    bounded,
    item_name,
    level,
    figure_class,
    stated=True,
    log=False,
):
    """The chart of each item's consensus and interval, highest at the top.

    Parameters
    ----------
    items : pandas.DataFrame
        The item table (:func:`skem._io.results._item_table`), its label
        column named ``label``.
    widest : ndarray of int
        The items drawn in red, widest first (:func:`skem._io.widest._widest`).
    n_wide : int
        How many intervals are notably wide: ``widest`` are the widest of them.
    scale_ends : tuple of float
        The ends of the fit's scale; the axis reaches beyond them only for a
        plain form's consensus or interval.
    levels : ndarray or None
        The scale's levels, the axis' ticks, if the ratings lie on levels.
    bounded : bool
        Whether the intervals are clipped to the scale.
    item_name : str
    level : float
        The intervals' coverage.
    figure_class : type
        matplotlib's ``Figure``.
    stated : bool, default=True
        Whether the scale is the user's (a stated range, or levels); else
        the axis spans the intervals, not a range that one far rating
        stretched (counts of 27 to 226 on a range of 12 to 7,722).
    log : bool, default=False
        Whether the fit was on the logarithms: a logarithmic axis.

    Returns
    -------
    html : str
        The image and its caption.
    """
    n = len(items)
    consensus = items["consensus"].to_numpy()
    unrated_last = np.where(np.isnan(consensus), np.inf, consensus)
    order = np.argsort(unrated_last, kind="stable")
    # A row per item, highest at the top: past a few dozen items, labels
    # under a horizontal axis shrink below reading size, and rows do not.
    positions = np.arange(n)
    labelled = n <= MAX_FIGURE_LABELS
    figure = figure_class(
        figsize=(9, _height(n) if labelled else 5.4), layout="constrained"
    )
    ax = figure.add_subplot()
    middle = consensus[order]
    # consensus_frame's intervals; a gold score outside its own: no bar.
    below = np.maximum(middle - items["ci_low"].to_numpy()[order], 0.0)
    above = np.maximum(items["ci_high"].to_numpy()[order] - middle, 0.0)
    low, high = scale_ends  # a plain consensus may leave it
    ends = np.concatenate([middle, middle - below, middle + above])
    # A logarithmic axis has no place for 0, where an interval of a log fit
    # may begin.
    ends = ends[np.isfinite(ends) & ((ends > 0) if log else True)]
    if stated or levels is not None or ends.size == 0 or ends.min() == ends.max():
        low, high = ends.min(initial=low), ends.max(initial=high)
    else:
        low, high = _padded(ends.min(), ends.max(), log)
    # An item whose raters all weigh 0 (a plain form) has an infinite
    # interval: its bar spans the axis.
    with np.errstate(invalid="ignore"):
        below = np.minimum(below, middle - low)
        above = np.minimum(above, high - middle)
    red = np.isin(order, widest)
    for mask, color, label in (
        (~red, "#0969da", f"consensus and {percent(level)} interval"),
        (red, "#b42318", "the widest intervals: re-collect"),
    ):
        if mask.any():
            ax.errorbar(
                middle[mask],
                positions[mask],
                xerr=[below[mask], above[mask]],
                fmt="o",
                markersize=3 if n > 40 else 5,
                color=color,
                elinewidth=1,
                capsize=0 if n > 40 else 2,
                label=label,
            )
    if log:
        ax.set_xscale("log")
    ax.set_xlim(low, high)
    if levels is not None:
        ax.set_xticks(levels)
        ax.grid(axis="x", color="#eaeef2")
        ax.set_axisbelow(True)
    ax.set_xlabel("consensus score" + (" (logarithmic axis)" if log else ""))
    _label_axis(ax, positions, items["label"].to_numpy()[order], item_name)
    ax.set_ylim(-1, n)
    ax.set_title(
        f"Consensus of each {_mpl(item_name)}, highest at the top",
        loc="left",
    )
    # Sorted rows leave the lower right corner empty.
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    image = _image(
        figure,
        f"Chart: the consensus of each {item_name} with its interval",
    )
    clipped = ", clipped to the scale" if bounded else ""
    caption = (
        "Each point is an item's consensus score; its bar is the "
        f"{percent(level)} confidence interval{clipped}. A wide "
        "interval means the ratings disagree or are few."
    )
    if widest.size:
        caption += (
            f" In red: the {widest.size} widest of the "
            f"{n_wide:,} notably wide intervals (a standard error over "
            f"{WIDE_FACTOR:g} times the median)."
            if n_wide > widest.size
            else " In red: the notably wide intervals (a standard error "
            f"over {WIDE_FACTOR:g} times the median)."
        )
    return _figure(image, caption)
