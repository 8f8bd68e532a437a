"""Evidence before a verdict: who the ratings can judge, and the consensus weights.

A random annotator is told from a good one by disagreeing with the others on
the same items. On an item that only one other annotator rated, a
disagreement says nothing of who is wrong; from two others on, the
annotator is compared with a consensus it does not make alone. An
annotator's *judged* ratings are its ratings on items that at least two
others rated too. With fewer than ``MIN_JUDGED_RATINGS`` of them, a posterior
would rest on locations fitted largely to the annotator's own ratings, and be
over-confident either way: its verdict is "undetermined", and in the
consensus it counts as the panel's prior ``pi`` says.

Across many items, though, even disagreements one against one add up: a
rater who differs from every partner is the odd one. So the good/random
mixture may fit the flag of every *candidate*, an annotator with at least
``MIN_JUDGED_RATINGS`` *compared* ratings, on items that someone else rated
too (:func:`_mixture_candidates`). Whether a candidate's ratings can tell it
from a random annotator depends on how far they reach, though, not on their
number alone:

- what one rating can tell depends on how many share its item: its residual
  from the mean of the item's ``n`` ratings has ``(n - 1) / n`` of its
  variance, the rest being the annotator's own pull on that mean. An
  annotator's *evidence* counts each rating at ``(n - 1) / n``, the residual
  degrees of freedom it leaves: 0 alone on an item, 1/2 beside one other
  rater, near 1 on a large panel, 1 on a gold item, whose location is known;
- what a good rating brings, on average, is the log Bayes factor of good
  against random, the Kullback-Leibler divergence of the one from the other:
  large on a panel that agrees closely on a wide scale, near 0 where honest
  answers spread as widely as random ones. The fit measures it on its good
  ratings, each weighed by the posterior of its annotator's other ratings,
  less what a fit gains on the ratings it was fitted to
  (:func:`_estimate_evidence_per_rating`).

An honest annotator's ratings are expected to bring their product. Where it
falls short of the log odds of a verdict (``log(_VERDICT_ODDS)``, from even
odds to P(good) = 0.9), even an honest annotator would end undetermined, and
a bias of the fit (sigma fitted beside locations that rest on three ratings
is about ``sqrt(2/3)`` of the truth) would condemn it. So such a candidate
enters EM as good (:func:`_mixture_annotators`), as does any annotator with
fewer compared ratings: its ratings then neither condemn it nor, once it is
condemned, leave the noise model to those who happened to agree; and ``pi``
is the share of good annotators in the mixture. The driver fits with every
candidate in the mixture first, and, if that fit leaves some out, goes on
from it with them presumed good: each run has its own fixed objective, so
EM stays monotone.

Even a panel whose every candidate can reach a verdict may show no random
annotator at all. The mixture is then tested against its nested fit, in
which everyone is good (:func:`_estimate_mixture_gain`); unless it gains
more than chance would give it, every annotator is undetermined, and the
consensus is the precision-weighted mean of everyone.

Only an annotator in the mixture with at least ``MIN_JUDGED_RATINGS`` judged
ratings is *judged* (:func:`_judged_annotators`); every other one is
"undetermined" and counts at ``pi`` in the consensus. When nobody can be
judged, the consensus is the precision-weighted mean of everyone. A fit
where no item has two ratings, or with one annotator, judges nobody at all,
and is refused (:func:`_check_judgeable`).
"""

import numpy as np
from scipy.special import expit

from skem._model.likelihoods import _chunks
from skem._model.weights import _sum_gathered_by_item

# Judged ratings needed before a posterior moves the consensus or a verdict,
# and compared ratings before the mixture may fit an annotator's flag.
MIN_JUDGED_RATINGS = 3

# An item's ratings judge its raters when it has at least this many: each
# rater against at least two others.
_JUDGING_RATERS = 3

# The odds of a verdict, "consistent" from P(good) = 0.9 and "random" from
# 0.1 (:mod:`skem._io.verdicts`): what an annotator's ratings must be able to
# reach, from even odds, before the mixture fits its flag.
_VERDICT_ODDS = 9.0

# What the mixture must gain over its nested fit, in nats of the adjusted
# objective: the 1% level of a likelihood-ratio test of ``pi = 1`` on the
# boundary, whose 2 * gain is 1/2 chi2(0) + 1/2 chi2(1) under the null (Self
# and Liang 1987), so ``chi2.isf(0.02, df=1) / 2``.
_MIXTURE_TEST_GAIN = 2.7059

# Evidence is a sum of fractions, which rounds: an annotator at the minimum
# in exact arithmetic stays in the mixture whichever way its sum rounds.
_EVIDENCE_ROUNDING = 1e-9


def _count_judged_ratings(ratings, gold=None):
    """Each annotator's compared ratings, evidence and judged ratings.

    Compared: the ratings on items that at least one other annotator rated
    too; judged: at least two others. Evidence: each rating counted at ``(n
    - 1) / n``, with ``n`` the ratings of its item, the residual degrees of
    freedom it leaves once the item's location is fitted; at 1 on a gold
    item, whose location is known. Every item's ratings lie in one block, so
    the counts of the blocks add up.

    Parameters
    ----------
    ratings : _Ratings
    gold : ndarray of shape (n_items,) or None
        Known consensus of the gold items, NaN elsewhere.

    Returns
    -------
    n_compared : ndarray of shape (n_annotators,), dtype int64
    evidence : ndarray of shape (n_annotators,), dtype float64
    n_judged : ndarray of shape (n_annotators,), dtype int64
    """
    n = ratings.n_per_item
    with np.errstate(divide="ignore"):  # an item without ratings is never read
        share = 1.0 - 1.0 / n
    if gold is not None:
        share[~np.isnan(gold)] = 1.0
    # Each item's raters, capped: 1 (alone), 2 (compared) or 3 (judged).
    raters = np.minimum(n, _JUDGING_RATERS) - 1
    n_annotators = ratings.n_annotators
    evidence = np.zeros(n_annotators)
    counts = np.zeros(n_annotators * _JUDGING_RATERS, dtype=np.int64)
    # A chunk at a time: no per-rating arrays beside the ratings.
    for chunk in _chunks(ratings.n_ratings):
        item, annotator = ratings.item[chunk], ratings.annotator[chunk]
        evidence += np.bincount(annotator, share[item], minlength=n_annotators)
        counts += np.bincount(
            annotator * _JUDGING_RATERS + raters[item], minlength=counts.size
        )
    counts = counts.reshape(n_annotators, _JUDGING_RATERS)
    return counts[:, 1] + counts[:, 2], evidence, counts[:, 2].copy()


def _kernel_rater_counts(block):
    """The block's compared ratings, evidence and judged ratings per annotator,
    and the most raters of an item.

    The input of :func:`_mixture_annotators`, of the verdicts and of
    :func:`_check_judgeable`.
    """
    ratings = block.ratings
    n_compared, evidence, n_judged = _count_judged_ratings(ratings, block.gold)
    return block, {
        "n_judged": n_judged,
        "n_compared": n_compared,
        "evidence": evidence,
        "max_raters": int(np.max(ratings.n_per_item, initial=0)),
    }


def _kernel_residual_shares(block, responsibility, precision):
    """Each annotator's residual degrees of freedom in the fit, summed.

    A rating's location is the item's mean of its ratings, each weighed by
    its annotator's M-step weight times precision, ``w_a / sigma_a**2``: the
    rating's *leverage* ``h`` is its share of that sum, and its residual
    keeps ``1 - h`` of its variance. On a panel of equal good raters this is
    ``(n - 1) / n``; a rating that alone pins its location (the others
    weigh nothing) keeps none; on a gold item, whose location is known, all.

    Parameters
    ----------
    block : _Block
    responsibility : ndarray of shape (n_annotators,)
        What the M-step weighs each annotator's ratings by.
    precision : ndarray of shape (n_annotators,)
        ``1 / sigma_a**2``.

    Returns
    -------
    block, {"residual_share": ndarray of shape (n_annotators,)}
        The sum of ``1 - h`` over each annotator's ratings.
    """
    ratings = block.ratings
    pull = responsibility * precision
    total = _sum_gathered_by_item(ratings, pull)
    known = None if block.gold is None else ~np.isnan(block.gold)
    n = ratings.n_annotators
    share = np.zeros(n)
    # A chunk at a time: no array of every rating's leverage beside the
    # terms that the blocks may hold.
    for chunk in _chunks(ratings.n_ratings):
        item, whose = ratings.item[chunk], ratings.annotator[chunk]
        rating_pull, item_total = pull[whose], total[item]
        # An item whose raters all weigh nothing pins nothing.
        leverage = np.divide(
            rating_pull,
            item_total,
            out=np.zeros_like(rating_pull),
            where=item_total > 0,
        )
        if known is not None:
            leverage[known[item]] = 0.0
        share += np.bincount(whose, weights=1.0 - leverage, minlength=n)
    return block, {"residual_share": share}


def _kernel_location_information(block, responsibility, precision):
    """What the ratings tell of the items' locations, summed in log.

    An item's location is fitted to its ratings, and the objective at the
    fitted locations overstates what the ratings support: with few raters
    per item the fitted sigma shrinks toward the residuals the locations
    leave (the incidental-parameter problem of Neyman and Scott). The
    Laplace approximation of the objective with each location integrated
    out over the unit range, under a uniform prior, takes off ``log(j / 2
    pi) / 2`` per item, ``j = sum_a w_a / sigma_a**2`` the information its
    ratings carry on the location (the adjustment of Cox and Reid), and
    nothing where ``j`` is below ``2 pi``: the whole range is then the
    integral's width. A gold item's location is known, and takes nothing.

    Parameters
    ----------
    block : _Block
    responsibility, precision
        As for :func:`_kernel_residual_shares`, the precision in unit space.

    Returns
    -------
    block, {"log_information": float}
        ``sum_i max(log(j_i / (2 pi)), 0)`` over the block's items.
    """
    information = _sum_gathered_by_item(block.ratings, responsibility * precision)
    if block.gold is not None:
        information[~np.isnan(block.gold)] = 0.0
    with np.errstate(divide="ignore"):
        log_ratio = np.log(information / (2.0 * np.pi))
    return block, {"log_information": float(np.sum(np.maximum(log_ratio, 0.0)))}


def _estimate_mixture_gain(objectives, log_information):
    """What the mixture gains over its nested fit, everyone good.

    The difference of the two fits' objectives, each less half its
    ``log_information`` (:func:`_kernel_location_information`): a fit that
    calls some annotators random lets the locations follow the others more
    closely, and its sigma shrink with their residuals, a gain that the
    fitted locations alone give it. Adjusted, honest panels subsampled to a
    few raters per item stop gaining; random raters keep their gain.

    Parameters
    ----------
    objectives : tuple of (float, float)
        The objective of the mixture's fit and of the nested fit.
    log_information : tuple of (float, float)
        Their ``log_information``.

    Returns
    -------
    gain : float
        In nats; the mixture is kept above ``_MIXTURE_TEST_GAIN``.
    """
    (mixture, nested), (information, nested_information) = objectives, log_information
    return (mixture - nested) - 0.5 * (information - nested_information)


def _estimate_held_out_weights(log_odds, log_density, em):
    """Each rating's ``P(good)`` from its annotator's other ratings.

    An annotator's posterior log odds of good are ``log(pi / (1 - pi))``
    plus the sum of its ratings' good log densities less their random log
    density (:mod:`skem._model.random`); without one rating's term they are
    the odds that rating's own value did not move.

    Parameters
    ----------
    log_odds : ndarray of shape (n_ratings,)
        The posterior log odds of good of each rating's annotator.
    log_density : ndarray of shape (n_ratings,)
        Each rating's good log density.
    em : {'soft', 'hard'}
        Soft EM weighs by the posterior; hard EM by the flag it implies.

    Returns
    -------
    weights : ndarray of shape (n_ratings,)
    """
    held_out = log_odds - log_density
    if em == "hard":
        return (held_out >= 0).astype(float)
    return expit(held_out)


def _kernel_held_out_log_density(block, form, bias, sigma, log_odds, n_per_annotator):
    """Each annotator's ratings weighed by their held-out ``P(good)``, and
    their good log densities so weighed, floored at a lapse's.

    The weights are :func:`_estimate_held_out_weights`. A rating far off
    the consensus counts no lower than a lapse would make it, the random
    density at a place unknown among the annotator's ``n_a`` ratings
    (``-log(n_a)``, :mod:`skem._model.lapses`): one typo among a good
    annotator's ratings would otherwise outweigh all the others.

    Parameters
    ----------
    block : _Block
    form : _ModelForm
    bias, sigma : ndarray of shape (n_annotators,)
    log_odds : ndarray of shape (n_annotators,)
        Each annotator's posterior log odds of good.
    n_per_annotator : ndarray of shape (n_annotators,)
        Each annotator's ratings, in every block.

    Returns
    -------
    block, {"held_out_weight": ndarray, "held_out_log_density": ndarray}
        Both of shape (n_annotators,).
    """
    ratings = block.ratings
    annotator = ratings.annotator
    log_density = block.held_log_density
    if log_density is None:
        log_density = form.rating_log_density(ratings, block.location, bias, sigma)
    lapse = -np.log(np.maximum(n_per_annotator, 1))
    n = ratings.n_annotators
    sums = np.zeros((2, n))
    # A chunk at a time: no array of every rating's weight beside the terms.
    for chunk in _chunks(ratings.n_ratings):
        whose, value = annotator[chunk], log_density[chunk]
        weights = _estimate_held_out_weights(log_odds[whose], value, form.em)
        sums[0] += np.bincount(whose, weights, minlength=n)
        floored = np.maximum(value, lapse[whose])
        sums[1] += np.bincount(whose, weights * floored, minlength=n)
    return block, {"held_out_weight": sums[0], "held_out_log_density": sums[1]}


def _estimate_evidence_per_rating(
    held_out_log_density,
    held_out_weight,
    weights,
    n_per_annotator,
    residual_share,
    candidates,
):
    """The log odds for good that a good annotator's rating brings.

    A uniform rating's density is 1 in unit space, so a rating's good log
    density is its log Bayes factor for good. Averaged over the candidates' ratings,
    each weighed by its ``P(good)``, it estimates what a good rating brings
    (the Kullback-Leibler divergence of the good distribution from the
    random one); floored at 0, where good and random answers cannot be told
    apart.

    Measured on the ratings the fit was fitted to, that average is
    optimistic twice over, and each excess is taken off:

    - the flags: a rating that weighs in its annotator's own posterior is
      counted the more, the better it fits. An annotator with a few ratings
      is called good when they happen to lie close, and a good component
      fitted to the raters who agreed, its tails left to the random one,
      finds that they agree. Each rating is weighed by the ``P(good)`` of
      its annotator's other ratings instead
      (:func:`_kernel_held_out_log_density`): what an honest annotator's
      next rating would bring, far-off ones included;
    - the locations: sigma fitted beside them estimates ``sigma**2`` times
      the residual share ``s`` of the good ratings (the average of ``1 -
      h`` over them, with ``h`` each rating's leverage on its location, see
      :func:`_kernel_residual_shares`), so each rating's log density exceeds
      what it would be at the true sigma by ``log(1 / s) / 2``, while the
      mean squared standardized residual is 1 either way: ``log(3/2) / 2 =
      0.20`` per rating where items have three equal good raters, none on
      gold items, and everything where the good component rests on one
      annotator per item (noise fitted as one annotator's agreement with
      itself).

    Parameters
    ----------
    held_out_log_density, held_out_weight : ndarray of shape (n_annotators,)
        From :func:`_kernel_held_out_log_density`.
    weights : ndarray of shape (n_annotators,)
        Each annotator's ``P(good)`` (hard EM: its flag).
    n_per_annotator : ndarray of shape (n_annotators,)
        Each annotator's ratings.
    residual_share : ndarray of shape (n_annotators,)
        The residual degrees of freedom of each annotator's ratings in the
        fit, from :func:`_kernel_residual_shares`.
    candidates : ndarray of shape (n_annotators,), dtype bool
        From :func:`_mixture_candidates`.

    Returns
    -------
    per_rating : float
    """
    good = np.where(candidates, weights, 0.0)
    n_good = float(good @ n_per_annotator)
    share = float(good @ residual_share) / n_good if n_good > 0 else 0.0
    held_out = float(np.sum(held_out_weight, where=candidates))
    if not (share > 0 and held_out > 0):
        return 0.0
    per_rating = float(np.sum(held_out_log_density, where=candidates)) / held_out
    return max(per_rating + 0.5 * np.log(share), 0.0)


def _measure_evidence_per_rating(data, form, run, candidates):
    """:func:`_estimate_evidence_per_rating` at ``run``'s fit.

    The blocks must hold the run's locations, and if they hold per-rating
    terms, the run's.
    """
    params = run["params"]
    # pi is kept off 0 and 1 (skem._model.steps._estimate_pi): finite odds.
    log_odds = np.log(params.pi) - np.log1p(-params.pi)
    held_out = data.reduce(
        _kernel_held_out_log_density,
        form,
        params.bias,
        params.sigma,
        # The posterior's log odds, as the objective has them: the random
        # density of all of an annotator's ratings taken off
        # (skem._model.random), nearly that of all but the one held out.
        log_odds + run["statistics"]["log_density"] - data.random_log_density,
        data.n_per_annotator,
    )
    residual_share = data.reduce(
        _kernel_residual_shares, run["responsibility"], params.sigma**-2.0
    )["residual_share"]
    return _estimate_evidence_per_rating(
        held_out["held_out_log_density"],
        held_out["held_out_weight"],
        run["weights"],
        data.n_per_annotator,
        residual_share,
        candidates,
    )


def _mixture_candidates(n_compared):
    """The annotators with enough compared ratings to enter the mixture.

    At least ``MIN_JUDGED_RATINGS`` ratings on items that someone else rated
    too: one or two ratings never judge an annotator.

    Parameters
    ----------
    n_compared : ndarray of shape (n_annotators,)
        From :func:`_count_judged_ratings`.

    Returns
    -------
    candidates : ndarray of shape (n_annotators,), dtype bool
    """
    return np.asarray(n_compared) >= MIN_JUDGED_RATINGS


def _mixture_annotators(candidates, evidence, per_rating):
    """The annotators whose good/random flag the mixture fits.

    The candidates whose evidence an honest annotator would fill with the
    odds of a verdict: ``evidence * per_rating >= log(_VERDICT_ODDS)``.
    Every other annotator with ratings enters EM as good: its term of the
    objective is its good log density, without ``pi``, and its ratings
    weigh 1 in the M-step. The inputs are fixed before EM, so the objective
    stays a fixed function of the parameters, and EM monotone.

    Parameters
    ----------
    candidates : ndarray of shape (n_annotators,), dtype bool
        From :func:`_mixture_candidates`.
    evidence : ndarray of shape (n_annotators,)
        From :func:`_count_judged_ratings`.
    per_rating : float
        From :func:`_estimate_evidence_per_rating`.

    Returns
    -------
    in_mixture : ndarray of shape (n_annotators,), dtype bool
    """
    needed = np.log(_VERDICT_ODDS) - _EVIDENCE_ROUNDING
    return candidates & (np.asarray(evidence) * per_rating >= needed)


def _flagged_annotators(run):
    """The annotators a run of EM flags: weighed below one half in its M-step.

    The M-step weighs an annotator in the mixture by its posterior and
    everyone else 1 (the run's ``responsibility``), so only annotators in the
    mixture can be flagged.

    Parameters
    ----------
    run : dict
        A run of :meth:`skem._em.driver._BaseEM._run_em`.

    Returns
    -------
    flagged : ndarray of shape (n_annotators,), dtype bool
    """
    return run["responsibility"] < 0.5


def _judged_annotators(in_mixture, n_judged):
    """The annotators whose ratings judge them.

    Those in the mixture (:func:`_mixture_annotators`) with at least
    ``MIN_JUDGED_RATINGS`` judged ratings. Only they get a verdict and count
    by their posterior in the consensus; every other one is undetermined.

    Parameters
    ----------
    in_mixture : ndarray of shape (n_annotators,), dtype bool
    n_judged : ndarray of shape (n_annotators,)
        From :func:`_count_judged_ratings`.

    Returns
    -------
    judged : ndarray of shape (n_annotators,), dtype bool
    """
    return in_mixture & (np.asarray(n_judged) >= MIN_JUDGED_RATINGS)


def _estimate_consensus_weights(weights, log_posterior, pi, judged):
    """Each annotator's weight in the consensus, and its log.

    Parameters
    ----------
    weights, log_posterior : ndarray of shape (n_annotators,)
        The E-step's ``P(good)`` of each annotator (hard EM: its flag) and
        the log posterior.
    pi : float
        The prior probability of a good annotator, in (0, 1).
    judged : ndarray of shape (n_annotators,), dtype bool
        From :func:`_judged_annotators`.

    Returns
    -------
    weights, log_weights : ndarray of shape (n_annotators,)
        ``weights`` and ``log_posterior`` where the annotator is judged;
        ``pi`` and ``log pi`` elsewhere.
    """
    return (
        np.where(judged, weights, pi),
        np.where(judged, log_posterior, np.log(pi)),
    )


def _estimate_consensus_log_bad_weights(log_posterior_bad, pi, judged):
    """The log of one minus each annotator's consensus weight.

    The complement of :func:`_estimate_consensus_weights`, kept apart from
    ``log(1 - weight)``, which loses its digits for a weight near 1.

    Parameters
    ----------
    log_posterior_bad : ndarray of shape (n_annotators,)
        The E-step's ``log P(bad)`` of each annotator.
    pi, judged
        As for :func:`_estimate_consensus_weights`.

    Returns
    -------
    log_bad_weights : ndarray of shape (n_annotators,)
        ``log_posterior_bad`` where the annotator is judged; ``log(1 - pi)``
        elsewhere.
    """
    return np.where(judged, log_posterior_bad, np.log1p(-pi))


def _check_judgeable(n_per_annotator, max_raters):
    """Raise a ValueError if the ratings cannot judge any annotator.

    Parameters
    ----------
    n_per_annotator : ndarray of shape (n_annotators,)
        Number of ratings of each annotator.
    max_raters : int
        The most ratings any item has.

    Raises
    ------
    ValueError
        If fewer than two annotators have ratings (the message also counts
        them as features, as scikit-learn's checks expect), or no item has
        two.
    """
    n_rating = int(np.count_nonzero(n_per_annotator))
    if n_rating < 2:
        raise ValueError(
            f"Cannot judge annotators: {'only one' if n_rating else 'no'} "
            f"annotator has ratings ({n_rating} feature(s) of X). Telling a random "
            "annotator from a good one needs at least two annotators who rated "
            "the same items."
        )
    if max_raters < 2:
        raise ValueError(
            "Cannot judge annotators: no item has two ratings, so no rating can "
            "be compared with another. Collect at least two ratings of some items."
        )
