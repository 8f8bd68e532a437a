"""The EM driver: one loop for every estimator, in memory or on a cluster.

The driver owns the parameters, the starts (``init``, ``n_init``,
``warm_start``), the E-step, convergence and the fitted per-annotator
attributes. The model forms (:mod:`skem._model.form`) supply the M-steps, and a
backend (:mod:`skem._em.backend`) holds the items; the driver never sees a
rating.

After each iteration of each run the driver reports an :class:`_IterationInfo`
to ``estimator._iteration_callback`` if the estimator has one that is not
None. It is a private attribute, not a parameter, so ``clone`` drops it; it
is how the ``skem`` command follows a fit. ``verbose`` prints the same
report.

The terms of the code and the docs are the glossary's, in :mod:`skem._model`.
"""

from abc import ABCMeta
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from skem._em.e_step import _e_step
from skem._em.model_setup import _ModelSetup
from skem._em.parameters import _MAX_TAIL, _MIN_TAIL
from skem._em.recycling import _recycling
from skem._em.runs import (
    _AUTO_RACE_ITERATIONS,
    _AUTO_STARTS,
    _INIT_NAMES,
    _forget_terms,
    _init_name,
    _is_ahead,
    _is_random_init,
    _IterationInfo,
    _kernel_forget_terms,
    _MixtureTest,
    _nested_start,
    _prepare_starts,
)
from skem._em.score_range import _sum_log_scores
from skem._em.validation import _warn_at_caller
from skem._em.warm import _clip_warm_params, _kernel_set_locations
from skem._model.evidence import (
    _check_judgeable,
    _estimate_consensus_weights,
    _flagged_annotators,
    _judged_annotators,
    _kernel_rater_counts,
    _measure_evidence_per_rating,
    _mixture_annotators,
    _mixture_candidates,
)
from skem._model.form import _Params
from skem._model.lapses import _find_lapses, _report_lapses
from skem._model.likelihoods import (
    _estimate_annotator_log_joint,
)
from skem._model.others import _find_followers
from skem._model.predictive import _find_undetermined
from skem._model.random import _random_log_density
from skem._model.shift import _centre_biases
from skem._model.starts import _check_init_weights

# The usable range of noise_prior, measured with fuzzers. From about 1e12 a
# fit's objective carries rounding noise above tol, and the annotators' order
# could pick its maximum (a 4 x 4 panel with biases: log-likelihood 39.4 or
# 28.4 by column order; 2e-8 apart at 1e11, 1e-9 at 1e9). Below 1e-300 (nu /
# 2 subnormal) the prior's constant is -inf or NaN. 1e9 pseudo-ratings
# already pin every sigma to the shared scale: noise='shared' is the limit.
_NOISE_PRIOR_RANGE = (1e-300, 1e9)


class _BaseEM(_ModelSetup, BaseEstimator, metaclass=ABCMeta):
    """Parameters and the EM loop shared by every annotator model.

    Subclasses validate their input, lay it out in a backend and call
    :meth:`_fit_em`; ``_hard`` chooses soft or hard EM. EM runs in unit score
    space, where the score range is ``[0, 1]``; the fitted attributes are in
    score units.
    """

    _parameter_constraints: dict = {
        "bounded": ["boolean"],
        "noise": [StrOptions({"per_annotator", "shared"})],
        "noise_prior": [Interval(Real, *_NOISE_PRIOR_RANGE, closed="both")],
        "bias": ["boolean"],
        "init": [StrOptions(_INIT_NAMES), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "score_range": [StrOptions({"auto"}), "array-like"],
        "score_scale": [StrOptions({"linear", "log"})],
        "levels": [StrOptions({"auto"}), None, "array-like"],
        "tail": [
            None,
            StrOptions({"auto"}),
            Interval(Real, _MIN_TAIL, _MAX_TAIL, closed="both"),
        ],
        "min_sigma": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    # Whether EM assigns each annotator good or bad (HardAnnotatorEM).
    _hard = False

    def __init__(
        self,
        *,
        bounded=True,
        noise="per_annotator",
        noise_prior=200.0,
        bias=False,
        init="auto",
        n_init=1,
        max_iter=100,
        tol=1e-6,
        score_range="auto",
        score_scale="linear",
        levels="auto",
        tail=None,
        min_sigma="auto",
        random_state=None,
        warm_start=False,
        verbose=0,
    ):
        self.bounded = bounded
        self.noise = noise
        self.noise_prior = noise_prior
        self.bias = bias
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.score_range = score_range
        self.score_scale = score_scale
        self.levels = levels
        self.tail = tail
        self.min_sigma = min_sigma
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    def _fit_or_restore(self, X, gold):
        """``self._fit(X, gold)``; if it raises, the estimator is as it was."""
        previous_state = dict(self.__dict__)
        try:
            return self._fit(X, gold)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous_state)
            raise

    def _fit_em(self, data, form, warm_params=None, warm_refit=None):
        """Fit EM, and leave the best run's blocks in ``data``.

        The mixture first holds every annotator with enough compared ratings
        (:func:`skem._model.evidence._mixture_candidates`). If the fit's
        good ratings say that some of them could not reach a verdict even
        if honest (:func:`skem._model.evidence._mixture_annotators`), or that
        one rating alone calls them random (:mod:`skem._model.lapses`), or
        that the others' consensus of their items cannot call them random
        (their ratings follow it beyond chance,
        :func:`skem._model.others._find_followers`, or its predictions do not
        condemn them, :mod:`skem._model.predictive`), EM goes on from that fit
        with those annotators presumed good: a new objective, fixed for the
        whole of its run.

        Parameters
        ----------
        data : backend
            The items, in unit score space, not yet initialized; with
            ``warm_params``, each block's ``location`` holds the previous fit's
            locations (NaN for new items).
        form : _ModelForm
        warm_params : _Params, default=None
            The previous fit's annotator parameters, for a warm start.
        warm_refit : tuple, default=None
            ``(in_mixture, params, location)`` of the previous fit's run
            with fewer annotators in the mixture: that run resumes from
            there if the mixture is the same again.

        Returns
        -------
        run : dict
            See :meth:`_run_em`.
        """
        if not isinstance(self.init, str):
            # On every fit: a warm start does not read it, and a wrong one
            # would only fail on the next cold fit.
            _check_init_weights(self.init, data.n_annotators)
        counts = data.reduce(_kernel_rater_counts)
        _check_judgeable(data.n_per_annotator, counts["max_raters"])
        data.random_log_density = _random_log_density(data)
        candidates = _mixture_candidates(counts["n_compared"])
        data.in_mixture = candidates
        best = self._fit_from_starts(data, form, warm_params, keep_terms=True)
        # A warm start resumes each run from its own end, not from the kept
        # run's: every later run of this fit, the refit with fewer annotators
        # and the nested one, starts from this one, so that on the same
        # ratings the refit meets the same evidence and test again.
        resume = {"first": self._resume_point(data, best), "refit": None}
        per_rating = _measure_evidence_per_rating(data, form, best, candidates)
        lapsed = _find_lapses(data, form, best)
        _forget_terms(data, best)
        in_mixture = _mixture_annotators(candidates, counts["evidence"], per_rating)
        lapsed &= in_mixture
        in_mixture &= ~lapsed
        # A refit may flag others, whom the checks then judge in turn; each
        # round takes annotators out of the mixture, so the rounds end.
        followers = np.zeros_like(in_mixture)
        while True:
            followers |= _find_followers(data, best)
            in_mixture = in_mixture & ~followers
            in_mixture &= ~_find_undetermined(data, form, best)
            if np.array_equal(in_mixture, data.in_mixture):
                break
            data.in_mixture = in_mixture
            start = best["params"]
            if warm_refit is not None and np.array_equal(warm_refit[0], in_mixture):
                start = warm_refit[1]
                data.update(_kernel_set_locations, warm_refit[2])
            best = self._fit_from_starts(data, form, start)
            point = self._resume_point(data, best)
            resume["refit"] = None if point is None else (in_mixture, *point)
        best = self._test_mixture(data, form, best)
        # Without a mixture (its test failed) there is no verdict to spare.
        lapsed &= data.in_mixture.any()
        best = _report_lapses(data, form, best, lapsed)
        best["n_judged"] = counts["n_judged"]
        judged = best.pop("judged_in_nested", data.in_mixture) | lapsed
        best["judged"] = _judged_annotators(judged, counts["n_judged"])
        best.setdefault("mixture_flagged", np.zeros_like(best["judged"]))
        best["followers"] = followers & ~best["judged"]
        best["resume"] = resume
        return _centre_biases(best, data.n_per_annotator, data.has_gold)

    def _resume_point(self, data, run):
        """Where a warm refit resumes ``run`` (:mod:`skem._em.warm`); None here."""
        return None

    def _test_mixture(self, data, form, best):
        """``best``, or the nested fit with everyone good if the mixture fails its test.

        A fit that calls someone random is tested against the fit that
        presumes everyone good, from its parameters
        (:func:`skem._model.evidence._estimate_mixture_gain`). Each run keeps
        its own objective, so EM stays monotone; only the kept run's blocks
        stay in ``data``; a kept nested run judges whom the mixture did not flag.
        """
        flagged = _flagged_annotators(best)
        if not flagged.any():
            return best

        test = _MixtureTest(data, best)
        in_mixture = data.in_mixture
        data.in_mixture = np.zeros_like(in_mixture)
        nested = self._fit_from_starts(
            data,
            form,
            _nested_start(data, form, best),
            "nested",
            stop=test.passed_early,
        )
        if nested["stopped"] or test.passes(nested):
            data.in_mixture = in_mixture
            data.state = best["state"]
            return best
        nested["judged_in_nested"] = in_mixture & ~flagged
        nested["mixture_flagged"] = in_mixture & flagged
        return nested

    @_recycling()
    def _fit_from_starts(
        self, data, form, warm_params, name=None, stop=None, keep_terms=False
    ):
        """Run EM from each start; the best run, its blocks left in ``data``.

        ``name``, if given, names the runs in the reports of each iteration;
        ``stop`` is passed to :meth:`_run_em`. With ``keep_terms`` the blocks
        keep the best run's per-rating terms if they still hold them (the
        run that ran last), for its evidence to read; else only its
        locations. Per-rating arrays are recycled meanwhile.
        """
        if warm_params is not None:
            starts = [None]
        elif _is_random_init(self.init):
            starts = ("random" for _ in range(self.n_init))
        elif isinstance(self.init, str) and self.init == "auto":
            starts = list(_AUTO_STARTS)
        else:
            starts = [self.init]
        random_state = check_random_state(self.random_state)
        # init='auto' races its starts: each runs a few iterations, and only
        # the one ahead goes on.
        race = (
            isinstance(self.init, str) and self.init == "auto" and warm_params is None
        )
        max_iter = min(self.max_iter, _AUTO_RACE_ITERATIONS) if race else self.max_iter
        numbered = list(enumerate(starts, start=1))
        if race:
            # The first start, which wins ties, runs last: when it leads, its
            # per-rating terms are still there for the rest of its run, which
            # then needs no pass to rebuild them.
            numbered.reverse()
        prepared = _prepare_starts(data, form, numbered, warm_params, random_state)
        best = last = None
        # A start's blocks are let go as its run begins.
        while prepared:
            number, init, params, data.state = prepared.pop(0)
            last = self._run_em(
                data,
                form,
                params,
                name or _init_name(init),
                number,
                max_iter,
                stop=stop,
            )
            # Only the locations outlive a run: its per-rating terms would
            # double the memory of the next run. The last run's stay, for the
            # rest of its race or for the caller.
            if number != numbered[-1][0]:
                data.update(_kernel_forget_terms)
            last["state"] = data.state
            if best is None or _is_ahead(last, best):
                best = last
        # Only the blocks may hold a run's terms, so that each step's new
        # terms replace them: the run left behind frees its own.
        statistics = best["statistics"] if best is last else None
        last = None
        if race and not best["converged"] and best["n_iter"] < self.max_iter:
            data.state = best.pop("state")
            best = self._run_em(
                data,
                form,
                best["params"],
                best["init"],
                best["run"],
                self.max_iter,
                resume=best,
                statistics=statistics,
            )
        data.state = best["state"]
        if not keep_terms:
            _forget_terms(data, best)
        return best

    def _run_em(
        self,
        data,
        form,
        params,
        init,
        run,
        max_iter,
        resume=None,
        statistics=None,
        stop=None,
    ):
        """Iterate M-step and E-step from ``params`` until convergence.

        ``init`` and ``run`` name the run in the reports of each iteration
        (:meth:`_report_iteration`). With ``resume``, a run that stopped at
        ``params`` after ``resume["n_iter"]`` of its ``max_iter`` iterations
        goes on: its objectives continue, and the hard E-step keeps its flags
        where they are no worse. ``statistics``, those of the blocks as they
        are, spares the pass of ``form.start`` when the blocks still
        hold their terms at ``params``. ``stop(objectives, posterior,
        params)``, if given, ends the run early after an iteration where it
        returns True, with the objectives from the start's on. Before a run
        ends, converged or at ``max_iter``, ``form.settle`` offers a rescue
        the last M-step skipped; if that moves the parameters, the move is
        part of the iteration and its change is measured again.

        Returns
        -------
        run : dict
            The final ``params``, their ``statistics``, ``objective``, the
            ``objectives`` of every iteration, ``n_iter``, ``converged``, the
            last ``change`` per rating, the final E-step's ``weights``,
            ``log_posterior``, ``log_posterior_bad`` and ``responsibility``,
            the blocks' final ``state``, and the run's ``init`` and number (``run``).
        """
        if statistics is None:
            statistics = form.start(data, params)
        previous_weights = None if resume is None else resume["weights"]
        posterior = self._posterior(
            data, form, params, statistics["log_density"], previous_weights
        )
        objectives = [] if resume is None else list(resume["objectives"])
        converged = stopped = False
        change = np.inf
        start = posterior["objective"]
        for n_iter in range(len(objectives) + 1, max_iter + 1):
            previous = posterior["objective"]
            params, statistics = form.m_step(
                data,
                params,
                posterior["responsibility"],
                posterior["log_responsibility"],
                statistics,
            )
            posterior = self._posterior(
                data, form, params, statistics["log_density"], posterior["weights"]
            )
            change = (posterior["objective"] - previous) / data.n_ratings
            settled = None
            # A run ends, converged or at max_iter, only after a rescue that
            # its last M-step skipped is offered at its final parameters.
            if abs(change) < self.tol or n_iter == max_iter:
                settled = form.settle(
                    data, params, posterior["responsibility"], statistics
                )
            if settled is not None:
                params, statistics = settled
                posterior = self._posterior(
                    data, form, params, statistics["log_density"], posterior["weights"]
                )
                change = (posterior["objective"] - previous) / data.n_ratings
            objectives.append(posterior["objective"])
            self._report_iteration(
                _IterationInfo(
                    init, run, n_iter, posterior["objective"], change, form.tail_df
                )
            )
            if abs(change) < self.tol:
                converged = True
                break
            if stop is not None and stop([start, *objectives], posterior, params):
                stopped = True
                break
        return {
            **posterior,
            "params": params,
            "statistics": statistics,
            "objectives": objectives,
            "n_iter": len(objectives),
            "converged": converged,
            "stopped": stopped,
            "change": change,
            "state": data.state,
            "n_ratings": data.n_ratings,
            "init": init,
            "run": run,
        }

    def _posterior(self, data, form, params, log_density, previous_weights=None):
        """E-step at ``params``: the annotators' posterior and the objective."""
        log_good, log_bad = _estimate_annotator_log_joint(
            log_density, data.random_log_density, params.pi
        )
        posterior = _e_step(
            form.em,
            log_good,
            log_bad,
            log_density,
            data.in_mixture,
            data.n_per_annotator > 0,
            previous_weights,
        )
        posterior["objective"] += form.log_prior(params)
        return posterior

    def _warm_params(self, scale, form):
        """The fitted annotator parameters, as a warm start on ``scale``."""
        return _clip_warm_params(self._fitted_params(scale), form)

    def _fitted_params(self, scale):
        """The fitted annotator parameters in the unit space of ``scale``.

        On the fitted scale they are the fit's own: read back through
        ``sigma_ / width`` they can differ in the last place, and the
        consensus of the training ratings (``transform``) would then miss
        ``mu_`` by as much.
        """
        if scale == getattr(self, "_score_scale", None) and hasattr(
            self, "_unit_params"
        ):
            # Copies, as the division gives: no caller can change the fit's.
            fitted = self._unit_params
            return replace(fitted, bias=fitted.bias.copy(), sigma=fitted.sigma.copy())
        sigma = np.broadcast_to(self.sigma_, self.weights_.shape).astype(np.float64)
        return _Params(
            self.bias_ / scale.width,
            sigma / scale.width,
            self.shared_sigma_ / scale.width,
            self.pi_,
        )

    def _set_annotator_attributes(self, run, form, scale, data):
        """Set the fitted per-annotator attributes from the kept run, in score units."""
        params = run["params"]
        width = scale.width
        # Densities in score units are unit densities / width per rating (and
        # / s on the logarithms); the prior is a density of log sigma**2, the
        # same in either unit.
        offset = run["n_ratings"] * np.log(width)
        if scale.log:
            offset += data.reduce(_sum_log_scores, scale)["log_score_sum"]
        objectives = np.asarray(run["objectives"]) - offset
        self._score_scale = scale
        self._unit_params = params
        self.score_range_ = (scale.low, scale.high)
        self.levels_ = scale.level_values()
        self.tail_ = form.tail_df
        # Whether tail_ was chosen from tail='auto''s grid, by this fit or by
        # the fit it warm-started from: a warm 'auto' fit goes on with it.
        self._tail_chosen = isinstance(self.tail, str)
        self.n_judged_ratings_ = run["n_judged"]
        self.judged_ = run["judged"]
        # Why some unjudged annotators are: for the reasons in words.
        self._mixture_flagged = run["mixture_flagged"]
        self._followers = run["followers"]
        self.lapsed_ = run["lapsed"]
        sigma = width * params.sigma
        self.sigma_ = float(sigma[0]) if form.noise == "shared" else sigma
        self.shared_sigma_ = width * params.shared_sigma
        self.bias_ = width * params.bias
        self.pi_ = params.pi
        self.weights_ = run["weights"]
        self.log_posterior_ = run["log_posterior"]
        self._log_posterior_bad = run["log_posterior_bad"]
        self.consensus_weights_ = self._consensus_weights()[0]
        self.log_likelihoods_ = objectives
        self.log_likelihood_ = float(objectives[-1])
        self.n_iter_ = run["n_iter"]
        self.converged_ = run["converged"]

    def _consensus_weights(self):
        """The fitted annotators' consensus weights and their logs."""
        return _estimate_consensus_weights(
            self.weights_, self.log_posterior_, self.pi_, self.judged_
        )

    def _warn_if_not_converged(self, run):
        if not run["converged"]:
            _warn_at_caller(
                f"{type(self).__name__} did not converge in max_iter="
                f"{self.max_iter} iterations (last change per rating "
                f"{run['change']:.3g} >= tol={self.tol:g}). Increase max_iter or tol.",
                ConvergenceWarning,
            )

    def _fit_tails(self, data, forms, warm_params=None, warm_refit=None):
        """Fit EM in each of ``forms``; keep the fit with the highest objective.

        ``forms`` differ only in the degrees of freedom of the good component
        (:meth:`_tail_candidates`). Choosing by the objective is their
        maximum-likelihood estimate over a grid: each form is fitted as
        :meth:`_fit_em` fits it, and on a tie the first form, the lightest
        tail, is kept. The fits share ``data``, whose blocks end as the kept
        fit's; a warm start has a single form.

        Parameters
        ----------
        data : backend
            See :meth:`_fit_em`.
        forms : sequence of _ModelForm
        warm_params, warm_refit
            See :meth:`_fit_em`; with a single form only.

        Returns
        -------
        form : _ModelForm
            The kept fit's form.
        run : dict
            The kept fit, see :meth:`_fit_em`.
        """
        if len(forms) == 1:
            return forms[0], self._fit_em(data, forms[0], warm_params, warm_refit)
        initial, best = data.state, None
        for form in forms:
            # Each fit starts from the blocks as given, not from the last fit.
            data.state = initial
            run = self._fit_em(data, form)
            if best is None or run["objectives"][-1] > best[1]["objectives"][-1]:
                best = (form, run, data.state)
        form, run, data.state = best
        return form, run

    def _report_iteration(self, info):
        """Print ``info`` if ``verbose``; pass it to ``_iteration_callback``, if any."""
        if self.verbose:
            tail = "" if info.tail is None else f", tail {info.tail:g}"
            print(
                f"[{type(self).__name__}] init {info.run} ({info.init}{tail}), "
                f"iteration {info.n_iter}: objective {info.objective:.6f}, change "
                f"per rating {info.change:.3e}"
            )
        callback = getattr(self, "_iteration_callback", None)
        if callback is not None:
            callback(info)
