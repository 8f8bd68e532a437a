"""Exit statuses of the ``skem`` command, and outputs that a stop leaves whole."""

import errno
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import COLUMNS, assert_one_line_error

pd = pytest.importorskip("pandas")


def _stop_after_staging(monkeypatch, action):
    """Run ``action`` right after the command stages its first table."""
    import skem._cli.local as local

    real = local.stage_csv

    def stage_then_stop(stage, table, path):
        real(stage, table, path)
        action()

    monkeypatch.setattr(local, "stage_csv", stage_then_stop)


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_a_stopping_signal_leaves_no_staged_file_and_restores_the_handler(
    ratings_csv, run_main, tmp_path, monkeypatch, signum, status
):
    """A helper's finding: SIGTERM (kill, timeout, a scheduler) and SIGHUP
    ended the command without its clean-up, leaving a half-written
    ``.consensus.csv.*.tmp`` beside the outputs. They now stop it as Ctrl-C
    does: one line, the signal's status, nothing left; and the caller's
    handlers are back afterwards."""
    path, _ = ratings_csv
    out = tmp_path / "out"
    before = signal.getsignal(signum)
    _stop_after_staging(monkeypatch, lambda: os.kill(os.getpid(), signum))
    status_, _, err = run_main("fit", path, *COLUMNS, "-o", out)
    name = signal.Signals(signum).name
    assert_one_line_error(status_, err, f"stopped by {name}", exit_status=status)
    assert not out.exists() or list(out.iterdir()) == []
    assert signal.getsignal(signum) is before


def test_ctrl_c_leaves_no_staged_file(ratings_csv, run_main, tmp_path, monkeypatch):
    path, _ = ratings_csv
    out = tmp_path / "out"

    def interrupt():
        raise KeyboardInterrupt

    _stop_after_staging(monkeypatch, interrupt)
    status, _, err = run_main("fit", path, *COLUMNS, "-o", out)
    assert_one_line_error(status, err, "interrupted", exit_status=130)
    assert not out.exists() or list(out.iterdir()) == []


def test_an_output_folder_that_cannot_be_written_is_refused_before_the_fit(
    ratings_csv, run_main, tmp_path, monkeypatch
):
    """A helper's finding: a read-only output folder was found only when
    the tables were written, after the whole fit (13 s on 2 million
    ratings); a read-only file was replaced without a word."""
    import skem._cli.local as local
    import skem._cli.writing as writing

    path, _ = ratings_csv
    read_only = tmp_path / "read_only"
    read_only.mkdir()

    def no_fit(*args, **kwargs):
        raise AssertionError("the fit ran")

    monkeypatch.setattr(local, "fit_with_progress", no_fit)
    real_access = os.access
    monkeypatch.setattr(
        writing.os,
        "access",
        lambda p, mode: (
            False if read_only in (Path(p), *Path(p).parents) else real_access(p, mode)
        ),
    )
    status, _, err = run_main("fit", path, *COLUMNS, "--consensus", read_only / "c.csv")
    assert_one_line_error(status, err, "c.csv: cannot write it:", "is not writable")
    status, _, err = run_main("fit", path, *COLUMNS, "-o", read_only / "new" / "folder")
    assert_one_line_error(status, err, "is not writable")
    target = tmp_path / "kept.csv"
    target.write_text("mine\n")
    monkeypatch.setattr(
        writing.os,
        "access",
        lambda p, mode: False if Path(p) == target else real_access(p, mode),
    )
    status, _, err = run_main("fit", path, *COLUMNS, "--consensus", target)
    assert_one_line_error(
        status, err, "kept.csv: cannot write it: the file is read-only"
    )
    assert target.read_text() == "mine\n"


def test_an_output_file_named_as_a_folder_is_refused(ratings_csv, run_main, tmp_path):
    """A helper's finding: ``--consensus newd/`` wrote a file named newd."""
    path, _ = ratings_csv
    status, _, err = run_main(
        "fit", path, *COLUMNS, "--consensus", f"{tmp_path / 'newd'}/"
    )
    assert_one_line_error(status, err, "names a folder; give it a file name")
    assert not (tmp_path / "newd").exists()


@pytest.mark.slow  # two runs of the command in a new process
def test_tables_are_utf_8_whatever_the_locale_and_gzip_bytes_repeat(tmp_path):
    """A helper's finding: the tables were written in the locale's encoding
    (an ASCII locale stopped the command on the label 'rater_é'; cp1252
    would write a file skem refuses to read back); a .csv.gz table held the
    time it was written, so two runs differed."""
    frame = pd.DataFrame(
        {
            "item": [f"q{i}" for i in range(12) for _ in range(4)],
            "annotator": ["rater_é", "b", "c", "d"] * 12,
            "score": [(i % 5) + 1 for i in range(12) for _ in range(4)],
        }
    )
    frame.loc[frame["annotator"] == "d", "score"] = 3
    ratings = tmp_path / "ratings.csv"
    frame.to_csv(ratings, index=False, encoding="utf-8")
    env = dict(
        os.environ,
        LC_ALL="C",
        LANG="C",
        PYTHONUTF8="0",
        PYTHONCOERCECLOCALE="0",
        PYTHONIOENCODING="utf-8",
    )
    outputs = []
    for run in range(2):
        annotators = tmp_path / f"a{run}.csv"
        consensus = tmp_path / f"c{run}.csv.gz"
        result = subprocess.run(
            [sys.executable, "-m", "skem", "fit", ratings, "--annotators", annotators]
            + ["--consensus", consensus, "-q"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "rater_é" in annotators.read_text(encoding="utf-8")
        outputs.append(consensus.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.mark.slow  # the command in a new process
def test_a_closed_stderr_sends_nothing_into_a_table_on_stdout(ratings_csv):
    """A helper's finding: with stderr closed (``2>&-``) Python's
    ``sys.stderr`` is None, and ``print(file=None)`` writes to stdout: the
    summary meant for stderr ran into the table on stdout, and the progress
    line's check of the terminal stopped the fit."""
    path, _ = ratings_csv
    result = subprocess.run(
        [sys.executable, "-m", "skem", "fit", path, *COLUMNS, "--consensus", "-"],
        capture_output=False,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(2),
        timeout=120,
    )
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("clip,consensus,")
    assert len(lines) == 51 and all(line.startswith("clip") for line in lines)


def test_the_floor_warning_names_the_option_that_reads_levels(tmp_path, run_main):
    """A helper's finding: on ratings all equal, with --levels given, the
    warning advised "--levels, the default"; the ratings do not show the
    scale's step there, and --score-range with the outer levels does."""
    frame = pd.DataFrame(
        {
            "item": [f"q{i}" for i in range(6) for _ in range(3)],
            "annotator": ["a", "b", "c"] * 6,
            "score": 3.0,
        }
    )
    path = tmp_path / "same.csv"
    frame.to_csv(path, index=False)
    status, out, err = run_main("fit", path, "--levels")
    assert status == 0, err
    assert "--score-range LOW HIGH naming the outer levels" in out
    status, out, err = run_main("fit", path, "--score-range", "1", "5")
    assert status == 0 and "5 levels" in out, err
    assert "as the probability of the levels does" in out
    assert "--score-range LOW HIGH" not in out


class _FullDisk(io.StringIO):
    """A stdout on a full disk (``skem fit ... > /dev/full``)."""

    def write(self, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_on_stdout_is_one_plain_line_not_a_bug_report(
    ratings_csv, run_main, monkeypatch
):
    """A helper's finding: a table sent to a full stdout ended with
    "unexpected OSError: [Errno 28] ...", the wording of a bug. It is the
    system's reason now, with status 1."""
    path, _ = ratings_csv
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    status, _, err = run_main("fit", path, *COLUMNS, "--consensus", "-")
    line = assert_one_line_error(
        status, err.splitlines()[-1], "cannot write to stdout", exit_status=1
    )
    assert "No space left on device" in line and "unexpected" not in line
