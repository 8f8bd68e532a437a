"""One E-step and one M-step checked against the formulas, computed by loops.

The oracle below is written straight from the derivation, the way the lecture
codes it: explicit loops, products of densities in linear space (harmless at
this size), no code shared with skem.
"""

import math

import numpy as np
import pytest

from skem import AnnotatorEM, HardAnnotatorEM
from skem._model.starts import _initialize_params
from tests._helpers import LECTURE

# 4 items x 4 annotators on [0, 1]; annotator 2 answers at random and
# annotator 3 skipped item 2.
X = np.array(
    [
        [0.60, 0.58, 0.10, 0.62],
        [0.90, 0.93, 0.95, 0.88],
        [0.30, 0.28, 0.85, np.nan],
        [0.75, 0.71, 0.05, 0.77],
    ]
)
LOW, HIGH = 0.0, 1.0


def normal_pdf(s, mu, sigma):
    return math.exp(-0.5 * ((s - mu) / sigma) ** 2) / (math.sqrt(2 * math.pi) * sigma)


def observed(i, a):
    return not math.isnan(X[i, a])


def oracle_m_step(w):
    n_items, n_annotators = X.shape
    mu = []
    for i in range(n_items):
        num = sum(w[a] * X[i, a] for a in range(n_annotators) if observed(i, a))
        den = sum(w[a] for a in range(n_annotators) if observed(i, a))
        mu.append(num / den)
    num = den = 0.0
    for i in range(n_items):
        for a in range(n_annotators):
            if observed(i, a):
                num += w[a] * (X[i, a] - mu[i]) ** 2
                den += w[a]
    return np.array(mu), math.sqrt(num / den), sum(w) / n_annotators


def oracle_e_step(mu, sigma, pi):
    n_items, n_annotators = X.shape
    w, log_likelihood = [], 0.0
    for a in range(n_annotators):
        p_good, p_bad = pi, 1 - pi
        for i in range(n_items):
            if observed(i, a):
                p_good *= normal_pdf(X[i, a], mu[i], sigma)
                p_bad *= 1 / (HIGH - LOW)
        w.append(p_good / (p_good + p_bad))
        log_likelihood += math.log(p_good + p_bad)
    return np.array(w), log_likelihood


def test_all_good_init_matches_the_lecture():
    from skem._em.backend import _Block, _InMemoryBackend
    from skem._em.ratings import _ratings_from_matrix
    from skem._model.form import _model_form

    # The score range is [0, 1] here, so unit space is score space.
    form = _model_form(False, "shared", False, 50.0, 1e-3)
    ratings = _ratings_from_matrix(X)
    data = _InMemoryBackend(_Block(ratings), ratings.n_per_annotator, False)
    params = _initialize_params(data, form, "all_good", np.random.RandomState(0))
    mu0, sigma0, _ = oracle_m_step([1.0] * 4)
    np.testing.assert_allclose(data.state.location, np.nanmean(X, axis=1))
    np.testing.assert_allclose(data.state.location, mu0)
    np.testing.assert_allclose(params.sigma, sigma0)
    assert params.pi == 0.5


def test_one_e_step_and_one_m_step_match_the_formulas():
    """fit(max_iter=1) is init, E-step, M-step, then the final E-step.

    ``mu_``, the consensus, and so the plain normal form's ``location_``, are
    taken at the final E-step's weights, as ``transform`` gives them (issue
    20); the M-step's mu shows in those weights.
    """
    mu0, sigma0, _ = oracle_m_step([1.0] * 4)
    w1, _ = oracle_e_step(mu0, sigma0, 0.5)
    mu1, sigma1, pi1 = oracle_m_step(w1)
    w2, log_likelihood1 = oracle_e_step(mu1, sigma1, pi1)
    consensus2 = oracle_m_step(w2)[0]

    em = AnnotatorEM(
        **LECTURE, init="all_good", score_range=(LOW, HIGH), max_iter=1, tol=0
    )
    with pytest.warns(Warning, match="did not converge"):
        em.fit(X)

    # After one E-step the random annotator is already the least trusted.
    assert w1[2] < 0.05 < 0.7 < w1[[0, 1, 3]].min()
    np.testing.assert_allclose(em.mu_, consensus2, rtol=1e-12)
    np.testing.assert_array_equal(em.location_, em.mu_)
    assert em.sigma_ == pytest.approx(sigma1, rel=1e-12)
    assert em.pi_ == pytest.approx(pi1, rel=1e-12)
    np.testing.assert_allclose(em.weights_, w2, rtol=1e-9, atol=1e-300)
    assert em.log_likelihood_ == pytest.approx(log_likelihood1, rel=1e-12)
    np.testing.assert_allclose(em.log_likelihoods_, [log_likelihood1])


def test_hard_em_step_thresholds_the_posterior():
    mu0, sigma0, _ = oracle_m_step([1.0] * 4)
    w1, _ = oracle_e_step(mu0, sigma0, 0.5)
    z1 = (w1 >= 0.5).astype(float)
    mu1, sigma1, pi1 = oracle_m_step(z1)

    em = HardAnnotatorEM(
        **LECTURE, init="all_good", score_range=(LOW, HIGH), max_iter=1, tol=0
    )
    with pytest.warns(Warning, match="did not converge"):
        em.fit(X)

    np.testing.assert_array_equal(z1, [1.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(em.mu_, mu1, rtol=1e-12)
    assert em.sigma_ == pytest.approx(sigma1, rel=1e-12)
    assert em.pi_ == pytest.approx(pi1)

    # Classification log-likelihood at (z2, theta1), computed by hand.
    w2, _ = oracle_e_step(mu1, sigma1, pi1)
    z2 = w2 >= 0.5
    expected = 0.0
    for a in range(4):
        rated = [i for i in range(4) if observed(i, a)]
        if z2[a]:
            expected += math.log(pi1) + sum(
                math.log(normal_pdf(X[i, a], mu1[i], sigma1)) for i in rated
            )
        else:
            expected += math.log(1 - pi1) + len(rated) * math.log(1 / (HIGH - LOW))
    assert em.log_likelihood_ == pytest.approx(expected, rel=1e-12)
