"""The ``skem`` command's arguments.

Imports nothing heavy: ``skem --help`` and ``skem --version`` answer from
here without loading scikit-learn, SciPy, pandas or Dask.
"""

import argparse
import re
from pathlib import Path

import skem
from skem._cli.messages import UserInputError, one_line


class UsageError(UserInputError):
    """Arguments that do not parse; reported in one line, exit 2."""


# A negative number as float() reads it: decimal or scientific, with
# underscores between digits, or -inf and -nan. argparse's own pattern knows
# only '-5' and '-.5', so '--score-range -1e3 5' was an unknown option.
_DIGITS = r"\d(?:_?\d)*"
_NEGATIVE_NUMBER = re.compile(
    rf"^-(?:(?:{_DIGITS}\.?(?:{_DIGITS})?|\.{_DIGITS})(?:e[-+]?{_DIGITS})?"
    r"|inf(?:inity)?|nan)$",
    re.IGNORECASE,
)


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like skem's own.

    A negative number as float() reads it (``-1e3``, ``-1.``, ``-1_000``,
    ``-inf``) is a value, never an option.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message):
        """Raise a one-line :class:`UsageError` instead of printing the usage.

        Parameters
        ----------
        message : str
        """
        raise UsageError(f"{one_line(message)} (see '{self.prog} --help')")


def build_parser():
    """The parser of the ``skem`` command and its ``fit`` and ``demo``.

    Returns
    -------
    parser : ArgumentParser
        Its namespaces carry ``command``: 'fit' or 'demo'.
    """
    parser = ArgumentParser(
        prog="skem",
        description="Find unreliable annotators and recover consensus scores with EM.",
    )
    parser.add_argument(
        "--version", action="version", version=f"skem {skem.__version__}"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    fit = commands.add_parser(
        "fit",
        help="fit long-format ratings from a CSV or Parquet file",
        description="Fit long-format ratings (one rating per row) and report the "
        "consensus per item and the reliability per annotator.",
    )
    fit.add_argument(
        "ratings",
        type=_path,
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
        "beyond one process's memory; needs pip install "
        "'dask[dataframe]>=2024.12' 'distributed>=2024.12' pyarrow "
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
        "--dashboard",
        action="store_true",
        help="with --workers, serve the LocalCluster's Dask dashboard (on port "
        "8787, or a free one) and print its address (default: no dashboard)",
    )
    fit.add_argument(
        "--verbose",
        action="store_true",
        help="with --workers or --scheduler, show Dask's and distributed's own "
        "log and warnings on stderr (default: kept out of the way)",
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
        type=_path,
        metavar="DIR",
        help="write consensus.csv (with --workers or --scheduler: the Parquet "
        "dataset consensus/) and annotators.csv into this folder (default: not "
        "written)",
    )
    _add_report_option(fit)
    fit.set_defaults(command="fit")

    demo = commands.add_parser(
        "demo",
        help="run on the bundled Netflix video-quality ratings",
        description="Fit the bundled Netflix public video-quality ratings, whose "
        "annotators 26-29 are known to be unreliable, and show the result.",
    )
    # The bundled data has the default column names and the 1..5 scale.
    _add_model_options(demo, score_range=(1.0, 5.0))
    _add_report_option(demo)
    demo.set_defaults(
        command="demo",
        item="item",
        annotator="annotator",
        score="score",
        sep=None,
        decimal=None,
        duplicates="raise",
    )
    return parser


def _add_report_option(parser):
    """Add ``--report PATH``."""
    parser.add_argument(
        "--report",
        type=_path,
        metavar="PATH",
        help="write a one-page HTML report of the fit here: who answers at "
        "random and why, the figures, what to do next; needs matplotlib "
        "(default: not written)",
    )


def _add_model_options(parser, score_range=None):
    """Add the options of the model, shared by ``fit`` and ``demo``."""
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
        "--score-scale",
        choices=["linear", "log"],
        default="linear",
        help="the axis on which errors are normal: the scores, or their "
        "logarithms for errors proportional to the score, as in guessed "
        "counts (positive scores only; default: %(default)s)",
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
        "--levels",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read ratings on evenly spaced values as levels of a discrete "
        "scale, with the bounded forms; --no-levels reads them as exact scores "
        "(default: levels, unless --no-bounded)",
    )
    parser.add_argument(
        "--tail",
        type=_tail,
        metavar="DF",
        default=None,
        help="a Student-t good component with DF degrees of freedom, for "
        "heavy-tailed scores such as counts, or 'auto': the most likely of "
        "the normal and 32, 8, 4, 2 and 1; needs --no-bounded (default: "
        "the normal)",
    )
    parser.add_argument(
        "--init",
        choices=[
            "auto",
            "agreement",
            "median_agreement",
            "median",
            "all_good",
            "random",
        ],
        default="auto",
        help="how EM starts; auto runs 3 iterations from agreement (initial "
        "P(good) from each annotator's correlation with the other ratings of "
        "its items), from median_agreement (the same with the item medians) "
        "and from everyone presumed good, then goes on with the run ahead "
        "(default: %(default)s)",
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
        "--max-iter",
        type=int,
        metavar="N",
        default=100,
        help="most EM iterations of a run (default: %(default)s)",
    )
    parser.add_argument(
        "--tol",
        type=float,
        default=1e-6,
        help="EM stops when its objective (the log-likelihood, penalized by "
        "the prior on the annotators' sigmas) changes by less than this per "
        "rating in an iteration (default: %(default)g)",
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
        help="print only warnings and errors, to stderr: no progress and no "
        "summary; the tables and files are written as asked (default: the "
        "summary, and progress on a terminal during long fits)",
    )


def _path(text):
    """A path option's value; an empty one (an unset shell variable) is refused.

    ``Path('')`` is the current folder: ``-o "$OUT"`` with ``OUT`` unset would
    write there.
    """
    if not text:
        raise argparse.ArgumentTypeError("needs a path; got an empty one")
    return Path(text)


def _separator(text):
    """The ``--sep`` value: one character; '\\t' or 'tab' for a tab."""
    sep = {"\\t": "\t", "tab": "\t"}.get(text, text)
    # pandas' fast reader takes only a one-byte separator.
    if len(sep) != 1 or sep in '"\r\n' or not sep.isascii():
        raise argparse.ArgumentTypeError(
            f"must be one ASCII character other than a quote or a newline, e.g. "
            f"';' or '\\t' for a tab; got '{text}'"
        )
    return sep


def _tail(text):
    """The ``--tail`` value: 'auto' or a number (its range is checked later)."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'auto' or a number of degrees of freedom; got '{text}'"
        ) from None


def _decimal_mark(text):
    """The ``--decimal`` value: '.' or ','."""
    if text not in (".", ","):
        raise argparse.ArgumentTypeError(f"must be '.' or ','; got '{text}'")
    return text
