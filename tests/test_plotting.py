"""The plotting helpers draw the expected artists with the expected data."""

import numpy as np
import pytest

from skem import AnnotatorEM, HardAnnotatorEM
from skem.datasets import make_ratings

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


def test_reliability_bars_are_sorted_and_coloured_by_threshold(fitted):
    _, _, good, soft, _ = fitted
    ax = plot_annotator_reliability(soft, annotators=[f"a{k}" for k in range(8)])
    heights = np.array([bar.get_height() for bar in ax.patches])
    order = np.argsort(soft.log_posterior_, kind="stable")
    np.testing.assert_array_equal(heights, soft.weights_[order])
    colors = [matplotlib.colors.to_hex(bar.get_facecolor()) for bar in ax.patches]
    expected = [
        matplotlib.colors.to_hex("tab:blue" if w >= 0.5 else "tab:red") for w in heights
    ]
    assert colors == expected
    assert colors.count(matplotlib.colors.to_hex("tab:red")) == (~good).sum() == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"a{k}" for k in order]
    (threshold,) = [line for line in ax.lines if line.get_label() == "threshold"]
    assert threshold.get_ydata()[0] == 0.5
    assert "2 of 8 flagged" in ax.get_title()


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
    np.testing.assert_allclose([s[0][1] for s in segments], low)
    np.testing.assert_allclose([s[1][1] for s in segments], high)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["truth", "plain mean", "AnnotatorEM (90% interval)"]


def test_consensus_without_truth_sorts_by_consensus(fitted):
    _, _, _, soft, _ = fitted
    ax = plot_consensus(soft)
    (errorbar,) = ax.containers
    assert np.all(np.diff(errorbar.lines[0].get_ydata()) >= 0)
    assert ax.get_legend_handles_labels()[1] == ["AnnotatorEM (95% interval)"]
