"""A flagged annotator against the consensus of the others: the predictive check.

An item's location is fitted to its ratings, so with few raters per item the
residuals are smaller than the noise, and sigma fitted beside them is too
narrow: about ``sqrt((n - 1) / n)`` of the truth with ``n`` raters per item
(the incidental-parameter problem of Neyman and Scott). Against that narrow
normal an honest annotator whose errors happen to be the panel's largest
looks uniform, and the mixture calls it random with confidence, though the
data cannot tell it from a random one.

So after the first fit every annotator the mixture flags is judged again on
what the others say of its items. Its rating ``s_ia`` is predicted from the
item's location estimated without it, the mean of the other ratings less
their biases, each weighed by its posterior over its variance, a flagged
rater's at least the prior ``pi`` (:func:`_estimate_review_weights`)::

    m_i = sum_{b != a} lam_b (s_ib - b_b) / sum_{b != a} lam_b,
    v_i = 1 / sum_{b != a} lam_b,   lam_b = max(w_b, pi) / sigma_b**2

and a good rating is ``Normal(m_i + b_a, r_a ((k sigma_a)**2 + v_i))``
(truncated to the scale, or on the rating's level, as the form reads
ratings), against the random component's density. Nothing of the
annotator's own ratings enters its prediction. Items whose other raters
weigh less than ``_MIN_OTHER_WEIGHT`` in all are skipped: there is no
consensus of the others to predict from (:mod:`skem._model.others`).

``r_a`` is how much more the others disagree on the annotator's items than
on the good annotators' items, at least 1
(:func:`skem._model.others._estimate_dispersion_ratio`), the others weighed
by their posterior. The model gives each annotator a noise, not each item:
where items come in batches rated by the same few workers and some batches
are much harder than others, a worker who drew hard batches looks noisy,
and the mixture calls it random. Its deviations are then no larger than
the others' on the same items, and the widened prediction says so (with 3
workers a batch and 30% of the batches hard, 98 honest workers were
flagged over 20 draws, 61 are now; with 5 workers a batch, 37 and 7).

The factor ``k`` is one for the panel: the maximum-likelihood factor of the
good annotators' predictions (:func:`_estimate_noise_factor`). The
locations' bias shrinks every fitted sigma alike, and ``k`` undoes it,
with the bias of the locations' variances (on 1..5 judgments with a noise
of 1.33 and 3 to 5 raters per item, ``k`` is 1.28 to 1.74 and a flagged
rater's ``k sigma_a`` 1.08 to 1.43, median 1.25, on the 20 of 40 panels
where someone is flagged), while each annotator keeps its own noise. One
sigma for the panel instead would give a careful annotator the noise of the
noisiest (on the hard panels it gave the same verdicts, on the real sets it
spared a few more honest workers); an annotator's own sigma fitted to its
predictions would let a random annotator widen its normal until it looks
like the uniform. A flagged annotator's sigma is the prior's
(:mod:`skem._model.normal`): what the panel says of a good annotator it
knows nothing else of.

A flagged annotator whose predictive log odds of good, at the fit's ``pi``,
stay above ``log(1 / _VERDICT_ODDS)`` cannot be called random: it is
*undetermined*, leaves the mixture and enters EM as good, as an annotator
with too little evidence does (:mod:`skem._model.evidence`), so each run
keeps its objective fixed and EM stays monotone. Where the fit's flag is
right, the prediction condemns as the fit does: random raters' ratings miss
the others' consensus whatever the yardstick.

On levels the ratings are read twice, and an annotator is called random
only if both readings call it so. The first reads them as EM does, the
outer cells open beyond the scale's ends, from the consensus above. With a
wide normal, open outer cells hold much of its mass (a prediction of 50 on
0..100 with a deviation of 45 puts 26% of it on 0 and 100), so an
annotator who keeps off the ends looks less likely than the uniform however
well it follows the items, while one who answers 0 or 100 looks careful: a
verdict on how the scale's ends are used, not on whether the ratings
follow the items. Honest raters differ in that (on a slider, some answer
mostly 0 or 100, others stay in the middle). The second reading closes
the outer cells at the scale's ends, the normal truncated to the range
(:func:`skem._model.levels._compute_closed_level_log_density`), where the
ends hold no more than their cells; its consensus weighs each other
annotator by its posterior. With the flagged counted at ``pi`` there, a
majority of random raters would widen the predictions until the closed
normal, which tends to the uniform as it widens, could not tell them (2 of
10 draws of emotion/ with 60% of its workers random went to 32 MAE, above
the plain mean's 27).

The random side is the objective's: the uniform, density 1 in unit space,
in a mixture with the kind that gives one level to every item
(:mod:`skem._model.random`), whose log density for the annotator's ratings
is taken off whole. The check reads the normal forms (plain, truncated,
levels); the Student-t form's tail already lets a careful annotator err
widely.
"""

import numpy as np

from skem._model.evidence import _VERDICT_ODDS, _flagged_annotators
from skem._model.levels import _compute_closed_level_log_density
from skem._model.likelihoods import _compute_good_terms
from skem._model.others import (
    _estimate_dispersion_ratio,
    _estimate_review_weights,
    _iter_others_locations,
    _kernel_others_dispersion,
)
from skem._model.steps import _UNIT_BOUNDS

# The factors of each pass of the search for the panel's, in log from the
# pass's centre (a parabola through the best and its neighbours places the
# peak), and how far from 1 the factor may go. The factor is above 1 as a
# rule: the locations' bias and the flagged counted at the prior both widen
# the predictions (1.4 to 1.6 on emotion/ with random raters).
_FACTOR_STEP = 0.3
_FACTOR_STEPS = _FACTOR_STEP * np.arange(-1, 4)
_MAX_LOG_FACTOR = 3.0

# The factor is one number, and about this many good ratings place it within
# a fraction of a percent: beyond them the search reads every k-th good
# annotator's ratings (by annotator code, the same in memory and on Dask).
_FACTOR_RATINGS = 100_000


def _compute_predictive_log_density(
    score, location, variance, scale, half_step, bounded, closed=False
):
    """Each rating's good log density at its predicted location.

    Parameters
    ----------
    score, location, variance : ndarray of shape (n_ratings,)
        The judged ratings in unit space, their predicted ``m_i + b_a`` and
        the variance of ``m_i``.
    scale : float or ndarray of shape (n_ratings,)
        ``k sigma_a`` of each rating, in unit space.
    half_step : float
        Half the spacing of the levels; 0 for exact scores.
    bounded : bool
        Whether the good density lives on the unit range (truncated, or on
        levels); else the plain normal.
    closed : bool, default=False
        On levels, whether the outer cells end at the range's ends, the
        normal truncated to it
        (:func:`skem._model.levels._compute_closed_level_log_density`),
        rather than open beyond them as EM reads them.

    Returns
    -------
    log_density : ndarray of shape (n_ratings,)
        The log density of ``Normal(location, scale**2 + variance)``,
        truncated to the unit range or integrated over the rating's level
        when ``bounded``; the random density is 1 (0 in log) in unit space.
    """
    sd = np.sqrt(scale**2 + variance)
    if closed and bounded and half_step > 0:
        return _compute_closed_level_log_density(
            score, location, sd, _UNIT_BOUNDS, half_step
        )
    return _compute_good_terms(
        score,
        location,
        sd,
        _UNIT_BOUNDS if bounded else None,
        half_step=half_step if bounded else 0.0,
        keep=("log_density",),
    )["log_density"]


def _kernel_predictive_log_density(
    block, weights, bias, sigma, factors, among, bounded, closed=False, ratio=None
):
    """The predictive log density of the ratings of each annotator ``among``,
    at each noise factor of ``factors``, and how many ratings it judged.

    The items' sums are taken once; the predictions and their densities a
    chunk at a time, without an array of every rating's.

    Parameters
    ----------
    block : _Block
    weights, bias, sigma : ndarray of shape (n_annotators,)
    factors : ndarray of shape (n_factors,)
        The factors ``k`` of each annotator's sigma.
    among : ndarray of shape (n_annotators,), dtype bool
    bounded, closed : bool
        As in :func:`_compute_predictive_log_density`.
    ratio : ndarray of shape (n_annotators,) or None, default=None
        Each annotator's
        :func:`skem._model.others._estimate_dispersion_ratio`, which scales
        the variance of its predictions; None for 1.

    Returns
    -------
    block, {"predictive_log_density": ndarray, "n_predicted": ndarray}
        Of shapes (n_factors, n_annotators) and (n_annotators,).
    """
    ratings = block.ratings
    n = ratings.n_annotators
    sums = np.zeros((len(factors), n))
    counts = np.zeros(n)
    if not among.any():
        return block, {"predictive_log_density": sums, "n_predicted": counts}
    annotator, score = ratings.annotator, ratings.score
    for index, location, variance in _iter_others_locations(
        block, weights, bias, sigma, among
    ):
        whose = annotator[index]
        predicted = location + bias[whose]
        own = sigma[whose]
        if ratio is not None:
            own = own * np.sqrt(ratio[whose])
            variance *= ratio[whose]
        for k, factor in enumerate(factors):
            log_density = _compute_predictive_log_density(
                score[index],
                predicted,
                variance,
                factor * own,
                ratings.half_step,
                bounded,
                closed,
            )
            sums[k] += np.bincount(whose, log_density, minlength=n)
        counts += np.bincount(whose, minlength=n)
    return block, {"predictive_log_density": sums, "n_predicted": counts}


def _estimate_parabola_peak(u, objective):
    """Where the parabola through three points peaks.

    Parameters
    ----------
    u : ndarray of shape (3,)
        Evenly spaced abscissae, increasing.
    objective : ndarray of shape (3,)
        The objective there, the middle value the largest.

    Returns
    -------
    peak : float
        Within half a step of ``u[1]``, since the middle value is the
        largest; ``u[1]`` where the three lie on a line.
    """
    step = u[1] - u[0]
    curvature = objective[0] - 2.0 * objective[1] + objective[2]
    if not curvature < 0:
        return float(u[1])
    return float(u[1] + 0.5 * step * (objective[0] - objective[2]) / curvature)


def _estimate_noise_factor(
    data, params, weights, good, bounded, closed=False, ratio=None
):
    """The maximum-likelihood factor ``k`` of the ``good`` annotators' sigmas
    in their predictions.

    Five factors ``_FACTOR_STEP`` apart in ``log k``, from ``1 /
    exp(_FACTOR_STEP)`` up, in one pass; while the best is at an end, five
    more from there; then the peak of the parabola through the best and its
    neighbours. The objective, a sum of log densities of normals, is smooth
    in ``log k`` with one maximum in practice: one pass, as a rule.

    Parameters
    ----------
    data : backend
    params : _Params
    weights : ndarray of shape (n_annotators,)
        What each annotator weighs in the others' consensus.
    good : ndarray of shape (n_annotators,), dtype bool
        The annotators whose predictions the factor is fitted to.
    bounded, closed : bool
        As in :func:`_compute_predictive_log_density`.
    ratio : ndarray of shape (n_annotators,) or None, default=None
        As in :func:`_kernel_predictive_log_density`.

    Returns
    -------
    factor : float or None
        Within ``exp(+/- _MAX_LOG_FACTOR)``; None where no good annotator has
        a judged rating.
    """
    low = -_MAX_LOG_FACTOR - _FACTOR_STEPS[0]
    high = _MAX_LOG_FACTOR - _FACTOR_STEPS[-1]
    centre, visited = 0.0, set()
    while True:
        visited.add(centre)
        u = centre + _FACTOR_STEPS
        sums = data.reduce(
            _kernel_predictive_log_density,
            weights,
            params.bias,
            params.sigma,
            np.exp(u),
            good,
            bounded,
            closed,
            ratio,
        )
        if not sums["n_predicted"].any():
            return None
        objective = sums["predictive_log_density"].sum(axis=1)
        best = int(np.argmax(objective))
        if 0 < best < len(u) - 1:
            around = slice(best - 1, best + 2)
            return float(np.exp(_estimate_parabola_peak(u[around], objective[around])))
        # At an end of the factors: go on from there, unless the search is at
        # the end of its range or has been there.
        centre = float(np.clip(u[best], low, high))
        if centre in visited:
            return float(np.exp(u[best]))


def _estimate_predictive_log_odds(predictive_log_density, random_log_density, pi):
    """Each annotator's predictive log odds of good, at the prior ``pi``.

    Parameters
    ----------
    predictive_log_density : ndarray of shape (n_annotators,)
        The sum of the good log densities of its judged ratings at their
        predictions, in unit space.
    random_log_density : ndarray of shape (n_annotators,)
        The log density of its ratings if it is random, less that of the
        uniform (:func:`skem._model.random._estimate_random_log_density`).
    pi : float
        In (0, 1).

    Returns
    -------
    log_odds : ndarray of shape (n_annotators,)
        ``log(pi / (1 - pi)) + predictive_log_density - random_log_density``.
    """
    return np.log(pi) - np.log1p(-pi) + predictive_log_density - random_log_density


def _sample_annotators(among, n_per_annotator, n_ratings):
    """Every k-th annotator ``among`` with ratings, for about ``n_ratings``.

    Parameters
    ----------
    among : ndarray of shape (n_annotators,), dtype bool
    n_per_annotator : ndarray of shape (n_annotators,)
    n_ratings : int

    Returns
    -------
    sample : ndarray of shape (n_annotators,), dtype bool
        All of ``among`` with ratings if they have at most ``n_ratings``;
        else every ``k``-th of them by code, ``k`` the ceiling of their
        ratings over ``n_ratings``.
    """
    rated = among & (n_per_annotator > 0)
    total = int(np.sum(n_per_annotator[rated]))
    if total <= n_ratings:
        return rated
    stride = -(-total // n_ratings)
    sample = np.zeros_like(rated)
    sample[np.flatnonzero(rated)[::stride]] = True
    return sample


def _estimate_reading_log_odds(
    data, params, weights, flagged, good, form, closed, ratio=None
):
    """The predictive log odds of good of the ``flagged`` annotators, on one
    reading of the ratings.

    Parameters
    ----------
    data : backend
    params : _Params
    weights : ndarray of shape (n_annotators,)
        What each annotator weighs in the others' consensus.
    flagged, good : ndarray of shape (n_annotators,), dtype bool
        The annotators judged, and those the noise factor is fitted to.
    form : _ModelForm
    closed : bool
        As in :func:`_compute_predictive_log_density`.
    ratio : ndarray of shape (n_annotators,) or None, default=None
        As in :func:`_kernel_predictive_log_density`.

    Returns
    -------
    log_odds : ndarray of shape (n_annotators,) or None
        :func:`_estimate_predictive_log_odds` at the reading's noise factor;
        None where no good annotator has a judged rating.
    """
    factor = _estimate_noise_factor(
        data, params, weights, good, form.bounded, closed, ratio
    )
    if factor is None:
        return None
    sums = data.reduce(
        _kernel_predictive_log_density,
        weights,
        params.bias,
        params.sigma,
        np.array([factor]),
        flagged,
        form.bounded,
        closed,
        ratio,
    )
    return _estimate_predictive_log_odds(
        sums["predictive_log_density"][0], data.random_log_density, params.pi
    )


def _find_undetermined(data, form, run):
    """The flagged annotators of ``run`` that the others' consensus cannot
    call random.

    On levels the ratings are read twice: as EM reads them, the outer cells
    open, with the flagged counted at the prior in the consensus; and with
    the cells closed at the scale's ends, from the consensus of the
    annotators the fit holds good. An annotator is called random only if
    both readings call it so. In both, its predictions are widened by how
    much more the others disagree on its items than on the good
    annotators' (:func:`skem._model.others._estimate_dispersion_ratio`).

    Parameters
    ----------
    data : backend
    form : _ModelForm
    run : dict
        A run of :meth:`skem._em.driver._BaseEM._run_em`.

    Returns
    -------
    undetermined : ndarray of shape (n_annotators,), dtype bool
        Flagged annotators whose predictive log odds of good
        (:func:`_estimate_predictive_log_odds`), on either reading, are at
        least ``-log(_VERDICT_ODDS)``; nobody for the Student-t form.
    """
    flagged = _flagged_annotators(run)
    if not flagged.any() or form.tail_df is not None:
        return np.zeros_like(flagged)
    params = run["params"]
    responsibility = run["responsibility"]
    good = _sample_annotators(~flagged, data.n_per_annotator, _FACTOR_RATINGS)
    dispersion = data.reduce(
        _kernel_others_dispersion,
        responsibility,
        params.bias,
        params.sigma,
        flagged | good,
    )
    ratio = _estimate_dispersion_ratio(
        dispersion["others_squares"], dispersion["others_freedom"], good
    )
    log_odds = _estimate_reading_log_odds(
        data,
        params,
        _estimate_review_weights(responsibility, params.pi),
        flagged,
        good,
        form,
        closed=False,
        ratio=ratio,
    )
    if log_odds is None:
        return np.zeros_like(flagged)
    if form.likelihood == "levels":
        closed = _estimate_reading_log_odds(
            data, params, responsibility, flagged, good, form, closed=True, ratio=ratio
        )
        if closed is not None:
            log_odds = np.maximum(log_odds, closed)
    return flagged & (log_odds >= -np.log(_VERDICT_ODDS))
