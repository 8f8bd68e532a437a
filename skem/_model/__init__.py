"""The model by form: parameters, likelihoods and the steps of each form.

Glossary
--------
One name per concept, in the code and in the docs:

location
    ``mu_i`` in the formulas: the centre of item ``i``'s good ratings as EM
    fits it (``_Block.location``; public ``location_``). For the truncated
    forms it can lie beyond the mean rating near the ends of the scale.
consensus
    An item's precision-weighted mean good rating (public ``mu_``, the
    estimators' ``transform``). It equals the location for the normal forms.
truncated
    The good ratings' normal is cut to the score range: the public
    ``bounded=True``, the form's ``likelihood='truncated'`` (``'normal'``
    otherwise). Locations are then kept within the range ("bounded" means
    nothing else; nothing is "clipped" but numbers to a range).
levels
    The values of a discrete scale (ACR 1..5, 0..100 in whole numbers).
    A bounded form reads ratings on levels as levels (``levels='auto'``):
    each stands for its cell, the interval half a step either side, and
    its likelihood is the normal's mass there (the form's
    ``likelihood='levels'``, public ``levels_``).
noise_prior
    The strength ``nu`` of the scaled inverse-chi-squared prior on each
    ``sigma_a**2`` (a density of ``log sigma_a**2``), in pseudo-ratings,
    toward the shared scale ``shared_sigma`` (``tau``).
weights, log_posterior
    The E-step's ``P(good)`` of each annotator (hard EM: its 0/1 flag) and
    ``log P(good)``.
others' consensus
    An item's location estimated without one annotator's rating: the mean
    of the other ratings less their biases, each weighed by its posterior
    over its variance, a flagged rater's at least ``pi``. A flagged
    annotator is judged again on it (:mod:`skem._model.predictive`,
    :mod:`skem._model.others`), its predictions widened where the others
    disagree on its items more than on the good annotators'; on levels
    also with the outer cells closed at the scale's ends, from the
    consensus weighed by the posterior.
responsibility
    What the M-step weighs an annotator's ratings by: its ``weights`` if
    it is in the mixture (``data.in_mixture``), else 1, as it enters the
    objective as good (:mod:`skem._model.evidence`).
statistics
    Per-annotator sums over the blocks, among them ``log_density``,
    ``sum_i log f_good(s_ia)``, which the E-step needs.
unit space
    Scores mapped to ``[0, 1]`` by the score range; EM runs there, the
    fitted attributes are in score units.
"""
