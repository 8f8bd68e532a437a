"""Log densities of the good/bad annotator model, in log space throughout.

A good annotator ``a`` rates item ``i`` as ``Normal(mu_i + b_a, sigma_a**2)``,
optionally truncated to the score range; a bad annotator rates
``Uniform(low, high)`` (on levels it may give one level throughout,
:mod:`skem._model.random`); an annotator is good with prior probability ``pi``.
A product of a few hundred densities underflows double precision, so every
likelihood here is a sum of logs.
"""

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import gammaln

from skem._em.recycling import _empty
from skem._model.levels import _compute_level_chunk_terms
from skem._model.normal_mass import (
    _LOG_SQRT_2PI,
    _compute_truncated_moments,
    _exp_flushed,
    _half_square_from,
    _shifted_log_normal_mass,
)

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
# What the E-step and the precision step sum over each annotator's ratings.
_SUMMED_TERMS = ("log_density", "scale_slope", "scale_information")
# The terms a block keeps per rating: what the guarded location steps read
# again. The others are only ever summed per annotator (with ``z`` squared):
# the pass sums them a chunk at a time and never writes them out.
_KEPT_TERMS = ("log_density", "location_slope", "location_information")


def _chunks(n):
    """Consecutive slices of ``_CHUNK_SIZE`` positions that cover ``range(n)``.

    A pass over every rating, a chunk at a time, keeps its temporaries in
    cache and off the peak memory of a large fit.
    """
    return (slice(start, start + _CHUNK_SIZE) for start in range(0, n, _CHUNK_SIZE))


class _Gather(NamedTuple):
    """``values[index]``, which :func:`_compute_good_terms` takes chunk by chunk.

    A per-annotator or per-item parameter gathered for every rating would be
    a full-length array, written and read back once; gathered per chunk, it
    stays in cache.
    """

    values: np.ndarray
    index: np.ndarray


def _chunk_of(values, chunk):
    """The ``chunk`` slice of a per-rating array or of a :class:`_Gather`."""
    if isinstance(values, _Gather):
        return values.values[values.index[chunk]]
    return values[chunk]


def _compute_good_terms(
    score,
    location,
    sigma,
    bounds=None,
    log_sigma=None,
    sum_by=None,
    half_step=0.0,
    keep=None,
):
    """Per-rating log density of the good component and its ingredients.

    The ratings are taken in chunks of ``_CHUNK_SIZE``: a few dozen
    elementwise passes (two of them error functions) then run on arrays that
    stay in the processor's cache, rather than each streaming every rating
    from memory, and write their results straight into the returned arrays.

    Parameters
    ----------
    score : ndarray of shape (n_ratings,)
        Ratings, in unit score space.
    location : ndarray of shape (n_ratings,) or _Gather
        ``mu_i + b_a`` of each rating.
    sigma : ndarray of shape (n_ratings,) or _Gather
        ``sigma_a`` of each rating's annotator.
    bounds : tuple of float or None, default=None
        ``(low, high)`` of the truncation, or None for the plain normal.
    log_sigma : ndarray of shape (n_ratings,) or _Gather, default=None
        ``log(sigma)``, if the caller has it: a gather of each annotator's
        log costs less than a log per rating.
    sum_by : tuple of (ndarray of shape (n_ratings,), int), default=None
        ``(group, n_groups)``: also return :func:`_sum_terms_by` of the
        terms, taken chunk by chunk while the chunk is in cache. Needs
        ``bounds``.
    half_step : float, default=0.0
        Half the spacing of the levels when each score is a level of a
        discrete scale (:attr:`skem._em.ratings._Ratings.half_step`): the terms
        are then those of the rating's cell
        (:func:`skem._model.levels._compute_level_chunk_terms`). Needs
        ``bounds``.
    keep : tuple of str, default=None
        The terms to return per rating (all if None). The others are
        computed a chunk at a time in scratch arrays, for ``sum_by``: an
        array of every rating costs memory and a write of each rating.

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
    sums : dict
        Only with ``sum_by``: :func:`_sum_terms_by` of ``terms``.
    """
    if log_sigma is None:
        log_sigma = (
            _Gather(np.log(sigma.values), sigma.index)
            if isinstance(sigma, _Gather)
            else np.log(sigma)
        )
    score = np.asarray(score)
    n_ratings = score.shape[0]
    location, sigma, log_sigma = (
        value if isinstance(value, _Gather) else np.broadcast_to(value, n_ratings)
        for value in (location, sigma, log_sigma)
    )
    keys = _NORMAL_TERMS if bounds is None else _NORMAL_TERMS + _TRUNCATED_DERIVATIVES
    kept = keys if keep is None else tuple(key for key in keys if key in keep)
    terms = {key: _empty(n_ratings) for key in kept}
    scratch = {
        key: np.empty(min(n_ratings, _CHUNK_SIZE)) for key in keys if key not in kept
    }
    sums = None
    for chunk in _chunks(n_ratings):
        size = min(_CHUNK_SIZE, n_ratings - chunk.start)
        chunk_terms = {
            key: terms[key][chunk] if key in terms else scratch[key][:size]
            for key in keys
        }
        arguments = (
            score[chunk],
            _chunk_of(location, chunk),
            _chunk_of(sigma, chunk),
            _chunk_of(log_sigma, chunk),
            bounds,
        )
        if half_step > 0:
            _compute_level_chunk_terms(
                *arguments, half_step, list(chunk_terms.values())
            )
        else:
            _compute_chunk_terms(*arguments, list(chunk_terms.values()))
        if sum_by is not None:
            group, n_groups = sum_by
            chunk_sums = _sum_terms_by(group[chunk], n_groups, chunk_terms)
            if sums is None:
                sums = chunk_sums
            else:
                for key, value in chunk_sums.items():
                    sums[key] += value
    if sum_by is None:
        return terms
    if sums is None:
        # No ratings: every array is empty.
        sums = _sum_terms_by(sum_by[0], sum_by[1], {**terms, **scratch})
    # Blocks keep these sums and hand the same arrays to the client's steps:
    # read-only, so that no step can change a block's sums in place.
    for value in sums.values():
        value.flags.writeable = False
    return terms, sums


def _sum_terms_by(group, n_groups, terms):
    """Per-group sums of the bounded terms, and of ``z**2``.

    Parameters
    ----------
    group : ndarray of shape (n_ratings,)
        Group (annotator) of each rating.
    n_groups : int
    terms : dict
        Output of :func:`_compute_good_terms` with bounds.

    Returns
    -------
    sums : dict
        ``log_density``, ``scale_slope`` and ``scale_information``, each
        summed over each group's ratings, and ``z_squared``, ``sum z**2``, the
        squared residuals over ``sigma**2``; each of shape (n_groups,).
    """
    sums = {
        key: np.bincount(group, terms[key], minlength=n_groups) for key in _SUMMED_TERMS
    }
    sums["z_squared"] = np.bincount(group, terms["z"] * terms["z"], minlength=n_groups)
    return sums


def _compute_chunk_terms(score, location, sigma, log_sigma, bounds, out):
    """Fill ``out``, one chunk of each array of :func:`_compute_good_terms`."""
    z, log_density = out[:2]
    np.subtract(score, location, out=z)
    z /= sigma
    # A square that overflows (a score or a bound 1e160 sigmas away) is a
    # density, or a ratio, of exactly 0.
    with np.errstate(over="ignore"):
        z_squared = z * z
    if bounds is None:
        np.subtract(-_LOG_SQRT_2PI, log_sigma, out=log_density)
        log_density -= 0.5 * z_squared
        return
    location_slope, location_information, scale_slope, scale_information = out[2:]
    low, high = bounds
    # Divided, not multiplied by 1 / sigma: far beyond the bounds z and alpha
    # are huge and nearly equal, and only matching roundings keep z - alpha.
    alpha = np.subtract(low, location)
    alpha /= sigma
    beta = np.subtract(high, location)
    beta /= sigma
    near = None
    # A rating is far from both bounds only if its sigma is below a
    # 2 * _FAR-th of the width: one reduction usually rules that out.
    if not high - low < 2 * _FAR * np.min(sigma, initial=np.inf):
        near = (alpha > -_FAR) | (beta < _FAR)
        if near.all():
            near = None
    if near is None:
        ratio_alpha, ratio_beta = _compute_truncation_ratios(
            alpha, beta, z, log_sigma, log_density
        )
    else:
        np.subtract(-_LOG_SQRT_2PI, log_sigma, out=log_density)
        log_density -= 0.5 * z_squared
        ratio_alpha, ratio_beta = np.zeros_like(z), np.zeros_like(z)
        near_log_density = np.empty(np.count_nonzero(near))
        ratio_alpha[near], ratio_beta[near] = _compute_truncation_ratios(
            alpha[near], beta[near], z[near], log_sigma[near], near_log_density
        )
        log_density[near] = near_log_density
    mean, var, second, var_square = _compute_truncated_moments(
        alpha, beta, ratio_alpha, ratio_beta
    )
    inverse_sigma = 1.0 / sigma
    np.subtract(z, mean, out=location_slope)
    location_slope *= inverse_sigma
    np.multiply(var, inverse_sigma, out=location_information)
    location_information *= inverse_sigma
    np.subtract(second, z_squared, out=scale_slope)
    scale_information[...] = var_square


def _compute_truncation_ratios(alpha, beta, z, log_sigma, log_density):
    """``phi(alpha) / Z`` and ``phi(beta) / Z``; fills the truncated ``log_density``.

    ``Z`` is the mass inside the standardized bounds. The log density is
    ``-z**2 / 2 - log(sqrt(2 pi) sigma Z)``, with the anchor's square of
    :func:`_shifted_log_normal_mass` taken out of both terms.
    """
    shifted, anchor = _shifted_log_normal_mass(alpha, beta)
    log_scale = np.subtract(-_LOG_SQRT_2PI, shifted, out=shifted)
    with np.errstate(over="ignore"):
        np.subtract(log_scale, log_sigma, out=log_density)
        log_density -= _half_square_from(z, anchor)
        ratio_alpha = _exp_flushed(log_scale - _half_square_from(alpha, anchor))
        ratio_beta = _exp_flushed(log_scale - _half_square_from(beta, anchor))
    return ratio_alpha, ratio_beta


def _estimate_annotator_log_joint(good_log_density, random_log_density, pi):
    """Log joint probability of each annotator's ratings and good/bad flag.

    Parameters
    ----------
    good_log_density : ndarray of shape (n_annotators,)
        ``sum_i log f_good(s_ia)`` over the items that ``a`` rated.
    random_log_density : ndarray of shape (n_annotators,)
        The log density of the annotator's ratings if it is random
        (:func:`skem._model.random._estimate_random_log_density`): ``n_a
        log U`` for the uniform.
    pi : float
        Prior probability of a good annotator, in (0, 1).

    Returns
    -------
    log_good : ndarray of shape (n_annotators,)
        ``log pi + sum_i log f_good(s_ia)``.
    log_bad : ndarray of shape (n_annotators,)
        ``log(1 - pi) + random_log_density``.
    """
    log_good = np.log(pi) + good_log_density
    log_bad = np.log1p(-pi) + random_log_density
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


def _compute_sigma_log_prior(sigma, shared_sigma, noise_prior):
    """Log prior density of each ``log sigma_a**2``: scaled inverse-chi-squared.

    ``sigma_a**2 ~ Scale-inv-chi2(nu, tau**2)`` with ``nu = noise_prior`` (in
    pseudo-ratings) and ``tau = shared_sigma``: the posterior of a variance
    after ``n`` normal ratings has ``nu + n`` degrees of freedom. The density
    is taken with respect to ``log sigma_a**2``, so it depends on ``sigma_a /
    tau`` alone: written on ``sigma_a**2`` it would carry a Jacobian
    ``-log sigma_a**2`` per annotator, a reward of ``-M log tau**2`` for
    shrinking every scale together that no data ask for (it made honest but
    noisy panels look random).

    The textbook form, ``(nu/2) log(nu tau^2 / 2) - lgamma(nu/2) - (nu/2)
    log sigma^2 - nu tau^2 / (2 sigma^2)``, is a sum of terms of size ``nu``
    that cancel to a number of size ``log nu``: from ``nu`` of about 1e9 on,
    their rounding exceeds what EM changes in an iteration. With ``h = nu /
    2`` and ``x = tau^2 / sigma^2`` it is rearranged exactly as
    ``c(h) + h (log x - x + 1)``, where ``c(h) = h log h - h - lgamma(h)``
    (:func:`_log_gamma_remainder`) and ``log x - x + 1 <= 0``
    (:func:`_log_minus_excess`) are each computed without cancellation.

    Parameters
    ----------
    sigma : ndarray of shape (n_annotators,)
        Standard deviation of each annotator.
    shared_sigma : float
        The shared scale ``tau`` the prior pulls toward.
    noise_prior : float
        ``nu > 0``.

    Returns
    -------
    log_prior : ndarray of shape (n_annotators,)
    """
    half = 0.5 * noise_prior
    # x - 1 = (tau - sigma)(tau + sigma) / sigma^2, exact to a few roundings
    # even when tau and sigma agree to many digits.
    excess = (shared_sigma - sigma) * (shared_sigma + sigma) / (sigma * sigma)
    # EM calls this a few times per M-step on one entry per annotator: on
    # small panels its fixed costs are what a fit pays. Near convergence
    # every x is near 1, where log x is not needed.
    if np.abs(excess).max(initial=0.0) < _LOG1P_SERIES_BELOW:
        value = _log1p_minus_itself(excess)
    else:
        log_x = 2.0 * (np.log(shared_sigma) - np.log(sigma))
        value = _log_minus_excess(log_x, excess)
    return _log_gamma_remainder(float(half)) + half * value


# Beyond this argument, c(h) of _log_gamma_remainder comes from Stirling's
# series; its first omitted term is below 3e-14 there.
_STIRLING_FROM = 10.0
_STIRLING_COEFFICIENTS = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188)

# Below this |d|, log1p(d) - d comes from a series (see _log_minus_excess);
# above it, directly, with a relative error below 2 eps / |d|.
_LOG1P_SERIES_BELOW = 0.1


# The same few strengths, at every call of the prior.
@lru_cache(maxsize=16)
def _log_gamma_remainder(h):
    """``h log h - h - lgamma(h)``, without cancellation for large ``h``.

    For ``h >= 10`` it is ``log(h / (2 pi)) / 2`` minus Stirling's series
    ``1 / (12 h) - 1 / (360 h^3) + ...``; below, the three terms are of
    size at most 30 and are summed directly.

    Parameters
    ----------
    h : float
        ``nu / 2 > 0``.

    Returns
    -------
    remainder : float
    """
    if h < _STIRLING_FROM:
        return float(h * np.log(h) - h - gammaln(h))
    inverse_square = 1.0 / (h * h)
    series = 0.0
    for coefficient in reversed(_STIRLING_COEFFICIENTS):
        series = series * inverse_square + coefficient
    return float(0.5 * np.log(h / (2.0 * np.pi)) - series / h)


def _log_minus_excess(log_x, excess):
    """``log x - (x - 1)`` of each entry, to its last digits near ``x = 1``.

    Near ``x = 1`` it is ``log1p(d) - d`` with ``d = x - 1``, from its
    series (:func:`_log1p_minus_itself`); elsewhere the difference itself.

    Parameters
    ----------
    log_x, excess : ndarray of the same shape
        ``log x`` and ``x - 1``, each computed without cancellation.

    Returns
    -------
    value : ndarray
        ``<= 0``; about ``-(x - 1)**2 / 2`` near ``x = 1``.
    """
    value = np.subtract(log_x, excess, dtype=np.float64)
    excess = np.asarray(excess, dtype=np.float64)
    if excess.shape != value.shape:
        excess = np.broadcast_to(excess, value.shape)
    small = np.abs(excess) < _LOG1P_SERIES_BELOW
    if small.any():
        value[small] = _log1p_minus_itself(excess[small])
    return value


def _compute_student_log_density(residual, sigma, df):
    """Log density of a Student-t with scale ``sigma`` and ``df`` at ``residual``.

    Parameters
    ----------
    residual, sigma : ndarray of the same shape
        ``s - mu - b`` and the scale of each rating.
    df : float
        Degrees of freedom, > 0.

    Returns
    -------
    log_density : ndarray
        ``lgamma((df + 1) / 2) - lgamma(df / 2) - log(sqrt(df pi) sigma) -
        (df + 1) / 2 * log1p(z**2 / df)``, ``z = residual / sigma``.
    """
    constant = gammaln(0.5 * (df + 1.0)) - gammaln(0.5 * df) - 0.5 * np.log(df * np.pi)
    z = residual / sigma
    with np.errstate(over="ignore"):
        return constant - np.log(sigma) - 0.5 * (df + 1.0) * np.log1p(z * z / df)


def _compute_item_log_likelihood(
    ratings,
    consensus,
    bias,
    sigma,
    log_posterior,
    log_posterior_bad,
    bounds,
    truncated,
    tail_df=None,
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
    tail_df : float, default=None
        The degrees of freedom of a Student-t ``f_good`` (plain forms only).

    Returns
    -------
    log_likelihood : ndarray of shape (n_items,)
        Zero for the items without any rating.
    """
    annotator = ratings.annotator
    location = consensus[ratings.item] + bias[annotator]
    if tail_df is None:
        log_density = _compute_good_terms(
            ratings.score,
            location,
            sigma[annotator],
            bounds if truncated else None,
            half_step=ratings.half_step,
        )["log_density"]
    else:
        log_density = _compute_student_log_density(
            ratings.score - location, sigma[annotator], tail_df
        )
    low, high = bounds
    per_rating = np.logaddexp(
        log_posterior[annotator] + log_density,
        log_posterior_bad[annotator] - np.log(high - low),
    )
    return np.bincount(ratings.item, per_rating, minlength=ratings.n_items)


def _log1p_minus_itself(d):
    """``log1p(d) - d`` of each entry, for ``|d| < _LOG1P_SERIES_BELOW``.

    With ``u = d / (2 + d)`` (so that ``log1p(d) = 2 atanh(u)``) it is ``-d**2
    / (2 + d) + 2 (u**3 / 3 + u**5 / 5 + ...)``: two terms that never cancel,
    and a series in ``u**2 <= 0.0028`` that needs at most 6 terms.

    Parameters
    ----------
    d : ndarray
        Each entry within ``_LOG1P_SERIES_BELOW`` of 0.

    Returns
    -------
    value : ndarray of the shape of ``d``
        ``<= 0``, to its last digits; about ``-d**2 / 2``.
    """
    d = np.asarray(d, dtype=np.float64)
    u = d / (2.0 + d)
    u_squared = u * u
    # Terms up to u**(2K + 1), the first left out below 1e-17 of the sum at
    # the largest |u|: near convergence every |u| is tiny and one or two
    # terms suffice.
    largest = float(u_squared.max(initial=0.0))
    n_terms = 6
    if largest > 0.0:
        digits = -0.5 * math.log10(largest)
        n_terms = min(n_terms, max(1, math.ceil((17.0 / digits - 1.0) / 2.0)))
    series = 1.0 / (2 * n_terms + 1)
    for k in range(n_terms - 1, 0, -1):
        series = series * u_squared
        series += 1.0 / (2 * k + 1)
    return 2.0 * u * u_squared * series - d * d / (2.0 + d)
