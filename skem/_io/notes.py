"""Notes on what a fit assumed: heavy tails, errors that grow with the score,
raters who are neither careful nor random, verdicts from few raters, and
verdicts from yes/no labels.

The command's summary and the report page add them where the ratings show
errors that another form fits better (a Student-t, or the logarithmic scale),
raters who gave every item the same score, random verdicts on items with
few raters each, or verdicts on a scale of two levels.
"""

import math

import numpy as np

from skem._io.evidence import MIN_SAME_RATINGS, SAME_SPAN
from skem._io.verdicts import FAR_SIGMAS
from skem._io.words import number

# The heavy-tail note needs at least this many far ratings, and this many
# times what a normal error expects.
MIN_FAR_RATINGS = 5
HEAVY_TAIL_FACTOR = 10
# Errors that grow with the score at least as this power of it (midway between
# errors of one size, 0, and in proportion, 1), and GROWTH_STD_ERRORS of its
# standard errors above 0, point to the logarithmic scale; not on a scale of
# at most SCALE_LEVELS levels, where a floor's cut spreads can grow as much.
RELATIVE_FROM = 0.5
GROWTH_STD_ERRORS = 3.0
SCALE_LEVELS = 11
# Where someone is called random and the median item has at most this many
# ratings: each item's location follows its few ratings, so the fitted sigma
# falls about sqrt((n - 1) / n) below the raters' noise (11% or more), and the
# honest raters with the largest errors can look random (the benchmarks'
# "Hard judgments with few raters per item").
FEW_RATERS = 5


def _heavy_tail_words(far, n_ratings, consistent, alternative):
    """Say so when the consistent annotators' errors have heavy tails.

    Parameters
    ----------
    far : ndarray of shape (n_annotators,)
        Each annotator's ratings far from the location (``_Evidence.far``).
    n_ratings : ndarray of shape (n_annotators,)
    consistent : ndarray of shape (n_annotators,) of bool
        The annotators whose verdict is "consistent".
    alternative : str
        How to fit a heavy-tailed error, for example ``"--no-bounded --tail
        auto"``.

    Returns
    -------
    words : str
        "" unless at least ``MIN_FAR_RATINGS`` of the consistent annotators'
        ratings are far, and at least ``HEAVY_TAIL_FACTOR`` times as many as
        the normal error expects.
    """
    far_fraction = math.erfc(FAR_SIGMAS / math.sqrt(2.0))
    observed = int(np.sum(np.asarray(far)[consistent]))
    expected = far_fraction * float(np.sum(np.asarray(n_ratings)[consistent]))
    if observed < MIN_FAR_RATINGS or observed < HEAVY_TAIL_FACTOR * expected:
        return ""
    return (
        f"Heavy tails: {observed:,} ratings of consistent annotators lie more "
        f"than {FAR_SIGMAS:g} sigma from the consensus, where a normal error "
        f"would put about {number(expected, 2)}. For counts and other "
        f"heavy-tailed scores, compare a fit with a Student-t error whose "
        f"tail the ratings choose: {alternative}."
    )


def _heavy_tail_note(estimator, evidence, verdicts, command):
    """The heavy-tail note of a fit, for the command or for Python; or "".

    Only for exact scores with the normal error: on levels a far rating is a
    whole level off, and a fit with ``tail`` has the Student-t already.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
    evidence : skem._io.evidence._Evidence
    verdicts : ndarray of shape (n_annotators,) of str
    command : bool
        Name the command's options, or the estimator's parameters (and the
        command's).

    Returns
    -------
    words : str
        See :func:`_heavy_tail_words`.
    """
    if estimator.levels_ is not None or estimator.tail is not None:
        return ""
    log = _relative_errors(evidence)
    options = (
        ("--score-scale log " if log else "")
        + ("--no-bounded " if estimator.bounded else "")
        + "--tail auto"
    )
    alternative = (
        options
        if command
        else ("score_scale='log', " if log else "")
        + ("bounded=False, " if estimator.bounded else "")
        + f"tail='auto' (the command's {options})"
    )
    return _heavy_tail_words(
        evidence.far,
        evidence.per_annotator,
        np.asarray(verdicts) == "consistent",
        alternative,
    )


def _relative_errors(evidence):
    """Whether the deviations grow with the score as relative errors do.

    Parameters
    ----------
    evidence : skem._io.evidence._Evidence

    Returns
    -------
    relative : bool
        Whether the power of the growth (``evidence.growth``) is at least
        ``RELATIVE_FROM`` and ``GROWTH_STD_ERRORS`` standard errors above 0.
    """
    if evidence.growth is None:
        return False
    power, std_error = evidence.growth
    return bool(power >= RELATIVE_FROM and power > GROWTH_STD_ERRORS * std_error)


def _relative_error_note(estimator, evidence, command):
    """The note on errors that grow with the score, for the command or Python; or "".

    Only for fits on the linear scale of positive scores (the evidence
    measures no growth otherwise), and not on a rating scale of at most
    ``SCALE_LEVELS`` levels.

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
    evidence : skem._io.evidence._Evidence
    command : bool
        Name the command's option, or the estimator's parameter (and the
        command's).

    Returns
    -------
    words : str
    """
    levels = estimator.levels_
    if levels is not None and len(levels) <= SCALE_LEVELS:
        return ""
    if not _relative_errors(evidence):
        return ""
    option = "--score-scale log"
    alternative = option if command else f"score_scale='log' (the command's {option})"
    return (
        "Relative errors: the ratings' deviations from the consensus grow with "
        f"it, roughly as its power {evidence.growth[0]:.2f} (0 for errors of "
        "one size at every score, 1 for errors in proportion to it, as when "
        "people guess counts). Compare a fit on the logarithms of the scores, "
        f"where such errors are of one size: the same fit with {alternative}."
    )


def _same_score_note(evidence, verdicts, listed):
    """Name the annotators not called random who gave every item one score; or "".

    Parameters
    ----------
    evidence : skem._io.evidence._Evidence
    verdicts : array-like of shape (n_annotators,) of str
    listed : callable
        Takes the boolean mask of those annotators and returns their names
        as text (the command's list, or the page's).

    Returns
    -------
    words : str
    """
    if evidence.same is None:
        return ""
    same = evidence.same & (np.asarray(verdicts) != "random")
    if not same.any():
        return ""
    they = "they" if same.sum() > 1 else "it"
    return (
        f"Same score throughout: {listed(same)} gave every item {they} rated "
        f"one score ({MIN_SAME_RATINGS} ratings or more, on items whose "
        f"consensus spans {SAME_SPAN:.0%} of the scale or more). A careful "
        "rater's scores follow the items; such ratings do not, yet they are "
        "not random either, and the model can count them as careful. Check "
        f"them, and refit without them if {they} did not look at the items."
    )


def _few_raters_note(evidence, verdicts):
    """Warn that random verdicts rest on items with few raters each; or "".

    Parameters
    ----------
    evidence : skem._io.evidence._Evidence
    verdicts : array-like of shape (n_annotators,) of str

    Returns
    -------
    words : str
        "" unless someone is called random and the median rated item has
        at most ``FEW_RATERS`` ratings.
    """
    if evidence.per_item is None or not np.any(np.asarray(verdicts) == "random"):
        return ""
    per_item = np.asarray(evidence.per_item)
    rated = per_item[per_item > 0]
    median = np.median(rated) if rated.size else np.inf
    if median > FEW_RATERS:
        return ""
    return (
        f"Few raters per item: the median item has {number(median)} "
        "ratings. Each item's consensus then follows its own few ratings, the "
        "model's sigma comes out below the raters' real noise, and honest "
        "raters who err more than the rest can look random: on simulated hard "
        "panels of this kind, up to 3 honest raters of 20. Before excluding "
        "anyone called random, compare the consensus with the plain mean, and "
        "the verdicts with what else you know of the raters."
    )


def _yes_no_note(estimator, verdicts):
    """Say how little yes/no labels tell of who is careful; or "".

    Parameters
    ----------
    estimator : AnnotatorEM or HardAnnotatorEM
    verdicts : array-like of shape (n_annotators,) of str

    Returns
    -------
    words : str
        "" unless the fit read the ratings as two levels and judged someone
        (a verdict of "random" or "consistent").
    """
    levels = estimator.levels_
    if levels is None or len(levels) != 2:
        return ""
    if not np.isin(np.asarray(verdicts), ("random", "consistent")).any():
        return ""
    return (
        "Yes/no labels: a yes/no label says little about who is careful. On "
        "simulated panels with 50 to 105 labels a worker, the fit flags about "
        "half of the workers who answer at random and calls some of the "
        "remaining ones consistent, and it flags some honest workers as well. "
        "Read the verdicts as leads; where the workers' accuracies differ "
        "widely and each gave many labels, a model of each worker's accuracy "
        "(Dawid and Skene's) may give a better consensus."
    )
