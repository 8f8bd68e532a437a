"""The fitted results as tables: one schema per item and per annotator.

Every table of skem (these functions, the command's CSV files, the Dask
backend) has the same columns; the HTML report shows the same numbers under
names a reader knows:

- per item: ``<item>, consensus, std_error, ci_low, ci_high, n_ratings``, plus
  ``location`` for the bounded forms, whose location differs from the
  consensus;
- per annotator: ``<annotator>, p_good, verdict, consensus_weight,
  n_ratings, sigma, bias, log_posterior``.

``<item>`` and ``<annotator>`` are the caller's own column names.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skem._io.evidence import _annotator_evidence, _Evidence, _observed
from skem._io.labels import _annotator_labels, _item_labels, _unpack_rating_matrix
from skem._io.long_format import _import_pandas
from skem._io.verdicts import _annotator_verdicts, _fitted_mask
from skem._model.intervals import _compute_consensus_interval

ITEM_COLUMNS = ("consensus", "std_error", "ci_low", "ci_high", "n_ratings")
ANNOTATOR_COLUMNS = (
    "p_good",
    "verdict",
    "consensus_weight",
    "n_ratings",
    "sigma",
    "bias",
    "log_posterior",
)


def _item_column_names(bounded):
    """The item table's columns after the label: ``location`` for the bounded forms."""
    return ITEM_COLUMNS + (("location",) if bounded else ())


def consensus_frame(estimator, items=None, *, X=None, level=0.95, name="item"):
    """Tabulate the fitted consensus of each item, with its uncertainty.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        A fitted estimator.
    items : array-like of shape (n_items,) or RatingMatrix, default=None
        Item labels, for example ``long_to_matrix(...).items``. Defaults to
        the index of a DataFrame ``X``, else the row numbers. A
        :class:`RatingMatrix` gives both the labels and,
        unless ``X`` is given, the ratings: ``consensus_frame(em, train)``.
    X : {array-like, sparse matrix} of shape (n_items, n_annotators) or \
RatingMatrix, default=None
        The training ratings, NaN (or absent) for "not rated": they give
        ``n_ratings``. Without them ``n_ratings`` is missing (``<NA>``). A
        :class:`RatingMatrix` gives the labels too, unless ``items`` is
        given.
    level : float, default=0.95
        Coverage of the confidence interval, in (0, 1).
    name : str, default='item'
        Name of the label column: your own, for example ``"video"``.

    Returns
    -------
    table : pandas.DataFrame
        One row per item with columns ``name``, ``consensus`` (``mu_``),
        ``std_error`` (``mu_std_error_``), ``ci_low`` and ``ci_high`` (the
        interval of :meth:`~skem.AnnotatorEM.mu_interval`, which for the
        bounded forms stays on the scale), ``n_ratings`` (the item's number
        of ratings) and, for the bounded forms only, ``location``
        (``location_``, the location of the truncated normal of the good
        ratings). After a fit with ``score_scale='log'``, ``std_error`` is
        on the natural logarithm of the scores, like ``mu_std_error_``; the
        other columns are scores.

    Raises
    ------
    ValueError
        If ``items`` or ``X`` do not match the fit, ``level`` is not in (0, 1),
        or ``name`` is not a string or is one of the other columns.

    See Also
    --------
    long_to_matrix : Build the matrix and the labels from long format.
    annotator_frame : The reliability of each annotator.

    Examples
    --------
    >>> import numpy as np
    >>> from skem import AnnotatorEM, consensus_frame
    >>> X = np.array([[4.0, 4.2, 1.0], [2.0, 2.1, 5.0], [3.0, 3.1, 1.2],
    ...               [4.5, 4.4, np.nan]])
    >>> em = AnnotatorEM(score_range=(1, 5)).fit(X)
    >>> table = consensus_frame(em, ["w", "x", "y", "z"], X=X, name="video")
    >>> table.columns.tolist()
    ['video', 'consensus', 'std_error', 'ci_low', 'ci_high', 'n_ratings', 'location']
    >>> table[["video", "consensus", "n_ratings"]].round(2)
      video  consensus  n_ratings
    0     w       4.10          3
    1     x       2.05          3
    2     y       3.05          3
    3     z       4.45          2
    """
    _check_consensus_in_memory(estimator, "consensus_frame")
    _check_name(name, _item_column_names(estimator.bounded))
    items, X = _unpack_rating_matrix(items, X, "items")
    labels = _item_labels(estimator, items, X)
    return _item_table(
        estimator, labels, _annotator_evidence(estimator, X), level, name
    )


def annotator_frame(estimator, annotators=None, *, X=None, name="annotator"):
    """Tabulate the fitted reliability of each annotator, with a verdict.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
        A fitted estimator.
    annotators : array-like of shape (n_annotators,) or RatingMatrix, \
default=None
        Annotator labels, for example ``long_to_matrix(...).annotators``.
        Defaults to ``feature_names_in_`` (or a Dask estimator's
        ``annotators_``) if the estimator has it, else the columns of a
        DataFrame ``X``, else the column numbers. A
        :class:`RatingMatrix` gives both the labels and, unless ``X`` is
        given, the ratings: ``annotator_frame(em, train)``.
    X : {array-like, sparse matrix} of shape (n_items, n_annotators) or \
RatingMatrix, default=None
        The training ratings, NaN (or absent) for "not rated": they give
        ``n_ratings`` and the agreement ``r`` in the reasons (a
        :class:`RatingMatrix` gives the labels too). Without them
        ``n_ratings`` is missing (``<NA>``), except for a Dask estimator: it
        counted the ratings in its fit (``n_ratings_per_annotator_``). The
        "too few ratings" verdict needs no X: it reads the fit's
        ``judged_``.
    name : str, default='annotator'
        Name of the label column: your own, for example ``"subject"``.

    Returns
    -------
    table : pandas.DataFrame
        One row per annotator with columns

        - ``name``: the label;
        - ``p_good``: the posterior probability of being good,
          ``exp(log_posterior_)``; for :class:`~skem.HardAnnotatorEM` too,
          whose ``weights_`` are 0/1;
        - ``verdict``: ``"consistent"`` (``p_good >= 0.9``), ``"random"``
          (``p_good <= 0.1``) or ``"undetermined"`` (in between, or too
          few ratings to judge: ``judged_``);
        - ``consensus_weight``: the annotator's weight in the consensus,
          ``consensus_weights_``: ``weights_``, or ``pi_`` where the
          ratings do not judge the annotator;
        - ``n_ratings``: the annotator's number of ratings;
        - ``sigma``: the inconsistency, the spread the model fits to the
          annotator's good ratings once its bias is taken off (``sigma_``,
          the shared value repeated for ``noise='shared'``): the standard
          deviation of its normal, before the scale's ends cut it off and,
          on levels, before a rating is read off as a level;
        - ``bias``: how much higher than the consensus the annotator rates
          (``bias_``; 0 unless ``bias=True``). An annotator judged random has
          almost no good ratings to fit: its ``sigma`` is the panel's shared
          scale, not a measure of it (its ``bias`` is still how far its
          ratings sit from the consensus). With ``score_scale='log'`` both are
          on the natural logarithm of the scores;
        - ``log_posterior``: ``log_posterior_``, which still ranks the
          annotators whose ``p_good`` rounds to 0 or 1.

    Raises
    ------
    ValueError
        If ``annotators`` or ``X`` do not match the fit, or ``name`` is not
        a string or is one of the other columns.
    TypeError
        If ``X`` is given for a Dask fit, whose consensus is on the cluster
        (without ``X`` its table needs no ratings).

    See Also
    --------
    consensus_frame : The consensus of each item.

    Examples
    --------
    >>> import numpy as np
    >>> from skem import AnnotatorEM, annotator_frame
    >>> X = np.array([[4.0, 4.2, 1.0], [2.0, 2.1, 5.0], [3.0, 3.1, 2.0],
    ...               [1.5, 1.4, 4.5]])
    >>> em = AnnotatorEM(score_range=(1, 5)).fit(X)
    >>> table = annotator_frame(em, ["ann", "bob", "cat"], X=X, name="subject")
    >>> table.columns.tolist()
    ['subject', 'p_good', 'verdict', 'consensus_weight', 'n_ratings', 'sigma', 'bias',
     'log_posterior']
    >>> table[["subject", "p_good", "verdict", "n_ratings"]].round(2)
      subject  p_good     verdict  n_ratings
    0     ann     1.0  consistent          4
    1     bob     1.0  consistent          4
    2     cat     0.0      random          4

    ``cat``'s ``p_good`` rounds to 0, but its log posterior tells how sure the
    model is:

    >>> bool(table["log_posterior"][2] < -100)
    True
    """
    check_is_fitted(estimator)
    if X is not None:
        # The agreement with the consensus needs it in memory.
        _check_consensus_in_memory(estimator, "annotator_frame with X")
    _check_name(name, ANNOTATOR_COLUMNS)
    annotators, X = _unpack_rating_matrix(annotators, X, "annotators")
    labels = _annotator_labels(estimator, annotators, X)
    table, _ = _annotator_table(
        estimator, labels, _annotator_evidence(estimator, X), name
    )
    return table


def _check_consensus_in_memory(estimator, what):
    """Check that ``estimator`` is fitted and holds its consensus in memory.

    Parameters
    ----------
    estimator : estimator
    what : str
        The function that needs ``mu_``, for the message.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.
    TypeError
        If it is a Dask fit, whose consensus is on the cluster
        (``consensus_``), with the way to bring it into memory.
    """
    check_is_fitted(estimator)
    if not hasattr(estimator, "mu_") and hasattr(estimator, "consensus_"):
        raise TypeError(
            f"{what} needs the consensus in memory (mu_); a "
            f"{type(estimator).__name__} keeps it on the cluster, in "
            "consensus_. Bring it into memory first: model = "
            f"estimator.to_in_memory(), then {what}(model.estimator, ...) "
            "with model.items as the item labels."
        )


def _page_fit(estimator, X, items, annotators):
    """The in-memory fit, labels and :class:`_Evidence` of :func:`report`'s page.

    A Dask fit is brought into memory (``_in_memory``), its items and
    annotators labelled as in the fit unless ``items`` or ``annotators``
    are given; without ``X`` its evidence is the ratings it counted.

    Parameters
    ----------
    estimator : fitted estimator, in memory or on Dask
    X : sparse matrix or None
        The training ratings, already unpacked from a ``RatingMatrix``.
    items, annotators : array-like or None
        The labels the caller gave.

    Returns
    -------
    estimator : AnnotatorEM or HardAnnotatorEM
    items, annotators : array-like or None
    evidence : _Evidence or None

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    """
    if not hasattr(estimator, "_in_memory"):
        _check_consensus_in_memory(estimator, "report")
        return estimator, items, annotators, _annotator_evidence(estimator, X)
    (model, model_items), per_item = estimator._in_memory()
    evidence = (
        _Evidence.of_counts(per_item, estimator.n_ratings_per_annotator_)
        if X is None
        else _annotator_evidence(model, X)
    )
    return (
        model,
        model_items if items is None else items,
        estimator.annotators_ if annotators is None else annotators,
        evidence,
    )


def _item_table(estimator, labels, evidence, level, name):
    """The per-item table of :func:`consensus_frame`, from checked inputs."""
    pd = _import_pandas()
    n_ratings = _count_column(
        pd, None if evidence is None else evidence.per_item, len(labels)
    )
    columns = _item_columns(
        estimator.mu_,
        estimator.mu_std_error_,
        n_ratings,
        estimator.location_ if estimator.bounded else None,
        level=level,
        score_range=_scale_ends(estimator),
        log=estimator._score_scale.log,
    )
    return pd.DataFrame({name: labels, **columns})


def _scale_ends(estimator):
    """The ends of a fitted estimator's scale: its outer levels, or ``score_range_``."""
    return estimator._score_scale.ends


def _item_columns(
    consensus, std_error, n_ratings, location, *, level, score_range, log=False
):
    """The item schema's columns after the label, in order.

    The item table of :func:`consensus_frame`, of the partitions of a Dask
    fit's ``consensus_`` and of the command (its ``--level``); the intervals
    are :func:`skem._model.intervals._compute_consensus_interval`'s, as
    :meth:`AnnotatorEM.mu_interval`'s are.

    Parameters
    ----------
    consensus, std_error : array-like of shape (n_items,)
        In score units; with ``log``, the std error is of the consensus's
        logarithm.
    n_ratings : array-like of shape (n_items,)
        Each item's number of ratings.
    location : array-like of shape (n_items,) or None
        The location of a bounded form; None for the unbounded forms, whose
        location is the consensus.
    level : float
        Coverage of the interval, in (0, 1).
    score_range : tuple of float
        The ends of the fit's scale (:func:`_scale_ends`): a bounded form's
        consensus cannot leave it, so neither does its interval.
    log : bool, default=False
        Whether the fit is on the logarithms of the scores
        (``score_scale='log'``).

    Returns
    -------
    columns : dict of str to array
        ``consensus, std_error, ci_low, ci_high, n_ratings`` and, when
        ``location`` is given, ``location``.

    Raises
    ------
    ValueError
        If ``level`` is not in (0, 1).
    """
    low, high = _compute_consensus_interval(
        consensus, std_error, level, None if location is None else score_range, log
    )
    columns = {
        "consensus": np.asarray(consensus, dtype=np.float64),
        "std_error": np.asarray(std_error, dtype=np.float64),
        "ci_low": low,
        "ci_high": high,
        "n_ratings": n_ratings,
    }
    if location is not None:
        columns["location"] = np.asarray(location, dtype=np.float64)
    return columns


def _annotator_table(estimator, labels, evidence, name):
    """The per-annotator table of :func:`annotator_frame`, and the reasons."""
    pd = _import_pandas()
    p_good = np.exp(estimator.log_posterior_)
    if evidence is None:
        # A Dask fit counted the ratings of each annotator as it fitted.
        n_ratings = getattr(estimator, "n_ratings_per_annotator_", None)
        r = deviation = same = None
    else:
        n_ratings, r = evidence.per_annotator, evidence.r
        deviation, same = evidence.deviation, evidence.same
    verdicts, reasons = _annotator_verdicts(
        p_good,
        n_ratings,
        estimator.n_judged_ratings_,
        r,
        deviation,
        judged=estimator.judged_,
        lapsed=estimator.lapsed_,
        mixture_flagged=_fitted_mask(estimator, "_mixture_flagged"),
        log=estimator._score_scale.log,
        same=same,
        followers=_fitted_mask(estimator, "_followers"),
    )
    n_annotators = p_good.shape[0]
    table = pd.DataFrame(
        {
            name: labels,
            "p_good": p_good,
            "verdict": verdicts,
            # From the fitted posterior, as the consensus reads it: also for a
            # model pickled before consensus_weights_ existed.
            "consensus_weight": np.asarray(
                estimator._consensus_weights()[0], dtype=np.float64
            ),
            "n_ratings": _count_column(pd, n_ratings, n_annotators),
            "sigma": np.broadcast_to(estimator.sigma_, (n_annotators,)).astype(
                np.float64
            ),
            "bias": np.asarray(estimator.bias_, dtype=np.float64),
            "log_posterior": estimator.log_posterior_,
        }
    )
    return table, reasons


def _count_column(pd, counts, n):
    """Counts as an integer column, or ``<NA>`` throughout when unknown."""
    if counts is None:
        return pd.array([pd.NA] * n, dtype="Int64")
    return np.asarray(counts, dtype=np.int64)


def _check_name(name, others):
    if not isinstance(name, str):
        raise ValueError(f"name must be a string; got {name!r}.")
    if name in others:
        raise ValueError(
            f"name {name!r} is already one of the columns ({', '.join(others)}); "
            "choose another."
        )


# A scale with at most this many distinct ratings is drawn on its levels.
MAX_LEVELS = 11


def _levels(X, estimator):
    """The scale's levels (the distinct ratings) if there are few, else None."""
    _, _, scores = _observed(X, estimator.mu_.shape[0], estimator.weights_)
    levels = np.unique(scores)
    return levels if 1 < levels.size <= MAX_LEVELS else None
