"""Speed and scale: one EM iteration against a bincount pass, growth, sparsity."""

import functools
import warnings

import numpy as np

from benchmarks import peers
from benchmarks._common import (
    Skipped,
    median_time,
    peak_memory,
    replace_with_random_raters,
    shared_data_dir,
    table,
)
from skem import AnnotatorEM
from skem._em.backend import _Block, _InMemoryBackend
from skem._em.huge_pages import _count_values, _without_huge_page_advice
from skem._em.ratings import _ratings_from_matrix
from skem._em.runs import _AUTO_STARTS, _prepare_starts
from skem._model.starts import _estimate_item_medians
from skem.datasets import make_ratings

RATINGS_PER_ITEM = 10


def _synthetic(n_ratings, n_annotators=None, seed=0):
    n_items = n_ratings // RATINGS_PER_ITEM
    n_annotators = n_annotators or max(100, n_ratings // 1000)
    return make_ratings(
        n_items,
        n_annotators,
        bad_fraction=0.3,
        sigma=0.1,
        missing_fraction=1 - RATINGS_PER_ITEM / n_annotators,
        sparse_output=True,
        random_state=seed,
    )


def _iteration_timer(X, **params):
    """The ratings and a function that runs one M-step and one E-step.

    The iteration starts from the fitted parameters: the steady state of EM.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = AnnotatorEM(**params).fit(X)
    scale = em._score_scale
    raw = _ratings_from_matrix(X.tocsr())
    ratings = raw.with_scores(scale.to_unit(raw.score), scale.unit_half_step)
    form = em._form(1e-3, scale, em.tail_)
    params = em._fitted_params(scale)
    block = _Block(ratings, None, scale.to_unit(em.location_))
    data = _InMemoryBackend(block, ratings.n_per_annotator, False)
    statistics = form.start(data, params)
    fitted = data.state
    weights, log_posterior = em.weights_, em.log_posterior_

    def one_iteration():
        # With NumPy's huge-page advice as a fit of these ratings has it.
        with _without_huge_page_advice(ratings.n_ratings):
            data.state = fitted
            new_params, new_statistics = form.m_step(
                data, params, weights, log_posterior, statistics
            )
            return em._posterior(data, form, new_params, new_statistics["log_density"])

    return ratings, one_iteration


FORMS = {
    "lecture (bounded=False, noise='shared')": {"bounded": False, "noise": "shared"},
    "bounded=False, noise='per_annotator'": {"bounded": False},
    "bounded=True, noise='shared'": {"noise": "shared"},
    "default (bounded=True, noise='per_annotator')": {},
}
# The default on ratings of a discrete scale: the same ratings on 101 levels.
LEVELS_ROW = "default on levels (the same ratings rounded to 0.01)"


def _in_turns(tasks, ratings, repeats):
    """Times of each task and of a bincount pass over ``ratings``, taking turns.

    Returns
    -------
    times : dict
        Each task's name, and ``"bincount"``, to its ``repeats`` times (s).
    """
    tasks = {
        **tasks,
        "bincount": lambda: np.bincount(
            ratings.item, ratings.score, minlength=ratings.n_items
        ),
    }
    times = {name: [] for name in tasks}
    for _ in range(repeats):
        for name, task in tasks.items():
            seconds, _ = median_time(task, 1)
            times[name].append(seconds)
    return {name: np.array(values) for name, values in times.items()}


def iteration_table(quick=False):
    """One EM iteration of each model form against one np.bincount pass.

    The forms and the bincount pass take turns, round after round, and each
    ratio is the median of its ratios within a round: a machine that slows
    down or speeds up during the run shifts both sides of a ratio alike.
    """
    n_ratings = 20_000 if quick else 2_000_000
    X = _synthetic(n_ratings)
    repeats = 3 if quick else 25
    timers = {name: _iteration_timer(X, **params) for name, params in FORMS.items()}
    timers[LEVELS_ROW] = _iteration_timer(_levels_of(X))
    ratings = next(iter(timers.values()))[0]
    tasks = {name: timer for name, (_, timer) in timers.items()}
    times = _in_turns(tasks, ratings, repeats)
    lecture = times[next(iter(FORMS))]
    rows = [
        [
            name,
            f"{ratings.n_ratings:,}",
            np.median(times[name]) * 1e3,
            np.median(times[name] / times["bincount"]),
            np.median(times[name] / lecture),
            np.median(times[name]) / ratings.n_ratings * 1e9,
        ]
        for name in [*FORMS, LEVELS_ROW]
    ]
    headers = [
        "model form",
        "ratings",
        "EM iteration (ms)",
        "ratio to a bincount pass",
        "ratio to the lecture's iteration",
        "ns per rating per iteration",
    ]
    note = (
        f"{repeats} rounds, in one process, in which every form and a bincount "
        "pass run in turn; times are medians over the rounds, ratios medians of "
        "the ratios within each round. On make_ratings data (sigma 0.1 on a 0..1 "
        "scale, 30% random raters), from the fitted parameters. A plain-normal "
        "iteration is one M-step (a few bincounts and gathers) and an E-step of "
        "O(annotators); a bounded one adds a pass of normal CDFs per rating (two "
        "erf evaluations, in cache-sized chunks) to check its joint Newton step. "
        "The annotators judged bad are offered their own sigma only where an "
        "upper bound (two exponentials per item, no normal CDF) cannot rule it "
        "out; on levels the bound takes a square per rating of theirs. On levels "
        "every rating's cell needs its two CDFs, near or far from the scale's ends. "
        "Each iteration runs with NumPy's huge-page advice as a fit of these "
        "ratings has it (withheld from 2**21 ratings on)."
    )
    return table(headers, rows), note


def _levels_of(X):
    """The same sparse ratings rounded to 0.01: 101 levels on the 0..1 scale."""
    on_levels = X.copy()
    on_levels.data = np.round(on_levels.data, 2)
    return on_levels


SETUP_INPUTS = {
    "sparse CSR, exact scores": lambda X: X,
    "sparse CSC, exact scores": lambda X: X.tocsc(),
    "sparse CSR, on levels (rounded to 0.01)": _levels_of,
}


def setup_table(quick=False):
    """What a default fit does before EM, against one np.bincount pass.

    Validation, conversion to flat ratings, the score scale (and whether the
    ratings lie on levels) and the three starts of ``init='auto'``, timed in
    rounds with a bincount pass as :func:`iteration_table` does.
    """
    n_ratings = 20_000 if quick else 2_000_000
    repeats = 3 if quick else 15
    X = _synthetic(n_ratings)
    tasks = {}
    for name, make_input in SETUP_INPUTS.items():
        data_in = make_input(X)

        def setup(data_in=data_in):
            with _without_huge_page_advice(_count_values(data_in)):
                _, _, _, (form,), data, _ = AnnotatorEM()._prepare_fit(data_in, None)
                _prepare_starts(data, form, list(enumerate(_AUTO_STARTS)), None, None)

        ratings = _ratings_from_matrix(data_in)
        tasks[name] = setup
        tasks[(name, "median")] = functools.partial(_estimate_item_medians, ratings)
    times = _in_turns(tasks, _ratings_from_matrix(X), repeats)
    rows = [
        [
            name,
            f"{X.nnz:,}",
            np.median(times[name]) * 1e3,
            np.median(times[name] / times["bincount"]),
            np.median(times[(name, "median")] / times["bincount"]),
        ]
        for name in SETUP_INPUTS
    ]
    headers = [
        "input",
        "ratings",
        "setup (ms)",
        "ratio to a bincount pass",
        "of which the item medians",
    ]
    note = (
        f"{repeats} rounds, in one process, in which each setup, the item medians "
        "alone and a bincount pass run in turn; times are medians over the "
        "rounds, ratios medians of the ratios within each round. The setup is "
        "what AnnotatorEM().fit does before its first EM iteration: validate_data, "
        "the flat ratings, the score range and whether the ratings lie on levels, "
        "the unit scores, and the three starts of init='auto' (each annotator's "
        "correlation with the mean of the other ratings of its items, and with "
        "the item medians, and weights of 1, each followed by a weighted "
        "mean). On "
        "make_ratings data (sigma 0.1 on a 0..1 scale, 10 ratings per item, 30% "
        "random raters); with NumPy's huge-page advice as a fit of these "
        "ratings has it."
    )
    return table(headers, rows), note


def scaling_table(quick=False):
    sizes = [10_000, 30_000] if quick else [100_000, 1_000_000, 10_000_000]
    rows = []
    for n_ratings in sizes:
        X = _synthetic(n_ratings)
        repeats = 1 if n_ratings >= 10_000_000 else 3

        def fit(X=X):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return AnnotatorEM().fit(X)

        seconds, em = median_time(fit, repeats)
        peak, _ = peak_memory(fit)

        def fixed_work(X=X):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return AnnotatorEM(init="median", max_iter=20, tol=0).fit(X)

        fixed_seconds, _ = median_time(fixed_work, repeats)
        _, one_iteration = _iteration_timer(X)
        iteration, _ = median_time(one_iteration, 5)
        rows.append(
            [
                f"{n_ratings:,}",
                f"{X.shape[0]:,} x {X.shape[1]:,}",
                seconds,
                em.n_iter_,
                fixed_seconds,
                iteration * 1e3,
                iteration / n_ratings * 1e9,
                peak / 2**20,
                peak / n_ratings,
            ]
        )
    headers = [
        "ratings",
        "items x annotators",
        "fit (s)",
        "iterations",
        "fit of 20 iterations (s)",
        "iteration (ms)",
        "ns/rating/iter",
        "fit peak memory (MiB)",
        "bytes per rating",
    ]
    note = (
        "Sparse CSR input, 10 ratings per item, 30% random annotators. 'fit' "
        "and its peak memory are the default's, whose init='auto' races three "
        "starts for 3 iterations each and keeps the leading run's blocks while "
        "the others run; 'fit of 20 iterations' is one run from "
        "init='median'. Peak memory is what the fit allocates (tracemalloc), "
        "beyond the input."
    )
    return table(headers, rows), note


def missing_table(quick=False):
    """A 90%-missing matrix against a full one of the same shape."""
    n_items, n_annotators = (2_000, 20) if quick else (40_000, 100)
    rows = []
    results = {}
    for missing in (0.0, 0.9):
        X = make_ratings(
            n_items,
            n_annotators,
            missing_fraction=missing,
            sparse_output=True,
            random_state=0,
        )
        _, one_iteration = _iteration_timer(X)
        iteration, _ = median_time(one_iteration, 7)
        dense = X.toarray()
        dense[dense == 0] = np.nan  # scores are never exactly 0 here
        for form, data in (("sparse", X), ("dense NaN", dense)):

            def fit(data=data):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return AnnotatorEM(init="median", max_iter=20, tol=0).fit(data)

            seconds, _ = median_time(fit, 3)
            results[(missing, form)] = seconds
            results[(missing, "iteration")] = iteration
            rows.append(
                [f"{missing:.0%}", form, f"{X.nnz:,}", seconds * 1e3, iteration * 1e3]
            )
    ratio_iteration = results[(0.9, "iteration")] / results[(0.0, "iteration")]
    ratio_sparse = results[(0.9, "sparse")] / results[(0.0, "sparse")]
    ratio_dense = results[(0.9, "dense NaN")] / results[(0.0, "dense NaN")]
    note = (
        f"{n_items:,} x {n_annotators} matrix, one run of 20 iterations per fit. "
        "90%-missing "
        f"over full: per iteration {ratio_iteration:.3f}, whole fit {ratio_sparse:.3f} "
        f"(sparse input), {ratio_dense:.3f} (dense input with NaN, whose "
        "validation and NaN scan touch every cell)."
    )
    headers = [
        "missing",
        "input",
        "ratings",
        "fit of 20 iterations (ms)",
        "iteration (ms)",
    ]
    return table(headers, rows), note


LECTURE = {"bounded": False, "noise": "shared"}


def _acr_panel():
    """35 clips x 20 viewers on ACR 1..5, 5 of them random, the others' noise 0.7."""
    scores = make_ratings(
        35, 20, bad_fraction=0.25, sigma=0.7, score_range=(1, 5), random_state=0
    )
    return np.clip(np.round(scores), 1, 5), (1.0, 5.0)


def _uniform_on(score_range):
    """Draws of uniform random raters over ``score_range``."""
    return lambda rng, shape: rng.uniform(*score_range, shape)


def _whole_fit_sets(quick):
    """(name, X, score_range) of each row: the real sets found, then synthetic."""
    sets = []
    try:
        folder = shared_data_dir()
    except Skipped:
        folder = None
    if folder is not None:
        for title, subfolder, load in peers.SETS:
            if title not in WHOLE_FIT_REAL_SETS:
                continue
            try:
                data = load(folder / subfolder)
            except Skipped:
                continue
            sets.append((title, data.X, data.stated_range))
            if title == "emotion/":
                noisy, _ = replace_with_random_raters(
                    data.X, 0.4, 0, _uniform_on(data.stated_range)
                )
                sets.append(("emotion/, 40% random raters", noisy, data.stated_range))
    sets.append(("35 x 20 ACR panel, 5 random raters", *_acr_panel()))
    n_items = 2_000 if quick else 100_000
    sparse = make_ratings(
        n_items,
        1000,
        bad_fraction=0.3,
        sigma=0.1,
        missing_fraction=0.99,
        sparse_output=True,
        random_state=0,
    )
    sets.append((f"make_ratings, sparse, {sparse.nnz:,} ratings", sparse, None))
    return sets


# The real sets of the whole-fit table: those of issue 18's table that are
# shared, and the two crowd sets on a stated scale of levels.
WHOLE_FIT_REAL_SETS = (
    "emotion/",
    "crowd/roitero_truthfulness_s6",
    "crowd/weather_sentiment_ordinal",
    "video_quality/nflx_public",
    "video_quality/agh_tv",
)


def _quiet_fit(X, params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AnnotatorEM(**params).fit(X)


def whole_fit_table(quick=False):
    """The default's whole fit against the lecture form's, on the same ratings.

    Each round fits every set with the default and with the lecture's form
    (``bounded=False, noise='shared'``), one after the other; times are
    medians over the rounds, ratios medians of the ratios within a round.
    """
    rows = []
    for name, X, score_range in _whole_fit_sets(quick):
        params = {} if score_range is None else {"score_range": score_range}
        n_ratings = X.nnz if hasattr(X, "nnz") else int(np.sum(~np.isnan(X)))
        rounds = 2 if quick else (3 if n_ratings > 100_000 else 9)
        times = {"default": [], "lecture": []}
        fitted = {}
        for _ in range(rounds):
            for form, extra in (("default", {}), ("lecture", LECTURE)):
                fit = functools.partial(_quiet_fit, X, {**params, **extra})
                seconds, fitted[form] = median_time(fit, 1)
                times[form].append(seconds)
        default, lecture = np.array(times["default"]), np.array(times["lecture"])
        rows.append(
            [
                name,
                f"{n_ratings:,}",
                np.median(default) * 1e3,
                fitted["default"].n_iter_,
                np.median(lecture) * 1e3,
                fitted["lecture"].n_iter_,
                np.median(default / lecture),
            ]
        )
    headers = [
        "data",
        "ratings",
        "default fit (ms)",
        "default iterations",
        "lecture fit (ms)",
        "lecture iterations",
        "ratio",
    ]
    note = (
        "Whole fits (validation, the starts, EM, the results) in one process: "
        "each round fits every set with the default and then with the "
        "lecture's form (bounded=False, noise='shared'), both with init='auto' "
        "and the set's stated score range; times are medians over the rounds "
        "(9, or 3 above 100,000 ratings), the ratio the median of the ratios "
        "within a round. Iterations are the kept run's; init='auto' adds the "
        "3 iterations of each of the two starts it drops. emotion/ with 40% "
        "random raters "
        "replaces 40% of the annotators as the robustness table does (seed 0)."
    )
    return table(headers, rows), note
