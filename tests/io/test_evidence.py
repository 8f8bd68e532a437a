"""What the training ratings say about each annotator: agreement, deviation, growth."""

import warnings

import numpy as np
import pytest
from scipy import stats

from skem import AnnotatorEM
from skem._io.evidence import (
    MIN_GROWTH_ITEMS,
    MIN_SAME_RATINGS,
    SPAN,
    _annotator_evidence,
    _correlations,
    _estimate_error_growth,
    _same_score_raters,
)
from skem._io.results import _annotator_table
from skem.datasets import make_ratings


def test_on_the_log_scale_the_evidence_is_that_of_the_logarithms():
    """score_scale='log': r, the deviation and the far ratings are measured
    on the logarithms, where the model's sigma_ and bias_ are; the reasons
    say so. In score units a count of 500 guessed as 600 would be 25 sigma
    off."""
    rng = np.random.default_rng(3)
    truth = rng.uniform(20, 500, 40)
    X = truth[:, None] * np.exp(rng.normal(0, 0.2, (40, 7)))
    X[:, 0] = rng.uniform(1, 10_000, 40)  # a junk worker
    X[5, 3] *= 20  # one wild guess, far on any scale
    em = AnnotatorEM(score_scale="log", bias=True).fit(X)
    evidence = _annotator_evidence(em, X)
    logs, mu = np.log(X), np.log(em.mu_)
    residuals = logs - mu[:, None] - em.bias_
    np.testing.assert_allclose(
        evidence.deviation, np.sqrt(np.mean(residuals**2, axis=0)), rtol=1e-12
    )
    far = np.abs(logs - np.log(em.location_)[:, None] - em.bias_) > 4 * em.sigma_
    np.testing.assert_array_equal(evidence.far, far.sum(axis=0))
    assert evidence.far[3] >= 1 and evidence.far[1:].sum() <= 3
    assert evidence.r[1] == pytest.approx(stats.pearsonr(logs[:, 1], mu)[0])
    people, reasons = _annotator_table(em, np.arange(7), evidence, "worker")
    assert people["verdict"][0] == "random"
    assert "(root mean square of the logarithms; consistent" in reasons[0]


def test_agreement_is_pearson_r_with_the_consensus_and_na_when_undefined():
    X = make_ratings(30, 5, missing_fraction=0.3, random_state=4)
    X[:, 3] = np.where(np.isnan(X[:, 3]), np.nan, 0.5)  # no variance
    X[2:, 4] = np.nan  # two ratings
    em = AnnotatorEM().fit(X)
    r = _annotator_evidence(em, X).r
    for a in range(3):
        rated = ~np.isnan(X[:, a])
        expected = np.corrcoef(X[rated, a], em.mu_[rated])[0, 1]
        assert r[a] == pytest.approx(expected, abs=1e-12)
    assert np.isnan(r[3]) and np.isnan(r[4])


@pytest.mark.parametrize("unit", [1e-150, 1e-9, 1e160])
def test_agreement_does_not_depend_on_the_units_of_the_scores(unit):
    """CLI fuzz finding: scores of 1e160 overflowed the squares (warnings on
    stderr of a successful run, agreement lost); tiny scores sank below the
    noise floor of the variance."""
    rng = np.random.default_rng(0)
    group = np.repeat(np.arange(4), 6)
    x = rng.uniform(1, 5, 24)
    y = x + rng.normal(0, 0.5, 24)
    r = _correlations(group, x, y, 4)
    assert np.all(np.isfinite(r))
    np.testing.assert_allclose(
        _correlations(group, unit * x, unit * y, 4), r, rtol=1e-12
    )


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize("unit", [1e-200, 1e200])
def test_deviations_do_not_depend_on_the_units_of_the_scores(unit):
    """A review found the root mean squares overflowing at 1e200 (warnings,
    and inf dropped from the reasons) and vanishing at 1e-200 ("0 off the
    consensus"): they are taken in units of the largest deviation."""
    X = make_ratings(40, 6, bad_fraction=0.2, random_state=0)
    em = AnnotatorEM(bounded=False).fit(X)
    scaled = AnnotatorEM(bounded=False).fit(X * unit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        deviation = _annotator_evidence(scaled, X * unit).deviation
    np.testing.assert_allclose(
        deviation / unit, _annotator_evidence(em, X).deviation, rtol=1e-6
    )


def _growth_of(errors, seed=0, n_items=40):
    """_estimate_error_growth of items 20..2000 rated by 8, the given errors."""
    rng = np.random.default_rng(seed)
    truth = np.exp(rng.uniform(np.log(20), np.log(2000), n_items))
    X = errors(truth[:, None], rng.normal(0, 1, (n_items, 8)))
    item = np.repeat(np.arange(n_items), 8)
    residuals = (X - truth[:, None]).ravel()
    return _estimate_error_growth(item, residuals, np.ones(item.size), truth)


@pytest.mark.parametrize("seed", range(5))
def test_error_growth_is_0_for_errors_of_one_size_and_1_in_proportion(seed):
    """The power separates additive errors (about 0) from relative ones
    (about 1) by many standard errors; the power of a growth as the square
    root of the score is about 1/2."""
    additive, se_additive = _growth_of(lambda t, z: t + 50 * z, seed)
    relative, se_relative = _growth_of(lambda t, z: t * np.exp(0.2 * z), seed)
    root, _ = _growth_of(lambda t, z: t + 5 * np.sqrt(t) * z, seed)
    assert abs(additive) < 4 * se_additive and abs(additive) < 0.2
    assert abs(relative - 1) < 4 * se_relative and abs(relative - 1) < 0.2
    assert abs(root - 0.5) < 0.2


def test_error_growth_is_the_least_squares_slope_of_the_logarithms():
    """Worked example: three items of consensus 10, 100 and 1000 whose two
    ratings deviate by 1, 10 and 100 have a power of exactly 1 (the items
    repeated, to reach MIN_GROWTH_ITEMS); weights count, and items with one
    counted rating or no spread are left out."""
    consensus = np.tile([10.0, 100.0, 1000.0], 4)
    n_items = consensus.size
    item = np.repeat(np.arange(n_items), 2)
    residuals = np.repeat(consensus / 10, 2) * np.tile([1.0, -1.0], n_items)
    power, std_error = _estimate_error_growth(
        item, residuals, np.ones(item.size), consensus
    )
    assert power == pytest.approx(1.0, abs=1e-12) and std_error < 1e-12
    # A random rater (weight 0) beside each item's two does not change it.
    item3 = np.repeat(np.arange(n_items), 3)
    residuals3 = np.column_stack(
        [residuals.reshape(-1, 2), 1e4 * np.ones(n_items)]
    ).ravel()
    weights3 = np.tile([1.0, 1.0, 0.0], n_items)
    assert _estimate_error_growth(item3, residuals3, weights3, consensus)[
        0
    ] == pytest.approx(1.0, abs=1e-12)
    few = np.arange(MIN_GROWTH_ITEMS - 1)
    assert np.isnan(
        _estimate_error_growth(
            np.repeat(few, 2),
            np.tile([1.0, -1.0], few.size),
            np.ones(2 * few.size),
            np.linspace(1, 9, few.size),
        )[0]
    )
    flat = _estimate_error_growth(item, residuals, np.ones(item.size), np.ones(n_items))
    assert np.isnan(flat[0])


def test_growth_is_measured_on_positive_scores_on_the_linear_scale_only():
    """A fit on the logarithms, or ratings that are not all positive, measure
    no growth (NaN); guessed counts on the linear scale show relative errors."""
    rng = np.random.default_rng(1)
    X = rng.uniform(20, 500, 40)[:, None] * np.exp(rng.normal(0, 0.2, (40, 6)))
    power, _ = _annotator_evidence(AnnotatorEM().fit(X), X).growth
    assert 0.7 < power < 1.3
    assert np.isnan(
        _annotator_evidence(AnnotatorEM(score_scale="log").fit(X), X).growth[0]
    )
    shifted = X - 30
    assert np.isnan(_annotator_evidence(AnnotatorEM().fit(shifted), shifted).growth[0])


@pytest.mark.parametrize("unit", [1e-200, 1e200])
def test_error_growth_does_not_depend_on_the_units_of_the_scores(unit):
    """Counts in units of 1e200 (or 1e-200) grow as they do in units of 1,
    without a warning: no square overflows or vanishes."""
    rng = np.random.default_rng(2)
    X = rng.uniform(20, 500, 30)[:, None] * np.exp(rng.normal(0, 0.2, (30, 5)))
    em = AnnotatorEM(bounded=False).fit(X)
    scaled = AnnotatorEM(bounded=False).fit(X * unit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        growth = _annotator_evidence(scaled, X * unit).growth
    np.testing.assert_allclose(growth, _annotator_evidence(em, X).growth, rtol=1e-6)


def test_ratings_within_a_rating_scales_span_measure_no_growth():
    """Fuzz finding: on a 1..5 scale with every item near the floor, the
    floor cuts the spread of the lowest items, and it grows away from it as
    relative errors would make it grow (slope 1.26, 13 standard errors).
    Ratings whose highest is less than SPAN times their lowest, as on every
    rating scale from 1, measure no growth; counts span more."""
    rng = np.random.default_rng(0)
    truth = rng.uniform(1, 2, 300)
    X = truth[:, None] + rng.normal(0, 0.5, (300, 10))
    while ((X < 1) | (X > 5)).any():
        out = (X < 1) | (X > 5)
        X[out] = (truth[:, None] + rng.normal(0, 0.5, X.shape))[out]
    assert np.nanmax(X) < SPAN * np.nanmin(X)
    assert np.isnan(_annotator_evidence(AnnotatorEM().fit(X), X).growth[0])


def test_evidence_of_ratings_with_none_observed_has_no_growth():
    """Review finding: X without an observed rating crashed the growth's
    range check (a maximum of nothing); the evidence is then empty."""
    X = np.array([[10.0, 12, 11], [100, 120, 90], [50, 55, 60], [5, 6, 5.5]])
    em = AnnotatorEM().fit(X)
    evidence = _annotator_evidence(em, np.full_like(X, np.nan))
    assert np.isnan(evidence.growth[0])
    np.testing.assert_array_equal(evidence.per_annotator, [0, 0, 0])


def test_same_score_raters_need_5_equal_ratings_on_items_the_consensus_tells_apart():
    """Annotator 0 rates 3 five times where the consensus spans 1 to 5 (of a
    width of 4); annotator 1 the same but on items within 0.9 of each other;
    annotator 2 only four times; annotator 3 varies; annotator 4 has one
    consensus NaN among six, which does not count."""
    consensus = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    near = np.array([3.0, 3.2, 3.5, 3.9, 3.1])
    groups = [
        (0, [3] * 5, consensus),
        (1, [3] * 5, near),
        (2, [3] * 4, consensus[:4]),
        (3, [1, 2, 3, 4, 5], consensus),
        (4, [4] * 6, [*consensus, np.nan]),
    ]
    group = np.concatenate([[g] * len(x) for g, x, _ in groups])
    scores = np.concatenate([np.asarray(x, float) for _, x, _ in groups])
    values = np.concatenate([np.asarray(c, float) for _, _, c in groups])
    same = _same_score_raters(group, scores, values, 6, 4.0)
    np.testing.assert_array_equal(same, [True, False, False, False, True, False])
    assert MIN_SAME_RATINGS == 5


def test_the_evidence_names_straightliners_and_no_one_on_honest_panels():
    """Two of 10 raters answer 3 to every item of a 1..5 panel: the evidence
    names those two; on the panel without them, nobody."""
    rng = np.random.default_rng(0)
    truth = rng.uniform(1, 5, 40)
    X = np.clip(np.round(truth[:, None] + rng.normal(0, 0.7, (40, 10))), 1, 5)
    honest = _annotator_evidence(AnnotatorEM().fit(X), X)
    assert not honest.same.any()
    X[:, [2, 7]] = 3
    evidence = _annotator_evidence(AnnotatorEM().fit(X), X)
    np.testing.assert_array_equal(np.flatnonzero(evidence.same), [2, 7])
