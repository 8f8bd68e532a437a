"""
Real data: Netflix video-quality ratings
========================================

Netflix released the ratings of 79 video clips on the 1..5 absolute category
rating scale by 26 viewers, and a variant with 4 unreliable viewers appended
(annotators 26 to 29). The data is bundled with skem (Apache License 2.0), so
no download is needed.
"""

import matplotlib.pyplot as plt
import numpy as np

from skem import AnnotatorEM
from skem.datasets import load_video_quality
from skem.plotting import plot_annotator_reliability, plot_consensus

nflx = load_video_quality()
em = AnnotatorEM(score_range=nflx.score_range).fit(nflx.data)
least_reliable = nflx.annotators[np.argsort(em.log_posterior_)[:4]]
print("four least reliable:", sorted(least_reliable.tolist()))
print("known unreliable:   ", nflx.unreliable.tolist())
print("flagged:", nflx.annotators[em.weights_ < 0.5].tolist())

# %%
# The four appended viewers have the lowest posterior probability of being
# good. The model also flags viewers 6 and 9 of the original panel, whose
# ratings disagree with the consensus more than the shared noise allows.
fig, ax = plt.subplots(figsize=(10, 3.5))
plot_annotator_reliability(em, annotators=nflx.annotators, ax=ax)
for label in ax.get_xticklabels():
    if int(label.get_text()) in nflx.unreliable:
        label.set_color("tab:red")
        label.set_fontweight("bold")
fig.tight_layout()

# %%
# Each clip's consensus (the mean opinion score of the trusted viewers) with
# its 95% interval, beside the plain mean over all 30 viewers.
fig, ax = plt.subplots(figsize=(10, 4))
plot_consensus(em, X=nflx.data, ax=ax)
fig.tight_layout()
plt.show()
