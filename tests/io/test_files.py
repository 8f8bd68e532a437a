"""Writing a file whole or not at all: what a write changes."""

import os
import stat
from pathlib import Path

import pytest

from skem._io.files import _output_target, _write_atomically

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


def test_output_target_follows_symlinks_and_keeps_streams_in_place(tmp_path):
    """A rename replaces what stands at the path: the target is the file a
    symlink names (dangling or not), and a device is written in place."""
    real = tmp_path / "real.csv"
    real.write_text("old")
    (tmp_path / "link.csv").symlink_to(real)
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "new.csv")
    assert _output_target(tmp_path / "link.csv") == (real, False)
    assert _output_target(tmp_path / "dangling.csv") == (tmp_path / "new.csv", False)
    assert _output_target(tmp_path / "absent.csv") == (tmp_path / "absent.csv", False)
    assert _output_target(tmp_path) == (tmp_path, False)
    if os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode):
        assert _output_target("/dev/null")[1]
    # The process's own stdout, whatever it is (here a file or a pipe).
    if os.path.islink("/dev/stdout") and os.readlink("/dev/stdout").startswith(
        "/proc/"
    ):
        assert _output_target("/dev/stdout") == (Path("/dev/stdout"), True)


@needs_fifo
def test_writing_through_a_symlink_or_into_a_fifo_keeps_them(tmp_path):
    real = tmp_path / "real.html"
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    _write_atomically(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        _write_atomically(fifo, "streamed")
        assert os.read(reader, 100) == b"streamed"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "link.html",
        "pipe",
        "real.html",
    ]
