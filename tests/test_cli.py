"""The ``skem`` command, exercised through its installed console script."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skem.datasets import make_ratings

pd = pytest.importorskip("pandas")


def _skem_command():
    script = Path(sys.executable).parent / "skem"
    if script.exists():
        return [str(script)]
    found = shutil.which("skem")
    if found is None:
        pytest.fail("the 'skem' console script is not installed: pip install -e .")
    return [found]


# The column options of the ratings_csv fixture's file.
COLUMNS = ("--item", "clip", "--annotator", "viewer", "--score", "mos")


def run_skem(*args, cwd=None):
    return subprocess.run(
        [*_skem_command(), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def ratings_csv(tmp_path):
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


def test_fit_writes_both_tables_and_a_summary(ratings_csv, tmp_path):
    path, bad = ratings_csv
    out = tmp_path / "out"
    result = run_skem(
        "fit",
        path,
        *COLUMNS,
        "--score-range",
        1,
        5,
        "-o",
        out,
    )
    assert result.returncode == 0, result.stderr
    assert "50 items, 8 annotators" in result.stdout
    assert "flagged as unreliable: 2 of 8 annotators" in result.stdout
    consensus = pd.read_csv(out / "consensus.csv")
    annotators = pd.read_csv(out / "annotators.csv")
    assert list(consensus.columns) == [
        "item",
        "consensus",
        "std_error",
        "ci_low",
        "ci_high",
    ]
    assert set(consensus["item"]) == {f"clip{i}" for i in range(50)}
    assert set(annotators.loc[~annotators["good"], "annotator"]) == bad
    assert sorted(p.name for p in out.iterdir()) == ["annotators.csv", "consensus.csv"]


@pytest.mark.parametrize(
    "options",
    [
        ["--hard"],
        ["--init", "random", "--n-init", "3", "--random-state", "0"],
        ["--init", "median", "--level", "0.9"],
    ],
)
def test_fit_model_options(ratings_csv, tmp_path, options):
    path, bad = ratings_csv
    result = run_skem(
        "fit",
        path,
        *COLUMNS,
        "--annotators",
        tmp_path / "a.csv",
        *options,
    )
    assert result.returncode == 0, result.stderr
    annotators = pd.read_csv(tmp_path / "a.csv")
    assert set(annotators.loc[~annotators["good"], "annotator"]) == bad


def test_table_on_stdout_moves_the_summary_to_stderr(ratings_csv):
    path, _ = ratings_csv
    result = run_skem(
        "fit",
        path,
        *COLUMNS,
        "--consensus",
        "-",
    )
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "item,consensus,std_error,ci_low,ci_high"
    assert len(result.stdout.splitlines()) == 51
    assert "flagged as unreliable" in result.stderr
    assert "\r" not in result.stderr  # no progress when stdout is not a terminal


def test_parquet_input(ratings_csv, tmp_path):
    pytest.importorskip("pyarrow")
    path, bad = ratings_csv
    parquet = tmp_path / "ratings.parquet"
    pd.read_csv(path).to_parquet(parquet)
    result = run_skem(
        "fit",
        parquet,
        *COLUMNS,
        "--annotators",
        "-",
    )
    assert result.returncode == 0, result.stderr
    assert "v0" in result.stdout


def _write(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (None, [], "no such file"),
        ("item,annotator,score\n1,1,3\n", ["--score", "mos"], "no column 'mos'"),
        ("item,annotator,score\n1,1,3\n1,2,great\n", [], "row 1 has 'great'"),
        (
            "item,annotator,score\n1,1,3\n1,1,4\n",
            [],
            "Annotator 1 rated item 1 more than once",
        ),
        ("", [], "the file is empty"),
        ("item,annotator,score\n", [], "empty"),
        (
            "item,annotator,score\n1,1,3\n2,1,9\n",
            ["--score-range", "1", "5"],
            "outside score_range",
        ),
    ],
    ids=[
        "missing file",
        "missing column",
        "non-numeric",
        "duplicate",
        "empty file",
        "header only",
        "out of range",
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(tmp_path, content, extra, message):
    path = tmp_path / "missing.csv" if content is None else _write(tmp_path, content)
    out = tmp_path / "out"
    result = run_skem("fit", path, "-o", out, *extra)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skem: error: ")
    assert message in lines[0]
    assert not out.exists()  # nothing half-written


def test_never_overwrites_its_input(ratings_csv):
    path, _ = ratings_csv
    before = path.read_bytes()
    result = run_skem(
        "fit",
        path,
        *COLUMNS,
        "--consensus",
        path,
    )
    assert result.returncode == 2
    assert "refusing to overwrite the input file" in result.stderr
    assert path.read_bytes() == before


def test_existing_output_is_replaced_whole(ratings_csv, tmp_path):
    path, _ = ratings_csv
    target = tmp_path / "consensus.csv"
    target.write_text("old content\n")
    result = run_skem(
        "fit",
        path,
        *COLUMNS,
        "--consensus",
        target,
    )
    assert result.returncode == 0
    assert target.read_text().startswith("item,consensus")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_demo_runs_on_the_bundled_data_and_finds_the_outliers():
    result = run_skem("demo")
    assert result.returncode == 0, result.stderr
    assert "79 items, 30 annotators, 2370 ratings" in result.stdout
    assert "flagged [26, 27, 28, 29], missed []" in result.stdout


def test_a_closed_pipe_ends_the_demo_quietly():
    command = " ".join(_skem_command()) + " demo | head -1"
    result = subprocess.run(command, shell=True, capture_output=True, text=True)
    assert result.stdout.startswith("Netflix public video-quality ratings")
    assert result.stderr == ""


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "skem", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("skem ")


def test_progress_shows_on_a_terminal_only_after_the_delay(monkeypatch, capsys):
    """The progress line waits a second, then rewrites itself on stderr."""
    from skem import _cli

    clock = iter([0.5, 2.0])
    monkeypatch.setattr(_cli.time, "perf_counter", lambda: next(clock))
    progress = _cli._Progress(enabled=True, start=0.0)
    progress.write("[AnnotatorEM] init 1, iteration 1: objective -10.0\n")
    assert capsys.readouterr().err == ""
    progress.write("[AnnotatorEM] init 1, iteration 7: objective -3.0\n")
    shown = capsys.readouterr().err
    assert shown.startswith("\r[AnnotatorEM] init 1, iteration 7: objective -3.0")
    progress.flush()
    assert capsys.readouterr().err.strip() == ""  # the line is cleared
    quiet = _cli._Progress(enabled=False, start=0.0)
    quiet.write("iteration 9\n")
    assert capsys.readouterr().err == ""
