"""The checks of a Dask partition's ratings (no cluster needed)."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask")

from skem.dask._io import (  # noqa: E402
    _as_dask_frame,
    _raw_block,
    _sorted_labels,
    _transform_partition,
)

_COLUMNS = ("item", "annotator", "score")


@pytest.mark.parametrize(
    "rows, message",
    [
        (
            {"item": [0, 1], "annotator": [0, 0], "score": [1.0, np.nan]},
            "the rating of item 1 by annotator 0 is nan ",
        ),
        (
            {"item": [0, 1], "annotator": [0, 0], "score": [1, 10**400]},
            r"is 10{36}\.\.\. \(401 characters\)",
        ),
        (
            {"item": [4, 4], "annotator": [7, 7], "score": [1.0, 2.0]},
            "Annotator 7 rated item 4 more than once",
        ),
    ],
    ids=["nan score", "huge score", "repeated pair"],
)
def test_a_partitions_bad_rating_is_shown_as_the_user_wrote_it(rows, message):
    """Labels and scores show as Python values, clipped, not np.int64(1)."""
    with pytest.raises(ValueError, match=message) as error:
        _raw_block(pd.DataFrame(rows), _COLUMNS)
    assert "np." not in str(error.value)


def test_a_column_name_with_spaces_is_pointed_out():
    frame = pd.DataFrame({"item": [0], " annotator": [0], "score": [1.0]})
    with pytest.raises(ValueError, match="' annotator' has spaces around its name"):
        _as_dask_frame(frame, _COLUMNS)


def test_complex_scores_are_refused_as_in_memory():
    """Fuzzing finding: the cast to float cut 4+7j to 4, where long_to_matrix
    refuses it; now a partition gives the same message."""
    from skem import long_to_matrix

    rows = {"item": [0, 1], "annotator": [0, 0], "score": [1.0 + 0j, 4 + 7j]}
    with pytest.raises(ValueError, match=r"real numbers.*\(4\+7j\)") as in_memory:
        long_to_matrix(pd.DataFrame(rows))
    with pytest.raises(ValueError) as on_dask:
        _raw_block(pd.DataFrame(rows), _COLUMNS)
    assert str(on_dask.value) == str(in_memory.value)


@pytest.mark.parametrize("clash", [{"annotator": "item"}, {"score": "item"}])
def test_one_column_named_for_two_roles_is_refused(clash):
    """Fuzzing finding: a raw NumPy or pandas error; now a sentence."""
    columns = {"item": "item", "annotator": "annotator", "score": "score"} | clash
    frame = pd.DataFrame({"item": [0], "annotator": [0], "score": [1.0]})
    with pytest.raises(ValueError, match="must name three different columns"):
        _as_dask_frame(frame, tuple(columns.values()))


def test_labels_of_a_pandas_frame_keep_their_types_and_in_memory_order():
    """Fuzzing finding: Dask made text of an object column's labels, which
    merged the annotators 1 and "1" and returned 2 as "2". They stay as
    given, sorted as long_to_matrix sorts them."""
    from skem import long_to_matrix

    frame = pd.DataFrame(
        {
            "item": [0, 0, 0, 0, 1, 1, 1, 1],
            "annotator": [1, "1", 2, "x"] * 2,
            "score": [1.0, 2.0, 3.0, 4.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    partition = _as_dask_frame(frame, _COLUMNS).compute()
    assert list(partition["annotator"]) == list(frame["annotator"])
    block = _raw_block(partition, _COLUMNS)
    expected = long_to_matrix(frame).annotators
    assert list(_sorted_labels(block["annotator_labels"])) == list(expected)
    assert [type(label) for label in expected] == [int, int, str, str]


def _fitted_pieces():
    """An in-memory fit of 4 items by 3 annotators and what a partition needs."""
    from skem import AnnotatorEM

    X = np.array([[1.0, 2.0, 1.0], [3.0, 3.0, 4.0], [5.0, 4.0, 5.0], [2.0, 2.0, 3.0]])
    em = AnnotatorEM().fit(X)
    scale = em._score_scale
    return (
        pd.Index(np.arange(3)),
        scale,
        None,
        None,
        em._form(0.0, scale, em.tail_),
        em._fitted_params(scale),
        *em._consensus_weights(),
    )


def test_transform_refuses_a_rating_too_far_for_the_consensus_sums():
    """As in memory: a rating of 9e307 would make the consensus NaN."""
    rows = {"item": [0, 0, 1], "annotator": [0, 1, 2], "score": [2.0, 9e307, 3.0]}
    with pytest.raises(ValueError, match="too far from the fitted score range"):
        _transform_partition(pd.DataFrame(rows), _COLUMNS, *_fitted_pieces())
    rows["score"][1] = 1e300  # far, but the sums stay finite
    consensus = _transform_partition(pd.DataFrame(rows), _COLUMNS, *_fitted_pieces())
    assert np.all(np.isfinite(consensus))
