"""The ``skem`` command: fit long-format ratings from a file, or run the demo."""

import argparse
import bz2
import contextlib
import csv
import gzip
import io
import lzma
import math
import os
import stat
import sys
import tarfile
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from skem import (
    AnnotatorEM,
    HardAnnotatorEM,
    __version__,
    annotator_frame,
    consensus_frame,
    long_to_matrix,
)

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
_PROGRESS_DELAY = 1.0  # seconds before a fit starts showing its progress

_PARQUET_SUFFIXES = (".parquet", ".pq")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tar.bz2", ".tar.xz")
# Candidate separators, in the order that breaks ties.
_SEPARATORS = (",", "\t", ";", "|")
_SNIFF_CHARS = 65536  # how much of a CSV file the separator is inferred from
_SNIFF_ROWS = 20
_SHOWN_CHARS = 40  # longer values are clipped in messages
_SHOWN_COLUMNS = 20
# pandas.api.types.infer_dtype kinds that hold only scalar labels.
_SCALAR_KINDS = {"string", "integer", "floating", "mixed-integer-float", "boolean"}


class UserInputError(Exception):
    """A problem with what the user gave; reported in one line, exit 2."""


class _ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like skem's own."""

    def error(self, message):
        self.exit(
            EXIT_BAD_INPUT,
            f"skem: error: {_one_line(message)} (see '{self.prog} --help')\n",
        )


def main(argv=None):
    """Run the ``skem`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; ``sys.argv[1:]`` if None.

    Returns
    -------
    status : int
        0 on success, 2 on bad input (including bad arguments), 1 if stdout
        closed early or on an unexpected error, 130 if interrupted.
    """
    try:
        try:
            args = _build_parser().parse_args(argv)
        except SystemExit as stop:  # --help, --version, or a usage error
            return 0 if stop.code is None else stop.code
        status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except UserInputError as error:
        _print_error(error)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (skem demo | head): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        _silence_stdout()
        return EXIT_FAILURE
    except KeyboardInterrupt:
        _print_error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug, not bad input: still one line
        _print_error(f"unexpected {type(error).__name__}: {error}")
        return EXIT_FAILURE


def _print_error(message):
    print(f"skem: error: {_one_line(message)}", file=sys.stderr)


def _silence_stdout():
    with contextlib.suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _build_parser():
    parser = _ArgumentParser(
        prog="skem",
        description="Find unreliable annotators and recover consensus scores with EM.",
    )
    parser.add_argument("--version", action="version", version=f"skem {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    fit = commands.add_parser(
        "fit",
        help="fit long-format ratings from a CSV or Parquet file",
        description="Fit long-format ratings (one rating per row) and report the "
        "consensus per item and the reliability per annotator.",
    )
    fit.add_argument(
        "ratings",
        type=Path,
        help="CSV file of ratings (may be compressed: .gz, .bz2, .xz, .zst, .zip, "
        ".tar), or a Parquet file (.parquet, .pq); with --workers or "
        "--scheduler, a Parquet dataset: a folder or a glob such as "
        "'ratings/*.parquet'",
    )
    fit.add_argument(
        "--item", default="item", help="item column (default: %(default)s)"
    )
    fit.add_argument(
        "--annotator",
        default="annotator",
        help="annotator column (default: %(default)s)",
    )
    fit.add_argument(
        "--score", default="score", help="score column (default: %(default)s)"
    )
    fit.add_argument(
        "--sep",
        type=_separator,
        metavar="CHAR",
        help="CSV field separator, one character; '\\t' for a tab (default: "
        "inferred from the first lines among comma, tab, semicolon and |)",
    )
    fit.add_argument(
        "--decimal",
        type=_decimal_mark,
        metavar="CHAR",
        help="CSV decimal mark (default: '.', or ',' for a semicolon-separated "
        "file whose scores only read as numbers with it)",
    )
    fit.add_argument(
        "--duplicates",
        choices=["raise", "mean"],
        default="raise",
        help="a repeated (item, annotator) pair is an error (raise), or its "
        "ratings are averaged (mean) (default: %(default)s)",
    )
    _add_model_options(fit)
    cluster = fit.add_mutually_exclusive_group()
    cluster.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="fit on a Dask LocalCluster of N worker processes, for ratings "
        "beyond one process's memory; needs pip install 'skem[dask]' "
        "(default: fit in this process)",
    )
    cluster.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="fit on the Dask cluster of this scheduler, e.g. "
        "tcp://10.0.0.1:8786; its workers must reach the ratings and the "
        "output folder (default: fit in this process)",
    )
    fit.add_argument(
        "--consensus",
        metavar="PATH",
        help="write the consensus CSV here, '-' for stdout (with --workers or "
        "--scheduler: a Parquet dataset, a folder); overrides --output-dir "
        "(default: not written)",
    )
    fit.add_argument(
        "--annotators",
        metavar="PATH",
        help="write the annotator CSV here, '-' for stdout; overrides "
        "--output-dir (default: not written)",
    )
    fit.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="write consensus.csv (with --workers or --scheduler: the Parquet "
        "dataset consensus/) and annotators.csv into this folder (default: not "
        "written)",
    )
    fit.set_defaults(run=_run_fit)

    demo = commands.add_parser(
        "demo",
        help="run on the bundled Netflix video-quality ratings",
        description="Fit the bundled Netflix public video-quality ratings, whose "
        "annotators 26-29 are known to be unreliable, and show the result.",
    )
    # The bundled data has the default column names and the 1..5 scale.
    _add_model_options(demo, score_range=(1.0, 5.0))
    demo.set_defaults(
        run=_run_demo,
        item="item",
        annotator="annotator",
        score="score",
        sep=None,
        decimal=None,
        duplicates="raise",
    )
    return parser


def _add_model_options(parser, score_range=None):
    parser.add_argument(
        "--hard",
        action="store_true",
        help="hard EM: each annotator either good or bad (default: soft EM, a "
        "probability of being good)",
    )
    parser.add_argument(
        "--score-range",
        nargs=2,
        type=float,
        default=score_range,
        metavar=("LOW", "HIGH"),
        help="range of the rating scale (default: "
        + (
            "inferred from the ratings"
            if score_range is None
            else f"{score_range[0]:g} {score_range[1]:g}"
        )
        + ")",
    )
    parser.add_argument(
        "--bounded",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="good ratings follow a normal truncated to the score range; "
        "--no-bounded for the plain normal (default: bounded)",
    )
    parser.add_argument(
        "--noise",
        choices=["per_annotator", "shared"],
        default="per_annotator",
        help="one sigma per annotator, or one for everybody (default: %(default)s)",
    )
    parser.add_argument(
        "--noise-prior",
        type=float,
        metavar="N",
        default=200.0,
        help="strength of the prior on each annotator's sigma, in ratings "
        "(default: %(default)g)",
    )
    parser.add_argument(
        "--bias",
        action="store_true",
        help="give each annotator a constant offset (default: no offsets)",
    )
    parser.add_argument(
        "--init",
        choices=["auto", "median", "all_good", "random"],
        default="auto",
        help="how EM starts; auto runs from median and from all_good and "
        "keeps the better fit (default: %(default)s)",
    )
    parser.add_argument(
        "--n-init",
        type=int,
        metavar="N",
        default=None,
        help="number of random starts, the best kept; only with --init random "
        "(default: 1)",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        metavar="SEED",
        default=None,
        help="seed of the random starts, for repeatable runs (default: "
        "%(default)s, a fresh seed)",
    )
    parser.add_argument(
        "--level",
        type=float,
        default=0.95,
        help="level of the consensus confidence intervals (default: %(default)s)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="show no progress (default: progress shows on a terminal during "
        "long fits)",
    )


def _separator(text):
    sep = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(sep) != 1 or sep in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"must be one character other than a quote or a newline, e.g. ';' or "
            f"'\\t' for a tab; got '{text}'"
        )
    return sep


def _decimal_mark(text):
    if len(text) != 1 or text in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"must be one character, '.' or ','; got '{text}'"
        )
    return text


def _check_options(args):
    """Refuse bad or contradictory options before reading any file."""
    if args.score_range is not None:
        low, high = args.score_range
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise UserInputError(
                f"--score-range needs two finite numbers LOW < HIGH; got {low:g} "
                f"{high:g}"
            )
    if not 0 < args.level < 1:
        raise UserInputError(
            f"--level must lie strictly between 0 and 1; got {args.level:g}"
        )
    if args.n_init is not None:
        if args.init != "random":
            raise UserInputError(
                f"--n-init only applies to --init random (--init {args.init} "
                "starts the same way every time); drop --n-init or add "
                "--init random"
            )
        if args.n_init < 1:
            raise UserInputError(f"--n-init must be at least 1; got {args.n_init}")
    if not (math.isfinite(args.noise_prior) and args.noise_prior > 0):
        raise UserInputError(
            f"--noise-prior must be a positive number; got {args.noise_prior:g}"
        )
    if args.random_state is not None and not 0 <= args.random_state < 2**32:
        raise UserInputError(
            f"--random-state must lie in 0..{2**32 - 1}; got {args.random_state}"
        )
    names = (args.item, args.annotator, args.score)
    if len(set(names)) < 3:
        raise UserInputError(
            "--item, --annotator and --score must name three different columns; "
            f"got {', '.join(map(_quoted, names))}"
        )
    if args.sep is not None and args.sep == args.decimal:
        raise UserInputError(
            f"--sep and --decimal must differ; both are {_quoted(args.sep)}"
        )


def _run_fit(args):
    if args.workers is not None or args.scheduler is not None:
        from skem._cli_dask import run_fit_on_dask

        return run_fit_on_dask(args)
    _check_options(args)
    outputs = _output_paths(args)
    frame, source = _read_ratings(args.ratings, args.sep, args.decimal, args.score)
    consensus, annotators, report = _fit_tables(frame, source, args)
    tables = {"consensus": consensus, "annotators": annotators}
    # Files first: whatever then happens to stdout (a closed pipe), they exist.
    files = {name: path for name, path in outputs.items() if path != "-"}
    _write_files([(tables[name], path) for name, path in files.items()])
    report += [f"wrote {name} to {path}" for name, path in files.items()]
    if not outputs:
        report.append(
            "(use --output-dir, --consensus or --annotators to save the tables)"
        )
    to_stdout = [name for name, path in outputs.items() if path == "-"]
    print("\n".join(report), file=sys.stderr if to_stdout else sys.stdout)
    for name in to_stdout:
        tables[name].to_csv(sys.stdout, index=False)
    return 0


def _run_demo(args):
    from skem.datasets import load_video_quality

    _check_options(args)
    bundle = load_video_quality(as_frame=True)
    print(
        "Netflix public video-quality ratings (bundled): 79 clips rated 1..5 by 30 "
        "viewers; viewers 26-29 are known to be unreliable.\n"
    )
    source = _Source("the bundled ratings")
    consensus, annotators, report = _fit_tables(bundle.frame, source, args)
    print("\n".join(report))

    ranked = annotators.sort_values("log_posterior").head(8)
    print("\nLeast reliable annotators (lowest log P(good)):")
    print(ranked.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    found = set(ranked.loc[ranked["good"].eq(False), "annotator"])
    known = set(bundle.unreliable.tolist())
    print(
        f"\nKnown unreliable {sorted(known)}: flagged {sorted(known & found)}, "
        f"missed {sorted(known - found)}; also flagged {sorted(found - known)}."
    )
    print("\nConsensus of the first items, with their confidence interval:")
    print(consensus.head(5).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def _fit_tables(frame, source, args):
    """Fit the ratings; return the two tables and the summary lines."""
    clean = _clean_ratings(frame, source, args)
    try:
        matrix = long_to_matrix(clean, duplicates=args.duplicates)
    except (ValueError, TypeError) as error:  # _clean_ratings should catch these
        raise UserInputError(f"{source.name}: {error}") from None
    Estimator = HardAnnotatorEM if args.hard else AnnotatorEM
    estimator = Estimator(**_model_params(args))
    show_progress = not args.quiet and sys.stdout.isatty()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(_Progress(show_progress, start)):
            try:
                estimator.fit(matrix.X)
            except ValueError as error:  # the estimator's word on bad data
                raise UserInputError(f"{source.name}: {error}") from None
    elapsed = time.perf_counter() - start

    consensus = consensus_frame(estimator, matrix.items, level=args.level)
    annotators = annotator_frame(estimator, matrix.annotators)
    annotators["log_posterior"] = estimator.log_posterior_
    report = _summary(estimator, matrix, annotators, elapsed)
    messages = dict.fromkeys(_one_line(w.message) for w in caught)
    report += [f"warning: {message}" for message in messages]
    return consensus, annotators, report


def _model_params(args):
    """The estimator parameters that the model options give."""
    return {
        "bounded": args.bounded,
        "noise": args.noise,
        "noise_prior": args.noise_prior,
        "bias": args.bias,
        "init": args.init,
        "n_init": 1 if args.n_init is None else args.n_init,
        "score_range": (
            "auto" if args.score_range is None else tuple(args.score_range)
        ),
        "random_state": args.random_state,
        "verbose": 1,
    }


def _summary(estimator, matrix, annotators, elapsed):
    X = matrix.X
    n_ratings = X.nnz if hasattr(X, "nnz") else int(X.notna().to_numpy().sum())
    flagged = annotators.loc[~annotators["good"], "annotator"].tolist()
    shown = ", ".join(map(str, flagged[:20])) + (" ..." if len(flagged) > 20 else "")
    low, high = estimator.score_range_
    return [
        f"{type(estimator).__name__}: {X.shape[0]} items, {X.shape[1]} annotators, "
        f"{n_ratings} ratings, scale {low:g}..{high:g}",
        f"flagged as unreliable: {len(flagged)} of {X.shape[1]} annotators"
        + (f" ({shown})" if flagged else ""),
        f"{_sigma_text(estimator.sigma_)}, pi {estimator.pi_:.3f}, "
        f"{estimator.n_iter_} iterations, "
        + ("converged" if estimator.converged_ else "NOT converged")
        + f", {elapsed:.2f} s",
    ]


def _sigma_text(sigma):
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.size == 1:
        return f"sigma {float(sigma.ravel()[0]):.4g}"
    return f"sigma {np.median(sigma):.4g} (median over the annotators)"


class _Progress:
    """Stands in for stdout during a fit: shows the latest iteration on stderr.

    Silent for the first second, so that quick fits print nothing, and
    silent altogether when not ``enabled``.
    """

    def __init__(self, enabled, start):
        self.enabled, self.start, self.shown = enabled, start, False

    def write(self, text):
        text = text.strip()
        if text and self.enabled and time.perf_counter() - self.start > _PROGRESS_DELAY:
            sys.stderr.write(f"\r{text[:120]:<120}")
            sys.stderr.flush()
            self.shown = True
        return len(text)

    def flush(self):
        if self.shown:
            sys.stderr.write("\r" + " " * 120 + "\r")
            sys.stderr.flush()
            self.shown = False


# --- Reading -----------------------------------------------------------------


class _Source:
    """Where the ratings came from, to name a rating's place in messages.

    Parameters
    ----------
    name : str
        Starts every message about the ratings.
    csv_path : Path, default=None
        The CSV file, whose data rows are then named by their file line
        (the header is line 1); otherwise rows are numbered from 1.
    sep : str, default=','
        The CSV separator.
    """

    def __init__(self, name, csv_path=None, sep=","):
        self.name, self.csv_path, self.sep = name, csv_path, sep

    def places(self, positions):
        """Name the rows at 0-based ``positions``: 'line 5' or 'row 4'."""
        if self.csv_path is None:
            return [f"row {p + 1}" for p in positions]
        return [f"line {n}" for n in _csv_lines(self.csv_path, self.sep, positions)]

    def place(self, position):
        return self.places([position])[0]


def _import_pandas():
    try:
        import pandas
    except ImportError:  # pragma: no cover - depends on the environment
        raise UserInputError(
            "the skem command needs pandas: pip install 'skem[pandas]'"
        ) from None
    return pandas


def _read_ratings(path, sep, decimal, score):
    """Read the file into a DataFrame; any failure is one UserInputError."""
    pd = _import_pandas()
    if not path.exists():
        raise UserInputError(f"{path}: no such file")
    if path.is_dir():
        raise UserInputError(
            f"{path}: is a folder, not a file (to fit a Parquet dataset on Dask, "
            "add --workers N or --scheduler ADDRESS)"
        )
    parquet = path.suffix.lower() in _PARQUET_SUFFIXES
    if parquet and (sep is not None or decimal is not None):
        raise UserInputError(
            f"{path}: --sep and --decimal apply to CSV files, not to Parquet"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if parquet:
                frame, source = _read_parquet(pd, path), _Source(str(path))
            else:
                frame, source = _read_csv(pd, path, sep, decimal, score)
        except UserInputError:
            raise
        except pd.errors.EmptyDataError:
            raise UserInputError(f"{path}: the file is empty") from None
        except ImportError as error:
            raise UserInputError(f"{path}: {_missing_module(error, parquet)}") from None
        except UnicodeDecodeError as error:
            raise UserInputError(
                f"{path}: cannot read it: it is not UTF-8 text (byte "
                f"{error.start} cannot be decoded)"
            ) from None
        except Exception as error:  # corrupt, truncated or unparseable file
            raise UserInputError(
                f"{path}: cannot read it: {_describe(error)}"
            ) from None
    notes = (pd.errors.ParserWarning, pd.errors.DtypeWarning)
    for message in dict.fromkeys(
        _one_line(w.message) for w in caught if issubclass(w.category, notes)
    ):
        print(f"skem: warning: {path}: {message}", file=sys.stderr)
    return frame, source


def _missing_module(error, parquet):
    if parquet:
        return "reading Parquet needs pyarrow: pip install 'skem[parquet]'"
    if "zstandard" in str(error):
        return "reading .zst files needs the zstandard module: pip install zstandard"
    return f"cannot read it: {_describe(error)}"


def _read_parquet(pd, path):
    frame = pd.read_parquet(path)
    names = [name for name in frame.index.names if name is not None]
    # A named index (say, written from a frame indexed by item) is a column.
    named = len(names) == frame.index.nlevels and not set(names) & set(frame.columns)
    return frame.reset_index(drop=not named)


def _read_csv(pd, path, sep, decimal, score):
    if sep is None:
        sep = _sniff_separator(path)
    source = _Source(str(path), csv_path=path, sep=sep)
    # index_col=False: a first row with a field too many is not an index.
    options = {"sep": sep, "low_memory": False, "index_col": False}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = pd.read_csv(path, decimal=decimal or ".", **options)
    if _extra_fields_warned(pd, caught):
        raise UserInputError(
            f"{path}: {source.place(0)} has more fields than the header line; "
            f"is the separator {_quoted(_sep_name(sep))} right? (set it with --sep)"
        )
    for w in caught:  # to the caller's record
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if (
        decimal is None
        and sep == ";"
        and score in frame.columns
        and _unparsed(pd, frame[score]).any()
    ):
        # A semicolon usually goes with decimal commas (3,5): try them.
        retry = pd.read_csv(path, decimal=",", **options)
        if score in retry.columns and not _unparsed(pd, retry[score]).any():
            frame = retry
    return frame, source


def _extra_fields_warned(pd, caught):
    """Whether pandas dropped the extra fields of a row (with index_col=False).

    Rows after the first one with a field too many are a ParserError.
    """
    return any(
        issubclass(w.category, pd.errors.ParserWarning)
        and "index_col=False" in str(w.message)
        for w in caught
    )


def _sniff_separator(path):
    """The separator that splits the first lines into the most equal rows."""
    try:
        with _open_text(path) as text:
            head = text.read(_SNIFF_CHARS)
            if len(head) == _SNIFF_CHARS and "\n" in head:
                head = head[: head.rindex("\n") + 1]  # whole lines only
    except Exception:  # let pandas report what is wrong with the file
        return ","
    best, best_key = ",", None
    for sep in _SEPARATORS:
        try:
            rows = [
                row
                for row in csv.reader(io.StringIO(head, newline=""), delimiter=sep)
                if not _blank(row)
            ][:_SNIFF_ROWS]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        matching = sum(len(row) == len(rows[0]) for row in rows)
        key = (matching == len(rows), matching, len(rows[0]))
        if best_key is None or key > best_key:
            best, best_key = sep, key
    return best


def _blank(row):
    """Whether csv.reader's ``row`` is a line that pandas skips."""
    return not row or (len(row) == 1 and not row[0].strip())


@contextlib.contextmanager
def _open_text(path):
    """Open a (possibly compressed) CSV file as text, as pandas would."""
    name = path.name.lower()
    with contextlib.ExitStack() as stack:
        if name.endswith(_TAR_SUFFIXES):
            archive = stack.enter_context(tarfile.open(path, "r:*"))
            member = next((m for m in archive if m.isfile()), None)
            if member is None:
                raise OSError("the archive holds no file")
            raw = stack.enter_context(archive.extractfile(member))
        elif name.endswith(".zip"):
            archive = stack.enter_context(zipfile.ZipFile(path))
            names = [n for n in archive.namelist() if not n.endswith("/")]
            raw = stack.enter_context(archive.open(names[0]))
        elif name.endswith(".gz"):
            raw = stack.enter_context(gzip.open(path))
        elif name.endswith(".bz2"):
            raw = stack.enter_context(bz2.open(path))
        elif name.endswith(".xz"):
            raw = stack.enter_context(lzma.open(path))
        elif name.endswith(".zst"):
            import zstandard

            raw = stack.enter_context(zstandard.open(path, "rb"))
        else:
            raw = stack.enter_context(open(path, "rb"))
        yield stack.enter_context(
            io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        )


def _csv_lines(path, sep, positions):
    """The file line on which each data row (0-based position) starts.

    Counts the lines that pandas skips (blank ones) and the line breaks
    inside quoted fields. Falls back to ``position + 2`` (one header line,
    no blank line) if the file cannot be scanned.
    """
    wanted, found = set(positions), {}
    with contextlib.suppress(Exception):
        with _open_text(path) as text:
            reader = csv.reader(text, delimiter=sep)
            position, start, header = -1, 1, False
            for row in reader:
                line, start = start, reader.line_num + 1
                if _blank(row):
                    continue
                if not header:
                    header = True
                    continue
                position += 1
                if position in wanted:
                    found[position] = line
                    if len(found) == len(wanted):
                        break
    return [found.get(p, p + 2) for p in positions]


# --- Checking ----------------------------------------------------------------


def _clean_ratings(frame, source, args):
    """Check the ratings, naming rows by label and file line; tidy them.

    Returns a DataFrame with columns item, annotator and score (float), the
    scores all finite and (with --score-range) in range, and (with
    --duplicates raise) no repeated pair.
    """
    pd = _import_pandas()
    name = source.name
    columns = {"item": args.item, "annotator": args.annotator, "score": args.score}
    missing = [c for c in columns.values() if c not in frame.columns]
    if missing:
        present = [str(c) for c in frame.columns]
        shown = ", ".join(map(_quoted, present[:_SHOWN_COLUMNS]))
        if len(present) > _SHOWN_COLUMNS:
            shown += f" ... ({len(present)} in all)"
        hint = ""
        if len(present) == 1 and any(s in present[0] for s in _SEPARATORS):
            hint = "; is the separator right? (set it with --sep)"
        raise UserInputError(
            f"{name}: no column {', '.join(map(_quoted, missing))}; its columns "
            f"are {shown}. Name the item, annotator and score columns with "
            f"--item, --annotator and --score{hint}"
        )
    if len(frame) == 0:
        raise UserInputError(
            f"{name}: the ratings table is empty (no row under the header): "
            "nothing to fit"
        )

    labels = {}
    for role in ("item", "annotator"):
        column = frame[columns[role]].reset_index(drop=True)
        bad = column.isna().to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise UserInputError(
                f"{name}: {source.place(first)} has no {role} label (column "
                f"{_quoted(columns[role])}); {_count(bad.sum(), 'such row')} in all"
            )
        # Parquet can hold lists; plain text or numbers need no look at each.
        if pd.api.types.infer_dtype(column, skipna=True) not in _SCALAR_KINDS:
            bad = np.fromiter(
                (not pd.api.types.is_scalar(v) for v in column), bool, len(column)
            )
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise UserInputError(
                    f"{name}: {source.place(first)} holds a "
                    f"{_kind(column.iloc[first])} in column "
                    f"{_quoted(columns[role])}, not an {role} label; "
                    f"{_count(bad.sum(), 'such row')} in all"
                )
        labels[role] = column

    def rating(position):
        item = labels["item"].iloc[position]
        annotator = labels["annotator"].iloc[position]
        return f"item {_show(item)}, annotator {_show(annotator)}"

    raw = frame[columns["score"]].reset_index(drop=True)
    scores = _numbers(pd, raw)
    bad = ~np.isfinite(scores)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        value, where = raw.iloc[first], source.place(first)
        column = _quoted(columns["score"])
        if not pd.api.types.is_scalar(value):
            problem = f"holds a {_kind(value)} in column {column}, not a number"
        elif pd.isna(value):
            problem = f"has no score in column {column}"
        else:
            problem = f"has '{_show(value)}' in column {column}, not a finite number"
        hint = ""
        if source.csv_path is not None and isinstance(value, str) and "," in value:
            hint = " (for decimal commas, add --decimal ,)"
        raise UserInputError(
            f"{name}: {where} {problem} ({rating(first)}); "
            f"{_count(bad.sum(), 'such row')} in all{hint}"
        )

    if args.score_range is not None:
        low, high = args.score_range
        outside = (scores < low) | (scores > high)
        if outside.any():
            first = int(np.flatnonzero(outside)[0])
            raise UserInputError(
                f"{name}: {_count(outside.sum(), 'rating')} outside --score-range "
                f"{low:g} {high:g}; the first is {scores[first]:g}, on "
                f"{source.place(first)} ({rating(first)}). Widen --score-range, "
                "or leave it out to infer it from the ratings"
            )

    pairs = pd.DataFrame({"item": labels["item"], "annotator": labels["annotator"]})
    if args.duplicates == "raise":
        repeated = pairs.duplicated().to_numpy()
        if repeated.any():
            again = int(np.flatnonzero(repeated)[0])
            same = (pairs["item"] == pairs["item"].iloc[again]) & (
                pairs["annotator"] == pairs["annotator"].iloc[again]
            )
            first = int(np.flatnonzero(same.to_numpy())[0])
            where_again, where_first = source.places([again, first])
            raise UserInputError(
                f"{name}: annotator {_show(pairs['annotator'].iloc[again])} rated "
                f"item {_show(pairs['item'].iloc[again])} more than once, on "
                f"{where_first} and {where_again}; "
                f"{_count(repeated.sum(), 'repeated rating')} in all. Remove the "
                "repeats, or average them with --duplicates mean"
            )
    return pairs.assign(score=scores)


def _numbers(pd, column):
    """The column as floats: NaN where not a number, inf where too large."""
    try:
        return pd.to_numeric(column, errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    except (TypeError, ValueError, OverflowError):  # say, a 400-digit integer
        return np.array([_number(pd, v) for v in column], dtype=np.float64)


def _number(pd, value):
    if not pd.api.types.is_scalar(value) or isinstance(value, bytes):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.inf
    except (TypeError, ValueError):
        return math.nan


def _unparsed(pd, column):
    """Where ``column`` holds a value that is there but not a number."""
    return np.isnan(_numbers(pd, column)) & column.notna().to_numpy()


# --- Messages ----------------------------------------------------------------


def _one_line(message):
    text = " ".join(str(message).split())
    return text or "(no message)"


def _describe(error):
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _show(value):
    """A label or value for a message: str(), numbers with :g, clipped."""
    if isinstance(value, float | np.floating):
        text = f"{value:g}"
    else:
        try:
            text = str(value)
        except ValueError:  # an integer too long to convert
            text = "(a number too long to show)"
    text = " ".join(text.split())
    if len(text) > _SHOWN_CHARS:
        text = f"{text[: _SHOWN_CHARS - 3]}... ({len(text)} characters)"
    return text


def _quoted(text):
    return f"'{_show(text)}'"


def _kind(value):
    return "list" if isinstance(value, list | tuple | np.ndarray) else "nested value"


def _count(n, noun):
    n = int(n)
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _sep_name(sep):
    return "\\t" if sep == "\t" else sep


# --- Writing -----------------------------------------------------------------


def _output_dir_paths(args, consensus_name):
    """The outputs inside ``--output-dir``, if given (none otherwise)."""
    if args.output_dir is None:
        return {}
    if args.output_dir.exists() and not args.output_dir.is_dir():
        raise UserInputError(f"{args.output_dir}: is a file, not a folder")
    return {
        "consensus": args.output_dir / consensus_name,
        "annotators": args.output_dir / "annotators.csv",
    }


def _output_paths(args):
    outputs = _output_dir_paths(args, "consensus.csv")
    for name in ("consensus", "annotators"):
        path = getattr(args, name)
        if path is not None:
            if not path:
                raise UserInputError(f"--{name} needs a file name, or '-' for stdout")
            outputs[name] = path
    if list(outputs.values()).count("-") > 1:
        raise UserInputError("only one of --consensus and --annotators can be '-'")
    files = [Path(p) for p in outputs.values() if p != "-"]
    if len(set(map(os.path.abspath, files))) != len(files):
        raise UserInputError("--consensus and --annotators name the same file")
    for path in files:
        if path.exists() and path.resolve() == args.ratings.resolve():
            raise UserInputError(f"{path}: refusing to overwrite the input file")
        if path.is_dir():
            raise UserInputError(f"{path}: is a folder, not a file")
    return outputs


def _write_files(tables_and_paths):
    """Write every table whole or not at all: temporary files, then renames.

    A new file gets the mode that open() would give it (0o666 less the
    umask); a replaced file keeps its mode.
    """
    pending, new_mode = [], None
    try:
        for table, path in tables_and_paths:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            mode = _existing_mode(path)
            if mode is None:
                if new_mode is None:
                    new_mode = 0o666 & ~_umask()
                mode = new_mode
            handle, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
            )
            pending.append((temporary, path))
            with os.fdopen(handle, "w", newline="") as f:
                table.to_csv(f, index=False)
            os.chmod(temporary, mode)  # mkstemp made it 0o600
        for temporary, path in pending:
            os.replace(temporary, path)
        pending = []
    except OSError as error:
        reason = error.strerror or _describe(error)
        raise UserInputError(f"{path}: cannot write it: {reason}") from None
    finally:
        for temporary, _ in pending:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _existing_mode(path):
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def _umask():
    """The process umask. Reading it means setting it: set a strict one for
    the instant before it is restored, so nothing is created too open."""
    umask = os.umask(0o077)
    os.umask(umask)
    return umask
