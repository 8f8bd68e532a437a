"""Checking the ``skem`` command's options and ratings before any fit.

Every problem becomes one :class:`~skem._cli.messages.UserInputError` that
names the option, or the rating by its labels and its file line.
"""

import math

import numpy as np

from skem._cli.messages import UserInputError, kind, quoted, show
from skem._cli.reading import SEPARATORS, import_pandas, numbers
from skem._em.parameters import _MAX_TAIL, _MIN_TAIL
from skem._io.words import count, label_text, no_columns, spaced_name_hint

_SHOWN_COLUMNS = 20
# Groups of labels alike but for their spaces that the summary names.
_SHOWN_ALIKE = 3
# pandas.api.types.infer_dtype kinds that hold only scalar labels.
_SCALAR_KINDS = {"string", "integer", "floating", "mixed-integer-float", "boolean"}


# More random starts than this is a typo, not a plan: each is a whole fit.
_MAX_N_INIT = 10_000


def _check_output_names(args):
    """The item and annotator columns must not be named like an output column."""
    from skem._io.results import ANNOTATOR_COLUMNS, _item_column_names

    bounded = getattr(args, "bounded", True)
    for option, name, others in (
        ("--item", args.item, _item_column_names(bounded)),
        ("--annotator", args.annotator, ANNOTATOR_COLUMNS),
    ):
        if name in others:
            raise UserInputError(
                f"{option} {quoted(name)} is also a column of the results "
                f"({', '.join(others)}); rename that column of the ratings"
            )


def check_options(args):
    """Refuse bad or contradictory options before reading any file.

    Parameters
    ----------
    args : argparse.Namespace
        The ``skem fit`` or ``skem demo`` options.

    Raises
    ------
    UserInputError
        Naming the option and what it needs.
    """
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
        if not 1 <= args.n_init <= _MAX_N_INIT:
            raise UserInputError(
                f"--n-init must lie in 1..{_MAX_N_INIT}; got {args.n_init}"
            )
    if args.max_iter < 1:
        raise UserInputError(f"--max-iter must be at least 1; got {args.max_iter}")
    if not (math.isfinite(args.tol) and args.tol >= 0):
        raise UserInputError(
            f"--tol must be a finite number, 0 or more; got {args.tol:g}"
        )
    if not (math.isfinite(args.noise_prior) and args.noise_prior > 0):
        raise UserInputError(
            f"--noise-prior must be a positive number; got {args.noise_prior:g}"
        )
    if args.tail is not None:
        if args.tail != "auto" and not (
            math.isfinite(args.tail) and _MIN_TAIL <= args.tail <= _MAX_TAIL
        ):
            raise UserInputError(
                "--tail must be a number of degrees of freedom from "
                f"{_MIN_TAIL:g} to {_MAX_TAIL:g}; got {args.tail:g}"
            )
        if args.bounded:
            raise UserInputError(
                "--tail is a Student-t good component on the whole real line: "
                "add --no-bounded"
            )
    if args.score_scale == "log" and args.score_range is not None:
        if not args.score_range[0] > 0:
            low, high = args.score_range
            raise UserInputError(
                "--score-scale log fits the logarithms of the scores: "
                f"--score-range needs 0 < LOW; got {low:g} {high:g}"
            )
    if args.levels and args.score_scale == "log":
        raise UserInputError(
            "--levels reads ratings as evenly spaced levels; --score-scale log "
            "fits their logarithms as exact scores: drop one of the two"
        )
    if args.levels and not args.bounded:
        raise UserInputError(
            "--levels reads ratings as cells of a bounded scale; the plain form "
            "of --no-bounded reads exact scores: drop one of the two"
        )
    on_dask = (
        getattr(args, "workers", None) is not None
        or getattr(args, "scheduler", None) is not None
    )
    if getattr(args, "dashboard", False) and not on_dask:
        raise UserInputError(
            "--dashboard serves the Dask dashboard of the LocalCluster of "
            "--workers N: add --workers, or drop --dashboard"
        )
    if getattr(args, "verbose", False) and not on_dask:
        raise UserInputError(
            "--verbose shows Dask's own log, with --workers or --scheduler: add "
            "one of them, or drop --verbose"
        )
    if args.random_state is not None and not 0 <= args.random_state < 2**32:
        raise UserInputError(
            f"--random-state must lie in 0..{2**32 - 1}; got {args.random_state}"
        )
    names = (args.item, args.annotator, args.score)
    if len(set(names)) < 3:
        raise UserInputError(
            "--item, --annotator and --score must name three different columns; "
            f"got {', '.join(map(quoted, names))}"
        )
    _check_output_names(args)
    if getattr(args, "report", None) is not None:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise UserInputError(
                "--report draws its figures with matplotlib, which is missing: "
                "pip install matplotlib"
            )
    if args.sep is not None and args.sep == args.decimal:
        raise UserInputError(
            f"--sep and --decimal must differ; both are {quoted(args.sep)}"
        )


def clean_ratings(frame, source, args):
    """Check the ratings, naming rows by label and file line; tidy them.

    Returns a DataFrame with columns item, annotator and score (float), the
    scores all finite and (with --score-range) in range, and (with
    --duplicates raise) no repeated pair.
    """
    pd = import_pandas()
    name = source.name
    columns = {"item": args.item, "annotator": args.annotator, "score": args.score}
    missing = [c for c in columns.values() if c not in frame.columns]
    if missing:
        present = [str(c) for c in frame.columns]
        # quoted() folds whitespace, which would hide a name's outer spaces.
        shown = ", ".join(
            repr(c) if c != c.strip() else quoted(c) for c in present[:_SHOWN_COLUMNS]
        )
        if len(present) > _SHOWN_COLUMNS:
            shown += f" ... ({len(present)} in all)"
        hint = spaced_name_hint(missing, frame.columns)
        if len(present) == 1 and any(s in present[0] for s in SEPARATORS):
            hint = "; is the separator right? (set it with --sep)"
        elif not hint and len(missing) > 1:
            hint = (
                ". The command reads one rating per row; a table with a column "
                "per annotator needs melting first (pandas.melt), or a fit "
                "from Python"
            )
        raise UserInputError(
            f"{name}: {no_columns(missing, quoted)}; its columns "
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
                f"{quoted(columns[role])}); {count(bad.sum(), 'such row')} in all"
            )
        if column.dtype == object or str(column.dtype) in ("str", "string"):
            # A label is text as written, but it cannot be blank.
            blank = column.map(lambda v: isinstance(v, str) and not v.strip())
            bad = blank.to_numpy(dtype=bool)
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise UserInputError(
                    f"{name}: {source.place(first)} has no {role} label (column "
                    f"{quoted(columns[role])} is blank); "
                    f"{count(bad.sum(), 'such row')} in all"
                )
        # Parquet can hold lists and bytes; plain text or numbers need no
        # look at each.
        if pd.api.types.infer_dtype(column, skipna=True) not in _SCALAR_KINDS:
            bad = np.fromiter(
                (isinstance(v, bytes) or not pd.api.types.is_scalar(v) for v in column),
                bool,
                len(column),
            )
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise UserInputError(
                    f"{name}: {source.place(first)} holds "
                    f"{kind(column.iloc[first])} in column "
                    f"{quoted(columns[role])}, not an {role} label; "
                    f"{count(bad.sum(), 'such row')} in all"
                )
        labels[role] = column

    def rating(position):
        item = labels["item"].iloc[position]
        annotator = labels["annotator"].iloc[position]
        return f"item {show(item)}, annotator {show(annotator)}"

    raw = frame[columns["score"]].reset_index(drop=True)
    scores = numbers(pd, raw, source.decimal)
    bad = ~np.isfinite(scores)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        value, where = raw.iloc[first], source.place(first)
        column = quoted(columns["score"])
        if not pd.api.types.is_scalar(value):
            problem = f"holds {kind(value)} in column {column}, not a number"
        elif pd.isna(value):
            problem = f"has no score in column {column}"
        elif isinstance(value, str) and not value.strip():
            problem = f"has a blank score (spaces) in column {column}"
        else:
            problem = f"has '{show(value)}' in column {column}, not a finite number"
        hint = ""
        if (
            source.csv_path is not None
            and source.decimal == "."
            and isinstance(value, str)
            and "," in value
        ):
            hint = " (for decimal commas, add --decimal ,)"
        elif source.decimal == "," and isinstance(value, str) and "." in value:
            hint = (
                " (the decimal mark is ',': a '.' is read neither as one nor as a "
                "thousands separator)"
            )
        raise UserInputError(
            f"{name}: {where} {problem} ({rating(first)}); "
            f"{count(bad.sum(), 'such row')} in all{hint}"
        )

    if args.score_range is not None:
        low, high = args.score_range
        outside = (scores < low) | (scores > high)
        if outside.any():
            first = int(np.flatnonzero(outside)[0])
            raise UserInputError(
                f"{name}: {count(outside.sum(), 'rating')} outside --score-range "
                f"{low:g} {high:g}; the first is {scores[first]:g}, on "
                f"{source.place(first)} ({rating(first)}). Widen --score-range, "
                "or leave it out to infer it from the ratings"
            )

    if args.score_scale == "log":
        not_positive = ~(scores > 0)
        if not_positive.any():
            first = int(np.flatnonzero(not_positive)[0])
            raise UserInputError(
                f"{name}: {count(not_positive.sum(), 'rating')} not positive, "
                "which --score-scale log cannot take the logarithm of; the "
                f"first is {scores[first]:g}, on {source.place(first)} "
                f"({rating(first)}). Shift counts that can be 0 (add 1), or "
                "drop --score-scale log"
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
                f"{name}: annotator {show(pairs['annotator'].iloc[again])} rated "
                f"item {show(pairs['item'].iloc[again])} more than once, on "
                f"{where_first} and {where_again}; "
                f"{count(repeated.sum(), 'repeated rating')} in all. Remove the "
                "repeats, or average them with --duplicates mean"
            )
    return pairs.assign(score=scores)


def reading_notes(ratings, n_ratings):
    """The summary's lines on how the file's rows became ratings.

    - Repeated pairs averaged (``--duplicates mean``): fewer ratings than
      rows, which the count of ratings alone would not explain.
    - Labels that differ only in their whitespace: kept apart, as written,
      which is seldom what a file meant.

    Parameters
    ----------
    ratings : pandas.DataFrame
        From :func:`clean_ratings`, before any averaging.
    n_ratings : int
        The ratings fitted, one per (item, annotator) pair.

    Returns
    -------
    lines : list of str
    """
    lines = []
    repeats = len(ratings) - n_ratings
    if repeats:
        lines.append(
            f"{count(repeats, 'row')} repeated an (item, annotator) pair of an "
            "earlier row, and each was averaged with it (--duplicates mean)."
        )
    for role in ("item", "annotator"):
        labels = ratings[role].drop_duplicates()
        folded = labels.map(lambda label: " ".join(str(label).split()))
        alike = labels[folded.duplicated(keep=False).to_numpy()]
        if len(alike):
            groups = alike.groupby(folded[alike.index].to_numpy(), sort=False)
            shown = "; ".join(
                " and ".join(label_text(label) for label in group)
                for _, group in list(groups)[:_SHOWN_ALIKE]
            )
            more = groups.ngroups - _SHOWN_ALIKE
            lines.append(
                f"{count(len(alike), f'{role} label')} differ only in their spaces "
                f"and count as different {role}s, as written: {shown}"
                + (f"; and {count(more, 'group')} more" if more > 0 else "")
                + ". Trim them in the file if they are the same."
            )
    return lines
