"""The fitted results in words: verdicts, their reasons, what the flagged count.

The one place that turns a fit into words, for the tables of
:mod:`skem._io.results`, the command's summary and the report page.
"""

import numpy as np

from skem._io.words import _degrees_of_freedom, number
from skem._io.words import count as counted
from skem._model.evidence import MIN_JUDGED_RATINGS

# An annotator is "consistent" from this posterior probability of being good
# up, "random" from RANDOM_BELOW down, "undetermined" in between.
CONSISTENT_FROM = 0.9
RANDOM_BELOW = 0.1

# A rater flagged as random whose ratings correlate with the consensus at
# least this much (a random rater's r is about 0) gets the hint to fit biases.
OFFSET_AGREEMENT = 0.7
# A rating this many of its annotator's sigma from the location is far: a
# normal error puts 6.3e-5 of a good annotator's ratings there.
FAR_SIGMAS = 4.0
# The reason's words for a lapsed annotator (skem._model.lapses).
# r counts the slip: a careful annotator's r can be near 0 for one typo.
SLIP = "one rating far off the consensus, read as a slip (r counts it)"

# Why an annotator flagged by a mixture that failed its test is not judged.
MIXTURE_FAILED = (
    "called random only by a fit that explained the ratings no better than "
    "trusting everyone"
)

# Why an annotator whose ratings follow the items is neither random nor
# consistent (skem._model.others._find_followers).
FOLLOWS_ITEMS = (
    "the ratings follow the items, but too far off the consensus for a careful "
    "annotator's noise: noisier than the others, or a constant step above or "
    "below them"
)


def _annotator_verdicts(
    p_good,
    n_ratings=None,
    n_judged=None,
    r=None,
    deviation=None,
    judged=None,
    lapsed=None,
    mixture_flagged=None,
    log=False,
    same=None,
    followers=None,
):
    """Name each annotator's verdict, with the plain reason behind it.

    The one place that turns a fit into words, for the tables, the command's
    summary and the report.

    Parameters
    ----------
    p_good : array-like of shape (n_annotators,)
        Posterior probability of being good.
    n_ratings : array-like of shape (n_annotators,), default=None
        Number of ratings of each annotator; None if unknown.
    n_judged : array-like of shape (n_annotators,), default=None
        Number of those ratings on items that at least two others rated too
        (``n_judged_ratings_``); below ``MIN_JUDGED_RATINGS`` the verdict is
        "undetermined" (see :mod:`skem._model.evidence`). None if unknown.
    r : array-like of shape (n_annotators,), default=None
        Pearson correlation of each annotator's ratings with the consensus
        of the items rated, NaN where it is not defined; None if unknown.
    deviation : array-like of shape (n_annotators,), default=None
        Root mean square of each annotator's ratings minus the consensus
        (and its bias), NaN without any; None if unknown. The reasons of
        the random and the undetermined compare it with the consistent
        annotators' median: it, not ``r``, is what the model weighs. With
        ``log``, of the ratings' logarithms.
    judged : array-like of shape (n_annotators,) of bool, default=None
        Whether the ratings judge each annotator (``judged_``); where they do
        not, the verdict is "undetermined". None: where ``n_judged`` is at
        least ``MIN_JUDGED_RATINGS``.
    lapsed : array-like of shape (n_annotators,) of bool, default=None
        Whether one rating alone would have called the annotator random
        (``lapsed_``): its reason then says that rating is read as a slip.
        None: nobody.
    mixture_flagged : array-like of shape (n_annotators,) of bool, default=None
        Whether a mixture that failed its test against everyone good flagged
        the annotator: it is not judged, and its reason says so. None:
        nobody.
    log : bool, default=False
        Whether the fit is on the logarithms of the scores
        (``score_scale='log'``), and so ``deviation``.
    same : array-like of shape (n_annotators,) of bool, default=None
        Whether the annotator gave one score to every item
        (``_Evidence.same``): a random one's reason then says so, rather
        than that its answers look random. None: nobody.
    followers : array-like of shape (n_annotators,) of bool, default=None
        Whether the annotator was not judged because its ratings follow the
        items (:data:`FOLLOWS_ITEMS`). None: nobody.

    Returns
    -------
    verdicts : ndarray of shape (n_annotators,) of str
        ``"consistent"`` (``p_good >= 0.9``), ``"random"`` (``p_good <=
        0.1``) or ``"undetermined"``.
    reasons : ndarray of shape (n_annotators,) of str
        For example ``"answers look random: 79 ratings, agreement with the
        consensus r = 0.55, ratings 1.3 off the consensus (root mean square;
        consistent annotators: 0.52)"``, ``"consistent: 79 ratings, r =
        0.85"``, ``"undetermined: too few ratings (2 on items that two
        others rated too)"``, ``"undetermined: the panel agrees too little for
        their ratings to tell careful from random (4 ratings on items that
        two others rated too)"``, ``"undetermined: called random only by a
        fit that explained the ratings no better than trusting everyone (140
        ratings on items that two others rated too)"`` or
        ``"undetermined: the ratings fit either way; 79 ratings, r = 0.40,
        ratings 0.9 off the consensus (root mean square; consistent
        annotators: 0.52)"``, or for a random one who gave one score to
        every item ``"gives every item the same score: 29 ratings, ..."``;
        for a lapsed annotator followed by ``"; one
        rating far off the consensus, read as a slip (r counts it)"``.
    """
    p_good = np.asarray(p_good, dtype=np.float64)
    n = p_good.shape[0]
    n_judged = (
        np.full(n, MIN_JUDGED_RATINGS) if n_judged is None else np.asarray(n_judged)
    )
    judged = n_judged >= MIN_JUDGED_RATINGS if judged is None else np.asarray(judged)
    mixture_flagged = (
        np.zeros(n, dtype=bool)
        if mixture_flagged is None
        else np.asarray(mixture_flagged, dtype=bool)
    )
    verdicts = np.where(
        ~judged,
        "undetermined",
        np.where(
            p_good >= CONSISTENT_FROM,
            "consistent",
            np.where(p_good <= RANDOM_BELOW, "random", "undetermined"),
        ),
    ).astype(object)
    n_ratings = [None] * n if n_ratings is None else np.asarray(n_ratings)
    r = [None] * n if r is None else np.asarray(r, dtype=np.float64)
    typical = None
    if deviation is not None:
        deviation = np.asarray(deviation, dtype=np.float64)
        reference = deviation[(verdicts == "consistent") & np.isfinite(deviation)]
        typical = float(np.median(reference)) if reference.size else None
    else:
        deviation = [None] * n
    same = np.zeros(n, dtype=bool) if same is None else np.asarray(same, dtype=bool)
    followers = (
        np.zeros(n, dtype=bool)
        if followers is None
        else np.asarray(followers, dtype=bool)
    )
    reasons = [
        _reason(
            verdict,
            judged[k],
            n_judged[k],
            n_ratings[k],
            r[k],
            deviation[k],
            typical,
            mixture_flagged[k],
            log,
            same[k],
            followers[k],
        )
        for k, verdict in enumerate(verdicts)
    ]
    if lapsed is not None:
        reasons = [
            f"{reason}; {SLIP}" if slipped else reason
            for reason, slipped in zip(reasons, np.asarray(lapsed), strict=True)
        ]
    return verdicts, np.asarray(reasons, dtype=object)


def _reason(
    verdict,
    judged,
    n_judged,
    count,
    correlation,
    deviation,
    typical,
    mixture_flagged=False,
    log=False,
    same=False,
    follows=False,
):
    """One annotator's reason, from the evidence :func:`_annotator_verdicts` got."""
    if not judged and not follows:
        if n_judged < MIN_JUDGED_RATINGS:
            why = "too few ratings"
        elif mixture_flagged:
            why = MIXTURE_FAILED
        else:
            # Too few at the panel's agreement, a panel whose ratings cannot
            # tell good from random at all (pure noise), or ratings that the
            # others' consensus cannot call random (skem._model.predictive).
            why = TOO_LITTLE_AGREEMENT
        return (
            f"undetermined: {why} ({counted(int(n_judged), 'rating')} on items that "
            "two others rated too)"
        )
    evidence = _evidence_text(count, correlation)
    if verdict == "consistent":
        return "consistent" + (f": {evidence}" if evidence else "")
    if verdict == "random":
        evidence = evidence.replace("r ", "agreement with the consensus r ", 1)
    evidence = ", ".join(
        part for part in (evidence, _deviation_text(deviation, typical, log)) if part
    )
    if verdict == "random":
        what = "gives every item the same score" if same else "answers look random"
        return what + (f": {evidence}" if evidence else "")
    why = FOLLOWS_ITEMS if follows else "the ratings fit either way"
    return f"undetermined: {why}" + (f"; {evidence}" if evidence else "")


def _deviation_text(deviation, typical, log=False):
    """``"ratings 1.3 off the consensus (root mean square; consistent
    annotators: 0.52)"``, without the comparison when no annotator is
    consistent, or "" when the deviation is unknown; with ``log``, "root
    mean square of the logarithms".

    Not "spread": the summary calls sigma so, which the model
    fits, while this is measured from the ratings.
    """
    if deviation is None or not np.isfinite(deviation):
        return ""
    text = f"ratings {number(deviation, 2)} off the consensus (root mean square"
    if log:
        text += " of the logarithms"
    if typical is not None:
        text += f"; consistent annotators: {number(typical, 2)}"
    return text + ")"


def _random_weight_words(consensus_weights):
    """How much the annotators flagged as random count in the consensus, in words.

    Parameters
    ----------
    consensus_weights : ndarray of shape (n_random,)
        Their ``consensus_weights_``; at most ``RANDOM_BELOW`` each.

    Returns
    -------
    words : str
        ``"their ratings are left out of the consensus"`` when every weight
        is 0 (hard EM), otherwise for example ``"their ratings barely count
        in the consensus, at most 8% as much as a fully trusted
        annotator's"``.
    """
    most = float(np.max(consensus_weights, initial=0.0))
    if most == 0.0:
        return "their ratings are left out of the consensus"
    share = _share(most)
    return (
        "their ratings barely count in the consensus, "
        f"{share if share.startswith('less') else f'at most {share}'} as much "
        "as a fully trusted annotator's"
    )


# Why nobody is judged where some annotator had enough judged ratings.
NOBODY_TOLD = (
    "the panel agrees too little for anyone's ratings to tell careful from random"
)

# Why one annotator with enough judged ratings is not judged, or too few.
TOO_LITTLE_AGREEMENT = (
    "the panel agrees too little for their ratings to tell careful from random"
)
TOO_FEW_RATINGS = "too few ratings to judge"


def _unjudged_groups(estimator):
    """The annotators a fit did not judge, in groups that share a reason.

    Parameters
    ----------
    estimator : AnnotatorEM, HardAnnotatorEM or DaskAnnotatorEM
        Fitted.

    Returns
    -------
    groups : list of (ndarray of bool, str)
        Masks of annotators and the reason of each, in words: those only a
        mixture that failed its test called random (:data:`MIXTURE_FAILED`),
        those whose ratings follow the items (:data:`FOLLOWS_ITEMS`); then
        either one group with the panel's reason
        (:func:`_unjudged_reason`), or those with fewer than
        ``MIN_JUDGED_RATINGS`` judged ratings and those whose ratings the
        panel's agreement could not bring to a verdict.
    """
    judged = np.asarray(estimator.judged_)
    n_judged = np.asarray(estimator.n_judged_ratings_)
    failed = ~judged & _fitted_mask(estimator, "_mixture_flagged")
    followers = ~judged & ~failed & _fitted_mask(estimator, "_followers")
    rest = ~judged & ~failed & ~followers
    listed = [(failed, MIXTURE_FAILED), (followers, FOLLOWS_ITEMS)]
    panel = _unjudged_reason(judged, n_judged)
    if panel:
        return [*listed, (rest, panel)]
    few = rest & (n_judged < MIN_JUDGED_RATINGS)
    return [
        *listed,
        (few, TOO_FEW_RATINGS),
        (rest & ~few, TOO_LITTLE_AGREEMENT),
    ]


NO_THIRD_RATER = (
    "no item was rated by three annotators, so nobody can be compared with two others"
)


def _fitted_mask(estimator, name):
    """Who a fitted estimator's private mask ``name`` holds: ``'_mixture_flagged'``
    (flagged by a mixture that failed its test) or ``'_followers'`` (not
    judged because their ratings follow the items).

    Parameters
    ----------
    estimator : AnnotatorEM, HardAnnotatorEM or DaskAnnotatorEM
        Fitted.
    name : str

    Returns
    -------
    mask : ndarray of shape (n_annotators,), dtype bool
        All False for a model pickled by an earlier version, which did not
        keep it.
    """
    mask = getattr(estimator, name, None)
    if mask is None:
        return np.zeros(estimator.weights_.shape, dtype=bool)
    return np.asarray(mask, dtype=bool)


def _unjudged_reason(judged, n_judged):
    """Why the fit judged nobody, when it is the panel's doing; else None.

    :data:`NO_THIRD_RATER` when no item has three raters, so that no rating
    is judged (two raters who disagree say nothing of who is wrong);
    :data:`NOBODY_TOLD` when some annotators have the ratings to be judged
    but the fit judged nobody: the panel's ratings cannot tell a careful
    annotator from a random one at all (pure noise, or too little agreement
    for the ratings anyone has). None when the fit judged someone, or when
    those it did not judge have too few ratings of their own.

    Parameters
    ----------
    judged : ndarray of shape (n_annotators,), dtype bool
        The estimator's ``judged_``.
    n_judged : ndarray of shape (n_annotators,)
        The estimator's ``n_judged_ratings_``.

    Returns
    -------
    reason : str or None
    """
    n_judged = np.asarray(n_judged)
    if not np.any(n_judged):
        return NO_THIRD_RATER
    if not np.any(judged) and np.any(n_judged >= MIN_JUDGED_RATINGS):
        return NOBODY_TOLD
    return None


def _prior_weight_words(pi):
    """How an annotator with too few judged ratings counts in the consensus.

    It counts at ``pi``, the prior probability of a good annotator: for
    example ``"in the consensus each counts 95% as much as a fully trusted
    annotator"``.
    """
    return (
        f"in the consensus each counts {_share(pi)} as much as a fully trusted "
        "annotator"
    )


def _share(weight):
    """A weight in [0, 1] as a percentage that never rounds to 0% or 100%."""
    if weight < 0.01:
        return "less than 1%"
    if weight > 0.99:
        return "more than 99%"
    return f"{weight:.0%}"


def _evidence_text(count, correlation):
    """``"79 ratings, r = 0.85"``, or "" when nothing is known.

    An undefined ``r`` is left out below 3 ratings, and said to be so
    otherwise: ``"r undefined (no spread)"``, for ratings, or a consensus,
    that do not vary.
    """
    parts = []
    if count is not None:
        count = int(count)
        parts.append(f"{count} rating" + ("" if count == 1 else "s"))
    if correlation is not None:
        # -0.001 would print as "-0.00".
        text = f"{correlation:.2f}".replace("-0.00", "0.00")
        if not np.isnan(correlation):
            parts.append(f"r = {text}")
        elif count is None or count >= 3:
            parts.append("r undefined (no spread)")
    return ", ".join(parts)


def _random_but_agreeing(verdicts, r):
    """The annotators flagged as random whose ratings follow the consensus.

    With an agreement ``r`` of at least ``OFFSET_AGREEMENT`` (a random
    rater's is about 0): in a fit without biases, ratings a constant step
    above or below everyone else's look random, and ``bias=True`` tells.

    Parameters
    ----------
    verdicts : array-like of shape (n_annotators,) of str
    r : ndarray of shape (n_annotators,)
        Agreement with the consensus, NaN where undefined.

    Returns
    -------
    mask : ndarray of shape (n_annotators,), dtype bool
    """
    with np.errstate(invalid="ignore"):
        return (np.asarray(verdicts) == "random") & (np.asarray(r) >= OFFSET_AGREEMENT)


def _model_words(em, low, high):
    """The report page's description of a fitted model, as HTML list items.

    Parameters
    ----------
    em : AnnotatorEM or HardAnnotatorEM (or their Dask estimators)
        Fitted.
    low, high : float
        The ends of its scale (:func:`skem._io.results._scale_ends`).

    Returns
    -------
    form : list of str
        The model's parts in words, HTML.
    objective : str
        The name of the fit's objective ("penalized log-likelihood", ...).
    """
    ending = ", truncated to the scale." if em.bounded else "."
    if getattr(em, "levels_", None) is not None:
        ending = (
            ", read off as the nearest level (below the bottom level: the "
            "bottom one; beyond the top: the top)."
        )
    centre = (
        "the item's location (the centre of its good ratings before the "
        "scale's ends cut them off; near an end it lies beyond the "
        "consensus, their weighted mean)"
        if em.bounded
        else "the item's consensus"
    )
    from skem import HardAnnotatorEM

    hard = isinstance(em, HardAnnotatorEM)
    shared = em.noise == "shared"
    # Not "log posterior": that is each annotator's log P(good).
    objective = (
        ("" if shared else "penalized ")
        + ("classification " if hard else "")
        + "log-likelihood"
    )
    log = em._score_scale.log
    form = [
        (
            "Each annotator is either <em>good</em> or answers at "
            f"<em>random</em>, uniformly over {number(low)} to "
            f"{number(high)}"
            + (
                f" on the logarithmic scale; the logarithm of a good "
                f"annotator's rating is that of {centre}, plus "
                if log
                else f"; a good annotator's rating is {centre}, plus "
            )
            + ("their bias, plus " if em.bias else "")
            + (
                "a normal error whose standard deviation is their inconsistency"
                if em.tail_ is None
                else f"a Student-t error with {_degrees_of_freedom(em.tail_)}"
                + (" (of those tried, the most likely)" if em._tail_chosen else "")
                + ", whose scale is their inconsistency"
            )
            + (
                " (on the logarithms: an inconsistency of 0.1 is an error of about 10%)"
                if log
                else ""
            )
            + ending
        ),
        (
            "Hard (classification) EM: each annotator it judges counts fully "
            "or not at all in the consensus (one it cannot judge counts with "
            "the panel's prior share of good annotators); the page shows the "
            "probability of being good all the same."
            if hard
            else "Soft EM: each annotator counts in the consensus in "
            "proportion to their probability of being good."
        ),
        (
            "One inconsistency shared by every annotator."
            if shared
            else "Each annotator has their own inconsistency, pulled toward "
            "the panel's inconsistency with the weight of "
            f"{number(em.noise_prior)} ratings: a prior, whose log the fit's "
            "objective adds to the log-likelihood (the penalized "
            "log-likelihood below)."
        ),
        (
            "Each annotator has their own bias."
            if em.bias
            else "No bias: every annotator is taken to use the scale as the "
            "consensus does (fit with <code>bias=True</code>, the command's "
            "<code>--bias</code>, to estimate biases)."
        ),
    ]
    return form, objective
