"""The score range: its resolution from the data, and the unit scale EM runs in.

EM runs on scores mapped affinely onto the unit interval, ``u = (s - low) /
(high - low)``. The fit is then invariant to affine changes of the scores, and
neither large offsets nor extreme magnitudes reach the likelihoods. With
``score_scale='log'`` the map is affine in the scores' logarithms, ``u = (log
s - log low) / (log high - log low)``: every form then models relative errors.
"""

from dataclasses import dataclass

import numpy as np

from skem._em.lattice import _MAX_LEVELS, _distinct_levels, _lattice_step, _on_lattice

# With score_range="auto" and all ratings equal to c, the range is c -/+ this
# fraction of |c| (of 1 if c == 0): relative, so it scales with the scores.
_CONSTANT_PADDING = 0.5


@dataclass(frozen=True)
class _ScoreScale:
    """The score range and the affine map between scores and unit scores.

    Attributes
    ----------
    low, high : float
        The score range, ``low < high``; it maps onto ``[0, 1]``.
    half_step : float
        Half the spacing of a discrete scale's levels (0 for a continuous
        scale), in score units: how far ``'auto'`` widens the range beyond the
        extreme ratings. With ``log``, in the units of the logarithms, on
        whose lattice it widened the range.
    levels : tuple of (float, float) or None
        The lowest and the highest level when the ratings are read as levels
        (the levels form, :mod:`skem._model.levels`), None when they are read
        as exact scores.
    log : bool
        Whether EM runs on the scores' logarithms (``score_scale='log'``):
        then ``0 < low``, and there are no levels.
    """

    low: float
    high: float
    half_step: float = 0.0
    levels: tuple = None
    log: bool = False

    @property
    def width(self):
        """The width of the range on EM's axis: of the scores, or of their logs.

        Unit sigmas and biases times the width are in these units: with
        ``log``, on the natural logarithm of the scores.
        """
        if self.log:
            return float(np.log(self.high) - np.log(self.low))
        return self.high - self.low

    @property
    def axis(self):
        """The scale as an affine one of EM's axis: of the logarithms, with ``log``."""
        if not self.log:
            return self
        return _ScoreScale(float(np.log(self.low)), float(np.log(self.high)))

    @property
    def unit_half_step(self):
        """The half-step of the ratings' cells in unit space; 0 off levels."""
        return self.half_step / self.width if self.levels is not None else 0.0

    @property
    def ends(self):
        """The ends of the scale a consensus lives on: outer levels, or the range."""
        return self.levels if self.levels is not None else (self.low, self.high)

    def level_values(self):
        """The levels, in score units, lowest first; None off levels."""
        if self.levels is None:
            return None
        first, last = self.levels
        n_levels = int(round((last - first) / (2.0 * self.half_step))) + 1
        return np.linspace(first, last, n_levels)

    def to_unit(self, scores):
        # One new array, not two: (scores - low) / width, divided in place.
        if self.log:
            unit = np.log(scores)
            unit -= np.log(self.low)
        else:
            unit = np.subtract(scores, self.low)
        unit /= self.width
        return unit

    def from_unit(self, unit_scores):
        # From the nearer end: 0 and 1 are low and high exactly, and no unit
        # score in [0, 1] leaves [low, high] by rounding (low + width need
        # not be high).
        unit_scores = np.asarray(unit_scores, dtype=np.float64)
        axis = self.axis
        scores = np.where(
            unit_scores <= 0.5,
            axis.low + self.width * unit_scores,
            axis.high - self.width * (1.0 - unit_scores),
        )
        if self.log:
            # exp(log(low)) need not be low: the ends stay exact, and [0, 1]
            # within them.
            scores = np.exp(scores)
            inside = (unit_scores >= 0.0) & (unit_scores <= 1.0)
            scores = np.where(inside, np.clip(scores, self.low, self.high), scores)
            scores[unit_scores == 0.0] = self.low
            scores[unit_scores == 1.0] = self.high
        return float(scores) if scores.ndim == 0 else scores

    def consensus_from_unit(self, unit_consensus, bounded):
        """A consensus in score units, a bounded form's rounded onto ``ends``.

        A bounded consensus lies within the scale's unit ends, but an outer
        level's unit value need not map back to the level exactly: one unit
        in the last place below it, the consensus left the scale and its own
        interval. Within 1e-12 of the width, or four units in the last place
        of the end (a scale far from 0, 1e9 + 1e-4 to 1e9 + 5e-4, rounds by
        more than that), beyond an end it is put on the end; further out (new
        ratings beyond a training range that 'auto' extended) it is kept.
        """
        consensus = self.from_unit(unit_consensus)
        if not bounded:
            return consensus
        on_scale = np.clip(consensus, *self.ends)
        rounding = 4.0 * np.max(np.spacing(np.abs(np.asarray(self.ends, float))))
        tolerance = max(1e-12 * self.width, rounding)
        if self.log:
            # On the logarithms the tolerance is relative to the end crossed:
            # four units in the last place of the high end can be far more
            # than the low end itself.
            end = np.where(consensus < self.low, self.low, self.high)
            tolerance = np.maximum(1e-12 * self.width * end, 4.0 * np.spacing(end))
        return np.where(np.abs(on_scale - consensus) <= tolerance, on_scale, consensus)


def _resolve_score_range(score_range, scores, levels=None):
    """The ``(low, high)`` support of a bad annotator's uniform ratings.

    With ``'auto'``, the range is the hull of the ratings, widened by half a
    step on each side when the ratings lie on evenly spaced levels (integers
    1..5, 0..100, or any lattice): each level then stands for the interval
    around it, as a rounded continuous rating would. The step is found from
    the data, so the rule is invariant to affine changes of the scores.

    With ``levels='auto'`` the ratings on such a lattice are also read as
    levels (the scale's ``levels``). An explicit range then names the scale's
    outer levels, ``(1, 5)`` for ratings 1..5, or the ends of their cells,
    ``(0.5, 5.5)``: both give the scale of ``'auto'`` on ratings that use
    every level. A range whose ends are neither leaves the ratings exact.
    Explicit ``levels`` fix the scale themselves.

    Parameters
    ----------
    score_range : "auto" or array-like of two floats
        The ``score_range`` parameter.
    scores : ndarray of shape (n_ratings,)
        Observed training ratings, at least one, all finite (or their
        distinct values).
    levels : 'auto', None or array-like, default=None
        The ``levels`` parameter (None for the forms that read no levels).

    Returns
    -------
    scale : _ScoreScale

    Raises
    ------
    ValueError
        If an explicit range is not two finite numbers with ``low < high``, if
        a rating lies outside it, or if the range is too wide or too narrow
        to be represented; if explicit levels are not evenly spaced, come
        with an explicit range, or miss a rating.
    """
    if levels is not None and not isinstance(levels, str):
        scale = _scale_of_levels(levels, score_range, scores)
    elif isinstance(score_range, str):
        low, high = float(scores.min()), float(scores.max())
        if low == high:
            pad = _CONSTANT_PADDING * (abs(low) if low != 0 else 1.0)
            scale = _ScoreScale(low - pad, high + pad)
        else:
            half_step = 0.5 * _lattice_step(scores)
            scale = _ScoreScale(
                low - half_step,
                high + half_step,
                half_step,
                (low, high) if levels == "auto" and half_step > 0 else None,
            )
    else:
        bounds = _as_two_floats(score_range)
        if bounds is None or not bounds[0] < bounds[1]:
            raise ValueError(
                "score_range must be 'auto' or two finite numbers (low, high) "
                f"with low < high; got {score_range!r}."
            )
        scale = _ScoreScale(*bounds)
        if levels == "auto":
            scale = _stated_levels(scale, scores)
    _check_representable(scale, scores)
    return scale


def _sum_log_scores(block, scale):
    """Kernel: the sum of the logarithms of a block's ratings, in score units.

    On ``score_scale='log'`` a rating's density in score units is its unit
    density over ``width * s``: this sum turns a fit's objective into one of
    the scores.

    Parameters
    ----------
    block : _Block
        Its ratings in unit space.
    scale : _ScoreScale

    Returns
    -------
    block : _Block
        Unchanged.
    outputs : dict
        ``log_score_sum``.
    """
    scores = scale.from_unit(block.ratings.score)
    return block, {"log_score_sum": float(np.sum(np.log(scores)))}


def _check_positive(scores, where="X", what="rating"):
    """Raise a ValueError if a rating is not positive, for ``score_scale='log'``.

    Parameters
    ----------
    scores : ndarray of shape (n_ratings,)
        Ratings (or their distinct values).
    where : str, default="X"
        The ratings' name, for the message.
    what : str, default="rating"
        What ``scores`` are, for the message: "distinct value" for those.
    """
    not_positive = ~(scores > 0)
    if not_positive.any():
        raise ValueError(
            "score_scale='log' fits the logarithms of the ratings, which must "
            f"be positive: {where} has {int(not_positive.sum())} {what}(s) that "
            f"are not, e.g. {_format_score(scores[np.flatnonzero(not_positive)[0]])}."
            " Shift counts that can be 0 (X + 1), or use score_scale='linear'."
        )


def _resolve_log_score_range(score_range, scores):
    """The scale of ``score_scale='log'``: the range of positive scores, on their logs.

    ``'auto'`` resolves on the logarithms as :func:`_resolve_score_range`
    does on the scores (the hull; widened by half a step where the logs lie
    on a lattice, 1, 2, 4, 8, ...; around a constant by half of its log or
    of 1) and maps the ends back. An explicit range is kept as stated. No
    levels: a scale's levels are evenly spaced in the scores.

    Parameters
    ----------
    score_range : "auto" or array-like of two floats
        The ``score_range`` parameter.
    scores : ndarray of shape (n_ratings,)
        Observed training ratings (or their distinct values), at least one,
        all finite.

    Returns
    -------
    scale : _ScoreScale
        With ``log=True``.

    Raises
    ------
    ValueError
        If a rating is not positive, or an explicit range is not two finite
        numbers with ``0 < low < high``.
    """
    _check_positive(scores)
    logs = np.log(scores)
    if isinstance(score_range, str):
        on_logs = _resolve_score_range(score_range, logs)
        # The extreme ratings themselves where the hull is not widened:
        # exp(log(7722)) is 7721.999999999998.
        low, high = float(np.exp(on_logs.low)), float(np.exp(on_logs.high))
        if on_logs.low == logs.min():
            low = float(scores.min())
        if on_logs.high == logs.max():
            high = float(scores.max())
        half_step = on_logs.half_step
    else:
        bounds = _as_two_floats(score_range)
        if bounds is None or not 0 < bounds[0] < bounds[1]:
            raise ValueError(
                "With score_scale='log', score_range must be 'auto' or two "
                f"finite numbers (low, high) with 0 < low < high; got "
                f"score_range={score_range!r}."
            )
        low, high = bounds
        half_step = 0.0
    scale = _ScoreScale(low, high, half_step, log=True)
    _check_representable(scale, scores)
    return scale


def _stated_levels(scale, scores):
    """The scale of an explicit range whose ends are levels of the ratings' lattice.

    In this order, the first reading whose levels the ends fit:

    1. the ends of the outer cells of the ratings' own spacing: ``(-5,
       105)`` for ratings 0, 10, ..., 100, and ``(0.5, 5.5)`` for 1..5;
    2. for whole-number ratings, the whole numbers, the ends as the outer
       levels or the ends of their cells: ratings 1, 3 and 5 on a stated
       ``(1, 5)`` are three of its five levels, which ``(0.5, 5.5)`` and
       ``levels=[1, 2, 3, 4, 5]`` state too, and ratings in tens on ``(0,
       100)`` are on a scale of 101 levels;
    3. the ends as the outer levels of the ratings' own spacing: ``(0,
       8000)`` for ratings 0, 2000, ..., 8000, whose whole numbers would be
       too many levels.

    Parameters
    ----------
    scale : _ScoreScale
        The stated range, off levels.
    scores : ndarray of shape (n_ratings,)

    Returns
    -------
    scale : _ScoreScale
        The stated range's ends as the outer levels (their cells beyond),
        or as the ends of the outer cells; ``scale`` itself if the ratings
        are not on a lattice or the ends are neither.
    """
    levels = _distinct_levels(scores)
    if levels is None:
        return scale
    own = _lattice_step(levels) if levels.shape[0] >= 2 else 0.0
    lowest = float(levels[0])
    readings = [(own, True)]
    # Whole-number ratings on a stated scale are its whole-number levels
    # (ACR 1..5, a Likert item), even where the raters used only some of them.
    if _all_whole(levels):
        readings += [(1.0, False), (1.0, True)]
    readings.append((own, False))
    ends = np.array([scale.low, scale.high])
    for step, cell_ends in readings:
        if step == 0:
            continue
        half = 0.5 * step
        origin, first, last = lowest, scale.low, scale.high
        if cell_ends:
            origin, first, last = lowest + half, first + half, last - half
        if 0.5 <= (last - first) / step < _MAX_LEVELS and np.all(
            _on_lattice(ends, origin, step)
        ):
            return _ScoreScale(first - half, last + half, half, (first, last))
    return scale


def _all_whole(levels):
    """Whether distinct values are whole numbers, to their rounding.

    Several values within rounding of one whole number (1e-300 and 2e-300,
    both near 0) are not: they are levels of a finer lattice.

    Parameters
    ----------
    levels : ndarray of shape (n_levels,)
        Distinct values, lowest first.

    Returns
    -------
    whole : bool
    """
    if not np.all(np.isfinite(levels)) or np.max(np.abs(levels)) >= 2.0**52:
        return False
    spans_two = levels.shape[0] == 1 or np.round(levels[-1]) > np.round(levels[0])
    return bool(spans_two and np.all(_on_lattice(levels, 0.0, 1.0)))


def _scale_of_levels(levels, score_range, scores):
    """The scale of explicit ``levels``: evenly spaced, every rating on one."""
    values = _as_levels(levels)
    if not isinstance(score_range, str):
        raise ValueError(
            "Give the scale once: with explicit levels, leave score_range='auto' "
            f"(the levels span ({_format_score(values[0])}, "
            f"{_format_score(values[-1])})); got "
            f"score_range={score_range!r}."
        )
    _check_among_levels(scores, values)
    half = 0.5 * float(values[1] - values[0])
    return _ScoreScale(
        float(values[0]) - half,
        float(values[-1]) + half,
        half,
        (float(values[0]), float(values[-1])),
    )


def _check_among_levels(scores, values):
    """Raise a ValueError naming the problem if a score is not one of the levels.

    Parameters
    ----------
    scores : ndarray
        Ratings, in score units.
    values : ndarray
        The levels, evenly spaced, lowest first.
    """
    if scores.size == 0:
        return
    step = float(values[1] - values[0])
    off = (
        ~_on_lattice(scores, values[0], step)
        | (scores < values[0])
        | (scores > values[-1])
    )
    if off.any():
        raise ValueError(
            f"{int(off.sum())} rating(s) are not among the levels "
            f"({_format_score(values[0])} to {_format_score(values[-1])} in steps "
            f"of {step:.6g}), e.g. "
            f"{float(scores[off][0])!r}. Give levels that hold every rating, "
            "or levels=None for exact scores."
        )


def _as_levels(levels):
    """Explicit levels as floats, checked: at least two, evenly spaced; sorted."""
    try:
        values = np.asarray(levels, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if (
        values is None
        or values.ndim != 1
        or values.shape[0] < 2
        or not np.all(np.isfinite(values))
        or values.shape[0] > _MAX_LEVELS
    ):
        raise ValueError(
            "levels must be 'auto', None, or at least two (at most "
            f"{_MAX_LEVELS}) finite, evenly spaced values, in any order; got "
            f"{levels!r}."
        )
    values = np.sort(values)
    gaps = np.diff(values)
    if (
        not np.all(gaps > 0)
        or _lattice_step(values) != float(gaps.min())
        or ((values[-1] - values[0]) / gaps.min() > values.shape[0] - 0.5)
    ):
        raise ValueError(
            "levels must be evenly spaced, each value once (for example "
            f"[1, 2, 3, 4, 5]); got {levels!r}."
        )
    return values


def _as_two_floats(value):
    try:
        bounds = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    # Two numbers, not [[0, 1]]: a nested pair is some other mistake.
    if bounds.shape != (2,) or not np.all(np.isfinite(bounds)):
        return None
    return float(bounds[0]), float(bounds[1])


def _check_representable(scale, scores=None):
    """Raise a ValueError if the scale does not fit in doubles, or loses the ratings.

    A rating's position on the scale, ``(s - low) / width``, rounds ``s -
    low`` to about ``eps |s - low|``, ``eps = 2.2e-16``. When the low end
    lies far below the ratings (at -1e17, stated, or under 'auto' from one
    wrong rating or gold score), ratings 1 to 5 fall on the same few doubles,
    and every consensus onto one of them. So the spread of the central 80%
    of the first ``scores`` must exceed that rounding (at the farther of the
    two quantiles) ``1 / _SPACING_RESOLUTION`` times, unless that spread is
    itself within ``_OWN_ROUNDING`` units in the last place of the ratings
    (a cluster that only rounding spreads, which no scale loses). A high end
    far above the ratings costs no precision: their positions are tiny
    numbers.

    Parameters
    ----------
    scale : _ScoreScale
    scores : ndarray of shape (n_ratings,), default=None
        The ratings (or their distinct values), if known.
    """
    words = _range_pair(scale)
    if scale.log:
        # The same test on EM's axis, the logarithms.
        scale = scale.axis
        scores = None if scores is None else np.log(scores)
    width = scale.width
    # In numpy: Python's float division raises ZeroDivisionError for a width
    # of 0 (5e-324 - 5e-324), numpy's gives inf.
    with np.errstate(divide="ignore", over="ignore"):
        inverse = np.divide(1.0, width)
    if not np.isfinite(width) or not np.isfinite(inverse) or width <= 0:
        raise ValueError(
            f"The score range {words} is too "
            f"{'wide' if not np.isfinite(width) else 'narrow'} to fit in double "
            "precision. Rescale the scores."
        )
    if scores is None:
        return
    sample = scores[:_SPACING_SAMPLE]
    if sample.size < 2:
        return
    eps = np.finfo(np.float64).eps
    lower, upper = np.quantile(sample, [0.1, 0.9])
    spread = float(upper - lower) or float(np.max(sample) - np.min(sample))
    rounding = eps * max(abs(lower - scale.low), abs(upper - scale.low))
    # A spread within a million units in the last place of the ratings is
    # their own rounding, which no scale loses.
    own = _OWN_ROUNDING * eps * max(abs(lower), abs(upper))
    if rounding <= _SPACING_RESOLUTION * spread or spread <= own:
        return
    raise ValueError(
        f"The score range {words} reaches too far "
        f"below the ratings: in double precision their positions on it are "
        f"known to about {rounding:.2g}, and most lie within {spread:.2g}, "
        "so the fit could not tell them apart. Raise the low end of "
        "score_range; with 'auto' it is the lowest rating (or gold score): "
        "check it for a wrong value."
    )


# The ratings whose spread the scale must resolve: the first ones (a
# partition of a few, not of all); how finely: the scale's rounding at most
# this fraction of their spread; and the spread, in units in the last place
# of the ratings, below which it is their own rounding.
_SPACING_SAMPLE = 1024
_SPACING_RESOLUTION = 1e-3
_OWN_ROUNDING = 1e6


def _format_score(value):
    """A score in words: as ``:g`` writes it where that is exact, else with
    every digit it needs (``37.860005``, not ``37.86``, beside ``37.86``)."""
    value = float(value)
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def _range_pair(scale):
    """The ends of ``scale``, ``(low, high)``, in words."""
    return f"({_format_score(scale.low)}, {_format_score(scale.high)})"


def _range_words(scale):
    """The range that a rating, a gold score or a new rating must lie in, in words."""
    if scale.levels is None:
        return f"score_range={_range_pair(scale)}"
    return (
        f"score_range: the cells of the levels {_format_score(scale.levels[0])} "
        f"to {_format_score(scale.levels[1])} reach {_range_pair(scale)}"
    )


def _check_ratings_in_range(ratings, scale):
    """Raise a ValueError naming the problem if a rating is outside the range.

    Parameters
    ----------
    ratings : _Ratings
        Observed ratings, in score units.
    scale : _ScoreScale
        The score range.
    """
    outside = (ratings.score < scale.low) | (ratings.score > scale.high)
    if outside.any():
        first = np.flatnonzero(outside)[0]
        raise ValueError(
            f"X has {int(outside.sum())} rating(s) outside {_range_words(scale)}, "
            f"e.g. {float(ratings.score[first])!r} "
            f"in row {int(ratings.item[first])}, column "
            f"{int(ratings.annotator[first])}. Widen score_range or use "
            "score_range='auto'."
        )
