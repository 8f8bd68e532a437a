"""Yes/no judgments: the default against the majority vote and Dawid-Skene.

Yes/no labels are the most common crowdsourced data. On them the plain mean
of an item's ratings, read above or below one half, is the majority vote,
and the standard peer is Dawid and Skene's model of each worker's accuracy
(crowd-kit's ``DawidSkene``, and its one-coin form, one accuracy per worker
for both answers). The default reads a yes/no rating as a level of a
two-level scale, and its prior holds each worker's noise near the panel's,
so its consensus is close to the majority vote unless it calls workers
random. The table tracks how often it does, whom, and what that does to
the share of items the consensus gets wrong.
"""

import warnings

import numpy as np

from benchmarks._common import table
from benchmarks.peers import CROWDKIT_INSTALL
from skem import AnnotatorEM

# panel: (items, workers, raters per item, lowest and highest accuracy of an
# honest worker, spammers among the workers)
PANELS = {
    "200 items, 5 of 20 workers each, accuracy 0.7 to 0.9": (200, 20, 5, 0.7, 0.9, 0),
    "200 items, 5 of 20 each, accuracy 0.6 to 0.95, 4 spammers": (
        200,
        20,
        5,
        0.6,
        0.95,
        4,
    ),
    "400 items, 5 of 40 each, accuracy 0.65 to 0.95, 10 spammers": (
        400,
        40,
        5,
        0.65,
        0.95,
        10,
    ),
    "300 items, 7 of 20 each, accuracy 0.55 to 0.95": (300, 20, 7, 0.55, 0.95, 0),
}

# A weaker prior on the workers' noise, beside the default.
WEAK_PRIOR = 20.0


def _yes_no_panel(rng, n_items, n_workers, per_item, lowest, highest, n_spammers):
    """Yes/no labels of ``per_item`` of ``n_workers`` workers per item.

    The truth is yes or no with equal chance; each honest worker answers
    right with its own accuracy, uniform in ``lowest..highest``; the first
    ``n_spammers`` workers answer yes or no at random (accuracy 0.5).

    Returns ``X`` (1 yes, 0 no, NaN not rated) and the truth.
    """
    truth = rng.integers(0, 2, n_items).astype(float)
    chance = rng.random((n_items, n_workers))
    accuracy = rng.uniform(lowest, highest, n_workers)
    accuracy[:n_spammers] = 0.5
    X = np.where(chance < accuracy, truth[:, np.newaxis], 1.0 - truth[:, np.newaxis])
    for item in range(n_items):
        rated = rng.choice(n_workers, per_item, replace=False)
        X[item, np.setdiff1d(np.arange(n_workers), rated)] = np.nan
    return X, truth


def _wrong(consensus, truth):
    """Share of items whose consensus (above one half: yes) is wrong; a
    consensus of exactly one half counts as half wrong."""
    wrong = np.where(consensus == 0.5, 0.5, (consensus > 0.5) != (truth == 1.0))
    return float(np.mean(wrong))


def _dawid_skene_models():
    """crowd-kit's Dawid-Skene models by column name, or why they cannot run."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from crowdkit.aggregation import DawidSkene, OneCoinDawidSkene
    except ImportError:
        return f"crowd-kit is not installed ({CROWDKIT_INSTALL}): its columns are empty"
    return {"crowd-kit DawidSkene": DawidSkene, "one-coin": OneCoinDawidSkene}


def _dawid_skene_wrong(Model, X, truth):
    """The share of items that ``Model``'s labels get wrong."""
    import pandas as pd

    item, worker = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"task": item, "worker": worker, "label": X[item, worker].astype(int)}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = Model(n_iter=100).fit_predict(frame)
    labels = labels.reindex(np.arange(X.shape[0])).to_numpy(float)
    return _wrong(labels, truth)


def _fit(X, **params):
    """The consensus, the weights and which workers are judged."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = AnnotatorEM(**params).fit(X)
    return em.mu_, em.weights_ < 0.5, em.judged_


def yes_no_table(quick=False):
    """Yes/no panels: errors over the majority vote's, and the flags."""
    models = _dawid_skene_models()
    draws = 2 if quick else 30
    rows = []
    for name, (*shape, n_spammers) in PANELS.items():
        ratios = {key: [] for key in ("default", "weak", *models)}
        flagged = np.zeros(2, int)
        called_good = 0
        majority = []
        for seed in range(draws):
            X, truth = _yes_no_panel(np.random.default_rng(seed), *shape, n_spammers)
            vote = _wrong(np.nanmean(X, axis=1), truth)
            majority.append(vote)
            consensus, flags, judged = _fit(X)
            ratios["default"].append(_wrong(consensus, truth) / vote)
            flagged += [flags[:n_spammers].sum(), flags[n_spammers:].sum()]
            called_good += int(np.sum(judged[:n_spammers] & ~flags[:n_spammers]))
            ratios["weak"].append(
                _wrong(_fit(X, noise_prior=WEAK_PRIOR)[0], truth) / vote
            )
            if isinstance(models, dict):
                for key, Model in models.items():
                    ratios[key].append(_dawid_skene_wrong(Model, X, truth) / vote)
        default = np.array(ratios["default"])
        spammers = n_spammers * draws
        rows.append(
            [
                name,
                f"{np.mean(majority):.4f}",
                f"{default.mean():.3f}",
                f"{default.max():.3f}",
                int(np.sum(default > 1.01)),
                f"{flagged[0]} of {spammers}; {called_good} called good"
                if n_spammers
                else "",
                f"{flagged[1]} of {(shape[1] - n_spammers) * draws}",
                f"{np.mean(ratios['weak']):.3f}",
                *(
                    f"{np.mean(ratios[key]):.3f}" if key in ratios else ""
                    for key in ("crowd-kit DawidSkene", "one-coin")
                ),
            ]
        )
    headers = [
        "panel (yes/no; spammers answer at random)",
        "majority vote: share wrong",
        "default / majority vote",
        "worst draw",
        "draws > 1% above",
        "spammers flagged",
        "honest flagged",
        f"noise_prior={WEAK_PRIOR:g} / majority vote",
        "crowd-kit DawidSkene / majority vote",
        "one-coin DawidSkene / majority vote",
    ]
    note = (
        f"{draws} draws per panel; an honest worker answers right with its own "
        "accuracy, uniform over the stated range; error: the share of items "
        "whose consensus (above one half: yes) is wrong, a tie counting half, "
        "over the majority vote's (the plain mean's), averaged over the draws. "
        "'flagged': weight below one half; 'called good': a spammer judged "
        "and not flagged, which the command calls consistent. With 50 to 105 "
        "labels a worker, a yes/no label carries little evidence on who is "
        "careful, and the prior holds each worker's noise near the panel's: "
        "the default is the majority vote where nobody is flagged, and flags "
        "about half of the spammers. A draw's share of wrong items "
        "moves by whole items (one of 20 is 5%). Dawid-Skene weighs each worker "
        "by its estimated accuracy, which helps where accuracies differ much "
        "and costs where they do not (the first panel); a weaker prior "
        "(noise_prior=20) does much the same, but on emotion/ it costs "
        "(benchmarks/notes/issue16_evidence.md, stop 43)."
    )
    if isinstance(models, str):
        note += " " + models + "."
    return table(headers, rows), note
