"""The Student-t forms: the t density, its scale weights and the t consensus."""

import numpy as np
import pytest
from scipy import optimize, stats

from skem._model.form import _Params
from skem._model.likelihoods import _compute_student_log_density
from skem._model.student import (
    _compute_scale_weights,
    _estimate_consensus_student,
)
from tests._helpers import _ratings


@pytest.mark.parametrize("df", [0.5, 1.0, 3.0, 30.0])
def test_student_log_density_is_scipys(df):
    rng = np.random.default_rng(0)
    residual = rng.normal(0, 3, 200)
    sigma = rng.uniform(0.1, 2, 200)
    np.testing.assert_allclose(
        _compute_student_log_density(residual, sigma, df),
        stats.t.logpdf(residual, df, scale=sigma),
        rtol=1e-12,
    )


@pytest.mark.parametrize("df", [1.0, 4.0])
def test_scale_weights_make_the_reweighted_mean_a_stationary_point(df):
    """d/dm log t(s - m) = u (s - m) / sigma**2 with u the scale weight: a
    fixed point of the reweighted mean is a stationary point of the t
    log-likelihood, which is what makes it EM."""
    residual, sigma, h = np.array([-3.0, -0.2, 0.5, 7.0]), 0.8, 1e-6
    # Raising m by h lowers the residual s - m by h.
    slope = (
        _compute_student_log_density(residual - h, sigma, df)
        - _compute_student_log_density(residual + h, sigma, df)
    ) / (2 * h)
    u = _compute_scale_weights(residual, sigma, df)
    np.testing.assert_allclose(slope, u * residual / sigma**2, rtol=1e-6)


@pytest.mark.parametrize("df", [1.0, 3.0])
def test_t_consensus_maximizes_each_items_weighted_t_likelihood(df):
    """The consensus is a maximum of sum_a w_a log t(s_ia - b_a - m; sigma_a)
    over m for each item, found by scipy from the same median start, and a
    wild rating moves it far less than it moves the mean."""
    rng = np.random.default_rng(2)
    n_items, n_annotators = 6, 5
    item = np.repeat(np.arange(n_items), n_annotators)
    annotator = np.tile(np.arange(n_annotators), n_items)
    score = rng.normal(2.0, 0.3, item.size)
    score[3] = 40.0  # a typo
    ratings = _ratings(item, annotator, score, n_items, n_annotators)
    bias = rng.normal(0, 0.1, n_annotators)
    sigma = rng.uniform(0.2, 0.6, n_annotators)
    weights = rng.uniform(0.2, 1.0, item.size)
    params = _Params(bias, sigma, 0.4, 0.9)
    got = _estimate_consensus_student(ratings, weights, params, df)
    for i in range(n_items):
        rows = item == i
        corrected = score[rows] - bias[annotator[rows]]

        def negative(m, rows=rows, corrected=corrected):
            return -np.sum(
                weights[rows]
                * _compute_student_log_density(
                    corrected - m, sigma[annotator[rows]], df
                )
            )

        start = np.sort(corrected)[(corrected.size - 1) // 2]
        best = optimize.minimize_scalar(negative, bracket=(start - 0.1, start)).x
        assert got[i] == pytest.approx(best, abs=1e-7)
    assert abs(got[0] - 2.0) < 0.5 < abs(score[:5].mean() - 2.0)
