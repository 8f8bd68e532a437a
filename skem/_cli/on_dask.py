"""``skem fit --workers N`` / ``--scheduler ADDRESS``: the fit on a Dask cluster.

Imports only the command's leaf modules (never ``main`` or ``parser``), so
there is no import cycle. Dask's and distributed's own log and warnings,
from this process and from the workers, go to a log that ``--verbose``
shows on stderr and that is otherwise dropped: a clean run prints nothing
on stderr.
"""

import contextlib
import glob
import importlib.util
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

import skem
from skem._cli.checking import check_options
from skem._cli.fitting import finish, fit_with_progress, model_params, stage_report
from skem._cli.messages import UserInputError, describe, kind
from skem._cli.reading import import_pandas, labels_as_text
from skem._cli.results import WIDEST_SHOWN, item_partition
from skem._cli.writing import (
    OutputStage,
    output_paths,
    stage_csv,
    stage_dataset,
    write_csv,
)
from skem._io.words import no_columns, spaced_name_hint

# How long to wait for the scheduler of --scheduler before giving up.
_CONNECT_TIMEOUT = "20s"
# Where warnings from these packages come from: they go to the log.
_DASK_PACKAGES = ("dask", "distributed", "tornado", "bokeh")


def run_fit_on_dask(args):
    """Fit a Parquet dataset on a Dask cluster and write the two tables.

    Parameters
    ----------
    args : argparse.Namespace
        The ``skem fit`` options, with ``--workers`` or ``--scheduler``.

    Returns
    -------
    status : int
        0; every failure is an exception.
    """
    check_options(args)
    _check_dask_options(args)
    try:
        import dask.dataframe as dd
        import distributed
        import pyarrow  # noqa: F401

        from skem.dask import DaskAnnotatorEM, DaskHardAnnotatorEM
        from skem.dask._cluster import _local_cluster
    except ImportError as error:
        # Installed but mismatched releases fail to import too.
        reason = (
            f"{error.name} is missing"
            if isinstance(error, ModuleNotFoundError) and error.name
            else f"importing it failed: {error}"
        )
        raise UserInputError(
            f"--workers and --scheduler need Dask ({reason}): pip install "
            "'dask[dataframe]>=2024.12' 'distributed>=2024.12' pyarrow"
        ) from None
    outputs = output_paths(args, dataset=True)
    files = _parquet_files(args.ratings)
    Estimator = DaskHardAnnotatorEM if args.hard else DaskAnnotatorEM
    estimator = Estimator(
        **model_params(args),
        item=args.item,
        annotator=args.annotator,
        score=args.score,
    )
    with _dask_log(args.verbose) as user_stderr:
        notes = user_stderr if outputs.get("annotators") == "-" else sys.stdout
        with _client(args, distributed, _local_cluster, notes):
            frame = _read_dataset(dd, files, args)
            elapsed, caught = fit_with_progress(
                estimator,
                lambda: estimator.fit(frame),
                source=str(args.ratings),
                quiet=args.quiet,
                stream=user_stderr,
            )
            caught = _keep_own_warnings(caught, user_stderr if args.verbose else None)
            consensus = _consensus_table(estimator, args)
            widest, n_items = _widest(consensus, args.item, estimator._score_scale.log)
            annotators = skem.annotator_frame(estimator, name=args.annotator)
            notes = _count_notes(estimator, consensus, annotators)
            # Every output is written whole before any replaces its target.
            with OutputStage() as stage:
                if "consensus" in outputs:
                    stage_dataset(stage, consensus, outputs["consensus"])
                if "report" in outputs:
                    stage_report(
                        stage,
                        estimator,
                        outputs["report"],
                        items=None,
                        annotators=None,
                        item_name=args.item,
                        annotator_name=args.annotator,
                        level=args.level,
                    )
                if outputs.get("annotators") not in (None, "-"):
                    stage_csv(stage, annotators, outputs["annotators"])
                stage.commit()
    finish(
        estimator,
        annotators,
        outputs=outputs,
        args=args,
        elapsed=elapsed,
        caught=caught,
        n_items=n_items,
        widest=widest,
        notes=notes,
        created=stage.created_folders,
    )
    if outputs.get("annotators") == "-":
        write_csv(annotators, sys.stdout)
    return 0


def _check_dask_options(args):
    """Refuse the options that do not apply on Dask."""
    if args.workers is not None and args.workers < 1:
        raise UserInputError(f"--workers must be at least 1; got {args.workers}")
    if args.sep is not None or args.decimal is not None:
        raise UserInputError(
            "--sep and --decimal apply to CSV files; --workers and --scheduler "
            "read Parquet"
        )
    if args.duplicates != "raise":
        raise UserInputError(
            "--duplicates mean is not available with --workers or --scheduler: "
            "average the repeated pairs first"
        )
    if args.dashboard and args.workers is None:
        raise UserInputError(
            "--dashboard applies to the LocalCluster of --workers; a --scheduler "
            "cluster serves its own"
        )


def _parquet_files(path):
    """The Parquet files of a folder or a glob, or a one-line error."""
    text = str(path)
    if path.is_dir():
        files = sorted(
            str(p)
            for p in path.rglob("*")
            if p.is_file() and not p.name.startswith((".", "_"))
        )
    elif glob.has_magic(text):
        files = sorted(glob.glob(text, recursive=True))
        if not files:
            raise UserInputError(f"{path}: no file matches this glob")
    elif path.is_file():
        files = [text]
    else:
        raise UserInputError(f"{path}: no such file or folder")
    if not files:
        raise UserInputError(f"{path}: holds no Parquet file")
    for name in files:
        # Every Parquet file starts with these bytes; Dask's own error for a
        # CSV is a traceback's worth of its internals.
        with open(name, "rb") as stream:
            if stream.read(4) != b"PAR1":
                raise UserInputError(
                    f"{name}: not a Parquet file; --workers and --scheduler read "
                    "Parquet datasets (drop them to fit a CSV file in memory)"
                )
    return files


def _files_with_the_columns(files, args):
    """``files`` less those without rows; a one-line error for a file with
    rows that lacks a column the fit reads.

    Dask takes the columns from the first file: another file without them
    failed later, inside the fit, with a KeyError.
    """
    import pyarrow.parquet as pq

    needed = (args.item, args.annotator, args.score)
    kept = []
    for name in files:
        try:
            info = pq.read_metadata(name)
        except Exception as error:
            raise UserInputError(f"{name}: cannot read it: {describe(error)}") from None
        if info.num_rows == 0:
            continue
        # A partitioned dataset keeps a column in its folders' names
        # (item=i0/part.parquet), which the reader adds to the file's.
        columns = info.schema.to_arrow_schema().names + [
            part.split("=", 1)[0] for part in Path(name).parent.parts if "=" in part
        ]
        missing = [c for c in needed if c not in columns]
        if missing:
            present = ", ".join(f"'{c}'" for c in columns[:20])
            raise UserInputError(
                f"{name}: {no_columns(missing)}; its columns are {present}. Every "
                "file of the dataset with ratings needs the item, annotator and "
                "score columns (name them with --item, --annotator and --score)"
            )
        kept.append(name)
    # A dataset of empty files: let the reader say so, as for one file.
    return kept or files[:1]


def _read_dataset(dd, files, args):
    """The ratings as a Dask DataFrame, the label columns as text."""
    files = _files_with_the_columns(files, args)
    try:
        frame = dd.read_parquet(files)
    except Exception as error:
        raise UserInputError(
            f"{args.ratings}: cannot read it: {describe(error)}"
        ) from None
    # A named index (written from a frame indexed by item, say) is a column,
    # as in memory.
    if frame.index.name is not None and frame.index.name not in frame.columns:
        frame = frame.reset_index()
    missing = [c for c in (args.item, args.annotator, args.score) if c not in frame]
    if missing:
        present = ", ".join(f"'{c}'" for c in list(frame.columns)[:20])
        raise UserInputError(
            f"{args.ratings}: {no_columns(missing)}; its "
            f"columns are {present}. Name the item, annotator and score columns "
            "with --item, --annotator and --score"
            f"{spaced_name_hint(missing, frame.columns)}"
        )
    for name in (args.item, args.annotator):
        frame[name] = frame[name].map_partitions(
            _partition_labels_as_text, meta=(name, object)
        )
    return frame


def _partition_labels_as_text(column):
    """One partition's labels as text (run on a worker); none may be blank.

    Raises
    ------
    ValueError
        For an empty or blank label, bytes that are not UTF-8 or a list, as
        in memory.
    """
    pd = import_pandas()
    text = labels_as_text(pd, column)
    blank = text.map(lambda v: isinstance(v, str) and not v.strip())
    if blank.any():
        raise ValueError(
            f"Column {column.name!r} has {int(blank.sum())} blank label(s) in "
            "one partition: an empty label names nothing."
        )
    # A list is no label (nor can the shuffle by item hash it).
    odd = text.map(lambda v: isinstance(v, bytes) or not pd.api.types.is_scalar(v))
    if odd.any():
        raise ValueError(
            f"Column {column.name!r} has {int(odd.sum())} label(s) in one "
            f"partition that hold {kind(text[odd].iloc[0])}."
        )
    return text


@contextlib.contextmanager
def _dask_log(verbose):
    """Keep Dask's and distributed's log off the user's stderr, unless verbose.

    Without ``verbose``, Dask's warnings are ignored and file descriptor 2
    points at a scratch log for the duration: that catches this process's
    loggers and the worker processes, which inherit it, down to shutdown
    messages such as "Worker process still alive". The scratch log is
    dropped.

    Parameters
    ----------
    verbose : bool

    Yields
    ------
    stream : file
        The user's stderr, for the progress line.
    """
    if verbose:
        yield sys.stderr
        return
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log, warnings.catch_warnings():
        pattern = "|".join(_DASK_PACKAGES)
        warnings.filterwarnings("ignore", module=rf"({pattern})(\.|$)")
        os.dup2(log.fileno(), 2)
        try:
            with os.fdopen(os.dup(saved), "w") as user_stderr:
                yield user_stderr
        finally:
            with contextlib.suppress(AttributeError, ValueError, OSError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _keep_own_warnings(caught, verbose_stream):
    """The fit's warnings without Dask's, which go to the log.

    A warning is Dask's if it was issued from inside one of the packages of
    ``_DASK_PACKAGES`` (skem's own ``skem/dask`` is not one of them).
    """
    roots = []
    for package in _DASK_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            roots += [Path(p).resolve() for p in spec.submodule_search_locations]
    own = []
    for w in caught:
        where = Path(w.filename).resolve()
        if any(root in where.parents for root in roots):
            if verbose_stream is not None:
                print(
                    f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})",
                    file=verbose_stream,
                )
        else:
            own.append(w)
    return own


@contextlib.contextmanager
def _client(args, distributed, local_cluster, notes):
    """A client of the --scheduler cluster, or of a new LocalCluster.

    ``notes`` gets the dashboard's address, with ``--dashboard``.
    """
    if args.scheduler is not None:
        try:
            client = distributed.Client(args.scheduler, timeout=_CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as error:
            raise UserInputError(
                f"--scheduler {args.scheduler}: cannot connect: {describe(error)}"
            ) from None
        with client:
            yield client
        return
    level = logging.INFO if args.verbose else logging.ERROR
    with (
        local_cluster(
            args.workers,
            silence_logs=level,
            dashboard_address=":8787" if args.dashboard else None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        if args.dashboard:
            print(f"Dask dashboard: {cluster.dashboard_link}", file=notes, flush=True)
        yield client


def _consensus_table(estimator, args):
    """The fit's ``consensus_`` at ``--level``, the item column first, lazily."""
    from dask.dataframe.utils import make_meta

    from skem._io.results import _scale_ends

    options = {
        "bounded": estimator.bounded,
        "score_range": _scale_ends(estimator),
        "log": estimator._score_scale.log,
        "level": args.level,
        "name": args.item,
    }
    meta = item_partition(make_meta(estimator.consensus_), **options)
    return estimator.consensus_.map_partitions(item_partition, **options, meta=meta)


def _count_notes(estimator, consensus, annotators):
    """The summary's notes that the fit and the rating counts alone support.

    The hint to refit with ``--bias`` for the annotators who follow the
    items (:func:`skem._cli.results.follower_note`); the note on random
    verdicts from few raters per item
    (:func:`skem._io.notes._few_raters_note`), for which the items' counts
    come to the client (8 bytes an item) only when someone is called random;
    and the note on verdicts from yes/no labels
    (:func:`skem._io.notes._yes_no_note`). ``annotators`` is the annotator
    table, its labels in its first column.
    """
    from skem._cli.results import follower_note
    from skem._io.evidence import _Evidence
    from skem._io.notes import _few_raters_note, _yes_no_note

    verdicts = annotators["verdict"].to_numpy()
    notes = [follower_note(estimator, annotators.iloc[:, 0].to_numpy())]
    if (verdicts == "random").any():
        per_item = consensus["n_ratings"].compute().to_numpy(dtype=float)
        notes.append(_few_raters_note(_Evidence.of_counts(per_item, None), verdicts))
    notes.append(_yes_no_note(estimator, verdicts))
    return [note for note in notes if note]


def _widest(consensus, name, log=False):
    """The items whose intervals are notably wide, and the number of items.

    The rule of the in-memory summary
    (:func:`skem._cli.results.widest_intervals`). Its threshold is a median
    of every item's standard error, so those come to the client: 8 bytes an
    item, against the ratings' tens of bytes each that stay on the cluster;
    then only the items named. With ``log`` the widths ranked are relative.
    """
    import dask

    from skem._cli.results import WidestIntervals
    from skem._io.widest import (
        _half_width,
        _is_wide,
        _rank_widest,
        _tie_floor,
        _wide_threshold,
    )

    std_error = consensus["std_error"]
    errors, n_items = dask.compute(std_error, std_error.size)
    threshold = _wide_threshold(errors.to_numpy(dtype=float))
    wide = consensus[(std_error > threshold) & (std_error < float("inf"))]
    wide = wide[[name, "ci_low", "ci_high"]].assign(half=_half_width(wide, log))
    top = wide.nlargest(WIDEST_SHOWN, "half").compute()
    if len(top) == WIDEST_SHOWN:
        # Every item tied with the last one shown, for the label order.
        top = wide[wide["half"] >= _tie_floor(top["half"].min())].compute()
    labels, half = top[name].to_numpy(), top["half"].to_numpy()
    low, high = top["ci_low"].to_numpy(), top["ci_high"].to_numpy()
    picked = _rank_widest(half, labels, WIDEST_SHOWN)
    shown = tuple((labels[k], float(low[k]), float(high[k])) for k in picked)
    n_wide = int(_is_wide(errors.to_numpy(dtype=float)).sum())
    return WidestIntervals(shown, n_wide), int(n_items)
