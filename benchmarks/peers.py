"""Peers: sureal and crowd-kit beside the mean, the median and every skem form.

On every real set of the shared data folder, each method's consensus is scored
with the metric the folder's README names for that set; on the video-quality
sets, which have no truth, the table lists the annotators each method flags or
rejects. Every method is timed. The peers are optional benchmark
dependencies, driven here from the long-format ratings:
``pip install sureal crowd-kit 'pandas<3'`` (crowd-kit 1.4.2 needs pandas < 3).
"""

import collections
import contextlib
import functools
import io
import os
import signal
import threading
import time
import types
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import spearmanr

from benchmarks._common import Skipped, read_long_csv, shared_data_dir
from skem import AnnotatorEM, HardAnnotatorEM, long_to_matrix

SUREAL_INSTALL = "pip install sureal"
CROWDKIT_INSTALL = "pip install crowd-kit 'pandas<3'"

# Every skem form: bounded x noise x bias, soft and hard, default init.
FORMS = [
    {"bounded": bounded, "noise": noise, "bias": bias}
    for bounded in (True, False)
    for noise in ("per_annotator", "shared")
    for bias in (False, True)
]
DEFAULT_FORM = {"bounded": True, "noise": "per_annotator", "bias": False}
# The Student-t good component (the plain form with a Cauchy tail), one row.
TAIL_FORM = {"bounded": False, "noise": "per_annotator", "bias": False, "tail": 1.0}
DEFAULT_NAME = "AnnotatorEM() (default)"
STATED_NAME = "AnnotatorEM(score_range=the stated scale)"
# The user guide's recipe for counts, on the sets whose ratings are positive.
COUNTS_FORM = {"score_scale": "log", "bounded": False, "tail": "auto"}
COUNTS_NAME = "AnnotatorEM(score_scale='log', bounded=False, tail='auto')"
OUTLIERS = ("26", "27", "28", "29")

# A peer run longer than this is stopped and reported as such: sureal's MLE
# can take its 10,000 iterations on a panel of annotators with one rating each.
PEER_SECONDS = 120


@dataclass
class Ratings:
    """One real set: long-format ratings, their dense matrix and how to score.

    Attributes
    ----------
    name : str
        The set's label in the tables.
    items, annotators, scores : ndarray
        The long-format columns (scores on the scale the methods see).
    X : ndarray of shape (n_items, n_annotators)
        The dense rating matrix, NaN where not rated.
    row_items, column_annotators : ndarray
        The matrix's row and column labels.
    stated_range : tuple or None
        The scale as the README states it, if it states one. Every skem form
        runs with its default ``score_range='auto'``; one more row fits the
        default form on the stated scale.
    metrics : list of (str, callable, bool)
        Each metric's column name, its function of the consensus (one value
        per row of ``X``, on the methods' scale) and whether higher is better.
        The function takes the rows to score as an optional second argument,
        an index array that may repeat rows (the bootstrap's resamples).
    """

    name: str
    items: np.ndarray
    annotators: np.ndarray
    scores: np.ndarray
    X: np.ndarray
    row_items: np.ndarray
    column_annotators: np.ndarray
    stated_range: object
    metrics: list = field(default_factory=list)


@dataclass
class Outcome:
    """What one method gave on one set.

    Attributes
    ----------
    seconds : float
        Wall time of the method's run (one run).
    consensus : ndarray or None
        One score per matrix row, on the methods' scale.
    flagged : list of str or None
        The annotators the method flags or rejects; None if it does neither.
    reliability : ndarray or None
        A per-annotator score, aligned to the matrix columns, higher for more
        reliable annotators; None if the method has none.
    error : str or None
        The failure's type and message if the method raised.
    undecided : int
        How many items the method left without a consensus (NaN).
    """

    seconds: float = float("nan")
    consensus: np.ndarray = None
    flagged: list = None
    reliability: np.ndarray = None
    error: str = None
    undecided: int = 0


def _quietly(function):
    """Call ``function()`` with its console output and warnings silenced."""
    with (
        open(os.devnull, "w") as sink,
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        return function()


# ---------------------------------------------------------------- the sets


def _ratings(name, path, stated_range, metrics=None, scale=None):
    """Read a long-format CSV into :class:`Ratings`.

    Parameters
    ----------
    name : str
        The set's label.
    path : pathlib.Path
        The long-format CSV; Skipped is raised if it is absent.
    stated_range : tuple or None
        The scale the README states, if any.
    metrics : list, default=None
        See :class:`Ratings`.
    scale : callable, default=None
        Maps (items, scores) to the scores the methods see.

    Returns
    -------
    ratings : Ratings
    """
    if not path.is_file():
        raise Skipped(f"no {path}")
    items, annotators, scores = read_long_csv(path)
    if scale is not None:
        scores = scale(items, scores)
    matrix = long_to_matrix(
        None, item=items, annotator=annotators, score=scores, sparse=False
    )
    return Ratings(
        name=name,
        items=items,
        annotators=annotators,
        scores=scores,
        X=matrix.X.to_numpy(float),
        row_items=np.asarray(matrix.items),
        column_annotators=np.asarray(matrix.annotators),
        stated_range=stated_range,
        metrics=metrics or [],
    )


def _truth(folder, row_items):
    """The truth table of ``folder``, its rows in the matrix's item order."""
    import pandas as pd

    path = folder / "truth.csv"
    if not path.is_file():
        raise Skipped(f"no {path}")
    frame = pd.read_csv(path)
    frame["item"] = frame["item"].astype(str)
    return frame.set_index("item").loc[[str(i) for i in row_items]]


def _mae(truth):
    """Mean absolute error of a consensus against ``truth``."""

    def mae(consensus, rows=slice(None)):
        return float(np.mean(np.abs(consensus[rows] - truth[rows])))

    return mae


def _spearman(truth, subset=None):
    """Spearman correlation of a consensus with ``truth`` over ``subset``."""

    def spearman(consensus, rows=None):
        rows = np.arange(len(truth)) if rows is None else rows
        if subset is not None:
            rows = rows[subset[rows]]
        return float(spearmanr(consensus[rows], truth[rows])[0])

    return spearman


def load_emotion(folder):
    """emotion/: valence mapped onto 0..100 as in ``benchmarks.accuracy``."""
    import pandas as pd

    truth_path = folder / "truth.csv"
    if not truth_path.is_file():
        raise Skipped(f"no {truth_path}")
    truth_table = pd.read_csv(truth_path).set_index("item")
    valence_items = truth_table.index[truth_table["low"] < 0]

    def to_work_scale(items, scores):
        return np.where(np.isin(items, valence_items), (scores + 100) / 2, scores)

    data = _ratings("emotion/", folder / "ratings.csv", (0.0, 100.0), [], to_work_scale)
    truth = truth_table.loc[data.row_items, "truth"].to_numpy(float)
    is_valence = np.isin(data.row_items, valence_items)

    def errors(consensus, rows):
        return (np.where(is_valence, 2 * consensus - 100, consensus) - truth)[rows]

    data.metrics = [
        (
            "MAE",
            lambda c, rows=slice(None): float(np.mean(np.abs(errors(c, rows)))),
            False,
        ),
        (
            "RMSE",
            lambda c, rows=slice(None): float(np.sqrt(np.mean(errors(c, rows) ** 2))),
            False,
        ),
    ]
    return data


def load_roitero(folder):
    """crowd/roitero_truthfulness_s6: Spearman per source."""
    data = _ratings("roitero_s6", folder / "ratings.csv", (0.0, 5.0))
    truth = _truth(folder, data.row_items)
    values = truth["truth"].to_numpy(float)
    data.metrics = [
        (
            f"Spearman {source}",
            _spearman(values, (truth["source"] == source).to_numpy()),
            True,
        )
        for source in ("Politifact", "ABC")
    ]
    return data


def load_weather(folder):
    """crowd/weather_sentiment_ordinal: Spearman and MAE over all items."""
    data = _ratings("weather", folder / "ratings.csv", (0.0, 2.0))
    values = _truth(folder, data.row_items)["truth"].to_numpy(float)
    data.metrics = [
        ("Spearman", _spearman(values), True),
        ("MAE", _mae(values), False),
    ]
    return data


def load_dots(folder):
    """crowd/dot_guessing: MAE against the true count (unbounded scale)."""
    data = _ratings("dot_guessing", folder / "ratings.csv", None)
    values = _truth(folder, data.row_items)["truth"].to_numpy(float)
    data.metrics = [("MAE", _mae(values), False)]
    return data


VIDEO_SETS = {
    "nflx_public": (1.0, 5.0),
    "nflx_public_last4outliers": (1.0, 5.0),
    "vqeg_hd3": (1.0, 5.0),
    "agh_tv": (1.0, 5.0),
    "vqeg_frtv_525_high": None,
}


def _video_loader(name):
    """The loader of ``video_quality/<name>.csv``."""

    def load(folder):
        return _ratings(name, folder / f"{name}.csv", VIDEO_SETS[name])

    load.__doc__ = f"video_quality/{name}.csv: no truth; the flags are reported."
    return load


# Each set: (title, folder under the shared data, loader), in table order.
SETS = [
    ("emotion/", "emotion", load_emotion),
    *(
        (f"crowd/{name}", f"crowd/{name}", load)
        for name, load in (
            ("roitero_truthfulness_s6", load_roitero),
            ("weather_sentiment_ordinal", load_weather),
            ("dot_guessing", load_dots),
        )
    ),
    *(
        (f"video_quality/{name}", "video_quality", _video_loader(name))
        for name in VIDEO_SETS
    ),
]


# The figures the shared data README quotes, to compare with these tables.
KNOWN = {
    "emotion/": (
        "mean 12.02 / 17.84, median 13.53 / 21.26, sureal MLE 12.80 MAE, "
        "crowd-kit RASA 12.24 / 19.05. Those two peers saw the items' own "
        "scales, and sureal one content group per emotion: so driven, they "
        "give these figures again. Here every method sees valence mapped onto "
        "0..100, as in the accuracy section, and sureal one content group."
    ),
    "roitero_s6": (
        "mean 0.436 / 0.450, median 0.387 / 0.432, RASA 0.353 / 0.384, "
        "ClosestToAverage 0.360 / 0.435, sureal P.913 0.434 / 0.444."
    ),
    "weather": "mean 0.921 Spearman, 0.164 MAE.",
    "dot_guessing": (
        "mean 9.74, median 5.85, RASA 4.68, ClosestToAverage 8.22, sureal "
        "P.913 11.03 MAE."
    ),
    "nflx_public_last4outliers": (
        "sureal's MLE ranks 26-29 the four least consistent; its BT.500 "
        "rejection catches 26, 28, 29 and misses 27. Its MLE takes about "
        "1.8 s here and 18 s on agh_tv."
    ),
}
METHODS_NOTE = (
    "Flagged: skem weight < 0.5; sureal BT.500 and P.913: rejected subjects. "
    "Least reliable: skem's lowest log P(good), sureal's MLE and P.910 "
    "highest inconsistency, RASA's lowest reliability. Times: one run each; "
    "skem, mean and median from the dense matrix, the peers including their "
    "conversion from the long format."
)


# ------------------------------------------------------------- the methods


def _mean(data):
    """The plain mean of each item's ratings."""
    return Outcome(consensus=np.nanmean(data.X, axis=1))


def _median(data):
    """The median of each item's ratings."""
    return Outcome(consensus=np.nanmedian(data.X, axis=1))


def _skem(Estimator, **params):
    """A skem estimator with ``params``; flagged: weight below 0.5."""

    def run(data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            em = Estimator(**params).fit(data.X)
        return Outcome(
            consensus=em.mu_,
            flagged=[str(a) for a in data.column_annotators[em.weights_ < 0.5]],
            reliability=em.log_posterior_,
        )

    return run


def _form_name(Estimator, form):
    """Row name: the estimator and the parameters that differ from default."""
    if Estimator is AnnotatorEM and form == DEFAULT_FORM:
        return DEFAULT_NAME
    changed = [f"{k}={v!r}" for k, v in form.items() if DEFAULT_FORM.get(k) != v]
    return f"{Estimator.__name__}({', '.join(changed)})"


def _sureal_models():
    """sureal's model classes by row name, or the reason they cannot run."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from sureal import BT500Model, P910AnnexEModel, P913124Model
            from sureal.dataset_reader import RawDatasetReader
            from sureal.subjective_model import MaximumLikelihoodEstimationModel
    except ImportError:
        return f"sureal is not installed ({SUREAL_INSTALL}): its rows are left out"
    return RawDatasetReader, {
        "sureal MLE": MaximumLikelihoodEstimationModel,
        "sureal P.910 (MLE_CO_AP2)": P910AnnexEModel,
        "sureal BT.500 rejection": BT500Model,
        "sureal P.913 bias removal + rejection": P913124Model,
    }


def _sureal(reader, model):
    """Run one sureal model from the long-format ratings."""

    def run(data):
        opinions = collections.defaultdict(dict)
        for item, annotator, score in zip(
            data.items, data.annotators, data.scores, strict=True
        ):
            opinions[item][str(annotator)] = float(score)
        dataset = types.SimpleNamespace(
            dataset_name="skem-peers",
            yuv_fmt="yuv420p",
            width=1920,
            height=1080,
            ref_videos=[{"content_id": 0, "content_name": "all", "path": "none"}],
            dis_videos=[
                {"content_id": 0, "asset_id": k, "os": opinions[item], "path": f"{k}"}
                for k, item in enumerate(data.row_items)
            ],
        )
        result = _quietly(lambda: model(reader(dataset)).run_modeling())
        observers = list(result["observers"])
        outcome = Outcome(consensus=np.asarray(result["quality_scores"], float))
        if "observer_rejected" in result:
            outcome.flagged = [
                o
                for o, rejected in zip(
                    observers, result["observer_rejected"], strict=True
                )
                if rejected
            ]
        if "observer_inconsistency" in result:
            inconsistency = dict(
                zip(observers, result["observer_inconsistency"], strict=True)
            )
            outcome.reliability = -np.array(
                [inconsistency[str(a)] for a in data.column_annotators], float
            )
        return outcome

    return run


def _crowdkit_models():
    """crowd-kit's embedding aggregators by row name, or why they cannot run."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from crowdkit.aggregation import RASA, ClosestToAverage
    except ImportError:
        return f"crowd-kit is not installed ({CROWDKIT_INSTALL}): its rows are left out"
    return {
        "crowd-kit RASA (1-D embeddings)": _rasa(RASA),
        "crowd-kit ClosestToAverage (1-D)": _closest_to_average(ClosestToAverage),
    }


def _embeddings(data):
    """crowd-kit's input: one row per rating, the score as a 1-D embedding."""
    import pandas as pd

    return pd.DataFrame(
        {
            "task": [str(i) for i in data.items],
            "worker": [str(a) for a in data.annotators],
            "output": data.scores,
            "embedding": [np.array([s]) for s in data.scores],
        }
    )


def _rasa(RASA):
    """crowd-kit's RASA: reliability-weighted mean of 1-D embeddings."""

    def run(data):
        # RASA's last step picks the rating closest to its estimate in cosine
        # distance, which cannot tell 1-D values of one sign apart: its
        # consensus is the reliability-weighted mean embedding of step 2.
        model = _quietly(lambda: RASA().fit(_embeddings(data)))
        estimate = model.aggregated_embeddings_
        skills = model.skills_
        return Outcome(
            consensus=np.array(
                [float(estimate[str(i)][0]) for i in data.row_items], float
            ),
            reliability=np.array(
                [float(skills[str(a)]) for a in data.column_annotators], float
            ),
        )

    return run


def _closest_to_average(ClosestToAverage):
    """crowd-kit's ClosestToAverage: the rating nearest the item's mean."""

    def run(data):
        model = _quietly(
            lambda: ClosestToAverage(
                distance=lambda e, average: float(np.abs(e - average).sum())
            ).fit(_embeddings(data))
        )
        output = model.embeddings_and_outputs_["output"]
        return Outcome(
            consensus=np.array([float(output[str(i)]) for i in data.row_items])
        )

    return run


def _methods(quick):
    """The methods by row name, ours and the peers', and which peer is missing."""
    methods = {"mean": _mean, "median": _median}
    for Estimator in (AnnotatorEM, HardAnnotatorEM):
        for form in FORMS if not quick else [DEFAULT_FORM]:
            methods[_form_name(Estimator, form)] = _skem(Estimator, **form)
    methods[_form_name(AnnotatorEM, TAIL_FORM)] = _skem(AnnotatorEM, **TAIL_FORM)
    missing = []
    peers = {}
    sureal = _sureal_models()
    if isinstance(sureal, str):
        missing.append(sureal)
    else:
        reader, models = sureal
        for name, model in models.items():
            if quick and name == "sureal MLE":
                continue
            peers[name] = _sureal(reader, model)
    crowdkit = _crowdkit_models()
    if isinstance(crowdkit, str):
        missing.append(crowdkit)
    else:
        peers.update(crowdkit)
    return methods, peers, missing


class _TimeUp(Exception):
    """A peer ran past its time limit."""


@contextlib.contextmanager
def _time_limit(seconds):
    """Raise _TimeUp in the block after ``seconds`` (main thread, Unix only)."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def stop(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run(method, data, limit=None):
    """Time one method on one set; a failure or a stop is its outcome."""
    start = time.perf_counter()
    try:
        with _time_limit(limit):
            outcome = method(data)
    except _TimeUp:
        outcome = Outcome(error=f"stopped after {limit} s")
    except Exception as error:  # a peer failing on a set is a result
        outcome = Outcome(error=f"failed: {type(error).__name__}: {error}"[:80])
    outcome.seconds = time.perf_counter() - start
    if outcome.consensus is not None:
        outcome.undecided = int(np.sum(~np.isfinite(outcome.consensus)))
    return outcome


def _results(title, quick):
    """(data, outcomes by method, missing-peer lines) for the set ``title``."""
    return _results_in(title, quick, shared_data_dir())


@functools.cache
def _results_in(title, quick, folder):
    """:func:`_results` in ``folder``, cached by set, mode and folder.

    The summary reuses the runs of the per-set tables.
    """
    subfolder, load = {t: (s, loader) for t, s, loader in SETS}[title]
    data = load(folder / subfolder)
    methods, peers, missing = _methods(quick)
    if data.stated_range is not None:
        methods[STATED_NAME] = _skem(AnnotatorEM, score_range=data.stated_range)
    if np.nanmin(data.scores) > 0:
        methods[COUNTS_NAME] = _skem(AnnotatorEM, **COUNTS_FORM)
    outcomes = {name: _run(method, data) for name, method in methods.items()}
    for name, method in peers.items():
        outcomes[name] = _run(method, data, PEER_SECONDS)
    return data, outcomes, missing


# -------------------------------------------------------------- the tables


def _format(value):
    """A metric as shown: two decimals from 10 up, else three."""
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.2f}" if abs(value) >= 10 else f"{value:.3f}"


def _best(values, higher):
    """Names whose displayed value ties the best one."""
    shown = {name: _format(v) for name, v in values.items() if np.isfinite(v)}
    if not shown:
        return []
    pick = max if higher else min
    best = pick(float(s) for s in shown.values())
    return [name for name, s in shown.items() if float(s) == best]


def _markdown(headers, rows):
    """A Markdown table of preformatted cells."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _flag_cell(outcome, data):
    """How many annotators the method flags, and whether it failed."""
    if outcome.error is not None:
        return outcome.error
    cell = "" if outcome.flagged is None else f"{len(outcome.flagged)} of "
    cell += f"{data.X.shape[1]}" if cell else ""
    if outcome.undecided:
        cell += f" (no consensus on {outcome.undecided} items)"
    return cell


def _metric_values(data, outcomes):
    """{metric name: {method: value}}, NaN where a method failed."""
    values = {}
    for metric, function, _ in data.metrics:
        values[metric] = {
            name: function(o.consensus) if o.error is None else float("nan")
            for name, o in outcomes.items()
        }
    return values


def _least_reliable(outcome, data, count=4):
    """The ``count`` annotators the method deems least reliable, or ''."""
    if outcome.reliability is None:
        return ""
    order = np.argsort(outcome.reliability, kind="stable")[:count]
    return ", ".join(str(a) for a in data.column_annotators[order])


# Resamples of the items behind "within noise of the best" (fewer if quick).
BOOTSTRAP_RESAMPLES = 1000


def _tied_with_best(data, outcomes, function, values, best, resamples):
    """The methods that a paired bootstrap over the items cannot tell from the best.

    Each resample draws the set's items with replacement and scores every
    method and the (first) best one on it; a method ties if the 2.5 and 97.5
    percentiles of its difference from the best enclose 0. The best ones
    tie by definition.

    Parameters
    ----------
    data : Ratings
    outcomes : dict of Outcome
    function : callable
        The metric, ``function(consensus, rows)``.
    values : dict
        Each method's value of the metric, NaN where it has none.
    best : list of str
        The best methods, as :func:`_best` names them.
    resamples : int

    Returns
    -------
    tied : list of str
    """
    rng = np.random.default_rng(0)
    n_items = data.X.shape[0]
    samples = rng.integers(0, n_items, size=(resamples, n_items))
    reference = outcomes[best[0]].consensus
    base = np.array([function(reference, rows) for rows in samples])
    tied = []
    for name, outcome in outcomes.items():
        if name in best:
            tied.append(name)
            continue
        if not np.isfinite(values[name]):
            continue
        scored = np.array([function(outcome.consensus, rows) for rows in samples])
        low, high = np.nanpercentile(scored - base, [2.5, 97.5])
        if low <= 0.0 <= high:
            tied.append(name)
    return tied


def _truth_table(data, outcomes, resamples=BOOTSTRAP_RESAMPLES):
    """A set with truth: each metric per method, the best in bold."""
    values = _metric_values(data, outcomes)
    best = {metric: _best(values[metric], higher) for metric, _, higher in data.metrics}
    rows = []
    for name, outcome in outcomes.items():
        row = [name]
        for metric, _, _ in data.metrics:
            cell = _format(values[metric][name])
            row.append(f"**{cell}**" if name in best[metric] else cell)
        row += [
            _flag_cell(outcome, data),
            f"{outcome.seconds:.2f}",
        ]
        rows.append(row)
    headers = ["method", *values, "annotators flagged", "time (s)"]
    lines = [f"best {metric}: {', '.join(names)}" for metric, names in best.items()]
    for metric, function, _ in data.metrics:
        if best[metric]:
            tied = _tied_with_best(
                data, outcomes, function, values[metric], best[metric], resamples
            )
            lines.append(
                f"within noise of the best {metric} (a paired bootstrap over the "
                f"items, {resamples:,} resamples, 95%): {', '.join(tied)}"
            )
    return _markdown(headers, rows), lines


def _caught(outcome):
    """(known outliers flagged, other annotators flagged), or None."""
    if outcome.flagged is None:
        return None
    flagged = {str(a) for a in outcome.flagged}
    return len(flagged & set(OUTLIERS)), len(flagged - set(OUTLIERS))


def _id_order(label):
    """Sort key: numeric labels by value, before the others by text."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def _video_table(data, outcomes):
    """A set without truth: the annotators each method flags."""
    outliers = data.name == "nflx_public_last4outliers"
    rows = []
    exact = []
    for name, outcome in outcomes.items():
        flagged = outcome.flagged
        if outcome.error is not None:
            shown = ""
        elif flagged is None:
            shown = "(does not flag)"
        elif len(flagged) <= 8:
            shown = ", ".join(sorted(flagged, key=_id_order)) or "none"
        else:
            shown = f"{len(flagged)} annotators"
        row = [name, _flag_cell(outcome, data), shown]
        if outliers:
            row.append(_least_reliable(outcome, data))
            if _caught(outcome) == (len(OUTLIERS), 0):
                exact.append(name)
        row.append(f"{outcome.seconds:.2f}")
        rows.append(row)
    headers = ["method", "flagged", "which"]
    if outliers:
        headers.append("4 least reliable")
        lines = [
            "best (flags exactly the appended 26-29): "
            + (", ".join(exact) if exact else "none")
        ]
    else:
        lines = [
            "best: not defined (no truth); no annotator of this panel is known "
            "to be unreliable, so every flag is a suspect, not an error"
        ]
    headers.append("time (s)")
    return _markdown(headers, rows), lines


def _set_table(title, quick):
    """The table of the set ``title`` and its note."""
    data, outcomes, missing = _results(title, quick)
    if data.metrics:
        resamples = 100 if quick else BOOTSTRAP_RESAMPLES
        result, lines = _truth_table(data, outcomes, resamples)
    else:
        result, lines = _video_table(data, outcomes)
    shape = (
        f"{data.X.shape[0]} items, {data.X.shape[1]} annotators, "
        f"{len(data.scores):,} ratings. skem runs with score_range='auto'"
        + (
            f"; the stated scale (the README's) is {data.stated_range}."
            if data.stated_range is not None
            else "; the README states no bounded scale."
        )
        + (
            f" {COUNTS_NAME}, the user guide's recipe for counts, runs where "
            "every rating is positive."
            if COUNTS_NAME in outcomes
            else ""
        )
    )
    known = KNOWN.get(data.name)
    return result, "\n".join(
        [
            *lines,
            shape,
            *([f"Known figures: {known}"] if known else []),
            METHODS_NOTE,
            *missing,
        ]
    )


def _table_maker(title):
    """A table function for ``benchmarks.__main__``, one per set."""

    def make(quick=False):
        return _set_table(title, quick)

    make.__doc__ = f"The peers table on {title}."
    return make


TABLES = [(f"Peers on {title}", _table_maker(title)) for title, _, _ in SETS]


def summary_table(quick=False):
    """Method x set: each set's metrics, the best per column in bold."""
    shared_data_dir()
    columns = []
    missing = []
    seconds = collections.defaultdict(float)
    for title, _, _ in SETS:
        try:
            data, outcomes, missing = _results(title, quick)
        except Skipped:
            continue
        for name, outcome in outcomes.items():
            seconds[name] += outcome.seconds
        if data.metrics:
            values = _metric_values(data, outcomes)
            for metric, _, higher in data.metrics:
                best = _best(values[metric], higher)
                cells = {n: _format(v) for n, v in values[metric].items()}
                columns.append((f"{data.name} {metric}", cells, best))
        elif data.name == "nflx_public_last4outliers":
            caught = {n: _caught(o) for n, o in outcomes.items()}
            best = [n for n, c in caught.items() if c == (len(OUTLIERS), 0)]
            cells = {
                n: f"{c[0]} of 4, +{c[1]}" for n, c in caught.items() if c is not None
            }
            columns.append(("outlier set: 26-29 flagged, +others", cells, best))
        else:
            # No truth and no known unreliable annotator: no best to name.
            cells = {n: _flag_cell(o, data) for n, o in outcomes.items()}
            columns.append((f"{data.name} flagged", cells, None))
    if not columns:
        raise Skipped("none of the real sets is in the shared data folder")
    rows = []
    for name in seconds:
        row = [name]
        for _, cells, best in columns:
            cell = cells.get(name, "")
            row.append(f"**{cell}**" if best and name in best else cell)
        rows.append([*row, f"{seconds[name]:.1f}"])
    headers = ["method", *(label for label, _, _ in columns), "time, all sets (s)"]
    lines = [
        f"best on {label}: {', '.join(best) or 'none'}"
        for label, _, best in columns
        if best is not None
    ]
    return _markdown(headers, rows), "\n".join([*lines, METHODS_NOTE, *missing])


TABLES.append(("Peers: summary, each set's metrics", summary_table))
