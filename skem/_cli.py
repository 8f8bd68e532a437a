"""The ``skem`` command: fit long-format ratings from a file, or run the demo."""

import argparse
import contextlib
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from skem import (
    AnnotatorEM,
    HardAnnotatorEM,
    __version__,
    annotator_frame,
    consensus_frame,
    long_to_matrix,
)

EXIT_BAD_INPUT = 2
_PROGRESS_DELAY = 1.0  # seconds before a fit starts showing its progress


class UserInputError(Exception):
    """A problem with what the user gave; reported in one line, exit 2."""


def main(argv=None):
    """Run the ``skem`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; ``sys.argv[1:]`` if None.

    Returns
    -------
    status : int
        0 on success, 2 on bad input.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except UserInputError as error:
        print(f"skem: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (skem demo | head): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _build_parser():
    parser = argparse.ArgumentParser(
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
    fit.add_argument("ratings", type=Path, help="CSV (or .parquet) file of ratings")
    fit.add_argument("--item", default="item", help="item column (default: item)")
    fit.add_argument(
        "--annotator", default="annotator", help="annotator column (default: annotator)"
    )
    fit.add_argument("--score", default="score", help="score column (default: score)")
    fit.add_argument(
        "--duplicates",
        choices=["raise", "mean"],
        default="raise",
        help="a repeated (item, annotator) pair is an error, or is averaged",
    )
    _add_model_options(fit)
    fit.add_argument(
        "--consensus", metavar="PATH", help="write the consensus CSV here ('-': stdout)"
    )
    fit.add_argument(
        "--annotators",
        metavar="PATH",
        help="write the annotator CSV here ('-': stdout)",
    )
    fit.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        help="write consensus.csv and annotators.csv into this folder",
    )
    fit.set_defaults(run=_run_fit)

    demo = commands.add_parser(
        "demo",
        help="run on the bundled Netflix video-quality ratings",
        description="Fit the bundled Netflix public video-quality ratings, whose "
        "annotators 26-29 are known to be unreliable, and show the result.",
    )
    _add_model_options(demo)
    # The bundled data has the default column names and the 1..5 scale.
    demo.set_defaults(
        run=_run_demo,
        item="item",
        annotator="annotator",
        score="score",
        duplicates="raise",
        score_range=(1.0, 5.0),
    )
    return parser


def _add_model_options(parser):
    parser.add_argument(
        "--hard", action="store_true", help="hard EM: each annotator good or bad"
    )
    parser.add_argument(
        "--score-range",
        nargs=2,
        type=float,
        metavar=("LOW", "HIGH"),
        help="range of the rating scale (default: min and max of the ratings)",
    )
    parser.add_argument(
        "--init", choices=["median", "all_good", "random"], default="median"
    )
    parser.add_argument("--n-init", type=int, default=1, help="runs with --init random")
    parser.add_argument("--random-state", type=int, default=None)
    parser.add_argument(
        "--level", type=float, default=0.95, help="confidence level (default: 0.95)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress")


def _run_fit(args):
    frame = _read_ratings(args.ratings)
    outputs = _output_paths(args)
    summary_stream = sys.stderr if "-" in outputs.values() else sys.stdout
    consensus, annotators = _fit_tables(frame, args, summary_stream)
    tables = {"consensus": consensus, "annotators": annotators}
    _write_tables([(tables[name], path) for name, path in outputs.items()])
    for name, path in outputs.items():
        if path != "-":
            print(f"wrote {name} to {path}", file=summary_stream)
    if not outputs:
        print(
            "(use --output-dir, --consensus or --annotators to save the tables)",
            file=summary_stream,
        )
    return 0


def _run_demo(args):
    from skem.datasets import load_video_quality

    bundle = load_video_quality(as_frame=True)
    print(
        "Netflix public video-quality ratings (bundled): 79 clips rated 1..5 by 30 "
        "viewers; viewers 26-29 are known to be unreliable.\n"
    )
    consensus, annotators = _fit_tables(bundle.frame, args, sys.stdout)

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


def _fit_tables(frame, args, summary_stream):
    try:
        matrix = long_to_matrix(
            frame,
            item=args.item,
            annotator=args.annotator,
            score=args.score,
            duplicates=args.duplicates,
        )
    except ValueError as error:
        raise UserInputError(error) from None
    if not 0 < args.level < 1:
        raise UserInputError(f"--level must lie in (0, 1); got {args.level}.")
    Estimator = HardAnnotatorEM if args.hard else AnnotatorEM
    estimator = Estimator(
        init=args.init,
        n_init=args.n_init,
        score_range=args.score_range or "auto",
        random_state=args.random_state,
        verbose=1,
    )
    show_progress = not args.quiet and sys.stdout.isatty()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(_Progress(show_progress, start)):
            try:
                estimator.fit(matrix.X)
            except ValueError as error:
                raise UserInputError(error) from None
    elapsed = time.perf_counter() - start

    consensus = consensus_frame(estimator, matrix.items, level=args.level)
    annotators = annotator_frame(estimator, matrix.annotators)
    annotators["log_posterior"] = estimator.log_posterior_
    _print_summary(estimator, matrix, annotators, elapsed, summary_stream)
    for warning in {str(w.message) for w in caught}:
        print(f"warning: {warning}", file=summary_stream)
    return consensus, annotators


def _print_summary(estimator, matrix, annotators, elapsed, stream):
    X = matrix.X
    n_ratings = X.nnz if hasattr(X, "nnz") else int(X.notna().to_numpy().sum())
    flagged = annotators.loc[~annotators["good"], "annotator"].tolist()
    shown = ", ".join(map(str, flagged[:20])) + (" ..." if len(flagged) > 20 else "")
    low, high = estimator.score_range_
    lines = [
        f"{type(estimator).__name__}: {X.shape[0]} items, {X.shape[1]} annotators, "
        f"{n_ratings} ratings, scale {low:g}..{high:g}",
        f"flagged as unreliable: {len(flagged)} of {X.shape[1]} annotators"
        + (f" ({shown})" if flagged else ""),
        f"sigma {estimator.sigma_:.4g}, pi {estimator.pi_:.3f}, "
        f"{estimator.n_iter_} iterations, "
        + ("converged" if estimator.converged_ else "NOT converged")
        + f", {elapsed:.2f} s",
    ]
    print("\n".join(lines), file=stream)


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


def _read_ratings(path):
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - depends on the environment
        raise UserInputError(
            "the skem command needs pandas: pip install 'skem[pandas]'"
        ) from None
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            try:
                return pd.read_parquet(path)
            except ImportError:
                raise UserInputError(
                    f"{path}: reading Parquet needs pyarrow: "
                    "pip install 'skem[parquet]'"
                ) from None
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UserInputError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        raise UserInputError(f"{path}: cannot read it: {error}") from None


def _output_paths(args):
    outputs = {}
    if args.output_dir is not None:
        outputs = {
            "consensus": args.output_dir / "consensus.csv",
            "annotators": args.output_dir / "annotators.csv",
        }
    if args.consensus:
        outputs["consensus"] = args.consensus
    if args.annotators:
        outputs["annotators"] = args.annotators
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


def _write_tables(tables_and_paths):
    """Write every table whole or not at all: temporary files, then renames."""
    pending = []
    try:
        for table, path in tables_and_paths:
            if path == "-":
                table.to_csv(sys.stdout, index=False)
                continue
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
            )
            pending.append((temporary, path))
            with os.fdopen(handle, "w", newline="") as f:
                table.to_csv(f, index=False)
        for temporary, path in pending:
            os.replace(temporary, path)
        pending = []
    except OSError as error:
        raise UserInputError(f"cannot write output: {error}") from None
    finally:
        for temporary, _ in pending:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
