"""The E-steps: the posterior, the M-step's weights and the objective."""

import numpy as np
import pytest

from skem._em.e_step import _assign_good_annotators, _e_step


def test_assign_good_annotators_makes_all_tied_best_annotators_good():
    log_good = np.array([-3.0, -3.0, -5.0])
    log_bad = np.zeros(3)
    good = _assign_good_annotators(log_good, log_bad, np.ones(3, bool))
    np.testing.assert_array_equal(good, [True, True, False])


def test_assign_good_annotators_keeps_one_rated_annotator_good():
    log_good = np.array([-10.0, -3.0, 0.0])
    log_bad = np.array([-1.0, -2.0, 1.0])
    rated = np.array([True, True, False])
    good = _assign_good_annotators(log_good, log_bad, rated)
    # Nobody qualifies; annotator 1 has the best log-odds among the rated.
    np.testing.assert_array_equal(good, [False, True, False])
    good = _assign_good_annotators(log_good, log_bad - 20, rated)
    np.testing.assert_array_equal(good, [True, True, True])


@pytest.mark.parametrize("em", ["soft", "hard"])
def test_e_step_presumes_good_the_annotators_outside_the_mixture(em):
    """Annotators 0-1 are in the mixture, 2 is outside it, 3 has no ratings:
    the objective is the mixture's terms plus annotator 2's good log
    density; the M-step weighs 2 at 1; soft EM still reports its posterior,
    hard EM its flag in the fit, good."""
    log_pi, log_not_pi = np.log(0.8), np.log(0.2)
    log_density = np.array([-1.0, -9.0, -6.0, 0.0])
    log_bad = log_not_pi + np.array([-3.0, -3.0, -2.0, 0.0])
    log_good = log_pi + log_density
    in_mixture = np.array([True, True, False, False])
    rated = np.array([True, True, True, False])
    got = _e_step(em, log_good, log_bad, log_density, in_mixture, rated)
    if em == "soft":
        mixture = np.logaddexp(log_good[:2], log_bad[:2]).sum()
    else:
        mixture = log_good[0] + log_bad[1]
    assert got["objective"] == pytest.approx(mixture + log_density[2], rel=1e-14)
    posterior = np.exp(log_good - np.logaddexp(log_good, log_bad))
    np.testing.assert_allclose(got["log_posterior"], np.log(posterior), rtol=1e-14)
    expected = posterior if em == "soft" else (posterior >= 0.5).astype(float)
    assert posterior[2] < 0.5
    if em == "hard":
        expected[2] = 1.0
    np.testing.assert_allclose(got["weights"], expected, rtol=1e-14)
    assert got["responsibility"][2] == 1.0
    assert got["log_responsibility"][2] == 0.0
    np.testing.assert_array_equal(got["responsibility"][[0, 1, 3]], expected[[0, 1, 3]])
