"""The public in-memory estimators: soft and hard EM on a rating matrix."""

import numpy as np
from sklearn.base import TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted, validate_data

from skem._em.backend import _Block, _InMemoryBackend
from skem._em.driver import _BaseEM
from skem._em.huge_pages import _count_values, _without_huge_page_advice
from skem._em.items import _collect_item_results
from skem._em.missing import _missing_as_nan
from skem._em.parameters import _SHARED_ATTRIBUTES, _SHARED_PARAMETERS
from skem._em.ratings import _exact_where_known, _ratings_from_matrix
from skem._em.score_range import (
    _check_among_levels,
    _check_positive,
    _check_ratings_in_range,
)
from skem._em.validation import (
    _check_computable,
    _check_gold_array,
    _check_gold_index,
    _check_rating_matrix,
    _scale_for_gold,
    _warn_if_sigma_at_floor,
    _warn_unrated_items,
)
from skem._em.warm import _check_same_annotators, _warm_refit, _warm_start
from skem._model.evidence import _estimate_consensus_log_bad_weights
from skem._model.intervals import _compute_consensus_interval
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
            ``X[i, a]`` is annotator ``a``'s score for item ``i``; ``NaN``,
            ``pd.NA``, a masked entry or an absent one of a sparse matrix
            means "not rated". Explicit sparse zeros are ratings of 0.

        y : None
            Ignored: the model is unsupervised. In a supervised
            :class:`~sklearn.pipeline.Pipeline` the target never reaches the
            model; known scores go through ``gold``.

        gold : array-like of shape (n_items,), default=None
            Known true scores ("gold" items), NaN for unknown items. A gold
            item's consensus stays at its known value, which anchors the
            judgement of the annotators who rated it. Known scores lie in
            the score range; for a bounded form on levels, between the outer
            levels, where its consensus lies. In a pipeline pass it
            as ``pipe.fit(X, y, step__gold=gold)``, or request it with
            ``set_fit_request(gold=True)`` under metadata routing.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        with _without_huge_page_advice(_count_values(X)):
            return self._fit_or_restore(X, gold)

    def transform(self, X):
        """Return the consensus score of each item (row) of X.

        The consensus at the fitted annotator parameters: the mean of the
        row's bias-corrected ratings weighted by ``consensus_weights_ / sigma_**2``
        (kept on the scale for the bounded forms). On the training data it
        equals ``mu_`` to the last bit, for every form and also for items
        whose raters all have weight 0, except for gold items, whose ``mu_``
        is their known score. With ``score_scale='log'``, the exponential of
        that mean of the ratings' logarithms.

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
        ratings, unit, scale, _ = self._validate_ratings(X)
        consensus = self._form(0.0, scale, self.tail_).consensus(
            unit, self._fitted_params(scale), *self._consensus_weights()
        )
        _warn_unrated_items(consensus, "X")
        consensus = self._exact_where_unanimous(
            scale.consensus_from_unit(consensus, self.bounded), ratings
        )
        return consensus[:, np.newaxis]

    def score_samples(self, X):
        """Compute the predictive log-likelihood of each item's ratings.

        For row ``i`` with location ``m_i`` (its consensus, ``transform(X)[i]``,
        for the plain normal forms; its maximum-likelihood location at the
        fitted annotator parameters for the bounded ones) this is
        ``sum_a log(w_a f(s_ia; m_i + b_a, sigma_a) + (1 - w_a) U(s_ia))``
        over the annotators who rated it, with ``f`` the good annotators'
        density of the fitted form (on levels, a cell's probability over its
        width; with ``tail``, the Student-t) and ``U`` the uniform density
        (a random annotator's held-out rating is uniform, also on levels).
        ``w`` is each annotator's posterior probability of being good,
        ``exp(log_posterior_)`` (soft even for hard EM), or ``pi_`` for an
        annotator whose verdict is undetermined (:ref:`undetermined`); the
        location counts the annotators as the consensus does, with
        ``weights_`` or, where undetermined, ``pi_``. With
        ``score_range='auto'`` the range of ``U`` (and of a bounded ``f``) is
        ``score_range_`` extended to the row's own ratings, so that a
        held-out rating outside the training range has a finite likelihood
        and a row's score does not depend on the other rows of X. With
        ``score_scale='log'`` ``f`` and ``U`` are densities of the
        logarithms, each divided by the rating ``s``: densities of the
        scores, which compare with a linear fit's.

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
        ratings, unit, scale, bounds = self._validate_ratings(X)
        params = self._fitted_params(scale)
        form = self._form(0.0, scale, self.tail_)
        weights, log_weights = self._consensus_weights()
        log_weights_bad = _estimate_consensus_log_bad_weights(
            self._log_posterior_bad, self.pi_, self.judged_
        )
        log_likelihood = np.zeros(unit.n_items)
        # Items that share their bounds are scored together: an item's score
        # never depends on the other rows of X.
        pairs, group = np.unique(bounds, axis=0, return_inverse=True)
        for k, (low, high) in enumerate(pairs):
            rows = group.ravel() == k
            some = unit.select(rows[unit.item]) if len(pairs) > 1 else unit
            # A new rating astronomically far out (1e300 on a scale fitted to
            # 1..5) takes its cell's bounds past the largest float on the way:
            # its good log density is -inf, as it should be, the mixture's
            # finite (tested for every form).
            with np.errstate(over="ignore", invalid="ignore"):
                location = form.location(
                    some, params, weights, log_weights, (float(low), float(high))
                )
                log_likelihood[rows] = _compute_item_log_likelihood(
                    some,
                    location,
                    params.bias,
                    params.sigma,
                    log_weights,
                    log_weights_bad,
                    (float(low), float(high)),
                    self.bounded,
                    form.tail_df,
                )[rows]
        log_likelihood -= unit.n_per_item * np.log(scale.width)
        if scale.log:
            log_likelihood -= np.bincount(
                ratings.item, np.log(ratings.score), minlength=ratings.n_items
            )
        return log_likelihood

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
        quantile of the standard normal distribution (with
        ``score_scale='log'``, ``mu_ * exp(-/+ z * mu_std_error_)``, the
        logarithm's interval); for the bounded forms
        clipped to the scale (its outer levels ``levels_`` on levels, else
        ``score_range_``), which their consensus cannot leave either. The
        intervals of :func:`consensus_frame` are the same.

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
        low, high = _compute_consensus_interval(
            self.mu_,
            self.mu_std_error_,
            level,
            self._score_scale.ends if self.bounded else None,
            self._score_scale.log,
        )
        return np.column_stack([low, high])

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
            # scikit-learn's words (_check_feature_names_in).
            input_features = np.asarray(input_features, dtype=object)
            expected = getattr(self, "feature_names_in_", None)
            if expected is not None and not np.array_equal(input_features, expected):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    "input_features should have length equal to number of "
                    f"features ({self.n_features_in_}), got {len(input_features)}"
                )
        return np.asarray(["consensus"], dtype=object)

    def _fit(self, X, gold):
        ratings, scale, gold, forms, data, warm_params = self._prepare_fit(X, gold)
        warm_refit = None if warm_params is None else _warm_refit(self, scale, forms[0])
        form, run = self._fit_tails(data, forms, warm_params, warm_refit)
        items = _collect_item_results(data, form, run)

        self._set_annotator_attributes(run, form, scale, data)
        self._resume = {"scale": scale, **run["resume"]}
        self.location_ = scale.from_unit(items["location"])
        self.mu_ = self._exact_where_unanimous(
            scale.consensus_from_unit(items["consensus"], self.bounded), ratings, gold
        )
        with np.errstate(over="ignore"):  # an unweighted item's error is inf
            self.mu_std_error_ = scale.width * items["std_error"]
        self._warn_if_not_converged(run)
        _warn_if_sigma_at_floor(type(self).__name__, run, form, scale)
        _warn_unrated_items(self.mu_, "the training data")
        return self

    def _resume_point(self, data, run):
        """The run's parameters and locations, for a warm refit."""
        return run["params"], data.state.location.copy()

    def _prepare_fit(self, X, gold):
        """Everything a fit does before EM: check, convert, find the scale.

        Of the fitted attributes it sets only those of ``validate_data``
        (``n_features_in_``, ``feature_names_in_``); a fit that fails
        restores them (:meth:`_fit_or_restore`).

        Returns
        -------
        ratings : _Ratings
            The observed ratings, as given.
        scale : _ScoreScale
        gold : ndarray of shape (n_items,) or None
            Known scores, NaN where unknown.
        forms : list of _ModelForm
            One per tail to try (:meth:`_tail_candidates`).
        data : _InMemoryBackend
            The ratings in unit space, in one block not yet started.
        warm_params : _Params or None
            The previous fit's annotator parameters, for a warm start.
        """
        warm = self._is_warm_fit()
        names = getattr(self, "feature_names_in_", None) if warm else None
        ratings = self._validated_ratings(X, reset=True)
        if ratings.n_ratings == 0:
            raise ValueError(
                "X contains no observed ratings: every entry is NaN (or absent "
                "from the sparse matrix)."
            )
        scale = self._resolve_scale(ratings.score)
        if not isinstance(self.score_range, str):
            _check_ratings_in_range(ratings, scale)
        _check_gold_index(gold, X)
        gold = _check_gold_array(gold, ratings.n_items)
        if gold is not None:
            known = gold[~np.isnan(gold)]
            args = (self.score_range, ratings.score, self.bounded)
            scale = _scale_for_gold(scale, known, *args)
        unit = ratings.with_scores(scale.to_unit(ratings.score), scale.unit_half_step)
        forms = self._forms(scale, warm)
        warm_params, mu = None, None
        if warm:
            self._check_warm_start_shape(ratings)
            _check_same_annotators(names, getattr(self, "feature_names_in_", None))
            warm_params, mu = _warm_start(self, scale, forms[0])
        unit_gold = None if gold is None else scale.to_unit(gold)
        data = _InMemoryBackend(
            _Block(unit, unit_gold, mu), unit.n_per_annotator, gold is not None
        )
        return ratings, scale, gold, forms, data, warm_params

    def _validate_ratings(self, X):
        """Validate new ratings: the ratings, in unit space too, the scale, the bounds.

        The bounds, ``(low, high)`` of each item, are ``[0, 1]``, extended
        with ``score_range='auto'`` to cover the item's new ratings (and
        half a step beyond them on a discrete scale), so that every rating
        has a positive likelihood.
        """
        ratings = self._validated_ratings(X, reset=False)
        scale = self._score_scale
        if scale.log:
            _check_positive(ratings.score)
        if not isinstance(self.score_range, str):
            _check_ratings_in_range(ratings, scale)
        levels = self._stated_levels(scale)
        if levels is not None:
            _check_among_levels(ratings.score, levels)
        unit = ratings.with_scores(scale.to_unit(ratings.score), scale.unit_half_step)
        _check_computable(
            unit.score,
            unit.n_per_item,
            self._fitted_params(scale).sigma,
            ratings.score,
            scale,
        )
        bounds = np.zeros((unit.n_items, 2))
        bounds[:, 1] = 1.0
        if unit.n_ratings and isinstance(self.score_range, str):
            half_step = scale.half_step / scale.width
            np.minimum.at(bounds[:, 0], unit.item, unit.score - half_step)
            np.maximum.at(bounds[:, 1], unit.item, unit.score + half_step)
        return ratings, unit, scale, bounds

    def _exact_where_unanimous(self, consensus, ratings, gold=None):
        """``consensus`` at the score of each unanimous or gold item."""
        unanimous = None if self.bias else ratings.unanimous_scores()
        return _exact_where_known(consensus, unanimous, gold)

    def _validated_ratings(self, X, reset):
        """The observed ratings of X, validated (``reset`` as in validate_data)."""
        _check_rating_matrix(X)
        try:
            X = validate_data(
                self,
                _missing_as_nan(X),
                accept_sparse=_SPARSE_FORMATS,
                dtype=np.float64,
                ensure_all_finite="allow-nan",
                reset=reset,
            )
        except OverflowError as error:
            raise ValueError(
                f"X holds a number too large for a float ({error}); ratings "
                "must be finite numbers."
            ) from None
        return _ratings_from_matrix(X)

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
        # The logarithms of the ratings: scikit-learn's checks then draw
        # positive data, and say so to any other tool that reads the tags.
        tags.input_tags.positive_only = self.score_scale == "log"
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


class AnnotatorEM(_BaseAnnotatorEM):
    __doc__ = f"""Consensus scores and annotator reliability by EM.

    Each annotator is either good or bad, good with prior probability ``pi``.
    A bad annotator answers ``Uniform(low, high)`` whatever the item (on a
    scale of levels, it may instead give one level to every item). By
    default (``bounded=True``, ``noise='per_annotator'``) a good annotator
    rates item ``i`` as ``Normal(mu_i, sigma_a**2)`` truncated to the score
    range, with a noise ``sigma_a`` of its own under a scaled
    inverse-chi-squared prior toward a shared scale, worth ``noise_prior``
    ratings. EM alternates the posterior ``w_a = P(good | a's ratings)``
    (E-step) with the M-step: guarded Newton steps on each item's location
    ``mu_i`` and each ``sigma_a``, and ``pi = mean(w)``. With
    ``init='auto'`` EM races three starts and goes on with the one ahead. Each
    iteration costs O(number of observed ratings) and never lowers the
    objective, the log posterior ``sum_a log(pi prod_i f_good(s_ia) + (1 -
    pi) R_a) + sum_a log p(sigma_a)``, computed in log space, where ``R_a``
    is ``prod_i U(s_ia)``, or on levels the random rater's density of both
    kinds (the user guide's "one level").

    ``mu_`` is each item's consensus, the precision-weighted mean of its good
    ratings; ``location_`` is the ``mu_i`` that EM fits, which the
    truncation can put beyond the mean near the ends of the scale.
    ``AnnotatorEM(bounded=False, noise='shared')`` is the lecture's model,
    fitted in closed form: ``mu_i = sum_a w_a s_ia / sum_a w_a``, one pooled
    ``sigma``, and ``mu_`` equal to ``location_``.

    ``X`` has one row per item and one column per annotator; NaN, or an
    absent entry of a sparse matrix, means "not rated".

    Parameters
    ----------
    {_SHARED_PARAMETERS}
    Attributes
    ----------
    weights_ : ndarray of shape (n_annotators,)
        Posterior probability that each annotator is good, at the fitted
        parameters. An annotator without ratings gets ``pi_``. Where a good
        rating brings no evidence, as when the good component rests on one
        annotator per item, nobody is judged (``judged_``): every verdict is
        undetermined and everyone counts alike in the consensus
        (``consensus_weights_``), whatever the weights; ``mu_`` stays
        finite. Pure noise is not always caught so: two annotators who
        happen to agree can be taken for the good ones (user guide).
    {_SHARED_ATTRIBUTES}
    See Also
    --------
    HardAnnotatorEM : The same model, with each annotator assigned good or bad.
    sklearn.mixture.GaussianMixture : EM for a mixture of Gaussians.

    Examples
    --------
    >>> import numpy as np
    >>> from skem import AnnotatorEM
    >>> X = np.array([[0.60, 0.58, 0.10, 0.62],
    ...               [0.90, 0.93, 0.95, 0.88],
    ...               [0.30, 0.28, 0.85, np.nan],
    ...               [0.75, 0.71, 0.05, 0.77]])
    >>> em = AnnotatorEM().fit(X)
    >>> em.weights_.round(2)
    array([1., 1., 0., 1.])
    >>> em.mu_.round(2)
    array([0.6 , 0.9 , 0.29, 0.74])
    >>> em.transform(X).round(2).ravel()
    array([0.6 , 0.9 , 0.29, 0.74])
    """


class HardAnnotatorEM(_BaseAnnotatorEM):
    __doc__ = f"""Consensus scores with each annotator classified good or bad.

    The model of :class:`AnnotatorEM`, fitted by hard (classification) EM:
    after each E-step an annotator's weight becomes 1 if
    ``P(good | ratings) >= 0.5`` and 0 otherwise, so the consensus is the
    precision-weighted mean of the annotators judged good (their plain mean
    with ``noise='shared'``). It never lowers the classification objective
    ``sum_a [z_a (log pi + sum_i log f_good(s_ia)) + (1 - z_a)(log(1 - pi) +
    log R_a)]``, ``R_a`` the random density of :class:`AnnotatorEM` (plus the
    log prior of the sigmas with ``noise='per_annotator'``); the marginal
    one has no such guarantee. At
    least one annotator with ratings is always judged good: if none would be,
    the most likely one is, which is the best assignment under that
    constraint.

    Parameters
    ----------
    {_SHARED_PARAMETERS}
    Attributes
    ----------
    weights_ : ndarray of shape (n_annotators,)
        1.0 for the annotators judged good, 0.0 for the others.
    {_SHARED_ATTRIBUTES}
    See Also
    --------
    AnnotatorEM : The same model with soft, probabilistic weights.

    Examples
    --------
    >>> import numpy as np
    >>> from skem import HardAnnotatorEM
    >>> X = np.array([[0.60, 0.58, 0.10, 0.62],
    ...               [0.90, 0.93, 0.95, 0.88],
    ...               [0.30, 0.28, 0.85, np.nan],
    ...               [0.75, 0.71, 0.05, 0.77]])
    >>> em = HardAnnotatorEM().fit(X)
    >>> em.weights_
    array([1., 1., 0., 1.])
    >>> em.mu_.round(2)
    array([0.6 , 0.9 , 0.29, 0.74])
    """

    _hard = True
