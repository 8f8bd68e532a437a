"""Warm starts: each run resumes where it ended."""

import numpy as np
import pandas as pd
import pytest

from skem._em.backend import _Block
from skem._em.warm import (
    _check_same_annotators,
    _clip_warm_params,
    _kernel_set_locations,
)
from skem._model.form import _model_form, _Params
from tests._helpers import _random_ratings


@pytest.mark.parametrize("noise", ["shared", "per_annotator"])
@pytest.mark.parametrize("bias", [False, True])
def test_clip_warm_params_keeps_sigma_in_range_and_fits_the_form(noise, bias):
    form = _model_form(True, noise, bias, 200.0, 1e-3)
    previous = _Params(
        np.array([0.1, -0.2, 0.3]), np.array([1e-6, 0.2, 50.0]), 1e3, 0.7
    )
    params = _clip_warm_params(previous, form)
    if noise == "shared":
        geometric = np.exp(np.mean(np.log([1e-3, 0.2, 1.0])))
        np.testing.assert_allclose(params.sigma, np.full(3, geometric))
    else:
        np.testing.assert_array_equal(params.sigma, [1e-3, 0.2, 1.0])
    np.testing.assert_array_equal(params.bias, previous.bias if bias else np.zeros(3))
    assert params.shared_sigma == 1.0 and params.pi == 0.7
    assert previous.sigma[0] == 1e-6  # the previous fit's are not changed


def test_kernel_set_locations_copies_them_and_drops_the_terms():
    rng = np.random.default_rng(0)
    block = _Block(_random_ratings(rng, 4, 3, 9), None, np.zeros(4), terms={"x": 1})
    location = np.array([0.1, 0.2, 0.3, 0.4])
    moved, outputs = _kernel_set_locations(block, location)
    np.testing.assert_array_equal(moved.location, location)
    assert moved.location is not location and outputs == {}
    assert moved.terms is None and moved.sums is None and moved.trial is None


def test_check_same_annotators_names_the_first_column_that_differs():
    names = np.array(["a", "b", "c"], dtype=object)
    _check_same_annotators(names, names.copy())
    _check_same_annotators(None, names)  # no names to compare with
    _check_same_annotators(names, None)
    with pytest.raises(ValueError, match="column 1 of X is 'c', where the previous"):
        _check_same_annotators(names, np.array(["a", "c", "b"], dtype=object))


def test_a_warm_refit_with_reordered_named_columns_is_refused_and_changes_nothing():
    """Fuzzing finding: only the shape was checked, so each annotator of a
    DataFrame with its columns reordered or renamed resumed from another's
    parameters (annotator 'a' then ended at other verdicts than a cold fit)."""
    from skem import AnnotatorEM
    from skem.datasets import make_ratings

    X = make_ratings(30, 6, bad_fraction=0.5, score_range=(1, 5), random_state=62)
    frame = pd.DataFrame(np.round(X), columns=list("abcdef"))
    em = AnnotatorEM(warm_start=True).fit(frame)
    before = em.weights_.copy()
    for columns in (list("fedcba"), list("abcdeg")):
        moved = (
            frame[list("fedcba")]
            if columns[0] == "f"
            else frame.set_axis(columns, axis=1)
        )
        with pytest.raises(ValueError, match="same annotators as the previous fit"):
            em.fit(moved)
        np.testing.assert_array_equal(em.weights_, before)
        assert list(em.feature_names_in_) == list("abcdef")
    em.fit(frame)  # the same columns resume
