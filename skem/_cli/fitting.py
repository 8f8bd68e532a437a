"""The fit-and-report step that the in-memory and the Dask paths share.

Both build an estimator from the model options, fit it with a progress line
fed by the driver's per-iteration callback, write their tables, and print the
plain-words summary: only how they read the ratings and write the consensus
differ, and those come in as functions.
"""

import re
import sys
import time
import warnings

from skem._cli.messages import UserInputError, as_flags, one_line
from skem._cli.results import convergence_line, next_hint, summary

_PROGRESS_DELAY = 1.0  # seconds before a fit starts showing its progress
# The starts of init='auto' in words.
_START_WORDS = {
    "median": "item medians",
    "agreement": "agreement with the other raters",
    "median_agreement": "agreement with the item medians",
    "ones": "everyone good",
}
_PROGRESS_WIDTH = 100


class Progress:
    """The driver's per-iteration callback: the latest iteration on stderr.

    Silent for the first second, so that quick fits print nothing, and
    silent altogether when not ``enabled``.

    Parameters
    ----------
    enabled : bool
        Whether to show anything.
    name : str
        The estimator's class name, which starts the line.
    stream : file, default=None
        Where the line goes; ``sys.stderr`` if None.
    """

    def __init__(self, enabled, name, stream=None):
        self.enabled, self.name, self.stream = enabled, name, stream
        self.start, self.shown = time.perf_counter(), False

    def __call__(self, info):
        """Show one iteration.

        Parameters
        ----------
        info : NamedTuple
            The driver's ``init, run, n_iter, objective, change, tail``.
        """
        if not self.enabled or time.perf_counter() - self.start <= _PROGRESS_DELAY:
            return
        start = _START_WORDS.get(info.init, info.init)
        if info.tail is not None:
            start += f", a t with {info.tail:g} df"
        text = (
            f"[{self.name}] start {info.run} ({start}), iteration "
            f"{info.n_iter}: objective {info.objective:.6g}, change per rating "
            f"{info.change:.2e}"
        )
        stream = self.stream or sys.stderr
        stream.write(f"\r{text[:_PROGRESS_WIDTH]:<{_PROGRESS_WIDTH}}")
        stream.flush()
        self.shown = True

    def close(self):
        """Clear the line, if one was shown."""
        if self.shown:
            stream = self.stream or sys.stderr
            stream.write("\r" + " " * _PROGRESS_WIDTH + "\r")
            stream.flush()
            self.shown = False


def model_params(args):
    """The estimator parameters that the model options give.

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    params : dict
    """
    return {
        "bounded": args.bounded,
        "noise": args.noise,
        "noise_prior": args.noise_prior,
        "bias": args.bias,
        "levels": None if args.levels is False else "auto",
        "tail": args.tail,
        "init": args.init,
        "n_init": 1 if args.n_init is None else args.n_init,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "score_range": (
            "auto" if args.score_range is None else tuple(args.score_range)
        ),
        "score_scale": args.score_scale,
        "random_state": args.random_state,
    }


def fit_with_progress(estimator, fit, *, source, quiet, stream=None):
    """Run ``fit()`` with the progress line; the estimator's warnings kept.

    Parameters
    ----------
    estimator : estimator
        Gets the driver's ``_iteration_callback`` for the fit's duration.
    fit : callable
        Fits ``estimator``.
    source : str
        Starts the message of a ValueError from the fit (bad data).
    quiet : bool
        No progress line (``-q``).
    stream : file, default=None
        Where progress goes; ``sys.stderr`` if None.

    Returns
    -------
    elapsed : float
        Seconds.
    caught : list of warnings.WarningMessage
    """
    terminal = (stream or sys.stderr).isatty()
    progress = Progress(not quiet and terminal, type(estimator).__name__, stream)
    estimator._iteration_callback = progress
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit()
        except ValueError as error:  # the estimator's word on bad data
            raise UserInputError(f"{source}: {_without_matrix_terms(error)}") from None
        finally:
            progress.close()
            del estimator._iteration_callback
    return time.perf_counter() - start, caught


def stage_report(
    stage,
    estimator,
    path,
    *,
    items,
    annotators,
    item_name,
    annotator_name,
    level,
    X=None,
):
    """Stage the HTML report of :func:`skem.report`, or say what is missing.

    Parameters
    ----------
    stage : skem._cli.writing.OutputStage
    estimator : fitted estimator, in memory or on Dask
    path : Path
    items, annotators : array-like or None
        The labels; None for a Dask fit's own.
    item_name, annotator_name : str
        The user's column names.
    level : float
        The intervals' coverage (``--level``).
    X : sparse matrix, default=None
        The training ratings, when in memory: the page then gives the
        rating counts and each annotator's agreement with the consensus.
    """
    try:
        from skem._io.report import _report_page

        with warnings.catch_warnings():
            # Labels in a script the figures' font lacks (CJK, say) draw as
            # boxes, with a warning per glyph; the page's tables show them,
            # and a run that succeeds is quiet.
            warnings.filterwarnings(
                "ignore", message="Glyph .* missing from", category=UserWarning
            )
            page = _report_page(
                estimator,
                X,
                items=items,
                annotators=annotators,
                item_name=item_name,
                annotator_name=annotator_name,
                title=None,
                level=level,
            )
    except ImportError as error:
        raise UserInputError(
            f"--report needs matplotlib ({error.name or 'a module'} is missing): "
            "pip install matplotlib"
        ) from None

    def write(file_path):
        with open(file_path, "a", encoding="utf-8") as file:
            file.write(page)

    stage.file(path, write)


def finish(
    estimator,
    annotators,
    *,
    outputs,
    args,
    elapsed,
    caught,
    n_items,
    widest,
    notes=(),
    created=(),
):
    """Print the summary, the warnings, what was written and the next step.

    The summary goes to stdout, or to stderr when a table goes to stdout.
    With ``--quiet`` only the warnings are printed, to stderr, a fit that did
    not converge among them.

    Parameters
    ----------
    estimator : fitted estimator
    annotators : pandas.DataFrame
        The annotator table.
    outputs : dict
        What was (or goes to stdout) written: see ``output_paths``.
    args : argparse.Namespace
    elapsed : float
    caught : list of warnings.WarningMessage
        The fit's warnings, each shown once.
    n_items : int
    widest : skem._cli.results.WidestIntervals
    notes : list of str, default=()
        Lines about the data for the summary.
    created : list of Path, default=()
        The folders made for the outputs (``OutputStage.created_folders``).

    Returns
    -------
    stream : file
        Where the summary went.
    """
    from sklearn.exceptions import ConvergenceWarning

    # The summary's convergence line says it, with the options to change.
    warned = [
        f"warning: {message}"
        for message in dict.fromkeys(
            as_flags(one_line(w.message))
            for w in caught
            if not issubclass(w.category, ConvergenceWarning)
        )
    ]
    if args.quiet:
        # What needs attention only, where errors go.
        if not estimator.converged_:
            warned.insert(0, f"warning: {convergence_line(estimator, elapsed)}")
        if warned:
            print("\n".join(warned), file=sys.stderr)
        return sys.stderr
    lines = summary(
        estimator,
        annotators,
        n_items=n_items,
        name=args.annotator,
        item_name=args.item,
        elapsed=elapsed,
        level=args.level,
        widest=widest,
        notes=notes,
    )
    lines += warned
    written = {name: path for name, path in outputs.items() if path != "-"}
    lines += [f"created folder {folder}" for folder in created]
    lines += [f"wrote {name} to {path}" for name, path in written.items()]
    lines.append(next_hint(annotators, outputs, args.command))
    to_stdout = "-" in outputs.values()
    stream = sys.stderr if to_stdout else sys.stdout
    print("\n".join(lines), file=stream)
    return stream


# The estimators also count columns as scikit-learn's checks expect ("2
# feature(s) of X"); a file of ratings has no matrix X.
_MATRIX_TERMS = re.compile(r" \(\d+ feature\(s\) of X\)")


def _without_matrix_terms(error):
    """An estimator's error message without the words about its matrix ``X``."""
    return _MATRIX_TERMS.sub("", str(error))
