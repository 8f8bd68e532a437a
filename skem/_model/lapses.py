"""A careful annotator's slip: one rating far off must not call it random.

A good annotator sometimes slips: a typo (7722 dots for 62), a click at the
wrong end of the scale. Under the good component's normal one rating ten
sigmas off costs 50 nats, more than a dozen good ratings bring, and the
mixture calls an otherwise excellent annotator random. A random rater's
answers are random throughout, so its verdict never rests on one rating.

The slip, or *lapse*, is the random density standing in for one of the good
annotator's ratings, at a position unknown among its ``n_a`` ratings. That
hypothesis has likelihood ``(1 / n_a) sum_j prod_{i != j} f(s_ia)`` (the
random density is 1 in unit space), at least its largest term, the one
without the least likely rating. So its log density is at least::

    log_density_a - worst_a - log(n_a)

An annotator flagged random (weighed below one half) that this lower bound
makes good at the fit's ``pi`` is *lapsed*: like an annotator with too little
evidence, it leaves the mixture before EM goes on, and enters as good, so
the objective stays fixed and EM monotone. Its reported posterior is the
one with the slip allowed, and the mixture's verdict on it stands on that.

Only a form that gives each annotator its own sigma and no bias spares a
lapsed annotator. Entered as good, its slip weighs in the M-step like its
other ratings: there it widens the annotator's own sigma, which then weighs
the annotator less on every item (on crowd/dot_guessing, 536 dots for the
player who typed 7722, against a median of 22). Under one shared sigma the
slip would pull its item's consensus as it pulls the plain mean (the
default's error on crowd/dot_guessing would rise from 7.09 to the mean's
9.74), and under a bias it would shift the annotator's every rating (to
9.16 and, with a shared sigma, 208): those forms keep the mixture's verdict.

Each likelihood gives its annotators' least likely rating (``worst``) from
its row of :data:`skem._model.form._LIKELIHOODS`: the plain normal's and the
t's densities fall with the squared residual, the truncated and the levels
forms' depend on each item's mass on the scale, so they are evaluated.
"""

import numpy as np

from skem._model.evidence import _flagged_annotators
from skem._model.likelihoods import (
    _compute_student_log_density,
    _estimate_annotator_log_joint,
    _estimate_log_posterior,
    _estimate_normal_log_density,
)
from skem._model.truncated import _compute_bounded_log_density


def _compute_annotator_worst(annotator, values, n_annotators, reduce):
    """``reduce.at`` of ``values`` over each annotator's ratings.

    Parameters
    ----------
    annotator : ndarray of shape (n_ratings,)
    values : ndarray of shape (n_ratings,)
    n_annotators : int
    reduce : {numpy.minimum, numpy.maximum}

    Returns
    -------
    worst : ndarray of shape (n_annotators,)
        ``+inf`` (minimum) or ``-inf`` (maximum) for an annotator without
        ratings.
    """
    worst = np.full(n_annotators, np.inf if reduce is np.minimum else -np.inf)
    reduce.at(worst, annotator, values)
    return worst


def _ratings_among(ratings, among):
    """The item, annotator and score of the ratings of the annotators ``among``."""
    selected = among[ratings.annotator]
    if selected.all():
        return ratings.item, ratings.annotator, ratings.score
    index = np.flatnonzero(selected)
    return ratings.item[index], ratings.annotator[index], ratings.score[index]


def _kernel_max_sq_residual(block, bias, among):
    """The largest squared residual from the locations, per annotator ``among``."""
    ratings = block.ratings
    item, annotator, score = _ratings_among(ratings, among)
    residual = score - block.location[item] - bias[annotator]
    np.square(residual, out=residual)
    return block, {
        "max_sq_residual": _compute_annotator_worst(
            annotator, residual, ratings.n_annotators, np.maximum
        )
    }


def _kernel_min_truncated_log_density(block, bias, sigma, among):
    """The least log density of the ratings of each annotator ``among``,
    truncated or on levels.

    A block that still holds its run's terms holds these log densities
    (:class:`skem._em.backend._Block`): they are read, not computed again.
    """
    ratings = block.ratings
    log_density = block.held_log_density
    if log_density is not None:
        annotator = ratings.annotator
        selected = among[annotator]
        if not selected.all():
            log_density, annotator = log_density[selected], annotator[selected]
    else:
        item, annotator, score = _ratings_among(ratings, among)
        log_density = _compute_bounded_log_density(
            score, item, annotator, ratings.half_step, block.location, bias, sigma
        )
    return block, {
        "min_log_density": _compute_annotator_worst(
            annotator, log_density, ratings.n_annotators, np.minimum
        )
    }


def _largest_sq_residual(data, params, among):
    """The largest squared residual of each annotator ``among`` with ratings,
    and which those are."""
    largest = data.reduce(_kernel_max_sq_residual, params.bias, among)
    rated = among & (data.n_per_annotator > 0)
    return np.where(rated, largest["max_sq_residual"], 0.0), rated


def _worst_normal(form, data, params, among):
    """Each annotator's least likely rating under the plain normal: its log density.

    Parameters
    ----------
    form : _ModelForm
    data : backend
    params : _Params
    among : ndarray of shape (n_annotators,), dtype bool
        The annotators whose ratings to read; the others' are not read.

    Returns
    -------
    worst : ndarray of shape (n_annotators,)
        ``+inf`` for an annotator without ratings or not ``among``.
    """
    largest, rated = _largest_sq_residual(data, params, among)
    one = np.ones_like(largest)
    return np.where(
        rated, _estimate_normal_log_density(largest, one, params.sigma), np.inf
    )


def _worst_student(form, data, params, among):
    """As :func:`_worst_normal`, for the t density of ``form.tail_df``."""
    largest, rated = _largest_sq_residual(data, params, among)
    log_density = _compute_student_log_density(
        np.sqrt(largest), params.sigma, form.tail_df
    )
    return np.where(rated, log_density, np.inf)


def _worst_truncated(form, data, params, among):
    """As :func:`_worst_normal`, for the truncated and the levels forms."""
    return data.reduce(
        _kernel_min_truncated_log_density, params.bias, params.sigma, among
    )["min_log_density"]


def _estimate_lapse_log_density(log_density, worst, n_per_annotator):
    """A lower bound of each annotator's good log density with one lapse allowed.

    Parameters
    ----------
    log_density : ndarray of shape (n_annotators,)
        ``sum_i log f_good(s_ia)`` of each annotator.
    worst : ndarray of shape (n_annotators,)
        The log density of its least likely rating (``+inf`` without
        ratings).
    n_per_annotator : ndarray of shape (n_annotators,)

    Returns
    -------
    lapse_log_density : ndarray of shape (n_annotators,)
        ``log_density - worst - log(n_a)``: its least likely rating replaced
        by the random density (1 in unit space), at a position unknown among
        its ratings; ``-inf`` without ratings.
    """
    rated = n_per_annotator > 0
    n = np.maximum(n_per_annotator, 1)
    return np.where(
        rated, log_density - np.where(rated, worst, 0.0) - np.log(n), -np.inf
    )


def _estimate_lapse_posterior(
    log_density, worst, n_per_annotator, pi, random_log_density
):
    """Each annotator's posterior of good with one lapse allowed.

    Parameters
    ----------
    log_density, worst, n_per_annotator
        As for :func:`_estimate_lapse_log_density`.
    pi : float
        The prior probability of a good annotator, in (0, 1).
    random_log_density : ndarray of shape (n_annotators,)
        The log density of each annotator's ratings if it is random, as in
        the fit's objective (:mod:`skem._model.random`).

    Returns
    -------
    log_posterior, log_posterior_bad : ndarray of shape (n_annotators,)
    """
    lapse = _estimate_lapse_log_density(log_density, worst, n_per_annotator)
    log_good, log_bad = _estimate_annotator_log_joint(lapse, random_log_density, pi)
    _, log_posterior, log_posterior_bad = _estimate_log_posterior(log_good, log_bad)
    return log_posterior, log_posterior_bad


def _run_lapse_posterior(data, form, run, among):
    """:func:`_estimate_lapse_posterior` of the annotators ``among`` at ``run``'s fit.

    The blocks must hold the run's locations.
    """
    params = run["params"]
    return _estimate_lapse_posterior(
        run["statistics"]["log_density"],
        form.worst(data, params, among),
        data.n_per_annotator,
        params.pi,
        data.random_log_density,
    )


def _find_lapses(data, form, run):
    """The annotators of ``run`` whose random verdict rests on one rating.

    Flagged (:func:`skem._model.evidence._flagged_annotators`) and good, at
    the run's ``pi``, once their least likely rating is allowed to be a
    lapse (:func:`_estimate_lapse_posterior`); nobody unless ``form`` gives
    each annotator its own sigma and no bias. The blocks must hold the run's
    locations; its log densities are read from its terms if they still hold
    them.

    Parameters
    ----------
    data : backend
    form : _ModelForm
    run : dict
        A run of :meth:`skem._em.driver._BaseEM._run_em`.

    Returns
    -------
    lapsed : ndarray of shape (n_annotators,), dtype bool
    """
    flagged = _flagged_annotators(run)
    if not (flagged.any() and form.noise == "per_annotator" and form.bias == "none"):
        return np.zeros_like(flagged)
    log_posterior, log_posterior_bad = _run_lapse_posterior(data, form, run, flagged)
    return flagged & (log_posterior >= log_posterior_bad)


def _report_lapses(data, form, run, lapsed):
    """``run`` with its ``lapsed`` annotators and their posterior, the lapse allowed.

    Their ratings entered EM as good, so nothing else of the run changes;
    hard EM keeps their flag, good. The blocks must hold the run's
    locations.
    """
    if not lapsed.any():
        return {**run, "lapsed": lapsed}
    log_posterior, log_posterior_bad = _run_lapse_posterior(data, form, run, lapsed)
    reported = {
        key: np.where(lapsed, value, run[key])
        for key, value in (
            ("log_posterior", log_posterior),
            ("log_posterior_bad", log_posterior_bad),
        )
    }
    if form.em == "soft":
        reported["weights"] = np.where(lapsed, np.exp(log_posterior), run["weights"])
    return {**run, **reported, "lapsed": lapsed}
