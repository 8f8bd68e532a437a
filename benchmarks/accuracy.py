"""Accuracy on real ratings: emotion/ (expert truth) and the Netflix outliers."""

import warnings

import numpy as np

from benchmarks._common import (
    read_long_csv,
    replace_with_random_raters,
    shared_data_dir,
    table,
)
from skem import AnnotatorEM, HardAnnotatorEM, long_to_matrix

# The emotion items are on 0..100 (six emotions) or -100..100 (valence). One
# model needs one scale: valence is mapped onto 0..100 for fitting and back
# for scoring, so errors are reported on each item's own scale.
WORK_RANGE = (0.0, 100.0)


def _em(Estimator, **params):
    def fit(X):
        # init="ones": initial weights of 1 (everyone good, pi at its bound).
        start = {"init": np.ones(X.shape[1])} if params.get("init") == "ones" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            em = Estimator(score_range=WORK_RANGE, **{**params, **start}).fit(X)
        return em.mu_, em.weights_

    return fit


DEFAULT_SOFT = "AnnotatorEM (default init='auto')"
DEFAULT_HARD = "HardAnnotatorEM (default init='auto')"
METHODS = {
    "mean": lambda X: (np.nanmean(X, axis=1), None),
    "median": lambda X: (np.nanmedian(X, axis=1), None),
    DEFAULT_SOFT: _em(AnnotatorEM),
    "AnnotatorEM init='agreement'": _em(AnnotatorEM, init="agreement"),
    "AnnotatorEM init='median_agreement'": _em(AnnotatorEM, init="median_agreement"),
    "AnnotatorEM init='median'": _em(AnnotatorEM, init="median"),
    "AnnotatorEM init='all_good'": _em(AnnotatorEM, init="all_good"),
    "AnnotatorEM init=ones (weights of 1)": _em(AnnotatorEM, init="ones"),
    "AnnotatorEM init='random', n_init=10": _em(
        AnnotatorEM, init="random", n_init=10, random_state=0
    ),
    DEFAULT_HARD: _em(HardAnnotatorEM),
    "HardAnnotatorEM init='median'": _em(HardAnnotatorEM, init="median"),
    "HardAnnotatorEM init='all_good'": _em(HardAnnotatorEM, init="all_good"),
}
PUBLISHED = {"mean": 12.02, "median": 13.53}


def load_emotion():
    """Working-scale matrix, truth, and which rows are valence items."""
    import pandas as pd

    folder = shared_data_dir() / "emotion"
    items, annotators, scores = read_long_csv(folder / "ratings.csv")
    truth_table = pd.read_csv(folder / "truth.csv").set_index("item")
    valence_items = truth_table.index[truth_table["low"] < 0]
    scores = np.where(np.isin(items, valence_items), (scores + 100) / 2, scores)
    matrix = long_to_matrix(
        None, item=items, annotator=annotators, score=scores, sparse=False
    )
    X = matrix.X.to_numpy()
    truth = truth_table.loc[matrix.items, "truth"].to_numpy(float)
    is_valence = np.isin(matrix.items, valence_items)
    return X, truth, is_valence


def _errors(consensus, truth, is_valence):
    original = np.where(is_valence, 2 * consensus - 100, consensus)
    error = original - truth
    return np.abs(error).mean(), np.sqrt(np.mean(error**2))


def emotion_table(quick=False):
    X, truth, is_valence = load_emotion()
    rows = []
    for name, method in METHODS.items():
        consensus, weights = method(X)
        mae, rmse = _errors(consensus, truth, is_valence)
        flagged = "" if weights is None else int(np.sum(weights < 0.5))
        rows.append([name, mae, rmse, flagged, PUBLISHED.get(name, "")])
    note = (
        f"{X.shape[0]} items, {X.shape[1]} annotators, {int((~np.isnan(X)).sum())} "
        "ratings; errors on each item's own scale. Published on this set: mean "
        "12.02, LFC_N 12.20, PM-CRH 13.91, CATD 16.36 MAE."
    )
    return table(
        ["method", "MAE", "RMSE", "annotators flagged", "published MAE"], rows
    ), note


def robustness_table(quick=False):
    """Replace a fraction of annotators by uniform random raters."""
    X, truth, is_valence = load_emotion()
    n_annotators = X.shape[1]
    seeds = range(1 if quick else 5)
    fractions = [0.0, 0.2, 0.4, 0.6]
    methods = ["mean", "median", DEFAULT_SOFT, DEFAULT_HARD]
    if not quick:
        methods[3:3] = [
            "AnnotatorEM init='agreement'",
            "AnnotatorEM init='median_agreement'",
            "AnnotatorEM init='median'",
            "AnnotatorEM init='all_good'",
            "AnnotatorEM init=ones (weights of 1)",
            "AnnotatorEM init='random', n_init=10",
        ]
    rows = []
    results = {}
    for fraction in fractions:
        maes = {name: [] for name in [*methods, "oracle: mean of the untouched"]}
        detected = {name: [] for name in methods}
        false_flags = {name: [] for name in methods}
        for seed in seeds:
            noisy, replaced = replace_with_random_raters(
                X, fraction, seed, lambda rng, shape: rng.uniform(*WORK_RANGE, shape)
            )
            is_replaced = np.isin(np.arange(n_annotators), replaced)
            with np.errstate(all="ignore"):
                kept = np.nanmean(np.where(is_replaced, np.nan, noisy), axis=1)
            oracle = np.where(np.isnan(kept), np.nanmean(noisy, axis=1), kept)
            maes["oracle: mean of the untouched"].append(
                _errors(oracle, truth, is_valence)[0]
            )
            for name in methods:
                consensus, weights = METHODS[name](noisy)
                maes[name].append(_errors(consensus, truth, is_valence)[0])
                if weights is not None:
                    flagged = weights < 0.5
                    if is_replaced.any():
                        detected[name].append(flagged[is_replaced].mean())
                    false_flags[name].append(flagged[~is_replaced].mean())
        for name in maes:
            mae = float(np.mean(maes[name]))
            results[(fraction, name)] = mae
            rows.append(
                [
                    f"{fraction:.0%}",
                    name,
                    mae,
                    float(np.std(maes[name])),
                    f"{np.mean(detected[name]):.0%}" if detected.get(name) else "",
                    f"{np.mean(false_flags[name]):.0%}"
                    if false_flags.get(name)
                    else "",
                ]
            )
    clean_mean = results[(0.0, "mean")]
    targets = []
    for name in (
        DEFAULT_SOFT,
        DEFAULT_HARD,
        "AnnotatorEM init='agreement'",
        "AnnotatorEM init='median_agreement'",
        "AnnotatorEM init='median'",
        "AnnotatorEM init='all_good'",
        "AnnotatorEM init=ones (weights of 1)",
    ):
        if (0.4, name) not in results:
            continue
        mean_excess = results[(0.4, "mean")] - clean_mean
        em_excess = results[(0.4, name)] - clean_mean
        ratio = mean_excess / max(em_excess, 1e-9)
        targets.append(
            f"{name} at 40%: excess MAE over the clean mean {em_excess:+.2f} vs the "
            f"mean's own {mean_excess:+.2f} (ratio {ratio:.1f}x)"
        )
    note = (
        f"Mean over {len(seeds)} seed(s). 'detected': share of the replaced "
        "annotators flagged (weight < 0.5); 'false flags': share of the other "
        "annotators flagged.\n" + "\n".join(f"- {t}" for t in targets)
    )
    headers = [
        "random annotators",
        "method",
        "MAE",
        "MAE sd",
        "detected",
        "false flags",
    ]
    return table(headers, rows), note


def netflix_ranks_table(quick=False):
    folder = shared_data_dir() / "video_quality"
    items, annotators, scores = read_long_csv(folder / "nflx_public_last4outliers.csv")
    matrix = long_to_matrix(
        None, item=items, annotator=annotators, score=scores, sparse=False
    )
    rows = []
    for Estimator in (AnnotatorEM, HardAnnotatorEM):
        for init in ("auto", "median", "all_good"):
            em = Estimator(init=init, score_range=(1, 5)).fit(matrix.X)
            ranks = np.empty(len(matrix.annotators), dtype=int)
            ranks[np.argsort(em.log_posterior_)] = np.arange(1, len(ranks) + 1)
            outliers = [
                ranks[list(matrix.annotators).index(a)] for a in (26, 27, 28, 29)
            ]
            flagged = matrix.annotators[em.weights_ < 0.5].tolist()
            rows.append(
                [f"{Estimator.__name__} init='{init}'", *outliers, str(flagged)]
            )
    note = (
        "Rank 1 = least reliable (lowest log P(good)). Sureal's MLE and BT.500 "
        "appear in the speed section."
    )
    return table(["method", "26", "27", "28", "29", "flagged"], rows), note
