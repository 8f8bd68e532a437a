"""Warm starts: each run resumes where it ended."""

import numpy as np
import pytest

from skem._em.backend import _Block
from skem._em.warm import _clip_warm_params, _kernel_set_locations
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
