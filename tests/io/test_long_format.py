"""Long-format ratings to matrices and back."""

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
from skem._io.long_format import _shown
from skem.datasets import load_video_quality, make_ratings

# The lecture's model, which these tests check against its formulas.
LECTURE = {"bounded": False, "noise": "shared"}

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

    em = AnnotatorEM(**LECTURE).fit(matrix.X)
    reference = AnnotatorEM(**LECTURE).fit(X)  # same order: labels sort like positions
    consensus = consensus_frame(em, matrix.items, X=matrix.X, name="video")
    reliability = annotator_frame(em, matrix.annotators, X=matrix.X, name="subject")
    assert list(consensus.columns) == [
        "video",
        "consensus",
        "std_error",
        "ci_low",
        "ci_high",
        "n_ratings",
    ]
    assert list(reliability.columns) == [
        "subject",
        "p_good",
        "verdict",
        "consensus_weight",
        "n_ratings",
        "sigma",
        "bias",
        "log_posterior",
    ]
    by_item = consensus.set_index("video")
    np.testing.assert_allclose(
        by_item["consensus"].loc[list(items)].to_numpy(), reference.mu_, rtol=1e-10
    )
    np.testing.assert_array_equal(
        by_item["n_ratings"].loc[list(items)].to_numpy(), (~np.isnan(X)).sum(axis=1)
    )
    by_annotator = reliability.set_index("subject")["p_good"]
    np.testing.assert_array_equal(
        by_annotator.loc[list(annotators)].to_numpy() >= 0.5, good
    )


def test_three_arrays_give_csr_by_default_even_when_dense():
    """The return type does not depend on the density of the ratings."""
    dense = long_to_matrix(
        None,
        item=["a", "a", "b", "b"],
        annotator=[1, 2, 1, 2],
        score=[1.0, 2.0, 3.0, 4.0],
    )
    assert sp.issparse(dense.X) and dense.X.format == "csr"
    np.testing.assert_array_equal(dense.X.toarray(), [[1.0, 2.0], [3.0, 4.0]])
    frame = long_to_matrix(
        None,
        item=["a", "a", "b", "b"],
        annotator=[1, 2, 1, 2],
        score=[1.0, 2.0, 3.0, 4.0],
        sparse=False,
    )
    assert isinstance(frame.X, pd.DataFrame)
    np.testing.assert_array_equal(frame.X.to_numpy(), [[1.0, 2.0], [3.0, 4.0]])
    sparse = long_to_matrix(
        None, item=["a", "b", "c"], annotator=[1, 2, 3], score=[1.0, 0.0, 4.0]
    )
    assert sp.issparse(sparse.X) and sparse.X.nnz == 3
    assert sparse.X[1, 1] == 0.0  # the explicit zero survives


@pytest.mark.parametrize("sparse", ["auto", "yes", None])
def test_sparse_is_true_or_false_and_auto_is_gone(sparse):
    """sparse='auto', deprecated in 0.2, was removed in 0.6."""
    with pytest.raises(ValueError, match="sparse must be True .* or False"):
        long_to_matrix(None, item=["a"], annotator=[1], score=[1.0], sparse=sparse)


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


def test_the_mean_of_huge_duplicates_is_finite():
    """Summed before dividing, two ratings of 1.5e308 averaged to inf."""
    frame = pd.DataFrame(
        {"item": ["x", "x"], "annotator": ["a", "a"], "score": [1.5e308, 1.7e308]}
    )
    averaged = long_to_matrix(frame, duplicates="mean", sparse=False)
    assert averaged.X.to_numpy()[0, 0] == pytest.approx(1.6e308)
    # Repeats of one score average to it exactly: three 0.7 summed and
    # divided were 0.6999999999999998, which took a 0.1-step scale off its
    # levels (fuzz finding).
    for score, n in ((1.0, 6), (0.7, 3), (0.1, 7)):
        frame = pd.DataFrame(
            {"item": ["x"] * n, "annotator": ["a"] * n, "score": [score] * n}
        )
        assert long_to_matrix(frame, duplicates="mean").X.toarray()[0, 0] == score
    mixed = pd.DataFrame(
        {"item": ["x"] * 3, "annotator": ["a"] * 3, "score": [1.0, 2.0, 4.0]}
    )
    assert long_to_matrix(mixed, duplicates="mean").X.toarray()[0, 0] == pytest.approx(
        7 / 3
    )


def test_mixed_labels_in_plain_lists_stay_distinct():
    """np.asarray([7, "7"]) is ['7', '7']: the lists path made the
    annotators 7 and '7' one column, as a DataFrame does not."""
    from_lists = long_to_matrix(
        None, item=["a", "b"], annotator=[7, "7"], score=[1.0, 5.0], sparse=False
    )
    assert from_lists.annotators.tolist() == [7, "7"]
    assert from_lists.X.shape == (2, 2)
    # Not a repeat, which duplicates='mean' averaged to 3.0 in one column.
    same_item = long_to_matrix(
        None, item=["a", "a"], annotator=[7, "7"], score=[1.0, 5.0], sparse=False
    )
    assert same_item.X.to_numpy().tolist() == [[1.0, 5.0]]
    new = pd.DataFrame({"item": ["c"], "annotator": [7], "score": [1.0]})
    given = long_to_matrix(new, annotators=[7, "x"], sparse=False)
    np.testing.assert_array_equal(given.X.to_numpy(), [[1.0, np.nan]])
    plain = long_to_matrix(None, item=["a", "b"], annotator=["u", "v"], score=[1, 2])
    assert plain.annotators.dtype.kind == "U"


@pytest.mark.parametrize(
    "labels",
    [
        [2**53, 2**53 + 1, 0.5],  # NumPy made them floats: two became one
        [2**63, 2**63 + 1, -1],  # too large for int64 and uint64 together
        [7, True],  # True was the number 1
    ],
)
def test_labels_numpy_would_coerce_stay_as_given(labels):
    """Fuzz finding: any mix that np.asarray gives one type could merge or
    rename labels that pandas keeps distinct."""
    n = len(labels)
    matrix = long_to_matrix(None, item=["i"] * n, annotator=labels, score=[1.0] * n)
    assert sorted(map(repr, matrix.annotators.tolist())) == sorted(map(repr, labels))
    again = long_to_matrix(
        None, item=["i"] * n, annotator=labels, score=[1.0] * n, annotators=labels
    )
    assert again.X.nnz == n


def test_labels_without_an_order_are_a_value_error():
    with pytest.raises(ValueError, match="'annotator' mixes labels that cannot"):
        long_to_matrix(None, item=["i", "i"], annotator=[b"a", 1], score=[1, 2])


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
            r"finite numbers; row 0 has inf \(1 such row\(s\) in all\)\.$",
        ),
        (
            pd.DataFrame({"item": [1, 2], "annotator": [1, 1], "score": [1, np.nan]}),
            {},
            r"row 1 has nan \(.*\)\. .*missing.*df\.dropna\(subset=\['score'\]\)",
        ),
        (
            pd.DataFrame({"it": [1], "annotator": [1], "score": [1.0]}),
            {},
            "no column 'item'.*Name the columns with item=, annotator= and score=",
        ),
        (
            pd.DataFrame({"item": [1], " annotator": [1], " score": [1.0]}),
            {},
            "no columns 'annotator', 'score'.*the column ' annotator' has spaces "
            "around its name",
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
    em = AnnotatorEM(**LECTURE).fit(frame)
    assert annotator_frame(em)["annotator"].tolist() == ["ann", "bob", "cat"]
    assert consensus_frame(em)["item"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="Expected 3 item labels"):
        consensus_frame(em, ["a"])


# ------------------------------------------------------- new ratings
def _train_and_new():
    """Training ratings of ann, bob, cat (cat random) and new ratings of them."""
    train = pd.DataFrame(
        {
            "item": ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
            "annotator": ["ann", "bob", "cat"] * 3,
            "score": [4.0, 4.2, 1.0, 2.0, 2.1, 5.0, 3.0, 3.1, 2.0],
        }
    )
    # Not every training annotator rates the new items, nor in sorted order.
    new = pd.DataFrame(
        {
            "item": ["e", "d", "d"],
            "annotator": ["ann", "cat", "bob"],
            "score": [4.0, 5.0, 2.0],
        }
    )
    return train, new


@pytest.mark.parametrize("sparse", [True, False])
def test_new_long_ratings_reach_transform_with_the_training_annotators(sparse):
    train, new = _train_and_new()
    fitted = long_to_matrix(train, sparse=sparse)
    em = AnnotatorEM(**LECTURE, score_range=(1, 5)).fit(fitted.X)
    # Without the training labels the new matrix has the wrong columns.
    assert long_to_matrix(new, sparse=sparse).X.shape == (2, 3)
    assert long_to_matrix(new.iloc[:2], sparse=sparse).X.shape[1] == 2

    labels = em.feature_names_in_ if not sparse else fitted.annotators
    matrix = long_to_matrix(new.iloc[:2], annotators=labels, sparse=sparse)
    np.testing.assert_array_equal(matrix.annotators, ["ann", "bob", "cat"])
    np.testing.assert_array_equal(matrix.items, ["d", "e"])
    assert matrix.X.shape == (2, 3)
    if sparse:
        np.testing.assert_array_equal(
            matrix.X.toarray(), [[0.0, 0.0, 5.0], [4.0, 0.0, 0.0]]
        )
        assert matrix.X.nnz == 2
    else:
        assert list(matrix.X.columns) == ["ann", "bob", "cat"]
        np.testing.assert_array_equal(
            matrix.X.to_numpy(), [[np.nan, np.nan, 5.0], [4.0, np.nan, np.nan]]
        )

    full = long_to_matrix(new, annotators=labels, sparse=sparse)
    consensus = em.transform(full.X).ravel()
    same = np.array([[np.nan, 2.0, 5.0], [4.0, np.nan, np.nan]])
    expected = em.transform(same if sparse else pd.DataFrame(same, columns=labels))
    np.testing.assert_allclose(consensus, expected.ravel())
    np.testing.assert_allclose(consensus, [2.0, 4.0], atol=1e-3)  # cat ignored


def test_annotators_give_the_columns_in_their_order():
    _, new = _train_and_new()
    matrix = long_to_matrix(new, annotators=["zed", "cat", "ann", "bob"])
    np.testing.assert_array_equal(matrix.annotators, ["zed", "cat", "ann", "bob"])
    np.testing.assert_array_equal(
        matrix.X.toarray(), [[0.0, 5.0, 0.0, 2.0], [0.0, 0.0, 4.0, 0.0]]
    )
    assert matrix.X.nnz == 3
    # Integer labels, as a RatingMatrix or a CSV gives them.
    ints = long_to_matrix(
        None,
        item=[0, 0, 1],
        annotator=[30, 10, 30],
        score=[1.0, 2.0, 3.0],
        annotators=np.array([30, 20, 10]),
    )
    np.testing.assert_array_equal(ints.X.toarray(), [[1.0, 0.0, 2.0], [3.0, 0, 0]])


def test_unknown_annotators_raise_by_default_naming_one():
    _, new = _train_and_new()
    with pytest.raises(
        ValueError,
        match=r"1 rating\(s\) are by 1 annotator\(s\) not in annotators, "
        r"for example 'cat'.*unknown_annotators='drop'",
    ):
        long_to_matrix(new, annotators=["ann", "bob"])
    with pytest.raises(ValueError, match="2 rating"):
        long_to_matrix(new, annotators=["bob"], unknown_annotators="raise")


def test_unknown_annotators_drop_with_a_warning_saying_how_many():
    _, new = _train_and_new()
    extra = pd.DataFrame(
        {
            "item": ["d", "f", "f"],
            "annotator": ["yan", "zoe", "yan"],
            "score": [1, 2, 3],
        }
    )
    ratings = pd.concat([new, extra], ignore_index=True)
    with pytest.warns(
        UserWarning,
        match=r"Dropped 3 rating\(s\) by 2 annotator\(s\) not in annotators "
        r"\(for example 'yan'\); 1 item\(s\) are left without any rating",
    ):
        matrix = long_to_matrix(
            ratings,
            annotators=["ann", "bob", "cat"],
            unknown_annotators="drop",
            sparse=False,
        )
    # The item rated only by unknown annotators stays, as an unrated row.
    np.testing.assert_array_equal(matrix.items, ["d", "e", "f"])
    np.testing.assert_array_equal(
        matrix.X.to_numpy(),
        [[np.nan, 2.0, 5.0], [4.0, np.nan, np.nan], [np.nan, np.nan, np.nan]],
    )
    with pytest.warns(UserWarning, match=r"Dropped 1 rating\(s\).*'cat'\)\.$") as w:
        long_to_matrix(new, annotators=["ann", "bob"], unknown_annotators="drop")
    assert w[0].filename == __file__  # the caller's line, not skem's


@pytest.mark.parametrize("action", ["raise", "drop"])
def test_no_known_annotator_at_all_hints_at_the_label_type(action):
    with pytest.raises(ValueError, match=r"None of the 2 rating.*7 is not '7'"):
        long_to_matrix(
            None,
            item=["a", "b"],
            annotator=["1", "2"],
            score=[1.0, 2.0],
            annotators=[1, 2],
            unknown_annotators=action,
        )


@pytest.mark.parametrize(
    "labels, message",
    [
        (["ann", "bob", "ann", "bob"], "label 'ann' more than once .2 repeated"),
        (["ann", None, "bob"], "missing label at position 1"),
        ([1.0, np.nan], "missing label at position 1"),
        ([], "non-empty 1-D"),
        ([["ann", "bob"]], "non-empty 1-D"),
    ],
)
def test_annotators_labels_are_validated(labels, message):
    _, new = _train_and_new()
    with pytest.raises(ValueError, match=message):
        long_to_matrix(new, annotators=labels)


def test_bad_unknown_annotators_value():
    _, new = _train_and_new()
    with pytest.raises(ValueError, match="unknown_annotators must be 'raise' or"):
        long_to_matrix(new, annotators=["ann"], unknown_annotators="ignore")


def test_duplicates_are_named_with_the_given_labels():
    frame = pd.DataFrame(
        {"item": ["x", "x"], "annotator": ["bob", "bob"], "score": [1.0, 3.0]}
    )
    with pytest.raises(ValueError, match="Annotator 'bob' rated item 'x'"):
        long_to_matrix(frame, annotators=["ann", "bob"])
    averaged = long_to_matrix(frame, annotators=["ann", "bob"], duplicates="mean")
    np.testing.assert_array_equal(averaged.X.toarray(), [[0.0, 2.0]])
    assert averaged.X.nnz == 1


# ------------------------------------------------------------ uncertainty
@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
def test_std_error_is_corrected_sigma_over_root_weight_sum(Estimator):
    X, _, _ = make_ratings(
        40, 6, missing_fraction=0.3, return_truth=True, random_state=2
    )
    em = Estimator(**LECTURE).fit(X)
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
    with pytest.raises(ValueError, match="level must be a number"):
        em.mu_interval("0.9")
    with pytest.raises(ValueError, match="level must be a number"):
        consensus_frame(em, level=None)


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
    em = AnnotatorEM(**LECTURE).fit(X)
    low, high = em.mu_interval(0.95).T
    coverage = np.mean((low <= mu) & (mu <= high))
    # 4000 items: the binomial standard error of the coverage is 0.0034.
    assert 0.935 < coverage < 0.965


def test_gold_items_have_zero_std_error():
    X, mu, _ = make_ratings(30, 5, return_truth=True, random_state=0)
    y = np.full(30, np.nan)
    y[:3] = mu[:3]
    em = AnnotatorEM(**LECTURE).fit(X, gold=y)
    np.testing.assert_array_equal(em.mu_std_error_[:3], 0.0)
    assert np.all(em.mu_std_error_[3:] > 0)


# ---------------------------------------------------------------- datasets
@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
@pytest.mark.parametrize("init", ["all_good", "median", "random"])
def test_netflix_outliers_have_the_four_lowest_weights(Estimator, init):
    nflx = load_video_quality()
    em = Estimator(
        **LECTURE, init=init, random_state=0, score_range=nflx.score_range
    ).fit(nflx.data)
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
    median = AnnotatorEM(**LECTURE, init="median").fit(nflx.data)
    all_good = AnnotatorEM(**LECTURE, init="all_good").fit(nflx.data)
    assert median.sigma_ > 0.5
    assert median.log_likelihood_ == pytest.approx(all_good.log_likelihood_, rel=1e-6)


def test_a_named_column_that_is_repeated_is_refused_by_name():
    """Not pandas' "Data must be 1-dimensional"."""
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame(
        [[1, "a", 2.0, 3.0], [1, "b", 3.0, 4.0]],
        columns=["item", "annotator", "score", "score"],
    )
    with pytest.raises(ValueError, match="column 'score' more than once"):
        long_to_matrix(table)


def test_complex_scores_are_refused_not_cut_to_their_real_part():
    """A fuzzing helper's finding: 1 + 5j became the rating 1.0, with only
    pandas' ComplexWarning; the estimators refuse complex input."""
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame(
        {"item": list("aabb"), "annotator": list("xyxy"), "score": [2, 1 + 5j, 3, 4]}
    )
    with pytest.raises(ValueError, match=r"real numbers; .* such as \(1\+5j\)"):
        long_to_matrix(table)


@pytest.mark.parametrize("kind", ["datetime", "timedelta"])
def test_dates_and_durations_are_refused_not_read_as_their_ticks(kind):
    """A fuzzing helper's finding: a column of dates fitted as microseconds
    since 1970, on a '1,000,000 to 5,000,000 scale'."""
    pd = pytest.importorskip("pandas")
    convert = pd.to_datetime if kind == "datetime" else pd.to_timedelta
    table = pd.DataFrame(
        {
            "item": list("aabb"),
            "annotator": list("xyxy"),
            "score": convert([1, 2, 3, 4], unit="s"),
        }
    )
    with pytest.raises(ValueError, match="'score' must hold finite numbers; row 0"):
        long_to_matrix(table)


def test_a_score_too_large_for_a_float_is_refused_with_its_row():
    """A Python int beyond float64 names its row, not a bare OverflowError."""
    with pytest.raises(
        ValueError,
        match=r"row 1 has 10{36}\.\.\. \(401 characters\)",
    ):
        long_to_matrix(item=[0, 1], annotator=[0, 0], score=[1, 10**400])


@pytest.mark.parametrize(
    "value, shown",
    [
        (np.float64("nan"), "nan"),
        (np.int64(3), "3"),
        ("abc", "'abc'"),
        ("x" * 100, "'" + "x" * 36 + "... (102 characters)"),
    ],
)
def test_shown_values_are_python_reprs_clipped(value, shown):
    assert _shown(value) == shown


def test_data_that_is_no_pandas_dataframe_is_refused_with_what_to_do():
    """Fuzzing finding: a dict gave an AttributeError, a Dask DataFrame an
    AttributeError on a Series, a pyarrow Table a list of its values as
    column names."""
    dd = pytest.importorskip("dask.dataframe")
    table = pd.DataFrame({"item": [1], "annotator": [1], "score": [1.0]})
    for data, shown in (
        (table.to_dict("list"), "got dict."),
        (dd.from_pandas(table, npartitions=1), "got dask.DataFrame. "),
    ):
        with pytest.raises(ValueError, match="must be a pandas DataFrame") as error:
            long_to_matrix(data)
        assert shown in str(error.value)
