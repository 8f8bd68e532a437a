"""
Robustness to random annotators
===============================

How much does the consensus suffer as more annotators answer at random? For
each share of random annotators from 0 to 90%, we draw rating matrices from
the model (200 items, 10 annotators, 30% of ratings missing) and compare the
mean absolute error of four consensus methods, averaged over five seeds.
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
errors = {name: np.zeros(len(fractions)) for name in methods}
seeds = range(5)
for k, fraction in enumerate(fractions):
    for seed in seeds:
        X, truth, _ = make_ratings(
            200,
            10,
            bad_fraction=fraction,
            sigma=0.1,
            missing_fraction=0.3,
            return_truth=True,
            random_state=seed,
        )
        for name, method in methods.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                errors[name][k] += np.abs(method(X) - truth).mean() / len(seeds)

# %%
# The mean degrades linearly with the share of random raters; the median
# resists until they are about half. EM keeps the error of the good raters
# alone as long as a few good annotators agree with one another: it only
# breaks down when nearly everyone is random.
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
}
offsets = {"mean": 0.0, "median": 0.0, "AnnotatorEM": -0.8, "HardAnnotatorEM": 0.8}
fig, ax = plt.subplots(figsize=(7, 4))
for name, error in errors.items():
    ax.plot(100 * fractions + offsets[name], error, label=name, **styles[name])
ax.set_xlabel("random annotators (%)")
ax.set_ylabel("consensus mean absolute error")
ax.set_title("Consensus error against the share of random annotators")
ax.legend()
fig.tight_layout()
plt.show()
