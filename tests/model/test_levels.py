"""The levels form's terms: a rating's cell, its log mass and the Newton terms."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import log_ndtr

from skem._model.levels import (
    _MIN_SCALE_INFORMATION,
    _compute_closed_level_log_density,
    _reflected_cell,
)
from skem._model.likelihoods import _compute_good_terms
from tests._helpers import BOUNDS, _budget

# Five levels on the unit range: cells of width 0.2 around 0.1, 0.3, ..., 0.9.
HALF_STEP = 0.1
LEVELS = np.array([0.1, 0.3, 0.5, 0.7, 0.9])


def _log_cell_mass(score, location, sigma, half_step=HALF_STEP, bounds=BOUNDS):
    """The normal's log mass on each rating's cell, the outer ones open (oracle)."""
    low = np.where(score - half_step <= bounds[0] + 1e-9, -np.inf, score - half_step)
    high = np.where(score + half_step >= bounds[1] - 1e-9, np.inf, score + half_step)
    upper = log_ndtr((high - location) / sigma)
    lower = log_ndtr((low - location) / sigma)
    # log(Phi(b) - Phi(a)) in whichever tail keeps its digits.
    in_upper_tail = (low - location) / sigma > 0
    a = np.where(in_upper_tail, log_ndtr(-(low - location) / sigma), upper)
    b = np.where(in_upper_tail, log_ndtr(-(high - location) / sigma), lower)
    with np.errstate(divide="ignore"):
        return a + np.log1p(-np.exp(b - a))


def _terms(score, location, sigma):
    return _compute_good_terms(
        np.atleast_1d(np.asarray(score, dtype=np.float64)),
        np.atleast_1d(np.asarray(location, dtype=np.float64)),
        np.atleast_1d(np.asarray(sigma, dtype=np.float64)),
        BOUNDS,
        half_step=HALF_STEP,
    )


def test_a_level_rating_has_the_log_mass_of_its_cell_over_the_cell_width():
    """log_density = log P(cell) - log(2 h): a bad rater's 1/K over its own
    cell width is the unit density 1, so good and bad terms compare."""
    rng = np.random.default_rng(0)
    score = rng.choice(LEVELS, 500)
    location = rng.uniform(-0.2, 1.2, 500)
    sigma = np.exp(rng.uniform(np.log(1e-3), np.log(2.0), 500))
    terms = _terms(score, location, sigma)
    expected = _log_cell_mass(score, location, sigma) - np.log(2 * HALF_STEP)
    np.testing.assert_allclose(terms["log_density"], expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(terms["z"], (score - location) / sigma)


def test_the_outer_cells_are_open_so_their_masses_sum_to_one():
    """Over the five levels the masses sum to 1 for any location and sigma:
    a latent score beyond the top is rated at the top."""
    for location, sigma in [(0.5, 0.1), (1.4, 0.05), (-3.0, 2.0), (0.95, 1e-3)]:
        terms = _terms(LEVELS, np.full(5, location), np.full(5, sigma))
        mass = np.exp(terms["log_density"]) * 2 * HALF_STEP
        assert mass.sum() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("level", [0.1, 0.5, 0.9])
@pytest.mark.parametrize(("location", "sigma"), [(0.42, 0.13), (0.8, 0.04), (0.2, 0.6)])
def test_level_terms_are_the_derivatives_of_the_log_mass(level, location, sigma):
    """location_slope and location_information are the first and minus the
    second derivative of log P in the location; scale_slope / (2 lam) and
    scale_information / (4 lam**2) the same in the precision lam, where the
    log mass is concave in it (else the floor)."""

    def log_mass(m, lam):
        return float(_log_cell_mass(np.array(level), m, lam**-0.5))

    terms = _terms(level, location, sigma)
    lam = sigma**-2.0
    h = 1e-5
    slope = (log_mass(location + h, lam) - log_mass(location - h, lam)) / (2 * h)
    curvature = (
        log_mass(location + h, lam)
        - 2 * log_mass(location, lam)
        + log_mass(location - h, lam)
    ) / h**2
    assert terms["location_slope"][0] == pytest.approx(slope, rel=1e-5, abs=1e-7)
    assert terms["location_information"][0] == pytest.approx(
        -curvature, rel=1e-3, abs=1e-3
    )
    k = 1e-4 * lam
    scale_slope = (log_mass(location, lam + k) - log_mass(location, lam - k)) / (2 * k)
    scale_curvature = (
        log_mass(location, lam + k)
        - 2 * log_mass(location, lam)
        + log_mass(location, lam - k)
    ) / k**2
    assert terms["scale_slope"][0] / (2 * lam) == pytest.approx(
        scale_slope, rel=1e-5, abs=1e-9
    )
    information = -scale_curvature * 4 * lam**2
    assert terms["scale_information"][0] == pytest.approx(
        max(information, _MIN_SCALE_INFORMATION), rel=1e-3, abs=1e-3
    )


@settings(max_examples=_budget(300))
@given(
    level=st.sampled_from(LEVELS.tolist()),
    location=st.floats(-1e3, 1e3),
    log_sigma=st.floats(np.log(1e-8), np.log(1e3)),
)
def test_level_terms_are_finite_and_the_mass_at_most_one_anywhere(
    level, location, log_sigma
):
    """Property: far in either tail, with sigma from 1e-8 to 1e3, every term
    is finite, the log mass is at most 0 and the information nonnegative."""
    terms = _terms(level, location, np.exp(log_sigma))
    for key, value in terms.items():
        assert np.all(np.isfinite(value)), key
    assert terms["log_density"][0] + np.log(2 * HALF_STEP) <= 1e-15
    assert terms["location_information"][0] >= 0
    assert terms["scale_information"][0] >= _MIN_SCALE_INFORMATION


@settings(max_examples=_budget(300))
@given(
    level=st.sampled_from(LEVELS.tolist()),
    location=st.floats(-0.5, 1.5),
    log_sigma=st.floats(np.log(1e-4), np.log(10.0)),
)
def test_mirroring_the_scale_negates_the_location_slope_only(
    level, location, log_sigma
):
    """Property: a rating at the mirrored level and location, ``1 - s`` and
    ``1 - m``, has the same log mass and precision terms and the opposite
    location slope: the normal is symmetric. Cells below the location are
    computed reflected, so this checks the reflection on every kind of cell."""
    sigma = np.exp(log_sigma)
    terms = _terms(level, location, sigma)
    mirrored = _terms(1.0 - level, 1.0 - location, sigma)
    for key in ("log_density", "scale_slope", "scale_information"):
        np.testing.assert_allclose(mirrored[key], terms[key], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        mirrored["location_slope"],
        -terms["location_slope"],
        rtol=1e-7,
        atol=1e-7 / sigma,
    )
    np.testing.assert_allclose(
        mirrored["location_information"],
        terms["location_information"],
        rtol=1e-7,
        atol=1e-7 / sigma**2,
    )


def test_a_cell_is_open_where_it_reaches_an_end_of_the_range():
    """The bottom and top levels' cells open to -inf and +inf (taken finitely
    far beyond the location); inner cells are half a step either side. A
    cell below the location is reflected through it."""
    score = np.array([0.1, 0.5, 0.9, 0.1, 0.9])
    location = np.array([0.5, 0.5, 0.5, 0.05, 0.95])
    near, far, below = _reflected_cell(score, location, np.full(5, 0.1), BOUNDS, 0.1)
    np.testing.assert_array_equal(below, [True, False, False, False, True])
    # [-inf, -3], [-1, 1] and [3, inf], the first reflected to [3, inf].
    np.testing.assert_allclose(near[:3], [3.0, -1.0, 3.0])
    np.testing.assert_allclose(far[1], 1.0)
    assert far[0] >= 3.0 + 40 and far[2] >= 3.0 + 40
    # The location beyond an end, inside the outer cell: the cell's open end
    # is the near one, and the far one half a step past the level.
    np.testing.assert_allclose(far[3:], [1.5, 1.5])
    assert np.all(near[3:] <= -40)
    # Wider bounds (new ratings beyond the training range): no cell reaches.
    near, far, below = _reflected_cell(score, location, np.full(5, 0.1), (-1, 2), 0.1)
    np.testing.assert_allclose(near, [3.0, -1.0, 3.0, -0.5, -0.5])
    np.testing.assert_allclose(far, [5.0, 1.0, 5.0, 1.5, 1.5])


def test_a_cell_narrower_than_the_rounding_of_its_ends_has_the_density_terms():
    """Fuzz seed 1000467: held-out ratings 1e16 cells from the location made
    the cell's ends one double, and its mass 0 (NaN terms). Such a cell is a
    point: its terms are the normal density's."""
    score, location, sigma = np.array([-1e16]), np.array([0.5]), np.array([0.01])
    terms = _compute_good_terms(
        score, location, sigma, (-1e16 - 0.1, 1.0), None, half_step=HALF_STEP
    )
    z = (score - location) / sigma
    assert terms["log_density"][0] == pytest.approx(
        -0.5 * z[0] ** 2 - np.log(np.sqrt(2 * np.pi) * sigma[0]), rel=1e-15
    )
    for value in terms.values():
        assert np.all(np.isfinite(value))


def _closed(score, location, sigma, half_step=HALF_STEP):
    n = np.size(score)
    return _compute_closed_level_log_density(
        np.broadcast_to(np.asarray(score, dtype=np.float64), n).copy(),
        np.broadcast_to(np.asarray(location, dtype=np.float64), n).copy(),
        np.broadcast_to(np.asarray(sigma, dtype=np.float64), n).copy(),
        BOUNDS,
        half_step,
    )


def test_a_closed_cell_holds_its_share_of_the_normals_mass_on_the_range():
    """log P(cell) - log P(range) - log(2 h), the outer cells ending at the
    range's ends (scipy's normal as the oracle, each mass taken in the tail
    that keeps its digits)."""
    rng = np.random.default_rng(1)
    score = rng.choice(LEVELS, 400)
    location = rng.uniform(-0.3, 1.3, 400)
    sigma = np.exp(rng.uniform(np.log(0.1), np.log(3.0), 400))

    def mass(low, high):
        above = low > location
        upper = stats.norm.sf(low, location, sigma) - stats.norm.sf(
            high, location, sigma
        )
        lower = stats.norm.cdf(high, location, sigma) - stats.norm.cdf(
            low, location, sigma
        )
        return np.where(above, upper, lower)

    expected = (
        np.log(mass(score - HALF_STEP, score + HALF_STEP))
        - np.log(mass(np.zeros(400), np.ones(400)))
        - np.log(2 * HALF_STEP)
    )
    np.testing.assert_allclose(_closed(score, location, sigma), expected, rtol=1e-9)


@settings(max_examples=_budget(200))
@given(location=st.floats(-1e3, 1e3), log_sigma=st.floats(np.log(1e-6), np.log(1e3)))
def test_closed_cells_share_the_range_so_their_masses_sum_to_one(location, log_sigma):
    """Property: for any location and sigma the closed cells' log masses are
    finite and at most 0, and where the location is within 10 of the range
    (the predictions' are within it) they sum to 1; the outer ones hold no
    tail beyond the range. Far out, each log mass is about -z**2 / 2, and
    their difference keeps 16 less log10(z**2) digits."""
    sigma = np.exp(log_sigma)
    log_density = _closed(LEVELS, location, sigma)
    assert np.all(np.isfinite(log_density))
    rounding = 1e-15 * (1.0 + ((abs(location) + 1.0) / sigma) ** 2)
    assert np.all(log_density + np.log(2 * HALF_STEP) <= max(rounding, 1e-12))
    if abs(location) <= 10 and log_sigma >= np.log(1e-4):
        total = np.exp(log_density).sum() * 2 * HALF_STEP
        assert total == pytest.approx(1.0, rel=1e-5)


@settings(max_examples=_budget(200))
@given(location=st.floats(-2.0, 3.0), log_sigma=st.floats(np.log(1e-3), np.log(1e2)))
def test_closed_inner_cells_are_the_open_ones_over_the_ranges_mass(location, log_sigma):
    """Property: the inner levels' cells are the same in both readings, so
    the closed reading only divides their mass by the range's: each inner
    level's log density differs from the open one's by one constant, while
    an outer cell's open tail is gone."""
    sigma = np.exp(log_sigma)
    closed = _closed(LEVELS, location, sigma)
    opened = _terms(LEVELS, np.full(5, location), np.full(5, sigma))["log_density"]
    shift = closed[1:4] - opened[1:4]
    np.testing.assert_allclose(shift, shift[0], rtol=0, atol=1e-9 * (1 + abs(shift[0])))
    assert shift[0] >= -1e-12
    assert np.all(closed[[0, 4]] - opened[[0, 4]] <= shift[0] + 1e-9)


def test_on_ever_finer_levels_closed_cells_are_the_truncated_normal():
    """On 1,001 levels the closed cells' log density is the density of the
    normal truncated to the range, as the bounded form reads exact scores;
    the open reading's outer cells instead hold the tails."""
    n_levels = 1001
    half_step = 0.5 / n_levels
    levels = (np.arange(n_levels) + 0.5) / n_levels
    location, sigma = 0.3, 0.2
    expected = stats.truncnorm.logpdf(
        levels, -location / sigma, (1 - location) / sigma, loc=location, scale=sigma
    )
    closed = _closed(levels, location, sigma, half_step)
    np.testing.assert_allclose(closed, expected, atol=1e-4)
    opened = _compute_good_terms(
        levels,
        np.full(n_levels, location),
        np.full(n_levels, sigma),
        BOUNDS,
        half_step=half_step,
    )["log_density"]
    assert opened[0] - expected[0] > np.log(50)
