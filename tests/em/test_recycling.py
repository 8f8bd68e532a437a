"""Per-rating arrays are recycled within a fit only when nothing holds them."""

import threading
import weakref
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from skem._em import recycling
from skem._em.recycling import _empty, _recycling
from skem.datasets import make_ratings
from tests._helpers import ESTIMATORS, FORMS, _budget, _fit_quietly, _judgeable

# Recycle arrays of every length, as a fit of millions of ratings does.
_EVERY_LENGTH = mock.patch.object(recycling, "_MIN_RECYCLED", 1)


@pytest.fixture
def every_length():
    with _EVERY_LENGTH:
        yield


def test_empty_outside_a_fit_keeps_nothing(every_length):
    """Without _recycling, _empty is np.empty: a dropped array is freed."""
    array = _empty(5)
    assert array.shape == (5,) and array.dtype == np.float64
    reference = weakref.ref(array)
    del array
    assert reference() is None
    assert getattr(recycling._local, "pool", None) is None


def test_a_free_array_is_handed_out_again(every_length):
    """An array that nothing references is recycled, for the same length only."""
    with _recycling():
        first = _empty(5)
        first_id = id(first)
        del first
        other_length = _empty(6)
        assert id(other_length) != first_id
        again = _empty(5)
        assert id(again) == first_id


def test_an_array_in_use_is_never_handed_out(every_length):
    """An array held by a variable, a container or a view of it stays its
    holder's: each _empty then gives memory that no one else sees."""
    with _recycling():
        held = _empty(8)
        in_a_dict = {"terms": _empty(8)}
        view = _empty(8)[2:5]
        fresh = _empty(8)
        for other in (held, in_a_dict["terms"], view):
            assert not np.shares_memory(fresh, other)
        del held
        assert not np.shares_memory(_empty(8), in_a_dict["terms"])


def test_short_arrays_are_not_recycled():
    """Below _MIN_RECYCLED values malloc's own reuse is left to do its work."""
    with _recycling():
        _empty(4)
        assert recycling._local.pool == []


def test_nested_fits_share_one_pool_dropped_at_the_end(every_length):
    """A nested _recycling uses the outer pool; the outermost end drops it."""
    with _recycling():
        pool = recycling._local.pool
        with _recycling():
            assert recycling._local.pool is pool
            _empty(3)
        assert recycling._local.pool is pool and len(pool) == 1
    assert recycling._local.pool is None


def test_another_thread_does_not_recycle(every_length):
    """The pool is the fit's thread's: a thread of its own gets new arrays."""
    seen = []
    with _recycling():
        free = _empty(7)
        free_id = id(free)
        del free
        thread = threading.Thread(target=lambda: seen.append(id(_empty(7))))
        thread.start()
        thread.join()
    assert seen and seen[0] != free_id


def test_a_fit_recycles_the_terms_it_replaces(every_length):
    """A default fit hands out again the terms that its steps replaced: far
    fewer arrays than it asks for."""
    handed_out = []

    def spy(n_values):
        array = _empty(n_values)
        handed_out.append(id(array))
        return array

    X = make_ratings(40, 6, bad_fraction=0.3, random_state=0)
    with mock.patch("skem._model.likelihoods._empty", spy):
        _fit_quietly(ESTIMATORS[0](), X)
    assert len(handed_out) > 3 * len(set(handed_out))


_FITTED = ("mu_", "weights_", "sigma_", "pi_", "log_likelihood_", "n_iter_")


@settings(max_examples=_budget(30), deadline=None)
@given(
    estimator=st.sampled_from(ESTIMATORS),
    form=st.sampled_from(FORMS),
    levels=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    bad_fraction=st.sampled_from([0.0, 0.3, 0.5]),
)
def test_recycled_arrays_leave_every_fit_bitwise_the_same(
    estimator, form, levels, seed, bad_fraction
):
    """Property: a fit whose every per-rating array may be recycled is
    bitwise the fit with new arrays, for every form, soft and hard, on exact
    scores and on levels. A recycled array still in use by a step, a run the
    race keeps or a trial, would change some number."""
    X = make_ratings(
        30,
        6,
        bad_fraction=bad_fraction,
        sigma=0.1,
        missing_fraction=0.3,
        score_range=(1.0, 5.0),
        random_state=seed,
    )
    if levels:
        X = np.round(X)
    assume(_judgeable(X))
    expected = _fit_quietly(estimator(**form), X)
    with _EVERY_LENGTH:
        recycled = _fit_quietly(estimator(**form), X)
    for name in _FITTED:
        np.testing.assert_array_equal(getattr(recycled, name), getattr(expected, name))
