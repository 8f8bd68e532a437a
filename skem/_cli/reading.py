"""Reading the ratings of ``skem fit``: CSV (maybe compressed) or Parquet.

The item and annotator columns are read as text and kept exactly as written
(``001`` and ``1`` are two labels, ``1e309`` stays ``1e309``); only the score
column is read as numbers.
"""

import atexit
import bz2
import contextlib
import csv
import glob
import gzip
import io
import lzma
import math
import os
import shutil
import sys
import tarfile
import tempfile
import warnings
import zipfile

import numpy as np

from skem._cli.messages import UserInputError, describe, one_line, quoted, sep_name

_PARQUET_SUFFIXES = (".parquet", ".pq")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tar.bz2", ".tar.xz")
# Candidate separators, in the order that breaks ties.
SEPARATORS = (",", "\t", ";", "|")
_SNIFF_CHARS = 65536  # how much of a CSV file the separator is inferred from
_SNIFF_ROWS = 20
# The first bytes of files that are no CSV text, and what to do with them.
_BINARY_FORMATS = (
    (b"PAR1", "a Parquet file: give the uncompressed file, named .parquet"),
    (b"ARROW1", "an Arrow (Feather) file: save the ratings as CSV or Parquet"),
    (b"\xd0\xcf\x11\xe0", "an Excel workbook: save its sheet as CSV"),
    (b"PK\x03\x04", "a zip archive (an Excel workbook?): save the sheet as CSV"),
)
# What pandas reads as a missing number by default; in the score column only,
# since in a label column "NA" or "nan" is a label as written.
_MISSING_SCORES = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]


class Source:
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
    decimal : str, default='.'
        The CSV decimal mark: scores that pandas left as text (a column
        with one value that is no number) are read with it.
    score : str, default=None
        The CSV score column, whose missing-value markers a row that holds
        nothing may have (:func:`_empty_row`).
    """

    def __init__(self, name, csv_path=None, sep=",", decimal=".", score=None):
        self.name, self.csv_path, self.sep = name, csv_path, sep
        self.decimal, self.score = decimal, score

    def places(self, positions):
        """Name the rows at 0-based ``positions``: 'line 5' or 'row 4'."""
        if self.csv_path is None:
            return [f"row {p + 1}" for p in positions]
        lines = _csv_lines(self.csv_path, self.sep, positions, self.score)
        return [f"line {n}" for n in lines]

    def place(self, position):
        return self.places([position])[0]


def import_pandas():
    try:
        import pandas
    except ImportError:  # pragma: no cover - depends on the environment
        raise UserInputError(
            "the skem command needs pandas: pip install pandas"
        ) from None
    return pandas


def read_ratings(path, *, sep, decimal, item, annotator, score):
    """Read the ratings file into a DataFrame; any failure is one UserInputError.

    Parameters
    ----------
    path : Path
        A CSV file (maybe compressed) or a Parquet file.
    sep, decimal : str or None
        The CSV separator and decimal mark; None to infer them.
    item, annotator, score : str
        The column names. The item and annotator columns come back as text,
        exactly as written (see :func:`labels_as_text` for Parquet).

    Returns
    -------
    frame : pandas.DataFrame
    source : Source
        Names the rows of ``frame`` in messages.
    """
    pd = import_pandas()
    if not path.exists():
        hint = ""
        if glob.has_magic(str(path)):
            hint = " (to fit the Parquet files a glob matches on Dask, add --workers N)"
        raise UserInputError(f"{path}: no such file{hint}")
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
    # A pipe (/dev/stdin, <(zcat ...)) reads once, and a CSV file is read
    # more than once (its separator, the lines a message names).
    readable = path if path.is_file() else _spooled(path)
    binary = None if parquet else _binary_format(readable)
    if binary is not None:
        raise UserInputError(f"{path}: cannot read it as CSV: it is {binary}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if parquet:
                frame = _read_parquet(pd, readable, (item, annotator))
                source = Source(str(path))
            else:
                frame, source = _read_csv(
                    pd, readable, sep, decimal, (item, annotator), score, str(path)
                )
        except UserInputError:
            raise
        except pd.errors.EmptyDataError:
            raise UserInputError(f"{path}: the file is empty") from None
        except ImportError as error:
            raise UserInputError(f"{path}: {_missing_module(error, parquet)}") from None
        except UnicodeDecodeError as error:
            # error.start counts from the reader's chunk, not from the file.
            bad = bytes(error.object[error.start : error.end])
            raise UserInputError(
                f"{path}: cannot read it: it is not UTF-8 text (it holds the "
                f"byte(s) {bad.hex(' ')}, not UTF-8); save it as UTF-8"
            ) from None
        except Exception as error:  # corrupt, truncated or unparseable file
            raise UserInputError(f"{path}: cannot read it: {describe(error)}") from None
    notes = (pd.errors.ParserWarning, pd.errors.DtypeWarning)
    for message in dict.fromkeys(
        one_line(w.message) for w in caught if issubclass(w.category, notes)
    ):
        print(f"skem: warning: {path}: {message}", file=sys.stderr)
    return frame, source


def _spooled(path):
    """A regular file with what ``path`` (a pipe, say) holds, kept till exit.

    It keeps the suffixes of ``path``, which name its compression.
    """
    handle, name = tempfile.mkstemp(prefix="skem-", suffix="".join(path.suffixes))
    atexit.register(os.unlink, name)
    with os.fdopen(handle, "wb") as copy, open(path, "rb") as pipe:
        shutil.copyfileobj(pipe, copy)
    return type(path)(name)


def _missing_module(error, parquet):
    if parquet:
        return "reading Parquet needs pyarrow: pip install pyarrow"
    if "zstandard" in str(error):
        return "reading .zst files needs the zstandard module: pip install zstandard"
    return f"cannot read it: {describe(error)}"


def _read_parquet(pd, path, labels):
    """A Parquet file as a DataFrame, its ``labels`` columns as text."""
    frame = pd.read_parquet(path)
    names = [name for name in frame.index.names if name is not None]
    # A named index (say, written from a frame indexed by item) is a column.
    named = len(names) == frame.index.nlevels and not set(names) & set(frame.columns)
    frame = frame.reset_index(drop=not named)
    for name in dict.fromkeys(labels):
        if name in frame.columns:
            frame[name] = labels_as_text(pd, frame[name])
    return frame


def labels_as_text(pd, column):
    """A label column as text, each label as it is written.

    Text stays as it is (``"001"``, ``"NA"``); integers and booleans become
    their digits and ``True``/``False``; floats become Python's shortest
    repr (``1.0``, ``1e+20``); bytes become their UTF-8 text. Missing values
    (null) stay missing, and lists and bytes that are not UTF-8 stay as they
    are, for the checks to name them.

    Parameters
    ----------
    pd : module
        pandas.
    column : pandas.Series

    Returns
    -------
    text : pandas.Series of object dtype
        The same index and name.
    """
    if getattr(column.dtype, "kind", None) in ("i", "u", "b"):  # never missing
        return column.astype(str).astype(object)
    values = column.astype(object)
    missing = values.isna().to_numpy(dtype=bool)
    if not missing.any() and all(type(v) is str for v in values):
        return values
    return pd.Series(
        [v if m else _label_text(v) for v, m in zip(values, missing, strict=True)],
        index=column.index,
        name=column.name,
        dtype=object,
    )


def _label_text(value):
    """One label as text (see :func:`labels_as_text`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            # Refused by the checks: replacement characters would make
            # Latin-1 b'caf\xe9' and b'caf\xe8' one label.
            return value
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return str(bool(value))
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")):
        return str(int(value))
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return repr(float(value))
    if isinstance(value, list | tuple | dict) or hasattr(value, "__len__"):
        return value  # refused by the checks, which name the row
    return str(value)


def _read_csv(pd, path, sep, decimal, labels, score, name):
    """A CSV file as a DataFrame, its ``labels`` columns as text; ``name``
    names it in messages."""
    if sep is None:
        sep = _sniff_separator(path)
    source = Source(name, csv_path=path, sep=sep, decimal=decimal or ".", score=score)
    # index_col=False: a first row with a field too many is not an index.
    # Labels are text as written; only scores know missing-value markers.
    options = {
        "sep": sep,
        "low_memory": False,
        "index_col": False,
        "dtype": dict.fromkeys(labels, str),
        "keep_default_na": False,
        "na_values": {score: _MISSING_SCORES},
    }
    too_many = (
        f"has more fields than the header line; is the separator "
        f"{quoted(sep_name(sep))} right? (set it with --sep)"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            frame = pd.read_csv(path, decimal=decimal or ".", **options)
        except pd.errors.ParserError:
            # pandas counts its own lines: name the file's.
            line = _first_long_line(path, sep)
            if line is None:
                raise
            raise UserInputError(f"{name}: line {line} {too_many}") from None
    if _extra_fields_warned(pd, caught):
        raise UserInputError(f"{name}: {source.place(0)} {too_many}")
    for w in caught:  # to the caller's record
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    _check_header_names_once(pd, path, frame, sep, (*labels, score), name)
    if decimal is None and sep == ";" and score in frame.columns:
        # A semicolon usually goes with decimal commas (3,5): read with them
        # if fewer scores are then no number, so that a message names those.
        unparsed = _unparsed(pd, frame[score]).sum()
        if unparsed and _unparsed(pd, frame[score], ",").sum() < unparsed:
            source.decimal = ","
            retry = pd.read_csv(path, decimal=",", **options)
            if score in retry.columns:
                frame = retry
    return _without_empty_rows(frame, score), source


def _without_empty_rows(frame, score):
    """``frame`` less the rows that hold nothing (:func:`_empty_row`), renumbered.

    A spreadsheet saved as CSV often ends in rows of separators alone
    (``;;;``): they hold no rating, as a blank line does not.
    """
    if score not in frame.columns:
        return frame
    # Only a row without a score can be empty: the rest is looked at there.
    empty = frame[score].isna().to_numpy().copy()
    if empty.any():
        # The labels are text as written, so that an empty one is "", and a
        # field a short row lacks is NaN.
        rest = frame.loc[empty, frame.columns != score]
        empty[empty] = (rest.isna() | (rest == "")).all(axis=1).to_numpy()
    if not empty.any():
        return frame
    return frame[~empty].reset_index(drop=True)


def _check_header_names_once(pd, path, frame, sep, names, shown):
    """Refuse a header that names one of ``names`` twice.

    pandas renames the second ``score`` to ``score.1``: which column is
    fitted would then depend on the order of the columns.
    """
    if not any(f"{name}.1" in frame.columns for name in names):
        return
    header = pd.read_csv(
        path,
        sep=sep,
        header=None,
        nrows=1,
        dtype=str,
        keep_default_na=False,
        index_col=False,
    ).iloc[0]
    header = [str(name) for name in header]
    repeated = next((name for name in names if header.count(name) > 1), None)
    if repeated is not None:
        raise UserInputError(
            f"{shown}: the header names the column {quoted(repeated)} more than "
            "once; give each column a name of its own"
        )


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
    for sep in SEPARATORS:
        try:
            rows = [
                row
                for row in csv.reader(io.StringIO(head, newline=""), delimiter=sep)
                if not blank(row)
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


def blank(row):
    """Whether csv.reader's ``row`` is a line that pandas skips."""
    return not row or (len(row) == 1 and not row[0].strip())


_MISSING_SCORE_TEXTS = frozenset(_MISSING_SCORES)


def _empty_row(row, header, score_index):
    """Whether csv.reader's data ``row`` holds nothing, as the command reads it.

    Every field is empty, but for a missing-value marker in the score
    column, and the row is no longer than the header (a longer one is an
    error): the rows that :func:`_without_empty_rows` drops.
    """
    return len(row) <= len(header) and all(
        field == "" or (k == score_index and field in _MISSING_SCORE_TEXTS)
        for k, field in enumerate(row)
    )


@contextlib.contextmanager
def _open_text(path):
    """Open a (possibly compressed) CSV file as text, as pandas would."""
    with _open_bytes(path) as raw:
        yield io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def _binary_format(path):
    """What a file named as CSV is, if its first bytes say it is no text.

    None for text, and for a file that cannot be opened.
    """
    with contextlib.suppress(Exception), _open_bytes(path) as raw:
        head = raw.read(8)
        for magic, what in _BINARY_FORMATS:
            if head.startswith(magic):
                return what
    return None


@contextlib.contextmanager
def _open_bytes(path):
    """Open a (possibly compressed) file, decompressed, as pandas would."""
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
        yield raw


def _csv_lines(path, sep, positions, score=None):
    """The file line on which each data row (0-based position) starts.

    Counts the lines that pandas skips (blank ones), the rows that hold
    nothing (:func:`_empty_row`, with ``score`` the score column) and the
    line breaks inside quoted fields. Falls back to ``position + 2`` (one
    header line, no blank line) if the file cannot be scanned.
    """
    wanted, found = set(positions), {}
    with contextlib.suppress(Exception):
        rows = _lines_and_rows(path, sep, score)
        next(rows)  # the header
        for position, (line, _) in enumerate(rows):
            if position in wanted:
                found[position] = line
                if len(found) == len(wanted):
                    break
    return [found.get(p, p + 2) for p in positions]


def _first_long_line(path, sep):
    """The file line of the first data row with more fields than the header.

    None if there is none, or if the file cannot be scanned.
    """
    with contextlib.suppress(Exception):
        rows = _lines_and_rows(path, sep)
        _, header = next(rows)
        for line, row in rows:
            if len(row) > len(header):
                return line
    return None


def _lines_and_rows(path, sep, score=None):
    """Each row the command reads (the header first), with its first file line.

    Counts the lines that pandas skips (blank ones), the rows that hold
    nothing (:func:`_empty_row`; ``score`` names the score column) and the
    line breaks inside quoted fields.
    """
    with _open_text(path) as text:
        reader = csv.reader(text, delimiter=sep)
        start, header, score_index = 1, None, None
        for row in reader:
            line, start = start, reader.line_num + 1
            if blank(row):
                continue
            if header is None:
                header = row
                score_index = row.index(score) if score in row else None
            elif _empty_row(row, header, score_index):
                continue
            yield line, row


def numbers(pd, column, decimal="."):
    """The column as floats: NaN where not a number, inf where too large.

    Dates and durations are no numbers, though pandas would give their ticks.
    Text is read with the ``decimal`` mark: pandas leaves a column as text,
    its decimal commas too, when one value is no number.
    """
    if column.dtype.kind in ("m", "M"):
        return np.full(len(column), np.nan)
    # Only a column pandas left as text: a parsed one has no marks to read.
    if decimal != "." and column.dtype.kind not in "biuf":
        text = column.map(lambda value: isinstance(value, str))
        if text.any():
            values = column[text]
            # Beside a decimal comma a point is a thousands separator (1.200)
            # or a mix of marks: no number, rather than one 1000 times too small.
            values = values.where(~values.str.contains(".", regex=False), "")
            column = column.where(~text, values.str.replace(decimal, "."))
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


def _unparsed(pd, column, decimal="."):
    """Where ``column`` holds a value that is there but not a number."""
    return np.isnan(numbers(pd, column, decimal)) & column.notna().to_numpy()
