"""The EM driver shared by the soft and hard annotator models."""

import warnings

import numpy as np
from scipy.stats import norm
from sklearn.base import TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from skem._em.backend import _Block, _InMemoryBackend
from skem._em.driver import _BaseEM, _collect_item_results
from skem._em.ratings import _ratings_from_matrix
from skem._em.score_range import (
    _check_ratings_in_range,
    _check_representable,
    _resolve_score_range,
    _ScoreScale,
)
from skem._model.likelihoods import _compute_item_log_likelihood

_SPARSE_FORMATS = ("csr", "csc", "coo")


class _BaseAnnotatorEM(TransformerMixin, _BaseEM):
    """Base class of the in-memory annotator models: validation and the fit.

    The rating matrix becomes one block of every item in an in-memory backend,
    and the EM driver of :class:`skem._em.driver._BaseEM` runs on it.
    """

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
        return self._fit_or_restore(X, gold)

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
        warm_params, mu = None, None
        if self.warm_start and hasattr(self, "converged_"):
            self._check_warm_start_shape(ratings)
            warm_params = self._warm_params(scale, form)
            mu = scale.to_unit(self.location_)
        data = _InMemoryBackend(
            _Block(unit, gold, mu), unit.n_per_annotator, gold is not None
        )
        run = self._fit_em(data, form, warm_params)
        items = _collect_item_results(data, form, run)

        self._set_annotator_attributes(run, form, scale)
        self.location_ = scale.from_unit(items["location"])
        self.mu_ = scale.from_unit(items["consensus"])
        with np.errstate(over="ignore"):  # an unweighted item's error is inf
            self.mu_std_error_ = scale.width * items["std_error"]
        self._warn_if_not_converged(run)
        _warn_unrated_items(self.mu_, "the training data")
        return self

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

    def _check_warm_start_shape(self, ratings):
        n_items, n_annotators = self.mu_.shape[0], self.weights_.shape[0]
        if (ratings.n_items, ratings.n_annotators) != (n_items, n_annotators):
            raise ValueError(
                "warm_start=True needs the same items and annotators as the "
                f"previous fit: X has shape ({ratings.n_items}, "
                f"{ratings.n_annotators}), the previous fit had ({n_items}, "
                f"{n_annotators})."
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


def _warn_unrated_items(consensus, where):
    n_unrated = int(np.count_nonzero(np.isnan(consensus)))
    if n_unrated:
        warnings.warn(
            f"{n_unrated} item(s) in {where} have no rating; their consensus is NaN.",
            UserWarning,
            stacklevel=3,
        )
