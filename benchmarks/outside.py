"""Honest panels outside the model: raters who are not independent, or not
one population.

The model reads agreement as care: good raters scatter around one location
per item, independently. Two honest designs break that, and a helper's
trial of data kinds (stop 64) found the default worse than the plain mean
on both. The table tracks them; the user guide lists them under
limitations.

- Herding: raters who see the item's earlier ratings (a running average
  on a review site) and answer close to it. They agree closely with each
  other, so the fitted sigmas shrink to theirs; the raters who judge on
  their own look noisy beside them, and the precision weights follow the
  herd, which copies the errors of an item's first raters.
- Two cultures: two groups of honest raters, each with its own view of
  each item (political camps, say), the truth the whole population's
  average view. The larger group's view becomes the consensus, and the
  smaller group's raters, who differ from it item by item, look random.
"""

import warnings

import numpy as np

from benchmarks._common import table
from benchmarks.crowds import _error_over_mean, _ratio_cells
from skem import AnnotatorEM

_N_ITEMS, _N_WORKERS, _NOISE = 200, 50, 0.8


def _on_scale(latent):
    """Ratings on 1..5: the latent rounded and clipped."""
    return np.clip(np.rint(latent), 1, 5)


def _herding_panel(rng, herd_fraction, per_item):
    """Items rated in turn by ``per_item`` of 50 workers, on 1..5 (the truth
    uniform in [1, 5]). A share ``herd_fraction`` of the workers answer the
    average of the item's earlier ratings plus a noise of 0.3; the others,
    and every item's first rater, the truth plus a noise of 0.8.

    Returns ``X``, the truth, and which workers judge on their own.
    """
    truth = rng.uniform(1, 5, _N_ITEMS)
    herds = rng.random(_N_WORKERS) < herd_fraction
    X = np.full((_N_ITEMS, _N_WORKERS), np.nan)
    for i in range(_N_ITEMS):
        earlier = []
        for worker in rng.choice(_N_WORKERS, per_item, replace=False):
            if herds[worker] and earlier:
                latent = np.mean(earlier) + 0.3 * rng.normal()
            else:
                latent = truth[i] + _NOISE * rng.normal()
            X[i, worker] = _on_scale(latent)
            earlier.append(X[i, worker])
    rated = np.flatnonzero(np.any(~np.isnan(X), axis=0))
    return X[:, rated], truth, ~herds[rated]


def _cultures_panel(rng, minority_share, spread):
    """Items rated by 6 of 50 workers each, on 1..5. Each worker belongs to
    one of two groups (the smaller with share ``minority_share``); each group
    sees each item ``Normal(0, spread)`` away from its centre (uniform in
    [1.5, 4.5]), and each worker rates its group's view plus a noise of
    0.6. The truth is the population's average view.

    Returns ``X``, the truth, and which workers are of the smaller group.
    """
    centre = rng.uniform(1.5, 4.5, _N_ITEMS)
    views = spread * rng.normal(size=(2, _N_ITEMS))
    truth = centre + (1 - minority_share) * views[0] + minority_share * views[1]
    minority = rng.random(_N_WORKERS) < minority_share
    X = np.full((_N_ITEMS, _N_WORKERS), np.nan)
    for i in range(_N_ITEMS):
        workers = rng.choice(_N_WORKERS, 6, replace=False)
        view = centre[i] + views[minority[workers].astype(int), i]
        X[i, workers] = _on_scale(view + 0.6 * rng.normal(size=6))
    rated = np.flatnonzero(np.any(~np.isnan(X), axis=0))
    return X[:, rated], truth, minority[rated]


# name: (generator, its arguments, who the honest group at risk is)
OUTSIDE_PANELS = {
    "herding: 70% of the workers, 6 raters per item": (
        _herding_panel,
        (0.7, 6),
        "raters on their own",
    ),
    "herding: 90% of the workers, 10 raters per item": (
        _herding_panel,
        (0.9, 10),
        "raters on their own",
    ),
    "two cultures, 80% and 20%, views 0.8 apart": (
        _cultures_panel,
        (0.2, 0.8),
        "the smaller culture",
    ),
    "two cultures, 70% and 30%, views 1.0 apart": (
        _cultures_panel,
        (0.3, 1.0),
        "the smaller culture",
    ),
}


def outside_panels_table(quick=False):
    """Herding and two cultures: the honest group at risk flagged, and the
    default's error over the plain mean's."""
    rows = []
    draws = 2 if quick else 20
    for name, (panel, arguments, group) in OUTSIDE_PANELS.items():
        ratios, flagged, size = [], 0, 0
        for seed in range(draws):
            X, truth, at_risk = panel(np.random.default_rng(seed), *arguments)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                em = AnnotatorEM().fit(X)
            flagged += int(np.sum((em.weights_ < 0.5) & at_risk))
            size += int(at_risk.sum())
            ratios.append(_error_over_mean(em.mu_, X, truth))
        rows.append([name, f"{group}: {flagged} of {size}", *_ratio_cells(ratios)])
    headers = [
        "panel (200 items on 1..5, 50 honest workers)",
        "flagged",
        "MAE / mean's",
        "worst draw",
        "draws > 1% above the mean",
    ]
    note = (
        f"{draws} draws per panel, the default AnnotatorEM(); every worker is "
        "honest. Herding: a herd of workers answer the average of the item's "
        "earlier ratings (noise 0.3), the others the truth (noise 0.8). Two "
        "cultures: each group has its own view of each item, the truth the "
        "population's average view. Both break the model's reading of "
        "agreement as care (the module's docstring says how); known limits "
        "of the default (the user guide's limitations; "
        "benchmarks/notes/issue16_evidence.md, stop 64)."
    )
    return table(headers, rows), note
