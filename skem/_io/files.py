"""Writing a file whole or not at all, for the report and the command.

Standard library only, so the command can import it without loading the
scientific stack.
"""

import contextlib
import os
import tempfile
from pathlib import Path


def _write_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder.

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
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Cannot write the report {str(path)!r}: the folder {str(folder)!r} "
            "does not exist."
        )
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp creates the file readable by its owner only.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


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
