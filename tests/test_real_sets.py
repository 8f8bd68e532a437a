"""The default's floors on the real rating sets, where ``../shared/data`` is here.

Issue 16 asks that the default ``AnnotatorEM()`` never be clearly worse than
the plain mean on real data with truth, never call an honest panel mostly
random, and keep the verdicts it reached on the video panels. The benchmarks
(``python -m benchmarks --sections peers``) print those figures; these tests
hold the default to them, so that a change of speed or of layout cannot
quietly give them back. The sets are read by the benchmarks' own loaders
(``benchmarks/peers.py``), on the same working scales; each test skips
without the shared data.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("pandas")

from benchmarks import peers  # noqa: E402
from benchmarks._common import (  # noqa: E402
    Skipped,
    replace_with_random_raters,
    shared_data_dir,
)
from benchmarks.speed import _uniform_on  # noqa: E402
from benchmarks.subsamples import _subsample  # noqa: E402
from skem import AnnotatorEM  # noqa: E402
from tests._helpers import _spares_nobody  # noqa: E402

# The truth sets: (title in peers.SETS, metric name) for every metric.
TRUTH_METRICS = [
    ("emotion/", "MAE"),
    ("emotion/", "RMSE"),
    ("crowd/roitero_truthfulness_s6", "Spearman Politifact"),
    ("crowd/roitero_truthfulness_s6", "Spearman ABC"),
    ("crowd/weather_sentiment_ordinal", "Spearman"),
    ("crowd/weather_sentiment_ordinal", "MAE"),
    ("crowd/dot_guessing", "MAE"),
]

# At most these flagged (weight below 0.5), per video panel: the floors of
# 0.4 that the issue keeps.
VIDEO_FLAGGED = {"nflx_public": 1, "agh_tv": 2}


def _load(title):
    """The set ``title`` of the benchmarks, or skip the test."""
    for name, folder, load in peers.SETS:
        if name == title:
            try:
                return load(shared_data_dir() / folder)
            except Skipped as reason:
                pytest.skip(str(reason))
    raise KeyError(title)


def _fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AnnotatorEM(**params).fit(X)


def _metric(data, wanted):
    for name, function, higher in data.metrics:
        if name == wanted:
            return function, higher
    raise KeyError(wanted)


@pytest.mark.parametrize("title, metric", TRUTH_METRICS)
def test_the_default_is_never_clearly_worse_than_the_plain_mean(title, metric):
    """An error at most 1% above the mean's, a Spearman at most 0.01 below."""
    data = _load(title)
    function, higher = _metric(data, metric)
    default = function(_fit(data.X).mu_)
    with np.errstate(all="ignore"):
        mean = function(np.nanmean(data.X, axis=1))
    if higher:
        assert default >= mean - 0.01, (default, mean)
    else:
        assert default <= 1.01 * mean, (default, mean)


@pytest.mark.parametrize("title", [name for name, _, _ in peers.SETS])
def test_the_default_calls_no_honest_real_panel_mostly_random(title):
    """At most half flagged on every set; where the median annotator has at
    most 3 ratings, at most 5% below a weight of 0.1 (one or two ratings
    cannot show anyone to be random)."""
    data = _load(title)
    em = _fit(data.X)
    assert np.mean(em.weights_ < 0.5) <= 0.5
    ratings_per_annotator = np.sum(~np.isnan(data.X), axis=0)
    if np.median(ratings_per_annotator) <= 3:
        assert np.mean(em.weights_ < 0.1) <= 0.05


def test_the_default_keeps_emotions_floor():
    """emotion/: at most 5 of 38 flagged and an error at most the mean's 12.02."""
    data = _load("emotion/")
    em = _fit(data.X)
    mae, _ = _metric(data, "MAE")
    assert np.sum(em.weights_ < 0.5) <= 5
    assert mae(em.mu_) <= 12.02


def test_the_default_flags_every_random_rater_replacing_40_percent_of_emotion():
    """15 of 38 annotators replaced by uniform raters, five seeds and seed 19:
    each of them flagged in every seed, and a mean error of at most 13.0. On
    seed 19 the start from the items' medians ended at a maximum 235 nats
    lower, with a random rater good and three honest ones flagged (error
    18.2); the start from each rater's agreement with them does not."""
    data = _load("emotion/")
    mae, _ = _metric(data, "MAE")
    errors = []
    for seed in (*range(5), 19):
        noisy, replaced = replace_with_random_raters(
            data.X, 0.4, seed, _uniform_on((0.0, 100.0))
        )
        em = _fit(noisy)
        assert np.all(em.weights_[replaced] < 0.5), seed
        errors.append(mae(em.mu_))
    assert np.mean(errors) <= 13.0, errors


def test_the_default_flags_no_weather_worker_at_the_maximum_of_nobody_random(
    monkeypatch,
):
    """Weather sentiment (745 workers, most with two ratings): the fit from
    everyone presumed good (init='auto''s start of weights 1) flags nobody
    and ends above the median start's, which flags 8 honest workers. The
    default keeps it; and the median start's mixture, tested against
    everyone good or judged on the others' consensus, is not kept either.
    (Before, 'auto' raced the start at pi = 1/2, which flagged 9 at a lower
    objective still.)"""
    data = _load("crowd/weather_sentiment_ordinal")
    auto = _fit(data.X)
    assert np.sum(auto.weights_ < 0.5) == 0
    assert np.sum(_fit(data.X, init="median").weights_ < 0.5) == 0
    monkeypatch.setattr("skem._em.runs._MIXTURE_TEST_GAIN", -np.inf)
    for check in ("_find_followers", "_find_undetermined"):
        monkeypatch.setattr(f"skem._em.driver.{check}", _spares_nobody)
    median = _fit(data.X, init="median")
    assert auto.log_likelihood_ > median.log_likelihood_
    assert np.sum(median.weights_ < 0.5) > 0


def test_the_default_flags_no_s6_worker_on_subsamples_of_few_raters_per_item():
    """roitero_s6 keeps 30% of its 199 workers on seeds 0 to 9 (about 3.6
    ratings per item). The full set flags nobody; untested, the mixture
    flagged 2 to 10 of the 60 on 7 of the seeds (from the items' medians, 5
    to 19 on 6, with sigma about half the full set's, and 4 seeds ended more
    than 0.01 below the mean's Spearman). Tested against everyone good,
    none of those fits is kept."""
    data = _load("crowd/roitero_truthfulness_s6")
    for seed in range(10):
        X, _ = _subsample(data.X, "annotators", 0.3, seed)
        assert np.sum(_fit(X).weights_ < 0.5) == 0, seed


def test_the_default_flags_exactly_the_four_netflix_outliers():
    data = _load("video_quality/nflx_public_last4outliers")
    em = _fit(data.X)
    flagged = data.column_annotators[em.weights_ < 0.5]
    assert sorted(str(a) for a in flagged) == ["26", "27", "28", "29"]


@pytest.mark.parametrize("name, most", sorted(VIDEO_FLAGGED.items()))
def test_the_default_flags_few_on_the_honest_video_panels(name, most):
    data = _load(f"video_quality/{name}")
    assert np.sum(_fit(data.X).weights_ < 0.5) <= most


@pytest.mark.parametrize(
    "name", ["nflx_public", "nflx_public_last4outliers", "vqeg_hd3", "agh_tv"]
)
def test_a_stated_1_to_5_scale_gives_the_verdicts_of_auto(name):
    """On integer ACR ratings, ``score_range=(1, 5)`` and ``'auto'`` both
    mean the levels 1..5: the same annotators flagged, the same fit."""
    data = _load(f"video_quality/{name}")
    auto = _fit(data.X)
    stated = _fit(data.X, score_range=(1, 5))
    np.testing.assert_array_equal(auto.weights_ < 0.5, stated.weights_ < 0.5)
    np.testing.assert_allclose(auto.mu_, stated.mu_, rtol=0, atol=1e-9)


def test_the_default_reads_a_dot_counters_single_typo_as_a_slip():
    """dot_guessing: the two players the default flagged each typed one
    count far off (7722 and 898 dots where the consensus is 64 and 83),
    and their other guesses track the consensus. Read as slips, they are
    good, and nobody is flagged; the other ratings of every lapsed player
    lie within a factor 1.5 of the consensus, the slip at least 3 times off."""
    data = _load("crowd/dot_guessing")
    em = _fit(data.X)
    assert not np.any(em.weights_ < 0.5)
    assert em.lapsed_.sum() == 2
    for a in np.flatnonzero(em.lapsed_):
        rated = ~np.isnan(data.X[:, a])
        ratio = data.X[rated, a] / em.mu_[rated]
        far = np.argmax(np.abs(np.log(ratio)))
        assert max(ratio[far], 1 / ratio[far]) >= 3
        assert np.all(np.abs(np.log(np.delete(ratio, far))) <= np.log(1.5))
