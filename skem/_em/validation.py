"""Validation shared by the in-memory and the Dask estimators.

Each estimator parses its own input (a rating matrix, or a table of
long-format ratings) into numbers; what those numbers must satisfy is checked
here once: the gold scores, the score range that covers them, and the missing
markers of pandas in object data.
"""

import sys
import warnings
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array

from skem._em.missing import _missing_as_nan
from skem._em.score_range import (
    _check_representable,
    _format_score,
    _range_pair,
    _range_words,
)

# Frames of these packages are the library's, not the caller's: skem's, and
# scikit-learn's and joblib's when they call skem (a Pipeline, cross_val_score).
_LIBRARY_PACKAGES = ("skem", "sklearn", "joblib")


def _warn_at_caller(message, category):
    """``warnings.warn``, attributed to the caller's own line.

    The warning points at the innermost frame outside skem, scikit-learn
    and joblib: the line that called ``fit``, ``transform``,
    ``long_to_matrix``, a Pipeline or ``cross_val_score``. A fixed
    ``stacklevel`` would point into skem, at a different line from each
    entry point. Frames are told apart by their module's name, which holds
    whether the package is installed from sources, compiled files or a zip.

    Parameters
    ----------
    message : str
    category : type of Warning
    """
    frame, stacklevel = sys._getframe(1), 2
    while frame.f_back is not None and _is_library_frame(frame):
        frame, stacklevel = frame.f_back, stacklevel + 1
    warnings.warn(message, category, stacklevel=stacklevel)


def _is_library_frame(frame):
    """Whether ``frame`` runs code of one of ``_LIBRARY_PACKAGES``."""
    module = frame.f_globals.get("__name__", "")
    return module.partition(".")[0] in _LIBRARY_PACKAGES


def _check_gold_array(gold, n_items):
    """Gold scores of a rating matrix: one float per item, NaN where unknown.

    Parameters
    ----------
    gold : array-like of shape (n_items,) or None
        Known true scores, NaN (or a pandas missing marker) for unknown items.
    n_items : int
        Number of rows of the rating matrix.

    Returns
    -------
    gold : ndarray of shape (n_items,) or None
        None if no item is known.
    """
    if gold is None:
        return None
    if isinstance(gold, dict):
        raise ValueError(
            "gold must be an array-like of one known score (or NaN) per row of "
            "X; got a dict. Put its scores in the order of X's rows, for example "
            "[gold.get(item, np.nan) for item in items]."
        )
    try:
        gold = check_array(
            _missing_as_nan(gold, gold=True),
            ensure_2d=False,
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            input_name="gold",
        )
    except (TypeError, ValueError, OverflowError) as error:
        if isinstance(error, ValueError) and "gold" in str(error):
            raise
        raise ValueError(f"gold must hold numbers or NaN: {error}") from None
    if gold.ndim != 1 or gold.shape[0] != n_items:
        raise ValueError(
            f"gold must hold one known score (or NaN) per item: X has "
            f"{n_items} items, gold has shape {gold.shape}."
        )
    if not np.any(~np.isnan(gold)):
        return None
    return gold


def _check_gold_index(gold, X):
    """Raise a ValueError if gold and X are pandas objects whose indexes differ.

    Gold scores of a rating matrix go by position, one per row, as every
    array that scikit-learn splits with X does. A Series keyed by other
    labels than the DataFrame's rows (or by the same in another order) would
    put its known scores on other items, without a sign.
    """
    index = getattr(X, "index", None)
    gold_index = getattr(gold, "index", None)
    if not (_is_frame(X) and hasattr(gold, "iloc")) or gold_index.equals(index):
        return
    raise ValueError(
        "gold is a pandas Series whose index differs from X's: gold scores go "
        "by position, one per row of X. Align them first, for example "
        "gold.reindex(X.index)."
    )


def _check_gold_series(gold):
    """Gold scores of long-format ratings: a float Series keyed by item label.

    Parameters
    ----------
    gold : pandas.Series or dict or None
        Known true scores keyed by item label; NaN for unknown items.

    Returns
    -------
    gold : pandas.Series or None
        The known scores only; None if there is none.
    """
    if gold is None:
        return None
    import pandas as pd

    if isinstance(gold, dict):
        gold = pd.Series(gold, dtype=object)
    if not isinstance(gold, pd.Series):
        raise ValueError(
            "gold must be a pandas Series (or a dict) of known scores keyed by "
            f"item label; got {type(gold).__name__}."
        )
    values = pd.to_numeric(gold, errors="coerce").astype(np.float64)
    bad = values.isna() & gold.notna()
    if bad.any() or np.isinf(values).any():
        raise ValueError("gold must hold finite numbers (or NaN for unknown items).")
    if values.index.has_duplicates:
        raise ValueError("gold has the same item label more than once.")
    values = values.dropna()
    if values.empty:
        return None
    return values


def _scale_for_gold(scale, known, score_range, scores, bounded):
    """The score scale that the known gold scores ``known`` must lie on.

    An explicit ``score_range``, or a scale of levels, is checked: a gold
    score outside it (on levels, outside the outer cells) is an error; the
    levels' cells must cover the range exactly for the random rater's ``1 /
    K``. Otherwise, with ``'auto'``, the range widens to cover them: a known
    true score belongs on the scale.

    Parameters
    ----------
    scale : _ScoreScale
        The scale resolved from the ratings.
    known : ndarray of shape (n_known,)
        The known gold scores, in score units, none NaN; at least one.
    score_range : 'auto' or tuple of (float, float)
        The estimator's parameter.
    scores : ndarray of shape (n_ratings,)
        The ratings (or their distinct values), which a widened range must
        still tell apart.
    bounded : bool
        Whether the form is bounded: on levels its consensus lies between the
        outer levels, and so must the known scores
        (:func:`_check_gold_within_levels`).

    Returns
    -------
    scale : _ScoreScale
    """
    if scale.log and not np.all(known > 0):
        raise ValueError(
            "gold holds known scores that are not positive, e.g. "
            f"{_format_score(known[~(known > 0)][0])}: score_scale='log' fits "
            "the logarithms of the scores."
        )
    if not isinstance(score_range, str) or scale.levels is not None:
        outside = (known < scale.low) | (known > scale.high)
        if outside.any():
            raise ValueError(
                f"gold has {int(outside.sum())} value(s) outside "
                f"{_range_words(scale)}, e.g. "
                f"{_format_score(known[outside][0])}."
            )
        if bounded and scale.levels is not None:
            _check_gold_within_levels(known, scale)
        return scale
    low = min(scale.low, float(known.min()))
    high = max(scale.high, float(known.max()))
    widened = replace(scale, low=low, high=high)
    _check_representable(widened, scores)
    return widened


def _check_gold_within_levels(known, scale):
    """Refuse known scores beyond the outer levels, for a bounded form on levels.

    The outer cells reach half a step past the outer levels, but a bounded
    form's consensus lies between the levels: a known score beyond them would
    be clipped, not kept.

    Parameters
    ----------
    known : ndarray of shape (n_known,)
        The known gold scores, in score units, none NaN.
    scale : _ScoreScale
        A scale on levels.
    """
    first, last = scale.levels
    beyond = (known < first) | (known > last)
    if beyond.any():
        raise ValueError(
            f"gold has {int(beyond.sum())} value(s) beyond the outer levels "
            f"{_format_score(first)} and {_format_score(last)}, e.g. "
            f"{_format_score(known[beyond][0])}: a "
            "bounded form's consensus on levels lies between them. Give the "
            "known scores on the scale, or fit with levels=None."
        )


# long_to_matrix's default column names: a DataFrame with two of them is
# long-format ratings. Their synonyms (worker, subject, mos, label...) are not
# checked: real wide panels have annotators, or a reference score, so named.
_LONG_FORMAT_NAMES = ("item", "annotator", "score")


def _is_rating_matrix(value):
    """Whether ``value`` is a :class:`skem.RatingMatrix` (or one like it)."""
    return isinstance(value, tuple) and getattr(value, "_fields", ())[:1] == ("X",)


def _is_frame(X):
    """Whether ``X`` is a pandas DataFrame (without importing pandas)."""
    return hasattr(X, "columns") and hasattr(X, "index") and hasattr(X, "iloc")


def _check_rating_matrix(X):
    """Raise a ValueError if ``X`` is not a rating matrix, but looks like one.

    Four slips fail with errors about something else, or not at all:

    - a :class:`skem.RatingMatrix`, the named tuple of the matrix and its
      labels, which NumPy reads as a ragged array (an error about shapes);
    - a DataFrame of long-format ratings, one row per rating, with two of
      ``long_to_matrix``'s default columns (item, annotator, score): with
      numeric labels it would fit as three annotators;
    - a DataFrame with a column of labels: a column ``item`` (a pivot's
      index, after ``reset_index``) or a column holding text that is no
      number, which would fit as an annotator, or fail on a conversion to
      float;
    - dates or durations, which would fit as their ticks in whatever unit
      they are stored.
    """
    if sp.issparse(X):
        _check_sparse_structure(X)
        return
    if _is_rating_matrix(X):
        raise ValueError(
            f"X is a {type(X).__name__}: the ratings with the labels of their "
            "rows and columns, as long_to_matrix returns them. Pass the matrix "
            "itself, long_to_matrix(...).X, or unpack it first: X, items, "
            "annotators = long_to_matrix(...)."
        )
    dtypes = X.dtypes if _is_frame(X) else [getattr(X, "dtype", None)]
    timed = next((t for t in dtypes if getattr(t, "kind", None) in ("m", "M")), None)
    if timed is not None:
        raise ValueError(
            f"X holds dates or durations ({timed}), not ratings. Convert them "
            "to numbers on the rating scale first."
        )
    if not _is_frame(X):
        return
    columns = X.columns
    if columns.has_duplicates:
        repeated = columns[columns.duplicated()][0]
        raise ValueError(
            f"X has the column {repeated!r} more than once: each annotator's "
            "ratings need a column of their own, with a name of its own."
        )
    names = [str(c).strip().lower() for c in columns]
    found = [columns[names.index(n)] for n in _LONG_FORMAT_NAMES if n in names]
    convert = (
        "ratings in long format, one per row, convert with skem.long_to_matrix("
        "df, item=..., annotator=..., score=...)."
    )
    if len(found) >= 2:
        raise ValueError(
            "X looks like long-format ratings, one rating per row (its columns "
            f"include {', '.join(repr(c) for c in found)}), but the estimators "
            "take a rating matrix: one row per item, one column per annotator; "
            + convert
        )
    labels = (found[0], None, 0, 0) if names.count("item") else _first_text_column(X)
    if labels is None:
        return
    name, text, n_numbers, n_missing = labels
    if text is not None and (n_numbers > len(text) or (n_missing and n_numbers)):
        # Mostly numbers, or numbers with gaps: ratings with a slip, not a
        # column of labels (items are not left without one).
        first = f"{text.iloc[0]!r} in the row labelled {text.index[0]!r}"
        cells, them, first = (
            (f"{len(text)} cells", "them", f"the first {first}")
            if len(text) > 1
            else ("a cell", "it", first)
        )
        raise ValueError(
            f"X must hold ratings, numbers or NaN: its column {name!r} holds "
            f"{cells} of text among {n_numbers} number{'s' * (n_numbers != 1)}, "
            f"{first}. Correct "
            f"{them}, or make {them} NaN where there is no rating."
        )
    holds = "the item labels" if text is None else f"text, such as {text.iloc[0]!r}"
    raise ValueError(
        f"X must hold ratings, numbers or NaN, one column per annotator: its "
        f"column {name!r} holds {holds}. Item labels belong in the index "
        f"(X.set_index({name!r})); " + convert
    )


def _check_sparse_structure(X):
    """Raise a ValueError if a sparse matrix's arrays do not describe its shape.

    A matrix whose arrays were set by hand (``X.indices = ...``) can hold
    indices outside its shape, row pointers out of order, or more values
    than entries. SciPy's own routines do not check them: some then fail
    with an error about something else, some fit ratings that are not
    there, and some write outside their memory and crash the interpreter.
    The compressed formats (CSR, CSC) and COO are checked; LIL and DOK keep
    no such arrays. One pass over the indices, reading only. BSR and DIA are
    refused: their blocks or diagonals store zeros beside the ratings, which
    no one can tell from ratings of 0.
    """
    if X.format in _PADDED_FORMATS:
        raise ValueError(
            f"X is a sparse matrix in {X.format.upper()} format, whose "
            f"{_PADDED_FORMATS[X.format]} store zeros beside the ratings: they "
            "cannot be told from ratings of 0. Pass the ratings in CSR, CSC or "
            "COO format, which store the ratings alone."
        )
    if X.format in ("csr", "csc"):
        n_major, n_minor = X.shape if X.format != "csc" else X.shape[::-1]
        index_name = "column" if X.format != "csc" else "row"
        indptr, indices = np.asarray(X.indptr), np.asarray(X.indices)
        if indptr.shape != (n_major + 1,):
            _malformed(X, f"indptr holds {indptr.size} pointers, not {n_major + 1}")
        if indptr[0] != 0 or np.any(indptr[1:] < indptr[:-1]):
            _malformed(X, "its indptr does not rise from 0")
        n_stored = int(indptr[-1])
        for name, values in (("indices", indices), ("data", X.data)):
            if len(values) != n_stored:
                _malformed(
                    X,
                    f"{name} holds {len(values)} entries where indptr says {n_stored}",
                )
        _check_index_range(X, indices, index_name, n_minor)
    elif X.format == "coo":
        rows, cols = np.asarray(X.row), np.asarray(X.col)
        if not len(rows) == len(cols) == len(X.data):
            _malformed(
                X,
                f"row, col and data hold {len(rows)}, {len(cols)} and "
                f"{len(X.data)} entries",
            )
        _check_index_range(X, rows, "row", X.shape[0])
        _check_index_range(X, cols, "column", X.shape[1])


# Sparse formats that store zeros which are no entries, and what holds them.
_PADDED_FORMATS = {"bsr": "blocks", "dia": "diagonals"}


def _check_index_range(X, indices, name, n_allowed):
    if indices.size == 0:
        return
    lowest, highest = int(indices.min()), int(indices.max())
    if lowest < 0 or highest >= n_allowed:
        bad = lowest if lowest < 0 else highest
        _malformed(
            X,
            f"it stores a {name} index of {bad}, outside 0..{n_allowed - 1}",
        )


def _malformed(X, problem):
    raise ValueError(
        f"X is a malformed sparse matrix of shape {X.shape} ({X.format}): "
        f"{problem}. Build it with a SciPy constructor, such as "
        "scipy.sparse.csr_array((data, (rows, columns)), shape=...), rather "
        "than by setting its arrays."
    )


def _first_text_column(frame):
    """The first column of ``frame`` holding text that is no number.

    Ratings are numbers (or missing; numbers written as text convert): a
    column of other text is a column of labels, or of ratings with slips
    where most of it is numbers. Only object and string columns are looked
    at.

    Returns
    -------
    found : tuple or None
        The column's name, its cells of text (a Series indexed as ``frame``),
        its number of numeric cells and of missing ones; None if no column
        holds text.
    """
    import pandas as pd

    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind not in "OUS" and not isinstance(
            column.dtype, pd.StringDtype
        ):
            continue
        present = column[column.notna()]
        numeric = pd.to_numeric(present, errors="coerce").notna()
        if not numeric.all():
            n_missing = len(column) - len(present)
            return name, present[~numeric], int(numeric.sum()), n_missing
    return None


def _warn_unrated_items(consensus, where):
    """Warn how many items have no rating, hence a NaN consensus.

    Parameters
    ----------
    consensus : ndarray of shape (n_items,)
    where : str
        Names the data in the message.
    """
    n_unrated = int(np.count_nonzero(np.isnan(consensus)))
    if n_unrated:
        _warn_at_caller(
            f"{n_unrated} item(s) in {where} have no rating; their consensus is NaN.",
            UserWarning,
        )


# A sigma within this relative distance of min_sigma is at the floor.
_AT_FLOOR = 1e-6


def _warn_if_sigma_at_floor(name, run, form, scale):
    """Warn when the sigma of the annotators weighted as good ends at its floor.

    A likelihood that still rises as sigma shrinks has no maximum: a density
    rewards ratings that agree exactly without bound (the levels of a
    discrete scale read as exact scores with ``bounded=False``, or a
    Student-t on tied ratings), and EM stops only at ``min_sigma``. Such a
    fit's verdicts and intervals rest on the floor, not on the data.

    Parameters
    ----------
    name : str
        The estimator's class name, for the message.
    run : dict
        The kept run: its ``params`` and ``weights``, in unit space.
    form : _ModelForm
    scale : _ScoreScale
        Gives the floor in score units.
    """
    params = run["params"]
    floor = form.min_sigma * (1.0 + _AT_FLOOR)
    consistent = run["weights"] >= 0.5
    n_consistent = int(consistent.sum())
    n_at_floor = int(np.count_nonzero(consistent & (params.sigma <= floor)))
    if not (params.shared_sigma <= floor or 2 * n_at_floor > n_consistent):
        return
    # Their weight, not the verdict (which also asks for evidence): the fit's
    # good component is theirs.
    who = [f"{n_at_floor} of {n_consistent} annotators weighted as good"]
    if params.shared_sigma <= floor:
        who = ["the shared scale"] + (who if n_consistent else [])
    _warn_at_caller(
        f"{name}: sigma ended at its floor min_sigma="
        f"{form.min_sigma * scale.width:.3g} for {' and '.join(who)}: the "
        f"likelihood kept rising as sigma shrank, {_FLOOR_CAUSES[form.likelihood]}"
        " The verdicts and intervals rest on that floor, not on the data.",
        UserWarning,
    )


# Why a form's likelihood can rise without bound as sigma shrinks, and what
# to do about it, for the floor's warning.
_FLOOR_CAUSES = {
    "levels": (
        "as the probability of the levels does where the annotators agree "
        "exactly on every item they share. Items they see differently, or "
        "more annotators, would show how consistent they are."
    ),
    "truncated": (
        "as a density does on ratings that agree exactly. For ratings on the "
        "levels of a discrete scale, read them as levels (levels='auto', the "
        "default, or levels=[...])."
    ),
    "normal": (
        "as a density does on ratings that agree exactly (the levels of a "
        "discrete scale read as exact scores): for ratings on levels use the "
        "levels form (bounded=True, the default)."
    ),
    "student_t": (
        "as a density does on ratings that agree exactly (ties under a "
        "Student-t error): for ratings on levels use the levels form "
        "(bounded=True, the default, without a tail)."
    ),
}


def _check_computable(unit_scores, n_per_item, sigma, scores, scale):
    """Raise a ValueError if a new rating lies too far out for the consensus sums.

    Under ``score_range='auto'`` new ratings may lie beyond the fitted range,
    even astronomically far (1e300 on a range of width 1). But an item's
    consensus sums its ratings' positions times their precisions: beyond
    ``max_float / (4 n max_precision)`` such a sum can overflow, to a NaN or
    a wrong consensus. The positions are unit positions, the precisions the
    fitted annotators', ``n`` the most ratings of a new item.

    Parameters
    ----------
    unit_scores : ndarray of shape (n_ratings,)
    n_per_item : ndarray of shape (n_items,)
    sigma : ndarray of shape (n_annotators,)
        The fitted sigmas, in unit space.
    scores : ndarray of shape (n_ratings,)
        The new ratings, in score units.
    scale : _ScoreScale
        The fitted scale.
    """
    if unit_scores.size == 0:
        return
    largest = np.finfo(np.float64).max
    with np.errstate(over="ignore"):
        limit = largest / (4.0 * float(np.max(n_per_item)) * float(np.min(sigma)) ** -2)
    far = ~(np.abs(unit_scores) <= limit)
    if far.any():
        raise ValueError(
            f"X has {int(far.sum())} rating(s) too far from the fitted score "
            f"range {_range_pair(scale)} to compute a consensus with "
            f"in double precision, e.g. {float(scores[np.flatnonzero(far)[0]])!r}."
        )
