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
print("flagged:", nflx.annotators[em.judged_ & (em.weights_ < 0.5)].tolist())
lecture = AnnotatorEM(bounded=False, noise="shared", score_range=nflx.score_range)
lecture.fit(nflx.data)
print(
    "lecture's form flags:",
    nflx.annotators[lecture.judged_ & (lecture.weights_ < 0.5)].tolist(),
)

# %%
# The bars are each viewer's log-odds of being good, so the flagged viewers
# (red) point down instead of vanishing at a weight of 0. The model flags
# exactly the four appended viewers (starred, bold labels), and nobody else;
# viewers 9 and 6 come next, still far on the good side.
#
# The lecture's form, a plain normal with one noise level for everybody
# (``AnnotatorEM(bounded=False, noise="shared")``), also flags viewers 6 and 9
# of the original panel, whose ratings stray from the consensus more than the
# others'. The default form lets each viewer have a noise level of its own and
# truncates the good ratings to the 1..5 scale, so a viewer who is merely
# noisier, or who gives many top scores, is no longer taken for a random one.
fig, ax = plt.subplots(figsize=(10, 3.5))
plot_annotator_reliability(em, annotators=nflx.annotators, ax=ax)
appended = []
for position, label in enumerate(ax.get_xticklabels()):
    if int(label.get_text()) in nflx.unreliable:
        label.set_fontweight("bold")
        appended.append(position)
(stars,) = ax.plot(
    appended,
    np.full(len(appended), 3.0),
    marker="*",
    markersize=10,
    color="black",
    linestyle="none",
    label="appended unreliable viewer",
)
ax.legend(handles=[*ax.get_legend().legend_handles, stars], loc="lower right")
fig.tight_layout()

# %%
# Each clip's consensus (the mean opinion score of the trusted viewers, each
# weighted by the precision of its ratings) with its 95% interval, beside the
# plain mean over all 30 viewers. The intervals are clipped to the 1..5 scale:
# near its ends a normal interval would run past scores nobody can give.
fig, ax = plt.subplots(figsize=(10, 4))
plot_consensus(em, X=nflx.data, ax=ax)
fig.tight_layout()
plt.show()
