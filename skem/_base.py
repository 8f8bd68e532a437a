"""The EM driver shared by the soft and hard annotator models."""

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from scipy.stats import norm
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skem._model import (
    _AUTO_MIN_SIGMA_FRACTION,
    _apply_gold,
    _check_ratings_in_range,
    _compute_annotator_sq_residuals,
    _compute_consensus_std_error,
    _compute_item_log_likelihood,
    _estimate_annotator_log_joint,
    _estimate_consensus,
    _estimate_item_medians,
    _estimate_pi,
    _estimate_sigma,
    _resolve_score_range,
)
from skem._ratings import _ratings_from_matrix

_SPARSE_FORMATS = ("csr", "csc", "coo")


class _BaseAnnotatorEM(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class for the annotator models: validation, the EM loop, restarts.

    Subclasses provide ``_e_step``; everything else is shared. The EM state is
    ``mu_``, ``sigma_``, ``pi_`` and the per-annotator sum of squared residuals
    from ``mu_``, which the M-step computes once and the next E-step reuses.
    """

    _parameter_constraints: dict = {
        "init": [StrOptions({"all_good", "median", "random"}), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "score_range": [StrOptions({"auto"}), "array-like"],
        "min_sigma": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        init="median",
        n_init=1,
        max_iter=100,
        tol=1e-6,
        score_range="auto",
        min_sigma="auto",
        random_state=None,
        warm_start=False,
        verbose=0,
    ):
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.score_range = score_range
        self.min_sigma = min_sigma
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate the consensus scores and the reliability of each annotator.

        With ``init='random'`` the model is fitted ``n_init`` times and the run
        with the highest final objective is kept. The other inits are
        deterministic, so they make a single run. With ``warm_start=True`` a
        refit starts from the previous solution.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_annotators)
            ``X[i, a]`` is annotator ``a``'s score for item ``i``; ``NaN`` (or,
            for sparse input, an absent entry) means "not rated". Explicit
            zeros stored in a sparse matrix are ratings of 0.

        y : array-like of shape (n_items,), default=None
            Known true scores ("gold" items), NaN for unknown items. A gold
            item's consensus stays at its known value, which anchors the
            judgement of the annotators who rated it. In a
            :class:`~sklearn.pipeline.Pipeline`, the pipeline's ``y`` reaches
            this method: pass one only if it holds true scores.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = validate_data(
            self,
            X,
            accept_sparse=_SPARSE_FORMATS,
            dtype=np.float64,
            ensure_all_finite="allow-nan",
        )
        ratings = _ratings_from_matrix(X)
        if ratings.n_ratings == 0:
            raise ValueError(
                "X contains no observed ratings: every entry is NaN (or absent "
                "from the sparse matrix)."
            )
        gold = self._check_gold(y, ratings.n_items)
        self.score_range_ = _resolve_score_range(self.score_range, ratings)
        self._min_sigma = self._resolve_min_sigma()
        self._gold = gold

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        if not do_init and self.mu_.shape[0] != ratings.n_items:
            raise ValueError(
                f"warm_start=True needs the same items as the previous fit: X has "
                f"{ratings.n_items} items, the previous fit had {self.mu_.shape[0]}."
            )
        n_init = self.n_init if do_init and _is_random_init(self.init) else 1
        random_state = check_random_state(self.random_state)

        best = None
        for init_index in range(n_init):
            if do_init:
                self._initialize(ratings, random_state)
            else:
                self._annotator_sq_residuals = _compute_annotator_sq_residuals(
                    ratings, self.mu_
                )
            run = self._run_em(ratings, init_index)
            if best is None or run["objective"] > best["objective"]:
                best = {**run, "params": self._get_parameters()}

        self._set_parameters(best["params"])
        self.weights_ = best["weights"]
        self.log_posterior_ = best["log_posterior"]
        self.log_likelihoods_ = np.asarray(best["objectives"])
        self.log_likelihood_ = float(best["objective"])
        self.n_iter_ = best["n_iter"]
        self.converged_ = best["converged"]
        self.mu_std_error_ = _compute_consensus_std_error(
            ratings, self.weights_, self.sigma_, gold
        )

        if not self.converged_:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter="
                f"{self.max_iter} iterations (last change per rating "
                f"{best['change']:.3g} >= tol={self.tol:g}). Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        _warn_unrated_items(self.mu_, "the training data")
        return self

    def transform(self, X):
        """Return the consensus score of each item (row) of X.

        The consensus is the mean of the row's ratings weighted by
        ``weights_``. On the training data it equals ``mu_`` up to the last EM
        update (so to within the convergence tolerance once converged), except
        for gold items, whose ``mu_`` is their known score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_annotators)
            Ratings of the same annotators as in ``fit``, NaN (or absent) for
            "not rated".

        Returns
        -------
        consensus : ndarray of shape (n_items, 1)
            NaN for the rows without any rating (with a warning).
        """
        check_is_fitted(self)
        ratings = self._validate_ratings(X)
        consensus = _estimate_consensus(ratings, self.weights_, self.log_posterior_)
        _warn_unrated_items(consensus, "X")
        return consensus[:, np.newaxis]

    def score_samples(self, X):
        """Compute the predictive log-likelihood of each item's ratings.

        For row ``i`` with consensus ``m_i = transform(X)[i]`` this is
        ``sum_a log(w_a N(s_ia; m_i, sigma_) + (1 - w_a) U(s_ia))`` over the
        annotators who rated it, with ``w = weights_`` and ``U`` the uniform
        density on ``score_range_`` (zero outside it).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_annotators)
            Ratings of the same annotators as in ``fit``.

        Returns
        -------
        log_likelihood : ndarray of shape (n_items,)
            Zero for rows without any rating.
        """
        check_is_fitted(self)
        ratings = self._validate_ratings(X)
        consensus = _estimate_consensus(ratings, self.weights_, self.log_posterior_)
        return _compute_item_log_likelihood(
            ratings, consensus, self.sigma_, self.weights_, self.score_range_
        )

    def score(self, X, y=None):
        """Return the mean predictive log-likelihood of the items' ratings.

        Higher is better, so that :class:`~sklearn.model_selection.GridSearchCV`
        and :func:`~sklearn.model_selection.cross_val_score` can use it
        without ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_annotators)
            Ratings of the same annotators as in ``fit``.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples` over the rows of X.
        """
        return float(np.mean(self.score_samples(X)))

    def mu_interval(self, level=0.95):
        """Return a normal confidence interval of each training item's consensus.

        ``mu_ -/+ z * mu_std_error_`` with ``z`` the ``(1 + level) / 2``
        quantile of the standard normal distribution.

        Parameters
        ----------
        level : float, default=0.95
            Coverage of the interval, in (0, 1).

        Returns
        -------
        interval : ndarray of shape (n_items, 2)
            Lower and upper bound of each item's interval.
        """
        check_is_fitted(self)
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1); got {level!r}.")
        half_width = norm.ppf(0.5 + level / 2) * self.mu_std_error_
        return np.column_stack([self.mu_ - half_width, self.mu_ + half_width])

    @property
    def _n_features_out(self):
        return 1

    def _validate_ratings(self, X):
        X = validate_data(
            self,
            X,
            accept_sparse=_SPARSE_FORMATS,
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            reset=False,
        )
        ratings = _ratings_from_matrix(X)
        if not isinstance(self.score_range, str):
            _check_ratings_in_range(ratings, self.score_range_)
        return ratings

    def _check_gold(self, y, n_items):
        if y is None:
            return None
        gold = check_array(
            y,
            ensure_2d=False,
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            input_name="y",
        )
        if gold.ndim != 1 or gold.shape[0] != n_items:
            raise ValueError(
                f"y must hold one known score (or NaN) per item: X has {n_items} "
                f"items, y has shape {gold.shape}."
            )
        return None if np.isnan(gold).all() else gold

    def _resolve_min_sigma(self):
        if self.min_sigma == "auto":
            low, high = self.score_range_
            return _AUTO_MIN_SIGMA_FRACTION * (high - low)
        return float(self.min_sigma)

    def _run_em(self, ratings, init_index):
        """Iterate M-step and E-step from the current state until convergence.

        Returns
        -------
        run : dict
            The final ``objective``, the ``objectives`` of every iteration,
            ``n_iter``, ``converged``, the last ``change`` per rating, and the
            final E-step's ``weights`` and ``log_posterior``.
        """
        objective, weights, log_posterior = self._e_step(ratings)
        objectives = []
        converged = False
        for n_iter in range(1, self.max_iter + 1):
            previous = objective
            self._m_step(ratings, weights, log_posterior)
            objective, weights, log_posterior = self._e_step(ratings)
            objectives.append(objective)
            change = (objective - previous) / ratings.n_ratings
            self._print_verbose_msg_iter_end(init_index, n_iter, objective, change)
            if abs(change) < self.tol:
                converged = True
                break
        return {
            "objective": objective,
            "objectives": objectives,
            "n_iter": n_iter,
            "converged": converged,
            "change": change,
            "weights": weights,
            "log_posterior": log_posterior,
        }

    def _initialize(self, ratings, random_state):
        """Set the initial ``mu_``, ``sigma_`` and ``pi_`` from ``init``."""
        init = self.init if isinstance(self.init, str) else "weights"
        if init == "median":
            self.mu_ = _apply_gold(_estimate_item_medians(ratings), self._gold)
            residuals = np.abs(ratings.score - self.mu_[ratings.item])
            # sqrt(pi/2) * mean |residual| is consistent for normal ratings.
            # Not the MAD: on a discrete scale most residuals from an integer
            # median are exactly 0, and a zero sigma makes everyone look bad.
            self.sigma_ = max(
                np.sqrt(np.pi / 2) * float(residuals.mean()), self._min_sigma
            )
            self.pi_ = 0.5
            self._annotator_sq_residuals = _compute_annotator_sq_residuals(
                ratings, self.mu_
            )
            return
        if init == "all_good":
            weights = np.ones(ratings.n_annotators)
        elif init == "random":
            weights = random_state.uniform(size=ratings.n_annotators)
        else:
            weights = self._check_init_weights(ratings.n_annotators)
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        self._m_step(ratings, weights, log_weights)
        if init == "all_good":
            # The lecture's start: everyone's ratings shape mu and sigma, but
            # the prior does not presume that everyone is good.
            self.pi_ = 0.5

    def _check_init_weights(self, n_annotators):
        weights = check_array(
            self.init, ensure_2d=False, dtype=np.float64, input_name="init"
        )
        if weights.ndim != 1 or weights.shape[0] != n_annotators:
            raise ValueError(
                f"init must be 'all_good', 'median', 'random' or one initial "
                f"P(good) per annotator: X has {n_annotators} annotators, init "
                f"has shape {weights.shape}."
            )
        if np.any((weights < 0) | (weights > 1)):
            raise ValueError("init probabilities must lie in [0, 1].")
        if not np.any(weights > 0):
            raise ValueError("init must give at least one annotator P(good) > 0.")
        return weights

    def _m_step(self, ratings, weights, log_posterior):
        """Update ``mu_``, ``sigma_`` and ``pi_`` from the annotator weights.

        Parameters
        ----------
        ratings : _Ratings
            Observed ratings.
        weights : ndarray of shape (n_annotators,)
            Responsibility of each annotator (0/1 for hard EM).
        log_posterior : ndarray of shape (n_annotators,)
            Log posterior of being good; breaks the tie where all weights that
            matter underflow to zero.
        """
        self.mu_ = _estimate_consensus(ratings, weights, log_posterior, self._gold)
        self._annotator_sq_residuals = _compute_annotator_sq_residuals(
            ratings, self.mu_
        )
        self.sigma_ = _estimate_sigma(
            self._annotator_sq_residuals,
            ratings.n_per_annotator,
            weights,
            log_posterior,
            self._min_sigma,
        )
        self.pi_ = _estimate_pi(weights)

    def _estimate_annotator_log_joint(self, ratings):
        """Log joint of each annotator's ratings with z=1 and z=0, from the state."""
        low, high = self.score_range_
        return _estimate_annotator_log_joint(
            self._annotator_sq_residuals,
            ratings.n_per_annotator,
            self.sigma_,
            self.pi_,
            -np.log(high - low),
        )

    @abstractmethod
    def _e_step(self, ratings):
        """Posterior of each annotator and the objective at the current state.

        Parameters
        ----------
        ratings : _Ratings
            Observed ratings.

        Returns
        -------
        objective : float
            The objective that this variant of EM never lowers, at the current
            parameters.
        weights : ndarray of shape (n_annotators,)
            The responsibilities that the next M-step uses.
        log_posterior : ndarray of shape (n_annotators,)
            ``log P(z_a = 1 | s_a)``.
        """

    def _get_parameters(self):
        return (self.mu_, self.sigma_, self.pi_, self._annotator_sq_residuals)

    def _set_parameters(self, params):
        self.mu_, self.sigma_, self.pi_, self._annotator_sq_residuals = params

    def _print_verbose_msg_iter_end(self, init_index, n_iter, objective, change):
        if self.verbose:
            print(
                f"[{type(self).__name__}] init {init_index + 1}, iteration "
                f"{n_iter}: objective {objective:.6f}, change per rating "
                f"{change:.3e}"
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


def _is_random_init(init):
    return isinstance(init, str) and init == "random"


def _warn_unrated_items(consensus, where):
    n_unrated = int(np.count_nonzero(np.isnan(consensus)))
    if n_unrated:
        warnings.warn(
            f"{n_unrated} item(s) in {where} have no rating; their consensus is NaN.",
            UserWarning,
            stacklevel=3,
        )
