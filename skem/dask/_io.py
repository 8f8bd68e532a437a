"""Dask input and output of the Dask estimators.

In: long-format ratings, shuffled so that each item is whole in one
partition, checked and coded into one EM block per partition
(:class:`skem._em.backend._Block`). Out: the partitions of ``consensus_``.
"""

import numpy as np
import pandas as pd

from skem._em.backend import _Block
from skem._em.ratings import (
    _compute_unanimous_scores,
    _exact_where_known,
    _Ratings,
)
from skem._em.score_range import _check_among_levels, _check_positive, _range_words
from skem._em.validation import _check_computable
from skem._io.long_format import _check_real, _coerced_numbers, _shown
from skem._io.results import _item_column_names, _item_columns
from skem._io.words import no_columns, spaced_name_hint

# A block reports at most this many distinct scores: one more than the most
# levels of a discrete scale, so that the union still tells discrete from not.
_MAX_REPORTED_LEVELS = 1002


# Coverage of the intervals of consensus_.
_LEVEL = 0.95

# Up to this many partitions the ratings are shuffled by tasks, beyond by p2p.
_TASK_SHUFFLE_MAX_PARTITIONS = 100


def _as_dask_frame(X, columns):
    import dask
    import dask.dataframe as dd

    if len(set(columns)) < len(columns):
        item, annotator, score = columns
        raise ValueError(
            "item, annotator and score must name three different columns; got "
            f"item={item!r}, annotator={annotator!r}, score={score!r}."
        )
    if isinstance(X, pd.DataFrame):
        # Labels stay as given: Dask would make text of every label column
        # of objects, and merge the annotators 1 and "1".
        with dask.config.set({"dataframe.convert-string": False}):
            X = dd.from_pandas(X, npartitions=1)
    if not isinstance(X, dd.DataFrame):
        raise ValueError(
            "X must be a dask.dataframe.DataFrame (or a pandas DataFrame) of "
            f"long-format ratings; got {type(X).__name__}."
        )
    missing = [name for name in columns if name not in X.columns]
    if missing:
        raise ValueError(
            f"The ratings have {no_columns(missing)}; their "
            f"columns are {', '.join(map(repr, map(str, X.columns)))}"
            f"{spaced_name_hint(missing, X.columns)}."
        )
    return X[list(columns)]


def _shuffle_by_item(frame, item):
    """The ratings, partitioned so that each item is whole in one partition."""
    # Dask's task-based shuffle takes n_partitions**2 small tasks, its p2p
    # shuffle a fixed cost of seconds: at 1e7 ratings in 5 partitions the
    # setup took 1.3 s against 3.6 s (python -m benchmarks).
    # p2p moves the partitions through Arrow, which cannot hold a column of
    # objects (labels of mixed types, tuples): those take the task shuffle.
    objects = any(getattr(dtype, "kind", None) == "O" for dtype in frame.dtypes)
    small = frame.npartitions <= _TASK_SHUFFLE_MAX_PARTITIONS
    method = "tasks" if small or objects else "p2p"
    return frame.shuffle(on=item, shuffle_method=method)


def _delayed_raw_block(partition, columns):
    from dask import delayed

    return delayed(_raw_block, pure=True)(partition, columns)


def _raw_block(frame, columns):
    """Check one partition of whole items and code its labels locally."""
    item, annotator, score = columns
    for name in (item, annotator):
        missing = frame[name].isna().to_numpy()
        if missing.any():
            raise ValueError(
                f"Column {name!r} has {int(missing.sum())} missing label(s)."
            )
    values = frame[score]
    numbers = _coerced_numbers(values)
    _check_real(numbers, score)
    scores = numbers.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Column {score!r} must hold finite numbers; the rating of item "
            f"{_shown(frame[item].iloc[first])} by annotator "
            f"{_shown(frame[annotator].iloc[first])} is {_shown(values.iloc[first])} "
            f"({int(bad.sum())} such rating(s) in this partition)."
        )
    item_codes, item_labels = pd.factorize(frame[item].to_numpy(), sort=False)
    annotator_codes, annotator_labels = pd.factorize(
        frame[annotator].to_numpy(), sort=False
    )
    key = item_codes.astype(np.int64) * max(len(annotator_labels), 1) + annotator_codes
    unique, first_seen, counts = np.unique(key, return_index=True, return_counts=True)
    if unique.shape[0] != key.shape[0]:
        first = first_seen[np.argmax(counts > 1)]
        raise ValueError(
            f"Annotator {_shown(annotator_labels[annotator_codes[first]])} rated "
            f"item {_shown(item_labels[item_codes[first]])} more than once. Give each "
            "(item, annotator) pair one rating."
        )
    return {
        "item_codes": item_codes.astype(np.intp),
        "item_labels": np.asarray(item_labels),
        "annotator_codes": annotator_codes.astype(np.intp),
        "annotator_labels": np.asarray(annotator_labels),
        "scores": scores,
    }


def _raw_facts(raw):
    """What the client needs to know of a block before EM: labels and levels."""
    scores = raw["scores"]
    levels = np.unique(scores)
    if levels.shape[0] > _MAX_REPORTED_LEVELS:
        levels = np.concatenate([levels[:_MAX_REPORTED_LEVELS], levels[-1:]])
    return {
        "n_ratings": scores.shape[0],
        "annotators": raw["annotator_labels"],
        "levels": levels,
    }


def _raw_ratings(raw, annotators, scale):
    """The ratings of a raw block on the fitted annotators' codes, in unit space.

    A block holds its codes for the whole fit: 4 bytes each where they fit.
    """
    codes = annotators.get_indexer(raw["annotator_labels"])
    if np.any(codes < 0):
        unknown = raw["annotator_labels"][codes < 0][0]
        raise ValueError(
            f"Annotator {_shown(unknown)} was not in the fit; transform needs ratings "
            "by the fitted annotators (annotators_)."
        )
    n_items = raw["item_labels"].shape[0]
    code_type = np.int32 if max(n_items, len(annotators)) < 2**31 else np.intp
    return _Ratings(
        raw["item_codes"].astype(code_type),
        codes[raw["annotator_codes"]].astype(code_type),
        scale.to_unit(raw["scores"]),
        n_items,
        len(annotators),
        scale.unit_half_step,
    )


def _finish_block(raw, annotators, scale, gold, previous):
    """The EM block of a partition: global annotator codes, unit scores."""
    ratings = _raw_ratings(raw, annotators, scale)
    item_labels = raw["item_labels"]
    block_gold = None
    if gold is not None:
        block_gold = gold.reindex(item_labels).to_numpy(dtype=np.float64)
        if np.isnan(block_gold).all():
            block_gold = None
    location = None
    if previous is not None:
        location = previous.reindex(item_labels).to_numpy(dtype=np.float64)
    unanimous = _compute_unanimous_scores(
        raw["item_codes"], raw["scores"], ratings.n_items
    )
    return _Block(
        ratings, block_gold, location, item_labels=item_labels, unanimous=unanimous
    )


def _gold_labels(block):
    """The labels of the block's items that have a gold score."""
    if block.gold is None:
        return block.item_labels[:0]
    return block.item_labels[~np.isnan(block.gold)]


def _check_gold_labels(gold, found, item_name):
    """Raise a ValueError if a gold label is no rated item's.

    Parameters
    ----------
    gold : pandas.Series
        The known gold scores, by item label.
    found : list of ndarray
        The labels of the items that took a gold score, per block.
    item_name : str
        The item column.
    """
    matched = pd.Index(np.concatenate(found)) if found else pd.Index([])
    missing = gold.index[~gold.index.isin(matched)]
    if len(missing):
        example = missing[0]
        if isinstance(example, np.generic):
            example = example.item()
        raise ValueError(
            f"gold has {len(missing)} item label(s) that no rating has, e.g. "
            f"{_shown(example)} ({type(example).__name__}): gold is keyed by the "
            f"labels of column {item_name!r}, as they are in the ratings."
        )


def _sorted_labels(labels):
    # The order of long_to_matrix, which sorts mixed numbers and text too
    # (numbers first); labels without any order stay as first seen.
    try:
        return np.asarray(pd.factorize(labels, sort=True)[1])
    except TypeError:
        return np.asarray(pd.unique(labels))


def _check_levels_in_range(levels, scale, name):
    outside = levels[(levels < scale.low) | (levels > scale.high)]
    if outside.size:
        raise ValueError(
            f"Column {name!r} has ratings outside {_range_words(scale)}, e.g. "
            f"{float(outside[0])!r}. Widen score_range or use score_range='auto'."
        )


def _item_frame(block, results, scale, item_name, form, gold=None):
    """One partition of ``consensus_``, in score units, in the item schema.

    A gold item's consensus is its known score (``gold``, by item label), and
    without biases a unanimous item's is its ratings' score, to the last bit,
    as in memory.
    """
    bounded = form.bounded
    if gold is not None:
        gold = gold.reindex(block.item_labels).to_numpy(dtype=np.float64)
    consensus = _exact_where_known(
        scale.consensus_from_unit(results["consensus"], bounded),
        None if form.bias != "none" else block.unanimous,
        gold,
    )
    columns = _item_columns(
        consensus,
        scale.width * results["std_error"],
        block.ratings.n_per_item.astype(np.int64),
        scale.from_unit(results["location"]) if bounded else None,
        level=_LEVEL,
        score_range=scale.ends,
        log=scale.log,
    )
    return pd.DataFrame(columns, index=pd.Index(block.item_labels, name=item_name))


def _consensus_parts(blocks, item_results, scale, item_name, form, gold=None):
    """The partitions of ``consensus_``, as futures."""
    from distributed import get_client

    client = get_client()
    if gold is not None:
        [gold] = client.scatter([gold], broadcast=True)
    return [
        client.submit(
            _item_frame, block, results, scale, item_name, form, gold, pure=False
        )
        for block, results in zip(blocks, item_results, strict=True)
    ]


def _consensus_frame(parts, item_name, item_dtype, bounded):
    """``consensus_``: the partitions as one Dask DataFrame, indexed by item.

    Parameters
    ----------
    parts : list of Future
        The partitions, from :func:`_consensus_parts`.
    item_name : str
        The item column, the name of the index.
    item_dtype : dtype
        The dtype of the item labels.
    bounded : bool
        Whether the form is bounded: only then is there a ``location``.

    Returns
    -------
    consensus : dask.dataframe.DataFrame
    """
    import dask.dataframe as dd

    names = list(_item_column_names(bounded))
    meta = pd.DataFrame(
        {
            name: pd.Series([], dtype=np.int64 if name == "n_ratings" else np.float64)
            for name in names
        },
        index=pd.Index([], name=item_name, dtype=item_dtype),
    )
    return dd.from_delayed(parts, meta=meta, verify_meta=False)


def _transform_partition(
    frame,
    columns,
    annotators,
    scale,
    stated_range,
    stated_levels,
    form,
    params,
    weights,
    log_posterior,
):
    """One partition's consensus; ``stated_*`` are what new ratings must respect."""
    raw = _raw_block(frame, columns)
    if stated_range is not None:
        _check_levels_in_range(raw["scores"], stated_range, columns[2])
    if stated_levels is not None:
        _check_among_levels(raw["scores"], stated_levels)
    if scale.log:
        _check_positive(raw["scores"])
    ratings = _raw_ratings(raw, annotators, scale)
    _check_computable(
        ratings.score, ratings.n_per_item, params.sigma, raw["scores"], scale
    )
    consensus = _exact_where_known(
        scale.consensus_from_unit(
            form.consensus(ratings, params, weights, log_posterior), form.bounded
        ),
        None
        if form.bias != "none"
        else _compute_unanimous_scores(
            raw["item_codes"], raw["scores"], ratings.n_items
        ),
    )
    return pd.Series(
        consensus,
        index=pd.Index(raw["item_labels"], name=columns[0]),
        name="consensus",
    )
