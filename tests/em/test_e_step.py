"""The hard E-step."""

import numpy as np

from skem._em.e_step import _assign_good_annotators


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
