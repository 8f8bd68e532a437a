"""The standard errors and the confidence intervals of the consensus."""

import numpy as np
import pytest
from scipy import stats

from skem._model.intervals import (
    _compute_consensus_interval,
    _compute_consensus_std_error,
    _compute_std_error_sums,
    _estimate_std_error_correction,
)


def test_compute_consensus_std_error_uses_each_annotators_precision(ratings):
    weights, sigma = np.ones(3), np.array([1.0, 2.0, 0.5])
    std_error = _compute_consensus_std_error(ratings, weights, sigma)
    # Items 0, 1, 3 have 2, 2, 3 raters of weight 1: W - V/W = 1, 1, 2.
    correction = np.sqrt(7 / 4)
    assert std_error[0] == pytest.approx(correction / np.sqrt(1 + 1 / 4))
    assert std_error[3] == pytest.approx(correction / np.sqrt(1 + 1 / 4 + 4))
    assert np.isnan(std_error[2])


@pytest.mark.parametrize("chunk_size", [32_768, 2])
def test_compute_std_error_sums_adds_the_standardized_residuals(
    ratings, chunk_size, monkeypatch
):
    """Worked by hand: the residuals about the consensus, over sigma, squared
    and weighted, a chunk of ratings at a time; an item whose raters all
    weigh 0 (no consensus) adds nothing."""
    monkeypatch.setattr("skem._model.likelihoods._CHUNK_SIZE", chunk_size)
    bias, sigma = np.array([0.0, 0.1, 0.0]), np.array([1.0, 2.0, 0.5])
    consensus = np.array([0.2, 0.4, np.nan, 0.6])
    for weights in (np.array([1.0, 0.5, 0.25]), np.array([0.0, 1.0, 0.0])):
        if weights[0] == 0:
            consensus[1] = np.nan  # rated by annotators 0 and 2 only
        fitted = (consensus, bias, sigma)
        sums = _compute_std_error_sums(ratings, weights, fitted=fitted)
        expected = 0.0
        triples = zip(ratings.item, ratings.annotator, ratings.score, strict=True)
        for item, annotator, score in triples:
            if weights[annotator] > 0:
                z = (score - bias[annotator] - consensus[item]) / sigma[annotator]
                expected += weights[annotator] * z * z
        assert sums["squared_residuals"] == pytest.approx(expected, rel=1e-14)
        assert expected > 0
        plain = _compute_std_error_sums(ratings, weights)
        assert "squared_residuals" not in plain
        assert {k: sums[k] for k in plain} == plain


def test_std_error_correction_scales_to_the_observed_spread():
    """c**2 is the squared residuals over the weight left after the means;
    without them (or with none at all) sigma is taken as the spread."""
    assert _estimate_std_error_correction(10.0, 4.0, 24.0) == pytest.approx(2.0)
    assert _estimate_std_error_correction(10.0, 4.0, 1.5) == pytest.approx(0.5)
    assert _estimate_std_error_correction(10.0, 4.0) == pytest.approx(np.sqrt(10 / 6))
    assert _estimate_std_error_correction(10.0, 4.0, 0.0) == pytest.approx(
        np.sqrt(10 / 6)
    )
    assert _estimate_std_error_correction(3.0, 3.0, 5.0) == 1.0


def test_consensus_interval_is_normal_and_clipped_only_to_given_ends():
    consensus, std_error = np.array([0.02, 0.5, 0.98]), np.array([0.03, 0.1, 0.0])
    z = stats.norm.ppf(0.95)
    low, high = _compute_consensus_interval(consensus, std_error, 0.9)
    np.testing.assert_allclose(low, consensus - z * std_error, rtol=1e-15)
    np.testing.assert_allclose(high, consensus + z * std_error, rtol=1e-15)
    low, high = _compute_consensus_interval(consensus, std_error, 0.9, (0.0, 1.0))
    np.testing.assert_allclose(low, [0.0, 0.5 - z * 0.1, 0.98], rtol=1e-15)
    np.testing.assert_allclose(high, [0.02 + z * 0.03, 0.5 + z * 0.1, 0.98], rtol=1e-15)
    for level in (0, 1, 1.5):
        with pytest.raises(ValueError, match="level must lie in"):
            _compute_consensus_interval(consensus, std_error, level)


@pytest.mark.parametrize("level", ["x", None, True, [0.9], np.nan])
def test_consensus_interval_refuses_a_level_that_is_not_a_number_in_range(level):
    """A level that is not a real number in (0, 1) is named in a ValueError."""
    with pytest.raises(ValueError, match=r"level must (be a number|lie) in \(0, 1\)"):
        _compute_consensus_interval([0.5], [0.1], level)


def test_consensus_interval_on_the_logarithms_is_mapped_back():
    """With ``log`` the interval is the logarithm's, exponentiated: the
    consensus times exp(-/+ z * std_error), clipped to the ends in scores."""
    consensus, std_error = np.array([10.0, 200.0, 7.0]), np.array([0.1, 0.5, 0.0])
    z = stats.norm.ppf(0.95)
    low, high = _compute_consensus_interval(consensus, std_error, 0.9, log=True)
    np.testing.assert_allclose(low, consensus * np.exp(-z * std_error), rtol=1e-15)
    np.testing.assert_allclose(high, consensus * np.exp(z * std_error), rtol=1e-15)
    low, high = _compute_consensus_interval(
        consensus, std_error, 0.9, (5.0, 300.0), log=True
    )
    assert low[1] == 200.0 * np.exp(-z * 0.5) and high[1] == 300.0
    np.testing.assert_array_equal([low[2], high[2]], [7.0, 7.0])
    low, high = _compute_consensus_interval(
        np.array([3.0]), np.array([np.inf]), 0.9, log=True
    )
    assert (low[0], high[0]) == (0.0, np.inf)
