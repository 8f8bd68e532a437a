"""The plotting helpers draw the expected artists with the expected data."""

import numpy as np
import pytest

from skem import AnnotatorEM, HardAnnotatorEM
from skem.datasets import load_video_quality, make_ratings
from tests._helpers import SIGMA_AT_ITS_FLOOR, DaskLikeFit

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skem.plotting import (  # noqa: E402
    plot_annotator_reliability,
    plot_consensus,
    plot_convergence,
)


@pytest.fixture(scope="module")
def fitted():
    X, mu, good = make_ratings(
        40,
        8,
        bad_fraction=0.25,
        missing_fraction=0.2,
        return_truth=True,
        random_state=0,
    )
    return X, mu, good, AnnotatorEM(tol=1e-9).fit(X), HardAnnotatorEM().fit(X)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_convergence_draws_one_point_per_iteration(fitted):
    _, _, _, soft, hard = fitted
    fig, ax = plt.subplots()
    assert plot_convergence(soft, ax=ax) is ax
    plot_convergence(hard, ax=ax, label="hard")
    soft_line, hard_line = ax.lines
    np.testing.assert_array_equal(soft_line.get_xdata(), np.arange(1, soft.n_iter_ + 1))
    np.testing.assert_array_equal(soft_line.get_ydata(), soft.log_likelihoods_)
    np.testing.assert_array_equal(hard_line.get_ydata(), hard.log_likelihoods_)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "AnnotatorEM",
        "hard",
    ]
    assert "classification" in plot_convergence(hard).get_ylabel()


def _expected_log_odds(log_posterior):
    """log(p / (1 - p)) clipped to +/-40, with P(bad) == 0 spelled out."""
    p_bad = -np.expm1(log_posterior)
    out = np.full(log_posterior.shape, 40.0)  # p_bad == 0: infinite, clipped
    rated = p_bad > 0
    out[rated] = log_posterior[rated] - np.log(p_bad[rated])
    return np.clip(out, -40.0, 40.0)


def _bar_colors(ax):
    return [matplotlib.colors.to_hex(bar.get_facecolor()) for bar in ax.patches]


RED, BLUE = matplotlib.colors.to_hex("tab:red"), matplotlib.colors.to_hex("tab:blue")


@pytest.mark.parametrize("which", ["soft", "hard"])
def test_reliability_bars_are_clipped_log_odds_sorted_and_coloured(fitted, which):
    _, _, good, soft, hard = fitted
    em = soft if which == "soft" else hard
    ax = plot_annotator_reliability(em, annotators=[f"a{k}" for k in range(8)])
    heights = np.array([bar.get_height() for bar in ax.patches])
    order = np.argsort(em.log_posterior_, kind="stable")
    np.testing.assert_allclose(
        heights, _expected_log_odds(em.log_posterior_[order]), rtol=1e-12
    )
    # The flagged annotators' bars are visible (weights ~0 drew them at 0),
    # and a log_posterior_ of exactly 0 is drawn at the clip, not at inf.
    assert np.all(np.isfinite(heights))
    assert np.all(heights[~good[order]] < -10)
    assert np.any(em.log_posterior_ == 0) and heights.max() == 40.0
    low, high = ax.get_ylim()
    assert low < heights.min() and heights.max() < high
    assert "clipped to ±40" in ax.get_ylabel()

    expected = [RED if w < 0.5 else BLUE for w in em.weights_[order]]
    assert _bar_colors(ax) == expected
    assert _bar_colors(ax).count(RED) == (~good).sum() == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"a{k}" for k in order]
    (threshold,) = [line for line in ax.lines if "threshold" in line.get_label()]
    assert threshold.get_ydata()[0] == 0.0  # log-odds of 0.5
    assert "2 of 8 flagged" in ax.get_title()


def test_reliability_legend_explains_the_colours(fitted):
    _, _, _, soft, _ = fitted
    legend = plot_annotator_reliability(soft).get_legend()
    assert legend is not None
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["reliable", "flagged as unreliable", "threshold P(good) = 0.5"]
    colors = [
        matplotlib.colors.to_hex(h.get_facecolor()) for h in legend.legend_handles[:2]
    ]
    assert colors == [BLUE, RED]


def test_reliability_threshold_is_a_probability_drawn_as_log_odds(fitted):
    _, _, _, soft, _ = fitted
    ax = plot_annotator_reliability(soft, threshold=0.2)
    (threshold,) = [line for line in ax.lines if "threshold" in line.get_label()]
    assert threshold.get_ydata()[0] == pytest.approx(np.log(0.25))
    for edge, at in [(0.0, -40.0), (1.0, 40.0)]:
        ax = plot_annotator_reliability(soft, threshold=edge)
        (line,) = [line for line in ax.lines if "threshold" in line.get_label()]
        assert line.get_ydata()[0] == at
    with pytest.raises(ValueError, match="threshold must lie in"):
        plot_annotator_reliability(soft, threshold=1.5)


def test_log_odds_are_stable_near_certainty_and_clipped():
    from skem.plotting._plots import _clipped_log_odds

    log_posterior = np.array(
        [np.log(0.5), np.log(0.2), -1e-15, 0.0, 1e-17, -1000.0, -np.inf]
    )
    # -1e-15: log(1 - exp(-1e-15)) computed naively is off by 0.1.
    expected = [0.0, np.log(0.25), -1e-15 - np.log(-np.expm1(-1e-15)), 40, 40, -40, -40]
    np.testing.assert_allclose(_clipped_log_odds(log_posterior), expected, rtol=1e-12)
    assert abs(expected[2] - 34.538776394910684) < 1e-9


def test_consensus_with_truth_and_plain_mean(fitted):
    X, mu, _, soft, _ = fitted
    ax = plot_consensus(soft, truth=mu, X=X, level=0.9)
    order = np.argsort(mu, kind="stable")
    truth_line, mean_line = ax.lines[:2]
    np.testing.assert_array_equal(truth_line.get_ydata(), mu[order])
    np.testing.assert_allclose(mean_line.get_ydata(), np.nanmean(X, axis=1)[order])
    (errorbar,) = ax.containers
    np.testing.assert_allclose(errorbar.lines[0].get_ydata(), soft.mu_[order])
    segments = errorbar.lines[2][0].get_segments()
    low, high = soft.mu_interval(0.9)[order].T
    assert low.min() >= soft.score_range_[0] and high.max() <= soft.score_range_[1]
    np.testing.assert_allclose([s[0][1] for s in segments], low)
    np.testing.assert_allclose([s[1][1] for s in segments], high)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "truth",
        "plain mean",
        "AnnotatorEM (90% interval, clipped to the scale)",
    ]


def test_the_plain_mean_reads_not_rated_as_fit_does(fitted):
    """Review finding: the plain mean took np.asarray(X, float), which a
    sparse matrix, pd.NA or a nullable Float64 frame made fail."""
    import scipy.sparse as sp

    pd = pytest.importorskip("pandas")
    X, _, _, soft, _ = fitted
    expected = np.nanmean(X, axis=1)
    rows, cols = np.nonzero(~np.isnan(X))
    for other in (
        sp.csr_matrix((X[rows, cols], (rows, cols)), shape=X.shape),
        pd.DataFrame(X).astype("Float64"),
        pd.DataFrame(X).astype(object).where(~np.isnan(X), pd.NA).to_numpy(),
    ):
        ax = plot_consensus(soft, X=other)
        order = np.argsort(soft.mu_, kind="stable")
        np.testing.assert_allclose(ax.lines[0].get_ydata(), expected[order])
        plt.close("all")


def test_consensus_intervals_stay_within_the_scale():
    nflx = load_video_quality()
    em = AnnotatorEM(score_range=nflx.score_range).fit(nflx.data)
    half_width = 1.959963984540054 * em.mu_std_error_
    raw = np.column_stack([em.mu_ - half_width, em.mu_ + half_width])
    assert raw.min() < 1 and raw.max() > 5  # the defect: off the 1..5 scale
    ax = plot_consensus(em, X=nflx.data)
    (errorbar,) = ax.containers
    segments = np.array(errorbar.lines[2][0].get_segments())
    ends = segments[:, :, 1]
    assert ends.min() == 1.0 and ends.max() == 5.0
    order = np.argsort(em.mu_, kind="stable")
    np.testing.assert_allclose(ends, np.clip(raw, 1, 5)[order])
    # Each clipped interval still contains its consensus.
    assert np.all((ends[:, 0] <= em.mu_[order]) & (em.mu_[order] <= ends[:, 1]))
    assert "clipped to the scale" in ax.get_legend().get_texts()[-1].get_text()


def test_consensus_without_truth_sorts_by_consensus(fitted):
    _, _, _, soft, _ = fitted
    ax = plot_consensus(soft)
    (errorbar,) = ax.containers
    assert np.all(np.diff(errorbar.lines[0].get_ydata()) >= 0)
    assert ax.get_legend_handles_labels()[1] == [
        "AnnotatorEM (95% interval, clipped to the scale)"
    ]
    # A level is written with its own digits: 97.5% read "98%".
    ax = plot_consensus(soft, level=0.975)
    assert ax.get_legend_handles_labels()[1][0].startswith(
        "AnnotatorEM (97.5% interval"
    )


@SIGMA_AT_ITS_FLOOR
def test_plain_form_intervals_are_drawn_unclipped_and_the_legend_says_so():
    """A plain form's consensus may leave the scale (5.5 on 1..5 with biases):
    its interval is drawn as mu_interval gives it, and the legend does not
    claim a clipping."""
    X = np.array(
        [[5, 5, 4, 4], [4, 4, 3, 3], [3, 3, 2, 2], [np.nan, np.nan, 5, 5], [2, 2, 1, 1]]
    )
    em = AnnotatorEM(score_range=(1, 5), bounded=False, bias=True).fit(X)
    ax = plot_consensus(em)
    (errorbar,) = ax.containers
    tops = np.array(errorbar.lines[2][0].get_segments())[:, 1, 1]
    order = np.argsort(em.mu_, kind="stable")
    np.testing.assert_allclose(tops, em.mu_interval()[order, 1])
    assert tops.max() > 5
    assert ax.get_legend().get_texts()[0].get_text() == "AnnotatorEM (95% interval)"


def test_a_log_scale_fit_is_drawn_on_a_logarithmic_axis():
    """Counts of 20 to 500 with relative errors: the consensus axis is
    logarithmic, where the intervals are symmetric; a linear fit's is not."""
    rng = np.random.default_rng(0)
    X = rng.uniform(20, 500, 30)[:, None] * np.exp(rng.normal(0, 0.2, (30, 5)))
    assert plot_consensus(AnnotatorEM(score_scale="log").fit(X)).get_yscale() == "log"
    assert plot_consensus(AnnotatorEM().fit(X)).get_yscale() == "linear"


def test_reliability_labels_are_literal_and_clipped(fitted):
    em = fitted[3]
    names = ["$a$", "t\tab", "x" * 100] + [f"n{i}" for i in range(em.weights_.size - 3)]
    ax = plot_annotator_reliability(em, annotators=names)
    shown = {text.get_text() for text in ax.get_xticklabels()}
    assert {r"\$a\$", "t ab", "x" * 37 + "..."} <= shown


@pytest.mark.parametrize("n_labels", [2, 9])
def test_reliability_refuses_labels_not_one_per_annotator(fitted, n_labels):
    """Fuzzing finding: 9 labels for 8 annotators were drawn, the first 8 of
    them, and 2 gave a raw IndexError."""
    labels = list("abcdefghi")[:n_labels]
    with pytest.raises(ValueError, match=f"Expected 8 annotator labels.*{n_labels}"):
        plot_annotator_reliability(fitted[3], annotators=labels)


@pytest.mark.parametrize("n_truth", [5, 80])
def test_consensus_refuses_a_truth_not_one_per_item(fitted, n_truth):
    """Fuzzing finding: 5 true scores for 40 items drew 5 points."""
    truth = np.linspace(0, 1, n_truth)
    with pytest.raises(ValueError, match=r"one score per item of the fit \(40\)"):
        plot_consensus(fitted[3], truth=truth)


def test_a_dask_fit_is_labelled_by_its_annotators_and_its_consensus_pointed_to(
    fitted,
):
    """Fuzzing finding: the bars of a Dask fit read column numbers, and
    plot_consensus failed on the missing mu_. The bars read annotators_, and
    the consensus plot says how to bring the consensus into memory."""
    em = fitted[3]
    labels = [f"viewer {k}" for k in range(em.weights_.size)]
    dask_like = DaskLikeFit().fit(em, labels)
    ax = plot_annotator_reliability(dask_like)
    order = np.argsort(em.log_posterior_, kind="stable")
    assert [t.get_text() for t in ax.get_xticklabels()] == [labels[k] for k in order]
    with pytest.raises(TypeError, match=r"to_in_memory\(\)"):
        plot_consensus(dask_like)
