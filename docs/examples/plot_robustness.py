"""
Robustness to random annotators
===============================

How much does the consensus suffer as more annotators answer at random? For
each share of random annotators from 0 to 90%, we draw rating matrices from
the model (200 items, 10 annotators, 30% of ratings missing) and compare the
mean absolute error of four consensus methods, averaged over five seeds. As a
reference, an oracle that knows who the good annotators are averages their
ratings alone.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np

from skem import AnnotatorEM, HardAnnotatorEM
from skem.datasets import make_ratings

fractions = np.linspace(0, 0.9, 10)
methods = {
    "mean": lambda X: np.nanmean(X, axis=1),
    "median": lambda X: np.nanmedian(X, axis=1),
    "AnnotatorEM": lambda X: AnnotatorEM(score_range=(0, 1)).fit(X).mu_,
    "HardAnnotatorEM": lambda X: HardAnnotatorEM(score_range=(0, 1)).fit(X).mu_,
}
oracle = "oracle (good raters)"
errors = {name: np.zeros(len(fractions)) for name in [*methods, oracle]}
seeds = range(5)
for k, fraction in enumerate(fractions):
    for seed in seeds:
        X, truth, good = make_ratings(
            200,
            10,
            bad_fraction=fraction,
            sigma=0.1,
            missing_fraction=0.3,
            return_truth=True,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, method in methods.items():
                errors[name][k] += np.abs(method(X) - truth).mean() / len(seeds)
            # The oracle, over the items that at least one good annotator rated.
            oracle_error = np.nanmean(np.abs(np.nanmean(X[:, good], axis=1) - truth))
        errors[oracle][k] += oracle_error / len(seeds)
print(f"{'random (%)':21s}" + " ".join(f"{100 * f:5.0f}" for f in fractions))
for name, error in errors.items():
    print(f"{name:21s}" + " ".join(f"{e:5.3f}" for e in error))

# %%
# The mean degrades linearly with the share of random raters, from 0.029 to
# 0.192; the median resists until they are about half (0.081 at 50%), then
# climbs as fast. Both EM variants match the oracle (dotted) up to 70% random
# annotators, 0.058 against 0.057, as long as three good annotators agree with
# one another. With two good annotators out of ten (80%) they lose a little
# ground, 0.081 against the oracle's 0.067, still far below the median's
# 0.169: the start that weighs each annotator by its agreement with the
# *other* ratings of its items finds the two (a start from the items'
# medians, in which each random annotator's own rating weighs, left a random
# annotator counted good on some draws: 0.110). With a single one (90%) no
# two annotators agree any more, and EM does about as badly as the mean.
#
# Both EM variants often reach the same consensus, so their curves overlap:
# each method has its own marker and line style, and a small horizontal
# offset keeps the markers of one from hiding the other's.
styles = {
    "mean": {"marker": "o", "linestyle": "-"},
    "median": {"marker": "s", "linestyle": "-."},
    "AnnotatorEM": {"marker": "^", "linestyle": "-", "markersize": 8},
    "HardAnnotatorEM": {
        "marker": "v",
        "linestyle": "--",
        "markerfacecolor": "none",
        "markersize": 8,
    },
    oracle: {"color": "black", "linestyle": ":", "linewidth": 1.5},
}
offsets = {"AnnotatorEM": -0.8, "HardAnnotatorEM": 0.8}
fig, ax = plt.subplots(figsize=(7, 4))
for name, error in errors.items():
    ax.plot(100 * fractions + offsets.get(name, 0.0), error, label=name, **styles[name])
ax.set_xlabel("random annotators (%)")
ax.set_ylabel("consensus mean absolute error")
ax.set_title("Consensus error against the share of random annotators")
ax.legend()
fig.tight_layout()
plt.show()
