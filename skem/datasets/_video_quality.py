"""Netflix's public video-quality ratings, bundled with skem."""

import csv
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

_FILE = "nflx_public_last4outliers.csv"
_UNRELIABLE = (26, 27, 28, 29)

_DESCR = """\
Netflix public video-quality dataset (NFLX), with 4 unreliable annotators
---------------------------------------------------------------------------

79 processed video clips (items) rated for quality on the 5-point absolute
category rating scale (1 = bad .. 5 = excellent) by 26 viewers, every viewer
rating every clip, as released by Netflix with its "sureal" project. Its
"last4outliers" variant appends 4 unreliable viewers, annotators 26 to 29,
whose scores correlate with the mean opinion score between -0.23 and 0.24.

:Items: 79
:Annotators: 30 (26 without the outliers)
:Ratings: 2,370 (2,054)
:Scale: 1..5
:License: Apache License 2.0, Copyright (c) Netflix, Inc.; see LICENSE.Apache-2.0
 and NOTICE in skem/datasets/data.

Known figures: sureal's MLE model ranks annotators 26-29 as the four least
consistent; its ITU-R BT.500 subject rejection catches 26, 28 and 29 and
misses 27.
"""


def load_video_quality(*, with_outliers=True, as_frame=False):
    """Load Netflix's public video-quality ratings (bundled, no download).

    Parameters
    ----------
    with_outliers : bool, default=True
        Include the 4 appended unreliable annotators 26, 27, 28 and 29. With
        False, this is the plain public dataset of 26 annotators.
    as_frame : bool, default=False
        Also return the long-format ratings as a pandas DataFrame in
        ``frame`` (needs pandas).

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with attributes:

        - ``data``: ndarray of shape (79, n_annotators), the ratings, NaN for
          "not rated" (there are none here);
        - ``item_labels``, ``annotators``: the integer labels of the rows
          and columns (not ``items``, which a dict-like object keeps for its
          ``items()`` method);
        - ``unreliable``: the labels of the known unreliable annotators;
        - ``score_range``: ``(1.0, 5.0)``;
        - ``frame``: the long-format DataFrame (item, annotator, score), or
          None unless ``as_frame=True``;
        - ``DESCR``: a description of the dataset and its licence.

    Examples
    --------
    >>> from skem.datasets import load_video_quality
    >>> nflx = load_video_quality()
    >>> nflx.data.shape, nflx.unreliable.tolist()
    ((79, 30), [26, 27, 28, 29])
    """
    with resources.files("skem.datasets").joinpath("data", _FILE).open() as f:
        rows = [
            (int(r["item"]), int(r["annotator"]), float(r["score"]))
            for r in csv.DictReader(f)
        ]
    table = np.array(rows)
    if not with_outliers:
        table = table[~np.isin(table[:, 1], _UNRELIABLE)]
    item_codes = table[:, 0].astype(int)
    annotator_codes = table[:, 1].astype(int)
    item_labels, rows_index = np.unique(item_codes, return_inverse=True)
    annotators, cols_index = np.unique(annotator_codes, return_inverse=True)
    data = np.full((len(item_labels), len(annotators)), np.nan)
    data[rows_index, cols_index] = table[:, 2]

    frame = None
    if as_frame:
        import pandas as pd

        frame = pd.DataFrame(
            {"item": item_codes, "annotator": annotator_codes, "score": table[:, 2]}
        )
    unreliable = np.array(_UNRELIABLE if with_outliers else (), dtype=int)
    return Bunch(
        data=data,
        item_labels=item_labels,
        annotators=annotators,
        unreliable=unreliable,
        score_range=(1.0, 5.0),
        frame=frame,
        DESCR=_DESCR,
    )
