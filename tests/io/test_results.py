"""The result tables' one schema, the verdicts and their reasons."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from skem import AnnotatorEM, HardAnnotatorEM, annotator_frame, consensus_frame
from skem._io.evidence import _annotator_evidence
from skem._io.verdicts import _annotator_verdicts
from skem.datasets import load_video_quality, make_ratings
from tests._helpers import _test_cluster

pd = pytest.importorskip("pandas")

ITEM_COLUMNS = ["consensus", "std_error", "ci_low", "ci_high", "n_ratings"]
ANNOTATOR_COLUMNS = [
    "p_good",
    "verdict",
    "consensus_weight",
    "n_ratings",
    "sigma",
    "bias",
    "log_posterior",
]


@pytest.fixture(scope="module")
def nflx():
    return load_video_quality()


# ------------------------------------------------------------------ schema
@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
@pytest.mark.parametrize("bounded", [True, False])
@pytest.mark.parametrize("noise", ["per_annotator", "shared"])
def test_frames_have_the_schema_with_the_callers_names(Estimator, bounded, noise):
    X = make_ratings(30, 6, bad_fraction=0.3, missing_fraction=0.2, random_state=1)
    em = Estimator(bounded=bounded, noise=noise).fit(X)
    items = consensus_frame(em, X=X, name="video")
    people = annotator_frame(em, X=X, name="subject")
    assert list(items.columns) == ["video"] + ITEM_COLUMNS + (
        ["location"] if bounded else []
    )
    assert list(people.columns) == ["subject"] + ANNOTATOR_COLUMNS
    np.testing.assert_array_equal(items["consensus"], em.mu_)
    np.testing.assert_array_equal(items["std_error"], em.mu_std_error_)
    np.testing.assert_array_equal(items["n_ratings"], (~np.isnan(X)).sum(axis=1))
    if bounded:
        np.testing.assert_array_equal(items["location"], em.location_)
    np.testing.assert_array_equal(people["n_ratings"], (~np.isnan(X)).sum(axis=0))
    np.testing.assert_array_equal(people["log_posterior"], em.log_posterior_)
    np.testing.assert_array_equal(people["consensus_weight"], em.consensus_weights_)
    np.testing.assert_array_equal(
        people["sigma"], np.broadcast_to(em.sigma_, (6,)).astype(float)
    )
    np.testing.assert_array_equal(people["bias"], np.zeros(6))
    assert set(people["verdict"]) <= {"consistent", "random", "undetermined"}


def test_a_rating_matrix_gives_the_labels_and_the_ratings():
    """``consensus_frame(em, train)`` is ``consensus_frame(em, train.items,
    X=train.X)``; it failed with NumPy's "inhomogeneous shape"."""
    from skem import long_to_matrix

    rng = np.random.default_rng(0)
    long = pd.DataFrame(
        {
            "item": np.repeat([f"clip{i}" for i in range(12)], 4),
            "annotator": np.tile(["ann", "bob", "cat", "dan"], 12),
            "score": rng.integers(1, 6, 48).astype(float),
        }
    )
    train = long_to_matrix(long)
    em = AnnotatorEM().fit(train.X)
    pd.testing.assert_frame_equal(
        consensus_frame(em, train), consensus_frame(em, train.items, X=train.X)
    )
    pd.testing.assert_frame_equal(
        annotator_frame(em, train),
        annotator_frame(em, train.annotators, X=train.X),
    )
    without_counts = consensus_frame(em, train.items)
    assert without_counts["n_ratings"].isna().all()
    assert consensus_frame(em, train)["n_ratings"].tolist() == [4] * 12


def test_a_pivoted_frame_gives_its_own_labels():
    """A pandas pivot with integer subject ids has no ``feature_names_in_``
    (scikit-learn keeps only string names): the tables took 0, 1, 2 for the
    subjects and for the clips, silently. They take the frame's columns and
    index."""
    rng = np.random.default_rng(0)
    clips = [f"clip{i}" for i in range(10)]
    long = pd.DataFrame(
        {
            "item": np.repeat(clips, 4),
            "annotator": np.tile([103, 12044, 12073, 9], 10),
            "score": rng.integers(1, 6, 40).astype(float),
        }
    )
    wide = long.pivot(index="item", columns="annotator", values="score")
    em = AnnotatorEM().fit(wide)
    assert not hasattr(em, "feature_names_in_")
    people = annotator_frame(em, X=wide)
    assert people["annotator"].tolist() == [9, 103, 12044, 12073]
    assert consensus_frame(em, X=wide)["item"].tolist() == sorted(clips)
    assert annotator_frame(em, ["a", "b", "c", "d"], X=wide)["annotator"][0] == "a"


def test_labels_of_the_wrong_kind_are_named():
    """The long table, or the item labels, in place of the labels."""
    X = make_ratings(12, 4, random_state=0)
    em = AnnotatorEM().fit(X)
    table = pd.DataFrame({"item": range(48), "annotator": 0, "score": 1.0})
    with pytest.raises(ValueError, match=r"got a table of shape \(48, 3\)\. Pass"):
        consensus_frame(em, table)
    with pytest.raises(ValueError, match="as many as the items: are these the items'"):
        annotator_frame(em, [f"clip{i}" for i in range(12)])
    with pytest.raises(ValueError, match="Expected 12 item labels.*; got 5\\."):
        consensus_frame(em, range(5))


def test_bias_column_is_the_fitted_bias():
    X = make_ratings(30, 6, bad_fraction=0.3, random_state=1)
    X[:, 0] = np.clip(X[:, 0] + 0.1, 0, 1)
    em = AnnotatorEM(bias=True).fit(X)
    people = annotator_frame(em, X=X)
    np.testing.assert_array_equal(people["bias"], em.bias_)
    assert people["bias"][0] > 0.05


def test_hard_em_reports_the_soft_posterior_not_its_zero_one_weights():
    X = make_ratings(6, 6, bad_fraction=0.3, random_state=0)
    em = HardAnnotatorEM().fit(X)
    p_good = annotator_frame(em)["p_good"].to_numpy()
    np.testing.assert_allclose(p_good, np.exp(em.log_posterior_))
    assert set(em.weights_) == {0.0, 1.0}
    assert np.any((p_good > 0.01) & (p_good < 0.99))


def test_soft_em_p_good_is_its_weights():
    X = make_ratings(30, 6, bad_fraction=0.3, random_state=1)
    em = AnnotatorEM().fit(X)
    np.testing.assert_allclose(annotator_frame(em)["p_good"], em.weights_)


def test_n_ratings_are_the_same_from_dense_sparse_and_frame_ratings():
    X = make_ratings(20, 5, missing_fraction=0.4, random_state=2)
    em = AnnotatorEM().fit(X)
    expected = annotator_frame(em, X=X)
    rows, cols = np.nonzero(~np.isnan(X))
    stored_nan = sp.csr_matrix(np.nan_to_num(X, nan=-1.0))
    stored_nan.data[stored_nan.data == -1.0] = np.nan
    with_na = pd.DataFrame(X).astype(object).where(~np.isnan(X), pd.NA)
    # Every form of "not rated" that fit reads: a stored NaN and pd.NA in an
    # object array were refused as "infinite" and "not numbers".
    for other in (
        sp.csr_matrix((X[rows, cols], (rows, cols)), shape=X.shape),
        pd.DataFrame(X).astype(object).where(~np.isnan(X), None),
        stored_nan,
        with_na.to_numpy(),
    ):
        assert other is not stored_nan or np.isnan(other.data).any()
        pd.testing.assert_frame_equal(annotator_frame(em, X=other), expected)
        pd.testing.assert_frame_equal(
            consensus_frame(em, X=other), consensus_frame(em, X=X)
        )


def test_without_ratings_the_counts_are_missing_and_verdicts_use_p_good():
    X = make_ratings(30, 6, bad_fraction=0.3, random_state=1)
    em = AnnotatorEM().fit(X)
    people = annotator_frame(em)
    items = consensus_frame(em)
    assert str(people["n_ratings"].dtype) == "Int64"
    assert people["n_ratings"].isna().all() and items["n_ratings"].isna().all()
    np.testing.assert_array_equal(
        people["verdict"], annotator_frame(em, X=X)["verdict"]
    )


def test_the_callers_ratings_are_not_modified():
    X = make_ratings(20, 5, missing_fraction=0.4, random_state=2)
    em = AnnotatorEM().fit(X)
    frame = pd.DataFrame(X)
    before, frame_before = X.copy(), frame.copy()
    annotator_frame(em, X=X)
    consensus_frame(em, X=frame)
    np.testing.assert_array_equal(X, before)
    pd.testing.assert_frame_equal(frame, frame_before)


# --------------------------------------------------------------- intervals
def test_intervals_never_leave_the_scale_of_a_bounded_form(nflx):
    em = AnnotatorEM(score_range=nflx.score_range).fit(nflx.data)
    items = consensus_frame(em)
    low, high = nflx.score_range
    assert items["ci_low"].min() >= low and items["ci_high"].max() <= high
    raw_high = em.mu_ + stats.norm.ppf(0.975) * em.mu_std_error_
    assert raw_high.max() > high  # so the clipping did something
    np.testing.assert_allclose(items["ci_high"], np.minimum(raw_high, high), rtol=1e-15)
    # The estimator's own intervals are the same (fuzz finding: they left it).
    np.testing.assert_array_equal(
        em.mu_interval(0.95), items[["ci_low", "ci_high"]].to_numpy()
    )


def test_an_item_with_one_rating_gets_the_interval_of_its_raters_noise(nflx):
    """Issue 16: a lone rating's consensus is that rating, and its standard
    error that rater's sigma times the correction that every item shares
    (the ratings' spread in units of sigma, here about 0.9), not a near-zero
    one; the interval stays on the scale."""
    X = np.vstack([nflx.data, np.full(nflx.data.shape[1], np.nan)])
    X[-1, 0] = 3.0
    em = AnnotatorEM(score_range=nflx.score_range).fit(X)
    last = consensus_frame(em).iloc[-1]
    assert last["consensus"] == pytest.approx(3.0)
    rated = ~np.isnan(X[0])
    precision = np.sum(em.consensus_weights_[rated] / em.sigma_[rated] ** 2)
    correction = em.mu_std_error_[0] * np.sqrt(precision)
    assert 0.5 < correction < 1.5
    assert last["std_error"] == pytest.approx(correction * em.sigma_[0])
    assert 1.0 <= last["ci_low"] < 3.0 < last["ci_high"] <= 5.0


def test_intervals_of_the_plain_normal_form_are_not_clipped(nflx):
    em = AnnotatorEM(score_range=nflx.score_range, bounded=False).fit(nflx.data)
    items = consensus_frame(em, level=0.9)
    np.testing.assert_array_equal(
        items[["ci_low", "ci_high"]].to_numpy(), em.mu_interval(0.9)
    )


# ---------------------------------------------------------------- verdicts
def test_nflx_outliers_are_random_with_their_reasons(nflx):
    em = AnnotatorEM(score_range=nflx.score_range).fit(nflx.data)
    people = annotator_frame(em, nflx.annotators, X=nflx.data, name="viewer")
    random = people.loc[people["verdict"] == "random", "viewer"]
    assert sorted(random) == [26, 27, 28, 29]
    evidence = _annotator_evidence(em, nflx.data)
    _, reasons = _annotator_verdicts(
        people["p_good"], evidence.per_annotator, em.n_judged_ratings_, evidence.r
    )
    assert reasons[26] == (
        "answers look random: 79 ratings, agreement with the consensus r = "
        f"{evidence.r[26]:.2f}"
    )
    assert reasons[0] == f"consistent: 79 ratings, r = {evidence.r[0]:.2f}"


def test_nflx_reasons_give_the_deviation_from_the_consensus(nflx):
    em = AnnotatorEM(score_range=nflx.score_range).fit(nflx.data)
    people = annotator_frame(em, nflx.annotators, X=nflx.data)
    evidence = _annotator_evidence(em, nflx.data)
    rated = ~np.isnan(nflx.data[:, 26])
    rms = np.sqrt(np.mean((nflx.data[rated, 26] - em.mu_[rated]) ** 2))
    np.testing.assert_allclose(evidence.deviation[26], rms, rtol=1e-12)
    typical = np.median(evidence.deviation[people["verdict"] == "consistent"])
    assert evidence.deviation[26] > 2 * typical


def test_judged_ratings_count_only_items_that_two_others_rated():
    """A 1-vs-1 disagreement judges nobody: annotator 3 has 4 ratings, 2 of
    them on items with at least two other raters, and is undetermined
    without X as with it."""
    nan = np.nan
    X = np.array(
        [
            [0.2, 0.25, 0.3, nan],
            [0.8, 0.75, 0.7, 0.8],
            [0.5, 0.55, nan, nan],
            [0.1, nan, nan, 0.9],
            [nan, nan, nan, 0.3],
            [0.6, 0.65, nan, 0.6],
        ]
    )
    em = AnnotatorEM().fit(X)
    np.testing.assert_array_equal(em.n_judged_ratings_, [3, 3, 2, 2])
    np.testing.assert_array_equal(
        _annotator_evidence(em, X).per_annotator, [5, 4, 2, 4]
    )
    for table in (annotator_frame(em, X=X), annotator_frame(em)):
        assert table["verdict"].tolist()[2:] == ["undetermined"] * 2


def test_bad_ratings_names_and_labels_get_clear_errors():
    X = make_ratings(10, 4, random_state=0)
    em = AnnotatorEM().fit(X)
    with pytest.raises(ValueError, match=r"shape \(10, 4\).*got shape \(10, 3\)"):
        annotator_frame(em, X=X[:, :3])
    with pytest.raises(ValueError, match="shape"):
        consensus_frame(em, X=X[0])
    with pytest.raises(ValueError, match="infinite rating"):
        consensus_frame(em, X=np.where(X > 0.9, np.inf, X))
    with pytest.raises(ValueError, match="X must hold numbers"):
        annotator_frame(em, X=np.full((10, 4), "a", dtype=object))
    with pytest.raises(ValueError, match="'consensus' is already one of"):
        consensus_frame(em, name="consensus")
    with pytest.raises(ValueError, match="name must be a string"):
        annotator_frame(em, name=3)
    with pytest.raises(ValueError, match="Expected 4 annotator labels"):
        annotator_frame(em, ["a"])


# -------------------------------------------------------------------- Dask
# Each of these tests fits on a LocalCluster: they are slow.
@pytest.fixture(scope="module")
def dask_fit():
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    from skem.dask import DaskAnnotatorEM

    X = make_ratings(30, 6, bad_fraction=0.3, missing_fraction=0.2, random_state=1)
    rows, cols = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"video": rows, "subject": [f"s{a}" for a in cols], "score": X[rows, cols]}
    )
    cluster = _test_cluster(1)
    with distributed.Client(cluster):
        em = DaskAnnotatorEM(item="video", annotator="subject")
        em.fit(dd.from_pandas(frame, npartitions=2))
        consensus = em.consensus_.compute().sort_index().reset_index()
        model = em.to_in_memory()
    cluster.close()
    return em, consensus, model, frame


@pytest.mark.slow
def test_a_dask_fit_gives_the_annotator_schema_with_its_labels(dask_fit):
    em, _, model, frame = dask_fit
    people = annotator_frame(em, name="subject")
    assert list(people.columns) == ["subject"] + ANNOTATOR_COLUMNS
    assert people["subject"].tolist() == [f"s{a}" for a in range(6)]
    matrix = pd.DataFrame(
        frame.pivot(index="video", columns="subject", values="score")
    ).to_numpy()
    in_memory = annotator_frame(model.estimator, X=matrix, name="subject")
    np.testing.assert_allclose(people["p_good"], in_memory["p_good"], rtol=1e-10)
    assert people["verdict"].tolist() == in_memory["verdict"].tolist()
    # Counted by the fit, with no X: no <NA>.
    assert people["n_ratings"].tolist() == in_memory["n_ratings"].tolist()


@pytest.mark.slow
def test_dask_consensus_has_the_columns_and_intervals_of_consensus_frame(dask_fit):
    _, consensus, model, frame = dask_fit
    matrix = frame.pivot(index="video", columns="subject", values="score").to_numpy()
    expected = consensus_frame(model.estimator, model.items, X=matrix, name="video")
    assert list(consensus.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(consensus, expected, check_dtype=False, rtol=1e-8)


@pytest.mark.slow
def test_a_dask_fit_whose_client_closed_says_where_its_consensus_was(
    dask_fit, tmp_path
):
    """to_in_memory and report after the fit's client closed failed with
    Dask's "Missing dependency _item_frame-...": the error says that the
    consensus stayed on the cluster, and what to do before closing."""
    pytest.importorskip("matplotlib")
    from skem import report

    message = "held by the cluster it was fitted on, and no Dask client is open"
    with pytest.raises(RuntimeError, match=message):
        dask_fit[0].to_in_memory()
    with pytest.raises(RuntimeError, match="before the client closes"):
        report(dask_fit[0], tmp_path / "page.html")
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_the_item_table_of_a_dask_fit_points_to_its_consensus(dask_fit):
    """Fuzzing finding: consensus_frame on a Dask fit failed with a bare
    AttributeError on mu_; it says where its consensus is and how to bring it
    into memory. (report brings it into memory itself: tests/dask.)"""
    with pytest.raises(TypeError, match=r"to_in_memory\(\), then consensus_frame"):
        consensus_frame(dask_fit[0])


def test_a_model_pickled_before_consensus_weights_makes_its_tables():
    """A fit of an older skem has no ``consensus_weights_``: the tables read
    the weights from its posterior, as the consensus does."""
    X = make_ratings(20, 5, bad_fraction=0.2, random_state=0)
    em = AnnotatorEM().fit(X)
    expected = annotator_frame(em, X=X)
    del em.consensus_weights_
    pd.testing.assert_frame_equal(annotator_frame(em, X=X), expected)
