"""The score range: resolved, evenly spaced levels, and ratings checked against it."""

import numpy as np
import pytest

from skem._em.ratings import _ratings_from_matrix
from skem._em.score_range import (
    _check_ratings_in_range,
    _lattice_step,
    _resolve_score_range,
)
from tests._helpers import (
    SMALL_X as X,
)


def _range(score_range, scores):
    scale = _resolve_score_range(score_range, np.asarray(scores, dtype=float))
    return scale.low, scale.high


def test_resolve_score_range():
    scores = _ratings_from_matrix(X).score
    # Integers 0..5 lie on a lattice of step 1: half a step on each side.
    assert _range("auto", scores) == (-0.5, 5.5)
    assert _range("auto", scores * 1e-6) == pytest.approx((-0.5e-6, 5.5e-6))
    assert _range("auto", [0.1, 0.25, 0.71]) == (0.1, 0.71)
    assert _range((0, 10), scores) == (0.0, 10.0)
    # All equal: padded relative to the value.
    assert _range("auto", [3.0, 3.0]) == (1.5, 4.5)
    assert _range("auto", [3e-6]) == pytest.approx((1.5e-6, 4.5e-6))
    assert _range("auto", [0.0]) == (-0.5, 0.5)
    with pytest.raises(ValueError, match="low < high"):
        _resolve_score_range((5, 1), scores)
    with pytest.raises(ValueError, match="two finite numbers"):
        _resolve_score_range((0, np.inf), scores)
    with pytest.raises(ValueError, match="two finite numbers"):
        _resolve_score_range({"lo": 1}, scores)
    with pytest.raises(ValueError, match="too wide"):
        _resolve_score_range((-1e308, 1e308), scores)


def test_lattice_step_finds_evenly_spaced_levels():
    assert _lattice_step(np.array([1.0, 3.0, 5.0, 2.0])) == 1.0
    assert _lattice_step(np.array([0.0, 0.25, 1.0])) == 0.25
    assert _lattice_step(np.array([0.0, 0.3, 1.0])) == 0.0
    assert _lattice_step(np.arange(5000.0)) == 0.0  # too many levels


def test_check_ratings_in_range_names_the_offending_rating(ratings):
    scale = _resolve_score_range((0.5, 4.5), np.array([1.0]))
    with pytest.raises(
        ValueError, match=r"2 rating\(s\) outside.*e\.g\. 5 in row 1, column 2"
    ):
        _check_ratings_in_range(ratings, scale)
