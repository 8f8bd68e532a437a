"""Warm starts: a refit of the same items resumes each run where it ended.

A fit is a chain of runs: the first, with every candidate in the mixture; a
refit with fewer annotators when some could not reach a verdict or slipped
once (:meth:`skem._em.driver._BaseEM._fit_em`); and the nested run, everyone
good, that tests the mixture. The fitted attributes are the kept run's, in
score units, with a bounded form's biases centred, and ``location_`` of a
plain form is its consensus. Started from those, a refit starts where no run
ended (a Student-t consensus is not its location; the nested run's ``pi_`` is
1), and on the same ratings can end at another fit, or lower. So the
in-memory estimators keep each run's end in unit space (``_resume``), and a
warm refit on the same scale resumes each run from its own.
"""

from dataclasses import replace

import numpy as np

from skem._model.form import _Params


def _kernel_set_locations(block, location):
    """The block with the items' ``location`` (a warm start's), no terms."""
    moved = location.copy()
    return replace(block, location=moved, terms=None, sums=None, trial=None), {}


def _clip_warm_params(previous, form):
    """A previous fit's unit-space parameters, as a start for ``form``.

    Sigma and the shared scale are kept within ``[min_sigma, 1]``, where a fit
    from any start has them (a residual never exceeds the range's width): a
    previous fit on a much wider range would otherwise start this one at a
    unit-space sigma beyond what doubles can square. A shared form starts from
    the geometric mean of the sigmas, a form without biases from none.

    Parameters
    ----------
    previous : _Params
        In unit space.
    form : _ModelForm

    Returns
    -------
    params : _Params
    """
    n_annotators = previous.sigma.shape[0]
    sigma = np.clip(previous.sigma, form.min_sigma, 1.0)
    if form.noise == "shared":
        sigma = np.full(n_annotators, float(np.exp(np.mean(np.log(sigma)))))
    bias = previous.bias if form.bias == "per_annotator" else np.zeros(n_annotators)
    shared_sigma = float(np.clip(previous.shared_sigma, form.min_sigma, 1.0))
    return _Params(bias, sigma, shared_sigma, previous.pi)


def _resume(estimator, scale):
    """The ends of the previous fit's runs, if it kept them on ``scale``."""
    resume = getattr(estimator, "_resume", None)
    return resume if resume is not None and resume["scale"] == scale else None


def _warm_start(estimator, scale, form):
    """Where a warm refit's first run starts: its parameters and locations.

    The first run's own end, kept on this scale; else, on another scale
    (rescaled ratings), the fitted attributes.
    """
    resume = _resume(estimator, scale)
    if resume is None:
        previous = estimator._fitted_params(scale)
        return _clip_warm_params(previous, form), scale.to_unit(estimator.location_)
    params, location = resume["first"]
    return _clip_warm_params(params, form), location.copy()


def _warm_refit(estimator, scale, form):
    """``(in_mixture, params, locations)`` where the previous refit ended, or None.

    The refit with fewer annotators resumes from there if the mixture is the
    same again (:meth:`skem._em.driver._BaseEM._fit_em`).
    """
    resume = _resume(estimator, scale)
    if resume is None or resume["refit"] is None:
        return None
    in_mixture, params, location = resume["refit"]
    return in_mixture, _clip_warm_params(params, form), location


def _check_same_annotators(previous, current):
    """Refuse a warm refit whose named annotators are not the previous fit's.

    Each annotator resumes from the parameters at its position, so columns
    renamed or reordered would each start from another annotator's.

    Parameters
    ----------
    previous, current : ndarray of str or None
        ``feature_names_in_`` of the previous fit and of this one's ``X``,
        as many of each (the shapes are checked first); None where ``X``
        has no column names, which nothing can check.
    """
    if previous is None or current is None or np.array_equal(previous, current):
        return
    at = int(np.flatnonzero(previous != current)[0])
    raise ValueError(
        "warm_start=True needs the same annotators as the previous fit, in the "
        f"same order: column {at} of X is {current[at]!r}, where the previous "
        f"fit had {previous[at]!r}. Reorder the columns, or set warm_start=False."
    )
