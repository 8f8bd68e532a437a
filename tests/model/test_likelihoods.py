"""The likelihoods: normal masses, truncated moments, per-rating terms, posteriors."""

import decimal
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats
from scipy.special import logsumexp
from scipy.stats import norm

import skem._model.likelihoods
import skem._model.rescue
from skem._model.likelihoods import (
    _KEPT_TERMS,
    _SUMMED_TERMS,
    _chunks,
    _compute_good_terms,
    _compute_item_log_likelihood,
    _compute_sigma_log_prior,
    _estimate_annotator_log_joint,
    _estimate_log_posterior,
    _estimate_normal_log_density,
    _Gather,
    _log1p_minus_itself,
    _log_minus_excess,
)
from skem._model.normal_mass import (
    _ERFC_NEAR,
    _LOG_SQRT_2PI,
    _NARROW,
    _compute_log_mass_ratios,
    _exp_flushed,
    _log_mass_ratios_anchored,
    _log_normal_mass_lower_bound,
    _shifted_log_normal_mass,
    _shifted_log_tail_mass,
    _shifted_log_tail_mass_erfc,
    _shifted_log_tail_mass_erfcx,
)
from skem._model.steps import (
    _compute_annotator_sq_residuals,
)
from tests._helpers import (
    BOUNDS,
    ZERO3,
    _budget,
    _log_sigma_prior,
    _random_ratings,
)
from tests._helpers import (
    SMALL_X as X,
)

# Both bounds in the lower tail, both in the upper tail, straddling 0, narrow,
# far out (where Phi itself underflows) and very wide.
MASS_CASES = [
    (-1.0, 1.0),
    (-0.1, 3.0),
    (-40.0, 0.5),
    (-3.0, -2.0),
    (2.0, 3.0),
    (5.0, 6.0),
    (-6.0, -5.0),
    (8.0, 40.0),
    (-50.0, -10.0),
    (30.0, 30.001),
    (-30.001, -30.0),
    (1e-3, 2e-3),
    (-2e-3, -1e-3),
    (37.5, 38.5),
    (-1000.0, -999.0),
    (999.0, 1000.0),
    (-12.0, 12.0),
    # Either side of the switch from erfc to erfcx (_ERFC_NEAR = 20).
    (19.999, 20.0),
    (19.5, 20.5),
    (20.0, 20.001),
    (-20.5, -19.5),
    (-20.001, -20.0),
]


# An interval straddling 0 so narrow that 1 - Phi(alpha) - Phi(-beta) cancels.
NARROW_STRADDLING_CASES = [(0.0, 1e-8), (-1e-8, 0.0), (-5e-9, 5e-9), (-1e-7, 2e-7)]


def _reference_log_mass_scipy(alpha, beta):
    """log(Phi(beta) - Phi(alpha)) from scipy.stats.norm, tail by tail.

    Straddling 0 it adds the two halves ``Phi(beta) - 1/2`` and ``1/2 -
    Phi(alpha)``, each ``erf(|x| / sqrt(2)) / 2``: no cancellation however
    narrow the interval.
    """
    norm = stats.norm
    if alpha >= 0:  # upper tail: sf(alpha) - sf(beta)
        log_a, log_b = norm.logsf(alpha), norm.logsf(beta)
        return log_a + math.log1p(-math.exp(log_b - log_a))
    if beta <= 0:  # lower tail: cdf(beta) - cdf(alpha)
        log_a, log_b = norm.logcdf(alpha), norm.logcdf(beta)
        return log_b + math.log1p(-math.exp(log_a - log_b))
    root2 = math.sqrt(2.0)
    return math.log(0.5 * (special.erf(beta / root2) + special.erf(-alpha / root2)))


def _reference_log_mass_quad(alpha, beta):
    """The same by quadrature of the density scaled to 1 at its peak in [a, b].

    With ``c`` the point of [alpha, beta] closest to 0, ``int phi = exp(-c^2/2)
    / sqrt(2 pi) * int exp(-(t^2 - c^2) / 2) dt``, whose integrand is at most 1:
    nothing underflows however far out the interval lies.
    """
    c = min(max(0.0, alpha), beta)
    width = beta - alpha
    # Resolve the decay scale 1/|c| near c, where all the mass is.
    points = [p for p in (c + 1.0 / max(abs(c), 1.0),) if alpha < p < beta]

    def integrand(t):
        return math.exp(-0.5 * (t - c) * (t + c))

    value, _ = integrate.quad(
        integrand, alpha, beta, epsabs=0, epsrel=2e-14, limit=500, points=points
    )
    assert value > 0 and width > 0
    return math.log(value) - 0.5 * c * c - 0.5 * math.log(2 * math.pi)


def _log_normal_mass(alpha, beta):
    """``log(Phi(beta) - Phi(alpha))`` from _shifted_log_normal_mass."""
    shifted, anchor = _shifted_log_normal_mass(alpha, beta)
    return shifted if anchor is None else shifted - 0.5 * anchor * anchor


@pytest.mark.parametrize(
    ("alpha", "beta"),
    MASS_CASES
    + [
        pytest.param(
            *case,
        )
        for case in NARROW_STRADDLING_CASES
    ],
)
def test_log_normal_mass_matches_scipy_tails_and_quadrature(alpha, beta):
    """_shifted_log_normal_mass, with its anchor's square taken back out,
    equals log(Phi(b) - Phi(a)) to 1e-10 (absolute in log space, i.e.
    relative in the mass), in both tails and straddling 0."""
    got = float(_log_normal_mass(np.array([alpha]), np.array([beta]))[0])
    if (alpha, beta) not in NARROW_STRADDLING_CASES:
        # scipy's difference of CDFs cancels for narrow intervals: quad only.
        assert got == pytest.approx(_reference_log_mass_scipy(alpha, beta), abs=1e-10)
    assert got == pytest.approx(_reference_log_mass_quad(alpha, beta), abs=1e-10)


def test_log_normal_mass_is_elementwise_on_mixed_arrays():
    """A vector mixing straddling and one-tail pairs gives each pair's own value."""
    alpha = np.array([a for a, _ in MASS_CASES])
    beta = np.array([b for _, b in MASS_CASES])
    got = _log_normal_mass(alpha, beta)
    expected = [_reference_log_mass_scipy(a, b) for a, b in MASS_CASES]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_tail_mass_is_the_scaled_erfcx_form_wherever_it_takes_erfc():
    """The tail's mass takes the cheaper erfc form only where it is as precise
    as the erfcx form: both agree to 1e-11 in log space (a few 1e-14 relative
    in erfc, times 100 at most) on wide and narrow cells, near and far out; a
    narrow cell far out keeps the erfcx form."""
    rng = np.random.default_rng(0)
    near = rng.uniform(1e-3, 1.5 * _ERFC_NEAR, 4000)
    width = 10.0 ** rng.uniform(-7, 1.5, 4000)
    far = near + width
    np.testing.assert_allclose(
        _shifted_log_tail_mass(near, far),
        _shifted_log_tail_mass_erfcx(near, far),
        rtol=0,
        atol=1e-11,
    )
    narrow = np.array([13.5]), np.array([13.5 + 1e-6])
    assert _shifted_log_tail_mass(*narrow) == _shifted_log_tail_mass_erfcx(*narrow)
    # The erfc form alone would be 1e-9 off there: the guard is needed.
    assert (
        abs(
            _shifted_log_tail_mass_erfc(*narrow) - _shifted_log_tail_mass_erfcx(*narrow)
        )
        > 1e-11
    )


@pytest.mark.parametrize(
    ("near", "far"), MASS_CASES + [pytest.param(*c) for c in NARROW_STRADDLING_CASES]
)
def test_log_mass_ratios_are_the_mass_and_the_densities_over_it(near, far):
    """_compute_log_mass_ratios gives log(Phi(far) - Phi(near)) to 1e-10 and
    phi(near) / Z, phi(far) / Z to 1e-9 relative, on every pair of bounds
    (not only reflected ones: the others take the anchored form)."""
    log_mass, ratio_near, ratio_far = (
        float(value[0])
        for value in _compute_log_mass_ratios(np.array([near]), np.array([far]))
    )
    expected = _reference_log_mass_quad(near, far)
    assert log_mass == pytest.approx(expected, abs=1e-10)
    for bound, ratio in ((near, ratio_near), (far, ratio_far)):
        exponent = -0.5 * bound * bound - _LOG_SQRT_2PI - expected
        assert ratio == pytest.approx(
            math.exp(exponent) if exponent > -700 else 0.0, rel=1e-9, abs=1e-300
        )


def _decimal_log_mass_ratios(near, far):
    """log(Phi(far) - Phi(near)) and phi(x) / Z at both ends, to 40 digits.

    Simpson's rule on 64 panels in decimal arithmetic: exact to far more
    than double precision for the cells it is used on (a width of at most
    0.01 over max(|midpoint|, 1)), however far out they lie.
    """
    with decimal.localcontext() as context:
        context.prec = 40
        a, b = decimal.Decimal(near), decimal.Decimal(far)
        root = (2 * decimal.Decimal(math.pi)).sqrt()

        def phi(t):
            return (-(t * t) / 2).exp() / root

        panels = 64
        step = (b - a) / panels
        total = phi(a) + phi(b)
        total += sum((4 if k % 2 else 2) * phi(a + k * step) for k in range(1, panels))
        mass = total * step / 3
        return float(mass.ln()), float(phi(a) / mass), float(phi(b) / mass)


NARROW_CELLS = [
    (1.0, 1.0 + math.exp(-11.0)),  # hypothesis: the erfcx form was 2e-11 off
    (-0.004, 0.004),
    (-1e-9, 2e-9),
    (0.3, 0.305),
    (5.0, 5.001),
    (30.0, 30.0002),
    (-40.00002, -40.0),
    (12.0, 12.0 + 1e-9),
]


@pytest.mark.parametrize(("near", "far"), NARROW_CELLS)
def test_a_narrow_cell_has_the_mass_of_its_midpoint_series(near, far):
    """A cell at most a hundredth of a sigma wide (over max(|midpoint|, 1))
    takes the midpoint's Hermite series: its log mass within 1e-13 and its
    ratios within 1e-11 of a 40-digit quadrature, near the mean and 40
    sigmas out."""
    got = [
        float(v[0]) for v in _compute_log_mass_ratios(np.array([near]), np.array([far]))
    ]
    log_mass, ratio_near, ratio_far = _decimal_log_mass_ratios(near, far)
    assert got[0] == pytest.approx(log_mass, rel=0, abs=1e-13 * max(1.0, abs(log_mass)))
    assert got[1] == pytest.approx(ratio_near, rel=1e-11)
    assert got[2] == pytest.approx(ratio_far, rel=1e-11)


@settings(max_examples=_budget(500))
@given(
    near=st.floats(-60.0, 60.0),
    log_width=st.floats(np.log(1e-12), np.log(100.0)),
)
def test_log_mass_ratios_agree_with_the_anchored_form_or_the_narrow_series(
    near, log_width
):
    """Property: a narrow cell (at most _NARROW sigmas over max(|midpoint|,
    1)) has the log mass of a 40-digit quadrature within 1e-12 (relative);
    any other cell that of the anchored form of _shifted_log_normal_mass
    within 1e-11, its ratios within 1e-9: the mask-free erfc form agrees
    with it wherever it serves."""
    bounds = np.array([near]), np.array([near + np.exp(log_width)])
    if not bounds[1][0] > bounds[0][0]:
        return
    got = _compute_log_mass_ratios(*bounds)
    width = bounds[1][0] - bounds[0][0]
    if width * max(abs(near + 0.5 * width), 1.0) <= _NARROW:
        log_mass, ratio_near, ratio_far = _decimal_log_mass_ratios(
            float(bounds[0][0]), float(bounds[1][0])
        )
        assert got[0][0] == pytest.approx(log_mass, rel=1e-12)
        assert got[1][0] == pytest.approx(ratio_near, rel=1e-9)
        assert got[2][0] == pytest.approx(ratio_far, rel=1e-9)
        return
    anchored = _log_mass_ratios_anchored(*bounds)
    np.testing.assert_allclose(got[0], anchored[0], rtol=0, atol=1e-11)
    for value, reference in zip(got[1:], anchored[1:], strict=True):
        np.testing.assert_allclose(value, reference, rtol=1e-9, atol=1e-300)


def test_exp_flushed_is_exp_down_to_the_normal_doubles_and_zero_below():
    """exp(x) from x = -700 up; exactly 0 below (no subnormal results); NaN
    stays NaN."""
    x = np.array([0.0, -1.0, -699.9, -700.0, -700.1, -745.0, -800.0, -np.inf, np.nan])
    got = _exp_flushed(x)
    np.testing.assert_array_equal(got[:4], np.exp(x[:4]))
    np.testing.assert_array_equal(got[4:8], 0.0)
    assert np.isnan(got[8])


@pytest.mark.parametrize(
    "x",
    [
        np.array([0.0, -1.0, -699.9, -700.0, 3.5, np.inf]),
        np.array([-2.0, np.nan, -5.0]),
        np.array([-1.0, -700.1]),
        np.empty(0),
    ],
    ids=["all-normal", "nan", "one-below", "empty"],
)
def test_exp_flushed_takes_the_same_values_without_its_clip(x):
    """Arrays with nothing below -700 skip the clip and the mask: the values
    are those of the clipped and masked exp, bit for bit, NaN included."""
    clipped = np.exp(np.maximum(x, -700.0)) * (x >= -700.0)
    np.testing.assert_array_equal(_exp_flushed(x), clipped)


MOMENT_CASES = [
    (-1.0, 1.0),
    (-3.0, 0.5),
    (0.5, 4.0),
    (2.0, 3.0),
    (-6.0, -2.0),
    (-0.2, 0.3),
    (-8.0, 8.0),
    (1.0, 1.5),
    (-9.0, 10.0),  # so far out that the truncation is ignored
]


def _quad_truncated_moments(alpha, beta):
    """E[t], E[t^2], Var[t], Var[t^2] of N(0, 1) truncated to [alpha, beta]."""
    c = min(max(0.0, alpha), beta)

    def expect(function):
        value, _ = integrate.quad(
            lambda t: function(t) * math.exp(-0.5 * (t - c) * (t + c)),
            alpha,
            beta,
            epsabs=0,
            epsrel=2e-14,
            limit=500,
        )
        return value

    mass = expect(lambda t: 1.0)
    mean = expect(lambda t: t) / mass
    second = expect(lambda t: t * t) / mass
    var = expect(lambda t: (t - mean) ** 2) / mass
    var_square = expect(lambda t: (t * t - second) ** 2) / mass
    return mean, second, var, var_square


@pytest.mark.parametrize(("alpha", "beta"), MOMENT_CASES)
# quad reports its own roundoff on the widest intervals; the tolerance holds.
@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_truncated_moments_match_numerical_integration(alpha, beta):
    """The moments behind _compute_good_terms' derivatives (E[t], Var[t],
    E[t^2], Var[t^2]) of N(0, 1) on [alpha, beta] equal quad to 1e-10
    (relative to the size of each moment); the log density in the terms equals
    scipy.stats.truncnorm's."""
    scores = np.array([alpha + 0.3 * (beta - alpha), beta - 1e-3 * (beta - alpha)])
    terms = _compute_good_terms(scores, np.zeros(2), np.ones(2), bounds=(alpha, beta))
    # At location 0 and sigma 1 the derivatives give the moments back.
    z = terms["z"]
    mean = z - terms["location_slope"]
    var = terms["location_information"]
    second = terms["scale_slope"] + z * z
    var_square = terms["scale_information"]
    expected = _quad_truncated_moments(alpha, beta)
    for name, value, reference in zip(
        ("mean", "second", "var", "var_square"),
        (mean, second, var, var_square),
        expected,
        strict=True,
    ):
        np.testing.assert_allclose(
            value, reference, rtol=0, atol=1e-10 * (1 + abs(reference)), err_msg=name
        )
    np.testing.assert_allclose(
        terms["log_density"],
        stats.truncnorm.logpdf(scores, alpha, beta),
        rtol=0,
        atol=1e-10,
    )


@pytest.mark.parametrize("nu", [0.5, 3.0, 50.0])
def test_sigma_log_prior_is_the_inverse_gamma_density_of_the_variance(nu):
    """_compute_sigma_log_prior(sigma, tau, nu) equals
    invgamma(a=nu/2, scale=nu tau^2/2).logpdf(sigma^2) + log sigma^2: the
    same law, as a density of log sigma^2."""
    sigma = np.array([1e-4, 0.01, 0.1, 0.3, 1.0, 7.0])
    for tau in (1e-3, 0.1, 2.0):
        reference = _log_sigma_prior(sigma, tau, nu)
        np.testing.assert_allclose(
            _compute_sigma_log_prior(sigma, tau, nu),
            reference,
            rtol=1e-12,
            atol=1e-10,
        )


def test_log_minus_excess_matches_fifty_digits_near_and_far_from_one():
    """_log_minus_excess(log x, x - 1) = log x - (x - 1) to a relative 4e-16,
    against 50-digit decimal arithmetic, for x - 1 from 1e-12 to 9 either
    side of the series' threshold, in arrays whose |d| span the range."""
    with decimal.localcontext() as context:
        context.prec = 50
        d = np.concatenate(
            [s * np.geomspace(1e-12, 0.099, 40) for s in (1.0, -1.0)]
            + [np.array([0.1, -0.1, 0.5, -0.5, 9.0, 0.0])]
        )
        exact = [float((1 + decimal.Decimal(v)).ln() - decimal.Decimal(v)) for v in d]
        log_x = np.array([float((1 + decimal.Decimal(v)).ln()) for v in d])
    for subset in (slice(None), d < 1e-3, np.abs(d) < 1e-8):
        got = _log_minus_excess(log_x[subset], d[subset])
        np.testing.assert_allclose(got, np.array(exact)[subset], rtol=4e-16, atol=0)
    assert (_log_minus_excess(log_x, d) <= 0).all()


def test_log1p_minus_itself_matches_fifty_digits_below_its_threshold():
    """_log1p_minus_itself(d) = log1p(d) - d to a relative 4e-16 for |d| from
    1e-12 to just below the series' threshold, against 50-digit decimal
    arithmetic, and -d**2 / 2 for |d| from 1e-150 to 1e-17; it is never positive,
    and takes a 0-d input or an empty one."""
    d = np.concatenate(
        [s * np.geomspace(1e-12, 0.0999, 60) for s in (1.0, -1.0)] + [[0.0]]
    )
    with decimal.localcontext() as context:
        context.prec = 50
        exact = np.array(
            [float((1 + decimal.Decimal(v)).ln() - decimal.Decimal(v)) for v in d]
        )
    got = _log1p_minus_itself(d)
    np.testing.assert_allclose(got, exact, rtol=4e-16, atol=0)
    assert (got <= 0).all()
    tiny = np.geomspace(1e-150, 1e-17, 20)
    for sign in (1.0, -1.0):
        np.testing.assert_allclose(
            _log1p_minus_itself(sign * tiny), -0.5 * tiny * tiny, rtol=4e-16
        )
    assert (
        _log1p_minus_itself(np.float64(-1e-3))
        == _log1p_minus_itself(np.array([-1e-3]))[0]
    )
    assert _log1p_minus_itself(np.array([])).shape == (0,)


def test_sigma_log_prior_near_one_equals_the_general_path_bitwise():
    """_compute_sigma_log_prior skips log x where every sigma is within a few
    percent of tau; each such sigma's prior is bitwise what it is beside a
    sigma far from tau, which takes the general path."""
    rng = np.random.default_rng(0)
    near = 0.2 * (1.0 + rng.normal(0.0, 1e-3, 30))
    for nu in (0.5, 200.0, 1e9):
        alone = _compute_sigma_log_prior(near, 0.2, nu)
        beside = _compute_sigma_log_prior(np.append(near, 0.5), 0.2, nu)
        np.testing.assert_array_equal(alone, beside[:-1])


@pytest.mark.parametrize("bounds", [None, BOUNDS])
def test_chunked_terms_with_gathers_equal_whole_arrays_and_sum_like_bincount(
    monkeypatch, bounds
):
    """_compute_good_terms over chunks of 7 ratings, with sigma, log sigma and
    the consensus gathered per chunk, gives bitwise the terms of one chunk of
    per-rating arrays; its per-annotator sums, taken chunk by chunk, equal a
    loop over the ratings to 1e-12, also when only the kept terms are
    returned and the others live in scratch space a chunk at a time."""
    rng = np.random.default_rng(3)
    n_items, n_annotators, n_ratings = 9, 5, 60
    ratings = _random_ratings(rng, n_items, n_annotators, n_ratings)
    mu = rng.uniform(0, 1, n_items)
    sigma = rng.uniform(0.02, 0.5, n_annotators)
    whole = _compute_good_terms(
        ratings.score, mu[ratings.item], sigma[ratings.annotator], bounds
    )
    monkeypatch.setattr(skem._model.likelihoods, "_CHUNK_SIZE", 7)
    gathered = (
        ratings.score,
        _Gather(mu, ratings.item),
        _Gather(sigma, ratings.annotator),
        bounds,
        _Gather(np.log(sigma), ratings.annotator),
    )
    chunked = _compute_good_terms(*gathered)
    assert chunked.keys() == whole.keys()
    for key, value in whole.items():
        np.testing.assert_array_equal(chunked[key], value)
    if bounds is None:
        return
    expected = {key: np.zeros(n_annotators) for key in _SUMMED_TERMS + ("z_squared",)}
    for r, a in enumerate(ratings.annotator):
        for key in _SUMMED_TERMS:
            expected[key][a] += whole[key][r]
        expected["z_squared"][a] += whole["z"][r] ** 2
    for keep in (None, _KEPT_TERMS):
        kept, sums = _compute_good_terms(
            *gathered, sum_by=(ratings.annotator, n_annotators), keep=keep
        )
        assert kept.keys() == set(whole if keep is None else keep)
        for key, value in kept.items():
            np.testing.assert_array_equal(value, whole[key])
        assert sums.keys() == expected.keys()
        for key, value in expected.items():
            np.testing.assert_allclose(sums[key], value, rtol=1e-12, atol=1e-12)
            # Blocks keep them: no step may change them in place.
            with pytest.raises(ValueError, match="read-only"):
                sums[key] += 1.0


@settings(max_examples=_budget(200))
@given(alpha=st.floats(-40.0, 0.0), beta=st.floats(0.0, 40.0))
def test_log_normal_mass_lower_bound_is_below_the_mass_and_within_10_percent_on_tails(
    alpha, beta
):
    """The rescue's cheap bound is at most log(Phi(beta) - Phi(alpha)), and
    the tails that it implies, 1 - exp(bound), overstate the exact tails
    Q(-alpha) + Q(beta) of scipy.stats.norm by at most 10%."""
    got = float(_log_normal_mass_lower_bound(np.array([alpha]), np.array([beta]))[0])
    exact = float(_log_normal_mass(np.array([alpha]), np.array([beta]))[0])
    assert got == exact or got <= exact + 1e-12 * (1 + abs(exact))
    tails = stats.norm.sf(-alpha) + stats.norm.sf(beta)
    assert -math.expm1(got) <= 1.1 * tails + 1e-15


def test_estimate_annotator_log_joint_matches_scipy(ratings):
    mu = np.array([1.5, 4.0, np.nan, 2.0])
    sigma, pi, low, high = 0.7, 0.3, -1.0, 6.0
    sq = _compute_annotator_sq_residuals(ratings, mu, np.zeros(3))
    log_density = _estimate_normal_log_density(
        sq, ratings.n_per_annotator, np.full(3, sigma)
    )
    log_good, log_bad = _estimate_annotator_log_joint(
        log_density, -ratings.n_per_annotator * np.log(high - low), pi
    )
    for a in range(3):
        mine = ratings.annotator == a
        scores, items = ratings.score[mine], ratings.item[mine]
        expected = np.log(pi) + norm.logpdf(scores, mu[items], sigma).sum()
        assert log_good[a] == pytest.approx(expected)
        assert log_bad[a] == pytest.approx(np.log(1 - pi) - mine.sum() * np.log(7))


def test_estimate_log_posterior_normalizes_without_underflow():
    log_good = np.array([-5000.0, 0.0, -3.0])
    log_bad = np.array([-4000.0, -2000.0, -3.0])
    log_marginal, log_posterior, log_posterior_bad = _estimate_log_posterior(
        log_good, log_bad
    )
    np.testing.assert_allclose(log_marginal, logsumexp([log_good, log_bad], axis=0))
    np.testing.assert_allclose(np.exp(log_posterior), [0.0, 1.0, 0.5])
    np.testing.assert_allclose(np.exp(log_posterior_bad), [1.0, 0.0, 0.5])
    assert np.all(np.isfinite(log_posterior)) and np.all(np.isfinite(log_posterior_bad))


def test_compute_item_log_likelihood_matches_the_mixture_formula(ratings):
    consensus = np.array([1.5, 4.0, np.nan, 2.0])
    weights = np.array([0.9, 0.0, 1.0])
    sigma, score_range = 0.8, (0.0, 4.5)
    with np.errstate(divide="ignore"):
        log_w, log_not_w = np.log(weights), np.log1p(-weights)
    result = _compute_item_log_likelihood(
        ratings,
        consensus,
        ZERO3,
        np.full(3, sigma),
        log_w,
        log_not_w,
        score_range,
        False,
    )
    for i in (0, 1, 3):
        expected = 0.0
        for a in np.flatnonzero(~np.isnan(X[i])):
            s = X[i, a]
            uniform = 1 / 4.5 if 0.0 <= s <= 4.5 else 0.0
            with np.errstate(divide="ignore"):
                expected += np.log(
                    weights[a] * norm.pdf(s, consensus[i], sigma)
                    + (1 - weights[a]) * uniform
                )
        assert result[i] == pytest.approx(expected)
    assert result[2] == 0.0
    # Item 1: annotator 2 gave 5.0, outside (0, 4.5), but is fully "good".
    assert np.isfinite(result[1])


@pytest.mark.parametrize("n", [0, 1, 6, 7, 8, 20, 21])
def test_chunks_cover_every_position_once_in_order(monkeypatch, n):
    """The chunks are consecutive, at most ``_CHUNK_SIZE`` long, and cover
    ``range(n)`` exactly, whether or not the size divides ``n``."""
    monkeypatch.setattr(skem._model.likelihoods, "_CHUNK_SIZE", 7)
    chunks = list(_chunks(n))
    covered = np.concatenate([np.arange(n)[chunk] for chunk in chunks] or [[]])
    np.testing.assert_array_equal(covered, np.arange(n))
    assert all(0 < chunk.stop - chunk.start <= 7 for chunk in chunks)
    assert len(chunks) == -(-n // 7)
