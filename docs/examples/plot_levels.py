"""
Ratings on levels, and verdicts the data cannot give
====================================================

Most subjective tests collect ratings on a few levels: ACR 1..5, a Likert
item, a 3-level sentiment. skem reads such ratings as levels: a good rater's
latent score is normal around the item's consensus, and the rating is the
level whose cell (half a step either side; the outer cells open) holds it.
The rating's likelihood is the normal's mass on that cell, a probability of
at most 1, against ``1 / K`` for a random rater.

First the likelihood itself, for one good rater of an item whose consensus
is 4.3 on a 1..5 scale.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm, spearmanr

import skem

levels = np.arange(1, 6)
location, sigma = 4.3, 0.6
cuts = np.concatenate([[-np.inf], levels[:-1] + 0.5, [np.inf]])
mass = np.diff(norm.cdf((cuts - location) / sigma))

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
grid = np.linspace(0.3, 5.7, 400)
left.plot(grid, norm.pdf(grid, location, sigma), color="k")
for low, high in zip(cuts[:-1], cuts[1:], strict=True):
    shown = (grid >= low) & (grid <= high)
    left.fill_between(grid[shown], norm.pdf(grid[shown], location, sigma), alpha=0.4)
left.set_xticks(levels)
left.set_xlabel("latent score (the cells of the five levels, shaded)")
left.set_title("a good rater: normal around 4.3")
right.bar(levels, mass, color=[f"C{k}" for k in range(5)], alpha=0.6, label="good")
right.axhline(1 / 5, color="grey", linestyle="--", label="random: 1/5")
right.set_xticks(levels)
right.set_xlabel("rating")
right.set_title("probability of each rating")
right.legend()

# %%
# The level 5 collects everything above 4.5: a rater who would have gone
# higher still answers 5, and that rating is no evidence against them. With a
# density instead of cell probabilities, exact agreement on a coarse scale is
# rewarded without bound as sigma shrinks, and a single disagreement makes an
# honest rater look random.
#
# A coarse, sparse panel
# ----------------------
# 300 items on three levels (negative, neutral, positive), 600 workers who
# rate 1 to 4 items each, 10% of them at random: the shape of many
# crowdsourcing tasks. We fit the default (levels read as levels) and the
# same form reading the ratings as exact scores (``levels=None``, skem 0.5's
# default).

rng = np.random.default_rng(0)
n_items, n_workers = 300, 600
truth = rng.uniform(-0.3, 2.3, n_items)
random_worker = rng.random(n_workers) < 0.1
X = np.full((n_items, n_workers), np.nan)
for worker in range(n_workers):
    items = rng.choice(n_items, rng.integers(1, 5), replace=False)
    if random_worker[worker]:
        X[items, worker] = rng.integers(0, 3, items.size)
    else:
        latent = truth[items] + rng.normal(0, 0.3, items.size)
        X[items, worker] = np.clip(np.round(latent), 0, 2)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # items without a rating
    fits = {
        "levels (default)": skem.AnnotatorEM().fit(X),
        "exact scores (levels=None)": skem.AnnotatorEM(levels=None).fit(X),
    }
rated = ~np.isnan(X).all(axis=1)
plain_mean = np.nanmean(X[rated], axis=1)
rho = spearmanr(plain_mean, truth[rated])[0]
print(f"plain mean: Spearman with the truth {rho:.3f}")
for name, em in fits.items():
    flagged = em.judged_ & (em.weights_ < 0.5)
    verdicts = skem.annotator_frame(em)["verdict"].value_counts()
    print(
        f"{name}: Spearman {spearmanr(em.mu_[rated], truth[rated])[0]:.3f}; "
        f"honest workers flagged {flagged[~random_worker].mean():.0%}, random "
        f"ones {flagged[random_worker].mean():.0%}; verdicts "
        + ", ".join(f"{count} {verdict}" for verdict, count in verdicts.items())
    )

# %%
# Read as levels, the consensus is at least the plain mean's and no honest
# worker is flagged: at this panel's agreement, four ratings are too few to
# judge a worker, and almost everybody is undetermined and counts alike.
# Read as exact scores, the fit judges more workers, because a density
# rewards exact agreement on a coarse scale: a rating seems to tell more
# than a level can. Most of these workers have fewer than three ratings on
# items that someone else rated, and such a worker enters EM as good,
# whichever way the ratings are read. (Before that rule, exact scores made a
# third of the honest workers "random" on this panel, and the consensus fell
# below the plain mean.) Where more workers have enough ratings to be
# judged, the reading matters more: on the real weather-sentiment panel,
# read as exact scores on the automatic range, a mixture flags 3 of 745
# workers, and only its test against everyone good sets that aside (those 3
# end undetermined); on the range of the ratings' own ends, 0 to 2, it flags
# 34, and the test keeps that fit (8 judged random). The levels flag none.
#
# Most workers here are *undetermined*. A worker is judged only on items
# that at least two others rated too, and needs three such ratings: below
# that, a disagreement could be anybody's. And it needs enough of them that
# an honest worker's ratings could reach a verdict's odds (9 to 1) at this
# panel's agreement: each rating counts for less when few others share its
# item, and the fit measures how much a good rating tells. Here no worker
# rates more than four items, so many with three or four judged ratings
# stay undetermined too (left of the line, or grey beyond it). An
# undetermined worker counts in the consensus with the panel's prior
# ``pi_`` rather than with a posterior that rests on a few of its own
# ratings (``judged_``).

em = fits["levels (default)"]
fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
judged = em.n_judged_ratings_
for verdict, color in [("consistent", "C2"), ("undetermined", "C7"), ("random", "C3")]:
    who = skem.annotator_frame(em)["verdict"].to_numpy() == verdict
    ax.scatter(
        judged[who] + rng.uniform(-0.2, 0.2, who.sum()),
        em.weights_[who],
        s=12,
        color=color,
        label=verdict,
    )
ax.axvline(2.5, color="grey", linestyle=":")
ax.set_xlabel("judged ratings (on items that two others rated too)")
ax.set_ylabel("P(good)")
ax.legend(loc="center right")
plt.show()
