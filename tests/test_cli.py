"""The ``skem`` command, exercised through its installed console script."""

import argparse
import gzip
import io
import lzma
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
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
        ("item,annotator,score\n1,1,3\n1,2,great\n", [], "line 3 has 'great'"),
        (
            "item,annotator,score\n1,1,3\n1,1,4\n",
            [],
            "annotator 1 rated item 1 more than once, on line 2 and line 3",
        ),
        ("", [], "the file is empty"),
        ("item,annotator,score\n", [], "empty"),
        (
            "item,annotator,score\n1,1,3\n2,1,9\n",
            ["--score-range", "1", "5"],
            "1 rating outside --score-range 1 5",
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


# --- The command run in-process, through skem._cli.main ----------------------


def run_main(capsys, *args):
    """Run ``skem ARGS`` in this process; return (status, stdout, stderr)."""
    from skem._cli import main

    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, err, *fragments, exit_status=2):
    """One line on stderr, 'skem: error: ...', holding every fragment."""
    assert status == exit_status, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("skem: error: "), err
    for fragment in fragments:
        assert fragment in lines[0]
    for repr_sign in ("np.", "Traceback", "[5.0", "float64"):
        assert repr_sign not in lines[0]
    return lines[0]


def _consensus_of(capsys, path, *options):
    status, out, err = run_main(
        capsys,
        "fit",
        path,
        *COLUMNS,
        "--score-range",
        1,
        5,
        "--consensus",
        "-",
        *options,
    )
    assert status == 0, err
    return pd.read_csv(io.StringIO(out))


@pytest.mark.parametrize(
    "sep, decimal", [("\t", "."), (";", ","), (";", "."), ("|", ".")]
)
def test_the_separator_and_a_decimal_comma_are_inferred(
    ratings_csv, tmp_path, capsys, sep, decimal
):
    path, _ = ratings_csv
    expected = _consensus_of(capsys, path)
    other = tmp_path / "other.txt"
    pd.read_csv(path).to_csv(other, sep=sep, decimal=decimal, index=False)
    if decimal == ",":
        assert "," in other.read_text().splitlines()[1]  # a decimal comma indeed
    got = _consensus_of(capsys, other)
    pd.testing.assert_frame_equal(got, expected)


def test_sep_and_decimal_options_override_the_inference(ratings_csv, tmp_path, capsys):
    path, _ = ratings_csv
    expected = _consensus_of(capsys, path)
    # Decimal commas in a tab-separated file are not inferred: --decimal says so.
    tsv = tmp_path / "ratings.tsv"
    pd.read_csv(path).to_csv(tsv, sep="\t", decimal=",", index=False)
    status, _, err = run_main(capsys, "fit", tsv, *COLUMNS)
    assert_one_line_error(status, err, "not a finite number", "add --decimal ,")
    got = _consensus_of(capsys, tsv, "--decimal", ",", "--sep", "\\t")
    pd.testing.assert_frame_equal(got, expected)
    # A wrong --sep wins over the inference, and the message says what to do.
    status, _, err = run_main(capsys, "fit", tsv, *COLUMNS, "--sep", ";")
    assert_one_line_error(status, err, "no column 'clip'", "--sep")
    status, _, err = run_main(capsys, "fit", tsv, "--sep", "ab")
    assert_one_line_error(status, err, "--sep", "one character")


def test_missing_columns_are_listed_with_the_options_to_name_them(ratings_csv, capsys):
    path, _ = ratings_csv
    status, _, err = run_main(capsys, "fit", path)
    assert_one_line_error(
        status,
        err,
        "no column 'item', 'annotator', 'score'",
        "its columns are 'clip', 'viewer', 'mos'",
        "--item, --annotator and --score",
    )


def _emotion_ratings(tmp_path):
    """Ratings on a 0..100 scale; two are -50, the first on file line 6."""
    rows = ["item,annotator,score"]
    for item in ["joy", "anger", "fear"]:
        for annotator, score in [("ann", 70), ("bob", 65), ("cat", 80)]:
            rows.append(f"{item},{annotator},{score}")
    rows[5] = "anger,bob,-50"
    rows[9] = "fear,cat,-50"
    path = tmp_path / "emotion_ratings.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_out_of_range_ratings_are_named_by_label_and_line(tmp_path, capsys):
    path = _emotion_ratings(tmp_path)
    status, _, err = run_main(capsys, "fit", path, "--score-range", 0, 100)
    line = assert_one_line_error(
        status,
        err,
        "2 ratings outside --score-range 0 100",
        "the first is -50, on line 6 (item anger, annotator bob)",
    )
    assert "item 0" not in line and "annotator 1," not in line


def test_parquet_rows_are_counted_from_one(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    parquet = tmp_path / "emotion.parquet"
    pd.read_csv(_emotion_ratings(tmp_path)).to_parquet(parquet)
    status, _, err = run_main(capsys, "fit", parquet, "--score-range", 0, 100)
    assert_one_line_error(status, err, "the first is -50, on row 5 (item anger")


@pytest.mark.parametrize(
    "content, message",
    [
        # A blank line is skipped by the reader but still counts as a line.
        (
            "item,annotator,score\n1,a,3\n\n1,b,oops\n",
            "line 4 has 'oops' in column 'score', not a finite number "
            "(item 1, annotator b); 1 such row in all",
        ),
        (
            'item,annotator,score\n"two\nlines",a,3\n2,b,x\n2,c,y\n',
            "line 4 has 'x' in column 'score'",
        ),
        ("item,annotator,score\n1,a,3\n,b,4\n", "line 3 has no item label"),
        ("item,annotator,score\n1,a,3\n1,,4\n", "line 3 has no annotator label"),
        (
            "item,annotator,score\n1,a,3\n1,b,\n",
            "line 3 has no score in column 'score' (item 1, annotator b)",
        ),
        ("item,annotator,score\n1,a,3\n1,b,inf\n", "line 3 has 'inf'"),
        (
            "item,annotator,score\n1,a,3\n1,b,4\n1,a,5\n",
            "annotator a rated item 1 more than once, on line 2 and line 4; "
            "1 repeated rating in all",
        ),
    ],
    ids=[
        "after a blank line",
        "after a quoted line break",
        "no item",
        "no annotator",
        "no score",
        "infinite",
        "duplicate",
    ],
)
def test_bad_rows_are_named_by_their_file_line(tmp_path, capsys, content, message):
    path = tmp_path / "ratings.csv"
    path.write_text(content)
    status, _, err = run_main(capsys, "fit", path)
    assert_one_line_error(status, err, message)


RANGE = "--score-range needs two finite numbers LOW < HIGH; got "


@pytest.mark.parametrize(
    "options, message",
    [
        (["--score-range", "5", "1"], RANGE + "5 1"),
        (["--score-range", "3", "3"], RANGE + "3 3"),
        (["--score-range", "nan", "5"], RANGE + "nan 5"),
        (["--score-range", "1", "inf"], RANGE + "1 inf"),
        (["--level", "1.5"], "--level must lie strictly between 0 and 1; got 1.5"),
        (["--random-state", "-1"], "--random-state must lie in 0..4294967295"),
        (["--init", "random", "--n-init", "0"], "--n-init must be at least 1"),
        (["--item", "mos", "--annotator", "mos"], "three different columns"),
        (["--consensus", ""], "--consensus needs a file name"),
        (["-o", "INPUT"], "is a file, not a folder"),
    ],
)
def test_bad_option_values_are_one_clear_line(ratings_csv, capsys, options, message):
    path, _ = ratings_csv
    options = [path if option == "INPUT" else option for option in options]
    status, _, err = run_main(capsys, "fit", path, *COLUMNS, *options)
    assert_one_line_error(status, err, message)


def _gzip_cut(data):
    return gzip.compress(data)[:-12]


def _xz_cut(data):
    return lzma.compress(data)[:-20]


def _zip_cut(data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ratings.csv", data)
    return buffer.getvalue()[:30]


def _tar_gz_cut(data):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("ratings.csv")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()[:40]


_GOOD_CSV = b"item,annotator,score\n1,a,3\n1,b,4\n2,a,2\n2,b,1\n"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("r.csv.gz", _gzip_cut(_GOOD_CSV), "cannot read it"),
        ("r.csv.xz", _xz_cut(_GOOD_CSV), "cannot read it"),
        ("r.csv.zip", _zip_cut(_GOOD_CSV), "cannot read it"),
        ("r.tar.gz", _tar_gz_cut(_GOOD_CSV), "cannot read it"),
        ("r.csv.zst", b"not zstandard data", "r.csv.zst"),
        ("r.csv", bytes(range(256)) * 8, "not UTF-8 text"),
        ("r.csv", b"item,annotator,score\n1,a,3\n1,b,4,5\n", "cannot read it"),
        (
            "r.csv",
            b"item,annotator,score\n1,a,3,9\n1,b,4\n",
            "line 2 has more fields than the header line",
        ),
        ("r.csv", b"", "the file is empty"),
        ("r.csv", b"\n\n\n", "the file is empty"),
        ("r.csv", b"item,annotator,score\n\n\n", "the ratings table is empty"),
        (
            "r.csv",
            b"item,annotator,score\n1,a,3\n1,b,1" + b"0" * 400 + b"\n",
            "line 3 has '1000",
        ),
        ("r.parquet", b"PAR1 and then no Parquet at all", "cannot read it"),
    ],
    ids=[
        "truncated gz",
        "truncated xz",
        "truncated zip",
        "truncated tar.gz",
        "zst",
        "binary",
        "ragged",
        "ragged first row",
        "empty",
        "blank lines",
        "header and blank lines",
        "overflow to inf",
        "not parquet",
    ],
)
def test_unreadable_files_are_one_line_and_exit_2(
    tmp_path, capsys, name, content, message
):
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out"
    status, stdout, err = run_main(capsys, "fit", path, "-o", out)
    line = assert_one_line_error(status, err, message)
    assert name in line
    assert stdout == "" and not out.exists()


def test_a_compressed_csv_is_read(tmp_path, capsys):
    path = tmp_path / "ratings.csv.gz"
    path.write_bytes(gzip.compress(_GOOD_CSV.replace(b",", b";")))
    status, out, err = run_main(capsys, "fit", path, "--consensus", "-")
    assert status == 0, err
    assert out.splitlines()[0] == "item,consensus,std_error,ci_low,ci_high"


def test_parquet_labels_that_are_lists_are_refused(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    path = tmp_path / "lists.parquet"
    frame = pd.DataFrame(
        {"item": [[1, 2], [3]], "annotator": ["a", "b"], "score": [1.0, 2.0]}
    )
    frame.to_parquet(path)
    status, _, err = run_main(capsys, "fit", path)
    assert_one_line_error(
        status, err, "row 1 holds a list in column 'item', not an item label"
    )


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_new_output_files_get_the_mode_open_would_give(
    ratings_csv, tmp_path, capsys, umask, mode
):
    path, _ = ratings_csv
    previous = os.umask(umask)
    try:
        status, _, err = run_main(capsys, "fit", path, *COLUMNS, "-o", tmp_path / "o")
    finally:
        os.umask(previous)
    assert status == 0, err
    for name in ("consensus.csv", "annotators.csv"):
        assert stat.S_IMODE((tmp_path / "o" / name).stat().st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o600, 0o664])
def test_replaced_output_files_keep_their_mode(ratings_csv, tmp_path, capsys, mode):
    path, _ = ratings_csv
    target = tmp_path / "consensus.csv"
    target.write_text("old\n")
    target.chmod(mode)
    previous = os.umask(0o077 if mode != 0o600 else 0o022)
    try:
        status, _, err = run_main(capsys, "fit", path, *COLUMNS, "--consensus", target)
    finally:
        os.umask(previous)
    assert status == 0, err
    assert target.read_text().startswith("item,consensus")
    assert stat.S_IMODE(target.stat().st_mode) == mode


class _ClosedPipe(io.StringIO):
    """A stdout whose reader went away (skem fit ... | head -1)."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_files_are_written_before_stdout_whatever_happens_to_it(
    ratings_csv, tmp_path, capsys, monkeypatch
):
    path, _ = ratings_csv
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    target = tmp_path / "out" / "a.csv"
    status, _, err = run_main(
        capsys, "fit", path, *COLUMNS, "--consensus", "-", "--annotators", target
    )
    assert status == 1
    assert "Traceback" not in err and "error" not in err
    assert len(pd.read_csv(target)) == 8


def test_a_closed_pipe_keeps_the_file_outputs(ratings_csv, tmp_path):
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
            *_skem_command(),
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


@pytest.mark.parametrize(
    "command, options",
    [
        ("fit", ["--n-init", "3"]),
        ("fit", ["--init", "all_good", "--n-init", "1"]),
        ("demo", ["--n-init", "2"]),
    ],
)
def test_n_init_without_init_random_is_refused(ratings_csv, capsys, command, options):
    path, _ = ratings_csv
    inputs = [path, *COLUMNS] if command == "fit" else []
    status, out, err = run_main(capsys, command, *inputs, *options)
    assert_one_line_error(status, err, "--n-init only applies to --init random")
    assert out == ""


def test_every_option_states_its_default():
    from skem._cli import _build_parser

    parser = _build_parser()
    commands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    for name, command in commands.choices.items():
        shown = " ".join(command.format_help().split())  # %(default)s expands
        for action in command._actions:
            if action.option_strings and action.dest != "help":
                assert "(default" in action.help, (name, action.option_strings)
        if name == "fit":
            for text in ["item column (default: item)", "(default: auto)"]:
                assert text in shown
        else:
            assert "range of the rating scale (default: 1 5)" in shown


def test_model_form_options_reach_the_estimator(ratings_csv, tmp_path, monkeypatch):
    import skem._cli as cli

    seen = {}
    original = cli.AnnotatorEM.fit

    def spy(self, X, *args, **kwargs):
        seen.update(self.get_params())
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(cli.AnnotatorEM, "fit", spy)
    status = cli.main(
        [
            "fit",
            str(ratings_csv[0]),
            "--no-bounded",
            "--noise",
            "shared",
            "--noise-prior",
            "50",
            "--bias",
            *COLUMNS,
            "-q",
            "-o",
            str(tmp_path / "out"),
        ]
    )
    assert status == 0
    assert seen["bounded"] is False and seen["noise"] == "shared"
    assert seen["noise_prior"] == 50.0 and seen["bias"] is True


def test_bad_noise_prior_is_one_line(ratings_csv, capsys):
    from skem._cli import main

    assert main(["fit", str(ratings_csv[0]), "--noise-prior", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--noise-prior must be a positive number" in err[0]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["fit"],
        ["nonsense"],
        ["fit", "r.csv", "--init", "nope"],
        ["fit", "r.csv", "--score-range", "1"],
        ["fit", "r.csv", "--n-init", "many"],
    ],
)
def test_usage_errors_are_one_line_too(capsys, args):
    status, _, err = run_main(capsys, *args)
    assert_one_line_error(status, err, "--help")


def test_an_unexpected_error_is_one_line_and_exit_1(ratings_csv, capsys, monkeypatch):
    from skem import _cli

    class Broken(_cli.AnnotatorEM):
        def fit(self, X, y=None):
            raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(_cli, "AnnotatorEM", Broken)
    path, _ = ratings_csv
    status, _, err = run_main(capsys, "fit", path, *COLUMNS)
    line = assert_one_line_error(status, err, exit_status=1)
    assert line == "skem: error: unexpected RuntimeError: boom second line"
