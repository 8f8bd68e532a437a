"""
The report page: a fit explained in plain words
===============================================

:func:`skem.report` writes one HTML file that a subjective-test practitioner
can read without a statistics course: who was flagged and why, each
annotator's reliability, the consensus of each item with its interval, each
annotator's bias and inconsistency, the model and its convergence, and what to
do next. The figures are embedded in the page and its style is inline, so it
opens offline and can be mailed as it is.

Here it explains a fit of the Netflix video-quality ratings bundled with skem:
79 clips rated 1..5 by 30 viewers, the last 4 of whom were appended as
unreliable. `Open the page <nflx_report.html>`_ (written by the same code when
this documentation was built).
"""

import base64
import io
import re
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

import skem
from skem import AnnotatorEM
from skem.datasets import load_video_quality

nflx = load_video_quality()
em = AnnotatorEM(score_range=nflx.score_range).fit(nflx.data)

with tempfile.TemporaryDirectory() as folder:
    page = skem.report(
        em,
        Path(folder) / "nflx_report.html",
        nflx.data,
        items=nflx.item_labels,
        annotators=nflx.annotators,
        item_name="clip",
        annotator_name="viewer",
        title="Netflix public dataset, with 4 appended unreliable viewers",
    )
    html = page.read_text(encoding="utf-8")
print(f"{page.name}: {len(html) / 1e3:.0f} kB, one self-contained file")

# %%
# The same verdicts, as a table
# -----------------------------
# The page's words come from the same verdicts as
# :func:`skem.annotator_frame`, whose columns are those of every skem table
# (the page shows them under a reader's names).
# ``p_good`` is the posterior probability that a viewer is good; a viewer is
# ``"consistent"`` from 0.9 up, ``"random"`` from 0.1 down, and
# ``"undetermined"`` in between or with fewer than 3 ratings on clips that
# at least two others rated too.
viewers = skem.annotator_frame(em, nflx.annotators, X=nflx.data, name="viewer")
flagged = viewers.loc[viewers["verdict"] != "consistent"]
print(flagged[["viewer", "verdict", "n_ratings", "p_good"]].to_string(index=False))

# %%
# The page's main figure
# ----------------------
# The reliability of each viewer, as the page shows it. The figures are PNG
# images embedded in the page as ``data:`` URIs; here the first one is read
# back from the file. The four appended viewers (red) answer at random: their
# probability of being good is below 0.001, and their ratings barely count in
# the consensus.
figures = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
image = plt.imread(io.BytesIO(base64.b64decode(figures[0])), format="png")
fig, ax = plt.subplots(figsize=(8, 8 * image.shape[0] / image.shape[1]))
ax.imshow(image)
ax.set_axis_off()
fig.tight_layout()

# %%
# How to read the page
# --------------------
# - **Who was flagged, and why** lists the random and undetermined viewers,
#   each with the reason in words: how many ratings, and how well they agree
#   with the consensus (Pearson's r). Viewer 26's r is negative: the ratings
#   run against everyone else's.
# - **Consensus score of each clip** shows each clip's consensus, lowest to
#   highest, with its 95% interval on the scale's own levels (1 to 5), clipped
#   to the scale. Every viewer rated every clip here, so all intervals are
#   about as wide and "What to do next" names none; on sparse data it names
#   the clips whose intervals are widest, to be rated again.
# - **Inconsistency of each viewer** (**Bias and inconsistency** for a fit with
#   ``bias=True``) uses the names of ITU-T P.913 and ITU-R BT.500: the
#   inconsistency is the spread the model fits to a good rating (``sigma``), the
#   bias how much higher than the consensus a viewer rates.
# - **The model and the fit** says which model form was fitted and whether EM
#   converged, in how many iterations, and at which objective.
print(re.search(r"EM converged[^<]*", html).group(0))
