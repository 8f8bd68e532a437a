"""Annotator models for long-format ratings in a Dask DataFrame."""

from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import _fit_context
from sklearn.utils.validation import check_is_fitted

from skem._em.driver import _BaseEM
from skem._em.items import _collect_item_results
from skem._em.parameters import _SHARED_PARAMETERS
from skem._em.score_range import _check_positive
from skem._em.validation import (
    _check_gold_series,
    _scale_for_gold,
    _warn_if_sigma_at_floor,
)
from skem._estimators import AnnotatorEM, HardAnnotatorEM
from skem.dask._backend import (
    _combine_counts,
    _DaskBackend,
    _release_arrow_memory,
)
from skem.dask._io import (
    _as_dask_frame,
    _check_gold_labels,
    _check_levels_in_range,
    _consensus_frame,
    _consensus_parts,
    _delayed_raw_block,
    _finish_block,
    _gold_labels,
    _raw_facts,
    _shuffle_by_item,
    _sorted_labels,
    _transform_partition,
)


def _client_open():
    """Whether a Dask client is open in this process."""
    from distributed import default_client

    try:
        default_client()
    except ValueError:
        return False
    return True


class InMemoryModel(NamedTuple):
    """A Dask fit brought into memory: an in-memory estimator and its items.

    Returned by :meth:`DaskAnnotatorEM.to_in_memory`; unpack it as
    ``estimator, items``.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        Fitted; its columns are the annotators, in ``annotators_`` order.
    items : ndarray of shape (n_items,)
        The item label of each row of ``estimator.mu_``.

    See Also
    --------
    DaskAnnotatorEM.to_in_memory : Build one from a Dask fit.

    Examples
    --------
    >>> import numpy as np
    >>> from skem import AnnotatorEM
    >>> from skem.dask import InMemoryModel
    >>> model = InMemoryModel(AnnotatorEM(), np.array(["a", "b"]))
    >>> model.items.tolist()
    ['a', 'b']
    """

    estimator: object
    items: np.ndarray


class _BaseDaskAnnotatorEM(_BaseEM):
    """Base class of the Dask annotator models.

    The ratings are shuffled by item, so that every item is whole inside one
    partition, and each partition becomes one block of the EM backend on the
    cluster; the EM driver, the model forms and their kernels are those of the
    in-memory estimators.
    """

    _parameter_constraints: dict = {
        **_BaseEM._parameter_constraints,
        "item": [str],
        "annotator": [str],
        "score": [str],
    }

    _local_estimator = AnnotatorEM

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
        item="item",
        annotator="annotator",
        score="score",
    ):
        super().__init__(
            bounded=bounded,
            noise=noise,
            noise_prior=noise_prior,
            bias=bias,
            init=init,
            n_init=n_init,
            max_iter=max_iter,
            tol=tol,
            score_range=score_range,
            score_scale=score_scale,
            levels=levels,
            tail=tail,
            min_sigma=min_sigma,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
        )
        self.item = item
        self.annotator = annotator
        self.score = score

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, gold=None):
        """Fit the model to long-format ratings on the cluster.

        Uses the current ``distributed.Client``. A fit that raises
        leaves the estimator as it was.

        Parameters
        ----------
        X : dask.dataframe.DataFrame or pandas.DataFrame
            One rating per row, in the columns named by ``item``,
            ``annotator`` and ``score``, partitioned in any way: the ratings
            are shuffled by item first. Labels may be of any hashable type.

        y : None
            Ignored.

        gold : pandas.Series or dict, default=None
            Known true scores of some items, keyed by item label.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_restore(X, gold)

    def transform(self, X):
        """Return the consensus of the items of new long-format ratings, lazily.

        The consensus at the fitted annotator parameters: each item's
        precision-weighted mean rating (see
        :meth:`skem.AnnotatorEM.transform`).

        Parameters
        ----------
        X : dask.dataframe.DataFrame or pandas.DataFrame
            Ratings by the fitted annotators, in the same columns as in
            ``fit``. A rating by another annotator, outside an explicit
            ``score_range``, not among explicit ``levels`` or so far out that
            the consensus sums would overflow raises a ValueError when the
            result is computed, as in memory.

        Returns
        -------
        consensus : dask.dataframe.Series
            Indexed by item label, named ``consensus``.
        """
        check_is_fitted(self)
        frame = _as_dask_frame(X, self._columns)
        shuffled = _shuffle_by_item(frame, self.item)
        meta = pd.Series(
            [],
            dtype=np.float64,
            name="consensus",
            index=pd.Index([], name=self.item, dtype=frame[self.item].dtype),
        )
        scale = self._score_scale
        return shuffled.map_partitions(
            _transform_partition,
            self._columns,
            pd.Index(self.annotators_),
            scale,
            None if isinstance(self.score_range, str) else scale,
            self._stated_levels(scale),
            self._form(0.0, scale, self.tail_),
            self._fitted_params(scale),
            *self._consensus_weights(),
            meta=meta,
        )

    def to_in_memory(self):
        """Bring the fit into memory, as a fitted in-memory estimator.

        For when the items fit in memory: the estimator's ``mu_``,
        ``location_`` and ``mu_std_error_`` are computed from
        ``consensus_``, and its per-annotator attributes are this fit's.
        It can then transform or score rating matrices whose columns are
        ``annotators_`` (see :func:`skem.long_to_matrix` with
        ``annotators=``).

        Returns
        -------
        model : InMemoryModel
            ``(estimator, items)``: an :class:`~skem.AnnotatorEM` (or
            :class:`~skem.HardAnnotatorEM`) and the item label of each of
            its rows, sorted when the labels can be.

        Raises
        ------
        RuntimeError
            If no Dask client is open: ``consensus_`` stays on the cluster
            the fit ran on, and is gone with it.
        """
        return self._in_memory()[0]

    def _in_memory(self):
        """:meth:`to_in_memory`'s model, and each of its items' number of ratings."""
        check_is_fitted(self)
        try:
            frame = self.consensus_.compute()
        except Exception as error:
            if _client_open():
                raise
            raise RuntimeError(
                f"The consensus_ of this {type(self).__name__} is held by the "
                "cluster it was fitted on, and no Dask client is open: compute "
                "or write consensus_, or call to_in_memory(), before the client "
                f"closes ({type(error).__name__}: {error})"
            ) from error
        try:
            # long_to_matrix's order, which sorts mixed numbers and text too.
            codes = pd.factorize(frame.index, sort=True)[0]
            frame = frame.iloc[np.argsort(codes, kind="stable")]
        except TypeError:
            pass
        estimator = self._local_estimator(**self._local_params())
        for name in _ANNOTATOR_ATTRIBUTES:
            setattr(estimator, name, getattr(self, name))
        estimator.mu_ = frame["consensus"].to_numpy()
        estimator.location_ = frame[_location_column(frame)].to_numpy()
        estimator.mu_std_error_ = frame["std_error"].to_numpy()
        # No feature_names_in_: as a fit on long_to_matrix's CSR matrix, which
        # the docs give it, it would warn on every call.
        estimator.n_features_in_ = len(self.annotators_)
        model = InMemoryModel(estimator, frame.index.to_numpy())
        return model, frame["n_ratings"].to_numpy()

    @property
    def _columns(self):
        return (self.item, self.annotator, self.score)

    def _local_params(self):
        params = self.get_params()
        for name in ("item", "annotator", "score"):
            params.pop(name)
        return params

    def _fit(self, X, gold):
        from distributed import default_client

        try:
            client = default_client()
        except ValueError:
            raise ValueError(
                f"{type(self).__name__} runs on a Dask cluster: start a client "
                "first, e.g. distributed.Client(distributed.LocalCluster()), or "
                "connect to a scheduler with distributed.Client(address)."
            ) from None
        columns = self._columns
        frame = _as_dask_frame(X, columns)
        shuffled = _shuffle_by_item(frame, self.item)
        raw = client.compute(
            [
                _delayed_raw_block(partition, columns)
                for partition in shuffled.to_delayed()
            ]
        )
        facts = client.gather([client.submit(_raw_facts, block) for block in raw])
        n_ratings = sum(fact["n_ratings"] for fact in facts)
        if n_ratings == 0:
            raise ValueError("The ratings table is empty: there is no rating to fit.")
        annotators = _sorted_labels(
            np.concatenate([fact["annotators"] for fact in facts])
        )
        distinct = np.unique(np.concatenate([fact["levels"] for fact in facts]))
        if self.score_scale == "log":
            # Said of the distinct values: the cluster keeps the ratings.
            _check_positive(distinct, f"column {self.score!r}", "distinct value")
        scale = self._resolve_scale(distinct)
        if not isinstance(self.score_range, str):
            _check_levels_in_range(distinct, scale, self.score)
        gold = _check_gold_series(gold)
        if gold is not None:
            scale = _scale_for_gold(
                scale, gold.to_numpy(), self.score_range, distinct, self.bounded
            )
        warm = self._is_warm_fit()
        forms = self._forms(scale, warm)
        warm_params, previous = None, None
        if warm:
            if not np.array_equal(annotators, self.annotators_):
                raise ValueError(
                    "warm_start=True needs the same annotators as the previous "
                    f"fit: the ratings have {len(annotators)} annotator(s), the "
                    f"previous fit had {len(self.annotators_)}, or their labels "
                    "differ."
                )
            warm_params = self._warm_params(scale, forms[0])
            previous = self.consensus_[
                _location_column(self.consensus_)
            ].map_partitions(lambda location, scale=scale: location.map(scale.to_unit))
            previous = client.compute(previous).result()
        unit_gold = None if gold is None else gold.map(scale.to_unit)
        index = pd.Index(annotators)
        blocks = [
            client.submit(
                _finish_block,
                block,
                index,
                scale,
                unit_gold,
                previous,
                pure=False,
            )
            for block in raw
        ]
        del raw
        if gold is not None:
            found = client.gather([client.submit(_gold_labels, b) for b in blocks])
            _check_gold_labels(gold, found, self.item)
        n_per_annotator = _combine_counts(client, blocks, len(annotators))
        _release_arrow_memory(client)
        data = _DaskBackend(client, blocks, n_per_annotator, gold is not None)
        form, run = self._fit_tails(data, forms, warm_params)
        item_results = _collect_item_results(data, form, run)

        self._set_annotator_attributes(run, form, scale, data)
        self.annotators_ = annotators
        self.n_ratings_ = n_ratings
        self.n_ratings_per_annotator_ = n_per_annotator
        # The futures stay referenced here, so that the scheduler keeps (or,
        # after a lost worker, recomputes) the partitions of consensus_.
        self._consensus_parts = _consensus_parts(
            data.blocks(), item_results, scale, self.item, form, gold
        )
        self.consensus_ = _consensus_frame(
            self._consensus_parts, self.item, frame[self.item].dtype, self.bounded
        )
        self._warn_if_not_converged(run)
        _warn_if_sigma_at_floor(type(self).__name__, run, form, scale)
        return self


class DaskAnnotatorEM(_BaseDaskAnnotatorEM):
    __doc__ = f"""Consensus scores and annotator reliability by EM, on a Dask cluster.

    The model and the EM of :class:`skem.AnnotatorEM`, for long-format ratings
    in a Dask DataFrame: one row per rating, with item, annotator and score
    columns. The ratings are shuffled so that each item is whole inside one
    partition; one EM iteration then moves only per-annotator vectors
    between the workers and the client. The same EM driver and the same
    updates as the in-memory estimators run on each partition, so the fit
    equals ``AnnotatorEM`` on the same ratings to rounding.

    Needs Dask (``pip install 'dask[dataframe]>=2024.12' 'distributed>=2024.12'
    pyarrow``) and a ``distributed.Client``.

    Parameters
    ----------
    {_SHARED_PARAMETERS}
    item, annotator, score : str, default='item', 'annotator', 'score'
        The columns of the ratings.

    Attributes
    ----------
    weights_ : ndarray of shape (n_annotators,)
        Posterior probability that each annotator is good.
    annotators_ : ndarray of shape (n_annotators,)
        The annotator labels, sorted: the order of every per-annotator
        attribute.
    consensus_ : dask.dataframe.DataFrame
        One row per item, indexed by item label, on the cluster, with the
        columns of :func:`skem.consensus_frame`: the ``consensus`` (``mu_``
        of the in-memory estimator), its ``std_error``, the 95% interval
        ``ci_low`` and ``ci_high`` (clipped to the scale for the bounded
        forms: the outer levels on levels, else ``score_range_``), the item's
        ``n_ratings`` and, for the bounded forms only, the ``location``
        (``location_``). Ready for ``to_parquet``.
    n_ratings_ : int
        Number of ratings fitted.
    n_ratings_per_annotator_ : ndarray of shape (n_annotators,)
        Number of ratings of each annotator, in ``annotators_`` order: the
        ``n_ratings`` of :func:`skem.annotator_frame`.
    sigma_ : float or ndarray of shape (n_annotators,)
        Standard deviation of the good ratings (per annotator with
        ``noise='per_annotator'``).
    shared_sigma_ : float
        The shared scale of the per-annotator prior.
    bias_ : ndarray of shape (n_annotators,)
        Offset of each annotator's good ratings.
    pi_ : float
        Prior probability of a good annotator.
    log_posterior_ : ndarray of shape (n_annotators,)
        ``log P(good | ratings)``.
    n_judged_ratings_ : ndarray of shape (n_annotators,)
        Number of each annotator's ratings on items that at least two others
        rated too.
    judged_ : ndarray of shape (n_annotators,), dtype bool
        Whether the ratings judge the annotator; if not, its verdict is
        undetermined.
    lapsed_ : ndarray of shape (n_annotators,), dtype bool
        Whether one rating alone would have called the annotator random;
        its posterior and verdict read that rating as a slip.
    consensus_weights_ : ndarray of shape (n_annotators,)
        Weight of each annotator in the consensus: ``weights_`` where
        ``judged_``, ``pi_`` elsewhere.
    score_range_ : tuple of float
        The range of the bad annotators' uniform ratings.
    levels_ : ndarray of shape (n_levels,) or None
        The levels the ratings were read as; None for exact scores.
    tail_ : float or None
        The degrees of freedom of the Student-t good component; None for the
        normal.
    log_likelihoods_ : ndarray of shape (``n_iter_``,)
        The objective after each iteration.
    log_likelihood_ : float
        The final objective.
    n_iter_ : int
        Number of EM iterations of the kept run.
    converged_ : bool
        Whether the kept run converged.

    See Also
    --------
    skem.AnnotatorEM : The in-memory estimator.
    DaskHardAnnotatorEM : Hard EM on a Dask cluster.

    Examples
    --------
    >>> import pandas as pd
    >>> import dask.dataframe as dd
    >>> from distributed import Client, LocalCluster
    >>> from skem.dask import DaskAnnotatorEM
    >>> ratings = pd.DataFrame({{
    ...     "item": ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
    ...     "annotator": ["x", "y", "z"] * 3,
    ...     "score": [4.0, 4.2, 1.0, 2.0, 2.1, 5.0, 3.0, 3.1, 1.5]}})
    >>> with Client(LocalCluster(n_workers=1, processes=False,
    ...                          dashboard_address=":0")) as client:
    ...     em = DaskAnnotatorEM(noise="shared").fit(
    ...         dd.from_pandas(ratings, npartitions=2))
    ...     consensus = em.consensus_["consensus"].compute().sort_index()
    >>> em.annotators_
    array(['x', 'y', 'z'], dtype=object)
    >>> em.weights_.round(2)
    array([1., 1., 0.])
    >>> consensus.round(2).tolist()
    [4.1, 2.05, 3.05]
    """


class DaskHardAnnotatorEM(_BaseDaskAnnotatorEM):
    __doc__ = f"""Consensus scores with each annotator classified good or bad, on Dask.

    The hard EM of :class:`skem.HardAnnotatorEM`, on long-format ratings in a
    Dask DataFrame; see :class:`DaskAnnotatorEM` for the layout.

    Parameters
    ----------
    {_SHARED_PARAMETERS}
    item, annotator, score : str, default='item', 'annotator', 'score'
        The columns of the ratings.

    Attributes
    ----------
    weights_ : ndarray of shape (n_annotators,)
        1.0 for the annotators judged good, 0.0 for the others.
    annotators_ : ndarray of shape (n_annotators,)
        The annotator labels, sorted.
    consensus_ : dask.dataframe.DataFrame
        One row per item: see :class:`DaskAnnotatorEM`.
    n_ratings_per_annotator_ : ndarray of shape (n_annotators,)
        Number of ratings of each annotator, in ``annotators_`` order.

    See Also
    --------
    skem.HardAnnotatorEM : The in-memory estimator.
    DaskAnnotatorEM : Soft EM on a Dask cluster.

    Examples
    --------
    >>> import pandas as pd
    >>> from distributed import Client, LocalCluster
    >>> from skem.dask import DaskHardAnnotatorEM
    >>> ratings = pd.DataFrame({{
    ...     "item": [1, 1, 1, 2, 2, 2, 3, 3, 3],
    ...     "annotator": ["x", "y", "z"] * 3,
    ...     "score": [4.0, 4.2, 1.0, 2.0, 2.1, 5.0, 3.0, 3.1, 1.5]}})
    >>> with Client(LocalCluster(n_workers=1, processes=False,
    ...                          dashboard_address=":0")) as client:
    ...     em = DaskHardAnnotatorEM().fit(ratings)
    >>> em.weights_
    array([1., 1., 0.])
    """

    _hard = True
    _local_estimator = HardAnnotatorEM


_ANNOTATOR_ATTRIBUTES = (
    "_score_scale",
    "_unit_params",
    "score_range_",
    "levels_",
    "tail_",
    "_tail_chosen",
    "n_judged_ratings_",
    "judged_",
    "_mixture_flagged",
    "_followers",
    "lapsed_",
    "sigma_",
    "shared_sigma_",
    "bias_",
    "pi_",
    "weights_",
    "log_posterior_",
    "consensus_weights_",
    "_log_posterior_bad",
    "log_likelihoods_",
    "log_likelihood_",
    "n_iter_",
    "converged_",
)


def _location_column(consensus):
    """The column of ``consensus_`` that holds the fitted location.

    Only the bounded forms have a ``location`` column; for the others the
    location is the consensus.
    """
    return "location" if "location" in consensus.columns else "consensus"
