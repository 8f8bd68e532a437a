"""Long-format ratings to matrices and back, and the bundled dataset."""

import numpy as np
import pytest
import scipy.sparse as sp

from skem import (
    AnnotatorEM,
    HardAnnotatorEM,
    annotator_frame,
    consensus_frame,
    long_to_matrix,
)
from skem.datasets import load_video_quality, make_ratings

pd = pytest.importorskip("pandas")


def _long(X, item_labels, annotator_labels):
    rows, cols = np.nonzero(~np.isnan(X))
    return pd.DataFrame(
        {
            "item": np.asarray(item_labels)[rows],
            "annotator": np.asarray(annotator_labels)[cols],
            "score": X[rows, cols],
        }
    )


@pytest.mark.parametrize(
    "item_labels, annotator_labels",
    [
        (
            lambda n: [f"clip-{i:03d}" for i in range(n)],
            lambda m: [f"w{a}" for a in range(m)],
        ),
        (lambda n: np.arange(n) * 7 + 100, lambda m: np.arange(m) * 3),
    ],
    ids=["string ids", "integer ids"],
)
@pytest.mark.parametrize("sparse", [True, False])
def test_round_trip_long_matrix_fit_tidy_keeps_labels(
    item_labels, annotator_labels, sparse
):
    X, mu, good = make_ratings(
        60, 8, missing_fraction=0.5, return_truth=True, random_state=0
    )
    items, annotators = item_labels(60), annotator_labels(8)
    shuffled = _long(X, items, annotators).sample(frac=1.0, random_state=0)

    matrix = long_to_matrix(shuffled, sparse=sparse)
    assert sp.issparse(matrix.X) == sparse
    np.testing.assert_array_equal(matrix.items, np.sort(items))
    np.testing.assert_array_equal(matrix.annotators, np.sort(annotators))

    em = AnnotatorEM().fit(matrix.X)
    reference = AnnotatorEM().fit(X)  # same order: labels sort like positions
    consensus = consensus_frame(em, matrix.items)
    reliability = annotator_frame(em, matrix.annotators)
    assert list(consensus.columns) == [
        "item",
        "consensus",
        "std_error",
        "ci_low",
        "ci_high",
    ]
    assert list(reliability.columns) == ["annotator", "weight", "good", "log_posterior"]
    by_item = consensus.set_index("item")["consensus"]
    np.testing.assert_allclose(
        by_item.loc[list(items)].to_numpy(), reference.mu_, rtol=1e-10
    )
    by_annotator = reliability.set_index("annotator")["good"]
    np.testing.assert_array_equal(by_annotator.loc[list(annotators)].to_numpy(), good)


def test_three_arrays_and_auto_sparsity():
    dense = long_to_matrix(
        None,
        item=["a", "a", "b", "b"],
        annotator=[1, 2, 1, 2],
        score=[1.0, 2.0, 3.0, 4.0],
    )
    assert isinstance(dense.X, pd.DataFrame)
    np.testing.assert_array_equal(dense.X.to_numpy(), [[1.0, 2.0], [3.0, 4.0]])
    sparse = long_to_matrix(
        None, item=["a", "b", "c"], annotator=[1, 2, 3], score=[1.0, 0.0, 4.0]
    )
    assert sp.issparse(sparse.X) and sparse.X.nnz == 3
    assert sparse.X[1, 1] == 0.0  # the explicit zero survives


def test_sparse_path_builds_no_dense_intermediate():
    """10^5 items x 10^4 annotators would be 8 GB dense; CSR holds 10^6 ratings."""
    n_items, per_item = 100_000, 10
    rng = np.random.RandomState(0)
    items = np.repeat(np.arange(n_items), per_item)
    annotators = (items * 7 + np.tile(np.arange(per_item) * 997, n_items)) % 10_000
    scores = rng.uniform(1, 5, items.size)
    scores[::100] = 0.0
    matrix = long_to_matrix(None, item=items, annotator=annotators, score=scores)
    assert sp.issparse(matrix.X)
    assert matrix.X.shape == (n_items, 10_000)
    assert matrix.X.nnz == items.size  # explicit zeros stored


def test_duplicates_raise_with_an_example_or_average():
    frame = pd.DataFrame(
        {
            "item": ["x", "x", "y"],
            "annotator": ["ann", "ann", "ann"],
            "score": [1.0, 3.0, 2.0],
        }
    )
    with pytest.raises(
        ValueError, match="Annotator 'ann' rated item 'x' more than once"
    ):
        long_to_matrix(frame)
    averaged = long_to_matrix(frame, duplicates="mean", sparse=False)
    np.testing.assert_array_equal(averaged.X.to_numpy().ravel(), [2.0, 2.0])


@pytest.mark.parametrize(
    "frame, kwargs, message",
    [
        (
            pd.DataFrame({"item": [1], "rater": [1], "score": [1.0]}),
            {},
            "no column 'annotator'",
        ),
        (
            pd.DataFrame({"item": [1], "who": [1], "score": [1.0]}),
            {"annotator": "who"},
            None,
        ),
        (
            pd.DataFrame({"item": [1, 2], "annotator": [1, 1], "score": ["4", "good"]}),
            {},
            "row 1 has 'good'",
        ),
        (
            pd.DataFrame({"item": [1], "annotator": [1], "score": [np.inf]}),
            {},
            "finite numbers",
        ),
        (
            pd.DataFrame({"item": [1, None], "annotator": [1, 1], "score": [1.0, 2.0]}),
            {},
            "'item' has a missing label in row 1",
        ),
        (pd.DataFrame({"item": [], "annotator": [], "score": []}), {}, "empty"),
    ],
)
def test_bad_tables_get_clear_errors(frame, kwargs, message):
    if message is None:
        assert long_to_matrix(frame, **kwargs).X.shape == (1, 1)
        return
    with pytest.raises(ValueError, match=message):
        long_to_matrix(frame, **kwargs)


def test_frames_default_to_positions_and_feature_names():
    X = np.array([[4.0, 4.2, 1.0], [2.0, 2.1, 5.0], [3.0, 3.1, 2.0]])
    frame = pd.DataFrame(X, columns=["ann", "bob", "cat"])
    em = AnnotatorEM().fit(frame)
    assert annotator_frame(em)["annotator"].tolist() == ["ann", "bob", "cat"]
    assert consensus_frame(em)["item"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="Expected 3 items labels"):
        consensus_frame(em, ["a"])


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
def test_annotator_frame_carries_the_log_posterior(Estimator):
    X = make_ratings(30, 6, bad_fraction=0.3, random_state=1)
    em = Estimator().fit(X)
    table = annotator_frame(em)
    assert list(table.columns) == ["annotator", "weight", "good", "log_posterior"]
    np.testing.assert_array_equal(table["log_posterior"], em.log_posterior_)
    np.testing.assert_array_equal(table["weight"], em.weights_)
    assert np.all(table["log_posterior"] <= 0)


# ------------------------------------------------------------ uncertainty
@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
def test_std_error_is_corrected_sigma_over_root_weight_sum(Estimator):
    X, _, _ = make_ratings(
        40, 6, missing_fraction=0.3, return_truth=True, random_state=2
    )
    em = Estimator().fit(X)
    w = np.where(np.isnan(X), 0.0, em.weights_)  # each rating's weight
    W, V = w.sum(axis=1), (w**2).sum(axis=1)
    corrected_sigma = em.sigma_ * np.sqrt(W.sum() / (W - V / W).sum())
    np.testing.assert_allclose(em.mu_std_error_, corrected_sigma / np.sqrt(W))
    interval = em.mu_interval(0.9)
    np.testing.assert_allclose(
        interval[:, 1] - em.mu_, 1.6448536 * em.mu_std_error_, rtol=1e-6
    )
    np.testing.assert_allclose(em.mu_ - interval[:, 0], interval[:, 1] - em.mu_)
    with pytest.raises(ValueError, match="level must lie in"):
        em.mu_interval(1.5)


def test_intervals_cover_the_truth_at_about_their_level():
    X, mu, _ = make_ratings(
        4000,
        10,
        bad_fraction=0.3,
        sigma=0.05,
        missing_fraction=0.5,
        return_truth=True,
        random_state=3,
    )
    em = AnnotatorEM().fit(X)
    low, high = em.mu_interval(0.95).T
    coverage = np.mean((low <= mu) & (mu <= high))
    # 4000 items: the binomial standard error of the coverage is 0.0034.
    assert 0.935 < coverage < 0.965


def test_gold_items_have_zero_std_error():
    X, mu, _ = make_ratings(30, 5, return_truth=True, random_state=0)
    y = np.full(30, np.nan)
    y[:3] = mu[:3]
    em = AnnotatorEM().fit(X, y)
    np.testing.assert_array_equal(em.mu_std_error_[:3], 0.0)
    assert np.all(em.mu_std_error_[3:] > 0)


# ---------------------------------------------------------------- datasets
@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
@pytest.mark.parametrize("init", ["all_good", "median", "random"])
def test_netflix_outliers_have_the_four_lowest_weights(Estimator, init):
    nflx = load_video_quality()
    em = Estimator(init=init, random_state=0, score_range=nflx.score_range).fit(
        nflx.data
    )
    # Soft weights are distinct (about 1e-113 to 1e-60 here); hard ones are 0/1,
    # so log_posterior_ ranks those.
    ranking = em.weights_ if Estimator is AnnotatorEM else em.log_posterior_
    lowest = nflx.annotators[np.argsort(ranking, kind="stable")[:4]]
    assert sorted(lowest) == [26, 27, 28, 29]
    assert sorted(nflx.annotators[np.argsort(em.log_posterior_)[:4]]) == [
        26,
        27,
        28,
        29,
    ]
    assert np.all(em.weights_[np.isin(nflx.annotators, nflx.unreliable)] < 1e-50)


def test_median_init_does_not_collapse_on_a_discrete_scale():
    """On 1..5 most residuals from an integer median are 0: a MAD sigma is 0."""
    nflx = load_video_quality()
    median = AnnotatorEM(init="median").fit(nflx.data)
    all_good = AnnotatorEM(init="all_good").fit(nflx.data)
    assert median.sigma_ > 0.5
    assert median.log_likelihood_ == pytest.approx(all_good.log_likelihood_, rel=1e-6)


def test_load_video_quality_variants():
    public = load_video_quality(with_outliers=False, as_frame=True)
    assert public.data.shape == (79, 26)
    assert len(public.frame) == 2054 and list(public.frame.columns) == [
        "item",
        "annotator",
        "score",
    ]
    assert public.unreliable.size == 0
    assert not np.isnan(public.data).any()
    assert np.nanmin(public.data) >= 1 and np.nanmax(public.data) <= 5
    assert "Apache License 2.0" in public.DESCR
