"""Netflix's sureal (MLE model, BT.500 subject rejection) against skem.

sureal is an optional benchmark dependency: ``pip install sureal``.
"""

import collections
import contextlib
import io
import os
import types
import warnings

import numpy as np

from benchmarks._common import (
    Skipped,
    median_time,
    read_long_csv,
    shared_data_dir,
    table,
)
from skem import AnnotatorEM, long_to_matrix

FILES = [
    "nflx_public.csv",
    "nflx_public_last4outliers.csv",
    "vqeg_hd3.csv",
    "vqeg_frtv_525_high.csv",
    "agh_tv.csv",
]


def _import_sureal():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from sureal import BT500Model
            from sureal.dataset_reader import RawDatasetReader
            from sureal.subjective_model import MaximumLikelihoodEstimationModel
    except ImportError as error:
        raise Skipped("sureal is not installed (pip install sureal)") from error
    return MaximumLikelihoodEstimationModel, BT500Model, RawDatasetReader


def _sureal_dataset(items, annotators, scores):
    """sureal's dataset structure: one dict of observer -> score per item."""
    opinions = collections.defaultdict(dict)
    for item, annotator, score in zip(items, annotators, scores, strict=True):
        opinions[item][str(annotator)] = float(score)
    return types.SimpleNamespace(
        dataset_name="skem-benchmark",
        yuv_fmt="yuv420p",
        width=1920,
        height=1080,
        ref_videos=[{"content_id": 0, "content_name": "all", "path": "none"}],
        dis_videos=[
            {"content_id": 0, "asset_id": k, "os": opinions[item], "path": f"{k}"}
            for k, item in enumerate(sorted(opinions))
        ],
    )


def _quietly(function):
    """Run sureal without its per-iteration console output, which would be timed."""

    def run():
        with (
            open(os.devnull, "w") as sink,
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            return function()

    return run


def speed_table(quick=False):
    folder = shared_data_dir() / "video_quality"
    mle_model, bt500_model, reader = _import_sureal()
    files = FILES[:2] if quick else FILES
    rows = []
    notes = []
    for name in files:
        items, annotators, scores = read_long_csv(folder / name)
        dataset = _sureal_dataset(items, annotators, scores)
        repeats = 1 if quick else 3

        def skem_fit(items=items, annotators=annotators, scores=scores):
            matrix = long_to_matrix(
                None, item=items, annotator=annotators, score=scores
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return matrix, AnnotatorEM().fit(matrix.X)

        skem_seconds, (matrix, em) = median_time(skem_fit, max(repeats, 5))
        mle_seconds, mle = median_time(
            _quietly(lambda d=dataset: mle_model(reader(d)).run_modeling()), repeats
        )
        bt500_seconds, bt500 = median_time(
            _quietly(lambda d=dataset: bt500_model(reader(d)).run_modeling()), repeats
        )
        rows.append(
            [
                name,
                f"{len(scores):,}",
                skem_seconds * 1e3,
                mle_seconds * 1e3,
                mle_seconds / skem_seconds,
                bt500_seconds * 1e3,
                bt500_seconds / skem_seconds,
            ]
        )
        if name == "nflx_public_last4outliers.csv":
            notes.append(_outlier_note(matrix, em, mle, bt500))
    headers = [
        "file",
        "ratings",
        "skem AnnotatorEM (ms)",
        "sureal MLE (ms)",
        "MLE / skem",
        "sureal BT.500 (ms)",
        "BT.500 / skem",
    ]
    timing = (
        "Median of repeated runs in one process; skem's time includes the "
        "long-to-matrix conversion, sureal's its dataset reader, with its console "
        "output silenced."
    )
    return table(headers, rows), "\n".join([timing, *notes])


def _outlier_note(matrix, em, mle, bt500):
    observers = [int(o) for o in mle["observers"]]
    inconsistency = np.asarray(mle["observer_inconsistency"])
    mle_order = [observers[k] for k in np.argsort(-inconsistency)[:4]]
    rejected = [
        int(o)
        for o, r in zip(bt500["observers"], bt500["observer_rejected"], strict=True)
        if r
    ]
    skem_order = matrix.annotators[np.argsort(em.log_posterior_)[:4]].tolist()
    return (
        "On nflx_public_last4outliers: the four least reliable by skem's log "
        f"P(good) are {skem_order}; by sureal MLE's inconsistency {mle_order}; "
        f"BT.500 rejects {sorted(rejected)}."
    )
