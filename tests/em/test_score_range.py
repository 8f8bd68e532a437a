"""The score range: resolved, evenly spaced levels, and ratings checked against it."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from skem import AnnotatorEM
from skem._em.backend import _Block
from skem._em.ratings import _ratings_from_matrix
from skem._em.score_range import (
    _all_whole,
    _check_among_levels,
    _check_positive,
    _check_ratings_in_range,
    _format_score,
    _resolve_log_score_range,
    _resolve_score_range,
    _ScoreScale,
    _sum_log_scores,
)
from tests._helpers import (
    SIGMA_AT_ITS_FLOOR,
)
from tests._helpers import (
    SMALL_X as X,
)

# Exact scores in (0, 1), on no lattice.
SMALL_UNIT = np.random.default_rng(0).uniform(0.05, 0.95, (3, 3))


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
    # A reviewer's finding: a nested pair was flattened into a range.
    for nested in ([[0, 1]], [[0], [1]]):
        with pytest.raises(ValueError, match="two finite numbers"):
            _resolve_score_range(nested, scores)
    with pytest.raises(ValueError, match="too wide"):
        _resolve_score_range((-1e308, 1e308), scores)


def test_check_ratings_in_range_names_the_offending_rating(ratings):
    scale = _resolve_score_range((0.5, 4.5), np.array([1.0]))
    with pytest.raises(
        ValueError, match=r"2 rating\(s\) outside.*e\.g\. 5\.0 in row 1, column 2"
    ):
        _check_ratings_in_range(ratings, scale)


def test_a_rating_just_off_the_levels_is_shown_with_every_digit():
    """Fuzzing finding: 1.000001 showed as "e.g. 1", which looks on a level."""
    with pytest.raises(ValueError, match=r"e\.g\. 1\.000001\. Give levels"):
        _check_among_levels(np.array([2.0, 1.000001]), np.arange(1.0, 6.0))


def test_format_score_is_short_where_exact_and_whole_where_not():
    assert [_format_score(v) for v in (0.0, 1.0, 2.5, -7.0, 1e300)] == [
        "0",
        "1",
        "2.5",
        "-7",
        "1e+300",
    ]
    for value in (37.860005, 1.0000001, 0.1 + 0.2, 5e-324):
        assert float(_format_score(value)) == value


def test_errors_on_an_offset_lattice_show_ends_that_differ():
    """Fuzzing finding: ``:g`` printed every level and end of 37.86 + 1e-6 k
    as 37.86 ("the levels 37.86 to 37.86"), and a gold score of 1.0000001
    outside (0, 1) as "e.g. 1"."""
    X = 37.86 + 1e-6 * np.array([[0, 1, 2], [1, 2, 3], [2, 3, 4], [0, 2, 6.0]])
    with pytest.raises(ValueError, match=r"levels 37\.86 to 37\.860005 reach"):
        AnnotatorEM(score_range=(37.86, 37.860005)).fit(X)
    with pytest.raises(ValueError, match=r"outer levels 37\.86 and 37\.860006"):
        AnnotatorEM().fit(X, gold=[37.8599999, np.nan, np.nan, np.nan])
    with pytest.raises(ValueError, match=r"\(37\.86 to 37\.860006 in steps of 2e-06\)"):
        AnnotatorEM(levels=37.86 + 2e-6 * np.arange(4)).fit(X)
    with pytest.raises(ValueError, match=r"score_range=\(0, 1\), e\.g\. 1\.0000001\."):
        AnnotatorEM(score_range=(0, 1)).fit(
            SMALL_UNIT, gold=[1.0000001, np.nan, np.nan]
        )


# ------------------------------------------------------------------ levels
def _levels(score_range, scores, levels="auto"):
    scale = _resolve_score_range(
        score_range, np.asarray(scores, dtype=float), levels=levels
    )
    return (scale.low, scale.high), scale.levels


def test_auto_levels_span_the_ratings_and_their_cells():
    assert _levels("auto", [1, 2, 5]) == ((0.5, 5.5), (1.0, 5.0))
    # Off a lattice, or levels=None: exact scores (the range is as in 0.5).
    assert _levels("auto", [0.1, 0.25, 0.71]) == ((0.1, 0.71), None)
    assert _levels("auto", [1, 2, 5], levels=None) == ((0.5, 5.5), None)
    assert _levels("auto", [3.0, 3.0]) == ((1.5, 4.5), None)


def test_a_stated_range_names_the_outer_levels_or_the_ends_of_their_cells():
    """(1, 5) and (0.5, 5.5) on ratings 1..5 give the scale of 'auto'; a stated
    range wider than the ratings adds the levels nobody used, also between
    the ones used (whole-number ratings on a stated scale are its
    whole-number levels); ends off the ratings' lattice leave them exact."""
    auto = _levels("auto", [1, 2, 3, 4, 5])
    assert _levels((1, 5), [1, 2, 3, 4, 5]) == auto
    assert _levels((0.5, 5.5), [1, 2, 3, 4, 5]) == auto
    assert _levels((1, 5), [2, 3, 4]) == auto
    for used in ([1, 5], [1, 3, 5], [3, 3]):
        assert _levels((1, 5), used) == auto
        assert _levels((0.5, 5.5), used) == auto
    assert _levels((0, 10), [2, 4, 6]) == ((-0.5, 10.5), (0.0, 10.0))
    assert _levels((0, 1), [0.0, 0.5, 1.0]) == ((-0.25, 1.25), (0.0, 1.0))
    assert _levels((1, 5.3), [1, 2, 3]) == ((1.0, 5.3), None)
    assert _levels((1, 5), [1.0, 1.5, 2.7]) == ((1.0, 5.0), None)


def test_a_stated_range_of_the_ratings_own_cells_or_too_many_whole_levels():
    """Fuzzing finding: whole-number ratings were read on a step of 1 whatever
    the stated ends. The ends of the cells of the ratings' own spacing now
    give the scale of 'auto' (ratings in tens on (-5, 105), 2..10 in twos on
    (1, 11)); ends that would make too many whole-number levels are the outer
    levels of the ratings' own spacing (0..8000 in 2000s, which were read as
    exact scores); whole-number ends stay the whole-number levels."""
    tens = list(range(0, 101, 10))
    assert _levels((-5, 105), tens) == _levels("auto", tens)
    assert _levels((-5, 105), tens) == ((-5.0, 105.0), (0.0, 100.0))
    assert _levels((1, 11), [2, 4, 6, 8, 10]) == _levels("auto", [2, 4, 6, 8, 10])
    thousands = [0, 2000, 4000, 6000, 8000]
    assert _levels((0, 8000), thousands) == _levels("auto", thousands)
    assert _levels((0, 100), tens) == ((-0.5, 100.5), (0.0, 100.0))


def test_levels_of_an_affine_image_are_the_image_of_the_levels():
    """The lattice test keeps its affine invariance on levels."""
    scores = np.array([1.0, 2.0, 3.0, 5.0])
    for a, b in [(1e-6, 37.86), (250.0, -3.0), (-2.0, 1.0)]:
        (low, high), levels = _levels("auto", a * scores + b)
        ends = sorted([a * 1.0 + b, a * 5.0 + b])
        assert levels == pytest.approx(ends, rel=1e-12)
        assert (low, high) == pytest.approx(
            (ends[0] - abs(a) / 2, ends[1] + abs(a) / 2), rel=1e-12
        )


@pytest.mark.parametrize("step", [1e-300, 4.940656e-319])
def test_levels_finer_than_the_ratings_resolution_are_a_value_error_alone(step):
    """A fuzzing helper's finding: levels 1e-300 apart (or subnormal) gave the
    right ValueError, but after RuntimeWarnings of overflow on the way."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="not among the levels"):
            _resolve_score_range(
                "auto", np.array([0.25, 0.5]), [0.0, step, 2 * step, 3 * step]
            )


def test_explicit_levels_fix_the_scale_and_must_hold_every_rating():
    scale = _resolve_score_range("auto", np.array([2.0, 3.0]), [1, 2, 3, 4, 5])
    assert (scale.low, scale.high, scale.levels) == (0.5, 5.5, (1.0, 5.0))
    np.testing.assert_array_equal(scale.level_values(), [1, 2, 3, 4, 5])
    assert scale.unit_half_step == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"not among the levels.*e\.g\. 2\.5"):
        _resolve_score_range("auto", np.array([1.0, 2.5]), [1, 2, 3])
    with pytest.raises(ValueError, match=r"not among the levels.*e\.g\. 6"):
        _resolve_score_range("auto", np.array([1.0, 6.0]), [1, 2, 3])
    with pytest.raises(ValueError, match="evenly spaced"):
        _resolve_score_range("auto", np.array([1.0]), [1, 2, 4])
    with pytest.raises(ValueError, match="at least two"):
        _resolve_score_range("auto", np.array([1.0]), [1])
    with pytest.raises(ValueError, match="Give the scale once"):
        _resolve_score_range((1, 5), np.array([1.0]), [1, 2, 3, 4, 5])


def test_gold_keeps_the_levels_and_must_lie_within_their_cells():
    """Review finding: gold scores rebuilt the scale without its levels, so a
    fit with gold silently read exact scores. On levels the cells must cover
    the range exactly (a random rater's 1 / K), so gold beyond the outer cells
    is an error rather than a wider range. A bounded form's consensus lies
    between the outer levels: gold in an outer half-cell, which it would clip
    (a fuzzing helper's finding), is an error there too."""
    from skem._em.validation import _scale_for_gold

    scale = _resolve_score_range("auto", np.array([1.0, 2.0, 5.0]), "auto")
    ratings = np.array([1.0, 5.0])
    assert _scale_for_gold(scale, np.array([3.0, 5.5]), "auto", ratings, False) == (
        scale
    )
    assert _scale_for_gold(scale, np.array([1.0, 5.0]), "auto", ratings, True) == (
        scale
    )
    levels = r"beyond the outer levels 1 and 5, e.g. 5.5: a bounded form's"
    with pytest.raises(ValueError, match=levels):
        _scale_for_gold(scale, np.array([3.0, 5.5]), "auto", ratings, True)
    # The example is written as the levels are: 21, not 21.0.
    tens = _resolve_score_range("auto", np.array([0.0, 10.0, 20.0]), "auto")
    with pytest.raises(ValueError, match=r"levels 0 and 20, e\.g\. 21: a bounded"):
        _scale_for_gold(tens, np.array([21.0]), "auto", np.array([0.0, 20.0]), True)
    cells = r"outside score_range: the cells of the levels 1 to 5 reach \(0.5, 5.5\)"
    for bounded in (False, True):
        with pytest.raises(ValueError, match=cells):
            _scale_for_gold(scale, np.array([6.0]), "auto", ratings, bounded)
    exact = _resolve_score_range("auto", np.array([0.1, 0.25, 0.71]), "auto")
    for bounded in (False, True):
        widened = _scale_for_gold(
            exact, np.array([0.9]), "auto", np.array([0.1, 0.5]), bounded
        )
        assert widened.high == 0.9


def test_a_bounded_fit_on_levels_refuses_gold_it_would_clip():
    """Gold 5.4 on 1..5 levels came out as mu_ 5.0, not as the known score."""
    from skem import AnnotatorEM
    from skem.datasets import make_ratings

    X = np.round(make_ratings(40, 6, random_state=0) * 4) + 1
    gold = np.r_[5.4, np.full(39, np.nan)]
    em = AnnotatorEM(score_range=(1, 5)).fit(X)
    before = em.mu_.copy()
    with pytest.raises(ValueError, match="beyond the outer levels 1 and 5, e.g. 5.4"):
        em.fit(X, gold=gold)
    np.testing.assert_array_equal(em.mu_, before)
    gold[0] = 5.0
    assert AnnotatorEM(score_range=(1, 5)).fit(X, gold=gold).mu_[0] == 5.0


@given(
    low=st.floats(-1e12, 1e12),
    high=st.floats(-1e12, 1e12),
    unit=st.lists(st.floats(0, 1), min_size=1, max_size=20),
)
def test_unit_scores_in_0_1_map_into_the_range_and_its_ends_exactly(low, high, unit):
    """Property: from_unit maps [0, 1] into [low, high], 0 to low and 1 to
    high exactly, although low + (high - low) need not round to high (fuzz
    finding: a bounded fit's mu_ one ulp above score_range_[1])."""
    assume(high - low > 1e-6)
    scale = _ScoreScale(low, high)
    scores = scale.from_unit(np.array(unit))
    assert np.all((scores >= low) & (scores <= high))
    assert scale.from_unit(0.0) == low and scale.from_unit(1.0) == high
    assert isinstance(scale.from_unit(0.5), float)


def test_to_unit_is_the_affine_map_and_leaves_its_input_alone():
    scale = _ScoreScale(1.0, 5.0)
    scores = np.array([1.0, 2.5, 5.0])
    unit = scale.to_unit(scores)
    np.testing.assert_array_equal(unit, (np.array([1.0, 2.5, 5.0]) - 1.0) / 4.0)
    np.testing.assert_array_equal(scores, [1.0, 2.5, 5.0])
    assert scale.to_unit(3.0) == 0.5
    np.testing.assert_array_equal(scale.to_unit([1, 5]), [0.0, 1.0])


def test_a_bounded_consensus_at_an_outer_level_maps_back_onto_it():
    """Fuzz finding: a consensus at the lowest level's unit value came back
    one ulp below the level, outside the scale and its own interval."""
    ratings = np.array([0.0209700182166946, 0.34131932289343153])
    scale = _resolve_score_range("auto", ratings, "auto")
    first, last = scale.levels
    unit = scale.to_unit(np.array([first, last]))
    assert scale.from_unit(unit)[0] < first  # the rounding the clip undoes
    got = scale.consensus_from_unit(unit, bounded=True)
    assert got[0] == first and first < got[1] <= last
    np.testing.assert_array_equal(
        scale.consensus_from_unit(unit - 0.5, bounded=False),
        scale.from_unit(unit - 0.5),
    )


@pytest.mark.parametrize("scale_factor, offset", [(1e-4, 1e9), (1e-8, -3.5e6)])
def test_mu_stays_on_a_scale_far_from_zero(scale_factor, offset):
    """A fuzzing helper's panels with biases on levels far from 0 (1e9 + 1e-4
    to 1e9 + 5e-4): the consensus of an item at an outer level came back one
    rounding step of the end beyond it, more than 1e-12 of the width, and
    left the scale and its own interval."""
    from skem import AnnotatorEM

    n = np.nan
    X = np.array(
        [[2, 1, n], [1, 5, 1], [1, n, n], [n, n, 5], [1, n, n], [1, 1, n]]
        + [[1, n, n], [n, 5, n], [3, 3, 5], [n, n, 3], [n, 1, 5]]
    )
    em = AnnotatorEM(bias=True).fit(X * scale_factor + offset)
    low, high = em.levels_[0], em.levels_[-1]
    assert np.all((low <= em.mu_) & (em.mu_ <= high))
    interval = em.mu_interval()
    assert np.all((interval[:, 0] <= em.mu_) & (em.mu_ <= interval[:, 1]))


def test_mu_stays_on_the_scale_and_in_its_interval_on_levels():
    """The fuzzed 3 x 3 panel of that finding, with bias."""
    from skem import AnnotatorEM

    high, low = 0.34131932289343153, 0.0209700182166946
    X = np.array([[high, np.nan, low], [high, np.nan, np.nan], [high, np.nan, np.nan]])
    em = AnnotatorEM(bias=True).fit(X)
    interval = em.mu_interval()
    assert np.all((em.levels_[0] <= em.mu_) & (em.mu_ <= em.levels_[-1]))
    assert np.all((interval[:, 0] <= em.mu_) & (em.mu_ <= interval[:, 1]))
    np.testing.assert_array_equal(em.transform(X).ravel(), em.mu_)


def test_new_ratings_beyond_an_auto_range_keep_their_consensus():
    """Review finding: rounding a bounded consensus onto the scale's ends must
    not clip new ratings beyond a training range that 'auto' extends."""
    from skem import AnnotatorEM

    X = np.array([[1.0, 2.0, 1.0], [3.0, 3.0, 4.0], [5.0, 5.0, 4.0], [2.0, 2.0, 2.0]])
    new = np.array([[7.0, 7.0, 7.0], [-3.0, -3.0, -3.0]])
    for levels in ("auto", None):
        em = AnnotatorEM(levels=levels).fit(X)
        # Not clipped to the training range; equal to rounding, since a
        # weighted mean of equal ratings can be one unit in the last place off.
        np.testing.assert_allclose(
            em.transform(new).ravel(), [7.0, -3.0], rtol=1e-15, atol=0
        )


@SIGMA_AT_ITS_FLOOR
def test_a_low_end_far_below_the_ratings_is_refused():
    """A fuzzing helper's finding: with the low end at -1e17 (stated, from
    one wrong rating under 'auto', or from a gold score), ratings 1 to 5 fell
    on the same doubles and every consensus onto 5, without an error. A high
    end as far above them costs no precision and is kept."""
    from skem import AnnotatorEM
    from skem._em.validation import _scale_for_gold

    X = np.array([[1.0, 1, 2], [5, 5, 4], [3, 3, 3], [2, 1, 5]])
    far = "reaches too far below the ratings"
    with pytest.raises(ValueError, match=far):
        AnnotatorEM(score_range=(-1e17, 5)).fit(X)
    with pytest.raises(ValueError, match=far):
        AnnotatorEM().fit(np.vstack([X, [-1e17, np.nan, np.nan]]))
    with pytest.raises(ValueError, match=far):
        AnnotatorEM(bounded=False).fit(X, gold=[np.nan, np.nan, np.nan, -1e17])
    scale = _resolve_score_range("auto", X.ravel())
    with pytest.raises(ValueError, match=far):
        _scale_for_gold(scale, np.array([-1e17]), "auto", X.ravel(), False)
    # Ratings near the low end, however close, and a cluster that only
    # rounding spreads (found by hypothesis against a first version) keep
    # their fits.
    AnnotatorEM(score_range=(0, 10)).fit(np.array([[2.2e-16, 1.0], [1e-14, 0.0]]))
    AnnotatorEM().fit(0.5 + np.arange(8.0).reshape(4, 2) * 1.1e-16)
    mean = np.mean(X, axis=1)
    for low, high in ((1, 1e17), (-1e10, 5)):
        mu = AnnotatorEM(score_range=(low, high), bounded=False).fit(X).mu_
        np.testing.assert_allclose(mu, mean, atol=1e-4)


def test_a_range_narrower_than_doubles_is_a_value_error():
    """Not Python's ZeroDivisionError from 1 / width (width 0)."""
    with pytest.raises(ValueError, match="too narrow"):
        _resolve_score_range("auto", np.array([5e-324, 5e-324]))


def test_values_near_one_whole_number_are_not_whole_levels():
    """Distinct values within rounding of 0 are a finer lattice, not integers."""
    assert _all_whole(np.array([1.0, 2.0, 5.0]))
    assert _all_whole(np.array([1.0, 3.0, 3.0 + 4e-16, 5.0]))  # rounding noise
    assert not _all_whole(np.array([1e-300, 1.5e-300, 2e-300]))
    assert not _all_whole(np.array([1.0, 1.0 + 1e-12]))


def test_a_stated_range_of_tiny_levels_reads_them_as_levels():
    """(1e-300, 2e-300) on ratings 1e-300, 1.5e-300, 2e-300: their own cells."""
    scores = np.array([1e-300, 1.5e-300, 2e-300, 1.5e-300])
    scale = _resolve_score_range((1e-300, 2e-300), scores, levels="auto")
    assert scale.levels == (1e-300, 2e-300)
    np.testing.assert_allclose((scale.low, scale.high), (0.75e-300, 2.25e-300))


def test_ends_on_one_level_are_no_scale_of_levels():
    """A stated range narrower than a step names no two levels of integers."""
    scores = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"outside score_range=\(1e-300, 2e-300\)"):
        _check_ratings_in_range(
            _ratings_from_matrix(scores[:, None]),
            _resolve_score_range((1e-300, 2e-300), scores, levels="auto"),
        )


# --------------------------------------------------------------------------
# score_scale='log': the same map on the logarithms.
# --------------------------------------------------------------------------


@given(
    low=st.floats(1e-6, 1e6),
    ratio=st.floats(1.01, 1e6),
    unit=st.lists(st.floats(0, 1), min_size=1, max_size=20),
)
def test_log_unit_scores_map_into_the_range_and_back(low, ratio, unit):
    """Property: on the logarithms, from_unit maps [0, 1] into [low, high], 0
    and 1 onto the ends exactly, and to_unit takes it back to rounding."""
    high = low * ratio
    scale = _ScoreScale(low, high, log=True)
    unit = np.array(unit)
    scores = scale.from_unit(unit)
    assert np.all((scores >= low) & (scores <= high))
    assert scale.from_unit(0.0) == low and scale.from_unit(1.0) == high
    np.testing.assert_allclose(scale.to_unit(scores), unit, atol=1e-12)
    assert scale.width == pytest.approx(np.log(ratio), rel=1e-12)
    assert scale.axis == _ScoreScale(float(np.log(low)), float(np.log(high)))


def test_log_to_unit_is_the_affine_map_of_the_logarithms():
    scale = _ScoreScale(1.0, 100.0, log=True)
    scores = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(scale.to_unit(scores), [0.0, 0.5, 1.0], atol=1e-15)
    np.testing.assert_array_equal(scores, [1.0, 10.0, 100.0])


def test_resolve_log_score_range_keeps_the_extreme_ratings_and_a_stated_range():
    """'auto' is the hull of the ratings, exactly (exp(log(7722)) is not
    7722); logarithms on a lattice widen it by half their step; a constant
    by half its logarithm; a stated range is kept as stated."""
    counts = np.array([12.0, 40.0, 7722.0, 300.0])
    scale = _resolve_log_score_range("auto", counts)
    assert (scale.low, scale.high, scale.log, scale.levels) == (12, 7722, True, None)
    doubling = _resolve_log_score_range("auto", np.array([1.0, 2.0, 4.0, 8.0]))
    assert (doubling.low, doubling.high) == pytest.approx((2**-0.5, 2**3.5))
    constant = _resolve_log_score_range("auto", np.array([np.e**2, np.e**2]))
    assert (constant.low, constant.high) == pytest.approx((np.e, np.e**3))
    stated = _resolve_log_score_range((1, 10_000), counts)
    assert (stated.low, stated.high) == (1.0, 10_000.0)


@pytest.mark.parametrize(
    ("score_range", "scores", "match"),
    [
        ("auto", [3.0, 0.0, -1.0], "X has 2 rating\\(s\\) that are not, e.g. 0"),
        ("auto", [3.0, np.nan], "X has 1"),
        ((0.0, 10.0), [3.0, 5.0], "0 < low < high; got score_range=\\(0.0, 10.0\\)"),
        ((5.0, 1.0), [3.0], "0 < low < high"),
    ],
)
def test_resolve_log_score_range_refuses_what_has_no_logarithm(
    score_range, scores, match
):
    with pytest.raises(ValueError, match=match):
        _resolve_log_score_range(score_range, np.array(scores))


def test_check_positive_names_where_the_ratings_are():
    _check_positive(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="new X has 1 rating"):
        _check_positive(np.array([1.0, -2.0]), "new X")


def test_sum_log_scores_is_the_sum_of_the_ratings_logarithms():
    """The kernel sums log(s) of a block's unit ratings, read in score units,
    and leaves the block as it was."""
    scale = _ScoreScale(2.0, 500.0, log=True)
    scores = np.array([2.0, 17.0, 250.0, 500.0])
    ratings = _ratings_from_matrix(scores[:, np.newaxis])
    block = _Block(ratings.with_scores(scale.to_unit(ratings.score)))
    same, outputs = _sum_log_scores(block, scale)
    assert same is block
    assert outputs["log_score_sum"] == pytest.approx(np.log(scores).sum(), rel=1e-14)
