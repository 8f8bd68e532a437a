"""
The bad-annotator demo
======================

Five annotators score 30 images on [0, 1]. Three try to be accurate; two
answer at random. This is the demo that motivates the model: estimate each
image's score as the careful annotators see it, and find out who they are.
"""

# %%
# Make the ratings
# ----------------
# :func:`~skem.datasets.make_ratings` draws ratings from the model itself: good
# annotators rate around the true score with noise ``sigma``, bad ones
# uniformly over the scale.
import matplotlib.pyplot as plt
import numpy as np

from skem import AnnotatorEM
from skem.datasets import make_ratings
from skem.plotting import plot_annotator_reliability, plot_consensus

X, true_score, good = make_ratings(
    30, 5, bad_fraction=0.4, sigma=0.05, return_truth=True, random_state=3
)
print("truly good annotators:", np.flatnonzero(good))

# %%
# Fit and compare with the plain mean
# -----------------------------------
# The lecture's model has a plain normal for the good ratings and one noise
# level for everybody: ``AnnotatorEM(bounded=False, noise='shared')``. The
# default form (a normal truncated to the score range, one noise level per
# annotator) reaches the same verdict and the same error on these ratings.
em = AnnotatorEM(bounded=False, noise="shared").fit(X)
default = AnnotatorEM().fit(X)
print("judged good:", np.flatnonzero(em.weights_ >= 0.5))
print(f"EM consensus error:   {np.abs(em.mu_ - true_score).mean():.3f}")
print(f"plain mean error:     {np.abs(X.mean(axis=1) - true_score).mean():.3f}")
print(
    f"default form: judged good {np.flatnonzero(default.weights_ >= 0.5)}, "
    f"consensus error {np.abs(default.mu_ - true_score).mean():.3f}"
)

# %%
# The true scores (green), EM's consensus with 95% intervals (red) and the
# plain mean (grey), items sorted by their true score. The plain mean is
# pulled towards the middle of the scale by the random raters; EM follows the
# truth. On the right, each annotator's posterior probability of being good.
fig, (left, right) = plt.subplots(
    1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [2, 1.1]}
)
plot_consensus(em, truth=true_score, X=X, ax=left)
plot_annotator_reliability(em, ax=right)
# A smaller legend, clear of the flagged annotators' bars.
legend = right.get_legend()
right.legend(
    handles=legend.legend_handles,
    labels=[text.get_text() for text in legend.get_texts()],
    loc="lower right",
    fontsize=8,
)
fig.tight_layout()
plt.show()
