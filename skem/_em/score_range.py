"""The score range: its resolution from the data, and the unit scale EM runs in.

EM runs on scores mapped affinely onto the unit interval, ``u = (s - low) /
(high - low)``. The fit is then invariant to affine changes of the scores, and
neither large offsets nor extreme magnitudes reach the likelihoods.
"""

from dataclasses import dataclass

import numpy as np

# With score_range="auto" and all ratings equal to c, the range is c -/+ this
# fraction of |c| (of 1 if c == 0): relative, so it scales with the scores.
_CONSTANT_PADDING = 0.5

# At most this many evenly spaced levels make a discrete scale.
_MAX_LEVELS = 1001

# Relative tolerance for "lies on the lattice of levels": ratings typed with
# a few digits fewer than doubles hold (0.3333333333 for 1/3) still count.
_LATTICE_RTOL = 1e-9

# The rounding of a stored score, in units of eps times the largest |score|:
# a * s + b rounds twice, and the gaps and the step inherit both roundings.
_LATTICE_ROUNDING = 8.0

# A tolerance above this fraction of a step could not tell the levels apart.
_LATTICE_MAX_TOLERANCE = 0.1


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
        extreme ratings.
    """

    low: float
    high: float
    half_step: float = 0.0

    @property
    def width(self):
        return self.high - self.low

    def to_unit(self, scores):
        return (scores - self.low) / self.width

    def from_unit(self, unit_scores):
        return self.low + self.width * unit_scores


def _resolve_score_range(score_range, scores):
    """The ``(low, high)`` support of a bad annotator's uniform ratings.

    With ``'auto'``, the range is the hull of the ratings, widened by half a
    step on each side when the ratings lie on evenly spaced levels (integers
    1..5, 0..100, or any lattice): each level then stands for the interval
    around it, as a rounded continuous rating would. The step is found from
    the data, so the rule is invariant to affine changes of the scores.

    Parameters
    ----------
    score_range : "auto" or array-like of two floats
        The ``score_range`` parameter.
    scores : ndarray of shape (n_ratings,)
        Observed training ratings, at least one, all finite.

    Returns
    -------
    scale : _ScoreScale

    Raises
    ------
    ValueError
        If an explicit range is not two finite numbers with ``low < high``, if
        a rating lies outside it, or if the range is too wide or too narrow
        to be represented.
    """
    if isinstance(score_range, str):
        low, high = float(scores.min()), float(scores.max())
        if low == high:
            pad = _CONSTANT_PADDING * (abs(low) if low != 0 else 1.0)
            scale = _ScoreScale(low - pad, high + pad)
        else:
            half_step = 0.5 * _lattice_step(scores)
            scale = _ScoreScale(low - half_step, high + half_step, half_step)
    else:
        bounds = _as_two_floats(score_range)
        if bounds is None or not bounds[0] < bounds[1]:
            raise ValueError(
                "score_range must be 'auto' or two finite numbers (low, high) "
                f"with low < high; got {score_range!r}."
            )
        scale = _ScoreScale(*bounds)
    _check_representable(scale)
    return scale


def _lattice_step(scores):
    """Spacing of the levels that the scores lie on, or 0 if they do not.

    Parameters
    ----------
    scores : ndarray of shape (n_ratings,)
        At least two distinct finite values.

    Returns
    -------
    step : float
        The smallest gap between distinct scores if every score is ``low + k
        * step`` for an integer ``k`` (to the tolerance below) and there are
        at most ``_MAX_LEVELS`` levels; else 0.

    Notes
    -----
    Scores ``a * s + b`` of integer levels ``s`` are stored with a rounding
    error of about ``eps * M``, ``M`` the largest ``|score|``; the gaps and
    the step inherit it, so ``k = gap / step`` is off by up to about ``eps *
    (M / step) * (1 + k)``, which is far more than a fixed relative
    tolerance when the offset dwarfs the step (``1e-6 * s + 37.86``). The
    tolerance is the larger of ``_LATTICE_RTOL * k`` and ``_LATTICE_ROUNDING``
    times that error, so the rule depends on ``a`` and ``b`` only through the
    rounding; the result is the same for every affine map that keeps the
    step above about 1e-10 of ``M`` (beyond, the tolerance reaches
    ``_LATTICE_MAX_TOLERANCE`` and the levels are not told apart).
    """
    levels = np.unique(scores)
    if levels.shape[0] > _MAX_LEVELS:
        return 0.0
    with np.errstate(over="ignore"):
        span = float(levels[-1] - levels[0])
        if not np.isfinite(span):
            return 0.0  # the range itself is refused as too wide
        step = float(np.min(np.diff(levels)))
    if span / step > _MAX_LEVELS:
        return 0.0
    k = (levels - levels[0]) / step
    magnitude = max(abs(float(levels[0])), abs(float(levels[-1])))
    rounding = _LATTICE_ROUNDING * np.finfo(np.float64).eps * (magnitude / step)
    tolerance = np.maximum(_LATTICE_RTOL * np.maximum(k, 1.0), rounding * (1.0 + k))
    if np.all(np.abs(k - np.round(k)) <= np.minimum(tolerance, _LATTICE_MAX_TOLERANCE)):
        return step
    return 0.0


def _as_two_floats(value):
    try:
        bounds = np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    if bounds.shape != (2,) or not np.all(np.isfinite(bounds)):
        return None
    return float(bounds[0]), float(bounds[1])


def _check_representable(scale):
    width = scale.width
    if not np.isfinite(width) or not np.isfinite(1.0 / width) or width <= 0:
        raise ValueError(
            f"The score range ({scale.low:g}, {scale.high:g}) is too "
            f"{'wide' if not np.isfinite(width) else 'narrow'} to fit in double "
            "precision. Rescale the scores."
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
            f"X has {int(outside.sum())} rating(s) outside score_range="
            f"({scale.low:g}, {scale.high:g}), e.g. {float(ratings.score[first]):g} "
            f"in row {int(ratings.item[first])}, column "
            f"{int(ratings.annotator[first])}. Widen score_range or use "
            "score_range='auto'."
        )
