"""The report's annotator figures: a bar each, or histograms by verdict."""

import numpy as np
import pytest

from skem import AnnotatorEM, report
from skem._io.html import (
    MAX_FIGURE_LABELS,
    VERDICT_COLORS,
    _mpl,
    _verdict_histogram,
)
from skem.datasets import make_ratings

pytest.importorskip("matplotlib")
pd = pytest.importorskip("pandas")


def test_verdict_histogram_stacks_the_counts_by_verdict_and_drops_non_finite():
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    values = np.array([0.01, 0.02, 0.55, 0.97, 0.99, 1.0, np.nan, np.inf])
    verdicts = np.array(
        ["random", "random", "undetermined", "consistent"] + ["consistent"] * 4
    )
    total = _verdict_histogram(ax, values, verdicts, np.linspace(0, 1, 11), "raters")
    np.testing.assert_array_equal(total, [2, 0, 0, 0, 0, 1, 0, 0, 0, 3])
    # One bar per bin and verdict, in the verdicts' colours, stacked in order.
    assert len(ax.patches) == 10 * len(VERDICT_COLORS)
    tops = {}
    for patch in ax.patches:
        left = round(patch.get_x(), 6)
        tops[left] = max(tops.get(left, 0.0), patch.get_y() + patch.get_height())
    np.testing.assert_array_equal(list(tops.values()), total)
    assert ax.get_ylabel() == "number of raters"
    assert not ax.texts

    labelled = Figure().add_subplot()
    _verdict_histogram(labelled, values, verdicts, np.linspace(0, 1, 11), "r", True)
    assert [text.get_text() for text in labelled.texts] == ["2", "1", "3"]
    assert labelled.get_ylim()[1] > 3  # the count above the tallest bar shows


@pytest.mark.parametrize("bias", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_a_large_panel_draws_histograms_and_its_table_names_everyone(tmp_path, bias):
    """One bar per annotator is a blur past MAX_FIGURE_LABELS of them (a
    crowd of 745 was a block of colour); the table still lists each one."""
    n = MAX_FIGURE_LABELS + 20
    X = make_ratings(60, n, bad_fraction=0.1, missing_fraction=0.9, random_state=0)
    em = AnnotatorEM(bias=bias).fit(X)
    page = report(em, tmp_path / "page.html", X).read_text(encoding="utf-8")
    assert 'alt="Histogram of the probability that each annotator' in page
    alt = "the bias and the inconsistency" if bias else "the inconsistency"
    assert f'alt="Histograms of {alt} of each annotator' in page
    assert "Each bar counts the annotators" in page
    table = page.split("Each bar counts the annotators whose posterior")[1]
    assert table.count('<span class="badge') >= n


def test_a_small_panel_draws_a_bar_per_annotator(tmp_path):
    X = make_ratings(20, 6, bad_fraction=0.3, random_state=0)
    page = report(AnnotatorEM().fit(X), tmp_path / "p.html", X).read_text()
    assert 'alt="Bar chart: the probability that each annotator' in page
    assert "Each bar counts" not in page


@pytest.mark.parametrize("log", [False, True])
def test_the_axes_and_caption_name_the_units_of_sigma_and_bias(log):
    """On the log scale sigma and the biases are on the logarithms: the axes
    say so instead of score points, and the caption reads them as shares."""
    from skem._io.figures import _annotator_figures

    people = pd.DataFrame(
        {
            "label": ["a", "b", "c"],
            "verdict": ["consistent", "consistent", "random"],
            "bias": [0.1, -0.05, 0.0],
            "sigma": [0.2, 0.3, 0.25],
            "consensus_weight": [1.0, 1.0, 0.0],
        }
    )
    labels = []

    from matplotlib.figure import Figure

    class Recording(Figure):
        def savefig(self, *args, **kwargs):
            labels.extend(ax.get_xlabel() for ax in self.axes)
            return super().savefig(*args, **kwargs)

    html = _annotator_figures(people, "annotator", True, Recording, None, log)
    units = "on the logarithms" if log else "score points"
    assert f"bias ({units} above the consensus)" in labels
    assert f"inconsistency (sigma, {units})" in labels
    assert ("Both are on the natural logarithms" in html) == log
    # Without biases the one figure is sigma's (a review finding: "Both").
    html = _annotator_figures(people, "annotator", False, Recording, None, log)
    assert ("It is on the natural logarithms" in html) == log
    assert "Both are" not in html


def test_a_dollar_in_the_annotator_name_is_literal_text_once(tmp_path):
    """The histogram's axis label escapes '$' for mathtext, once."""
    from matplotlib.figure import Figure

    from skem._io.figures import _reliability_figure

    people = pd.DataFrame(
        {
            "label": [f"a{k}" for k in range(MAX_FIGURE_LABELS + 1)],
            "p_good": np.linspace(0, 1, MAX_FIGURE_LABELS + 1),
            "verdict": ["consistent"] * (MAX_FIGURE_LABELS + 1),
        }
    )
    drawn = []

    class Recording(Figure):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            drawn.append(self)

    _reliability_figure(people, "$rater", Recording)
    (ax,) = drawn[0].axes
    assert ax.get_ylabel() == r"number of \$raters"
    assert ax.get_title(loc="left") == r"Reliability of the 101 \$raters"


@pytest.mark.parametrize(
    "values",
    [
        np.full(7, 3e14),  # a shared sigma on a scale of 1e15
        np.array([0.0, 0.0]),
        np.array([1e15, 1e15 + 0.125, 1e15]),  # too close to split in 30
        np.array([1e308, -1e308, 0.0]),  # a span beyond the largest float
        np.array([np.inf, 1e300, np.nan]),
        np.array([np.nan]),
    ],
)
def test_every_finite_value_is_counted_once_whatever_its_spread(values):
    """Fuzz finding: numpy's edges span equal values by +-0.5, which has no
    room for 30 bins around 3e14; the report of a shared-noise fit of 101
    annotators on a scale of 1e15 raised "Too many bins"."""
    from matplotlib.figure import Figure

    verdicts = np.full(values.shape, "consistent")
    total = _verdict_histogram(Figure().add_subplot(), values, verdicts, 30, "raters")
    assert total.sum() == np.isfinite(values).sum()


def test_a_large_shared_noise_panel_on_a_huge_scale_reports(tmp_path):
    rng = np.random.default_rng(0)
    mu = rng.uniform(1, 5, 40)
    X = (mu[:, None] + rng.normal(0, 0.3, (40, MAX_FIGURE_LABELS + 1))) * 1e16
    em = AnnotatorEM(noise="shared").fit(X)
    page = report(em, tmp_path / "page.html", X).read_text()
    assert page.count("<img") == 3


@pytest.mark.parametrize(
    "label, text",
    [
        ("a\tb\nc", "a b c"),
        ("$x$", r"\$x\$"),
        ("x" * 300, "x" * 37 + "..."),
        (7, "7"),
    ],
)
def test_figure_labels_are_literal_one_line_and_clipped(label, text):
    assert _mpl(label) == text


def test_a_report_with_a_tab_or_a_long_label_draws_without_warnings(tmp_path):
    """Matplotlib warns of a missing glyph for a tab, and of axes squeezed to
    nothing by a label of 300 characters; the figures fold and clip them."""
    import warnings

    X = make_ratings(12, 5, bad_fraction=0.2, random_state=0)
    em = AnnotatorEM().fit(X)
    names = ["a\tb", "x" * 300, "c", "d", "e"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report(em, tmp_path / "r.html", X, annotators=names)


@pytest.fixture
def drawn(monkeypatch):
    """The axes that ``_consensus_figure`` draws, kept instead of its PNG."""
    import skem._io.figures as figures

    kept = {}

    def keep(figure, alt):
        kept["axes"] = figure.axes[0]
        return "<img>"

    monkeypatch.setattr(figures, "_image", keep)
    return kept


def _chart(items, scale_ends, **options):
    """``_consensus_figure`` of ``items`` without wide intervals, at 95%,
    bounded, on exact scores; ``options`` override."""
    from matplotlib.figure import Figure

    import skem._io.figures as figures

    options = {
        "bounded": True,
        "item_name": "item",
        "level": 0.95,
        "figure_class": Figure,
        **options,
    }
    return figures._consensus_figure(
        items, np.array([], dtype=int), 0, scale_ends, None, **options
    )


def test_consensus_figure_draws_the_widest_in_red_and_says_how_many(drawn):
    """The chart of the items: its caption names the level, whether the
    intervals are clipped and how many are notably wide; the red series holds
    exactly the ``widest`` items, and an infinite interval spans the axis."""
    from matplotlib.figure import Figure

    import skem._io.figures as figures

    consensus = np.array([3.0, 1.5, 4.0, 2.0])
    items = pd.DataFrame(
        {
            "label": ["a", "b", "c", "d"],
            "consensus": consensus,
            "ci_low": consensus - [0.1, 0.2, np.inf, 0.1],
            "ci_high": consensus + [0.1, 0.2, np.inf, 0.1],
        }
    )
    html = figures._consensus_figure(
        items,
        np.array([2, 1]),
        7,
        (1.0, 5.0),
        None,
        bounded=False,
        item_name="clip",
        level=0.9,
        figure_class=Figure,
    )
    assert "its bar is the 90% confidence interval. A wide" in html
    assert "In red: the 2 widest of the 7 notably wide intervals" in html
    red = [c for c in drawn["axes"].containers if c.get_label().startswith("the")]
    (series,) = red
    np.testing.assert_array_equal(np.sort(series[0].get_xdata()), [1.5, 4.0])
    low, high = drawn["axes"].get_xlim()
    assert np.isfinite([low, high]).all() and low <= 1.0 and high >= 5.0


@pytest.mark.parametrize("log", [False, True])
def test_consensus_figure_spans_the_intervals_on_a_range_the_ratings_stretched(
    drawn, log
):
    """A reviewer's finding: on crowd/dot_guessing the axis ran over the
    inferred range, 12 to 7,722 (one junk guess), and the 36 consensus
    values (27 to 226) lay flat on its floor. Without a stated scale the
    axis spans the intervals; a fit on the logarithms has a logarithmic
    axis, and says so."""

    consensus = np.array([27.0, 80.0, 226.0])
    items = pd.DataFrame(
        {
            "label": ["a", "b", "c"],
            "consensus": consensus,
            "ci_low": consensus - 5,
            "ci_high": consensus + 5,
        }
    )
    for stated, reach in ((True, (12.0, 7722.0)), (False, (22.0, 231.0))):
        _chart(items, (12.0, 7722.0), stated=stated, log=log)
        ax = drawn["axes"]
        low, high = ax.get_xlim()
        assert low <= reach[0] and high >= reach[1]
        assert high < 300 if not stated else high >= 7722.0
        assert ax.get_xscale() == ("log" if log else "linear")
        assert ax.get_xlabel().endswith("(logarithmic axis)") == log


def test_consensus_figure_of_a_log_fit_leaves_out_an_interval_from_0(drawn):
    """A reviewer's finding: on a log fit an item whose raters all weigh 0
    has the interval 0 to inf, and the axis' limits became the log of 0:
    the whole command stopped with matplotlib's ValueError."""

    consensus = np.array([27.0, 80.0, 100.0])
    items = pd.DataFrame(
        {
            "label": ["a", "b", "c"],
            "consensus": consensus,
            "ci_low": [22.0, 75.0, 0.0],
            "ci_high": [32.0, 85.0, np.inf],
        }
    )
    for stated in (True, False):
        _chart(items, (12.0, 7722.0), bounded=False, stated=stated, log=True)
        low, high = drawn["axes"].get_xlim()
        assert 0 < low <= 22.0 and np.isfinite(high) and high >= 100.0


@pytest.mark.parametrize("n", [4, 79, 100])
def test_consensus_figure_names_each_item_in_a_row_of_readable_text(drawn, n):
    """A helper's finding: 79 items' labels under the chart's horizontal axis
    were about 5 pixels high. Each item now has a row, highest at the top,
    and its label is at least 7 points up to ``MAX_FIGURE_LABELS`` items."""

    consensus = np.random.default_rng(0).uniform(1, 5, n)
    items = pd.DataFrame(
        {
            "label": [f"item {k}" for k in range(n)],
            "consensus": consensus,
            "ci_low": consensus - 0.2,
            "ci_high": consensus + 0.2,
        }
    )
    _chart(items, (1.0, 5.0))
    ax = drawn["axes"]
    ticks = ax.get_yticklabels()
    top = f"item {np.argmax(consensus)}"
    assert [t.get_text() for t in ticks][-1] == top
    assert len(ticks) == n
    assert min(t.get_fontsize() for t in ticks) >= 7.0


def test_font_size_fills_three_quarters_of_a_row_within_5_and_9_points():
    """Rows of a figure ``_height(n)`` high: 9 points while rows are wide,
    then three quarters of a row, never under 5."""
    from skem._io.html import _font_size, _height

    assert _font_size(1) == _font_size(60) == 9.0
    sizes = [_font_size(n) for n in range(1, 400)]
    assert np.all(np.diff(sizes) <= 0)
    assert 7.0 <= _font_size(100) < 9.0
    assert _font_size(10_000) == 5.0
    for n in (70, 100):
        assert _font_size(n) <= 0.75 * (_height(n) - 1.3) * 72 / n
