"""The console script and ``python -m skem``, run as the user runs them.

Every test here starts a subprocess (one for many checks where it can): they
are slow.
"""

import json
import subprocess
import sys
import textwrap

import pytest

from tests.cli.conftest import COLUMNS

pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.slow

HEAVY = ("sklearn", "scipy", "pandas", "dask", "distributed", "numpy")

# Runs `skem --version` and `skem --help` in this interpreter, as the console
# script would, and reports what each imported and how long it took.
_STARTUP_PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys, time
    argv = sys.argv[1:]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        from skem._cli import main
        status = main(argv)
    elapsed = time.perf_counter() - start
    heavy = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
    print(json.dumps({"status": int(status), "out": out.getvalue(),
                      "heavy": heavy, "seconds": elapsed}))
    """
).replace("HEAVY", repr(HEAVY))


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["fit", "--help"]])
def test_version_and_help_import_nothing_heavy_and_answer_fast(argv):
    """``skem --version`` and ``--help`` load none of scikit-learn, SciPy,
    pandas, Dask or NumPy, and answer in well under 0.3 s."""
    result = subprocess.run(
        [sys.executable, "-c", _STARTUP_PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == 0 and report["out"].startswith(("skem ", "usage:"))
    assert report["heavy"] == []
    assert report["seconds"] < 0.3


def test_a_table_to_dev_stdout_is_not_written_over(ratings_csv, tmp_path, skem_script):
    """A new user's finding: with stdout redirected to a file, --annotators
    /dev/stdout wrote the table at the start of the file and the summary
    then wrote over it. Such a path is now stdout itself, as '-' is: the
    table alone there, the summary on stderr; a report is refused."""
    path, bad = ratings_csv
    fit = [*skem_script, "fit", str(path), *COLUMNS]

    def run(options, stdout_path):
        with stdout_path.open("w") as stdout:
            return subprocess.run(
                [*fit, *options],
                stdout=stdout,
                stderr=subprocess.PIPE,
                text=True,
                timeout=180,
            )

    captured = tmp_path / "captured.txt"
    result = run(["--annotators", "/dev/stdout"], captured)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(captured)
    assert table.columns[0] == "viewer" and len(table) == 8
    assert set(table.loc[table["verdict"] == "random", "viewer"]) == bad
    assert "2 of 8 annotators answer at random" in result.stderr
    assert "wrote" not in result.stderr
    result = run(["--report", str(captured)], captured)
    assert result.returncode == 2
    assert "--report names this command's standard output" in result.stderr
    # Reviewer's finding: a table named .gz that is stdout was plain text.
    packed = tmp_path / "captured.csv.gz"
    result = run(["--annotators", str(packed)], packed)
    assert result.returncode == 2
    assert "where the table is plain CSV, not compressed" in result.stderr
    assert packed.read_text() == ""


def test_the_console_script_and_python_dash_m(ratings_csv, tmp_path, run_skem):
    """The entry point ``skem`` fits a file, and ``python -m skem`` answers."""
    path, bad = ratings_csv
    result = run_skem("fit", path, *COLUMNS, "-o", tmp_path / "out")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "2 of 8 annotators answer at random" in result.stdout
    annotators = pd.read_csv(tmp_path / "out" / "annotators.csv")
    assert set(annotators.loc[annotators["verdict"] == "random", "viewer"]) == bad
    result = subprocess.run(
        [sys.executable, "-m", "skem", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("skem ")
    result = run_skem("fit", tmp_path / "none.csv")
    assert result.returncode == 2
    assert result.stderr.startswith("skem: error: ") and result.stderr.count("\n") == 1


def test_a_closed_pipe_ends_the_demo_quietly(skem_script):
    command = " ".join(skem_script) + " demo | head -1"
    result = subprocess.run(command, shell=True, capture_output=True, text=True)
    assert result.stdout.startswith("Netflix public video-quality ratings")
    assert result.stderr == ""


def test_a_closed_pipe_keeps_the_file_outputs(ratings_csv, tmp_path, skem_script):
    path, _ = ratings_csv
    big = tmp_path / "big.csv"
    frame = pd.read_csv(path)
    # Enough items that the consensus overflows any pipe and stdout buffer.
    pd.concat(
        [frame.assign(clip=frame["clip"] + f"_{copy}") for copy in range(60)]
    ).to_csv(big, index=False)
    target = tmp_path / "a.csv"
    process = subprocess.Popen(
        [
            *skem_script,
            "fit",
            str(big),
            *COLUMNS,
            "--consensus",
            "-",
            "--annotators",
            str(target),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # the reader is gone before skem writes
    _, err = process.communicate(timeout=120)
    assert b"Traceback" not in err
    assert len(pd.read_csv(target)) == 8


def test_a_clean_dask_run_prints_nothing_on_stderr(tmp_path, run_skem):
    """With 8787 taken, two workers and a shutdown, stderr stays empty: no
    port warning, no "Worker process still alive", no traceback; --verbose
    shows Dask's own log."""
    pytest.importorskip("distributed")
    pytest.importorskip("pyarrow")
    import socket

    from skem.datasets import load_video_quality

    frame = load_video_quality(as_frame=True).frame
    folder = tmp_path / "ratings"
    folder.mkdir()
    for k in range(2):
        frame.iloc[k::2].to_parquet(folder / f"part-{k}.parquet", index=False)
    with socket.socket() as taken:
        try:
            taken.bind(("", 8787))
            taken.listen()
        except OSError:
            pass  # taken already, which is the point
        result = run_skem("fit", folder, "--workers", 2, "-o", tmp_path / "out")
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert "4 of 30 annotators answer at random" in result.stdout
        assert (tmp_path / "out" / "annotators.csv").is_file()
        result = run_skem("fit", folder, "--workers", 1, "--verbose", "-q")
        assert result.returncode == 0, result.stderr
        assert "distributed" in result.stderr  # the log, when asked for
