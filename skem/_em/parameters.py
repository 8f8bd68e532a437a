"""The documentation of the driver's parameters, shared by every estimator.

The parameters are :class:`skem._em.driver._BaseEM`'s; each public estimator's
docstring (in memory and on Dask) formats this text in, so that it is written
once. So do the in-memory estimators with the attributes they share.
"""

# The range of ``tail``. At its heaviest, the Student-t's steps are coordinate
# maxima only while sqrt(tail) * sigma is far above the rounding of the
# residuals (fuzzing broke them from 1e-18 on), and far below 1 a consensus
# rests on the single nearest rating; beyond 1e6 the t is the normal.
_MIN_TAIL, _MAX_TAIL = 0.1, 1e6

# The degrees of freedom that tail='auto' chooses from, None (the normal)
# first: a tie keeps the lighter tail. From 32 on the t is near the normal,
# and each halving below 8 a distinctly heavier tail, down to the Cauchy.
_AUTO_TAILS = (None, 32.0, 8.0, 4.0, 2.0, 1.0)

_SHARED_PARAMETERS = """
    bounded : bool, default=True
        Form of the good annotators' ratings. If True, ``Normal(mu_i + b_a,
        sigma_a**2)`` truncated to ``score_range_``: good and bad ratings then
        have the same support, and a wide normal no longer loses mass outside
        the scale (which made honest but noisy raters, and items near the ends
        of the scale, look random). If False, the plain normal of the lecture.
        The bounded M-step has no closed form; it takes guarded Newton steps
        that never lower the objective, and keeps each ``mu_i`` within the
        score range.

    noise : {'per_annotator', 'shared'}, default='per_annotator'
        ``'per_annotator'``: each annotator has its own ``sigma_a``, with a
        scaled inverse-chi-squared prior toward a shared scale
        ``shared_sigma_`` worth ``noise_prior`` ratings; EM then maximizes the
        log posterior, and the consensus is a precision-weighted mean. A
        noisier annotator's own sigma widens with the evidence of its
        ratings; with far fewer ratings than ``noise_prior`` it stays near the
        shared scale, and one much noisier than the rest may still be taken
        for a random one. ``'shared'``: one ``sigma`` for everybody, as in the
        lecture. ``AnnotatorEM(bounded=False, noise='shared')`` is the
        lecture's model exactly.

    noise_prior : float, default=200.0
        Strength of the prior on each ``sigma_a``, in pseudo-ratings: an
        annotator with ``n`` ratings has ``sigma_a**2 = (w_a SS_a + nu
        tau**2) / (w_a n + nu)`` (plain normal form), so one with few
        ratings stays near the shared scale and one lucky rating cannot make
        anyone "perfect". The prior is a density of ``log sigma_a**2``, so
        it depends on ``sigma_a / shared_sigma_`` alone. Unused with
        ``noise='shared'``. As it grows, the fit tends to the
        ``noise='shared'`` fit. It
        must lie in ``[1e-300, 1e9]``, else ``fit`` raises a ValueError:
        1e9 pseudo-ratings already hold every ``sigma_a`` at the shared
        scale (``noise='shared'`` is the limit), and beyond either end the
        prior's terms leave double precision (measured: from about 1e12 the
        annotators' order could decide which maximum a fit reaches, and
        below 1e-300 the prior's constant is not finite).

    bias : bool, default=False
        If True, each annotator has an offset ``b_a`` (a rater who is
        consistently 0.5 higher is still a good rater), identified by
        ``sum_a w_a b_a = 0`` (or, with gold items, by the gold scores). The
        bounded forms keep every location in the score range: when centring
        the biases would move one out, they take the nearest shift that
        does not.
    init : {'auto', 'agreement', 'median_agreement', 'median', 'all_good', \
'random'} or array-like of shape (n_annotators,), default='auto'
        How EM starts. EM finds a local maximum, so the start matters.

        - ``'auto'``: EM runs 3 iterations from each of ``'agreement'``,
          ``'median_agreement'`` and initial weights of 1
          (``init=np.ones(n_annotators)``: everyone good, the prior ``pi``
          too), and only the run then ahead (the first of them on a tie to
          rounding) goes on to convergence: the fit is that start's own fit,
          bit for bit, for the cost of about one run and 6 iterations. Each
          agreement start finds the better maximum where the other can miss
          it (below); the start of everyone good finds the maximum nearest
          "nobody random", which a start that doubts some annotators can
          miss for one that flags honest but noisy annotators. A fit that
          calls anyone random is then tested against everyone good.
          A run that is behind after 3 iterations can still end higher; to
          compare complete runs, fit each start and compare their
          ``log_likelihood_``.
        - ``'agreement'``: each annotator's initial P(good) is the
          correlation of its ratings with the mean of the other ratings of
          the same items, or a gold item's known score (clipped at 0, over
          the largest; 1/2 where it is not defined: fewer than 3 ratings on
          items that others rated too or gold items, or no spread),
          followed by an M-step. A random annotator's ratings do not
          follow the items, whatever the scale. Its own rating is left out
          of the reference: with few ratings per item, a reference that
          holds it correlates with it even where the annotator is random.
        - ``'median_agreement'``: the same, with each item's median as the
          reference. Where an item's few raters include one who contradicts
          the others, the median follows those who agree, while the other
          ratings' mean of an honest annotator holds the contradiction.
        - ``'median'``: ``mu`` is each item's median, ``sigma`` is
          ``sqrt(pi / 2)`` times the mean absolute deviation from it (the
          median absolute deviation is 0 on discrete scales such as 1..5),
          ``pi=0.5``. Robust when many annotators are random.
        - ``'all_good'``: every annotator is taken as good: ``mu`` is each
          item's mean, ``sigma`` the pooled RMS deviation from it, ``pi=0.5``.
          This is the start of the classic derivation.
        - ``'random'``: random initial P(good) per annotator, drawn from
          ``random_state``, followed by an M-step.
        - an array: your initial P(good) of each annotator, followed by an
          M-step; ``pi`` starts at their mean.

    n_init : int, default=1
        Number of runs with ``init='random'``; the run with the highest final
        objective is kept. The other inits are deterministic: ``'auto'``
        races three starts, the others make one run. The kept run then goes
        through the checks that may refit it with some annotators presumed
        good (:ref:`undetermined`, :ref:`lapses`), on an objective of its
        own: a fit with more runs can end at a lower ``log_likelihood_``.

    max_iter : int, default=100
        Maximum number of EM iterations per run.

    tol : float, default=1e-6
        EM stops when the objective improves by less than ``tol`` per observed
        rating, that is when ``|objective_t - objective_{t-1}| / n_ratings <
        tol``. The scale is absolute in nats per rating: it does not depend on
        the size of the data nor on the units of the scores.

    score_range : 'auto' or tuple of (float, float), default='auto'
        ``(low, high)`` of the uniform distribution of bad ratings, and of the
        truncation of good ones when ``bounded=True``. ``'auto'`` takes the
        min and max of the training ratings, widened by half a step on each
        side when the ratings lie on evenly spaced levels (integers 1..5 give
        ``(0.5, 5.5)``): each level stands for the interval around it. The
        levels are found to the rounding of the stored scores, so the rule
        commutes with affine maps ``a * s + b`` (for ``a < 0``, which
        reverses the scale, the range is the image with its ends swapped)
        as long as the step stays above about 1e-10 of the largest
        ``|score|``. All
        equal ratings ``c`` give ``c -/+ |c| / 2`` (``-/+ 0.5`` for 0). At
        prediction time the range is extended to new ratings outside it. An
        explicit range is checked: a rating outside it is an error, in
        ``fit`` and after. On levels (see ``levels``) an explicit range names
        the outer levels, ``(1, 5)``, or the ends of their cells, ``(0.5,
        5.5)``; both give the fit of ``'auto'`` on ratings that use every
        level, and ``score_range_`` is then ``(0.5, 5.5)``. Whole-number
        ends on whole-number ratings name a scale of every whole number
        between them, used or not: ratings in tens on ``(0, 100)`` are on
        101 levels; on their own 11, state the ends of their cells, ``(-5,
        105)``, or ``levels``.

    score_scale : {'linear', 'log'}, default='linear'
        The axis on which a good annotator's errors are normal (or Student-t).
        ``'linear'``: on the scores, errors of the same size at every level, as
        on a rating scale. ``'log'``: on the natural logarithm of the scores,
        errors proportional to the score, as when people guess counts, prices or
        durations (a guess of 300 for 250 errs as a guess of 30 for 25). Every
        form then runs on the logarithms: the good ratings are log-normal (log-t
        with ``tail``), a bad annotator's ratings log-uniform over
        ``score_range_``, and the consensus is the exponential of the
        logarithms' consensus, a weighted geometric mean. The consensus,
        ``location_``, ``transform``, the intervals (the logarithm's,
        exponentiated), ``score_range_`` and the likelihoods are in score units;
        ``sigma_``, ``shared_sigma_``, ``bias_`` and ``mu_std_error_`` are on
        the logarithms (a ``sigma_`` of 0.2 is an error of about 20%). Ratings,
        gold scores and an explicit ``score_range`` must be positive, and no
        levels are read. For counts with outliers,
        ``AnnotatorEM(score_scale='log', bounded=False, tail='auto')``: on
        crowd/dot_guessing its consensus has an error of 5.78 (the mean 9.74,
        the median 5.85, the default 7.03).

    levels : 'auto', None or array-like, default='auto'
        Whether the bounded forms read the ratings as levels of a discrete
        scale. On levels a good annotator's latent score is the normal, and
        the rating is the level whose cell (half a step either side; the
        outer cells open to the scale's ends) holds it: its likelihood is
        the normal's mass on the cell, and a bad annotator picks every level
        with the same probability. A probability never exceeds 1, so
        annotators who agree exactly on a coarse scale are not rewarded
        without bound (with a density they would be, and one disagreement
        would make anyone look random), and a rating at the top of the scale
        is read as "at least the top".

        - ``'auto'``: levels when the ratings lie on evenly spaced values (to
          the rounding of the stored scores, as for ``score_range='auto'``),
          spanning the ratings or the explicit ``score_range``; else exact
          scores.
        - None: exact scores, the truncated normal of 0.5.
        - an array of evenly spaced values, ``[1, 2, 3, 4, 5]``: these levels,
          even those nobody used; every rating must be one of them, and
          ``score_range`` must stay ``'auto'``.

        Only the bounded forms read levels: with ``bounded=False`` ``'auto'``
        means exact scores, and explicit levels are an error.

    tail : float, 'auto' or None, default=None
        Degrees of freedom of a Student-t good component, for the plain forms
        (``bounded=False``; with ``bounded=True`` it is an error), or None
        for the normal. A careful annotator's wild rating (a typo, a slip of
        a counting task) then costs a few nats instead of the square of its
        distance, and pulls the consensus far less: the consensus is the
        item's t location, a reweighted mean. Smaller is heavier: 1 is the
        Cauchy, 3 to 8 a moderate tail, and beyond about 30 the normal. From
        0.1 to 1e6: far heavier tails than the Cauchy make a consensus rest
        on the single nearest rating.

        ``'auto'`` fits the normal and the t with 32, 8, 4, 2 and 1 degrees
        of freedom, and keeps the fit with the highest ``log_likelihood_``
        (``tail_`` says which): the maximum-likelihood tail on that grid, at
        six times the cost of one fit. A warm start goes on with the tail it
        chose (after a fit of another tail it tries them all again).
        For counts, combine it with ``score_scale='log'`` (see there and
        the user guide).
        It is not for rating scales: read as exact scores, ratings that
        agree exactly on a coarse lattice are worth ever more to a sharper
        density, and the heaviest tail wins (on emotion/ with random raters
        in place of 40% of the workers it keeps the Cauchy or 2 degrees of
        freedom, with an error of 17.9 against the default's 12.8).

    min_sigma : 'auto' or float, default='auto'
        Floor on ``sigma``. Without it a lone good annotator drives ``sigma``
        to 0 and the likelihood to infinity. ``'auto'`` is ``1e-3`` times the
        width of the score range (of its logarithms, with
        ``score_scale='log'``, where an explicit floor is on the logarithms
        too). The M-step maximizes over ``sigma >=
        min_sigma``, which keeps EM monotone.

    random_state : int, RandomState instance or None, default=None
        Seed of ``init='random'``. Pass an int for reproducible results.

    warm_start : bool, default=False
        If True, a new ``fit`` on the same items starts from the previous
        solution instead of ``init``, with a single run. In memory each run
        of EM (the first, and a refit with fewer annotators in the mixture)
        resumes where it ended, so that a refit of the same ratings keeps
        the fit; on Dask the runs start from the fitted parameters and the
        locations of ``consensus_``, and items new to the refit from their
        medians (in memory the refit needs the same items). After a fit on
        the other ``score_scale``, or of another ``tail``, a fit starts
        cold.

    verbose : int, default=0
        If positive, print the objective after every iteration. It is the
        objective of the scores in the unit space of ``score_range_`` (0 to
        1): it differs from ``log_likelihoods_``, in score units, by the
        number of ratings times the log of the range's width (and, with
        ``score_scale='log'``, the sum of the ratings' logarithms).
"""

_SHARED_ATTRIBUTES = """
    log_posterior_ : ndarray of shape (n_annotators,)
        ``log P(good | ratings)`` of each annotator at the fitted parameters,
        soft even for hard EM. It ranks annotators where ``weights_``
        saturates at exactly 0 or 1.

    mu_ : ndarray of shape (n_items,)
        Consensus score of each training item: the mean of its bias-corrected
        ratings weighted by ``consensus_weights_ / sigma_**2``, at the fitted
        parameters: :meth:`transform` of the training ratings gives the same
        numbers. For the bounded forms it is kept inside ``score_range_``.
        NaN for items without any rating (a warning says how many).

    location_ : ndarray of shape (n_items,)
        Location ``mu_i`` of the good ratings of each item. For the plain
        forms it is the consensus, ``mu_``, at ``consensus_weights_``: not
        EM's last location where an annotator is undetermined (EM weighs it
        by its posterior), so ``log_likelihood_`` is not recomputed from it
        there; for the bounded forms the location of the truncated normal,
        which lies beyond the mean rating near the ends of the scale (an
        item that everyone rates at the top has its location at the top).

    mu_std_error_ : ndarray of shape (n_items,)
        Standard error of each ``mu_``: ``c / sqrt(P_i)``, where ``P_i``
        sums ``w_a / sigma_a**2`` over the annotators who rated item ``i``
        (the error of a precision-weighted mean of good ratings), ``w_a``
        each annotator's weight in the consensus (``weights_``, or ``pi_``
        where the verdict is undetermined), and ``c`` scales sigma to the
        ratings' spread about their consensus, corrected for the degrees of
        freedom the item means use up: ``c**2 = sum_ia w_a z_ia**2 / sum_i
        (W_i - V_i / W_i)``, with ``z_ia`` a rating's residual over its
        rater's sigma, ``W_i`` the sum of the item's weights and ``V_i`` that
        of their squares (for a Student-t error, ``tail``, the numerator is
        ``sum_i W_i``, times the t's own factor). With ``noise='shared'``
        this is ``c * sigma_ / sqrt(W_i)``. With ``score_scale='log'``, the
        error of ``log(mu_)``. 0 for gold
        items, ``inf`` for items whose raters all have zero weight, NaN for
        items without any rating. See also :meth:`mu_interval`.

    n_judged_ratings_ : ndarray of shape (n_annotators,)
        Number of each annotator's ratings on items that at least two other
        annotators rated too: the ratings that can judge it. With fewer
        than 3 it is not judged (``judged_``).

    judged_ : ndarray of shape (n_annotators,), dtype bool
        Whether the ratings judge the annotator: at least 3 judged ratings,
        and enough evidence that the fit estimated its good/random flag
        rather than presume it good (a lapsed annotator, ``lapsed_``, is
        judged with its slip allowed), but not those a mixture flagged before
        it failed its test against everyone good (:ref:`undetermined`). One
        not judged is "undetermined", and counts at ``pi_`` in the consensus
        and in :meth:`score_samples`.

    lapsed_ : ndarray of shape (n_annotators,), dtype bool
        Whether the fit would have called the annotator random for one
        rating alone: with that rating read as a slip, the rest make it
        good (:ref:`lapses`). It entered EM as good, and its ``weights_``,
        ``log_posterior_`` and verdict are those with the slip allowed.

    consensus_weights_ : ndarray of shape (n_annotators,)
        Weight of each annotator in the consensus ``mu_``: ``weights_`` where
        ``judged_``, ``pi_`` elsewhere. An annotator whose ``weights_`` is
        near 0 after one or two ratings still counts at ``pi_`` here.

    sigma_ : float or ndarray of shape (n_annotators,)
        Standard deviation of good annotators' ratings around ``mu_ +
        bias_`` (before truncation): a float for ``noise='shared'``, one value
        per annotator for ``noise='per_annotator'``. With
        ``score_scale='log'``, of the ratings' logarithms.

    shared_sigma_ : float
        The scale that the per-annotator prior pulls each ``sigma_a`` toward,
        estimated with the rest (``sigma_`` itself for ``noise='shared'``).

    bias_ : ndarray of shape (n_annotators,)
        Offset of each annotator's good ratings; zeros unless ``bias=True``.
        With ``score_scale='log'``, of their logarithms: ``0.1`` rates 10.5%
        high.

    pi_ : float
        Prior probability that an annotator is good, kept within
        ``[1e-6, 1 - 1e-6]``: the share of good annotators among those in
        the mixture, who have at least 3 ratings on items that someone else
        rated too. The others enter EM as good (``1 - 1e-6`` if nobody is
        in the mixture, or if the mixture failed its test against everyone
        good; see :ref:`undetermined`).

    score_range_ : tuple of (float, float)
        ``(low, high)`` of the uniform distribution of bad ratings (of the
        log-uniform one, with ``score_scale='log'``).

    levels_ : ndarray of shape (n_levels,) or None
        The levels the ratings were read as, lowest first (see ``levels``);
        None when they were read as exact scores.

    tail_ : float or None
        The degrees of freedom of the fitted Student-t good component (those
        ``tail='auto'`` chose, or ``tail``), None for the normal.

    log_likelihoods_ : ndarray of shape (n_iterations,)
        The objective after each iteration of the kept run, in score units
        (densities of the scores, also with ``score_scale='log'``, so that
        fits on either scale compare): the log-likelihood (in which an
        annotator with fewer than 3 ratings on items that someone else rated
        enters as good), plus the log prior density of the ``sigma_a`` for
        ``noise='per_annotator'``.

    log_likelihood_ : float
        The objective at the fitted parameters, ``log_likelihoods_[-1]``.

    n_iter_ : int
        Number of EM iterations of the kept run.

    converged_ : bool
        Whether the kept run converged within ``max_iter``.

    n_features_in_ : int
        Number of annotators seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_annotators,)
        Names of the annotators seen during ``fit``, when X has string column
        names.
"""
