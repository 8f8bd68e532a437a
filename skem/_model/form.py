"""The model forms: the tables that turn the estimator's parameters into steps.

A form is chosen by the estimator's ``bounded``, ``noise`` and ``bias``
(the way ``covariance_type`` chooses a Gaussian mixture's), and EM is soft or
hard. :func:`_model_form` names each choice once per fit, and every choice
goes through a table keyed by that name:

- ``bounded=False``/``True`` is the ``likelihood``, ``'normal'`` or
  ``'truncated'``, ``'levels'`` when a bounded form's ratings are levels of
  a discrete scale, and ``'student_t'`` for a plain form with a ``tail``:
  ``_LIKELIHOODS`` (here);
- ``noise`` is ``'shared'`` or ``'per_annotator'``: ``_SIGMA_LOG_PRIORS``
  (here), ``_NORMAL_SIGMA_STEPS`` (:mod:`skem._model.normal`),
  ``_SIGMA_PRIORS`` (:mod:`skem._model.truncated`), ``_RESCUES``
  (:mod:`skem._model.rescue`);
- ``bias=False``/``True`` is the ``bias``, ``'none'`` or ``'per_annotator'``:
  ``_NORMAL_LOCATION_STEPS``, ``_TRUNCATED_STEPS``;
- soft or hard EM is the ``em``, ``'soft'`` or ``'hard'``: ``_COMBINE``
  (:mod:`skem._model.steps`), ``_E_STEPS`` (:mod:`skem._em.e_step`).

Each table has one signature; an entry may leave aside what its choice does
not need (the closed-form normal M-step has no use for the previous
statistics), but no caller passes a placeholder.

A likelihood of the good ratings is one module (:mod:`skem._model.normal`,
:mod:`skem._model.truncated`) and one row of ``_LIKELIHOODS``: a
:class:`_Likelihood` of its start, its M-step and its location fit. A new
likelihood is a new module and a new row (:mod:`skem._model.levels` is one:
its ratings are intervals, and it takes the truncated form's guarded steps
on its own terms); the driver only calls :class:`_ModelForm`.

Every step is written against a backend (:mod:`skem._em.backend`): the
per-item work runs in block kernels (the ``_kernel_*`` functions), the
per-annotator work on the client from the kernels' sums. One piece of code
serves the in-memory estimators and :mod:`skem.dask`.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from skem._model.lapses import _worst_normal, _worst_student, _worst_truncated
from skem._model.likelihoods import _compute_sigma_log_prior
from skem._model.normal import (
    _m_step_normal,
    _normal_rating_log_density,
    _start_normal,
)
from skem._model.rescue import _settle_rescue
from skem._model.steps import (
    _UNIT_BOUNDS,
    _estimate_consensus_normal,
    _estimate_pi,
)
from skem._model.student import (
    _estimate_consensus_student,
    _m_step_student,
    _start_student,
    _student_rating_log_density,
)
from skem._model.truncated import (
    _fit_truncated_location,
    _m_step_truncated,
    _start_truncated,
    _truncated_rating_log_density,
)
from skem._model.weights import (
    _compute_rating_weights,
)


@dataclass(frozen=True)
class _Params:
    """EM's per-annotator parameters, in unit score space.

    The per-item locations live with the items' ratings, in the backend's
    blocks (:class:`skem._em.backend._Block`).

    Attributes
    ----------
    bias : ndarray of shape (n_annotators,)
        Offset of each annotator's good ratings (zeros without ``bias``).
    sigma : ndarray of shape (n_annotators,)
        Standard deviation of each annotator's good ratings (one repeated
        value for the shared form).
    shared_sigma : float
        The scale of the per-annotator prior (``sigma`` for the shared form).
    pi : float
        Prior probability of a good annotator.
    """

    bias: np.ndarray
    sigma: np.ndarray
    shared_sigma: float
    pi: float


class _Likelihood(NamedTuple):
    """What a likelihood of the good ratings gives EM: one row of ``_LIKELIHOODS``.

    Attributes
    ----------
    bounded : bool
        Whether the density lives on the score range: then EM keeps every
        location within the range and sigma within its width, and an item's
        location (``location_``) can differ from its consensus (``mu_``).
    start : callable
        ``start(form, data, params) -> statistics``: prepare the blocks at
        ``params``; the per-annotator sums there, among them
        ``log_density``, ``sum_i log f_good(s_ia)``, which the E-step needs.
    m_step : callable
        ``m_step(form, data, params, weights, log_posterior, statistics) ->
        (bias, sigma, shared_sigma, statistics)``: update the blocks'
        locations and the annotator parameters, never lowering the
        objective; the statistics at the new parameters.
    fit_location : callable or None
        ``fit_location(ratings, params, rating_weights, location, bounds) ->
        location``: each item's maximum-likelihood location from its
        consensus, annotator parameters fixed; None where the consensus is
        the location.
    consensus : callable
        ``consensus(form, ratings, rating_weights, params, gold) ->
        consensus``: each item's consensus at fixed annotator parameters.
    worst : callable
        ``worst(form, data, params, among) -> worst``: the log density of
        the least likely rating of each annotator ``among`` (a mask) at the
        blocks' locations and ``params``, ``+inf`` for the others and
        without ratings (:mod:`skem._model.lapses`).
    rating_log_density : callable
        ``rating_log_density(form, ratings, location, bias, sigma) ->
        log_density``: each rating's good log density in a block kernel,
        at the items' ``location`` (:mod:`skem._model.evidence`).
    """

    bounded: bool
    start: Callable
    m_step: Callable
    fit_location: Callable
    consensus: Callable
    worst: Callable
    rating_log_density: Callable


def _clip_to_scale(consensus, ratings):
    """Each item's consensus clipped to the scale or its own ratings' hull.

    Bias-corrected ratings ``s - b_a`` can fall beyond the ends of the scale
    (everyone rates the top level, an annotator's bias is negative), and so
    can their mean; a bounded form's consensus is a score on the scale. An
    item rated beyond the range (held-out ratings with
    ``score_range='auto'``) keeps the hull of its own ratings. The rule is
    per item, so a fit, ``transform`` and :mod:`skem.dask` agree.

    Parameters
    ----------
    consensus : ndarray of shape (n_items,)
        Consensus of each item, unit score space (NaN for unrated items).
    ratings : _Ratings
        The items' ratings, unit scores.

    Returns
    -------
    consensus : ndarray of shape (n_items,)
    """
    low, high = _UNIT_BOUNDS
    # On levels the scale ends at the outer levels, half a step inside.
    low, high = low + ratings.half_step, high - ratings.half_step
    outside = (consensus < low) | (consensus > high)
    if not outside.any():
        return consensus
    selected = outside[ratings.item]
    item, score = ratings.item[selected], ratings.score[selected]
    lowest = np.full(ratings.n_items, low)
    highest = np.full(ratings.n_items, high)
    np.minimum.at(lowest, item, score)
    np.maximum.at(highest, item, score)
    return np.clip(consensus, lowest, highest)


def _precision_weighted_consensus(form, ratings, rating_weights, params, gold):
    """The precision-weighted mean rating, kept on the scale for a bounded form."""
    consensus = _estimate_consensus_normal(
        ratings, rating_weights, params.bias, params.sigma, gold
    )
    if form.bounded:
        consensus = _clip_to_scale(consensus, ratings)
    return consensus


def _student_consensus(form, ratings, rating_weights, params, gold):
    """The t form's location at fixed annotator parameters."""
    return _estimate_consensus_student(
        ratings, rating_weights, params, form.tail_df, gold
    )


# The likelihoods of the good ratings, by the form's ``likelihood``.
_LIKELIHOODS = {
    "normal": _Likelihood(
        False,
        _start_normal,
        _m_step_normal,
        None,
        _precision_weighted_consensus,
        _worst_normal,
        _normal_rating_log_density,
    ),
    "truncated": _Likelihood(
        True,
        _start_truncated,
        _m_step_truncated,
        _fit_truncated_location,
        _precision_weighted_consensus,
        _worst_truncated,
        _truncated_rating_log_density,
    ),
    # The ratings carry their half-step, and the likelihood's terms follow
    # from it (skem._model.levels); the steps are the truncated form's.
    "levels": _Likelihood(
        True,
        _start_truncated,
        _m_step_truncated,
        _fit_truncated_location,
        _precision_weighted_consensus,
        _worst_truncated,
        _truncated_rating_log_density,
    ),
    "student_t": _Likelihood(
        False,
        _start_student,
        _m_step_student,
        None,
        _student_consensus,
        _worst_student,
        _student_rating_log_density,
    ),
}


def _no_sigma_log_prior(params, noise_prior):
    """One shared sigma has no prior."""
    return 0.0


def _sigma_log_prior(params, noise_prior):
    """The scaled inverse-chi-squared prior of every sigma, summed."""
    return float(
        _compute_sigma_log_prior(params.sigma, params.shared_sigma, noise_prior).sum()
    )


# The log prior density of the sigmas, by the form's ``noise``.
_SIGMA_LOG_PRIORS = {"shared": _no_sigma_log_prior, "per_annotator": _sigma_log_prior}


@dataclass(frozen=True)
class _ModelForm:
    """One form of the model, with its floor on sigma, ready for EM.

    Attributes
    ----------
    likelihood : {'normal', 'truncated', 'levels', 'student_t'}
        The good ratings' density (``bounded=False``, ``True``), the
        probability of their levels (``bounded=True`` on a discrete scale), or
        a Student-t density (``bounded=False`` with a ``tail``).
    noise : {'shared', 'per_annotator'}
        One sigma, or one per annotator under a prior.
    bias : {'none', 'per_annotator'}
        Whether each annotator has an offset.
    noise_prior : float
        The prior's strength, in pseudo-ratings (``nu`` in the formulas).
    min_sigma : float
        Floor on sigma, in unit score space.
    em : {'soft', 'hard'}
        Which objective EM climbs: an annotator's term is ``log(pi f_good +
        (1 - pi) f_bad)`` for soft EM and the larger of the two for hard EM,
        which matters to the coordinate step of the rescue.
    tail_df : float or None
        The degrees of freedom of the Student-t form; None otherwise.
    """

    likelihood: str
    noise: str
    bias: str
    noise_prior: float
    min_sigma: float
    em: str = "soft"
    tail_df: float = None

    @property
    def bounded(self):
        """Whether the good ratings' density lives on the score range."""
        return _LIKELIHOODS[self.likelihood].bounded

    def start(self, data, params):
        """Prepare the blocks at ``params``; return the statistics there."""
        return _LIKELIHOODS[self.likelihood].start(self, data, params)

    def rating_log_density(self, ratings, location, bias, sigma):
        """Each rating's good log density, in a block kernel."""
        return _LIKELIHOODS[self.likelihood].rating_log_density(
            self, ratings, location, bias, sigma
        )

    def m_step(self, data, params, weights, log_posterior, statistics):
        """Update the blocks; return the new parameters and their statistics.

        The likelihood's M-step updates the blocks, the biases and the
        sigmas; pi follows the weights.
        """
        bias, sigma, shared_sigma, statistics = _LIKELIHOODS[self.likelihood].m_step(
            self, data, params, weights, log_posterior, statistics
        )
        return _Params(
            bias, sigma, shared_sigma, _estimate_pi(weights, data.in_mixture)
        ), statistics

    def settle(self, data, params, weights, statistics):
        """The parameters where a run may stop, or None if ``params`` are.

        An M-step of a truncated form may skip its rescue of the annotators
        judged bad (:func:`skem._model.rescue._rescue`); before a run
        ends, the rescue is offered at ``params``. Returns the new
        parameters and their statistics if it takes a candidate.
        """
        settled = _settle_rescue(self, data, params, weights, statistics)
        if settled is None:
            return None
        sigma, shared_sigma, statistics = settled
        return replace(params, sigma=sigma, shared_sigma=shared_sigma), statistics

    def worst(self, data, params, among):
        """The log density of the least likely rating of each annotator ``among``."""
        return _LIKELIHOODS[self.likelihood].worst(self, data, params, among)

    def log_prior(self, params):
        """Log prior density of the parameters (0 for the shared form)."""
        return _SIGMA_LOG_PRIORS[self.noise](params, self.noise_prior)

    def consensus(self, ratings, params, weights, log_posterior, gold=None):
        """The consensus of each item: the precision-weighted mean of its ratings.

        For the plain normal forms this is also the location that EM fits;
        for the bounded forms the location can sit at the ends of the scale,
        and the consensus stays the mean rating of the good annotators, kept
        on the scale (see :func:`_clip_to_scale`).
        """
        rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
        return _LIKELIHOODS[self.likelihood].consensus(
            self, ratings, rating_weights, params, gold
        )

    @property
    def error_scale(self):
        """Sigma over the error of one good rating's information on a location.

        1 for the normal forms; ``sqrt((df + 3) / (df + 1))`` for the t form,
        whose Fisher information on a location is ``(df + 1) / ((df + 3)
        sigma**2)`` per rating.
        """
        if self.tail_df is None:
            return 1.0
        return float(np.sqrt((self.tail_df + 3.0) / (self.tail_df + 1.0)))

    def location(self, ratings, params, weights, log_posterior, bounds):
        """Maximum-likelihood location of each item, annotator parameters fixed."""
        rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
        likelihood = _LIKELIHOODS[self.likelihood]
        if likelihood.fit_location is None:
            return likelihood.consensus(self, ratings, rating_weights, params, None)
        consensus = _estimate_consensus_normal(
            ratings, rating_weights, params.bias, params.sigma
        )
        return likelihood.fit_location(
            ratings, params, rating_weights, consensus, bounds
        )


def _model_form(
    bounded, noise, bias, noise_prior, min_sigma, hard=False, levels=False, tail=None
):
    """Build the :class:`_ModelForm` of the estimator's parameters.

    Parameters
    ----------
    bounded : bool
        The estimator's ``bounded``.
    noise : {'shared', 'per_annotator'}
    bias : bool
        The estimator's ``bias``.
    noise_prior : float
    min_sigma : float
        Floor on sigma, in unit score space.
    hard : bool, default=False
        Hard (classification) EM.
    levels : bool, default=False
        Whether the ratings are levels of a discrete scale (the score scale's
        ``levels``); only the bounded forms read them so.
    tail : float or None, default=None
        The degrees of freedom of a Student-t good component, for a plain
        form; None for the normal.

    Returns
    -------
    form : _ModelForm
    """
    likelihood = "normal" if tail is None else "student_t"
    if bounded:
        likelihood = "levels" if levels else "truncated"
    return _ModelForm(
        likelihood,
        noise,
        "per_annotator" if bias else "none",
        float(noise_prior),
        min_sigma,
        "hard" if hard else "soft",
        None if bounded or tail is None else float(tail),
    )
