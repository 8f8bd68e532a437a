"""Whether ratings lie on evenly spaced levels: the step, the distinct levels."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import skem._em.lattice as lattice_module
from skem._em.lattice import (
    _AMONG_CHUNK,
    _MAX_LEVELS,
    _all_among,
    _distinct_levels,
    _lattice_step,
)


def test_lattice_step_finds_evenly_spaced_levels():
    assert _lattice_step(np.array([1.0, 3.0, 5.0, 2.0])) == 1.0
    assert _lattice_step(np.array([0.0, 0.25, 1.0])) == 0.25
    assert _lattice_step(np.array([0.0, 0.3, 1.0])) == 0.0
    assert _lattice_step(np.arange(5000.0)) == 0.0  # too many levels


@pytest.mark.parametrize("scale", [1.0, 0.1, 1e-6])
def test_lattice_step_allows_max_levels_counted_as_levels(scale):
    """A user's finding: ratings on 1,002 levels (0 and 1,001, the rest in
    between) were read as levels, though at most ``_MAX_LEVELS`` = 1,001 are:
    the span over the step counts the levels less one."""
    most = np.array([0.0, _MAX_LEVELS - 1.0, 1.0, 500.0]) * scale
    assert _lattice_step(most) == pytest.approx(scale)
    assert _lattice_step(np.array([0.0, float(_MAX_LEVELS), 1.0, 500.0]) * scale) == 0
    # A reviewer's finding: a step that underflows made round() overflow.
    assert _lattice_step(np.array([0.0, 5e-324, 1.0])) == 0


@pytest.mark.parametrize(
    "scores",
    [
        np.arange(40_000.0) % 7,  # levels throughout
        np.arange(40_000.0) % _MAX_LEVELS,  # exactly as many as allowed
        np.arange(40_000.0) % (_MAX_LEVELS + 1),  # one too many, seen early
        np.r_[np.arange(30_000.0) % 5, np.linspace(0, 1, 2_000)],  # seen late
        np.r_[np.arange(30_000.0) % 5, [5.0, 2.5, -1e300]],  # levels seen late
        np.linspace(0, 1, 40_000),  # continuous
        np.arange(300.0) / 7,  # shorter than the head
    ],
)
def test_distinct_levels_is_np_unique_when_at_most_max_levels(scores):
    unique = np.unique(scores)
    expected = unique if unique.shape[0] <= _MAX_LEVELS else None
    levels = _distinct_levels(scores)
    if expected is None:
        assert levels is None
    else:
        np.testing.assert_array_equal(levels, expected)


@pytest.mark.parametrize(
    "scores, values, expected",
    [
        ([3.0, 1.0, 1.0, 3.0], [1.0, 2.0, 3.0], True),
        ([0.1, 0.3, 0.2], [0.1, 0.2, 0.3], True),  # rounded steps
        ([1.0, 2.5], [1.0, 2.0, 3.0], False),  # between the values
        ([1.0, 4.0], [1.0, 2.0, 3.0], False),  # beyond them
        ([1.0, -1e300, 1e300], [1.0, 2.0], False),  # far beyond: no overflow
        ([-1e308, 1.7e308], [-1e308, -9.99e307], False),  # nor a warning
        ([1.0], [-1.7e308, 1.7e308], False),  # a span beyond doubles
        ([1.0, 1.0 + 1e-9], [1.0, 1.0 + 1e-9, 3.0], False),  # too many slots
        ([2.0, 2.0], [2.0], True),
        ([2.0, 3.0], [2.0], False),
    ],
)
def test_all_among_says_whether_every_score_is_one_of_the_values(
    scores, values, expected
):
    assert _all_among(np.array(scores), np.array(values)) is expected


@pytest.mark.parametrize("odd", [None, 2.5, 0.0, 6.0, -1e308])
def test_all_among_finds_an_odd_score_in_any_chunk(odd):
    """A score between the values, or a step beyond either end, in a later chunk."""
    values = np.arange(1.0, 6.0)
    scores = np.random.default_rng(0).choice(values, 3 * _AMONG_CHUNK + 7)
    if odd is not None:
        scores[2 * _AMONG_CHUNK + 3] = odd
    assert _all_among(scores, values) is (odd is None)


@given(
    present=st.sets(st.integers(0, 30), min_size=1, max_size=12),
    step=st.floats(1e-6, 1e6),
    offset=st.sampled_from([0.0, -3.5, 37.86, 1e9, -1e15, 2.0**60]),
    picks=st.lists(st.integers(0, 11), min_size=1, max_size=60),
    nudge=st.sampled_from([None, "up", "down", "between", "beyond"]),
    chunk=st.sampled_from([1, 7, _AMONG_CHUNK]),
)
def test_all_among_is_membership_to_the_last_bit_on_a_lattice(
    present, step, offset, picks, nudge, chunk
):
    """Values on an affine lattice, with gaps; the scores among them, or one
    of them a bit off, between two values or beyond the ends: True exactly
    when every score is one of the values, whatever the offset's magnitude
    in steps and the chunking."""
    values = np.unique(offset + step * np.array(sorted(present), dtype=float))
    scores = values[np.array(picks) % values.shape[0]]
    if nudge is not None:
        i = len(picks) // 2
        scores[i] = {
            "up": np.nextafter(scores[i], np.inf),
            "down": np.nextafter(scores[i], -np.inf),
            "between": scores[i] + 0.5 * step,
            "beyond": values[-1] + step,
        }[nudge]
    expected = bool(np.isin(scores, values).all())
    with mock.patch.object(lattice_module, "_AMONG_CHUNK", chunk):
        assert _all_among(scores, values) is expected


@given(
    values=st.lists(
        st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True),
        min_size=1,
        max_size=8,
        unique=True,
    ),
    picks=st.lists(st.integers(0, 7), min_size=0, max_size=20),
    stray=st.floats(allow_nan=False, allow_infinity=False),
)
def test_all_among_never_says_true_of_a_score_that_is_not_a_value(values, picks, stray):
    """Any distinct values, even unevenly spaced or subnormal, and scores
    among them with perhaps one stray: True only if every score is a value,
    without a warning (warnings are errors in the suite)."""
    values = np.unique(np.array(values))
    scores = np.r_[values[np.array(picks, dtype=int) % values.shape[0]], stray]
    if _all_among(scores, values):
        assert np.isin(scores, values).all()


@pytest.mark.parametrize(
    "scores, values",
    [
        ([2.5, 0.0, 4.0], [0.0, 1.0, 2.5, 4.0]),  # a value half a step off
        ([0.0, 5e-324, 5e-324], [0.0, 5e-324]),  # a subnormal step
        ([1.63e49, -3.5], [-3.5, 1.63e49, 2.71e49]),
    ],
)
def test_all_among_finds_scores_among_values_off_a_lattice(scores, values):
    """Review findings: a score equal to a value falls in that value's slot."""
    assert _all_among(np.array(scores), np.array(values))
