"""The runs of EM: their starts, the race of ``init='auto'``, their reports.

The driver (:mod:`skem._em.driver`) runs EM from each start, keeps the run
ahead, and after each iteration reports an :class:`_IterationInfo`. A run
that calls someone random is then tested against a run with everyone good
(:class:`_MixtureTest`).
"""

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from skem._model.evidence import (
    _MIXTURE_TEST_GAIN,
    _estimate_mixture_gain,
    _flagged_annotators,
    _kernel_location_information,
)
from skem._model.normal import _kernel_sq_residuals
from skem._model.starts import _initialize_params, _kernel_initialize_warm
from skem._model.steps import _estimate_sigma_per_annotator_normal, _rounding_slack


class _IterationInfo(NamedTuple):
    """What the driver reports after each EM iteration.

    Attributes
    ----------
    init : str
        The start of the run: ``'median'``, ``'all_good'``, ``'random'``,
        ``'agreement'``, ``'median_agreement'`` and ``'ones'``
        (``init='auto'``'s starts: initial weights from the agreement with
        the other ratings of the items, with the items' medians, and of 1),
        ``'array'``
        (initial weights), ``'warm'`` (``warm_start``, or a refit with fewer
        annotators in the mixture) or ``'nested'`` (everyone good, the fit
        that the mixture's is tested against).
    run : int
        The run's number, from 1 (``init='auto'`` races three runs,
        ``init='random'`` ``n_init``).
    n_iter : int
        The iteration's number within the run, from 1.
    objective : float
        The objective after the iteration, in unit score space.
    change : float
        Its change over the iteration, per rating (EM stops below ``tol``).
    tail : float or None
        The degrees of freedom of the run's Student-t good component, None
        for the normal (``tail='auto'`` runs EM once per tail).
    """

    init: str
    run: int
    n_iter: int
    objective: float
    change: float
    tail: float | None = None


# init='auto' runs EM from each of these and keeps the higher objective.
# Two weigh each annotator by its correlation with a reference that follows
# the items (_estimate_agreement_weights): the mean of the other ratings of
# its items finds the random raters where they are many, the items' medians
# where an item's few raters include one who contradicts the others. The
# third trusts everyone, the prior included (initial weights of 1), and finds
# the maximum nearest nobody random, which a start that doubts some can miss
# for one that flags honest raters of a hard task. A fit that calls anyone
# random is then tested against everyone good (_MixtureTest).
_AUTO_STARTS = ("agreement", "median_agreement", "ones")

# The starts a user may name (init='auto''s third start, weights of 1, is
# init=np.ones(n_annotators)).
_INIT_NAMES = {"auto", "agreement", "median_agreement", "all_good", "median", "random"}

# init='auto' runs each start this many iterations, and only the one then
# ahead goes on to convergence.
_AUTO_RACE_ITERATIONS = 3


def _is_ahead(run, best):
    """Whether ``run`` beats ``best``: by more than rounding, or ties and is first.

    Runs that reach the same maximum keep the start listed first (the lower
    ``run`` number), whatever the order of the sums or of the runs.
    """
    slack = _rounding_slack(best["objective"])
    if run["objective"] > best["objective"] + slack:
        return True
    return run["objective"] >= best["objective"] - slack and run["run"] < best["run"]


def _kernel_forget_terms(block):
    """The block without its per-rating terms and trial."""
    return replace(block, terms=None, sums=None, trial=None), {}


def _forget_terms(data, run):
    """Drop the blocks' per-rating terms, and keep the blocks as ``run``'s state."""
    data.update(_kernel_forget_terms)
    run["state"] = data.state


def _prepare_starts(data, form, numbered, warm_params, random_state):
    """Set up each start before any run: its parameters and its blocks.

    A start's passes then never add to the per-rating arrays that a run
    leaves behind for recycling (:mod:`skem._em.recycling`): the race of
    ``init='auto'`` peaks no higher than one run.

    Parameters
    ----------
    data : backend
        The items, not yet started; left as they were.
    form : _ModelForm
    numbered : list of (int, str or array-like)
        Each run's number and start (:func:`skem._model.starts._initialize_params`).
    warm_params : _Params or None
        The previous fit's parameters: every run resumes from them.
    random_state : RandomState

    Returns
    -------
    prepared : list of (int, str or array-like, _Params, state)
        Each run's number, start, first parameters and blocks.
    """
    initial = data.state
    prepared = []
    for number, init in numbered:
        data.state = initial
        if warm_params is None:
            params = _initialize_params(data, form, init, random_state)
        else:
            data.update(_kernel_initialize_warm, form.bounded)
            params = warm_params
        prepared.append((number, init, params, data.state))
    data.state = initial
    return prepared


def _init_name(init):
    """The name of a run's start in :class:`_IterationInfo`."""
    if init is None:
        return "warm"
    if isinstance(init, str):
        return init
    return "array"


def _is_random_init(init):
    return isinstance(init, str) and init == "random"


def _estimate_remaining_rise(objectives):
    """How much more a run's objective would rise at its latest rate.

    EM converges linearly: each increment is about ``r`` times the one
    before. With the last two increments ``d1``, ``d2`` and ``r = d2 / d1 <
    1``, the run would gain ``d2 r / (1 - r)`` more.

    Parameters
    ----------
    objectives : sequence of float
        The run's objectives, from its start's on.

    Returns
    -------
    remaining : float
        ``inf`` with fewer than three objectives, or a rate that is not
        below 1 (no linear convergence yet); 0 once the objective stopped
        rising.
    """
    if len(objectives) < 3:
        return np.inf
    before, last = objectives[-2] - objectives[-3], objectives[-1] - objectives[-2]
    if last <= 0:
        return 0.0
    if not 0 < last < before:
        return np.inf
    rate = last / before
    return last * rate / (1.0 - rate)


class _MixtureTest:
    """The test of a mixture's run against its nested run, everyone good.

    The mixture is kept if it gains more than ``_MIXTURE_TEST_GAIN`` over
    the nested run (:func:`skem._model.evidence._estimate_mixture_gain`).
    The nested run need not converge to show that: it may stop once even
    the rest of its rise, at its latest rate, would leave the mixture ahead
    (:meth:`passed_early`).

    Parameters
    ----------
    data : backend
        The items.
    mixture : dict
        The mixture's run (:meth:`skem._em.driver._BaseEM._run_em`).
    """

    def __init__(self, data, mixture):
        self._data = data
        self._mixture = (
            mixture["objective"],
            self._information(mixture["responsibility"], mixture["params"]),
        )

    def _information(self, responsibility, params):
        return self._data.reduce(
            _kernel_location_information, responsibility, params.sigma**-2.0
        )["log_information"]

    def _gain(self, objective, responsibility, params):
        objective_mixture, information_mixture = self._mixture
        return _estimate_mixture_gain(
            (objective_mixture, objective),
            (information_mixture, self._information(responsibility, params)),
        )

    def passes(self, nested):
        """Whether the mixture gains enough over the ``nested`` run's end."""
        gain = self._gain(
            nested["objective"], nested["responsibility"], nested["params"]
        )
        return gain > _MIXTURE_TEST_GAIN

    def passed_early(self, objectives, posterior, params):
        """The nested run's ``stop``: the mixture passes whatever is left of it.

        Parameters
        ----------
        objectives : list of float
            The nested run's objectives, from its start's on.
        posterior : dict
            Its latest E-step.
        params : _Params
            Its latest parameters.

        Returns
        -------
        passed : bool
        """
        remaining = _estimate_remaining_rise(objectives)
        if remaining == np.inf:
            return False
        gain = self._gain(objectives[-1], posterior["responsibility"], params)
        return gain - remaining > _MIXTURE_TEST_GAIN


def _nested_start(data, form, mixture):
    """Where the nested run starts: the mixture's parameters, re-fitted as if good.

    Each annotator the mixture flags (:func:`_flagged_annotators`) takes the
    sigma it would have if good, the closed-form update of the plain normal
    with weight 1 from its squared residuals at the mixture's locations
    (within the mixture's smallest sigma and 1): from the mixture's narrow
    sigma, the nested run's first steps would have to widen it through the
    guard's halvings.

    Parameters
    ----------
    data : backend
        The items, the mixture's locations in the blocks.
    form : _ModelForm
    mixture : dict
        The mixture's run.

    Returns
    -------
    params : _Params
    """
    params = mixture["params"]
    flagged = _flagged_annotators(mixture)
    sq_residuals = data.reduce(_kernel_sq_residuals, params.bias)["sq_residuals"]
    candidate = _estimate_sigma_per_annotator_normal(
        sq_residuals,
        data.n_per_annotator,
        np.ones(data.n_annotators),
        params.shared_sigma,
        form.noise_prior,
        form.min_sigma,
    )
    sigma = np.where(
        flagged, np.clip(candidate, np.min(params.sigma), 1.0), params.sigma
    )
    if form.noise == "shared":
        # An annotator without ratings has no residuals: no say in the scale.
        rated = data.n_per_annotator > 0
        sigma = np.full_like(sigma, np.sqrt(np.mean(sigma[rated] ** 2)))
    return replace(params, sigma=sigma)
