"""Where the ``skem`` command writes, and writing whole or not at all.

Every output goes to a temporary file (or folder) beside its target, which
then replaces the target: a failed run leaves no half-written file.
"""

import bz2
import contextlib
import csv
import gzip
import io
import lzma
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from skem._cli.messages import UserInputError, describe
from skem._io.files import _output_target, _temporary_prefix, _umask


def output_paths(args, dataset=False):
    """The outputs the options ask for, checked before any file is read.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``skem fit`` or ``skem demo`` options.
    dataset : bool, default=False
        Whether the consensus is a Parquet dataset (a folder), as on Dask.

    Returns
    -------
    outputs : dict
        Maps 'consensus', 'annotators' and 'report' to a path, or to '-'
        for stdout (also for a path that is this process's standard output,
        such as ``/dev/stdout``), for those asked for.

    Raises
    ------
    UserInputError
        For an output that is the input, a folder where a file goes (or the
        other way round), two outputs on one path or two on stdout.
    """
    outputs = {}
    folder = getattr(args, "output_dir", None)
    if folder is not None:
        if folder.exists() and not folder.is_dir():
            raise UserInputError(f"{folder}: is a file, not a folder")
        outputs["consensus"] = folder / ("consensus" if dataset else "consensus.csv")
        outputs["annotators"] = folder / "annotators.csv"
    for name in ("consensus", "annotators", "report"):
        path = getattr(args, name, None)
        if path is None:
            continue
        if dataset and name == "consensus" and path in ("", "-"):
            raise UserInputError(
                "--consensus needs a folder for the Parquet dataset with "
                "--workers or --scheduler (not stdout)"
            )
        if name == "report" and str(path) in ("", "-"):
            raise UserInputError("--report needs a file name for the HTML page")
        if not path:
            raise UserInputError(f"--{name} needs a file name, or '-' for stdout")
        if str(path).endswith(("/", os.sep)) and not (dataset and name == "consensus"):
            raise UserInputError(
                f"--{name} {path}: names a folder; give it a file name "
                "(-o DIR writes the tables into a folder)"
            )
        outputs[name] = path if path == "-" else Path(path)
    for name, path in outputs.items():
        if path != "-" and name != "report" and not (dataset and name == "consensus"):
            _check_csv_name(name, path)
        if path != "-" and _is_stdout(path):
            # Written by a path, the table would start at its own offset of the
            # file, which the summary then writes over.
            if name == "report" or (dataset and name == "consensus"):
                raise UserInputError(
                    f"--{name} names this command's standard output; give it a "
                    "file name"
                )
            if path.suffix.lower() in _COMPRESSED:
                raise UserInputError(
                    f"--{name} {path} names this command's standard output, "
                    "where the table is plain CSV, not compressed as the name "
                    "says; give it another file name"
                )
            outputs[name] = "-"
    if list(outputs.values()).count("-") > 1:
        raise UserInputError("only one of --consensus and --annotators can be '-'")
    files = {name: Path(p) for name, p in outputs.items() if p != "-"}
    if len(set(map(os.path.realpath, files.values()))) != len(files):
        raise UserInputError("two of the outputs name the same file")
    ratings = Path(args.ratings) if getattr(args, "ratings", None) else None
    for name, path in files.items():
        try:
            _check_output(name, path, ratings, dataset)
        except OSError as error:  # a name too long, a folder without access
            raise cannot_write(path, error) from None
    return outputs


# The CSV tables are compressed as their names say; a name that says another
# format is refused rather than given a CSV file under it. gzip is given no
# file name to record: it would record the staged file's.
_COMPRESSED = {
    # No time stamp either: two runs on the same ratings write the same bytes.
    ".gz": lambda raw: gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0),
    ".bz2": lambda raw: bz2.BZ2File(raw, "wb"),
    ".xz": lambda raw: lzma.LZMAFile(raw, "wb"),
}
_TAR = {".tgz", ".tbz", ".tbz2", ".txz"}
_NOT_CSV = {
    ".tsv": "tab-separated text",
    ".parquet": "Parquet",
    ".pq": "Parquet",
    ".feather": "Feather",
    ".arrow": "Arrow",
    ".json": "JSON",
    ".xlsx": "Excel",
    ".xls": "Excel",
    ".zip": "a zip archive",
    ".zst": "Zstandard",
    ".html": "HTML",
    ".htm": "HTML",
}


def _check_csv_name(name, path):
    """Refuse a CSV table's file name whose extension names another format."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    tar = suffixes[-1:] == [".tar"] or path.suffix.lower() in _TAR
    written = "a tar archive" if tar else _NOT_CSV.get(path.suffix.lower())
    if written is None:
        return
    hint = ""
    if name == "consensus" and written == "Parquet":
        hint = "; with --workers or --scheduler the consensus is a Parquet dataset"
    elif written == "HTML":
        hint = "; the HTML page is --report"
    raise UserInputError(
        f"--{name} {path}: the command writes the {name} table as CSV "
        f"(comma-separated), not as {written}; name it .csv, or .csv.gz, "
        f".csv.bz2 or .csv.xz to compress it{hint}"
    )


def _is_stdout(path):
    """Whether ``path`` is this process's standard output (``/dev/stdout``,
    or the file it is redirected to)."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False


def _check_output(name, path, ratings, dataset):
    """Raise a UserInputError if ``path`` cannot take output ``name``."""
    blocking = _file_in_the_way(path)
    if blocking is not None:
        raise UserInputError(
            f"{path}: cannot write it: {blocking} is a file, not a folder"
        )
    if ratings is not None and path.exists() and path.resolve() == ratings.resolve():
        raise UserInputError(f"{path}: refusing to overwrite the input file")
    if dataset and name == "consensus":
        if path.exists() and not path.is_dir():
            raise UserInputError(f"{path}: is a file, not a folder")
    elif path.is_dir():
        raise UserInputError(f"{path}: is a folder, not a file")
    # Found now, not after the fit: the staged file goes beside the target,
    # and a write-protected file is not replaced behind its owner's back.
    folder = next(f for f in (path.parent, *path.parent.parents) if f.exists())
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserInputError(f"{path}: cannot write it: {folder} is not writable")
    if path.is_file() and not os.access(path, os.W_OK):
        raise UserInputError(f"{path}: cannot write it: the file is read-only")


def write_csv(table, stream):
    """Write ``table`` as CSV to ``stream``, every label readable back as written.

    The rows end in ``\\n``, and the CSV writer quotes a field only for a
    comma, a quote or a ``\\n``: a label with a bare carriage return, which a
    reader takes for a line break, would come back split. A table that holds
    one has every field quoted.
    """
    text = table.select_dtypes(include=["object", "string"])
    has_return = any(
        text[column].astype(str).str.contains("\r", regex=False).any()
        for column in text.columns
    )
    quoting = csv.QUOTE_ALL if has_return else csv.QUOTE_MINIMAL
    table.to_csv(stream, index=False, quoting=quoting)


class OutputStage:
    """The command's outputs, each written whole before any takes its place.

    Each output is written to a temporary file (or folder) beside its target:
    a failure while writing any of them (a full disk, a name too long for the
    system, a missing module) leaves every target as it was. Only then does
    :meth:`commit` rename them onto their targets, each rename in one step; a
    dataset folder that exists is moved aside first, and removed last. A
    FIFO or a device cannot be replaced: it is written after the renames, in
    place (see :func:`skem._io.files._output_target`).

    A new file gets the mode that open() would give it (0o666 less the
    umask); a replaced file keeps its mode; a symlink stays a link.

    A folder on an output's path that does not exist is made, and named in
    :attr:`created_folders` for the summary to say (a misspelt folder shows
    there); one made for outputs that are then not committed is removed
    again if it is empty.

    Use it as a context manager: whatever was staged but not committed is
    removed on the way out.
    """

    def __init__(self):
        self._staged = []  # (temporary, target, mode)
        self._in_place = []  # (write, path)
        self._made = []  # each folder made, parents first
        self._committed = False

    @property
    def created_folders(self):
        """The outermost folders this stage made, as written, in the order made."""
        made = [Path(os.path.abspath(folder)) for folder in self._made]
        return [
            folder
            for folder, absolute in zip(self._made, made, strict=True)
            if not any(other in absolute.parents for other in made)
        ]

    def _make_parent(self, path):
        # One at a time, outermost first: each is remembered as it is made,
        # so that a failure further in leaves none unremembered.
        for folder in reversed(path.parents):
            if not _exists(folder):
                try:
                    folder.mkdir()
                except FileExistsError:  # made meanwhile, by someone else
                    continue
                self._made.append(folder)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._discard()
        return False

    def file(self, path, write):
        """Stage ``write(file_path)``, which writes the whole of output ``path``."""
        path = Path(path)
        try:
            self._make_parent(path)
            target, in_place = _output_target(path)
            if in_place:
                self._in_place.append((write, path))
                return
            mode = _existing_mode(target)
            handle, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=_temporary_prefix(target.name), suffix=".tmp"
            )
            os.close(handle)
            self._staged.append((Path(temporary), target, mode))
            write(Path(temporary))
        except OSError as error:
            raise cannot_write(path, error) from None

    def folder(self, path, write):
        """Stage ``write(folder_path)``, which fills the folder of output ``path``."""
        try:
            self._make_parent(Path(path))
            # A symlink to the folder stays a link: its folder is replaced.
            target = Path(os.path.realpath(path))
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = Path(
                tempfile.mkdtemp(
                    dir=target.parent, prefix=_temporary_prefix(target.name)
                )
            )
            self._staged.append((temporary, target, None))
            write(temporary)
            os.chmod(temporary, 0o777 & ~_umask())
        except OSError as error:
            raise cannot_write(path, error) from None

    def commit(self):
        """Put every staged output in place, then write those written in place."""
        new_mode = 0o666 & ~_umask()
        set_aside = []
        try:
            for temporary, target, mode in self._staged:
                path = target
                if temporary.is_dir():
                    if target.exists():
                        aside = Path(
                            tempfile.mkdtemp(
                                dir=target.parent,
                                prefix=f"{_temporary_prefix(target.name)}old.",
                            )
                        )
                        set_aside.append(aside)
                        os.replace(target, aside / target.name)
                else:
                    # mkstemp made it 0o600.
                    os.chmod(temporary, new_mode if mode is None else mode)
                os.replace(temporary, target)
            self._staged = []
            for write, path in self._in_place:
                write(path)
            self._in_place = []
            self._committed = True
        except OSError as error:
            raise cannot_write(path, error) from None
        finally:
            for aside in set_aside:
                shutil.rmtree(aside, ignore_errors=True)

    def _discard(self):
        for temporary, _, _ in self._staged:
            if temporary.is_dir():
                shutil.rmtree(temporary, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
        self._staged, self._in_place = [], []
        if not self._committed:
            # Innermost first; a folder that holds anything stays.
            for folder in reversed(self._made):
                with contextlib.suppress(OSError):
                    folder.rmdir()


def stage_csv(stage, table, path):
    """Stage ``table`` as the CSV file ``path`` (see :func:`write_csv`).

    Compressed where the name ends in .gz, .bz2 or .xz.
    """
    compress = _COMPRESSED.get(Path(path).suffix.lower())

    def write(file_path):
        # Appended: a staged file is new and empty, a FIFO is a stream.
        if compress is None:
            with open(file_path, "a", newline="", encoding="utf-8") as f:
                write_csv(table, f)
            return
        with contextlib.ExitStack() as stack:
            raw = stack.enter_context(open(file_path, "ab"))
            packed = stack.enter_context(compress(raw))
            text = io.TextIOWrapper(packed, newline="", encoding="utf-8")
            write_csv(table, stack.enter_context(text))

    stage.file(path, write)


def cannot_write(path, error):
    """The one-line error for an output that could not be written.

    The system's reason, except where a file stands where a folder of the
    path must be: mkdir then says "File exists" or "Not a directory", which
    names neither the file nor the fix.

    Parameters
    ----------
    path : str or Path
        The output.
    error : OSError

    Returns
    -------
    error : UserInputError
    """
    path = Path(path)
    blocking = _file_in_the_way(path)
    if blocking is not None:
        reason = f"{blocking} is a file, not a folder"
    else:
        reason = error.strerror or describe(error)
    return UserInputError(f"{path}: cannot write it: {reason}")


def _file_in_the_way(path):
    """The first of ``path``'s folders that is a file, or None."""
    return next(
        (
            folder
            for folder in reversed(Path(path).parents)
            if _exists(folder) and not folder.is_dir()
        ),
        None,
    )


def _exists(path):
    """Whether ``path`` exists; False where the system cannot tell (a name
    too long), which the write that follows reports."""
    try:
        return path.exists()
    except OSError:
        return False


def _existing_mode(path):
    """The permission bits of ``path``, or None if it does not exist."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def stage_dataset(stage, frame, path):
    """Stage a Dask DataFrame as the Parquet dataset (a folder) ``path``.

    The partitions are written by the workers into the staged folder, which
    then takes the place of ``path`` with the other outputs: a fit that fails
    leaves no half dataset, and an existing one is replaced only by a
    complete one.

    Parameters
    ----------
    stage : OutputStage
    frame : dask.dataframe.DataFrame
    path : str or Path
        The dataset's folder.
    """
    from dask import compute, delayed

    def write(folder):
        compute(
            *(
                delayed(_write_part)(part, str(folder / f"part-{k:05d}.parquet"))
                for k, part in enumerate(frame.to_delayed())
            )
        )

    stage.folder(path, write)


def _write_part(part, path):
    """Write one partition (run on a worker); an empty one writes no file.

    An empty partition's label column has no values to type it: Parquet
    would store it as null, and readers that merge the parts' schemas
    (pandas') then refuse the dataset. A fit has rated items, so some part is
    written.
    """
    if len(part):
        part.to_parquet(path, index=False)
