"""The checks of a Dask partition's ratings (no cluster needed)."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask")

from skem.dask._io import _as_dask_frame, _raw_block  # noqa: E402

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
