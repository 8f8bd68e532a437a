"""The normal's mass on an interval and the moments of the normal restricted to it.

The pieces that the truncated form (a point in the range) and the levels form
(an interval in the range) share, in log space and stable far in the tails:
the log mass, a cheap lower bound on it, and the moments that the Newton
steps need.
"""

import numpy as np
from scipy.special import erf, erfc, erfcx

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_SQRT_2PI = np.sqrt(2 * np.pi)
_SQRT_HALF = np.sqrt(0.5)

# Near and below the smallest normal double (exp(-708.4)) numpy's exp leaves
# its fast path: a subnormal result costs a hundred times a normal one, an
# underflow to 0 twenty times, and so, measured, does exp(-708) itself.
_MIN_NORMAL_EXPONENT = -700.0


def _exp_flushed(x):
    """``exp(x)``, results below the smallest normal double flushed to 0.

    The densities at a cell's or a range's far bounds, far in a tail, are
    such results: a fifth of a panel's ratings on levels have a bound 40
    standard deviations out, where numpy's exp costs 12 ns a rating, not
    0.7. Taken as 0, they change a ratio by less than ``1e-304``.

    Parameters
    ----------
    x : ndarray

    Returns
    -------
    ndarray
        ``exp(x)`` where ``x >= _MIN_NORMAL_EXPONENT``, else 0.
    """
    # One reduction spares the clip and the mask where nothing is that small,
    # as with exact scores; NaN takes the general path, and stays NaN.
    if x.min(initial=np.inf) >= _MIN_NORMAL_EXPONENT:
        return np.exp(x)
    value = np.exp(np.maximum(x, _MIN_NORMAL_EXPONENT))
    value *= x >= _MIN_NORMAL_EXPONENT
    return value


def _log_normal_mass_lower_bound(alpha, beta):
    """A lower bound on ``log(Phi(beta) - Phi(alpha))``, without error functions.

    Each tail ``Q(x) = 1 - Phi(x)``, ``x >= 0``, is at most ``exp(-x**2 / 2)
    min(1/2, 4 / (sqrt(2 pi) (3 x + sqrt(x**2 + 8))))``: the Chernoff bound,
    exact at 0, and an upper bound on Mills' ratio ``Q / phi`` that is tight
    far in the tail. The smaller of the two is at most 10% above ``Q``; an
    exponential costs a fraction of an error function.

    Parameters
    ----------
    alpha, beta : ndarray of the same shape
        Standardized bounds, ``alpha <= 0 <= beta``.

    Returns
    -------
    log_mass_bound : ndarray
        ``log(1 - Q(-alpha) - Q(beta))`` with each ``Q`` replaced by its
        upper bound; ``-inf`` where that is not positive.
    """
    mass = np.ones(np.shape(alpha))
    for x in (-alpha, beta):
        mills = 4.0 / (_SQRT_2PI * (3.0 * x + np.sqrt(x * x + 8.0)))
        mass -= _exp_flushed(-0.5 * x * x) * np.minimum(0.5, mills)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.maximum(mass, 0.0))


def _shifted_log_normal_mass(alpha, beta):
    """``log(Phi(beta) - Phi(alpha)) + anchor**2 / 2``, and the anchor.

    The anchor is the bound nearer the mean when both bounds lie in one tail
    (``alpha`` if ``alpha > 0``, ``beta`` if ``beta < 0``), else 0. Far in a
    tail the log mass is about ``-anchor**2 / 2``, so a log density ``-z**2 / 2
    - log_mass`` is a difference of two huge numbers; with the anchor split off
    it is ``-(z - anchor)(z + anchor) / 2 - shifted``, which keeps its
    precision.

    - Straddling bounds: ``(erf(beta / sqrt 2) + erf(-alpha / sqrt 2)) / 2``,
      a sum of two positive terms, exact even for a narrow interval.
    - One tail: from ``erfcx``, the scaled complementary error function, as
      ``Phi(-t) = erfcx(t / sqrt 2) exp(-t**2 / 2) / 2``.

    Parameters
    ----------
    alpha, beta : ndarray of the same shape
        Standardized bounds, ``alpha < beta``.

    Returns
    -------
    shifted : ndarray
    anchor : ndarray or None
        None if no pair of bounds lies in one tail (every anchor is 0).
    """
    # Two reductions rule out the one-tail case, the truncated form's common
    # one, without a mask.
    if not (
        np.fmax.reduce(alpha, initial=-np.inf) > 0
        or np.fmin.reduce(beta, initial=np.inf) < 0
    ):
        return _log_straddling_mass(alpha, beta), None
    # The levels' cells mostly lie in one tail: each pair gets only its own
    # error functions.
    one_tail = (alpha > 0) | (beta < 0)
    shifted = np.empty(np.shape(alpha))
    straddle = ~one_tail
    if straddle.any():
        shifted[straddle] = _log_straddling_mass(alpha[straddle], beta[straddle])
    anchor = np.zeros(shifted.shape)
    a, b = alpha[one_tail], beta[one_tail]
    upper = a > 0
    # Reflect the lower tail onto the upper one: near < far, both > 0.
    near = np.where(upper, a, -b)
    far = np.where(upper, b, -a)
    shifted[one_tail] = _shifted_log_tail_mass(near, far)
    anchor[one_tail] = np.where(upper, a, b)
    return shifted, anchor


# The erfc form of a tail's mass serves below this near bound, where erfc is
# a normal number (erfc(20 / sqrt 2) is about 5e-89); beyond it only the
# scaled function keeps the mass from underflowing.
_ERFC_NEAR = 20.0

# ... and where the cell holds at least this fraction of the tail beyond it,
# about ``(far - near) * max(near, 1)``: its difference of two erfc then loses
# at most a factor 100 of their precision (scipy's erfc is within about
# 1.5e-14 of the truth near 12: within 1e-11 in the log mass, measured 7e-12).
_ERFC_MIN_SHARE = 1e-2

# A cell at most this many standard deviations wide, times max(|midpoint|,
# 1), has its mass from the midpoint's series (:func:`_log_mass_ratios_narrow`):
# a noisy annotator's cells on a fine scale (0..100 in whole numbers), which
# the erfc form leaves to the erfcx one.
_NARROW = 1e-2


def _shifted_log_tail_mass(near, far):
    """``log(Q(near) - Q(far)) + near**2 / 2``, ``Q = 1 - Phi``, ``0 < near < far``.

    From two erfc where that is precise (see ``_ERFC_NEAR`` and
    ``_ERFC_MIN_SHARE``), which cost about two thirds of two erfcx; from erfcx
    elsewhere.
    """
    cheap = (near < _ERFC_NEAR) & (
        (far - near) * np.maximum(near, 1.0) > _ERFC_MIN_SHARE
    )
    if cheap.all():
        return _shifted_log_tail_mass_erfc(near, far)
    shifted = np.empty(near.shape)
    shifted[cheap] = _shifted_log_tail_mass_erfc(near[cheap], far[cheap])
    scaled = ~cheap
    shifted[scaled] = _shifted_log_tail_mass_erfcx(near[scaled], far[scaled])
    return shifted


def _shifted_log_tail_mass_erfc(near, far):
    """``log(Q(near) - Q(far)) + near**2 / 2`` from erfc, ``0 < near < _ERFC_NEAR``.

    ``Q = 1 - Phi``; ``far > near``, and ``Q(far)`` may underflow to 0. A
    narrow cell cancels: see :func:`_shifted_log_tail_mass`.
    """
    mass = erfc(near * _SQRT_HALF)
    mass -= erfc(far * _SQRT_HALF)
    mass *= 0.5
    with np.errstate(divide="ignore"):
        np.log(mass, out=mass)
    mass += 0.5 * near * near
    return mass


def _shifted_log_tail_mass_erfcx(near, far):
    """``log(Q(near) - Q(far)) + near**2 / 2`` from erfcx, for any ``near > 0``.

    ``Q(t) = erfcx(t / sqrt 2) exp(-t**2 / 2) / 2``: the scaled function
    keeps the mass of a cell far in the tail from underflowing.
    """
    scaled_near = erfcx(near * _SQRT_HALF)
    gap = np.log(erfcx(far * _SQRT_HALF) / scaled_near) - 0.5 * (far - near) * (
        far + near
    )
    with np.errstate(divide="ignore"):
        return np.log(0.5 * scaled_near) + np.log(-np.expm1(gap))


def _log_straddling_mass(alpha, beta):
    """``log(Phi(beta) - Phi(alpha))`` for ``alpha <= 0 <= beta``, from erf."""
    mass = erf(beta * _SQRT_HALF)
    mass += erf(alpha * -_SQRT_HALF)
    mass *= 0.5
    with np.errstate(divide="ignore"):
        return np.log(mass, out=mass)


def _compute_log_mass_ratios(near, far):
    """``log(Phi(far) - Phi(near))``, ``phi(near) / Z`` and ``phi(far) / Z``.

    ``Z`` is the mass between the standardized bounds ``near < far``. Cells
    that lie mostly above the mean, as reflected ones do, have the common
    case: a near bound below ``_ERFC_NEAR``, a far bound above 0 and a cell
    wide enough for its share (``_ERFC_MIN_SHARE``). There the mass is the
    difference of two erfc, without masks, and keeps 12 digits: a cell in
    the upper tail as in :func:`_shifted_log_tail_mass`; a straddling cell at
    least a hundredth of a standard deviation wide holds at least 0.002,
    and each erfc is at most 2. A narrower cell takes the series about its
    midpoint (:func:`_log_mass_ratios_narrow`), the others (far in a tail)
    :func:`_shifted_log_normal_mass` with its anchor.

    Parameters
    ----------
    near, far : ndarray of the same shape
        Standardized bounds, ``near < far``.

    Returns
    -------
    log_mass, ratio_near, ratio_far : ndarray
        The log mass, and the density at each bound over the mass.
    """
    width = far - near
    cheap = near < _ERFC_NEAR
    cheap &= far > 0
    cheap &= width * np.maximum(near, 1.0) > _ERFC_MIN_SHARE
    if cheap.all():
        return _log_mass_ratios_erfc(near, far)
    # The others are overwritten: gathering them costs less than gathering
    # the many. Their erfc form may be log(0) or NaN meanwhile.
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _log_mass_ratios_erfc(near, far)
    rest = ~cheap
    narrow = rest & (width * np.maximum(np.abs(near + 0.5 * width), 1.0) <= _NARROW)
    rest &= ~narrow
    for subset, compute in (
        (narrow, _log_mass_ratios_narrow),
        (rest, _log_mass_ratios_anchored),
    ):
        if subset.any():
            parts = compute(near[subset], far[subset])
            for value, part in zip(out, parts, strict=True):
                value[subset] = part
    return out


def _log_mass_ratios_erfc(near, far):
    """:func:`_compute_log_mass_ratios` from two erfc, in its common case."""
    mass = erfc(near * _SQRT_HALF)
    mass -= erfc(far * _SQRT_HALF)
    mass *= 0.5
    log_mass = np.log(mass, out=mass)
    log_scale = -_LOG_SQRT_2PI - log_mass
    # A far bound's square may overflow: its density, and ratio, is then 0.
    with np.errstate(over="ignore"):
        ratio_near = _exp_flushed(log_scale - 0.5 * near * near)
        ratio_far = _exp_flushed(log_scale - 0.5 * far * far)
    return log_mass, ratio_near, ratio_far


def _log_mass_ratios_narrow(near, far):
    """:func:`_compute_log_mass_ratios` of a narrow cell, from its midpoint.

    With ``w`` the width and ``m`` the midpoint, the mass is ``w phi(m) (1 +
    w**2 He_2(m) / 24 + w**4 He_4(m) / 1920 + ...)``, ``He_k`` the Hermite
    polynomials (the Taylor series of ``phi`` about ``m``, integrated term by
    term): where ``w max(|m|, 1) <= _NARROW`` the next term is below
    ``1e-17`` of the mass, and no difference of two CDFs cancels, however
    far out the cell lies.
    """
    width = far - near
    mid = near + 0.5 * width
    mid_squared = mid * mid
    width_squared = width * width
    series = width_squared * (mid_squared - 1.0) / 24.0
    series += (
        width_squared
        * width_squared
        * ((mid_squared - 6.0) * mid_squared + 3.0)
        / 1920.0
    )
    log_width = np.log(width)
    log_series = np.log1p(series)
    log_mass = log_width - 0.5 * mid_squared - _LOG_SQRT_2PI + log_series
    # phi(x) / Z = exp(-(x**2 - m**2) / 2) / (w (1 + series)), with
    # x**2 - m**2 = (x - m)(x + m) = -+ w (x + m) / 2.
    ratio_near = np.exp(0.25 * width * (near + mid) - log_width - log_series)
    ratio_far = np.exp(-0.25 * width * (far + mid) - log_width - log_series)
    return log_mass, ratio_near, ratio_far


def _log_mass_ratios_anchored(near, far):
    """:func:`_compute_log_mass_ratios` with the anchor, for any bounds."""
    shifted, anchor = _shifted_log_normal_mass(near, far)
    log_scale = -_LOG_SQRT_2PI - shifted
    with np.errstate(over="ignore"):
        ratio_near = _exp_flushed(log_scale - _half_square_from(near, anchor))
        ratio_far = _exp_flushed(log_scale - _half_square_from(far, anchor))
    log_mass = shifted if anchor is None else shifted - 0.5 * anchor * anchor
    return log_mass, ratio_near, ratio_far


def _half_square_from(x, anchor):
    """``(x**2 - anchor**2) / 2``, factored; ``x**2 / 2`` if the anchor is None."""
    if anchor is None:
        return 0.5 * x * x
    return 0.5 * (x - anchor) * (x + anchor)


def _compute_truncated_moments(alpha, beta, ratio_alpha, ratio_beta):
    """Moments of the standardized truncated normal of each rating.

    For ``t = (x - location) / sigma`` with ``x`` truncated to the bounds,
    ``E[t^k] = (k - 1) E[t^(k-2)] + (alpha^(k-1) phi(alpha) - beta^(k-1)
    phi(beta)) / Z``.

    Parameters
    ----------
    alpha, beta : ndarray of shape (n_ratings,)
        The standardized bounds.
    ratio_alpha, ratio_beta : ndarray of shape (n_ratings,)
        ``phi(alpha) / Z`` and ``phi(beta) / Z``, with ``Z`` the mass inside
        the bounds.

    Returns
    -------
    mean, var, second, var_square : ndarray of shape (n_ratings,)
        ``E[t]``, ``Var[t]``, ``E[t^2]`` and ``Var[t^2]``, the variances
        clipped at 0 against rounding: they only shape Newton steps, which a
        guard checks, so their precision never decides monotonicity.
    """
    alpha_pa, beta_pb = alpha * ratio_alpha, beta * ratio_beta
    mean = ratio_alpha - ratio_beta
    second = 1.0 + alpha_pa
    second -= beta_pb
    # Products from the ratio outward: a far bound's ratio is 0, its square
    # may overflow.
    alpha_pa *= alpha
    alpha_pa *= alpha
    beta_pb *= beta
    beta_pb *= beta
    fourth = 3.0 * second
    fourth += alpha_pa
    fourth -= beta_pb
    var = mean * mean
    np.subtract(second, var, out=var)
    var_square = second * second
    np.subtract(fourth, var_square, out=var_square)
    return (
        mean,
        np.maximum(var, 0.0, out=var),
        second,
        np.maximum(var_square, 0.0, out=var_square),
    )
