"""Smoke test: the benchmark command runs and prints its tables (no timings)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmarks_print_every_table(tmp_path):
    report = tmp_path / "report.md"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--sections",
            "speed",
            "accuracy",
            "forms",
            "--output",
            report,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    text = report.read_text()
    for title in (
        "One EM iteration of each model form",
        "Setup of a fit: everything before EM",
        "Default against the lecture, whole fit",
        "False flags on real panels",
        "Robustness per model form",
        "Scaling with the number",
        "Missing ratings",
        "Accuracy on emotion/",
        "Netflix outliers",
        "Crowds of workers with one or two ratings",
        "Counts with relative errors",
        "Honest raters noisier than the rest",
        "Raters who give every item one score",
        "Hard judgments with few raters per item",
        "Honest raters who herd, or hold two views",
        "Yes/no judgments",
        "The default against the mean on subsamples",
    ):
        assert title in text
    # Each section either produced a table or says why it was skipped.
    assert text.count("| ratings |") >= 1
    assert "Traceback" not in result.stderr


def _write_long(path, rng, items, annotators, truth, noise, integer=False, top=None):
    """A complete panel around ``truth``, in long format; returns the frame.

    Integer scores are rounded and, with ``top``, clipped to ``0..top``.
    """
    import pandas as pd

    rows = [
        (item, annotator, t + noise * rng.standard_normal())
        for item, t in zip(items, truth, strict=True)
        for annotator in annotators
    ]
    frame = pd.DataFrame(rows, columns=["item", "annotator", "score"])
    if integer:
        frame["score"] = frame["score"].round()
        if top is not None:
            frame["score"] = frame["score"].clip(0, top)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return frame


def _tiny_shared_data(folder):
    """Every set of the shared data folder, tiny and synthetic, but vqeg_hd3."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    items = list(range(1, 13))
    truth = rng.uniform(10, 90, len(items)).round()
    _write_long(
        folder / "emotion" / "ratings.csv",
        rng,
        items,
        list("abcdef"),
        truth,
        8.0,
        integer=True,
    )
    pd.DataFrame(
        {
            "item": items,
            "emotion": ["joy"] * 10 + ["valence"] * 2,
            "low": [0] * 10 + [-100] * 2,
            "high": 100,
            "truth": truth,
        }
    ).to_csv(folder / "emotion" / "truth.csv", index=False)
    crowd = folder / "crowd"
    levels = rng.integers(0, 6, len(items)).astype(float)
    _write_long(
        crowd / "roitero_truthfulness_s6" / "ratings.csv",
        rng,
        [f"S:{i}" for i in items],
        [f"u{k}" for k in range(6)],
        levels,
        1.0,
        integer=True,
        top=5,
    )
    pd.DataFrame(
        {
            "item": [f"S:{i}" for i in items],
            "source": ["Politifact", "ABC"] * 6,
            "truth": levels,
        }
    ).to_csv(crowd / "roitero_truthfulness_s6" / "truth.csv", index=False)
    labels = rng.integers(0, 3, len(items)).astype(float)
    _write_long(
        crowd / "weather_sentiment_ordinal" / "ratings.csv",
        rng,
        items,
        ["w1", "w2", "w3", "w4"],
        labels,
        0.6,
        integer=True,
        top=2,
    )
    pd.DataFrame({"item": items, "truth": labels}).to_csv(
        crowd / "weather_sentiment_ordinal" / "truth.csv", index=False
    )
    counts = rng.integers(30, 200, len(items)).astype(float)
    dots = _write_long(
        crowd / "dot_guessing" / "ratings.csv",
        rng,
        [f"A{c:03.0f}" for c in counts],
        list(range(8)),
        counts,
        20.0,
        integer=True,
    )
    pd.DataFrame({"item": [f"A{c:03.0f}" for c in counts], "truth": counts}).to_csv(
        crowd / "dot_guessing" / "truth.csv", index=False
    )
    video = folder / "video_quality"
    quality = rng.uniform(1.5, 4.5, len(items))
    for name, panel in (
        ("nflx_public", range(10)),
        ("nflx_public_last4outliers", range(30)),
        ("agh_tv", range(10)),
        ("vqeg_frtv_525_high", range(10)),
    ):
        frame = _write_long(
            video / f"{name}.csv", rng, items, list(panel), quality, 0.5
        )
        if name.endswith("outliers"):
            outlier = frame["annotator"] >= 26
            frame.loc[outlier, "score"] = rng.uniform(1, 5, outlier.sum())
        if name != "vqeg_frtv_525_high":
            frame["score"] = frame["score"].round().clip(1, 5)
        frame.to_csv(video / f"{name}.csv", index=False)
    return dots, pd.read_csv(crowd / "dot_guessing" / "truth.csv")


def _run_peers(tmp_path, data_folder):
    import os

    report = tmp_path / "peers.md"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--sections",
            "peers",
            "--output",
            report,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SKEM_SHARED_DATA": str(data_folder)},
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return report.read_text()


@pytest.mark.slow
def test_peers_section_prints_a_table_per_set_with_its_best(tmp_path):
    from benchmarks.peers import SETS, _format

    dots, truth = _tiny_shared_data(tmp_path / "data")
    text = _run_peers(tmp_path, tmp_path / "data")
    for title, _, _ in SETS:
        assert f"## Peers on {title}" in text
    assert "Skipped: no " in text and "vqeg_hd3.csv" in text
    assert "## Peers: summary" in text
    assert "best MAE: " in text and "best Spearman Politifact: " in text
    assert "best on dot_guessing MAE: " in text
    # The plain mean's figure is the hand-computed one, in the table.
    means = dots.groupby("item")["score"].mean()
    mae = (means - truth.set_index("item")["truth"]).abs().mean()
    table = text.split("## Peers on crowd/dot_guessing")[1].split("##")[0]
    assert f"| mean | {_format(mae)} |" in table
    assert "| AnnotatorEM() (default) |" in table
    # Each peer either has its rows or a line saying it is not installed.
    assert ("| sureal P.913" in table) != ("sureal is not installed" in table)
    assert ("| crowd-kit RASA" in table) != ("crowd-kit is not installed" in table)


@pytest.mark.slow
def test_peers_section_skips_without_the_shared_data(tmp_path):
    text = _run_peers(tmp_path, tmp_path / "absent")
    assert text.count("Skipped: no real data at") == 10
    assert "| mean |" not in text


def test_peers_section_says_which_peer_is_missing(tmp_path, monkeypatch):
    from benchmarks import peers

    _tiny_shared_data(tmp_path / "data")
    monkeypatch.setenv("SKEM_SHARED_DATA", str(tmp_path / "data"))
    # None in sys.modules makes the import raise ImportError.
    monkeypatch.setitem(sys.modules, "sureal", None)
    monkeypatch.setitem(sys.modules, "crowdkit", None)
    monkeypatch.setitem(sys.modules, "crowdkit.aggregation", None)
    result, note = peers._set_table("crowd/dot_guessing", quick=True)
    assert "sureal is not installed (pip install sureal)" in note
    assert "crowd-kit is not installed (pip install crowd-kit" in note
    assert "sureal" not in result and "crowd-kit" not in result
    assert "| AnnotatorEM() (default) |" in result


def test_peers_reproduce_the_shared_readme_figures_on_dot_guessing():
    """The peers as driven here give the figures the shared README quotes."""
    import pytest

    pytest.importorskip("sureal")
    pytest.importorskip("crowdkit")
    from benchmarks import peers
    from benchmarks._common import Skipped

    try:
        data, outcomes, _ = peers._results("crowd/dot_guessing", True)
    except Skipped as reason:
        pytest.skip(str(reason))
    ((_, mae, _),) = data.metrics
    figures = {name: round(mae(o.consensus), 2) for name, o in outcomes.items()}
    assert figures["mean"] == 9.74
    assert figures["median"] == 5.85
    assert figures["crowd-kit RASA (1-D embeddings)"] == 4.68
    assert figures["crowd-kit ClosestToAverage (1-D)"] == 8.22
    assert figures["sureal P.913 bias removal + rejection"] == 11.03


def test_a_peer_past_its_time_limit_is_reported_stopped_and_the_alarm_cleared():
    import time

    from benchmarks import peers

    def endless(data):
        while True:
            time.sleep(0.01)

    outcome = peers._run(endless, None, 0.2)
    assert outcome.error == "stopped after 0.2 s"
    assert outcome.consensus is None
    assert 0.2 <= outcome.seconds < 5
    time.sleep(0.4)  # no alarm left armed to stop what runs next
    assert peers._run(lambda data: peers.Outcome(), None, 0.2).error is None


def test_within_noise_of_the_best_is_a_paired_bootstrap_over_the_items():
    """A method a hair off the best ties it; one clearly worse does not; a
    method without a value is left out; the best ties itself."""
    from benchmarks import peers

    truth = np.zeros(300)
    best = np.ones(300)
    # 100 items nearer the truth, 103 farther: 0.003 worse, by chance.
    hair = np.concatenate([np.full(100, 0.7), np.full(103, 1.3), np.ones(97)])
    data = peers.Ratings(
        "toy", None, None, None, np.empty((300, 2)), np.arange(300), None, None
    )
    outcomes = {
        "best": peers.Outcome(consensus=best),
        "hair": peers.Outcome(consensus=hair),
        "worse": peers.Outcome(consensus=np.full(300, 1.5)),
        "failed": peers.Outcome(error="ValueError: no"),
    }
    mae = peers._mae(truth)
    values = {
        name: mae(o.consensus) if o.error is None else float("nan")
        for name, o in outcomes.items()
    }
    assert peers._best(values, higher=False) == ["best"]
    tied = peers._tied_with_best(data, outcomes, mae, values, ["best"], 200)
    assert tied == ["best", "hair"]
    # Resampled rows score a Spearman metric on its subset of those rows.
    order = np.linspace(0, 1, 300)
    spearman = peers._spearman(order, np.arange(300) < 150)
    rows = np.array([0, 0, 1, 200, 2, 3, 5])
    consensus = np.sin(7 * order)
    assert spearman(consensus, rows) == pytest.approx(
        spearmanr(consensus[[0, 0, 1, 2, 3, 5]], order[[0, 0, 1, 2, 3, 5]])[0]
    )


@pytest.mark.parametrize("kind", ["annotators", "items", "ratings"])
def test_a_subsample_keeps_ratings_of_its_kind_and_no_empty_row_or_column(kind):
    """Each kept rating is the panel's own, in its item's row; no kept item
    or annotator is left without a rating; items and ratings are kept at
    about the share asked, annotators at exactly its count."""
    from benchmarks.subsamples import _subsample

    rng = np.random.default_rng(0)
    X = np.where(rng.random((400, 40)) < 0.5, rng.normal(size=(400, 40)), np.nan)
    X[7] = np.nan  # an item nobody rated
    sub, rows = _subsample(X, kind, 0.3, seed=3)
    observed = ~np.isnan(sub)
    assert observed.any(axis=0).all() and observed.any(axis=1).all()
    assert 7 not in rows and np.all(np.diff(rows) > 0)
    # Every kept value sits in some column of its item's row.
    for i, row in zip(rows, sub, strict=True):
        assert set(row[~np.isnan(row)]) <= set(X[i][~np.isnan(X[i])])
    kept = observed.sum() / np.sum(~np.isnan(X))
    if kind == "annotators":
        assert sub.shape[1] == 12
    else:
        assert kept == pytest.approx(0.3, abs=0.05)
    if kind == "items":
        np.testing.assert_array_equal(sub, X[rows][:, ~np.isnan(X[rows]).all(axis=0)])


def test_the_mean_with_its_ties_broken_loses_only_where_it_has_ties():
    """A mean without ties is the same mean after the jitter (no loss); one
    of two values against a truth of the same two levels loses beyond the
    margin on nearly every random tie-break."""
    from benchmarks import peers
    from benchmarks.subsamples import _ties_broken_beyond

    truth = np.repeat([0.0, 1.0], 50)
    rows = np.arange(100)
    metric = peers._spearman(truth, np.ones(100, dtype=bool))
    distinct = truth + np.linspace(0, 0.5, 100)
    assert _ties_broken_beyond(metric, distinct, rows, 100, seed=0) == 0
    assert _ties_broken_beyond(metric, truth.copy(), rows, 100, seed=0) > 0.9
