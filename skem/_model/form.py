"""The model forms: which statistics and updates each form of the good component uses.

A form is chosen by three parameters, the way ``covariance_type`` chooses a
Gaussian mixture's: ``bounded`` (normal, or normal truncated to the score
range), ``noise`` (one sigma, or one per annotator under a prior toward a
shared scale) and ``bias`` (per-annotator offsets). :func:`_model_form` looks
each piece up in the tables below once per fit; the EM driver only calls the
resulting :class:`_ModelForm`.

Every step is written against a backend (:mod:`skem._em.backend`): the per-item
work runs in block kernels (the ``_kernel_*`` functions), the per-annotator
work on the client from the kernels' sums. One piece of code serves the
in-memory estimators and :mod:`skem.dask`.
"""

from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from skem._em.backend import _run_steps
from skem._model.likelihoods import (
    _compute_good_terms,
    _compute_sigma_log_prior,
    _estimate_normal_log_density,
    _Gather,
    _log_normal_mass_lower_bound,
    _sum_terms_by,
)
from skem._model.steps import (
    _apply_gold,
    _choose_sigma_by_marginal,
    _compute_annotator_residual_sums,
    _compute_annotator_sq_residuals,
    _compute_annotator_weights,
    _compute_bias_shift,
    _compute_location_derivatives,
    _compute_precision_derivatives,
    _compute_rating_weights,
    _estimate_bias_normal,
    _estimate_consensus_normal,
    _estimate_item_medians,
    _estimate_pi,
    _estimate_shared_sigma,
    _estimate_sigma_per_annotator_normal,
    _estimate_sigma_shared_normal,
    _guarded_ascent,
    _precision_limits,
    _propose_joint_sigma,
    _propose_location,
    _propose_precision,
    _rounding_slack,
    _solve_shared_sigma,
    _step_truncated_location,
)

# Unit score space: EM's bounds of the scale.
_UNIT_BOUNDS = (0.0, 1.0)

# The location of new items under a truncated form: Newton steps until the
# largest move is below this (in units of the score range).
_LOCATION_TOL = 1e-12
_LOCATION_MAX_STEPS = 100


@dataclass(frozen=True)
class _Params:
    """EM's per-annotator parameters, in unit score space.

    The per-item consensus lives with the items' ratings, in the backend's
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


@dataclass(frozen=True)
class _ModelForm:
    """One form of the model, with its floor on sigma, ready for EM."""

    bounded: bool
    noise: str
    bias: bool
    strength: float
    min_sigma: float
    hard: bool = False

    def start(self, data, params):
        """Prepare the blocks at ``params``; return the statistics there.

        The statistics are a dict of per-annotator sums, among them
        ``log_density``, ``sum_i log f_good(s_ia)``, which the E-step needs.
        """
        return _STARTS[self.bounded](self, data, params)

    def m_step(self, data, params, weights, log_posterior, statistics):
        """Update the blocks; return the new parameters and their statistics."""
        return _M_STEPS[self.bounded](
            self, data, params, weights, log_posterior, statistics
        )

    def log_prior(self, params):
        """Log prior density of the parameters (0 for the shared form)."""
        if self.noise == "shared":
            return 0.0
        return float(
            _compute_sigma_log_prior(
                params.sigma, params.shared_sigma, self.strength
            ).sum()
        )

    def consensus(self, ratings, params, weights, log_posterior, gold=None):
        """The consensus of each item: the precision-weighted mean of its ratings.

        For the plain normal forms this is also the location that EM fits;
        for the bounded forms the location can sit at the ends of the scale,
        and the consensus stays the mean rating of the good annotators.
        """
        rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
        return _estimate_consensus_normal(
            ratings, rating_weights, params.bias, params.sigma, gold
        )

    def location(self, ratings, params, weights, log_posterior, bounds):
        """Maximum-likelihood location of each item, annotator parameters fixed."""
        rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
        consensus = _estimate_consensus_normal(
            ratings, rating_weights, params.bias, params.sigma
        )
        if not self.bounded:
            return consensus
        # Ratings of weight 0 do not move a location; dropping them keeps a
        # far-off rating's -inf log density from meeting its zero weight.
        counted = rating_weights > 0
        if not counted.all():
            ratings = ratings.select(counted)
            rating_weights = rating_weights[counted]
        consensus = np.clip(consensus, *bounds)
        terms = _compute_truncated_terms(
            ratings, consensus, params.bias, params.sigma, bounds
        )
        for _ in range(_LOCATION_MAX_STEPS):
            previous = consensus
            consensus, terms = _step_truncated_location(
                ratings,
                consensus,
                params.bias,
                params.sigma,
                rating_weights,
                terms,
                bounds,
            )
            if not np.nanmax(np.abs(consensus - previous), initial=0) > _LOCATION_TOL:
                break
        return consensus


def _model_form(bounded, noise, bias, strength, min_sigma, hard=False):
    """Build the :class:`_ModelForm` of the estimator's parameters.

    ``hard`` says which objective EM climbs: an annotator's term is
    ``log(pi f_good + (1 - pi) f_bad)`` for soft EM and the larger of the two
    for hard EM, which matters to the coordinate step of
    :func:`_choose_sigma_by_marginal`.
    """
    return _ModelForm(
        bool(bounded), noise, bool(bias), float(strength), min_sigma, bool(hard)
    )


def _compute_truncated_terms(
    ratings, consensus, bias, sigma, bounds=_UNIT_BOUNDS, with_sums=False
):
    """Per-rating terms of the normal truncated to ``bounds`` at these parameters.

    With ``with_sums``, also their :func:`_annotator_sums`.
    """
    annotator = ratings.annotator
    return _compute_good_terms(
        ratings.score,
        _rating_locations(ratings.item, annotator, consensus, bias),
        _Gather(sigma, annotator),
        bounds,
        _Gather(np.log(sigma), annotator),
        sum_by=(annotator, ratings.n_annotators) if with_sums else None,
    )


def _rating_locations(item, annotator, consensus, bias):
    """``mu_i + b_a`` of each rating; without biases, a gather of the consensus."""
    if np.any(bias):
        return consensus[item] + bias[annotator]
    return _Gather(consensus, item)


def _annotator_sum(ratings, values):
    return np.bincount(ratings.annotator, values, minlength=ratings.n_annotators)


# ---------------------------------------------------------------------------
# Block kernels: pure functions of one block of whole items (see _backend).
# ---------------------------------------------------------------------------


def _kernel_initialize_median(block, clip):
    """Each item's median; the sum of absolute deviations from it."""
    ratings = block.ratings
    mu = _apply_gold(_estimate_item_medians(ratings), block.gold)
    deviations = float(np.abs(ratings.score - mu[ratings.item]).sum())
    if clip:
        mu = np.clip(mu, 0.0, 1.0)
    return replace(block, mu=mu, terms=None, trial=None), {"abs_deviations": deviations}


def _kernel_initialize_weighted(block, weights, log_weights, clip):
    """The lecture's consensus from initial weights; the squared residuals."""
    ratings = block.ratings
    bias = np.zeros(ratings.n_annotators)
    mu = _estimate_consensus_normal(
        ratings,
        _compute_rating_weights(ratings, weights, log_weights),
        bias,
        np.ones(ratings.n_annotators),
        block.gold,
    )
    sq_residuals = _compute_annotator_sq_residuals(ratings, mu, bias)
    if clip:
        mu = np.clip(mu, 0.0, 1.0)
    return replace(block, mu=mu, terms=None, trial=None), {"sq_residuals": sq_residuals}


def _kernel_initialize_warm(block, clip):
    """The previous fit's locations; new items start from their median."""
    mu = block.mu.copy()
    unknown = np.isnan(mu)
    if unknown.any():
        mu[unknown] = _estimate_item_medians(block.ratings)[unknown]
    mu = _apply_gold(mu, block.gold)
    if clip:
        mu = np.clip(mu, 0.0, 1.0)
    return replace(block, mu=mu, terms=None, trial=None), {}


def _kernel_sq_residuals(block, bias):
    """Squared residuals per annotator."""
    return block, {
        "sq_residuals": _compute_annotator_sq_residuals(block.ratings, block.mu, bias)
    }


def _kernel_normal_consensus(block, weights, log_posterior, bias, sigma, with_bias):
    """The closed-form consensus; the sums that the annotators' update needs."""
    ratings = block.ratings
    mu = _estimate_consensus_normal(
        ratings,
        _compute_rating_weights(ratings, weights, log_posterior),
        bias,
        sigma,
        block.gold,
    )
    if with_bias:
        outputs = {"residual_sums": _compute_annotator_residual_sums(ratings, mu)}
    else:
        outputs = {"sq_residuals": _compute_annotator_sq_residuals(ratings, mu, bias)}
    return replace(block, mu=mu), outputs


def _kernel_shift_consensus(block, shift, bias):
    """Move every consensus by ``shift``; the squared residuals there."""
    mu = block.mu + shift
    return replace(block, mu=mu), {
        "sq_residuals": _compute_annotator_sq_residuals(block.ratings, mu, bias)
    }


def _kernel_truncated_terms(block, bias, sigma):
    """Per-rating terms at the block's consensus, and their sums per annotator."""
    terms, sums = _compute_truncated_terms(
        block.ratings, block.mu, bias, sigma, with_sums=True
    )
    return replace(block, terms=terms, trial=None), sums


def _kernel_log_mass_sums(block, sigma, annotators):
    """A lower bound on ``sum_i log Z(mu_i, sigma)`` per selected annotator.

    ``Z`` is the mass that a normal at each item's consensus puts inside the
    bounds; its bound (:func:`_log_normal_mass_lower_bound`) is evaluated
    once per item, then summed over the ratings.
    """
    ratings, mu = block.ratings, block.mu
    low, high = _UNIT_BOUNDS
    # -inf (no bound) where a consensus lies outside the bounds.
    inside = (mu >= low) & (mu <= high)
    log_mass = np.full(mu.shape[0], -np.inf)
    log_mass[inside] = _log_normal_mass_lower_bound(
        (low - mu[inside]) / sigma, (high - mu[inside]) / sigma
    )
    # Summed over every rating, then kept for the selected annotators:
    # selecting their ratings costs more than summing all of them.
    sums = np.bincount(
        ratings.annotator, log_mass[ratings.item], minlength=ratings.n_annotators
    )
    return block, {"log_mass": np.where(annotators, sums, 0.0)}


def _kernel_annotator_sums(block):
    """Per-annotator sums of the block's terms: log density and precision moments.

    ``log_density`` is what the E-step needs; ``scale_slope`` and
    ``scale_information`` are ``sum (E[t^2] - z^2)`` and ``sum Var[t^2]``
    over each annotator's ratings: an annotator's ratings share its weight,
    so the next M-step's weighted sums are these times the weights (see
    :func:`skem._model.steps._compute_precision_derivatives`). ``z_squared`` is
    ``sum z^2``, the squared residuals over ``sigma_a**2``.
    """
    return block, _annotator_sums(block.ratings, block.terms)


def _annotator_sums(ratings, terms):
    return _sum_terms_by(ratings.annotator, ratings.n_annotators, terms)


def _kernel_bias_moments(block, weights, log_posterior, sigma):
    """Each bias's gradient, curvature and objective, truncated form."""
    ratings, terms = block.ratings, block.terms
    rating_weights = _compute_rating_weights(ratings, weights, log_posterior)
    gradient, curvature = _compute_location_derivatives(
        rating_weights, terms, ratings.annotator, ratings.n_annotators
    )
    return block, {
        "gradient": gradient,
        "curvature": curvature,
        "objective": _annotator_sum(ratings, rating_weights * terms["log_density"]),
    }


def _step_block_location(
    block, weights, log_posterior, bias, sigma, propose_only=False
):
    """:func:`_step_truncated_location` on a block's items; gold items stay."""
    ratings = block.ratings
    return _step_truncated_location(
        ratings,
        block.mu,
        bias,
        sigma,
        _compute_rating_weights(ratings, weights, log_posterior),
        block.terms,
        _UNIT_BOUNDS,
        frozen=None if block.gold is None else ~np.isnan(block.gold),
        propose_only=propose_only,
    )


def _kernel_location_step(block, weights, log_posterior, bias, sigma):
    """One guarded Newton step on each item's consensus (see _updates)."""
    mu, terms = _step_block_location(block, weights, log_posterior, bias, sigma)
    return replace(block, mu=mu, terms=terms), {}


def _kernel_joint_trial(block, weights, log_posterior, bias, sigma, new_sigma):
    """Try every item's Newton consensus together with new sigmas.

    The trial holds the proposed consensus and the terms there; the output
    is their per-annotator sums, as :func:`_kernel_annotator_sums` gives
    them: if the trial is taken, they are the next E-step's.
    """
    ratings = block.ratings
    mu, _ = _step_block_location(
        block, weights, log_posterior, bias, sigma, propose_only=True
    )
    terms, sums = _compute_truncated_terms(ratings, mu, bias, new_sigma, with_sums=True)
    return replace(block, trial={"mu": mu, "terms": terms}), sums


def _kernel_annotator_trial(block, bias, sigma, weights, log_posterior, annotators):
    """Terms at new annotator parameters, as the block's trial.

    Only the ratings of the selected ``annotators`` are evaluated (all if
    None); the output is their weighted log density per annotator. The
    weights are the annotators' ``weights``, or the rating weights of
    :func:`_compute_rating_weights` if ``log_posterior`` is given. A trial
    of some annotators on top of another trial merges into it.
    """
    ratings = block.ratings
    selected = (
        slice(None)
        if annotators is None
        else np.flatnonzero(annotators[ratings.annotator])
    )
    annotator = ratings.annotator[selected]
    if log_posterior is None:
        rating_weights = weights[annotator]
    else:
        rating_weights = _compute_rating_weights(ratings, weights, log_posterior)[
            selected
        ]
    terms = _compute_good_terms(
        ratings.score[selected],
        _rating_locations(ratings.item[selected], annotator, block.mu, bias),
        _Gather(sigma, annotator),
        _UNIT_BOUNDS,
        _Gather(np.log(sigma), annotator),
    )
    if annotators is None:
        trial = {"terms": terms}
    elif block.trial is None:
        # The ratings of a few annotators: keep only theirs until settled.
        trial = {"selected": selected, "subset": terms}
    else:
        merged = _trial_terms(block)
        for key, value in terms.items():
            merged[key][selected] = value
        trial = {"terms": merged}
    objective = np.bincount(
        annotator,
        rating_weights * terms["log_density"],
        minlength=ratings.n_annotators,
    )
    return replace(block, trial={"mu": block.mu, **trial}), {"objective": objective}


def _trial_terms(block):
    """A new dict of the trial's terms for every rating of the block."""
    trial = block.trial
    if "subset" not in trial:
        return {key: value.copy() for key, value in trial["terms"].items()}
    return _merge_terms(block.terms, trial["subset"], trial["selected"])


def _merge_terms(terms, subset, selected):
    """Copies of ``terms`` with the selected ratings' entries from ``subset``."""
    merged = {key: value.copy() for key, value in terms.items()}
    for key, value in subset.items():
        merged[key][selected] = value
    return merged


def _kernel_settle_trial(block, accept, annotators=None):
    """Keep the trial (only for the selected annotators, if given), or drop it."""
    trial = block.trial
    if trial is None or not accept:
        return replace(block, trial=None), {}
    if annotators is None:
        terms = trial["terms"] if "subset" not in trial else _trial_terms(block)
        return replace(block, mu=trial["mu"], terms=terms, trial=None), {}
    taken = annotators[block.ratings.annotator]
    if "subset" in trial:
        selected = trial["selected"]
        kept = taken[selected]
        terms = _merge_terms(
            block.terms,
            {key: value[kept] for key, value in trial["subset"].items()},
            selected[kept],
        )
    else:
        terms = _merge_terms(
            block.terms,
            {key: value[taken] for key, value in trial["terms"].items()},
            taken,
        )
    return replace(block, terms=terms, trial=None), {}


# ---------------------------------------------------------------------------
# Starts and M-steps of each form, on the client.
# ---------------------------------------------------------------------------


def _start_normal(form, data, params):
    sq_residuals = data.reduce(_kernel_sq_residuals, params.bias)["sq_residuals"]
    return {
        "log_density": _estimate_normal_log_density(
            sq_residuals, data.n_per_annotator, params.sigma
        )
    }


def _start_truncated(form, data, params):
    return data.update(_kernel_truncated_terms, params.bias, params.sigma)


_SIGMA_UPDATES_NORMAL = {
    "shared": _estimate_sigma_shared_normal,
    "per_annotator": _estimate_sigma_per_annotator_normal,
}


def _finish_m_step(form, bias, sigma, shared_sigma, weights):
    """Assemble the new parameters; pi follows w."""
    if form.noise == "shared":
        shared_sigma = float(sigma[0])
    return _Params(bias, sigma, shared_sigma, _estimate_pi(weights))


def _m_step_normal(form, data, params, weights, log_posterior, statistics):
    """Closed-form M-step of the plain normal forms.

    Returns the new parameters and each annotator's ``log_density`` at them.
    """
    n = data.n_per_annotator
    outputs = data.update(
        _kernel_normal_consensus,
        weights,
        log_posterior,
        params.bias,
        params.sigma,
        form.bias,
    )
    bias = params.bias
    if form.bias:
        bias = _estimate_bias_normal(outputs["residual_sums"], n)
        shift = _compute_bias_shift(bias, weights, data.has_gold)
        bias = bias - shift
        outputs = data.update(_kernel_shift_consensus, shift, bias)
    sq_residuals = outputs["sq_residuals"]
    update = _SIGMA_UPDATES_NORMAL[form.noise]
    shared_sigma = params.shared_sigma
    if form.noise == "shared":
        sigma = update(
            sq_residuals,
            n,
            _compute_annotator_weights(n, weights, log_posterior),
            None,
            None,
            form.min_sigma,
        )
    else:
        sigma, shared_sigma = _solve_shared_sigma(
            lambda t: update(
                sq_residuals, n, weights, np.sqrt(t), form.strength, form.min_sigma
            ),
            data.n_annotators,
            form.min_sigma,
        )
        candidate = update(
            sq_residuals,
            n,
            np.ones_like(weights),
            shared_sigma,
            form.strength,
            form.min_sigma,
        )
        # As in _rescue_truncated_sigma: a good annotator's own update is
        # already its best sigma.
        take = (weights < 0.5) & _choose_sigma_by_marginal(
            sigma,
            _estimate_normal_log_density(sq_residuals, n, sigma),
            candidate,
            _estimate_normal_log_density(sq_residuals, n, candidate),
            _estimate_pi(weights),
            np.zeros(data.n_annotators),
            (shared_sigma, form.strength),
            _COMBINE[form.hard],
        )
        sigma = np.where(take, candidate, sigma)
        shared_sigma = _estimate_shared_sigma(sigma, form.min_sigma)
    params = _finish_m_step(form, bias, sigma, shared_sigma, weights)
    return params, {"log_density": _estimate_normal_log_density(sq_residuals, n, sigma)}


def _m_step_truncated(form, data, params, weights, log_posterior, statistics):
    """Generalized M-step of the truncated forms: guarded Newton steps.

    First a joint step: each item's consensus and each annotator's precision
    (with the shared scale) move to their Newton proposals at once, taken if
    the expected complete-data log posterior does not decrease; one pass of
    normal CDFs over the ratings. Otherwise, and always with biases, the
    blocks step one after the other, each guarded per item or annotator.
    Kernels that need no result of the client in between run as one task
    per block (:func:`skem._em.backend._run_steps`). Returns the new parameters
    and the per-annotator sums of :func:`_kernel_annotator_sums` at them.
    """
    if form.noise == "shared":
        sigma_weights = _compute_annotator_weights(
            data.n_per_annotator, weights, log_posterior
        )
        prior = None
    else:
        sigma_weights, prior = weights, (params.shared_sigma, form.strength)
    accepted = None
    if not form.bias:
        accepted = _joint_truncated_step(
            form, data, params, weights, log_posterior, sigma_weights, prior, statistics
        )
    bias = params.bias
    if accepted is not None:
        sigma, shared_sigma, sums = accepted
        data.update(_kernel_settle_trial, True)
    else:
        data.update(
            _run_steps,
            [
                (_kernel_settle_trial, (False,)),
                (_kernel_location_step, (weights, log_posterior, bias, params.sigma)),
            ],
        )
        if form.bias:
            bias = _step_truncated_bias(
                data, weights, log_posterior, bias, params.sigma
            )
            shift = _compute_bias_shift(bias, weights, data.has_gold)
            # mu + b is unchanged, so are the terms.
            data.update(_kernel_shift_location, shift)
            bias = bias - shift
        sigma, shared_sigma = _step_truncated_sigma(
            data, bias, params.sigma, sigma_weights, prior, form.min_sigma
        )
        sums = data.reduce(_kernel_annotator_sums)
    suspect = weights < 0.5
    if prior is not None and np.any(suspect & (data.n_per_annotator > 0)):
        sigma, take = _rescue_truncated_sigma(
            data,
            bias,
            sigma,
            weights,
            (shared_sigma, form.strength),
            form.hard,
            sums,
        )
        shared_sigma = _estimate_shared_sigma(sigma, form.min_sigma)
        if take.any():
            sums = data.update(
                _run_steps,
                [(_kernel_settle_trial, (True, take)), (_kernel_annotator_sums, ())],
            )
    params = _finish_m_step(form, bias, sigma, shared_sigma, weights)
    return params, sums


def _kernel_shift_location(block, shift):
    """Move every location by ``shift``, leaving the terms as they are."""
    return replace(block, mu=block.mu + shift), {}


def _joint_truncated_step(
    form, data, params, weights, log_posterior, sigma_weights, prior, statistics
):
    """Try the joint proposal of consensus and sigma; None if it lowers Q.

    Returns the new sigma, shared scale and the annotator sums at the trial.
    The blocks keep the trial either way: the caller settles it.
    """
    sigma, shared_sigma = _step_truncated_sigma(
        data,
        params.bias,
        params.sigma,
        sigma_weights,
        prior,
        form.min_sigma,
        propose_only=True,
        sums=statistics,
    )
    trial = data.update(
        _kernel_joint_trial, weights, log_posterior, params.bias, params.sigma, sigma
    )
    proposed = _Params(params.bias, sigma, shared_sigma, params.pi)
    before = weights @ statistics["log_density"] + form.log_prior(params)
    after = weights @ trial["log_density"] + form.log_prior(proposed)
    if after >= before - _rounding_slack(before):
        return sigma, shared_sigma, trial
    return None


def _step_truncated_bias(data, weights, log_posterior, bias, sigma):
    """One guarded Newton step on each annotator's bias, truncated form.

    A bias stays within the scale's width of 0. See
    :func:`skem._model.steps._compute_location_derivatives`.
    """
    moments = data.reduce(_kernel_bias_moments, weights, log_posterior, sigma)
    width = _UNIT_BOUNDS[1] - _UNIT_BOUNDS[0]
    proposal = _propose_location(
        bias, moments["gradient"], moments["curvature"], (-width, width)
    )

    def evaluate(values, groups):
        return data.update(
            _kernel_annotator_trial, values, sigma, weights, log_posterior, groups
        )["objective"]

    bias = _guarded_ascent(bias, proposal, moments["objective"], evaluate)
    data.update(_kernel_settle_trial, True)
    return bias


def _step_truncated_sigma(
    data, bias, sigma, weights, prior, min_sigma, propose_only=False, sums=None
):
    """One guarded Newton step on the precision ``1 / sigma**2``, truncated form.

    See :func:`skem._model.steps._compute_precision_derivatives`. The scaled
    inverse-chi-squared prior adds ``(nu/2 + 1) log lam - nu tau^2 lam / 2``,
    concave too. First the joint step on every sigma and the shared scale
    (:func:`skem._model.steps._propose_joint_sigma`), taken if the objective does
    not decrease; else a Newton step per annotator, guarded. A step changes a
    precision by at most a factor ``_MAX_PRECISION_FACTOR`` and keeps ``sigma
    >= min_sigma``.

    Parameters
    ----------
    data : backend
        Blocks with the terms at the current parameters.
    bias, sigma : ndarray of shape (n_annotators,)
        ``sigma`` holds one repeated value for the shared form.
    weights : ndarray of shape (n_annotators,)
        Responsibility of each annotator (for the shared form, the output of
        :func:`_compute_annotator_weights`).
    prior : tuple of (float, float) or None
        ``(shared_sigma, strength)`` of each annotator's prior, or None for
        one shared sigma without a prior.
    min_sigma : float
        Floor on sigma.
    propose_only : bool, default=False
        Return the proposal unchecked, and leave the blocks as they are.
    sums : dict, default=None
        The blocks' :func:`_kernel_annotator_sums`, if known.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    shared_sigma : float
        The new shared scale: for the per-annotator prior, the joint step's
        if it raises the objective, else the best one given the guarded
        per-annotator step's sigma.
    """
    shared = prior is None
    if sums is None:
        sums = data.reduce(_kernel_annotator_sums)
    gradient, curvature, objective_now = (
        weights * sums["scale_slope"],
        weights * sums["scale_information"],
        weights * sums["log_density"],
    )
    if shared:
        gradient, curvature, objective_now = (
            np.array([gradient.sum()]),
            np.array([curvature.sum()]),
            np.array([objective_now.sum()]),
        )
        precision = np.array([sigma[0] ** -2.0])
    else:
        precision = sigma**-2.0
    gradient, curvature = _compute_precision_derivatives(gradient, curvature, precision)
    limits = _precision_limits(precision, min_sigma)

    def evaluate(values, groups, shared_sigma=None):
        group_sigma = values**-0.5
        if shared:
            annotator_sigma, annotators = np.full(sigma.shape[0], group_sigma[0]), None
        else:
            annotator_sigma, annotators = group_sigma, groups
        objective = data.update(
            _kernel_annotator_trial, bias, annotator_sigma, weights, None, annotators
        )["objective"]
        if shared:
            return np.array([objective.sum()])
        scale = prior[0] if shared_sigma is None else shared_sigma
        return objective + _compute_sigma_log_prior(group_sigma, scale, prior[1])

    if not shared:
        shared_sigma, strength = prior
        objective_now = objective_now + _compute_sigma_log_prior(
            sigma, shared_sigma, strength
        )
        joint_sigma, joint_shared = _propose_joint_sigma(
            gradient, curvature, precision, limits, strength, min_sigma
        )
        if propose_only:
            return joint_sigma, joint_shared
        objective = evaluate(joint_sigma**-2.0, None, joint_shared)
        total = objective_now.sum()
        if objective.sum() >= total - _rounding_slack(total):
            data.update(_kernel_settle_trial, True)
            return joint_sigma, joint_shared
        data.update(_kernel_settle_trial, False)
        half = 0.5 * strength + 1.0
        gradient = gradient + half / precision - 0.5 * strength * shared_sigma**2
        curvature = curvature - half / precision**2
    proposal = _propose_precision(precision, gradient, curvature, limits)
    if propose_only:
        new_sigma = np.full(sigma.shape[0], proposal[0] ** -0.5)
        return new_sigma, float(new_sigma[0])
    values = _guarded_ascent(precision, proposal, objective_now, evaluate)
    data.update(_kernel_settle_trial, True)
    new_sigma = values**-0.5
    if shared:
        new_sigma = np.full(sigma.shape[0], new_sigma[0])
        return new_sigma, float(new_sigma[0])
    return new_sigma, _estimate_shared_sigma(new_sigma, min_sigma)


def _rescue_truncated_sigma(data, bias, sigma, weights, prior, hard, current):
    """Offer the annotators judged bad a sigma fitted as if they were good.

    See :func:`_choose_sigma_by_marginal`. The candidate is the plain-normal
    update with weight 1, ``(SS_a + nu tau**2) / (n_a + nu + 2)``, from the
    squared residuals of the annotators with weight below 0.5; one pass of
    the truncated density over their ratings decides. Without biases, an
    upper bound on each candidate's density first rules out the annotators
    whom that pass could not change (see :func:`_kernel_log_mass_sums`).

    Parameters
    ----------
    current : dict
        The blocks' :func:`_kernel_annotator_sums` at the current parameters.

    Returns
    -------
    sigma : ndarray of shape (n_annotators,)
    take : ndarray of shape (n_annotators,), dtype bool
        The annotators who take their candidate. If any, the blocks hold the
        candidates' terms as a trial, for the caller to settle; if none, the
        blocks hold no trial.
    """
    suspect = weights < 0.5
    n_suspect = np.where(suspect, data.n_per_annotator, 0)
    n_annotators = data.n_annotators
    sq_residuals = np.where(suspect, current["z_squared"] * sigma**2, 0.0)
    candidate = _estimate_sigma_per_annotator_normal(
        sq_residuals, n_suspect, np.ones(n_annotators), *prior, 0.0
    )
    candidate = np.clip(candidate, np.min(sigma), 1.0)
    choose = partial(
        _choose_sigma_by_marginal,
        sigma,
        current["log_density"],
        candidate,
        pi=_estimate_pi(weights),
        log_bad=np.zeros(n_annotators),
        prior=prior,
        combine=_COMBINE[hard],
    )
    if not np.any(bias):
        # Every location lies inside the bounds, where the truncated mass
        # only shrinks as sigma grows: a lower bound on it at the widest
        # candidate bounds each candidate's density from above, for one
        # exponential per item instead of normal CDFs per rating. Most
        # suspects are random raters, whom the bound already rules out.
        widest = float(np.max(candidate[suspect]))
        log_mass = data.reduce(_kernel_log_mass_sums, widest, suspect)["log_mass"]
        upper_bound = (
            _estimate_normal_log_density(sq_residuals, n_suspect, candidate) - log_mass
        )
        suspect &= choose(upper_bound, screen=True)
        if not suspect.any():
            return sigma, suspect
    candidate_log_density = data.update(
        _kernel_annotator_trial,
        bias,
        candidate,
        np.ones(n_annotators),
        None,
        suspect,
    )["objective"]
    take = suspect & choose(candidate_log_density)
    if not take.any():
        data.update(_kernel_settle_trial, False)
    return np.where(take, candidate, sigma), take


# How an annotator's two joint log probabilities make its term of the objective.
_COMBINE = {False: np.logaddexp, True: np.maximum}

_STARTS = {False: _start_normal, True: _start_truncated}

_M_STEPS = {False: _m_step_normal, True: _m_step_truncated}
