"""Log densities of the good/bad annotator model, in log space throughout.

A good annotator ``a`` rates item ``i`` as ``Normal(mu_i + b_a, sigma_a**2)``,
optionally truncated to the score range; a bad annotator rates
``Uniform(low, high)``; an annotator is good with prior probability ``pi``.
A product of a few hundred densities underflows double precision, so every
likelihood here is a sum of logs.
"""

import numpy as np
from scipy.special import erf, erfcx, gammaln

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_SQRT_HALF = np.sqrt(0.5)

# Beyond this many standard deviations from both bounds a normal loses less
# than 1e-16 of its mass: the truncation leaves its density unchanged in
# double precision, and its normal CDFs need not be evaluated.
_FAR = 8.3

# Ratings per chunk of _compute_good_terms: a few arrays of this many doubles
# fit in a core's L2 cache.
_CHUNK_SIZE = 32_768
_NORMAL_TERMS = ("z", "log_density")
_TRUNCATED_DERIVATIVES = (
    "location_slope",
    "location_information",
    "scale_slope",
    "scale_information",
)


def _log_normal_mass(alpha, beta):
    """``log(Phi(beta) - Phi(alpha))``, stable in both tails and for narrow intervals.

    Parameters
    ----------
    alpha, beta : ndarray of the same shape
        Standardized bounds, ``alpha < beta``.

    Returns
    -------
    log_mass : ndarray
        The log probability that a standard normal variable lies in
        ``[alpha, beta]``; see :func:`_shifted_log_normal_mass`.
    """
    shifted, anchor = _shifted_log_normal_mass(alpha, beta)
    if anchor is None:
        return shifted
    return shifted - 0.5 * anchor * anchor


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
    with np.errstate(divide="ignore"):
        shifted = np.log(0.5 * (erf(beta * _SQRT_HALF) + erf(-alpha * _SQRT_HALF)))
    one_tail = (alpha > 0) | (beta < 0)
    if not one_tail.any():
        return shifted, None
    anchor = np.zeros(shifted.shape)
    a, b = alpha[one_tail], beta[one_tail]
    upper = a > 0
    # Reflect the lower tail onto the upper one: near < far, both > 0.
    near = np.where(upper, a, -b)
    far = np.where(upper, b, -a)
    scaled_near = erfcx(near * _SQRT_HALF)
    gap = np.log(erfcx(far * _SQRT_HALF) / scaled_near) - 0.5 * (far - near) * (
        far + near
    )
    with np.errstate(divide="ignore"):
        shifted[one_tail] = np.log(0.5 * scaled_near) + np.log(-np.expm1(gap))
    anchor[one_tail] = np.where(upper, a, b)
    return shifted, anchor


def _compute_good_terms(score, location, sigma, bounds=None, log_sigma=None):
    """Per-rating log density of the good component and its ingredients.

    The ratings are taken in chunks of ``_CHUNK_SIZE``: a dozen elementwise
    passes (two of them error functions) then run on arrays that stay in the
    processor's cache, rather than each streaming every rating from memory.

    Parameters
    ----------
    score : ndarray of shape (n_ratings,)
        Ratings, in unit score space.
    location : ndarray of shape (n_ratings,)
        ``mu_i + b_a`` of each rating.
    sigma : ndarray of shape (n_ratings,)
        ``sigma_a`` of each rating's annotator.
    bounds : tuple of float or None, default=None
        ``(low, high)`` of the truncation, or None for the plain normal.
    log_sigma : ndarray of shape (n_ratings,), default=None
        ``log(sigma)``, if the caller has it: a gather of each annotator's
        log costs less than a log per rating.

    Returns
    -------
    terms : dict
        ``z = (score - location) / sigma`` and ``log_density``, the log
        density of each rating under the good component. With ``bounds``
        also what the Newton steps need, from the moments of the
        standardized truncated variable ``t`` (see
        :func:`_compute_truncated_moments`): ``location_slope`` and
        ``location_information``, ``(z - E[t]) / sigma`` and ``Var[t] /
        sigma**2``, the first derivative of the log density in the location
        and minus the second; ``scale_slope`` and ``scale_information``,
        ``E[t^2] - z**2`` and ``Var[t^2]``, the same in the precision ``lam
        = 1 / sigma**2`` up to the factors ``1 / (2 lam)`` and ``1 / (4
        lam**2)``.
    """
    if log_sigma is None:
        log_sigma = np.log(sigma)
    score, location, sigma, log_sigma = np.broadcast_arrays(
        score, location, sigma, log_sigma
    )
    n_ratings = score.shape[0]
    keys = _NORMAL_TERMS if bounds is None else _NORMAL_TERMS + _TRUNCATED_DERIVATIVES
    terms = {key: np.empty(n_ratings) for key in keys}
    for start in range(0, n_ratings, _CHUNK_SIZE):
        chunk = slice(start, start + _CHUNK_SIZE)
        values = _compute_chunk_terms(
            score[chunk], location[chunk], sigma[chunk], log_sigma[chunk], bounds
        )
        for key, value in zip(keys, values, strict=True):
            terms[key][chunk] = value
    return terms


def _compute_chunk_terms(score, location, sigma, log_sigma, bounds):
    """The values of :func:`_compute_good_terms` for one chunk, in its key order."""
    z = (score - location) / sigma
    if bounds is None:
        with np.errstate(over="ignore"):  # 1e160 sigmas away: a density of 0
            return z, -_LOG_SQRT_2PI - log_sigma - 0.5 * z * z
    low, high = bounds
    # Divided, not multiplied by 1 / sigma: far beyond the bounds z and alpha
    # are huge and nearly equal, and only matching roundings keep z - alpha.
    alpha = (low - location) / sigma
    beta = (high - location) / sigma
    near = (alpha > -_FAR) | (beta < _FAR)
    if near.all():
        near = slice(None)
        log_density = np.empty_like(z)
        ratio_alpha, ratio_beta = np.empty_like(z), np.empty_like(z)
    else:
        with np.errstate(over="ignore"):
            log_density = -_LOG_SQRT_2PI - log_sigma - 0.5 * z * z
        ratio_alpha, ratio_beta = np.zeros_like(z), np.zeros_like(z)
    a, b, zn = alpha[near], beta[near], z[near]
    shifted, anchor = _shifted_log_normal_mass(a, b)
    log_scale = -_LOG_SQRT_2PI - shifted
    # -z**2 / 2 - log_mass, with the anchor's square taken out of both. A
    # square that overflows (a bound 1e160 sigmas away) is a density, or a
    # ratio, of exactly 0.
    with np.errstate(over="ignore"):
        log_density[near] = log_scale - log_sigma[near] - _half_square_from(zn, anchor)
        ratio_alpha[near] = np.exp(log_scale - _half_square_from(a, anchor))
        ratio_beta[near] = np.exp(log_scale - _half_square_from(b, anchor))
    mean, var, second, var_square = _compute_truncated_moments(
        alpha, beta, ratio_alpha, ratio_beta
    )
    inverse_sigma = 1.0 / sigma
    with np.errstate(over="ignore"):  # held-out scores 1e160 sigmas away
        scale_slope = second - z * z
    return (
        z,
        log_density,
        (z - mean) * inverse_sigma,
        var * inverse_sigma * inverse_sigma,
        scale_slope,
        var_square,
    )


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
    second = 1.0 + alpha_pa - beta_pb
    # Products from the ratio outward: a far bound's ratio is 0, its square
    # may overflow.
    fourth = 3.0 * second + alpha_pa * alpha * alpha - beta_pb * beta * beta
    return (
        mean,
        np.maximum(second - mean * mean, 0.0),
        second,
        np.maximum(fourth - second * second, 0.0),
    )


def _estimate_annotator_log_joint(good_log_density, n_per_annotator, pi, log_uniform):
    """Log joint probability of each annotator's ratings and good/bad flag.

    Parameters
    ----------
    good_log_density : ndarray of shape (n_annotators,)
        ``sum_i log f_good(s_ia)`` over the items that ``a`` rated.
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    pi : float
        Prior probability of a good annotator, in (0, 1).
    log_uniform : float
        ``-log(high - low)``, the log density of a bad rating.

    Returns
    -------
    log_good : ndarray of shape (n_annotators,)
        ``log pi + sum_i log f_good(s_ia)``.
    log_bad : ndarray of shape (n_annotators,)
        ``log(1 - pi) + n_a log U``.
    """
    log_good = np.log(pi) + good_log_density
    log_bad = np.log1p(-pi) + n_per_annotator * log_uniform
    return log_good, log_bad


def _estimate_normal_log_density(sq_residuals, n_per_annotator, sigma):
    """``sum_i log Normal(s_ia; mu_i + b_a, sigma_a)`` of each annotator.

    Parameters
    ----------
    sq_residuals : ndarray of shape (n_annotators,)
        ``sum_i (s_ia - mu_i - b_a)**2`` per annotator.
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    sigma : ndarray of shape (n_annotators,)
        Standard deviation of each annotator's good ratings.

    Returns
    -------
    log_density : ndarray of shape (n_annotators,)
    """
    return -n_per_annotator * (_LOG_SQRT_2PI + np.log(sigma)) - sq_residuals / (
        2.0 * sigma**2
    )


def _estimate_log_posterior(log_good, log_bad):
    """Posterior of each annotator's flag, in log space.

    Parameters
    ----------
    log_good, log_bad : ndarray of shape (n_annotators,)
        Output of :func:`_estimate_annotator_log_joint`.

    Returns
    -------
    log_marginal : ndarray of shape (n_annotators,)
        ``log(pi prod f_good + (1 - pi) prod U)``, each annotator's
        contribution to the log-likelihood.
    log_posterior : ndarray of shape (n_annotators,)
        ``log P(z_a = 1 | s_a)``.
    log_posterior_bad : ndarray of shape (n_annotators,)
        ``log P(z_a = 0 | s_a)``, kept separately: ``log(1 - exp(.))`` of a
        posterior that rounds to 1 would be ``-inf``.
    """
    log_marginal = np.logaddexp(log_good, log_bad)
    return log_marginal, log_good - log_marginal, log_bad - log_marginal


def _compute_sigma_log_prior(sigma, shared_sigma, strength):
    """Log density of each ``sigma_a**2`` under its scaled inverse-chi-squared prior.

    ``sigma_a**2 ~ Scale-inv-chi2(nu, tau**2)`` with ``nu = strength`` (in
    pseudo-ratings) and ``tau = shared_sigma``: the posterior of a variance
    after ``n`` normal ratings has ``nu + n`` degrees of freedom.

    Parameters
    ----------
    sigma : ndarray of shape (n_annotators,)
        Standard deviation of each annotator.
    shared_sigma : float
        The shared scale ``tau`` the prior pulls toward.
    strength : float
        ``nu > 0``.

    Returns
    -------
    log_prior : ndarray of shape (n_annotators,)
        ``(nu/2) log(nu tau^2 / 2) - lgamma(nu/2) - (nu/2 + 1) log sigma^2 -
        nu tau^2 / (2 sigma^2)``.
    """
    half = 0.5 * strength
    variance = sigma**2
    scaled = strength * shared_sigma**2
    return (
        half * np.log(0.5 * scaled)
        - gammaln(half)
        - (half + 1.0) * np.log(variance)
        - 0.5 * scaled / variance
    )


def _compute_item_log_likelihood(
    ratings, consensus, bias, sigma, log_posterior, log_posterior_bad, bounds, truncated
):
    """Predictive log-likelihood of each item's ratings, in unit score space.

    ``sum_a log(w_a f_good(s_ia; m_i + b_a, sigma_a) + (1 - w_a) U(s_ia))``
    over the annotators who rated item ``i``, with ``f_good`` the normal, or
    the normal truncated to ``bounds``, and ``U`` uniform on ``bounds``.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings, unit scores, all inside ``bounds``.
    consensus : ndarray of shape (n_items,)
        Consensus ``m_i`` of each item.
    bias, sigma : ndarray of shape (n_annotators,)
        Bias and standard deviation of each annotator's good ratings.
    log_posterior, log_posterior_bad : ndarray of shape (n_annotators,)
        ``log w_a`` and ``log(1 - w_a)``.
    bounds : tuple of float
        ``(low, high)`` of the uniform, in unit space.
    truncated : bool
        Whether good ratings are truncated to ``bounds``.

    Returns
    -------
    log_likelihood : ndarray of shape (n_items,)
        Zero for the items without any rating.
    """
    annotator = ratings.annotator
    terms = _compute_good_terms(
        ratings.score,
        consensus[ratings.item] + bias[annotator],
        sigma[annotator],
        bounds if truncated else None,
    )
    low, high = bounds
    per_rating = np.logaddexp(
        log_posterior[annotator] + terms["log_density"],
        log_posterior_bad[annotator] - np.log(high - low),
    )
    return np.bincount(ratings.item, per_rating, minlength=ratings.n_items)
