"""The report page's pieces: HTML snippets, labels as text, figures as images.

Small pure helpers of :mod:`skem._io.report`; matplotlib is imported only
when a figure is drawn.
"""

import base64
import html
import io

import numpy as np

from skem._io.words import clipped, label_text

VERDICT_COLORS = {
    "consistent": "#1a7f37",
    "undetermined": "#9a6700",
    "random": "#b42318",
}
# Past this many labels a figure's axis shows no labels, and an annotator
# figure counts the annotators in bins rather than drawing one bar each: the
# tables name them.
MAX_FIGURE_LABELS = 100


def _import_matplotlib():
    """matplotlib's Figure, drawn with Agg; the caller's pyplot is left alone."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "skem.report draws its figures with matplotlib, which is not "
            "installed: pip install matplotlib."
        ) from error
    return Figure


def _image(figure, alt):
    """The figure as an ``<img>`` with a base64 PNG data: URI."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _figure(image, caption):
    return f"<figure>{image}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _table(header, rows, numeric_from):
    head = "".join(
        f'<th class="num">{cell}</th>' if k >= numeric_from else f"<th>{cell}</th>"
        for k, cell in enumerate(header)
    )
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _legend(figure):
    """The verdicts' colours, above the figure's axes so that no bar hides them."""
    from matplotlib.patches import Patch

    figure.legend(
        handles=[
            Patch(color=color, label=verdict)
            for verdict, color in VERDICT_COLORS.items()
        ],
        loc="outside upper right",
        ncols=3,
        fontsize=8,
        frameon=False,
    )


def _label_axis(ax, positions, labels, name):
    """Labels at the rows ``positions`` of the y axis, if few; ``name`` below."""
    labels = [_mpl(label) for label in np.asarray(labels).tolist()]
    n = len(labels)
    if n <= MAX_FIGURE_LABELS:
        ax.set_yticks(positions, labels, fontsize=_font_size(n))
    else:
        ax.set_yticks([])
    ax.set_ylabel(_mpl(name))


def _verdict_histogram(ax, values, verdicts, bins, who, label_counts=False):
    """Count ``values`` in ``bins``, stacked by verdict in its colour.

    For panels too large for a bar per annotator. Non-finite values are left
    out.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    values : array-like of shape (n,)
    verdicts : array-like of shape (n,)
        A key of ``VERDICT_COLORS`` for each value.
    bins : int or array-like
        As for ``numpy.histogram``: a number of bins over the finite values'
        range, or their edges.
    who : str
        What is counted, for the axis label: 'annotators'.
    label_counts : bool, default=False
        Write each non-empty bin's count above it: 11 random annotators beside
        734 good ones are a bar too thin to see.

    Returns
    -------
    counts : ndarray of shape (n_bins,)
        The total count in each bin.
    """
    values = np.asarray(values, dtype=float)
    verdicts = np.asarray(verdicts)
    finite = np.isfinite(values)
    edges = _bin_edges(values[finite], bins)
    total = np.zeros(len(edges) - 1)
    for verdict, color in VERDICT_COLORS.items():
        counts, _ = np.histogram(values[finite & (verdicts == verdict)], edges)
        ax.bar(edges[:-1], counts, np.diff(edges), total, align="edge", color=color)
        total += counts
    if label_counts:
        for left, width, count in zip(edges, np.diff(edges), total, strict=False):
            if count:
                ax.text(left + width / 2, count, f"{count:g}", ha="center", va="bottom")
        ax.set_ylim(0, 1.15 * max(total.max(), 1))
    ax.set_ylabel(f"number of {_mpl(who)}")
    return total


def _bin_edges(values, bins):
    """Histogram edges of finite ``values``, for any values.

    ``numpy.histogram_bin_edges`` spans equal values by +-0.5, which leaves
    no room for 30 bins around 1e15 (a shared sigma on a scale of 1e15), and
    its span of values from -1e308 to 1e308 overflows. Here values too close
    to split get one bin around them, and the span is taken in halves.
    """
    if np.ndim(bins) == 1:
        return np.asarray(bins, dtype=float)
    if values.size == 0:
        return np.linspace(0.0, 1.0, bins + 1)
    low, high = float(values.min()), float(values.max())
    edges = 2.0 * np.linspace(low / 2, high / 2, bins + 1)
    edges[0], edges[-1] = low, high
    if np.all(np.diff(edges) > 0):
        return edges
    pad = max(abs(low), abs(high)) / 2 or 0.5
    return np.array([low - pad, high + pad])


def _height(n):
    return float(np.clip(0.24 * n + 1.3, 2.8, 16.0))


def _font_size(n):
    """Points for the text of each of ``n`` rows of a figure ``_height(n)`` high.

    Three quarters of a row, at most 9: 100 rows on the tallest figure still
    read at 7.5 points.
    """
    row = (_height(n) - 1.3) * 72 / max(n, 1)
    return float(np.clip(np.floor(0.75 * row * 2) / 2, 5.0, 9.0))


def _probability(p):
    if p < 0.001:
        return "< 0.001"
    if p > 0.999:
        return "> 0.999"
    return f"{p:.3f}"


def _badge(verdict):
    return f'<span class="badge {verdict}">{verdict}</span>'


def _text(label):
    return html.escape(label_text(label))


def _mpl(label):
    """A label as literal matplotlib text on one line, clipped.

    ``$`` would start mathtext; a tab or a newline has no glyph (matplotlib
    warns); a label of hundreds of characters leaves the axes no room.

    Parameters
    ----------
    label : object

    Returns
    -------
    text : str
        Whitespace runs folded to one space, :func:`~skem._io.words.clipped`.
    """
    return clipped(" ".join(str(label).split())).replace("$", r"\$")


def _named(labels, limit=20):
    labels = [_text(label) for label in np.asarray(labels).tolist()]
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _plural(name, n=2):
    return name if n == 1 or name.endswith("s") else f"{name}s"


def _version():
    from skem import __version__

    return __version__
