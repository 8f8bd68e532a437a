"""Model forms on real panels: false flags, consensus error, robustness.

The evidence behind the defaults (``bounded=True``, ``noise='per_annotator'``,
``noise_prior=200``, ``bias=False``, ``init='auto'``): how many annotators of
honest real panels each form calls random, how close its consensus is to expert
truth, and how it copes when real annotators are replaced by random ones.
"""

import warnings

import numpy as np

from benchmarks._common import (
    read_long_csv,
    replace_with_random_raters,
    shared_data_dir,
    table,
)
from benchmarks.accuracy import WORK_RANGE, _errors, load_emotion
from skem import AnnotatorEM, HardAnnotatorEM, long_to_matrix

LECTURE = "lecture (bounded=False, noise='shared')"
DEFAULT = "default (bounded, per-annotator, noise_prior=200)"
FORMS = {
    LECTURE: {"bounded": False, "noise": "shared"},
    "bounded=True, noise='shared'": {"noise": "shared"},
    "bounded=False, noise='per_annotator'": {"bounded": False},
    DEFAULT: {},
    "default with noise_prior=50": {"noise_prior": 50.0},
    "default with noise_prior=100": {"noise_prior": 100.0},
    "default with noise_prior=400": {"noise_prior": 400.0},
    "default with bias=True": {"bias": True},
    "default with init='median'": {"init": "median"},
}
QUICK_FORMS = (LECTURE, DEFAULT)

# Each set with its own scale: 1..5 ACR, emotion/ 0..100 after mapping valence,
# the continuous difference scores of vqeg_frtv_525_high from the data.
VIDEO_SETS = {
    "nflx_public": ("nflx_public.csv", (1.0, 5.0)),
    "outlier set": ("nflx_public_last4outliers.csv", (1.0, 5.0)),
    "vqeg_hd3": ("vqeg_hd3.csv", (1.0, 5.0)),
    "vqeg_frtv_525_high": ("vqeg_frtv_525_high.csv", "auto"),
    "agh_tv": ("agh_tv.csv", (1.0, 5.0)),
}
OUTLIERS = [26, 27, 28, 29]


def _fit(Estimator, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Estimator(**params).fit(X)


def _video(name):
    items, annotators, scores = read_long_csv(
        shared_data_dir() / "video_quality" / name
    )
    matrix = long_to_matrix(None, item=items, annotator=annotators, score=scores)
    return matrix.X, matrix.annotators


def false_flags_table(quick=False):
    """Annotators flagged (weight < 0.5) on every real set, per model form."""
    X, truth, is_valence = load_emotion()
    videos = {name: (*_video(f), sr) for name, (f, sr) in VIDEO_SETS.items()}
    names = QUICK_FORMS if quick else list(FORMS)
    rows = []
    for Estimator in (AnnotatorEM, HardAnnotatorEM):
        for name in names:
            params = FORMS[name]
            em = _fit(Estimator, X, score_range=WORK_RANGE, **params)
            row = [
                Estimator.__name__,
                name,
                f"{int(np.sum(em.weights_ < 0.5))} of {X.shape[1]}",
                _errors(em.mu_, truth, is_valence)[0],
            ]
            for label, (Xv, annotators, score_range) in videos.items():
                fit = _fit(Estimator, Xv, score_range=score_range, **params)
                flagged = annotators[fit.weights_ < 0.5]
                if label == "outlier set":
                    cell = ", ".join(map(str, sorted(flagged.tolist()))) or "none"
                else:
                    cell = f"{flagged.size} of {annotators.size}"
                row.append(cell)
            rows.append(row)
    headers = [
        "estimator",
        "model form",
        "emotion/ flagged",
        "emotion/ MAE",
        *VIDEO_SETS,
    ]
    note = (
        "Flagged: weight < 0.5. The panels are honest (no known random rater) "
        f"except the outlier set, whose appended raters are {OUTLIERS}. "
        "emotion/ is fitted on 0..100 (valence mapped) and its MAE is against "
        "expert truth on each item's own scale; the plain mean's is 12.02."
    )
    return table(headers, rows), note


def _random_levels(rng, shape):
    """Uniform random whole numbers 0..100: the ratings stay on the lattice."""
    return rng.randint(0, 101, shape).astype(float)


def robustness_table(quick=False):
    """Real emotion/ raters replaced by uniform random integer raters, per form."""
    X, truth, is_valence = load_emotion()
    n_annotators = X.shape[1]
    seeds = range(1 if quick else 10)
    names = (
        QUICK_FORMS
        if quick
        else [
            LECTURE,
            *list(FORMS)[1:4],
            "default with noise_prior=50",
            "default with init='median'",
        ]
    )
    entries = [(name, AnnotatorEM, FORMS[name]) for name in names]
    entries.append((f"HardAnnotatorEM, {DEFAULT}", HardAnnotatorEM, {}))
    rows = []
    for fraction in (0.2, 0.4, 0.6):
        results = {name: [] for name in ["mean", *(entry[0] for entry in entries)]}
        for seed in seeds:
            noisy, replaced = replace_with_random_raters(
                X, fraction, seed, _random_levels
            )
            is_replaced = np.isin(np.arange(n_annotators), replaced)
            mean = np.nanmean(noisy, axis=1)
            results["mean"].append((_errors(mean, truth, is_valence)[0], None, None))
            for name, Estimator, params in entries:
                em = _fit(Estimator, noisy, score_range=WORK_RANGE, **params)
                flagged = em.weights_ < 0.5
                results[name].append(
                    (
                        _errors(em.mu_, truth, is_valence)[0],
                        flagged[is_replaced].mean(),
                        flagged[~is_replaced].mean(),
                    )
                )
        for name, runs in results.items():
            maes = [run[0] for run in runs]
            row = [f"{fraction:.0%}", name, np.mean(maes), np.max(maes)]
            if runs[0][1] is None:
                row += ["", ""]
            else:
                false_flags = [run[2] for run in runs]
                row += [
                    f"{min(run[1] for run in runs):.0%}",
                    f"{np.mean(false_flags):.0%} / {np.max(false_flags):.0%}",
                ]
            rows.append(row)
    headers = [
        "random raters",
        "method",
        "MAE (mean)",
        "MAE (worst seed)",
        "replaced flagged (worst seed)",
        "others flagged (mean / worst seed)",
    ]
    note = (
        f"{len(seeds)} seeds; random raters answer uniform integers 0..100 on the "
        "items the replaced raters rated. AnnotatorEM unless said otherwise. The "
        "clean plain mean's MAE is 12.02."
    )
    return table(headers, rows), note


def discrete_scale_table(quick=False):
    """Ratings on levels read as levels (the default) or as exact scores."""
    from benchmarks.peers import load_weather

    X, truth, is_valence = load_emotion()
    sets = {"emotion/ (0..100)": (X, None, None)}
    for label in ("nflx_public", "outlier set", "agh_tv"):
        Xv, annotators = _video(VIDEO_SETS[label][0])
        sets[label] = (Xv, annotators, None)
    weather = load_weather(shared_data_dir() / "crowd" / "weather_sentiment_ordinal")
    sets["weather_sentiment (3 levels)"] = (weather.X, True, weather.metrics[0][1])
    rows = []
    for label, (data, annotators, spearman) in sets.items():
        dense = data.toarray() if hasattr(data, "toarray") else data
        scores = dense[~np.isnan(dense)]
        hull = (float(scores.min()), float(scores.max()))
        for reading, params in (
            ("levels (default): 'auto', or the stated levels", {}),
            ("exact scores, auto range (levels=None)", {"levels": None}),
            ("exact scores, min..max", {"levels": None, "score_range": hull}),
        ):
            em = _fit(AnnotatorEM, data, **params)
            flagged = int(np.sum(em.weights_ < 0.5))
            if annotators is None:
                metric = _errors(em.mu_, truth, is_valence)[0]
            elif spearman is not None:
                metric = f"{spearman(em.mu_):.3f}"
            else:
                metric = ""
            rows.append([label, reading, f"{flagged} of {em.weights_.size}", metric])
    note = (
        "Default form otherwise. On levels each rating stands for its cell, half a "
        "step either side (the outer cells open), and its likelihood is the "
        "normal's mass there; read as exact scores it has the truncated density. "
        "Metric: emotion/ MAE against expert truth, weather Spearman against the "
        "gold labels (the plain mean: 12.02 and 0.921)."
    )
    return table(["data", "reading", "flagged", "metric"], rows), note
