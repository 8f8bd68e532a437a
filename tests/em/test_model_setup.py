"""Tests of skem._em.model_setup: the estimator's parameters into a model form."""

import numpy as np
import pytest

from skem import AnnotatorEM
from skem._em.parameters import _AUTO_TAILS
from skem._em.score_range import _ScoreScale
from skem.datasets import make_ratings
from tests._helpers import SIGMA_AT_ITS_FLOOR


@pytest.mark.parametrize("tail", [None, 1.0, 32.0])
def test_a_given_tail_is_the_only_candidate(tail):
    em = AnnotatorEM(bounded=False, tail=tail)
    assert em._tail_candidates(warm=False) == (tail,)
    assert em._tail_candidates(warm=True) == (tail,)


def test_tail_auto_tries_the_grid_cold_and_its_choice_warm():
    """Cold: the normal first (a tie keeps the lighter tail), then ever
    heavier tails down to the Cauchy. Warm: the tail the last fit chose from
    the grid; the grid again if the last fit's tail was given, not chosen."""
    em = AnnotatorEM(bounded=False, tail="auto")
    assert em._tail_candidates(warm=False) == _AUTO_TAILS
    assert _AUTO_TAILS[0] is None
    assert list(_AUTO_TAILS[1:]) == sorted(_AUTO_TAILS[1:], reverse=True)
    assert _AUTO_TAILS[-1] == 1.0
    em.tail_, em._tail_chosen = 4.0, True
    assert em._tail_candidates(warm=True) == (4.0,)
    em._tail_chosen = False
    assert em._tail_candidates(warm=True) == _AUTO_TAILS


def test_a_fit_is_warm_unless_tail_auto_searches_again_or_the_scale_or_tail_changed():
    em = AnnotatorEM(bounded=False, tail="auto", warm_start=True)
    assert not em._is_warm_fit()  # not fitted
    em.converged_, em.tail_, em._tail_chosen = True, 2.0, True
    em._score_scale = _ScoreScale(1.0, 5.0)
    assert em._is_warm_fit()
    em._tail_chosen = False
    assert not em._is_warm_fit()
    assert AnnotatorEM(bounded=False, tail=2.0, warm_start=True)._is_warm_fit() is False
    numeric = AnnotatorEM(bounded=False, tail=2.0, warm_start=True)
    numeric.converged_, numeric._score_scale = True, _ScoreScale(1.0, 5.0)
    numeric.tail_ = 2.0
    assert numeric._is_warm_fit()
    # A t's scale is no start for another tail, nor for the normal.
    for other in (4.0, None):
        numeric.tail = other
        assert not numeric._is_warm_fit()
    numeric.tail = 2.0
    # Sigmas and biases on the logarithms are no start for a linear fit.
    numeric._score_scale = _ScoreScale(1.0, 5.0, log=True)
    assert not numeric._is_warm_fit()
    assert numeric.set_params(score_scale="log")._is_warm_fit()


@pytest.mark.parametrize("tail", [None, 2.0])
def test_the_form_has_the_tail_it_is_given(tail):
    """The plain form's t has the tail passed, not the parameter's 'auto';
    the bounded forms have none."""
    em = AnnotatorEM(bounded=False, tail="auto")
    scale = AnnotatorEM().fit([[1.0, 2.0], [2.0, 2.5], [3.0, 3.5]])._score_scale
    assert em._form(1e-3, scale, tail).tail_df == tail
    assert AnnotatorEM()._form(1e-3, scale, None).tail_df is None


def test_the_forms_of_a_fit_are_one_per_tail_it_tries():
    scale = AnnotatorEM().fit([[1.0, 2.0], [2.0, 2.5], [3.0, 3.5]])._score_scale
    auto = AnnotatorEM(bounded=False, tail="auto")._forms(scale, warm=False)
    assert tuple(form.tail_df for form in auto) == _AUTO_TAILS
    assert {form.likelihood for form in auto} == {"normal", "student_t"}
    (form,) = AnnotatorEM(bounded=False, tail=3.0)._forms(scale, warm=False)
    assert form.tail_df == 3.0 and form.min_sigma == 1e-3


@SIGMA_AT_ITS_FLOOR
def test_a_warm_start_after_another_tail_is_the_cold_fit():
    """A reviewer's finding: on whole-number ratings a t fit's scales fall to
    their floor, and a warm start of the normal from them ended at -606
    against the cold fit's -177, with nobody judged."""
    X = np.round(
        make_ratings(60, 8, missing_fraction=0.3, random_state=0, score_range=(1, 10))
    )
    cold = AnnotatorEM(bounded=False).fit(X)
    for tail in (4.0, "auto"):
        warm = AnnotatorEM(bounded=False, tail=tail, warm_start=True).fit(X)
        warm.set_params(tail=None).fit(X)
        np.testing.assert_allclose(warm.log_likelihood_, cold.log_likelihood_)
        np.testing.assert_allclose(warm.mu_, cold.mu_)
