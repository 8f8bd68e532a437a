"""Whether ratings lie on evenly spaced levels, and the spacing of those levels.

A discrete scale (ACR 1..5, a Likert item, scores in tenths) shows in the
ratings as a lattice: every score ``origin + k * step`` for a whole ``k``, up
to the rounding of how it was stored. The score range reads the step from
here, in a few linear passes over the ratings where that is enough.
"""

import numpy as np

# At most this many evenly spaced levels make a discrete scale.
_MAX_LEVELS = 1001
# Ratings whose distinct values _distinct_levels counts before it sorts all.
_DISTINCT_HEAD = 16 * _MAX_LEVELS
# Scores per chunk of _all_among: a few arrays of this size fit in cache.
_AMONG_CHUNK = 32_768

# Relative tolerance for "lies on the lattice of levels": ratings typed with
# a few digits fewer than doubles hold (0.3333333333 for 1/3) still count.
_LATTICE_RTOL = 1e-9

# The rounding of a stored score, in units of eps times the largest |score|:
# a * s + b rounds twice, and the gaps and the step inherit both roundings.
_LATTICE_ROUNDING = 8.0

# A tolerance above this fraction of a step could not tell the levels apart.
_LATTICE_MAX_TOLERANCE = 0.1


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
    levels = _distinct_levels(scores)
    if levels is None:
        return 0.0
    with np.errstate(over="ignore"):
        span = float(levels[-1] - levels[0])
        if not np.isfinite(span):
            return 0.0  # the range itself is refused as too wide
        step = float(np.min(np.diff(levels)))
    # span / step is the number of levels less one, up to rounding (and
    # infinite for a step that underflows).
    if not span / step < _MAX_LEVELS - 0.5:
        return 0.0
    return step if np.all(_on_lattice(levels, levels[0], step)) else 0.0


def _distinct_levels(scores):
    """The distinct scores, lowest first, or None if there are more than levels.

    Continuous ratings have as many distinct values as ratings, and sorting
    them all is the costliest step of a fit's setup. The first ratings alone
    usually hold more than ``_MAX_LEVELS`` distinct values, which rules a
    lattice out without that sort; the answer is the same as from all.

    Parameters
    ----------
    scores : ndarray of shape (n_ratings,)

    Returns
    -------
    levels : ndarray or None
        ``np.unique(scores)`` if it has at most ``_MAX_LEVELS`` values.
    """
    if scores.shape[0] > _DISTINCT_HEAD:
        head = np.unique(scores[:_DISTINCT_HEAD])
        if head.shape[0] > _MAX_LEVELS:
            return None
        if _all_among(scores, head):
            return head
    levels = np.unique(scores)
    return levels if levels.shape[0] <= _MAX_LEVELS else None


def _all_among(scores, values):
    """Whether every score is one of ``values``, in a few linear passes.

    Each value gets its own slot in a table, at its rounded number of steps
    from the lowest: a score is among the values exactly when the slot it
    falls in holds it. Values too unevenly spaced to get a slot each answer
    False, and so does a score beyond them.

    A score and a value take their slots by the same arithmetic, so a score
    equal to a value falls in that value's slot, and only the comparison
    with the slot's value says True.

    Parameters
    ----------
    scores : ndarray of shape (n_ratings,)
        Finite, as validated ratings are.
    values : ndarray of shape (n_values,)
        Distinct, lowest first.

    Returns
    -------
    bool
    """
    if values.shape[0] < 2:
        return bool(np.all(scores == values[0]))
    origin, top = float(values[0]), float(values[-1])
    with np.errstate(over="ignore"):  # a span beyond doubles: no slots
        step = float(np.min(np.diff(values)))
    n_slots = (top - origin) / step + 1.5
    if not n_slots <= 2 * _MAX_LEVELS:
        return False
    inverse = 1.0 / step
    if inverse == np.inf:  # a subnormal step: no slots by a product
        return bool(np.isin(scores, values).all())
    slots = _slots_of(values, origin, inverse)
    if np.unique(slots).shape[0] < values.shape[0]:
        return False
    table = np.full(slots[-1] + 1, np.nan)
    table[slots] = values
    position = np.empty(min(_AMONG_CHUNK, scores.shape[0]))
    # A chunk at a time, so that the passes over each chunk stay in cache.
    for first in range(0, scores.shape[0], _AMONG_CHUNK):
        chunk = scores[first : first + _AMONG_CHUNK]
        # Within the values' ends every slot falls in the table, and no
        # position is cast from a float beyond the integers.
        if not (chunk.min() >= origin and chunk.max() <= top):
            return False
        slot = _slots_of(chunk, origin, inverse, out=position[: chunk.shape[0]])
        if not np.array_equal(table.take(slot, mode="clip"), chunk):
            return False
    return True


def _slots_of(x, origin, inverse, out=None):
    """The slot of each of ``x`` (none below ``origin``): the nearest whole
    number of steps from ``origin``, with ``inverse`` one over the step.

    Half a step added, the cast's truncation rounds to the nearest.
    """
    position = np.subtract(x, origin, out=out)
    position *= inverse
    position += 0.5
    return position.astype(np.intp)


def _on_lattice(values, origin, step):
    """Whether each value is ``origin + k * step`` for a whole ``k``, to rounding.

    See :func:`_lattice_step`: ``k`` may be off a whole number by the larger of
    ``_LATTICE_RTOL * k`` and the rounding of numbers of the values'
    magnitude in units of the step, at most ``_LATTICE_MAX_TOLERANCE``.

    Parameters
    ----------
    values : ndarray
    origin, step : float

    Returns
    -------
    on_lattice : ndarray of bool, the shape of ``values``
    """
    # A step below the values' resolution (levels 1e-300 apart) overflows k:
    # an infinite k is off the lattice (inf - inf is NaN, which fails <=).
    with np.errstate(over="ignore", invalid="ignore"):
        k = (values - origin) / step
        magnitude = max(float(np.max(np.abs(values))), abs(float(origin)))
        rounding = _LATTICE_ROUNDING * np.finfo(np.float64).eps * (magnitude / step)
        k_abs = np.abs(k)
        tolerance = np.maximum(
            _LATTICE_RTOL * np.maximum(k_abs, 1.0), rounding * (1.0 + k_abs)
        )
        off = np.abs(k - np.round(k))
    return off <= np.minimum(tolerance, _LATTICE_MAX_TOLERANCE)
