"""Regression tests for the reliability problems of issue 9, and a fuzzer.

Each test asserts something that could fail:
held-out ratings outside the training range, y in a supervised pipeline,
warm starts on items without ratings, failed fits, offsets and extreme
magnitudes, constant data, duplicate sparse entries, ties in hard EM and the
exception type of bad input.

``test_fuzz_estimators_find_no_defects`` runs ``SKEM_FUZZ_CASES`` random cases
(200 by default, a few seconds); a local hunt runs e.g.
``SKEM_FUZZ_CASES=100000 pytest tests/estimators/test_edge_cases.py -k fuzz``.
``test_fuzz_estimators_at_scale`` (marked ``slow``) runs ``SKEM_FUZZ_SLOW_CASES``
further cases (5000 by default), from seed ``SKEM_FUZZ_SLOW_START``.
The hypothesis tests use small budgets; ``HYPOTHESIS_PROFILE=stress`` runs
1500 examples each.
"""

import copy
import os
import re
import traceback
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline

from skem import AnnotatorEM, HardAnnotatorEM
from skem._em.driver import _NOISE_PRIOR_RANGE
from skem.datasets import make_ratings
from tests._helpers import ESTIMATORS, FORMS, _budget, _form_params, _judgeable

ESTIMATOR_FORMS = _form_params(estimators=ESTIMATORS)


class _strict_warnings(warnings.catch_warnings):
    """Every warning is an error, except ConvergenceWarning and the expected
    UserWarnings about the data: unrated items, and a sigma at its floor (the
    Student-t on tied ratings)."""

    def __enter__(self):
        result = super().__enter__()
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        warnings.filterwarnings("ignore", ".*have no rating", UserWarning)
        warnings.filterwarnings("ignore", ".*at its floor min_sigma", UserWarning)
        return result


def _rated_rows(X):
    if sp.issparse(X):
        X = X.toarray()
    return ~np.isnan(X).all(axis=1)


# --------------------------------------------------------------------------
# Held-out ratings outside the training range.
# --------------------------------------------------------------------------


def test_cross_val_score_is_finite_when_a_fold_holds_a_rating_beyond_training():
    """The last fold holds a rating of 5 on a [0, 1] training range: every
    fold's score is finite, not -inf or NaN."""
    X = make_ratings(30, 6, random_state=0)
    X[29, 0] = 5.0
    with _strict_warnings():
        scores = cross_val_score(AnnotatorEM(), X, cv=3, error_score="raise")
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores))


def _zero_weight_data():
    """Four precise annotators and one random one who rates every item.

    300 random ratings make that annotator's posterior underflow to exactly 0;
    the last row, held out in the last unshuffled fold, has a rating of 3 from
    them, far outside the training range [0, 1].
    """
    rng = np.random.default_rng(0)
    mu = rng.uniform(0.2, 0.8, 300)
    good = [mu + 0.01 * rng.standard_normal(300) for _ in range(4)]
    X = np.column_stack([*good, rng.uniform(0, 1, 300)])
    X[-1, 4] = 3.0
    return X


@pytest.mark.parametrize(("Estimator", "form"), ESTIMATOR_FORMS)
def test_score_samples_is_finite_for_held_out_rating_of_a_zero_weight_annotator(
    Estimator, form
):
    """score_samples is finite for every held-out row, in every fold, for
    every form, including the row whose out-of-range rating comes from an
    annotator whose weight is exactly 0."""
    X = _zero_weight_data()
    X[:-1:7, 2] = np.nan  # some missing ratings as well
    for train, test in KFold(3).split(X):
        with _strict_warnings():
            em = Estimator(**form).fit(X[train])
            log_likelihood = em.score_samples(X[test])
        assert np.all(np.isfinite(log_likelihood))
        if test[-1] == X.shape[0] - 1:
            assert em.weights_[4] == 0.0
            assert np.nanmax(X[test]) > em.score_range_[1]
            assert np.isfinite(em.score(X[test]))


# --------------------------------------------------------------------------
# y in a pipeline, gold, metadata routing.
# --------------------------------------------------------------------------


def test_supervised_pipeline_target_is_not_used_as_gold():
    """make_pipeline(AnnotatorEM(), LinearRegression()).fit(X, 1000 mu + 50)
    fits AnnotatorEM exactly as alone: mu_ on the scale of X, bit for bit."""
    X, mu, _ = make_ratings(40, 6, return_truth=True, random_state=1)
    with _strict_warnings():
        pipe = make_pipeline(AnnotatorEM(), LinearRegression()).fit(X, 1000 * mu + 50)
        alone = AnnotatorEM().fit(X)
    np.testing.assert_array_equal(pipe[0].mu_, alone.mu_)
    assert np.nanmax(pipe[0].mu_) <= 1.5


def test_gold_reaches_the_model_through_a_pipeline_step_parameter():
    """pipe.fit(X, y, annotatorem__gold=g) fixes the gold items' consensus."""
    X, mu, _ = make_ratings(40, 6, return_truth=True, random_state=1)
    gold = np.full(40, np.nan)
    gold[:5] = mu[:5] + 0.05
    with _strict_warnings():
        pipe = make_pipeline(AnnotatorEM(), LinearRegression())
        pipe.fit(X, mu, annotatorem__gold=gold)
        alone = AnnotatorEM().fit(X)
    np.testing.assert_array_equal(pipe[0].mu_[:5], gold[:5])
    assert not np.array_equal(alone.mu_[:5], gold[:5])


def test_gold_reaches_the_model_under_metadata_routing():
    """With metadata routing on and set_fit_request(gold=True), gold passed to
    Pipeline.fit reaches AnnotatorEM; the global config is restored after."""
    X, mu, _ = make_ratings(40, 6, return_truth=True, random_state=1)
    gold = np.full(40, np.nan)
    gold[:5] = mu[:5] + 0.05
    with sklearn.config_context(enable_metadata_routing=True), _strict_warnings():
        em = AnnotatorEM().set_fit_request(gold=True)
        pipe = Pipeline([("em", em), ("lr", LinearRegression())])
        pipe.fit(X, mu, gold=gold)
    np.testing.assert_array_equal(pipe[0].mu_[:5], gold[:5])
    assert not sklearn.get_config()["enable_metadata_routing"]


def test_gold_outside_an_explicit_score_range_is_a_value_error():
    """Gold 2 on score_range=(0, 1) raises a ValueError naming gold."""
    X = make_ratings(10, 4, random_state=0)
    gold = np.full(10, np.nan)
    gold[3] = 2.0
    with pytest.raises(ValueError, match="gold"):
        AnnotatorEM(score_range=(0, 1)).fit(X, gold=gold)


def test_pandas_output_has_a_consensus_column():
    """set_output(transform='pandas') names the column 'consensus', like
    get_feature_names_out()."""
    X = make_ratings(12, 4, random_state=0)
    em = AnnotatorEM().set_output(transform="pandas").fit(X)
    out = em.transform(X)
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == ["consensus"]
    assert em.get_feature_names_out().tolist() == ["consensus"]
    np.testing.assert_allclose(out["consensus"].to_numpy(), em.transform(X).squeeze())


# --------------------------------------------------------------------------
# Warm start and failed fits.
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("Estimator", "form"), ESTIMATOR_FORMS)
def test_warm_start_refit_after_an_item_had_no_rating(Estimator, form):
    """A warm refit where item 0 was unrated in the previous fit gives finite
    mu_, sigma_ and weights_, without any RuntimeWarning."""
    nan = np.nan
    em = Estimator(warm_start=True, **form)
    with _strict_warnings():
        em.fit([[nan, nan, nan], [1, 2, 3], [2, 2, 5]])
        assert np.isnan(em.mu_[0])
        em.fit([[1, 1, 4], [1, 2, 3], [2, 2, 5]])
    assert np.all(np.isfinite(em.mu_))
    assert np.all(np.isfinite(em.sigma_))
    assert np.all(np.isfinite(em.weights_))


def _snapshot(estimator):
    return {
        key: value.copy() if isinstance(value, np.ndarray) else value
        for key, value in vars(estimator).items()
    }


def _assert_same_state(before, after):
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            assert isinstance(after[key], np.ndarray), key
            assert np.array_equal(value, after[key], equal_nan=True), key
        elif isinstance(value, float) and np.isnan(value):
            assert np.isnan(after[key]), key
        else:
            assert value == after[key], key


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "failure", ["all_nan", "warm_refit_with_another_shape", "rating_outside_range"]
)
def test_a_fit_that_raises_leaves_the_estimator_as_it_was(Estimator, failure):
    """After a good fit, a fit raising ValueError leaves every attribute in
    vars(em) equal to before, and transform still works."""
    X = make_ratings(20, 7, missing_fraction=0.2, random_state=0)
    em = Estimator(warm_start=True, score_range=(0, 1)).fit(X)
    expected = em.transform(X)
    before = _snapshot(em)
    bad = {
        "all_nan": np.full((4, 7), np.nan),
        "warm_refit_with_another_shape": X[:10],
        "rating_outside_range": np.where(np.isnan(X), np.nan, X + 0.5),
    }[failure]
    with pytest.raises(ValueError):
        em.fit(bad)
    _assert_same_state(before, vars(em))
    np.testing.assert_array_equal(em.transform(X), expected)


# --------------------------------------------------------------------------
# Offsets and magnitudes.
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "Estimator", "form"),
    [
        pytest.param(seed, *case.values, marks=case.marks, id=case.id)
        for seed, case in enumerate(ESTIMATOR_FORMS)
    ],
)
def test_a_large_offset_and_tiny_scale_change_nothing_but_the_units(
    seed, Estimator, form
):
    """1e6 + 1e-6 X gives the weights of X (to 1e-6) and mu_ mapped affinely;
    with tol=0 and max_iter=50 its objective never decreases.

    ``1e6 + 1e-6 X`` rounds X to about 1e-4 of its range (the spacing of
    doubles near 1e6 is 1.2e-10), so the reference fit uses the X that the
    offset data actually hold, ``(Y - 1e6) * 1e6`` (exact up to one rounding
    of 1e-16). Every form, soft and hard, each on a panel of its own.
    """
    X0 = make_ratings(25, 6, missing_fraction=0.3, random_state=seed)
    Y = 1e6 + 1e-6 * X0
    X = (Y - 1e6) * 1e6
    with _strict_warnings():
        reference = Estimator(**form).fit(X)
        shifted = Estimator(**form).fit(Y)
        monotone = Estimator(tol=0, max_iter=50, **form).fit(Y)
    np.testing.assert_allclose(shifted.weights_, reference.weights_, rtol=0, atol=1e-6)
    # mu_ lies within a few spacings of doubles near 1e6 of the mapped value.
    np.testing.assert_allclose(
        shifted.mu_, 1e6 + 1e-6 * reference.mu_, rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(
        shifted.sigma_, 1e-6 * np.asarray(reference.sigma_), rtol=1e-5
    )
    objectives = monotone.log_likelihoods_
    decrease = objectives[:-1] - objectives[1:]
    assert np.all(decrease <= 1e-8 * (1 + np.abs(objectives[:-1])))


EXTREME_CASES = {
    "zero_and_1e200": [[0.0, 0.0], [1e200, 1e200]],
    "around_1e155": [[1e155, 2e155], [3e155, 1e155], [2e155, 2e155]],
    "around_1e300": [[1e300, 1.5e300], [1.7e300, 1e300], [1.2e300, 1.6e300]],
    "width_1e-300": [[0.0, 1e-300], [2e-300, 1e-300], [1e-300, 0.0]],
    "width_1e-300_at_1": [[1.0, 1.0 + 2.2e-16], [1.0, 1.0]],
    "constant_1e16": np.full((3, 3), 1e16).tolist(),
    "constant_1e308": np.full((3, 3), 1e308).tolist(),
    "constant_denormal": np.full((3, 3), 1e-320).tolist(),
    "subnormal_width": [[0.0, 5e-324], [5e-324, 0.0]],
    "integers_near_1e16": [[1e16, 1e16 + 2], [1e16 + 4, 1e16]],
    "span_2e300": [[-1e300, 1e300], [1e300, -1e300], [0.0, 1e300]],
    "span_2e300_weightless_item": pytest.param(
        (
            1e300
            * np.array(
                [
                    [-1, -1, 1],
                    [np.nan, np.nan, 0.5],
                    [0, 0.5, -1],
                    [np.nan, -1, -1],
                    [0.5, np.nan, 1],
                ]
            )
        ).tolist(),
    ),
    "span_beyond_double": pytest.param(
        [[1e308, -1e308], [-1e308, 1e308]],
    ),
}


@pytest.mark.parametrize(("Estimator", "form"), ESTIMATOR_FORMS)
@pytest.mark.parametrize("X", EXTREME_CASES.values(), ids=EXTREME_CASES.keys())
def test_extreme_magnitudes_fit_finitely_or_raise_a_named_value_error(
    X, Estimator, form
):
    """For every form, soft and hard: either finite weights_, sigma_, mu_,
    transform and score_samples without any RuntimeWarning, or a ValueError
    that names the score range (never an OverflowError or a warning)."""
    X = np.asarray(X, dtype=np.float64)
    with _strict_warnings():
        try:
            em = Estimator(**form).fit(X)
        except ValueError as error:
            assert "score range" in str(error)
            return
        consensus = em.transform(X)
        log_likelihood = em.score_samples(X)
    for name in ("weights_", "sigma_", "shared_sigma_", "bias_", "mu_"):
        assert np.all(np.isfinite(getattr(em, name))), name
    assert np.all(np.isfinite(em.log_likelihoods_))
    assert np.all(np.isfinite(consensus)) and np.all(np.isfinite(log_likelihood))


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
def test_a_fit_whose_sigma_ends_at_its_floor_says_so(Estimator):
    """A new user's finding: a Student-t error on ACR levels (bounded=False,
    tail=1) ended with every sigma at min_sigma, intervals of +-0.003 and an
    honest viewer newly flagged, and said nothing. The floor is named now;
    the levels form and the plain normal on the same ratings stay silent."""
    X = np.clip(np.round(1 + 4 * make_ratings(60, 8, random_state=0)), 1, 5)
    with pytest.warns(
        UserWarning, match=r"sigma ended at its floor min_sigma=0\.004"
    ) as caught:
        Estimator(score_range=(1, 5), bounded=False, tail=1.0).fit(X)
    # By weight, not by verdict: a words helper's finding ("consistent").
    assert re.search(r" \d+ of \d+ annotators weighted as good", str(caught[0].message))
    for params in ({}, {"bounded": False}):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            Estimator(score_range=(1, 5), **params).fit(X)


@pytest.mark.parametrize(
    "params, advice",
    [
        ({}, "Items they see differently, or more annotators"),
        ({"levels": None}, "read them as levels"),
        ({"bounded": False}, r"use the levels form \(bounded=True"),
    ],
)
def test_the_floor_warning_advises_what_the_form_lacks(params, advice):
    """A new user's finding: three raters who agree exactly on levels end at
    the floor in the levels form too, whose warning advised the levels form.
    Each form's warning now says what would help it."""
    X = np.array([[2, 2, 2], [3, 3, 3], [4, 4, 4], [2, 2, 2], [3, 3, 3.0]])
    with pytest.warns(UserWarning, match="sigma ended at its floor") as caught:
        AnnotatorEM(**params).fit(X)
    message = " ".join(str(w.message) for w in caught)
    assert re.search(advice, message)
    if not params:
        assert "levels form" not in message


def test_min_sigma_below_the_resolution_of_the_range_is_a_value_error():
    """min_sigma=1e-300 with a scale of width 1 is a ValueError naming it."""
    X = make_ratings(10, 4, random_state=0)
    with pytest.raises(ValueError, match="min_sigma"):
        AnnotatorEM(min_sigma=1e-300, score_range=(0, 1)).fit(X)


def test_score_range_wider_than_doubles_is_a_value_error():
    """score_range=(-1e308, 1e308) has an infinite width: a ValueError."""
    X = make_ratings(10, 4, random_state=0)
    with _strict_warnings(), pytest.raises(ValueError, match="too wide"):
        AnnotatorEM(score_range=(-1e308, 1e308)).fit(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bounded_bias_with_a_tiny_min_sigma_fits_without_runtime_warnings(
    Estimator,
):
    """An explicit min_sigma of 1e-7 of the range (the smallest allowed is
    1e-8) with biases fits without RuntimeWarnings and with a monotone
    objective; 1e-11 is refused with a ValueError naming min_sigma."""
    nan = np.nan
    X = np.array(
        [
            [-0.353, -0.513],
            [-1.243, -0.896],
            [-0.553, -0.446],
            [-0.519, -0.838],
            [nan, -1.119],
            [-0.694, -1.226],
        ]
    )
    with pytest.raises(ValueError, match="min_sigma"):
        Estimator(bias=True, noise_prior=0.5, min_sigma=1e-11).fit(X)
    width = np.nanmax(X) - np.nanmin(X)
    with _strict_warnings():
        em = Estimator(bias=True, noise_prior=0.5, min_sigma=1e-7 * width).fit(X)
    objectives = em.log_likelihoods_
    assert np.all(np.diff(objectives) >= -1e-8 * (1 + np.abs(objectives[1:])))


def test_held_out_rows_far_beyond_the_range_score_without_runtime_warnings():
    """Held-out ratings 1e10 times the training ones, with biases: finite
    log-likelihoods without RuntimeWarnings, each at most that of the best
    placed row."""
    nan = np.nan
    X = np.array(
        [
            [1.346, 1.108],
            [1.287, 1.691],
            [1.663, 1.007],
            [1.514, 1.49],
            [1.77, 0.946],
            [1.395, 1.352],
            [0.855, 1.796],
            [1.142, 1.186],
        ]
    )
    gold = np.array([nan] * 6 + [1.663, 1.346])
    with _strict_warnings():
        em = AnnotatorEM(bias=True, noise_prior=50).fit(X, gold=gold)
        log_likelihood = em.score_samples(1e10 * X[:3])
    assert np.all(np.isfinite(log_likelihood))
    assert np.all(log_likelihood < 0)


@pytest.mark.parametrize(("Estimator", "form"), ESTIMATOR_FORMS)
@pytest.mark.parametrize("far", [1e160, -1e300])
def test_held_out_rating_astronomically_far_scores_without_runtime_warnings(
    far, Estimator, form
):
    """For every form, soft and hard: a held-out rating of 1e160 (or -1e300)
    after training on [0, 1], or on the levels 1..5 (a fuzzer's finding: the
    levels' far cell squared to inf, with a RuntimeWarning), gets a finite
    score_samples and consensus, without RuntimeWarnings."""
    X = make_ratings(10, 3, random_state=0)
    for data, mid in ((X, 0.5), (np.round(4 * X) + 1, 3.0)):
        with _strict_warnings():
            em = Estimator(**form).fit(data)
            log_likelihood = em.score_samples([[far, mid, mid]])
            consensus = em.transform([[far, mid, mid]])
        assert np.all(np.isfinite(log_likelihood))
        assert np.all(np.isfinite(consensus))


@pytest.mark.parametrize(("Estimator", "form"), ESTIMATOR_FORMS)
@pytest.mark.parametrize("min_sigma", [3.0, 1e200])
def test_min_sigma_wider_than_the_range_is_respected_or_a_value_error(
    min_sigma, Estimator, form
):
    """For every form, soft and hard: a ValueError naming min_sigma, or a fit
    with finite sigma_ >= min_sigma and no RuntimeWarning."""
    X = make_ratings(20, 4, random_state=0)
    with _strict_warnings():
        try:
            em = Estimator(min_sigma=min_sigma, **form).fit(X)
        except ValueError as error:
            assert "min_sigma" in str(error)
            return
    assert np.all(np.isfinite(em.sigma_))
    assert np.min(em.sigma_) >= min_sigma * (1 - 1e-12), em.sigma_


@pytest.mark.parametrize(("Estimator", "form"), ESTIMATOR_FORMS)
def test_gold_far_outside_the_auto_range_is_a_value_error_or_fits_finitely(
    Estimator, form
):
    """Gold 1e200 for ratings in [0, 1] with score_range='auto': a ValueError
    naming gold, or finite mu_, sigma_ and weights_ without RuntimeWarnings."""
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.4]])
    with _strict_warnings():
        try:
            em = Estimator(**form).fit(X, gold=[1e200, np.nan, np.nan])
        except ValueError as error:
            assert "gold" in str(error)
            return
    for name in ("mu_", "sigma_", "weights_"):
        assert np.all(np.isfinite(getattr(em, name))), name


@pytest.mark.parametrize(
    "form", [{}, {"noise": "shared"}, {"bounded": False, "noise": "shared"}]
)
@pytest.mark.parametrize("c", [3.0, -7.0])
def test_auto_range_of_constant_data_scales_with_the_scores(form, c):
    """All ratings equal: sigma_ and the auto range scale with the value, so
    sigma_ at 1e6 c is 1e12 times sigma_ at 1e-6 c (the padding is relative)."""
    with _strict_warnings():
        small = AnnotatorEM(**form).fit(np.full((4, 3), 1e-6 * c))
        large = AnnotatorEM(**form).fit(np.full((4, 3), 1e6 * c))
    np.testing.assert_allclose(
        np.asarray(large.sigma_), 1e12 * np.asarray(small.sigma_), rtol=1e-9
    )
    np.testing.assert_allclose(
        large.score_range_, np.multiply(1e12, small.score_range_)
    )
    np.testing.assert_allclose(large.mu_, 1e6 * c)
    assert 0 < np.min(small.sigma_) < 1e-6 * abs(c)


# --------------------------------------------------------------------------
# Duplicate sparse entries, ties, exception types.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_a_sparse_matrix_with_a_repeated_entry_is_rejected(fmt):
    """A CSR/CSC matrix built from (data, indices, indptr) with one pair stored
    twice is a ValueError, as a COO matrix with a repeated (row, col) is."""
    data = np.array([1.0, 2.0, 3.0, 4.0])
    if fmt == "coo":
        X = sp.coo_matrix(
            (data, (np.array([0, 0, 1, 2]), np.array([0, 0, 1, 1]))), shape=(3, 2)
        )
    else:
        # Row (or column) 0 stores index 0 twice.
        indices, indptr = np.array([0, 0, 1, 1]), np.array([0, 2, 3, 4])
        shape = (3, 2) if fmt == "csr" else (2, 3)
        matrix = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
        X = matrix((data, indices, indptr), shape=shape)
    for Estimator in ESTIMATORS:
        with pytest.raises(ValueError, match="more than one rating"):
            Estimator().fit(X)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("form", _form_params())
def test_hard_em_does_not_depend_on_column_order_at_ties(form, seed):
    """A 5x5 integer matrix on 1..5 and its column-reversed copy give reversed
    weights_ and the same objective; two annotators and their swap too. Two
    annotators cannot be judged: the consensus counts both alike, whichever
    one EM flags."""
    rng = np.random.default_rng(seed)
    X = rng.integers(1, 6, (5, 5)).astype(np.float64)
    pair = rng.integers(1, 6, (5, 2)).astype(np.float64)
    for data in (X, pair):
        with _strict_warnings():
            forward = HardAnnotatorEM(**form).fit(data)
            backward = HardAnnotatorEM(**form).fit(data[:, ::-1])
        np.testing.assert_array_equal(backward.weights_, forward.weights_[::-1])
        assert backward.log_likelihood_ == pytest.approx(
            forward.log_likelihood_, rel=1e-12
        )
        np.testing.assert_allclose(backward.mu_, forward.mu_, rtol=1e-12, atol=1e-12)
    # Two annotators: no item has two other raters, so nobody is judged, and
    # EM's flags do not enter the consensus: swapped, it stays.
    np.testing.assert_array_equal(forward.n_judged_ratings_, [0, 0])
    swapped = copy.deepcopy(forward)
    swapped.weights_ = forward.weights_[::-1].copy()
    swapped.log_posterior_ = forward.log_posterior_[::-1].copy()
    np.testing.assert_array_equal(swapped.transform(pair), forward.transform(pair))
    if "tail" not in form:
        precision = np.broadcast_to(forward.sigma_, (2,)) ** -2.0
        alike = ((pair - forward.bias_) * precision).sum(axis=1) / precision.sum()
        np.testing.assert_allclose(forward.mu_, np.clip(alike, 1, 5), rtol=1e-12)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_pd_na_in_an_object_dataframe_means_not_rated(Estimator):
    """X as an object-dtype DataFrame holding pd.NA fits as if NaN stood there
    (numpy cannot make a float of pd.NA: it used to raise a TypeError)."""
    X = pd.DataFrame(
        {"a": [1.0, pd.NA, 2.0, 4.0], "b": [1.0, 2.0, 3.0, 4.5], "c": [1.5, 2, 3, 4]},
        dtype=object,
    )
    numeric = pd.DataFrame(
        {"a": [1.0, np.nan, 2.0, 4.0], "b": [1.0, 2.0, 3.0, 4.5], "c": [1.5, 2, 3, 4]}
    )
    expected = Estimator().fit(numeric)
    em = Estimator().fit(X)
    np.testing.assert_array_equal(em.mu_, expected.mu_)
    np.testing.assert_array_equal(em.weights_, expected.weights_)
    np.testing.assert_array_equal(em.transform(X), expected.transform(numeric))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("fill", [0.0, np.nan], ids=["fill 0", "fill NaN"])
@pytest.mark.parametrize("subtype", [float, "int64"])
@pytest.mark.parametrize("columns", ["all", "one"])
def test_a_pandas_sparse_dataframe_fits_as_its_dense_values(
    Estimator, fill, subtype, columns
):
    """A user's finding: a pandas sparse DataFrame went to a SciPy matrix,
    where a cell stored as the fill value 0 is absent: every rating of 0 was
    dropped silently; a NaN fill value was refused with pandas' own error.
    pandas reads an unstored cell as the fill value, and so does the fit,
    which warns of a fill that is a number (a frame made from a SciPy matrix
    means "not rated" there); an integer column with a NaN fill stays NaN."""
    X = np.array([[0, 0, 4], [1, 1, 0], [4, 4, 4], [3, 3, 0], [0, 1, 2.0]])
    if np.isnan(fill):
        X[X == 0] = np.nan
    dense = pd.DataFrame(X, columns=list("abc"))
    sparse = dense.copy()
    for name in "abc" if columns == "all" else "a":
        sparse[name] = sparse[name].astype(pd.SparseDtype(subtype, fill))
    kept = sparse.copy()
    expected = Estimator().fit(dense)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        em = Estimator().fit(sparse)
    said = [w for w in caught if "pandas sparse columns" in str(w.message)]
    assert len(said) == (0 if np.isnan(fill) else 1)
    np.testing.assert_array_equal(em.mu_, expected.mu_)
    np.testing.assert_array_equal(em.weights_, expected.weights_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transformed = em.transform(sparse)
    np.testing.assert_array_equal(transformed, expected.transform(dense))
    pd.testing.assert_frame_equal(sparse, kept)


@pytest.mark.parametrize("form", [{}, {"bias": True}, {"bounded": False}])
def test_a_gold_items_consensus_is_its_known_score_to_the_last_bit(form):
    """Fuzzing finding: through the unit space of an 'auto' range, a gold
    item's mu_ could miss its known score by one unit in the last place."""
    for seed in range(5):
        X = make_ratings(12, 5, score_range=(0.37, 5.13), random_state=seed)
        gold = np.full(12, np.nan)
        gold[:4] = np.round(np.random.default_rng(seed).uniform(1.3, 4.7, 4), 2)
        em = AnnotatorEM(**form).fit(X, gold=gold)
        np.testing.assert_array_equal(em.mu_[:4], gold[:4])
        assert np.all(em.mu_std_error_[:4] == 0)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_masked_entry_means_not_rated(Estimator):
    """Fuzzing finding: NumPy's conversion keeps a masked entry's value, so a
    masked 99 was fitted as a rating (the range widened to 99.5). It fits as
    NaN, in training and in transform, and the caller's array is kept."""
    X = np.array([[1.0, 2, 2, 1], [4, 4, 5, 4], [3, 3, 3, 2], [5, 5, 4, 5]])
    masked = np.ma.masked_array(X.copy(), mask=np.zeros_like(X, dtype=bool))
    masked.data[0, 0], masked.mask[0, 0] = 99.0, True
    kept = masked.copy()
    nan = X.copy()
    nan[0, 0] = np.nan
    expected = Estimator().fit(nan)
    em = Estimator().fit(masked)
    assert em.score_range_ == expected.score_range_ == (0.5, 5.5)
    np.testing.assert_array_equal(em.mu_, expected.mu_)
    np.testing.assert_array_equal(em.transform(masked), expected.transform(nan))
    np.testing.assert_array_equal(masked.data, kept.data)
    np.testing.assert_array_equal(masked.mask, kept.mask)
    integers = np.ma.masked_array(X.astype(int), mask=masked.mask)
    np.testing.assert_array_equal(Estimator().fit(integers).mu_, expected.mu_)


@pytest.mark.parametrize(
    ("params", "fit_gold"),
    [
        ({}, "object_dict"),
        ({"score_range": {"lo": 1}}, None),
        ({"init": {"a": 1}}, None),
    ],
    ids=["gold_with_a_dict", "score_range_dict", "init_dict"],
)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bad_inputs_are_value_errors_not_type_errors(Estimator, params, fit_gold):
    """gold holding a non-number, score_range={'lo': 1} and init={'a': 1}
    raise ValueError (a TypeError would escape GridSearchCV's error_score)."""
    X = make_ratings(6, 3, random_state=0)
    gold = None
    if fit_gold == "object_dict":
        gold = np.array([0.5, {"a": 1}, np.nan, np.nan, np.nan, np.nan], dtype=object)
    with pytest.raises(ValueError):
        Estimator(**params).fit(X, gold=gold)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_pd_na_in_gold_means_not_known(Estimator):
    """gold holding pd.NA (an object array or Series) fits as if NaN stood
    there."""
    X = make_ratings(6, 3, random_state=0)
    expected = Estimator().fit(X, gold=[0.5] + [np.nan] * 5).mu_
    for gold in (
        np.array([0.5] + [pd.NA] * 5, dtype=object),
        pd.Series([0.5] + [pd.NA] * 5, dtype=object),
    ):
        np.testing.assert_array_equal(Estimator().fit(X, gold=gold).mu_, expected)


# --------------------------------------------------------------------------
# Hypothesis: warm starts, held-out rows, permutations.
# --------------------------------------------------------------------------


@st.composite
def _model_matrices(draw, min_ratings_per_annotator=1):
    n_items = draw(st.integers(4, 25))
    n_annotators = draw(st.integers(2, 8))
    low, high = draw(st.sampled_from([(0.0, 1.0), (1.0, 5.0), (-3.0, 1e3)]))
    X = make_ratings(
        n_items,
        n_annotators,
        bad_fraction=draw(st.sampled_from([0.0, 0.25, 0.5])),
        sigma=draw(st.sampled_from([0.03, 0.1, 0.3])) * (high - low),
        missing_fraction=draw(st.sampled_from([0.0, 0.3, 0.6])),
        score_range=(low, high),
        random_state=draw(st.integers(0, 2**32 - 1)),
    )
    if draw(st.booleans()):
        X = np.round(X)
    n_ratings = (~np.isnan(X)).sum(axis=0)
    assume(n_ratings.min() >= min_ratings_per_annotator)
    assume(_judgeable(X))
    return X


_estimator_forms = st.tuples(st.sampled_from(ESTIMATORS), st.sampled_from(FORMS))


@settings(max_examples=_budget(25))
@given(X=_model_matrices(), model=_estimator_forms, data=st.data())
def test_warm_start_refits_with_newly_rated_items_stay_finite(X, model, data):
    """A warm refit in which previously unrated items (and new ratings) appear
    gives finite weights_, sigma_ and mu_, without RuntimeWarnings."""
    Estimator, form = model
    hidden = data.draw(st.lists(st.integers(0, X.shape[0] - 1), min_size=1, max_size=4))
    first = X.copy()
    first[hidden] = np.nan
    assume(_judgeable(first))
    em = Estimator(warm_start=True, **form)
    with _strict_warnings():
        em.fit(first)
        em.fit(X)
    assert np.all(np.isfinite(em.weights_))
    assert np.all(np.isfinite(em.sigma_))
    assert np.all(np.isfinite(em.mu_))


@settings(max_examples=_budget(25))
@given(X=_model_matrices(), model=_estimator_forms, data=st.data())
def test_held_out_rows_outside_the_training_range_score_finite(X, model, data):
    """Rows with ratings far outside the training range (auto score_range)
    get a finite score_samples and a finite consensus."""
    Estimator, form = model
    width = np.nanmax(X) - np.nanmin(X) or 1.0
    shift = data.draw(st.sampled_from([-100.0, -1.5, 2.0, 1e6]))
    held_out = X[:3] + shift * width  # every rating outside the training range
    with _strict_warnings():
        em = Estimator(**form).fit(X)
        log_likelihood = em.score_samples(held_out)
        consensus = em.transform(held_out)
    assert np.all(np.isfinite(log_likelihood))
    assert np.all(np.isfinite(consensus[_rated_rows(held_out)]))


@settings(max_examples=_budget(25))
@given(
    X=_model_matrices(min_ratings_per_annotator=2),
    model=_estimator_forms,
    data=st.data(),
)
def test_permuting_annotators_permutes_weights(X, model, data):
    """Relabelling the annotators permutes weights_ (to 1e-6) for data drawn
    from make_ratings with at least two ratings per annotator."""
    Estimator, form = model
    order = np.array(data.draw(st.permutations(range(X.shape[1]))))
    with _strict_warnings():
        em = Estimator(tol=1e-10, max_iter=300, **form).fit(X)
        permuted = Estimator(tol=1e-10, max_iter=300, **form).fit(X[:, order])
    np.testing.assert_allclose(permuted.weights_, em.weights_[order], atol=1e-6)


# --------------------------------------------------------------------------
# The fuzzer.
# --------------------------------------------------------------------------


def _log_uniform_noise_prior(rng, low=_NOISE_PRIOR_RANGE[0]):
    """A noise_prior drawn log-uniformly from ``low`` to the accepted top."""
    exponent = rng.uniform(np.log10(low), np.log10(_NOISE_PRIOR_RANGE[1]))
    return float(np.clip(10.0**exponent, *_NOISE_PRIOR_RANGE))


def _random_params(rng):
    """A random form, noise_prior, bias and stopping rule.

    ``noise_prior`` is log-uniform over its whole accepted range a quarter
    of the time (which mostly draws tiny values: the range spans 312
    decades), log-uniform from 1e-3 up a third of the time, where strong
    priors live, and otherwise a usual value or an end of the range.
    """
    form = FORMS[int(rng.integers(len(FORMS)))]
    draw = rng.uniform()
    if draw < 0.25:
        noise_prior = _log_uniform_noise_prior(rng)
    elif draw < 0.6:
        noise_prior = _log_uniform_noise_prior(rng, 1e-3)
    else:
        noise_prior = float(rng.choice([0.5, 50.0, 1e4, *_NOISE_PRIOR_RANGE]))
    return dict(
        form,
        noise_prior=noise_prior,
        max_iter=int(rng.integers(1, 30)),
        tol=float(rng.choice([0.0, 1e-6, 1e-3])),
    )


def _generate_case(rng):
    """Random ratings, held-out rows and parameters of one fuzz case.

    A third of the panels are tiny (1 to 3 items or annotators), where the
    bounded forms with biases used to leave the range. ``noise_prior`` comes
    from :func:`_random_params`. A warm start
    first fits another random form (a switch of form) a quarter of the time.
    """
    n_items, n_annotators = int(rng.integers(1, 13)), int(rng.integers(1, 7))
    if rng.uniform() < 1 / 3:
        n_items = min(n_items, int(rng.integers(1, 4)))
        n_annotators = min(n_annotators, int(rng.integers(1, 4)))
    kind = rng.choice(["integer", "continuous", "model", "few_levels", "constant"])
    shape = (n_items + 3, n_annotators)  # the last 3 rows are held out
    if kind == "integer":
        scores = rng.integers(1, int(rng.choice([3, 6, 11, 101])), shape).astype(float)
    elif kind == "continuous":
        scores = rng.uniform(0, 1, shape)
    elif kind == "model":
        scores = make_ratings(
            shape[0],
            n_annotators,
            bad_fraction=float(rng.uniform()),
            sigma=float(rng.choice([0.0, 0.01, 0.1, 0.5])),
            random_state=int(rng.integers(2**31)),
        )
    elif kind == "few_levels":
        scores = rng.choice([0.0, 1.0], size=shape) + rng.choice([0, 1e-12], size=shape)
    else:
        scores = np.full(shape, float(rng.choice([0.0, 1.0, -3.5])))
    exponent = float(
        rng.choice([0, 0, 0, rng.uniform(-300, 300), rng.uniform(-20, 20)])
    )
    offset = float(rng.choice([0.0, 0.0, 1.0, -1e6, 1e12])) * (
        10.0 ** float(rng.uniform(-3, 3))
    )
    with np.errstate(all="ignore"):
        scores = offset + scores * 10.0**exponent
    missing = rng.uniform(size=shape) < float(rng.choice([0.0, 0.2, 0.5, 0.9]))
    scores[missing] = np.nan
    X, held_out = scores[:n_items], scores[n_items:]
    if rng.uniform() < 0.3:  # held-out ratings beyond the training range
        with np.errstate(all="ignore"):
            held_out = held_out * float(rng.choice([-3.0, 2.0, 10.0]))

    params = _random_params(rng)
    init = rng.choice(["median", "all_good", "random", "weights"])
    if init == "weights":
        params["init"] = rng.uniform(size=n_annotators).round(1)
    else:
        params["init"] = str(init)
        params["n_init"] = int(rng.integers(1, 3))
        params["random_state"] = int(rng.integers(2**31))
    finite = scores[np.isfinite(scores)]
    if rng.uniform() < 0.3 and finite.size:
        low, high = float(finite.min()), float(finite.max())
        with np.errstate(all="ignore"):
            pad = float(rng.choice([0.0, 0.5, -0.1])) * (high - low or 1.0)
            params["score_range"] = (low - pad, high + pad)
    if rng.uniform() < 0.2:
        params["min_sigma"] = float(10.0 ** rng.uniform(-15, 0)) * (
            float(np.ptp(finite))
            if finite.size and np.isfinite(np.ptp(finite))
            else 1.0
        )
    gold = None
    if rng.uniform() < 0.3 and finite.size:
        known = rng.uniform(size=n_items) < 0.4
        gold = np.where(known, rng.choice(finite, size=n_items), np.nan)
    sparse_format = rng.choice([None, None, "csr", "csc", "coo"])
    warm = rng.uniform() < 0.25
    # The first fit of a warm start, in another form a quarter of the time.
    first_params = None
    if warm and rng.uniform() < 0.25:
        first_params = _random_params(rng)
    return {
        "X": X,
        "held_out": held_out,
        "Estimator": ESTIMATORS[int(rng.integers(2))],
        "params": params,
        "gold": gold,
        "sparse": sparse_format,
        "warm": warm,
        "first_params": first_params,
    }


def _to_sparse(X, fmt):
    rows, cols = np.nonzero(~np.isnan(X))
    coo = sp.coo_matrix((X[rows, cols], (rows, cols)), shape=X.shape)
    return coo.asformat(fmt)


def _is_monotone(objectives):
    decrease = objectives[:-1] - objectives[1:]
    allowed = 1e-8 * (1 + np.maximum(np.abs(objectives[:-1]), np.abs(objectives[1:])))
    return bool(np.all(decrease <= allowed))


def _fit_input(case):
    """The training matrix as the fit gets it: dense, or sparse."""
    if case["sparse"] is None:
        return case["X"]
    return _to_sparse(case["X"], case["sparse"])


def _run_fit(case):
    em = case["Estimator"](**(case["first_params"] or case["params"]))
    if case["warm"]:
        em.set_params(warm_start=True)
        first = case["X"].copy()
        first[::2] = np.nan
        if not np.isnan(first).all():
            try:
                em.fit(first, gold=case["gold"])
            except ValueError:
                pass
        em.set_params(**case["params"])
    return em.fit(_fit_input(case), gold=case["gold"])


def _check_fitted(em, case):
    """Problems of a successful fit, as strings."""
    problems = []
    for name in ("weights_", "sigma_", "shared_sigma_", "bias_", "pi_"):
        if not np.all(np.isfinite(getattr(em, name))):
            problems.append(f"non-finite {name}: {getattr(em, name)!r}")
    if not np.all((em.weights_ >= 0) & (em.weights_ <= 1)):
        problems.append(f"weights_ outside [0, 1]: {em.weights_!r}")
    determined = _rated_rows(case["X"])
    if case["gold"] is not None:
        determined |= ~np.isnan(case["gold"])
    if not np.all(np.isfinite(em.mu_[determined])):
        problems.append(f"non-finite mu_ of a rated item: {em.mu_!r}")
    if not np.all(np.isfinite(em.location_[determined])):
        problems.append(f"non-finite location_ of a rated item: {em.location_!r}")
    objectives = em.log_likelihoods_
    if not np.all(np.isfinite(objectives)):
        problems.append(f"non-finite objective: {objectives!r}")
    elif not _is_monotone(objectives):
        problems.append(f"objective decreases: {np.diff(objectives).min():.3g}")
    low, high = em.score_range_
    # Rounding of the map from unit scores: 1e-12 of the width, and a few
    # eps of the ends' magnitude (offsets can dwarf the width).
    slack = 1e-12 * (high - low) + 8 * np.finfo(float).eps * max(abs(low), abs(high))
    if em.bounded:
        for name in ("location_", "mu_"):
            values = getattr(em, name)[determined]
            if np.any((values < low - slack) | (values > high + slack)):
                problems.append(
                    f"{name} outside score_range_ {em.score_range_}: {values!r}"
                )
    problems += _check_transform_is_mu(em, case, slack)
    return problems


def _check_transform_is_mu(em, case, slack):
    """transform of the training ratings must give mu_ (but for gold items)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*have no rating", UserWarning)
        consensus = em.transform(_fit_input(case)).ravel()
    compared = _rated_rows(case["X"])
    if case["gold"] is not None:
        compared &= np.isnan(case["gold"])
    difference = np.abs(consensus[compared] - em.mu_[compared])
    if np.any(~(difference <= slack)):
        return [
            f"transform(X) differs from mu_ by {np.nanmax(difference):.3g}: "
            f"{consensus!r} against {em.mu_!r}"
        ]
    return []


def _runtime_warnings(caught):
    return [
        f"RuntimeWarning: {warning.message} ({warning.filename}:{warning.lineno})"
        for warning in caught
        if issubclass(warning.category, RuntimeWarning)
    ]


def _check_held_out(em, case):
    """Problems of transform and score_samples on the held-out rows."""
    held_out = case["held_out"]
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            log_likelihood = em.score_samples(held_out)
            consensus = em.transform(held_out).ravel()
        except ValueError as error:
            # Only an explicit score_range may reject held-out ratings.
            if isinstance(em.score_range, str) or not str(error).strip():
                problems.append(f"held-out ValueError: {error}")
        except Exception as error:  # noqa: BLE001 - any other one is a finding
            problems.append(f"held-out {type(error).__name__}: {error}")
        else:
            if not np.all(np.isfinite(log_likelihood)):
                problems.append(f"non-finite held-out score: {log_likelihood!r}")
            if not np.all(np.isfinite(consensus[_rated_rows(held_out)])):
                problems.append(f"non-finite held-out consensus: {consensus!r}")
    problems += _runtime_warnings(caught)
    return problems


def _fuzz_one(seed):
    """Run one case; return a list of findings (empty if all is well)."""
    case = _generate_case(np.random.default_rng(seed))
    findings = []
    em = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            em = _run_fit(case)
        except ValueError as error:
            if not str(error).strip():
                findings.append("ValueError with an empty message")
        except Exception as error:  # noqa: BLE001 - any other one is a finding
            findings.append(
                f"{type(error).__name__}: {error}\n"
                + "".join(traceback.format_exception(error)[-3:])
            )
    findings += _runtime_warnings(caught)
    if em is not None:
        findings += _check_fitted(em, case)
    if em is not None:
        findings += _check_held_out(em, case)
    if not findings:
        return []
    gold = None if case["gold"] is None else case["gold"].tolist()
    description = (
        f"{case['Estimator'].__name__}({case['params']}), sparse={case['sparse']}, "
        f"warm={case['warm']} (first {case['first_params']}), "
        f"X={case['X'].tolist()}, gold={gold}, held_out={case['held_out'].tolist()}"
    )
    return [f"seed {seed}: {finding}\n    {description}" for finding in findings]


def _assert_no_findings(seeds):
    failing = {}
    for seed in seeds:
        findings = _fuzz_one(seed)
        if findings:
            failing[seed] = findings
    report = "\n".join(
        "\n".join(findings[:3]) for findings in list(failing.values())[:5]
    )
    assert not failing, (
        f"{len(failing)} of {len(seeds)} cases have findings, seeds "
        f"{list(failing)[:20]}; the first ones:\n{report}"
    )


def test_fuzz_estimators_find_no_defects():
    """Random cases: dense and sparse matrices of random shapes (a third of
    them tiny), missingness, magnitudes and offsets, integer and continuous
    scales, every form with bias or not, noise_prior log-uniform over its
    whole accepted range and over its strong end, init, explicit or auto
    score_range, min_sigma, gold, warm refits (some from another form) and
    held-out rows.

    Each fit must either succeed with finite weights_, sigma_, mu_ and
    location_ (of rated items), a monotone objective, location_ and mu_
    inside score_range_ for the bounded forms, transform(X) equal to mu_
    (to 1e-12 of the range, gold items aside) and finite held-out scores; or
    raise a ValueError with a message. Anything else, or a RuntimeWarning, is
    a finding. ``SKEM_FUZZ_CASES`` sets the number of cases (default 200, a
    few seconds; e.g. 100000 for a local hunt). Case ``k`` uses seed ``k``:
    ``_fuzz_one(k)`` reproduces it.
    """
    _assert_no_findings(range(int(os.environ.get("SKEM_FUZZ_CASES", "200"))))


@pytest.mark.slow
def test_fuzz_estimators_at_scale():
    """The fuzzer above on ``SKEM_FUZZ_SLOW_CASES`` more seeds (default
    5000, several minutes), from ``SKEM_FUZZ_SLOW_START`` (default 1000000,
    beyond the everyday run's seeds)."""
    start = int(os.environ.get("SKEM_FUZZ_SLOW_START", "1000000"))
    n_cases = int(os.environ.get("SKEM_FUZZ_SLOW_CASES", "5000"))
    _assert_no_findings(range(start, start + n_cases))


@pytest.mark.parametrize(
    "seed",
    [1000467, 1002385, 1003630, 1004086, 3008143, 4001757, 4008688, 4028761],
)
def test_fuzz_counterexamples_of_the_levels_and_tail_stay_fixed(seed):
    """The fuzzer's findings on the levels and Student-t forms, each fixed at
    its root: held-out ratings 1e16 cells away (NaN terms), a sigma beyond the
    range (overflow in score units), a t consensus between two maxima
    (transform differed from mu_)."""
    assert _fuzz_one(seed) == []


def test_a_bounded_consensus_stays_inside_the_range_to_the_last_bit():
    """Fuzz finding: mu_ was one ulp above score_range_[1], as low + width
    did not round to high."""
    n = np.nan
    X = np.array(
        [
            [0.8202670351233707, n, 0.4366422961969156],
            [n, 0.9553270799860972, n],
            [n, n, 0.30183812769977075],
            [n, 0.564278414470959, 0.5641310040112453],
            [n, 0.907108776893197, 0.9071389414738865],
        ]
    )
    em = AnnotatorEM().fit(X)
    low, high = em.score_range_
    assert np.all((em.mu_ >= low) & (em.mu_ <= high))
    assert np.all((em.location_ >= low) & (em.location_ <= high))


def test_mu_interval_of_a_bounded_fit_stays_on_the_scale():
    """Fuzz finding: mu_interval gave [-0.039, 0.059] on (0, 1)."""
    X = np.array([[0.0, 0.02, 0.01], [1, 0.98, 0.99], [0.5, 0.52, 0.4]])
    bounded = AnnotatorEM(score_range=(0, 1)).fit(X)
    interval = bounded.mu_interval(0.95)
    assert interval.min() >= 0.0 and interval.max() <= 1.0
    assert np.all((interval[:, 0] <= bounded.mu_) & (bounded.mu_ <= interval[:, 1]))
    plain = AnnotatorEM(score_range=(0, 1), bounded=False).fit(X)
    z = 1.959963984540054
    np.testing.assert_allclose(
        plain.mu_interval(0.95)[:, 0], plain.mu_ - z * plain.mu_std_error_, rtol=1e-15
    )


def _expected_level(mu, sigma):
    """E[rating] of a normal at ``mu`` rounded to the levels 1..5."""
    from scipy.special import ndtr

    cuts = np.array([-np.inf, 1.5, 2.5, 3.5, 4.5, np.inf])
    mass = np.diff(ndtr((cuts[None, :] - mu[:, None]) / sigma), axis=1)
    return mass @ np.arange(1, 6)


def test_mu_interval_covers_the_mean_rating_on_levels_and_on_a_bounded_scale():
    """A new user's finding: on ACR 1..5 with raters of latent noise 0.3 the
    95% intervals held the item's mean rating 80% of the time (the latent
    sigma is narrower than the rounded ratings' spread), and on a bounded
    continuous scale 99% to 100% of the time (clipped ratings vary less). Sigma is
    now scaled to the ratings' observed spread."""
    rng = np.random.default_rng(0)
    mu = rng.uniform(1.5, 4.5, 500)
    X = np.clip(np.round(mu[:, None] + rng.normal(0, 0.3, (500, 10))), 1, 5)
    low, high = AnnotatorEM(score_range=(1, 5)).fit(X).mu_interval(0.95).T
    truth = _expected_level(mu, 0.3)
    assert 0.9 <= np.mean((low <= truth) & (truth <= high)) <= 0.99
    mu = rng.uniform(1.5, 4.5, 300)
    X = np.clip(mu[:, None] + rng.normal(0, 1.5, (300, 10)), 1, 5)
    noise = rng.normal(0, 1.5, 20_000)
    truth = np.array([np.mean(np.clip(m + noise, 1, 5)) for m in mu])
    low, high = AnnotatorEM(score_range=(1, 5)).fit(X).mu_interval(0.95).T
    assert 0.88 <= np.mean((low <= truth) & (truth <= high)) <= 0.985


def test_new_ratings_too_far_from_the_fitted_range_are_refused():
    """A fuzzing helper's finding: under score_range='auto' new ratings may
    lie beyond the fitted range, but at 9e307 the unit positions' squares
    and sums overflowed: transform gave NaN (or 1e308 for a mean of about
    2.5e307) and score NaN, with only a RuntimeWarning."""
    rng = np.random.default_rng(0)
    X = np.round(rng.uniform(1, 5, (8, 4)))
    em = AnnotatorEM().fit(X)
    for far in ([[9e307, -9e307, 3, 3]], [[1e308, 0, 3, 3]]):
        for method in (em.transform, em.score):
            with pytest.raises(ValueError, match="too far from the fitted score"):
                method(far)
    beyond = em.transform([[50.0, 50.0, 50.0, 50.0]])
    assert beyond[0] == 50.0


@pytest.mark.parametrize(
    ("X", "order", "form"),
    [
        (
            [
                [np.nan, np.nan, np.nan, 2, 1],
                [0, np.nan, np.nan, np.nan, 1],
                [1, 1, np.nan, 1, np.nan],
                [np.nan, 2, 0, 1, 0],
                [2, 1, np.nan, 0, np.nan],
            ],
            [3, 4, 0, 1, 2],
            {"bounded": False, "noise": "shared"},
        ),
        (
            [[0, 0, 1, 2, np.nan], [1, np.nan, 2, 2, np.nan]]
            + [[np.nan, np.nan, np.nan, 1, np.nan], [2, np.nan, np.nan, 1, 1]],
            [3, 1, 2, 0],
            {"bounded": False, "bias": True, "init": "agreement"},
        ),
    ],
)
def test_the_agreement_starts_do_not_depend_on_the_order_of_the_items(X, order, form):
    """A fuzzer's finding: an annotator whose correlation with the items is 0
    came out +-1e-16 by the order of the rows, and the agreement starts
    (init='auto' races them) then began from everyone at 1/2 in one order,
    and from that annotator alone in the other: different maxima (the first
    panel's log-likelihood -13.6 and +6.3). Reordered items give the same
    fit, reordered."""
    X = np.asarray(X, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forward = AnnotatorEM(**form).fit(X)
        reordered = AnnotatorEM(**form).fit(X[order])
    np.testing.assert_allclose(reordered.mu_, forward.mu_[order], atol=1e-9)
    np.testing.assert_allclose(reordered.weights_, forward.weights_, atol=1e-9)
    assert reordered.log_likelihood_ == pytest.approx(forward.log_likelihood_)
