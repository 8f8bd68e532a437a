"""Writing a file whole or not at all, for the report and the command.

Standard library only, so the command can import it without loading the
scientific stack.
"""

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def _write_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder.

    The target is :func:`_output_target`'s: a symlink stays a link, and a
    FIFO or a device is written in place.

    Parameters
    ----------
    path : str or path-like
        The target; its folder must exist. A new file gets the mode that
        ``open`` would give it (0o666 less the umask).
    text : str
        The whole content, written as UTF-8.

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(os.fspath(path))
    target, in_place = _output_target(path)
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Cannot write the report {str(path)!r}: the folder {str(folder)!r} "
            "does not exist."
        )
    if target.is_dir():
        raise IsADirectoryError(
            f"Cannot write the report {str(path)!r}: it is a folder. Name a "
            f"file, such as {str(path / 'report.html')!r}."
        )
    if in_place:
        with open(target, "a", encoding="utf-8") as file:
            file.write(text)
        return path
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=_temporary_prefix(target.name), suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp creates the file readable by its owner only.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def _output_target(path):
    """The file that writing ``path`` changes, and whether it is written in place.

    A temporary file renamed over the target replaces whatever the target
    is. A symlink is therefore followed to the file it names, which the
    rename then replaces, so that the link stays. A target that is neither a
    regular file nor a folder (a FIFO, or a device such as ``/dev/stdout``
    or ``/dev/null``) would itself be replaced by a regular file: it is
    written in place, appended as to a stream, and a failed run may leave
    part of the output in it. So is a path that names an open file of the
    process (``/dev/stdout``, a link into ``/proc``), even a regular one: a
    shell's redirection then gets the output after what it holds.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    target : pathlib.Path
        ``path`` with every symlink resolved; ``path`` itself if written in
        place.
    in_place : bool
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    special = mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
    if special or _names_open_file(path):
        return Path(path), True
    return Path(os.path.realpath(path)), False


def _names_open_file(path):
    """Whether ``path``'s symlinks lead through ``/proc`` (``/dev/stdout``).

    Such a path names an open file of the process, whatever that file is.
    """
    name = os.fspath(path)
    for _ in range(40):  # the system's own limit on a chain of links
        if not os.path.islink(name):
            return False
        name = os.path.join(os.path.dirname(os.path.abspath(name)), os.readlink(name))
        if os.path.abspath(name).startswith("/proc/"):
            return True
    return False


def _umask():
    """The process umask.

    Reading it means setting it: a strict one is set for the instant before
    it is restored, so nothing is created too open.

    Returns
    -------
    umask : int
    """
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


# A temporary name adds a dot, a dot, 8 random characters and ".tmp" (or
# ".old.") to the output's: cut to this, it stays within the 255 bytes a
# name may have, so that any name the system takes can be written.
_TEMPORARY_NAME_BYTES = 240


def _temporary_prefix(name):
    """The prefix of a temporary file or folder written beside output ``name``.

    Parameters
    ----------
    name : str
        The output's file name, without its folder.

    Returns
    -------
    prefix : str
        A dot, the name cut to ``_TEMPORARY_NAME_BYTES`` bytes, and a dot.
    """
    return f".{os.fsdecode(os.fsencode(name)[:_TEMPORARY_NAME_BYTES])}."
