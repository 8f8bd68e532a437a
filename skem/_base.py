"""The EM driver shared by the soft and hard annotator models."""

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from scipy.stats import norm
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skem._forms import _model_form, _Params
from skem._intervals import _compute_consensus_std_error
from skem._likelihoods import (
    _compute_item_log_likelihood,
    _estimate_annotator_log_joint,
)
from skem._ratings import _ratings_from_matrix
from skem._score_range import (
    _check_ratings_in_range,
    _check_representable,
    _resolve_score_range,
    _ScoreScale,
)
from skem._updates import (
    _apply_gold,
    _compute_annotator_sq_residuals,
    _compute_annotator_weights,
    _compute_rating_weights,
    _estimate_consensus_normal,
    _estimate_item_medians,
    _estimate_pi,
    _estimate_sigma_shared_normal,
)

_SPARSE_FORMATS = ("csr", "csc", "coo")

# min_sigma="auto" is this fraction of the width of the score range; it scales
# with the scores, so the fit is invariant to affine changes of the scale.
_AUTO_MIN_SIGMA_FRACTION = 1e-3

# An explicit min_sigma below this fraction of the score range would let a
# truncated normal's standardized bounds reach 1e8, where squaring them loses
# every digit of the log density.
_MIN_SIGMA_FRACTION_FLOOR = 1e-8


class _BaseAnnotatorEM(TransformerMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class for the annotator models: validation, the EM loop, restarts.

    Subclasses provide ``_e_step``; the model forms (:mod:`skem._forms`)
    provide the statistics and the M-step. EM runs in unit score space, where
    the score range is ``[0, 1]``; the fitted attributes are in score units.
    """

    _parameter_constraints: dict = {
        "bounded": ["boolean"],
        "noise": [StrOptions({"per_annotator", "shared"})],
        "noise_prior": [Interval(Real, 0, None, closed="neither")],
        "bias": ["boolean"],
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

    # Whether EM assigns each annotator good or bad (HardAnnotatorEM).
    _hard = False

    def __init__(
        self,
        *,
        bounded=True,
        noise="per_annotator",
        noise_prior=200.0,
        bias=False,
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
        self.bounded = bounded
        self.noise = noise
        self.noise_prior = noise_prior
        self.bias = bias
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
    def fit(self, X, y=None, *, gold=None):
        """Estimate the consensus scores and the reliability of each annotator.

        With ``init='random'`` the model is fitted ``n_init`` times and the run
        with the highest final objective is kept. The other inits are
        deterministic, so they make a single run. With ``warm_start=True`` a
        refit starts from the previous solution. A fit that raises leaves the
        estimator as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_annotators)
            ``X[i, a]`` is annotator ``a``'s score for item ``i``; ``NaN`` (or,
            for sparse input, an absent entry) means "not rated". Explicit
            zeros stored in a sparse matrix are ratings of 0.

        y : None
            Ignored: the model is unsupervised. In a supervised
            :class:`~sklearn.pipeline.Pipeline` the target never reaches the
            model; known scores go through ``gold``.

        gold : array-like of shape (n_items,), default=None
            Known true scores ("gold" items), NaN for unknown items. A gold
            item's consensus stays at its known value, which anchors the
            judgement of the annotators who rated it. In a pipeline pass it
            as ``pipe.fit(X, y, step__gold=gold)``, or request it with
            ``set_fit_request(gold=True)`` under metadata routing.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        previous_state = dict(self.__dict__)
        try:
            return self._fit(X, gold)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous_state)
            raise

    def transform(self, X):
        """Return the consensus score of each item (row) of X.

        The consensus at the fitted annotator parameters: the mean of the
        row's bias-corrected ratings weighted by ``weights_ / sigma_**2``. On
        the training data it equals ``mu_`` (up to the last EM update for the
        plain normal forms, so to within the convergence tolerance once
        converged), except for gold items, whose ``mu_`` is their known score.

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
        unit, scale, _ = self._validate_ratings(X)
        consensus = self._form(0.0).consensus(
            unit, self._fitted_params(scale), self.weights_, self.log_posterior_
        )
        _warn_unrated_items(consensus, "X")
        return scale.from_unit(consensus)[:, np.newaxis]

    def score_samples(self, X):
        """Compute the predictive log-likelihood of each item's ratings.

        For row ``i`` with location ``m_i`` (its consensus, ``transform(X)[i]``,
        for the plain normal forms; its maximum-likelihood location at the
        fitted annotator parameters for the bounded ones) this is
        ``sum_a log(w_a f(s_ia; m_i + b_a, sigma_a) + (1 - w_a) U(s_ia))``
        over the annotators who rated it, with ``w = weights_``, ``f`` the
        good annotators' density of the fitted form and ``U`` the uniform
        density. With ``score_range='auto'`` the range of ``U`` (and of a
        bounded ``f``) is ``score_range_`` extended to the ratings of X, so
        that a held-out rating outside the training range has a finite
        likelihood.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_items, n_annotators)
            Ratings of the same annotators as in ``fit``.

        Returns
        -------
        log_likelihood : ndarray of shape (n_items,)
            Zero for rows without any rating; finite otherwise.
        """
        check_is_fitted(self)
        unit, scale, bounds = self._validate_ratings(X)
        params = self._fitted_params(scale)
        location = self._form(0.0).location(
            unit, params, self.weights_, self.log_posterior_, bounds
        )
        log_likelihood = _compute_item_log_likelihood(
            unit,
            location,
            params.bias,
            params.sigma,
            self.log_posterior_,
            self._log_posterior_bad,
            bounds,
            self.bounded,
        )
        return log_likelihood - unit.n_per_item * np.log(scale.width)

    def score(self, X, y=None):
        """Return the mean predictive log-likelihood of the items' ratings.

        Higher is better, so that :class:`~sklearn.model_selection.GridSearchCV`
        and :func:`~sklearn.model_selection.cross_val_score` can use it
        without ``y``, to choose among inits and model forms.

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

    def get_feature_names_out(self, input_features=None):
        """Get the output feature name: the one column ``"consensus"``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored; checked against ``feature_names_in_`` when given.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["consensus"]``.
        """
        check_is_fitted(self)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            expected = getattr(self, "feature_names_in_", None)
            if len(input_features) != self.n_features_in_ or (
                expected is not None and not np.array_equal(input_features, expected)
            ):
                raise ValueError(
                    "input_features is not equal to feature_names_in_ (or does "
                    f"not have {self.n_features_in_} entries)."
                )
        return np.asarray(["consensus"], dtype=object)

    def _fit(self, X, gold):
        ratings = self._validated_ratings(X, reset=True)
        if ratings.n_ratings == 0:
            raise ValueError(
                "X contains no observed ratings: every entry is NaN (or absent "
                "from the sparse matrix)."
            )
        scale = _resolve_score_range(self.score_range, ratings.score)
        if not isinstance(self.score_range, str):
            _check_ratings_in_range(ratings, scale)
        gold = self._check_gold(gold, ratings.n_items, scale)
        if gold is not None and isinstance(self.score_range, str):
            # A known true score belongs on the scale: 'auto' covers it.
            scale = _extend_score_range(scale, gold[~np.isnan(gold)])
        unit = ratings.with_scores(scale.to_unit(ratings.score))
        if gold is not None:
            gold = scale.to_unit(gold)
        form = self._form(self._resolve_min_sigma(scale))
        warm = self.warm_start and hasattr(self, "converged_")
        start = self._warm_start_params(unit, scale, form, gold) if warm else None
        n_init = self.n_init if start is None and _is_random_init(self.init) else 1
        random_state = check_random_state(self.random_state)

        best = None
        for init_index in range(n_init):
            params = start or self._initialize(unit, form, gold, random_state)
            run = self._run_em(unit, form, params, gold, init_index)
            if best is None or run["objective"] > best["objective"]:
                best = run

        params = best["params"]
        # Densities in score units are unit densities / width per rating, and
        # a variance's prior density / width**2 per annotator.
        offset = unit.n_ratings * np.log(scale.width)
        if form.noise == "per_annotator":
            offset += 2 * unit.n_annotators * np.log(scale.width)
        objectives = np.asarray(best["objectives"]) - offset
        std_error = _compute_consensus_std_error(
            unit, best["weights"], params.sigma, gold
        )

        self._score_scale = scale
        self.score_range_ = (scale.low, scale.high)
        self.location_ = scale.from_unit(params.mu)
        self.mu_ = (
            scale.from_unit(
                form.consensus(
                    unit, params, best["weights"], best["log_posterior"], gold
                )
            )
            if form.bounded
            else self.location_
        )
        with np.errstate(over="ignore"):  # an unweighted item's error is inf
            self.mu_std_error_ = scale.width * std_error
        sigma = scale.width * params.sigma
        self.sigma_ = float(sigma[0]) if form.noise == "shared" else sigma
        self.shared_sigma_ = scale.width * params.shared_sigma
        self.bias_ = scale.width * params.bias
        self.pi_ = params.pi
        self.weights_ = best["weights"]
        self.log_posterior_ = best["log_posterior"]
        self._log_posterior_bad = best["log_posterior_bad"]
        self.log_likelihoods_ = objectives
        self.log_likelihood_ = float(objectives[-1])
        self.n_iter_ = best["n_iter"]
        self.converged_ = best["converged"]

        if not self.converged_:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter="
                f"{self.max_iter} iterations (last change per rating "
                f"{best['change']:.3g} >= tol={self.tol:g}). Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=4,
            )
        _warn_unrated_items(self.mu_, "the training data")
        return self

    def _run_em(self, ratings, form, params, gold, init_index):
        """Iterate M-step and E-step from ``params`` until convergence.

        Returns
        -------
        run : dict
            The final ``params``, ``objective``, the ``objectives`` of every
            iteration, ``n_iter``, ``converged``, the last ``change`` per
            rating, and the final E-step's ``weights``, ``log_posterior`` and
            ``log_posterior_bad``.
        """
        statistics = form.compute_statistics(ratings, params)
        posterior = self._posterior(ratings, form, params, statistics)
        objectives = []
        converged = False
        for n_iter in range(1, self.max_iter + 1):
            previous = posterior["objective"]
            params, statistics = form.m_step(
                ratings,
                params,
                posterior["weights"],
                posterior["log_posterior"],
                gold,
                statistics,
            )
            posterior = self._posterior(
                ratings, form, params, statistics, posterior["weights"]
            )
            objectives.append(posterior["objective"])
            change = (posterior["objective"] - previous) / ratings.n_ratings
            self._print_verbose_msg_iter_end(
                init_index, n_iter, posterior["objective"], change
            )
            if abs(change) < self.tol:
                converged = True
                break
        return {
            **posterior,
            "params": params,
            "objectives": objectives,
            "n_iter": n_iter,
            "converged": converged,
            "change": change,
        }

    def _posterior(self, ratings, form, params, statistics, previous_weights=None):
        """E-step at ``params``: the annotators' posterior and the objective."""
        log_good, log_bad = _estimate_annotator_log_joint(
            form.good_log_density(ratings, params, statistics),
            ratings.n_per_annotator,
            params.pi,
            0.0,  # the uniform density on the unit range
        )
        objective, weights, log_posterior, log_posterior_bad = self._e_step(
            log_good, log_bad, ratings.n_per_annotator > 0, previous_weights
        )
        return {
            "objective": objective + form.log_prior(params),
            "weights": weights,
            "log_posterior": log_posterior,
            "log_posterior_bad": log_posterior_bad,
        }

    def _initialize(self, ratings, form, gold, random_state):
        """The initial parameters from ``init``, in unit score space."""
        bias = np.zeros(ratings.n_annotators)
        init = self.init if isinstance(self.init, str) else "weights"
        if init == "median":
            mu = _apply_gold(_estimate_item_medians(ratings), gold)
            residuals = np.abs(ratings.score - mu[ratings.item])
            # sqrt(pi/2) * mean |residual| is consistent for normal ratings.
            # Not the MAD: on a discrete scale most residuals from an integer
            # median are exactly 0, and a zero sigma makes everyone look bad.
            sigma = max(np.sqrt(np.pi / 2) * float(residuals.mean()), form.min_sigma)
            pi = 0.5
        else:
            if init == "all_good":
                weights = np.ones(ratings.n_annotators)
            elif init == "random":
                weights = random_state.uniform(size=ratings.n_annotators)
            else:
                weights = self._check_init_weights(ratings.n_annotators)
            with np.errstate(divide="ignore"):
                log_weights = np.log(weights)
            # The lecture's M-step from these weights: one sigma, no bias.
            flat = np.ones(ratings.n_annotators)
            mu = _estimate_consensus_normal(
                ratings,
                _compute_rating_weights(ratings, weights, log_weights),
                bias,
                flat,
                gold,
            )
            sigma = _estimate_sigma_shared_normal(
                _compute_annotator_sq_residuals(ratings, mu, bias),
                ratings.n_per_annotator,
                _compute_annotator_weights(ratings, weights, log_weights),
                None,
                None,
                form.min_sigma,
            )[0]
            # all_good is the lecture's start: everyone's ratings shape mu and
            # sigma, but the prior does not presume that everyone is good.
            pi = 0.5 if init == "all_good" else float(np.mean(weights))
        if form.bounded:
            mu = np.clip(mu, 0.0, 1.0)
            sigma = min(sigma, 1.0)
        pi = _estimate_pi(np.array([pi]))
        return _Params(mu, bias, np.full(ratings.n_annotators, sigma), sigma, pi)

    def _warm_start_params(self, ratings, scale, form, gold):
        """The previous fit's parameters in the new unit space.

        Items without a rating in the previous fit start from their median.
        """
        n_items, n_annotators = self.mu_.shape[0], self.weights_.shape[0]
        if (ratings.n_items, ratings.n_annotators) != (n_items, n_annotators):
            raise ValueError(
                "warm_start=True needs the same items and annotators as the "
                f"previous fit: X has shape ({ratings.n_items}, "
                f"{ratings.n_annotators}), the previous fit had ({n_items}, "
                f"{n_annotators})."
            )
        previous = self._fitted_params(scale)
        mu = previous.mu.copy()
        unknown = np.isnan(mu)
        if unknown.any():
            mu[unknown] = _estimate_item_medians(ratings)[unknown]
        mu = _apply_gold(mu, gold)
        sigma = np.maximum(previous.sigma, form.min_sigma)
        if form.noise == "shared":
            sigma = np.full(n_annotators, float(np.exp(np.mean(np.log(sigma)))))
        bias = previous.bias if form.bias else np.zeros(n_annotators)
        if form.bounded:
            mu = np.clip(mu, 0.0, 1.0)
            sigma = np.minimum(sigma, 1.0)
        shared_sigma = max(previous.shared_sigma, form.min_sigma)
        return _Params(mu, bias, sigma, shared_sigma, previous.pi)

    def _fitted_params(self, scale):
        """The fitted parameters in the unit space of ``scale``."""
        sigma = np.broadcast_to(self.sigma_, self.weights_.shape).astype(np.float64)
        return _Params(
            scale.to_unit(self.location_),
            self.bias_ / scale.width,
            sigma / scale.width,
            self.shared_sigma_ / scale.width,
            self.pi_,
        )

    def _form(self, min_sigma):
        return _model_form(
            self.bounded,
            self.noise,
            self.bias,
            self.noise_prior,
            min_sigma,
            self._hard,
        )

    def _validate_ratings(self, X):
        """Validate new ratings: unit-space ratings, the fit's scale, and bounds.

        The bounds are ``[0, 1]``, extended with ``score_range='auto'`` to
        cover the new ratings (and half a step beyond them on a discrete
        scale), so that every rating has a positive likelihood.
        """
        ratings = self._validated_ratings(X, reset=False)
        scale = self._score_scale
        if not isinstance(self.score_range, str):
            _check_ratings_in_range(ratings, scale)
        unit = ratings.with_scores(scale.to_unit(ratings.score))
        bounds = (0.0, 1.0)
        if unit.n_ratings and isinstance(self.score_range, str):
            half_step = scale.half_step / scale.width
            bounds = (
                min(0.0, float(unit.score.min()) - half_step),
                max(1.0, float(unit.score.max()) + half_step),
            )
        return unit, scale, bounds

    def _validated_ratings(self, X, reset):
        """The observed ratings of X, validated (``reset`` as in validate_data)."""
        X = validate_data(
            self,
            _missing_as_nan(X),
            accept_sparse=_SPARSE_FORMATS,
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            reset=reset,
        )
        return _ratings_from_matrix(X)

    def _check_gold(self, gold, n_items, scale):
        """Validate gold scores; return them in score units, or None."""
        if gold is None:
            return None
        try:
            gold = check_array(
                _missing_as_nan(gold),
                ensure_2d=False,
                dtype=np.float64,
                ensure_all_finite="allow-nan",
                input_name="gold",
            )
        except TypeError as error:
            raise ValueError(f"gold must hold numbers or NaN: {error}") from None
        if gold.ndim != 1 or gold.shape[0] != n_items:
            raise ValueError(
                f"gold must hold one known score (or NaN) per item: X has "
                f"{n_items} items, gold has shape {gold.shape}."
            )
        known = ~np.isnan(gold)
        if not known.any():
            return None
        if not isinstance(self.score_range, str):
            outside = known & ((gold < scale.low) | (gold > scale.high))
            if outside.any():
                raise ValueError(
                    f"gold has {int(outside.sum())} value(s) outside score_range="
                    f"({scale.low:g}, {scale.high:g}), e.g. "
                    f"{float(gold[np.flatnonzero(outside)[0]]):g}."
                )
        return gold

    def _resolve_min_sigma(self, scale):
        """``min_sigma`` in unit score space."""
        if self.min_sigma == "auto":
            return _AUTO_MIN_SIGMA_FRACTION
        min_sigma = float(self.min_sigma) / scale.width
        if not _MIN_SIGMA_FRACTION_FLOOR <= min_sigma < 1.0:
            raise ValueError(
                f"min_sigma={self.min_sigma:g} does not suit the score range "
                f"({scale.low:g}, {scale.high:g}): it must be at least "
                f"{_MIN_SIGMA_FRACTION_FLOOR:g} times its width and less than "
                "its width."
            )
        return min_sigma

    def _check_init_weights(self, n_annotators):
        try:
            weights = check_array(
                self.init, ensure_2d=False, dtype=np.float64, input_name="init"
            )
        except TypeError as error:
            raise ValueError(
                "init must be 'all_good', 'median', 'random' or one initial "
                f"P(good) per annotator; got {self.init!r}."
            ) from error
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

    @abstractmethod
    def _e_step(self, log_good, log_bad, rated, previous_weights=None):
        """Posterior of each annotator and the objective's likelihood part.

        Parameters
        ----------
        log_good, log_bad : ndarray of shape (n_annotators,)
            Log joint probability of each annotator's ratings with ``z=1``,
            ``z=0``.
        rated : ndarray of shape (n_annotators,), dtype bool
            Which annotators have ratings.
        previous_weights : ndarray of shape (n_annotators,), default=None
            The previous E-step's weights, which hard EM keeps if the new
            assignment would be worse.

        Returns
        -------
        objective : float
            The likelihood part of the objective that this variant of EM
            never lowers.
        weights : ndarray of shape (n_annotators,)
            The responsibilities that the next M-step uses.
        log_posterior, log_posterior_bad : ndarray of shape (n_annotators,)
            ``log P(z_a = 1 | s_a)`` and ``log P(z_a = 0 | s_a)``.
        """

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


def _missing_as_nan(data):
    """Data with pandas' missing markers (pd.NA, None) in object arrays as NaN.

    NumPy cannot turn ``pd.NA`` into a float, so an object-dtype DataFrame,
    Series or array holding it would fail validation with a TypeError; here
    it means "not rated" (or, for gold scores, "not known"), like NaN. Other
    data pass through unchanged; the caller's data are never modified.
    """
    if isinstance(data, np.ndarray):
        if data.dtype != object:
            return data
        return _MISSING_AS_NAN(data)
    dtypes = getattr(data, "dtypes", None)
    if dtypes is None or not hasattr(data, "notna"):
        return data
    if getattr(dtypes, "ndim", 0) == 0:  # a Series
        dtypes = [dtypes]
    if not any(getattr(dtype, "kind", None) == "O" for dtype in dtypes):
        return data
    return data.where(data.notna(), np.nan)


_MISSING_AS_NAN = np.frompyfunc(
    lambda value: (
        np.nan if value is None or type(value).__name__ == "NAType" else value
    ),
    1,
    1,
)


def _extend_score_range(scale, values):
    """The score range widened to cover ``values`` (score units)."""
    if values.size == 0:
        return scale
    low = min(scale.low, float(values.min()))
    high = max(scale.high, float(values.max()))
    extended = _ScoreScale(low, high, scale.half_step)
    _check_representable(extended)
    return extended


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
