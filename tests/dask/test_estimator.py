"""skem.dask: the same EM on a Dask cluster gives the in-memory numbers."""

import itertools
import os
import signal
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from skem import (  # noqa: E402
    AnnotatorEM,
    HardAnnotatorEM,
    annotator_frame,
    consensus_frame,
    long_to_matrix,
    report,
)
from skem.dask import DaskAnnotatorEM, DaskHardAnnotatorEM  # noqa: E402
from skem.datasets import make_ratings  # noqa: E402
from tests._helpers import _panel_with_unanimous_items, _test_cluster  # noqa: E402

PAIRS = [(DaskAnnotatorEM, AnnotatorEM), (DaskHardAnnotatorEM, HardAnnotatorEM)]
FORMS = [
    {"bounded": bounded, "noise": noise, "bias": bias}
    for bounded, noise, bias in itertools.product(
        [True, False], ["per_annotator", "shared"], [False, True]
    )
]
RTOL = 1e-10


def test_without_a_client_the_error_says_how_to_start_one():
    frame = _long_ratings()
    try:
        distributed.default_client()
        pytest.skip("a default client exists in this process")
    except ValueError:
        pass
    with pytest.raises(ValueError, match="start a client"):
        DaskAnnotatorEM().fit(dd.from_pandas(frame, npartitions=1))


@pytest.fixture(scope="module")
def client():
    cluster = _test_cluster(2)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def _long_ratings(n_items=40, n_annotators=9, seed=0, integer=True):
    """Long-format ratings with string items, integer annotators, 1 random rater."""
    X = make_ratings(
        n_items,
        n_annotators,
        bad_fraction=0.25,
        missing_fraction=0.3,
        score_range=(1.0, 5.0),
        random_state=seed,
    )
    if integer:
        X = np.round(X, 1)  # a discrete scale: 1.0, 1.1, ..., 5.0
    item, annotator = np.nonzero(~np.isnan(X))
    return pd.DataFrame(
        {
            "item": [f"clip-{i:03d}" for i in item],
            "annotator": annotator * 10,
            "score": X[item, annotator],
        }
    )


def _gold(frame):
    items = sorted(frame["item"].unique())
    return pd.Series({items[0]: 1.5, items[3]: 4.0})


def _in_memory(Estimator, frame, gold=None, **params):
    matrix = long_to_matrix(frame)
    gold_array = None
    if gold is not None:
        gold_array = gold.reindex(matrix.items).to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Estimator(**params).fit(matrix.X, gold=gold_array), matrix


def _dask_fit(Estimator, ddf, gold=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Estimator(**params).fit(ddf, gold=gold)


def _assert_same_fit(dask_em, em, matrix):
    np.testing.assert_array_equal(dask_em.annotators_, matrix.annotators)
    assert dask_em.n_iter_ == em.n_iter_
    assert dask_em.converged_ == em.converged_
    for name in (
        "weights_",
        "consensus_weights_",
        "sigma_",
        "bias_",
        "log_likelihoods_",
    ):
        np.testing.assert_allclose(
            getattr(dask_em, name), getattr(em, name), rtol=RTOL, atol=1e-12
        )
    for name in ("pi_", "shared_sigma_", "log_likelihood_"):
        assert getattr(dask_em, name) == pytest.approx(getattr(em, name), rel=RTOL)
    assert dask_em.score_range_ == em.score_range_
    frame = dask_em.consensus_.compute().loc[matrix.items]
    expected = consensus_frame(em, matrix.items, X=matrix.X, name=dask_em.item)
    assert [dask_em.item, *frame.columns] == list(expected.columns)
    assert ("location" in frame.columns) == dask_em.bounded
    for name in frame.columns:
        np.testing.assert_allclose(
            frame[name], expected[name], rtol=RTOL, atol=1e-12, err_msg=name
        )
    np.testing.assert_array_equal(frame["n_ratings"], np.diff(matrix.X.tocsr().indptr))
    np.testing.assert_array_equal(
        dask_em.n_ratings_per_annotator_,
        np.bincount(matrix.X.tocsr().indices, minlength=len(matrix.annotators)),
    )


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_workers_outside_the_mixture_match_the_in_memory_fit(client, Dask, Memory):
    """Workers with one or two ratings, whose items may lie in different
    partitions, enter EM as good on the cluster as in memory."""
    frame = _long_ratings()
    rng = np.random.default_rng(1)
    items = frame["item"].unique()
    sparse = pd.DataFrame(
        {
            "item": rng.choice(items, 12),
            "annotator": np.repeat(np.arange(1000, 1008), [1, 1, 2, 2, 1, 2, 1, 2]),
            "score": np.round(rng.uniform(1, 5, 12), 1),
        }
    ).drop_duplicates(["item", "annotator"])
    frame = pd.concat([frame, sparse], ignore_index=True)
    em, matrix = _in_memory(Memory, frame)
    n_ratings = np.bincount(matrix.X.tocsr().indices, minlength=em.weights_.shape[0])
    assert np.sum(n_ratings <= 2) == 8
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3))
    _assert_same_fit(dask_em, em, matrix)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_candidates_too_noisy_to_judge_match_the_in_memory_fit(client, Dask, Memory):
    """A noisy sparse crowd where the first fit leaves workers with four or
    five ratings out of the mixture: the second run, from the first's fit,
    gives the in-memory attributes on 3 partitions too."""
    from tests.estimators.test_estimators import _one_or_two_ratings_per_worker

    X, _, _ = _one_or_two_ratings_per_worker(16)
    item, annotator = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"item": item.astype(str), "annotator": annotator, "score": X[item, annotator]}
    )
    em, matrix = _in_memory(Memory, frame)
    assert np.any(~em.judged_ & (em.n_judged_ratings_ >= 3))
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3))
    _assert_same_fit(dask_em, em, matrix)
    np.testing.assert_array_equal(dask_em.judged_, em.judged_)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_a_rater_who_follows_the_items_is_spared_as_in_memory(client, Dask, Memory):
    """Counts whose honest overcounter the likelihood condemns, though its
    ratings follow the items (:func:`skem._model.others._find_followers`):
    on 3 partitions the same fit, the same rater not judged, and for that
    reason, in memory too."""
    from tests.model.test_others import _overcounter_panel

    X = _overcounter_panel(3)
    item, annotator = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"item": item.astype(str), "annotator": annotator, "score": X[item, annotator]}
    )
    em, matrix = _in_memory(Memory, frame)
    assert em._followers[0] and not em.judged_[0]
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3))
    _assert_same_fit(dask_em, em, matrix)
    np.testing.assert_array_equal(dask_em.judged_, em.judged_)
    for fit in (dask_em, dask_em.to_in_memory().estimator):
        np.testing.assert_array_equal(fit._followers, em._followers)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_a_mixture_failing_its_test_gives_the_in_memory_nested_fit(
    client, Dask, Memory, without_the_predictive_check
):
    """Honest, noisy raters, three per item, where the mixture from the median
    start flags some and fails its test against everyone good: the nested
    fit, on 3 partitions as in memory (nobody flagged, those the mixture
    flagged not judged). (The others' consensus would spare them first: the
    check is off.)"""
    from tests.model.test_evidence import _honest_panel

    X = _honest_panel(5)
    item, annotator = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"item": item.astype(str), "annotator": annotator, "score": X[item, annotator]}
    )
    params = {"score_range": (0, 1), "init": "median"}
    em, matrix = _in_memory(Memory, frame, **params)
    assert em.pi_ > 1 - 1e-5 and not np.any(em.weights_ < 0.5)
    assert 0 < em.judged_.sum() < em.judged_.size
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3), **params)
    _assert_same_fit(dask_em, em, matrix)
    np.testing.assert_array_equal(dask_em.judged_, em.judged_)
    # Why they are undetermined, in the tables' reasons, in memory too.
    assert em._mixture_flagged.any()
    for fit in (dask_em, dask_em.to_in_memory().estimator):
        np.testing.assert_array_equal(fit._mixture_flagged, em._mixture_flagged)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_the_others_consensus_spares_whom_it_spares_in_memory(client, Dask, Memory):
    """A hard panel (1..5, honest noise 4/3, 8 to 10 raters per item, 2 of 20
    random) whose first fit flags an honest rater that the others' consensus
    cannot call random: on 3 partitions the same fit, the same rater not
    judged (:mod:`skem._model.predictive`)."""
    from tests.model.test_predictive import _hard_panel

    X, _ = _hard_panel(9)
    item, annotator = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"item": item.astype(str), "annotator": annotator, "score": X[item, annotator]}
    )
    em, matrix = _in_memory(Memory, frame)
    np.testing.assert_array_equal(np.flatnonzero(~em.judged_), [3])
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3))
    _assert_same_fit(dask_em, em, matrix)
    np.testing.assert_array_equal(dask_em.judged_, em.judged_)


@pytest.mark.slow  # a LocalCluster
def test_the_closed_reading_of_a_slider_spares_whom_it_spares_in_memory(client):
    """Hard judgments on a 0..100 slider whose honest workers use its ends
    differently: the reading with the cells closed at the ends spares them
    on 3 partitions as in memory, with the same fit."""
    from tests.model.test_predictive import _slider_panel

    X, _, random = _slider_panel(0)
    item, annotator = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"item": item.astype(str), "annotator": annotator, "score": X[item, annotator]}
    )
    Dask, Memory = PAIRS[0]
    em, matrix = _in_memory(Memory, frame)
    assert not np.any(em.weights_[~random] < 0.5)
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3))
    _assert_same_fit(dask_em, em, matrix)
    np.testing.assert_array_equal(dask_em.judged_, em.judged_)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_a_slip_is_read_as_in_memory(client, Dask, Memory):
    """A careful rater with one rating far off, beside random raters: on 3
    partitions it is lapsed and good, as in memory, with the same fit."""
    from tests.model.test_lapses import _panel_with_a_slip

    X, _ = _panel_with_a_slip(1)
    item, annotator = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"item": item.astype(str), "annotator": annotator, "score": X[item, annotator]}
    )
    em, matrix = _in_memory(Memory, frame, score_range=(0, 1))
    assert em.lapsed_.sum() == 1
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3), score_range=(0, 1))
    _assert_same_fit(dask_em, em, matrix)
    np.testing.assert_array_equal(dask_em.lapsed_, em.lapsed_)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_raters_of_one_level_are_read_as_in_memory(client, Dask, Memory):
    """Raters who give 3 to every item, beside honest ones, on 3 partitions:
    each annotator's ends are combined over the partitions, and the fit is
    the in-memory one, with the straightliners random."""
    from tests.model.test_random import _panel_with_straightliners

    X, _ = _panel_with_straightliners(0)
    item, annotator = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"item": item.astype(str), "annotator": annotator, "score": X[item, annotator]}
    )
    em, matrix = _in_memory(Memory, frame)
    assert (em.weights_[:6] < 0.5).all() and (em.weights_[6:] > 0.5).all()
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3))
    _assert_same_fit(dask_em, em, matrix)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_half_joint_steps_match_the_in_memory_fit(client, Dask, Memory, monkeypatch):
    """The bounded forms' joint step at half its proposal (every joint step
    of both fits, forced), on levels with random raters, on 3 partitions:
    the in-memory fit, iteration by iteration."""
    monkeypatch.setattr("skem._model.truncated._JOINT_STEP_FRACTIONS", (0.5,))
    frame = _long_ratings(n_items=35, n_annotators=12, seed=3)
    params = {"score_range": (1, 5), "max_iter": 12}
    em, matrix = _in_memory(Memory, frame, **params)
    assert em.levels_ is not None and np.any(em.weights_ < 0.5)
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3), **params)
    _assert_same_fit(dask_em, em, matrix)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("form", FORMS, ids=lambda f: "-".join(map(str, f.values())))
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_every_form_with_gold_matches_the_in_memory_fit(client, Dask, Memory, form):
    """Each model form, soft and hard, with gold items, on 3 partitions, gives
    the in-memory estimator's attributes to 1e-10 and the same n_iter_."""
    frame = _long_ratings()
    gold = _gold(frame)
    # Twelve iterations, converged or not: the same path, step by step.
    params = {**form, "max_iter": 12}
    em, matrix = _in_memory(Memory, frame, gold, **params)
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3), gold, **params)
    _assert_same_fit(dask_em, em, matrix)
    # A gold item's consensus is its known score to the last bit, as in memory.
    consensus = dask_em.consensus_["consensus"].compute()
    np.testing.assert_array_equal(consensus.loc[gold.index], gold.to_numpy())


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_tail_auto_chooses_the_in_memory_tail_and_fit(client, Dask, Memory):
    """tail='auto' on the cluster keeps the tail and the fit it keeps in
    memory, and its consensus_ and transform read that tail."""
    frame = _long_ratings()
    rng = np.random.default_rng(4)
    slips = rng.random(len(frame)) < 0.05
    frame.loc[slips, "score"] += rng.choice([-2.0, 2.0], slips.sum())
    # One start and twelve iterations a tail, converged or not: the same path.
    params = {"bounded": False, "tail": "auto", "init": "median", "max_iter": 12}
    em, matrix = _in_memory(Memory, frame, **params)
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3), **params)
    assert em.tail_ is not None and dask_em.tail_ == em.tail_
    _assert_same_fit(dask_em, em, matrix)
    consensus = dask_em.transform(dd.from_pandas(frame, npartitions=2)).compute()
    np.testing.assert_allclose(
        consensus.loc[matrix.items], em.transform(matrix.X).ravel(), rtol=RTOL
    )


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_the_log_scale_gives_the_in_memory_fit(client, Dask, Memory):
    """score_scale='log' on the cluster: the in-memory fit, its consensus_
    with intervals on the logarithms, transform, and the error on a rating
    that is not positive."""
    frame = _long_ratings()
    frame["score"] = np.exp(frame["score"])  # relative errors, 2.7 to 148
    params = {"score_scale": "log", "bias": True}
    em, matrix = _in_memory(Memory, frame, _gold(frame).map(np.exp), **params)
    dask_em = _dask_fit(
        Dask, dd.from_pandas(frame, npartitions=3), _gold(frame).map(np.exp), **params
    )
    _assert_same_fit(dask_em, em, matrix)
    consensus = dask_em.transform(dd.from_pandas(frame, npartitions=2)).compute()
    np.testing.assert_allclose(
        consensus.loc[matrix.items], em.transform(matrix.X).ravel(), rtol=RTOL
    )
    frame.loc[0, "score"] = 0.0
    with pytest.raises(ValueError, match="must be positive"):
        dask_em.transform(dd.from_pandas(frame, npartitions=2)).compute()
    # A warm start on the other scale starts cold, as in memory.
    data = dd.from_pandas(frame.iloc[3:], npartitions=3)
    warm = _dask_fit(Dask, data, warm_start=True, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.set_params(score_scale="linear").fit(data)
    cold = _dask_fit(Dask, data, bias=True)
    np.testing.assert_array_equal(warm.weights_, cold.weights_)
    np.testing.assert_array_equal(warm.sigma_, cold.sigma_)
    # The fit counts distinct values, which is all it gathers.
    frame.loc[1:2, "score"] = 0.0
    with pytest.raises(ValueError, match="column 'score' has 1 distinct value"):
        _dask_fit(Dask, dd.from_pandas(frame, npartitions=3), **params)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("bias", [False, True])
def test_an_item_whose_ratings_all_agree_has_their_score_as_in_memory(client, bias):
    """Without biases a unanimous item's consensus is its ratings' score to the
    last bit, in ``consensus_`` and in ``transform``, as in memory; through
    the unit space it missed it by a unit in the last place (3 for
    2.9999999999999996). With biases it is not their score, as in memory."""
    X, agree = _panel_with_unanimous_items()
    item, annotator = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"item": item, "annotator": annotator, "score": X[item, annotator]}
    )
    em, matrix = _in_memory(AnnotatorEM, frame, bias=bias)
    dask_em = _dask_fit(
        DaskAnnotatorEM, dd.from_pandas(frame, npartitions=3), bias=bias
    )
    unanimous = matrix.items[agree]
    score = pd.Series(np.nanmax(X, axis=1), index=matrix.items)[unanimous]
    consensus = dask_em.consensus_["consensus"].compute().loc[unanimous]
    transformed = dask_em.transform(dd.from_pandas(frame, npartitions=2)).compute()
    if bias:
        assert np.any(consensus != score)
        return
    np.testing.assert_array_equal(em.mu_[agree], score)
    np.testing.assert_array_equal(consensus, score)
    np.testing.assert_array_equal(transformed.loc[unanimous], score)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("Dask, Memory", PAIRS, ids=["soft", "hard"])
def test_biases_against_items_held_at_the_top_match_the_in_memory_fit(
    client, Dask, Memory
):
    """Without gold the bounded forms shift the biases against the items held
    at an end of the scale (skem._model.shift): its sums over 3 partitions
    give the in-memory fit, step by step."""
    frame = _long_ratings()
    top = frame["item"].isin(sorted(frame["item"].unique())[:3])
    frame.loc[top, "score"] = 5.0
    params = {"bias": True, "max_iter": 12}
    em, matrix = _in_memory(Memory, frame, **params)
    assert np.sum(em.location_ >= em.score_range_[1]) >= 3
    dask_em = _dask_fit(Dask, dd.from_pandas(frame, npartitions=3), **params)
    _assert_same_fit(dask_em, em, matrix)


def _partitionings(frame, tmp_path):
    by_item = frame.sort_values("item")
    n_items = frame["item"].nunique()
    split = tmp_path / "split"
    split.mkdir()
    # Items split over input files: every file holds part of most items.
    for k in range(3):
        frame.iloc[k::3].to_parquet(split / f"part-{k}.parquet")
    return {
        "one partition": dd.from_pandas(frame, npartitions=1),
        "one item per partition": dd.from_pandas(
            by_item.set_index("item"), npartitions=n_items, sort=True
        ).reset_index(),
        "items split over files": dd.read_parquet(str(split)),
    }


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize(
    "init", ["median", "all_good", "random", "array"], ids=lambda i: str(i)
)
def test_every_init_and_odd_partitionings_match(client, init, tmp_path, monkeypatch):
    """Every init, on one partition, on one item per input partition and on
    items split over three Parquet files, gives the in-memory fit to 1e-10
    (the blocks' outputs summed in a tree of fan-in 3)."""
    monkeypatch.setattr("skem.dask._backend._REDUCTION_FAN_IN", 3)
    frame = _long_ratings(n_items=8, seed=1, integer=False)
    params = {"init": init, "random_state": 0, "max_iter": 8}
    if init == "random":
        params["n_init"] = 2
    if init == "array":
        params["init"] = np.linspace(0.2, 0.9, frame["annotator"].nunique())
    em, matrix = _in_memory(AnnotatorEM, frame, **params)
    for name, ddf in _partitionings(frame, tmp_path).items():
        dask_em = _dask_fit(DaskAnnotatorEM, ddf, **params)
        try:
            _assert_same_fit(dask_em, em, matrix)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from error


@pytest.mark.slow  # a LocalCluster
def test_partitions_that_split_items_are_shuffled_whole(client):
    """An item whose ratings sit in different input partitions is still one
    item: its consensus is that of all its ratings (a fragment would not be)."""
    frame = _long_ratings(seed=2)
    # Round-robin rows: every item is spread over all 4 input partitions.
    ddf = dd.from_pandas(frame.iloc[np.argsort(np.arange(len(frame)) % 4)], 4)
    em, matrix = _in_memory(AnnotatorEM, frame)
    dask_em = _dask_fit(DaskAnnotatorEM, ddf)
    _assert_same_fit(dask_em, em, matrix)
    assert dask_em.consensus_.compute().index.is_unique


@pytest.mark.slow  # a LocalCluster
def test_labels_of_mixed_types_are_shuffled_past_the_task_shuffles_limit(
    client, monkeypatch
):
    """Fuzz finding: past 100 partitions Dask's p2p shuffle goes through
    Arrow, which cannot hold labels of mixed types; they failed there only."""
    import dask

    import skem.dask._io as dask_io

    monkeypatch.setattr(dask_io, "_TASK_SHUFFLE_MAX_PARTITIONS", 2)
    frame = _long_ratings(seed=5)
    codes = pd.factorize(frame["item"])[0]
    labels = [int(c) if c % 2 else f"clip{c}" for c in codes]
    frame["item"] = pd.Series(labels, index=frame.index, dtype=object)
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(frame, npartitions=4)
    em, matrix = _in_memory(AnnotatorEM, frame)
    dask_em = _dask_fit(DaskAnnotatorEM, ddf)
    _assert_same_fit(dask_em, em, matrix)


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("bounded", [True, False])
def test_warm_start_continues_like_the_in_memory_estimator(client, bounded):
    """Unbounded, consensus_ has no location: the warm start starts from consensus."""
    frame = _long_ratings(seed=3)
    ddf = dd.from_pandas(frame, npartitions=2)
    em, matrix = _in_memory(AnnotatorEM, frame, max_iter=2, bounded=bounded)
    dask_em = _dask_fit(DaskAnnotatorEM, ddf, max_iter=2, bounded=bounded)
    em.set_params(warm_start=True, max_iter=50)
    dask_em.set_params(warm_start=True, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em.fit(matrix.X)
        dask_em.fit(ddf)
    _assert_same_fit(dask_em, em, matrix)


@pytest.mark.slow  # a LocalCluster
def test_transform_is_lazy_and_equals_the_in_memory_transform(client):
    frame = _long_ratings(seed=4)
    ddf = dd.from_pandas(frame, npartitions=2)
    dask_em = _dask_fit(DaskAnnotatorEM, ddf)
    em, matrix = _in_memory(AnnotatorEM, frame)
    new = _long_ratings(seed=5)
    new = new[new["annotator"].isin(dask_em.annotators_)]
    consensus = dask_em.transform(dd.from_pandas(new, npartitions=3))
    assert isinstance(consensus, dd.Series)
    new_matrix = long_to_matrix(new, annotators=dask_em.annotators_)
    expected = em.transform(new_matrix.X).ravel()
    got = consensus.compute().loc[new_matrix.items]
    np.testing.assert_allclose(got, expected, rtol=RTOL)

    unknown = new.assign(annotator=new["annotator"] + 1)
    with pytest.raises(ValueError, match="was not in the fit"):
        dask_em.transform(dd.from_pandas(unknown, npartitions=1)).compute()


@pytest.mark.slow  # a LocalCluster
def test_transform_refuses_new_ratings_off_the_stated_scale_as_in_memory(client):
    """Outside an explicit score_range, or not among explicit levels: the
    in-memory estimator's ValueError, when the result is computed."""
    frame = _long_ratings(seed=4).assign(score=lambda f: np.round(f["score"]))
    ddf = dd.from_pandas(frame, npartitions=2)
    new = frame.iloc[:20].copy()
    for params, bad, message in (
        ({"score_range": (1, 5)}, 7.0, "outside score_range"),
        ({"levels": [1, 2, 3, 4, 5]}, 3.5, r"not among the levels.*e\.g\. 3\.5"),
    ):
        dask_em = _dask_fit(DaskAnnotatorEM, ddf, **params)
        em, _ = _in_memory(AnnotatorEM, frame, **params)
        off = new.assign(score=np.where(np.arange(len(new)) == 3, bad, new["score"]))
        with pytest.raises(ValueError, match=message):
            dask_em.transform(dd.from_pandas(off, npartitions=1)).compute()
        matrix = long_to_matrix(off, annotators=dask_em.annotators_)
        with pytest.raises(ValueError, match=message):
            em.transform(matrix.X)
        assert np.all(np.isfinite(dask_em.transform(new).compute()))


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize("bounded", [True, False])
def test_to_in_memory_gives_a_fitted_in_memory_estimator(client, bounded):
    """Unbounded, consensus_ has no location: location_ is the consensus."""
    frame = _long_ratings(seed=6)
    dask_em = _dask_fit(
        DaskHardAnnotatorEM, dd.from_pandas(frame, npartitions=2), bounded=bounded
    )
    model = dask_em.to_in_memory()
    assert type(model.estimator) is HardAnnotatorEM
    em, matrix = _in_memory(HardAnnotatorEM, frame, bounded=bounded)
    np.testing.assert_array_equal(model.items, matrix.items)
    np.testing.assert_allclose(model.estimator.mu_, em.mu_, rtol=RTOL)
    np.testing.assert_allclose(model.estimator.location_, em.location_, rtol=RTOL)
    np.testing.assert_allclose(
        model.estimator.transform(matrix.X), em.transform(matrix.X), rtol=RTOL
    )
    assert model.estimator.score(matrix.X) == pytest.approx(em.score(matrix.X))


@pytest.mark.slow  # a LocalCluster
def test_to_in_memory_orders_mixed_labels_as_in_memory_and_transforms_quietly(
    client,
):
    """Fuzz findings: items of mixed types kept the partitions' order, not
    long_to_matrix's; and text annotators set feature_names_in_, so that
    transform warned on long_to_matrix's CSR matrix, the path the docstring
    gives."""
    import dask

    frame = _long_ratings(seed=7)
    codes = pd.factorize(frame["item"])[0]
    labels = [int(c) if c % 2 else f"clip{c}" for c in codes]
    frame["item"] = pd.Series(labels, index=frame.index, dtype=object)
    frame["annotator"] = [f"rater{a}" for a in frame["annotator"]]
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(frame, npartitions=3)
    estimator, items = _dask_fit(DaskAnnotatorEM, ddf).to_in_memory()
    em, matrix = _in_memory(AnnotatorEM, frame)
    assert list(items) == list(matrix.items)
    np.testing.assert_allclose(estimator.mu_, em.mu_, rtol=RTOL)
    X = long_to_matrix(frame, annotators=matrix.annotators).X
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(estimator.transform(X), em.transform(X), rtol=RTOL)


@pytest.mark.slow  # a LocalCluster
def test_follows_the_estimator_api(client):
    em = DaskAnnotatorEM(noise="shared", item="clip")
    assert clone(em).get_params() == em.get_params()
    assert set(em.get_params()) >= set(AnnotatorEM().get_params())
    frame = _long_ratings()
    with pytest.raises(ValueError, match="noise"):
        DaskAnnotatorEM(noise="wide").fit(dd.from_pandas(frame, npartitions=1))
    with pytest.raises(ValueError, match="no column 'clip'"):
        em.fit(dd.from_pandas(frame, npartitions=1))
    assert not hasattr(em, "weights_")


@pytest.mark.slow  # a LocalCluster
@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda f: f.assign(
                score=f["score"].astype(object).where(f.index != 5, "x")
            ),
            "finite numbers",
        ),
        (lambda f: pd.concat([f, f.iloc[:1]], ignore_index=True), "more than once"),
        (lambda f: f.assign(item=f["item"].where(f.index != 3, None)), "missing"),
        (lambda f: f.iloc[:0], "empty"),
    ],
    ids=["non-numeric score", "duplicate pair", "missing label", "empty"],
)
def test_bad_ratings_raise_and_leave_the_estimator_as_it_was(client, change, message):
    frame = _long_ratings(seed=7)
    em = _dask_fit(DaskAnnotatorEM, dd.from_pandas(frame, npartitions=2))
    weights = em.weights_.copy()
    with pytest.raises(ValueError, match=message):
        em.fit(dd.from_pandas(change(frame), npartitions=2))
    np.testing.assert_array_equal(em.weights_, weights)


@pytest.mark.slow  # a LocalCluster
def test_explicit_score_range_and_gold_are_checked(client):
    frame = _long_ratings(seed=8)
    ddf = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(ValueError, match="outside score_range"):
        DaskAnnotatorEM(score_range=(2, 5)).fit(ddf)
    with pytest.raises(ValueError, match="outside score_range"):
        DaskAnnotatorEM(score_range=(1, 5)).fit(ddf, gold={"clip-000": 9.0})
    with pytest.raises(ValueError, match="pandas Series"):
        DaskAnnotatorEM().fit(ddf, gold=[1.0, 2.0])
    # A fuzzing helper's finding: a gold label that no rating has anchored
    # nothing, yet widened the range (and changed the fit) without an error.
    em = DaskAnnotatorEM().fit(ddf)
    weights = em.weights_.copy()
    with pytest.raises(
        ValueError, match=r"1 item label\(s\) that no rating has, e.g. 'typo'"
    ):
        em.fit(ddf, gold={"clip-000": 3.0, "typo": 2.0})
    with pytest.raises(ValueError, match=r"e.g. 0 \(int\)"):
        em.fit(ddf, gold={0: 3.0})
    np.testing.assert_array_equal(em.weights_, weights)


@pytest.mark.slow  # a LocalCluster
def test_a_worker_lost_mid_fit_does_not_change_the_answer(tmp_path, monkeypatch):
    """Killing a worker process during EM (at its 12th block update, some
    iterations in): the scheduler recomputes the lost blocks from their
    lineage, the nanny starts a new worker, and the fit ends with the
    in-memory numbers."""
    from skem.dask._backend import _DaskBackend

    frame = _long_ratings(n_items=300, n_annotators=20, seed=9)
    path = tmp_path / "ratings"
    path.mkdir()
    for k in range(4):
        frame.iloc[k::4].to_parquet(path / f"part-{k}.parquet")
    params = {"tol": 0, "max_iter": 15}
    em, matrix = _in_memory(AnnotatorEM, frame, **params)
    cluster = _test_cluster(2, processes=True)
    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        updates = []
        update = _DaskBackend.update

        def update_then_kill(self, kernel, *args):
            updates.append(kernel.__name__)
            if len(updates) == 12:
                os.kill(pids[sorted(pids)[0]], signal.SIGKILL)
            return update(self, kernel, *args)

        monkeypatch.setattr(_DaskBackend, "update", update_then_kill)
        dask_em = _dask_fit(DaskAnnotatorEM, dd.read_parquet(str(path)), **params)
        assert len(updates) > 20  # the kill came well before the end
        client.wait_for_workers(2, timeout=30)
        assert set(client.run(os.getpid).values()) != set(pids.values())
        _assert_same_fit(dask_em, em, matrix)
    cluster.close()


@pytest.mark.parametrize("subset", [False, True])
def test_sizeof_counts_a_blocks_terms_and_its_open_trial(subset):
    """Dask's memory manager sees a block's per-rating terms and their sums,
    and those of its open trial (whole or of some annotators), without
    falling back to its default guess."""
    from dataclasses import replace

    from dask.sizeof import sizeof

    from skem._em.backend import _Block
    from skem._model.trial import _kernel_annotator_trial
    from skem._model.truncated_terms import _kernel_truncated_terms
    from tests._helpers import _random_ratings

    rng = np.random.default_rng(0)
    ratings = _random_ratings(rng, 6, 4, 40)
    location, bias, sigma = rng.uniform(0.2, 0.8, 6), np.zeros(4), np.full(4, 0.2)
    block = _kernel_truncated_terms(_Block(ratings, None, location), bias, sigma)[0]
    annotators = np.array([True, False, True, False]) if subset else None
    with_trial, _ = _kernel_annotator_trial(
        block, bias, np.full(4, 0.3), np.ones(4), None, annotators
    )
    trial = with_trial.trial
    trial_bytes = sum(
        value.nbytes for part in (trial.terms, trial.sums) for value in part.values()
    )
    assert trial_bytes > 0
    assert sizeof(with_trial) == sizeof(block) + trial_bytes
    # And the unanimous scores a block of labelled ratings keeps.
    unanimous = np.full(6, np.nan)
    assert sizeof(replace(block, unanimous=unanimous)) == sizeof(block) + 48


@pytest.mark.slow  # a LocalCluster
def test_annotator_frame_of_a_dask_fit_needs_no_ratings_for_its_verdicts(client):
    """The fit's own counts give annotator_frame the in-memory table, with
    "undetermined" for an annotator whose ratings are mostly on items
    nobody else rated."""
    frame = _long_ratings(seed=8)
    alone = pd.DataFrame(
        {
            "item": ["alone-1", "alone-2", "alone-3", "alone-4"],
            "annotator": 999,
            "score": [2.0, 3.0, 4.0, 3.5],
        }
    )
    shared = frame[frame["annotator"] == 0].head(2).assign(annotator=999)
    frame = pd.concat([frame, alone, shared], ignore_index=True)
    dask_em = _dask_fit(DaskAnnotatorEM, dd.from_pandas(frame, npartitions=3))
    em, matrix = _in_memory(AnnotatorEM, frame)
    got = annotator_frame(dask_em, name="subject")
    expected = annotator_frame(em, matrix.annotators, X=matrix.X, name="subject")
    assert got.loc[got["subject"] == 999, "verdict"].item() == "undetermined"
    assert got["verdict"].tolist() == expected["verdict"].tolist()
    assert got["n_ratings"].tolist() == expected["n_ratings"].tolist()
    np.testing.assert_allclose(got["p_good"], expected["p_good"], rtol=RTOL)
    # With the ratings, it needs the consensus in memory, and says how.
    with pytest.raises(TypeError, match="annotator_frame with X needs the consensus"):
        annotator_frame(dask_em, X=matrix.X)


@pytest.mark.slow  # a LocalCluster
def test_the_report_of_a_dask_fit_counts_its_ratings_as_in_memory(client, tmp_path):
    """skem.report takes a Dask fit as it is: the page has the rating counts
    and labels of the in-memory page of the same ratings (only the
    agreement, which needs the ratings, is missing), and with the ratings in
    memory it is the in-memory page."""
    pytest.importorskip("matplotlib")
    frame = _long_ratings(seed=3)
    dask_em = _dask_fit(DaskAnnotatorEM, dd.from_pandas(frame, npartitions=3))
    em, matrix = _in_memory(AnnotatorEM, frame)
    pages = {
        "dask": report(dask_em, tmp_path / "dask.html"),
        "dask with X": report(dask_em, tmp_path / "x.html", long_to_matrix(frame)),
        "memory": report(em, tmp_path / "memory.html", matrix),
        "memory without X": report(
            em, tmp_path / "bare.html", items=matrix.items, annotators=matrix.annotators
        ),
    }
    text = {name: path.read_text(encoding="utf-8") for name, path in pages.items()}
    lead = f"{len(matrix.items)} items and 9 annotators: {len(frame):,} ratings, scale"
    assert lead in text["dask"] and lead in text["memory"]
    assert lead not in text["memory without X"]
    for label in (matrix.items[0], matrix.items[-1], "clip-007"):
        assert f">{label}<" in text["dask"]
    for name in ("dask", "memory"):
        counts = frame.groupby("annotator").size()
        assert f'<td class="num">{counts.max()}</td>' in text[name]
    assert "r = " not in text["dask"] and "r = " in text["memory"]
    assert "r = " in text["dask with X"]


@pytest.mark.parametrize("fit_values", [None, "large"])
def test_a_kernel_of_a_large_fit_runs_without_numpy_huge_page_advice(
    monkeypatch, ratings, fit_values
):
    """The workers withhold NumPy's advice of huge pages as an in-memory fit
    does (:mod:`skem._em.huge_pages`), by the ratings of the whole fit if
    given, else of the block, and restore it after each kernel."""
    from skem._em import huge_pages
    from skem._em.backend import _Block
    from skem.dask._backend import _run_kernel

    setter = huge_pages._find_setter()
    if setter is None:
        pytest.skip("this NumPy has no setting of huge pages")
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    n_block = ratings.score.shape[0]
    threshold = n_block if fit_values is None else n_block + 1
    monkeypatch.setattr(huge_pages, "_MIN_VALUES", threshold)
    fit_values = None if fit_values is None else threshold

    def kernel(block):
        return block, {"advice": setter(False)}

    before = setter(True)
    try:
        _, outputs = _run_kernel(kernel, _Block(ratings), fit_values=fit_values)
        after = setter(before)
        _, small = _run_kernel(kernel, _Block(ratings), fit_values=threshold - 1)
    finally:
        setter(before)
    assert outputs["advice"] is False
    assert after is True
    assert small["advice"] is before
