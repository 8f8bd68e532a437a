"""Fixtures of the ``skem`` command's tests: a ratings file and the command."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skem.datasets import make_ratings

# The columns of the ``ratings_csv`` fixture, named for the command.
COLUMNS = ("--item", "clip", "--annotator", "viewer", "--score", "mos")

# Signs of a Python repr or a traceback, which a message must never show.
REPR_SIGNS = ("np.", "Traceback", "[5.0", "float64")


@pytest.fixture
def ratings_csv(tmp_path):
    """50 clips rated 1..5 by 8 viewers (columns clip, viewer, mos), 2 of them
    at random; returns the path and the labels of the random viewers."""
    pd = pytest.importorskip("pandas")
    X, _, good = make_ratings(
        50,
        8,
        bad_fraction=0.25,
        missing_fraction=0.3,
        score_range=(1, 5),
        return_truth=True,
        random_state=0,
    )
    rows, cols = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {
            "clip": [f"clip{i}" for i in rows],
            "viewer": [f"v{a}" for a in cols],
            "mos": X[rows, cols],
        }
    )
    path = tmp_path / "ratings.csv"
    frame.to_csv(path, index=False)
    return path, {f"v{a}" for a in np.flatnonzero(~good)}


@pytest.fixture
def run_main(capsys):
    """Run ``skem ARGS`` in this process; returns (status, stdout, stderr)."""
    from skem._cli import main

    def run(*args):
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def assert_one_line_error(status, err, *fragments, exit_status=2):
    """One line on stderr, 'skem: error: ...', holding every fragment."""
    assert status == exit_status, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("skem: error: "), err
    for fragment in fragments:
        assert fragment in lines[0]
    for sign in REPR_SIGNS:
        assert sign not in lines[0]
    return lines[0]


@pytest.fixture
def one_line_error():
    """:func:`assert_one_line_error`, for the test modules."""
    return assert_one_line_error


def skem_command():
    """The installed ``skem`` console script, as a command list."""
    script = Path(sys.executable).parent / "skem"
    if script.exists():
        return [str(script)]
    found = shutil.which("skem")
    if found is None:
        pytest.fail("the 'skem' console script is not installed: pip install -e .")
    return [found]


@pytest.fixture
def skem_script():
    """The console script ``skem`` as a command list."""
    return skem_command()


@pytest.fixture
def run_skem():
    """Run the console script ``skem ARGS`` in a subprocess."""

    def run(*args, cwd=None, timeout=180):
        return subprocess.run(
            [*skem_command(), *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
        )

    return run


@pytest.fixture
def binary_labels():
    """Ratings whose binary annotator labels are not UTF-8 (Latin-1 'café',
    'cafè'), and the same with labels that are."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "item": [b"clip\xc3\xa9", b"two"] * 2,
            "annotator": [b"caf\xe9"] * 2 + [b"caf\xe8"] * 2,
            "score": [1.0, 2.0, 3.0, 4.0],
        }
    )
    utf8 = frame.assign(annotator=[b"ann\xc3\xa9"] * 2 + [b"b"] * 2)
    return frame, utf8
