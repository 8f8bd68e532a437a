"""``skem fit`` and ``skem demo`` run in this process, through ``main``.

The console script and ``python -m skem`` themselves are run in
``test_console.py``.
"""

import argparse
import gzip
import io
import lzma
import os
import re
import stat
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

import skem
from skem._em.runs import _AUTO_STARTS
from tests.cli.conftest import COLUMNS, assert_one_line_error

pd = pytest.importorskip("pandas")


ITEM_SCHEMA = ["consensus", "std_error", "ci_low", "ci_high", "n_ratings"]
ANNOTATOR_SCHEMA = [
    "p_good",
    "verdict",
    "consensus_weight",
    "n_ratings",
    "sigma",
    "bias",
    "log_posterior",
]


def test_fit_writes_both_tables_and_a_summary(ratings_csv, tmp_path, run_main):
    """The tables keep the user's column names and the one schema; the
    summary names the random annotators by label, in plain words."""
    path, bad = ratings_csv
    out = tmp_path / "out"
    status, stdout, err = run_main(
        "fit", path, *COLUMNS, "--score-range", 1, 5, "-o", out
    )
    assert status == 0 and err == "", err
    assert "fitted 50 items rated by 8 annotators" in stdout
    random = ", ".join(sorted(bad))
    assert f"2 of 8 annotators answer at random: {random};" in stdout
    assert "Inconsistency (sigma, the spread of good ratings that the model" in stdout
    assert stdout.strip().splitlines()[-1].startswith("next: ")
    assert "weight" not in stdout and "e-" not in stdout
    consensus = pd.read_csv(out / "consensus.csv")
    annotators = pd.read_csv(out / "annotators.csv")
    assert list(consensus.columns) == ["clip", *ITEM_SCHEMA, "location"]
    assert list(annotators.columns) == ["viewer", *ANNOTATOR_SCHEMA]
    assert set(consensus["clip"]) == {f"clip{i}" for i in range(50)}
    assert set(annotators.loc[annotators["verdict"] == "random", "viewer"]) == bad
    assert consensus["n_ratings"].sum() == annotators["n_ratings"].sum()
    assert sorted(p.name for p in out.iterdir()) == ["annotators.csv", "consensus.csv"]


@pytest.mark.parametrize(
    "options",
    [
        ["--hard"],
        ["--init", "random", "--n-init", "3", "--random-state", "0"],
        ["--init", "median", "--level", "0.9"],
        ["--no-bounded", "--bias"],
    ],
)
def test_fit_model_options(ratings_csv, tmp_path, options, run_main):
    path, bad = ratings_csv
    status, _, err = run_main(
        "fit", path, *COLUMNS, "--annotators", tmp_path / "a.csv", *options
    )
    assert status == 0, err
    annotators = pd.read_csv(tmp_path / "a.csv")
    assert list(annotators.columns) == ["viewer", *ANNOTATOR_SCHEMA]
    assert set(annotators.loc[annotators["verdict"] == "random", "viewer"]) == bad


def test_location_is_a_column_of_the_bounded_forms_only(ratings_csv, run_main):
    path, _ = ratings_csv
    for options, extra in [([], ["location"]), (["--no-bounded"], [])]:
        status, out, err = run_main("fit", path, *COLUMNS, "--consensus", "-", *options)
        assert status == 0, err
        assert out.splitlines()[0] == ",".join(["clip", *ITEM_SCHEMA, *extra])


def test_table_on_stdout_moves_the_summary_to_stderr(ratings_csv, run_main):
    path, _ = ratings_csv
    status, out, err = run_main("fit", path, *COLUMNS, "--consensus", "-")
    assert status == 0
    assert out.splitlines()[0].startswith("clip,consensus,std_error,ci_low,ci_high")
    assert len(out.splitlines()) == 51
    assert "annotators answer at random" in err
    assert "\r" not in err  # no progress when stderr is not a terminal


def test_parquet_input(ratings_csv, tmp_path, run_main):
    pytest.importorskip("pyarrow")
    path, _ = ratings_csv
    parquet = tmp_path / "ratings.parquet"
    pd.read_csv(path).to_parquet(parquet)
    status, out, err = run_main("fit", parquet, *COLUMNS, "--annotators", "-")
    assert status == 0, err
    assert out.splitlines()[-8].startswith("v0,")


def _write(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (None, [], "no such file"),
        ("item,annotator,score\n1,1,3\n", ["--score", "mos"], "no column 'mos'"),
        (
            "item, annotator, score\n1,1,3\n",
            [],
            "its columns are 'item', ' annotator', ' score'. Name the item, "
            "annotator and score columns with --item, --annotator and --score; "
            "the column ' annotator' has spaces around its name: remove them",
        ),
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
        (
            "item,annotator,score\n1,1,3\n2,1,4\n",
            [],
            "Cannot judge annotators: only one annotator has ratings",
        ),
        (
            "item,annotator,score\n1,1,3\n2,2,4\n",
            [],
            "Cannot judge annotators: no item has two ratings",
        ),
    ],
    ids=[
        "missing file",
        "missing column",
        "spaces in the header",
        "non-numeric",
        "duplicate",
        "empty file",
        "header only",
        "out of range",
        "one annotator",
        "no item rated twice",
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    tmp_path, content, extra, message, run_main, one_line_error
):
    path = tmp_path / "missing.csv" if content is None else _write(tmp_path, content)
    out = tmp_path / "out"
    status, _, err = run_main("fit", path, "-o", out, *extra)
    one_line_error(status, err, message)
    assert not out.exists()  # nothing half-written
    assert "feature" not in err  # the estimators' word for a column of X


def test_the_report_has_the_intervals_of_level(ratings_csv, tmp_path, run_main):
    """--level sets the report's intervals as it sets the table's."""
    pytest.importorskip("matplotlib")
    path, _ = ratings_csv
    out = tmp_path / "out"
    page = tmp_path / "page.html"
    status, _, err = run_main(
        "fit", path, *COLUMNS, "-o", out, "--level", "0.8", "--report", page
    )
    assert status == 0, err
    consensus = pd.read_csv(out / "consensus.csv")
    text = page.read_text(encoding="utf-8")
    assert "80% interval</th>" in text and "95%" not in text
    row = consensus.iloc[0]
    assert f"{row['ci_low']:.3f} to {row['ci_high']:.3f}" in text


def test_report_to_stdout_is_refused(
    ratings_csv, tmp_path, monkeypatch, run_main, one_line_error
):
    """``--report -`` wrote an HTML file named "-"."""
    path, _ = ratings_csv
    monkeypatch.chdir(tmp_path)
    status, _, err = run_main("fit", path, *COLUMNS, "--report", "-")
    one_line_error(status, err, "--report needs a file name")
    assert not os.path.exists("-")


def test_never_overwrites_its_input(ratings_csv, run_main, one_line_error):
    path, _ = ratings_csv
    before = path.read_bytes()
    for option in ("--consensus", "--annotators", "--report"):
        status, _, err = run_main("fit", path, *COLUMNS, option, path)
        one_line_error(status, err, "refusing to overwrite the input file")
    assert path.read_bytes() == before


def test_existing_output_is_replaced_whole(ratings_csv, tmp_path, run_main):
    path, _ = ratings_csv
    target = tmp_path / "consensus.csv"
    target.write_text("old content\n")
    status, _, _ = run_main("fit", path, *COLUMNS, "--consensus", target)
    assert status == 0
    assert target.read_text().startswith("clip,consensus")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_a_table_named_compressed_is_compressed(
    ratings_csv, tmp_path, run_main, suffix
):
    """Practitioner's finding: 'a.csv.gz' got plain CSV text, which
    pandas.read_csv then failed to read as gzip."""
    path, _ = ratings_csv
    plain = tmp_path / "plain.csv"
    packed = tmp_path / f"packed.csv{suffix}"
    status, _, err = run_main("fit", path, *COLUMNS, "--annotators", plain)
    assert status == 0, err
    status, _, err = run_main("fit", path, *COLUMNS, "--annotators", packed)
    assert status == 0, err
    assert not packed.read_bytes().startswith(plain.read_bytes()[:20])
    pd.testing.assert_frame_equal(pd.read_csv(packed), pd.read_csv(plain))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "option, name, said",
    [
        ("--consensus", "c.parquet", "the consensus is a Parquet dataset"),
        ("--annotators", "a.xlsx", "not as Excel"),
        ("--annotators", "a.html", "the HTML page is --report"),
        ("--annotators", "a.tar.gz", "not as a tar archive"),
        ("--annotators", "a.tgz", "not as a tar archive"),
        ("--annotators", "a.csv.tar", "not as a tar archive"),
    ],
)
def test_a_table_named_in_another_format_is_refused_before_the_fit(
    ratings_csv, tmp_path, run_main, one_line_error, option, name, said
):
    """Practitioner's finding: '--consensus c.parquet' wrote CSV text under
    that name."""
    path, _ = ratings_csv
    status, _, err = run_main("fit", path, *COLUMNS, option, tmp_path / name)
    one_line_error(status, err, "writes the", "as CSV", ".csv.gz", said)
    assert not (tmp_path / name).exists()


def test_a_csv_name_with_tar_inside_is_written(ratings_csv, tmp_path, run_main):
    """A reviewer's finding: 'out.tar.csv' was refused as a tar archive, by
    an error that said to name it .csv."""
    path, _ = ratings_csv
    for name in ("out.tar.csv", "my.tarot.csv"):
        status, _, err = run_main(
            "fit", path, *COLUMNS, "--annotators", tmp_path / name
        )
        assert status == 0, err
        assert (tmp_path / name).read_text().startswith("viewer,p_good")


@pytest.mark.parametrize("failing", ["--annotators", "--report", "-o"])
def test_an_output_that_cannot_be_written_leaves_every_output_as_it_was(
    ratings_csv, tmp_path, run_main, one_line_error, failing
):
    """A file where an output's folder must be: exit 2, naming that file.

    The consensus table, which could be written, keeps its old content, and
    no temporary file is left beside it.
    """
    path, _ = ratings_csv
    consensus = tmp_path / "consensus.csv"
    consensus.write_text("old content\n")
    blocking = tmp_path / "results"
    blocking.write_text("a file, not a folder\n")
    target = blocking / ("report.html" if failing == "--report" else "table.csv")
    options = ["--consensus", consensus] if failing != "-o" else []
    status, _, err = run_main("fit", path, *COLUMNS, *options, failing, target)
    reason = f"{blocking} is a file, not a folder"
    one_line_error(status, err, "cannot write it", reason)
    assert consensus.read_text() == "old content\n"
    assert blocking.read_text() == "a file, not a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "consensus.csv",
        "ratings.csv",
        "results",
    ]


def test_a_path_under_a_file_is_refused_before_the_fit(
    ratings_csv, tmp_path, run_main, one_line_error
):
    """``--annotators afile/a.csv`` with ``afile`` a file: refused before the
    fit, and the report that would come first is not written."""
    path, _ = ratings_csv
    blocking = tmp_path / "afile"
    blocking.write_text("a file\n")
    report = tmp_path / "report.html"
    report.write_text("old report\n")
    status, _, err = run_main(
        "fit",
        path,
        *COLUMNS,
        "--report",
        report,
        "--annotators",
        blocking / "a.csv",
    )
    one_line_error(status, err, f"{blocking} is a file, not a folder")
    assert report.read_text() == "old report\n"


def _disk_full(path):
    """A staged output's write, on a full disk."""
    raise OSError(28, "No space left on device")


def test_a_table_that_fails_while_written_leaves_the_report_as_it_was(
    ratings_csv, tmp_path, run_main, one_line_error, monkeypatch
):
    """The annotator table's write fails (a full disk): the report, written
    first, is not put in place, and no temporary file stays."""
    pytest.importorskip("matplotlib")
    from skem._cli import writing

    path, _ = ratings_csv
    report = tmp_path / "report.html"
    report.write_text("old report\n")
    consensus = tmp_path / "consensus.csv"
    annotators = tmp_path / "annotators.csv"
    write_csv = writing.write_csv

    def full_on_the_annotators(table, file):
        if ".annotators.csv." in getattr(file, "name", ""):
            raise OSError(28, "No space left on device")
        write_csv(table, file)

    monkeypatch.setattr(writing, "write_csv", full_on_the_annotators)
    status, _, err = run_main(
        "fit",
        path,
        *COLUMNS,
        "--report",
        report,
        "--consensus",
        consensus,
        "--annotators",
        annotators,
    )
    one_line_error(status, err, "annotators.csv: cannot write it: No space left")
    assert report.read_text() == "old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ratings.csv", "report.html"]


def test_a_dataset_is_put_in_place_only_with_the_other_outputs(tmp_path):
    """On Dask the consensus is a Parquet folder: when a later output fails,
    the existing folder keeps its content and no staged folder stays."""
    dd = pytest.importorskip("dask.dataframe")
    pytest.importorskip("pyarrow")
    from skem._cli import writing
    from skem._cli.messages import UserInputError

    dataset = tmp_path / "consensus"
    dataset.mkdir()
    (dataset / "old.parquet").write_text("old part\n")
    frame = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0]}), npartitions=1)
    table = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(UserInputError, match="cannot write it"):
        with writing.OutputStage() as stage:
            writing.stage_dataset(stage, frame, dataset)
            stage.file(tmp_path / "annotators.csv", _disk_full)
            stage.commit()
    assert [p.name for p in dataset.iterdir()] == ["old.parquet"]
    assert [p.name for p in tmp_path.iterdir()] == ["consensus"]

    with writing.OutputStage() as stage:
        writing.stage_dataset(stage, frame, dataset)
        writing.stage_csv(stage, table, tmp_path / "annotators.csv")
        stage.commit()
    assert [p.name for p in dataset.iterdir()] == ["part-00000.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "annotators.csv",
        "consensus",
    ]


def test_a_replace_that_fails_midway_removes_every_temporary_file(
    tmp_path, monkeypatch
):
    """The second table's rename fails: a one-line error, no temporary left."""
    from skem._cli import writing
    from skem._cli.messages import UserInputError

    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    second.write_text("old content\n")
    replace = os.replace

    def fail_on_second(source, target):
        if os.fspath(target) == os.fspath(second):
            raise OSError(28, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(writing.os, "replace", fail_on_second)
    table = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(UserInputError, match="second.csv: cannot write it: No space"):
        with writing.OutputStage() as stage:
            writing.stage_csv(stage, table, first)
            writing.stage_csv(stage, table, second)
            stage.commit()
    assert second.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.csv", "second.csv"]


def test_folders_made_for_outputs_that_fail_are_removed_and_kept_ones_named(
    tmp_path,
):
    """A folder made on an output's path is named, outermost first; when a
    later output fails, the folders made for the outputs go again."""
    from skem._cli import writing
    from skem._cli.messages import UserInputError

    table = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(UserInputError, match="cannot write it"):
        with writing.OutputStage() as stage:
            writing.stage_csv(stage, table, tmp_path / "new" / "deep" / "c.csv")
            stage.file(tmp_path / "b.csv", _disk_full)
            stage.commit()
    assert list(tmp_path.iterdir()) == []

    with writing.OutputStage() as stage:
        writing.stage_csv(stage, table, tmp_path / "new" / "deep" / "c.csv")
        writing.stage_csv(stage, table, tmp_path / "new" / "other" / "a.csv")
        writing.stage_csv(stage, table, tmp_path / "b.csv")
        stage.commit()
    assert stage.created_folders == [tmp_path / "new"]
    assert (tmp_path / "new" / "other" / "a.csv").is_file()

    # A name too long for the system, a level in: a one-line error, and the
    # folder made before it goes again.
    with pytest.raises(UserInputError, match="cannot write it: File name too long"):
        with writing.OutputStage() as stage:
            writing.stage_csv(stage, table, tmp_path / "more" / ("a" * 300) / "c.csv")
    assert not (tmp_path / "more").exists()


def test_a_folder_made_is_named_once_whether_its_path_is_relative_or_not(
    tmp_path, monkeypatch
):
    """-o x/deep beside --report /the/cwd/x/r.html: one tree, named once, as
    the user wrote it first."""
    from skem._cli import writing

    monkeypatch.chdir(tmp_path)
    table = pd.DataFrame({"a": [1, 2]})
    with writing.OutputStage() as stage:
        writing.stage_csv(stage, table, Path("x") / "deep" / "c.csv")
        writing.stage_csv(stage, table, tmp_path / "x" / "r.csv")
        stage.commit()
    assert stage.created_folders == [Path("x")]


def test_a_dataset_whose_folder_is_a_file_names_that_file(tmp_path):
    """The Parquet dataset of ``--workers``: the same message, nothing written."""
    dd = pytest.importorskip("dask.dataframe")
    pytest.importorskip("pyarrow")
    from skem._cli import writing
    from skem._cli.messages import UserInputError

    blocking = tmp_path / "results"
    blocking.write_text("a file, not a folder\n")
    frame = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0]}), npartitions=1)
    message = re.escape(f"{blocking} is a file, not a folder")
    with pytest.raises(UserInputError, match=message):
        with writing.OutputStage() as stage:
            writing.stage_dataset(stage, frame, blocking / "consensus")
            stage.commit()
    assert blocking.read_text() == "a file, not a folder\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_demo_runs_on_the_bundled_data_and_finds_the_outliers(run_main):
    status, out, err = run_main("demo")
    assert status == 0 and err == "", err
    assert "fitted 79 items rated by 30 annotators (2,370 ratings" in out
    assert "4 of 30 annotators answer at random: 26, 27, 28, 29" in out
    assert "flagged [26, 27, 28, 29], missed []" in out
    assert "e-" not in out  # no 7.05e-90: probabilities show as 0.00
    # The least reliable: how much they count, not the panel's sigma that
    # their ratings barely move.
    header = next(x for x in out.splitlines() if x.lstrip().startswith("annotator"))
    assert header.split() == [
        "annotator",
        "verdict",
        "p_good",
        "consensus_weight",
        "n_ratings",
    ]
    # Its hint suggests options that demo takes (it took no -o).
    assert "next: skem demo --report report.html draws this fit on one page" in out
    # Its consensus table says what ci_low, ci_high and location are.
    assert "(ci_low to ci_high: its 95% confidence interval; location: the " in out
    status, plain, _ = run_main("demo", "--no-bounded", "--level", "0.9")
    assert "(ci_low to ci_high: its 90% confidence interval):" in plain


@pytest.mark.parametrize("command", [["demo"], ["fit", "ratings.csv"]])
def test_without_pandas_each_command_says_so_in_one_line(
    command, run_main, monkeypatch, tmp_path
):
    """pandas is an optional extra: ``skem fit`` and ``skem demo`` alike
    name it and exit 2, a user's error, not 1 with an unexpected
    ModuleNotFoundError."""
    (tmp_path / "ratings.csv").write_text("item,annotator,score\na,x,1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "pandas", None)
    status, out, err = run_main(*command)
    assert_one_line_error(status, err, "needs pandas: pip install pandas")
    assert out == ""


def test_progress_shows_on_a_terminal_only_after_the_delay(monkeypatch, capsys):
    """The driver's per-iteration callback waits a second, then rewrites one
    line on stderr, and clears it at the end."""
    from skem._cli import fitting
    from skem._em.runs import _IterationInfo as Info

    clock = iter([0.0, 0.5, 2.0, 3.0, 4.0, 0.0])
    monkeypatch.setattr(fitting.time, "perf_counter", lambda: next(clock))
    progress = fitting.Progress(enabled=True, name="AnnotatorEM")
    progress(Info("median", 1, 1, -10.0, 0.5))
    assert capsys.readouterr().err == ""
    progress(Info("median", 1, 7, -3.0, 1e-4))
    shown = capsys.readouterr().err
    assert shown.startswith(
        "\r[AnnotatorEM] start 1 (item medians), iteration 7: objective -3,"
    )
    progress(Info("median_agreement", 2, 1, -3.0, 1e-4))  # init='auto''s, in words
    assert "start 2 (agreement with the item medians)," in capsys.readouterr().err
    progress(Info("median", 1, 2, -3.0, 1e-4, 2.0))  # one tail of tail='auto'
    assert "start 1 (item medians, a t with 2 df), iteration 2" in (
        capsys.readouterr().err
    )
    progress.close()
    assert capsys.readouterr().err.strip() == ""  # the line is cleared
    quiet = fitting.Progress(enabled=False, name="AnnotatorEM")
    quiet(Info("median", 1, 9, -1.0, 0.0))
    assert capsys.readouterr().err == ""


def test_progress_names_every_start_of_init_auto_in_words():
    """The progress line says what each of init='auto''s starts is, not its
    internal name."""
    from skem._cli.fitting import _START_WORDS

    assert set(_AUTO_STARTS) <= set(_START_WORDS)


def test_progress_comes_from_the_driver_callback(ratings_csv, monkeypatch, run_main):
    """The fit calls the progress callback once per iteration, with no
    printed output to capture (the estimator's verbose stays 0)."""
    import skem
    from skem._cli import fitting

    seen, params = [], {}
    original = fitting.Progress.__call__

    def spy(self, info):
        seen.append(info)
        return original(self, info)

    monkeypatch.setattr(fitting.Progress, "__call__", spy)
    fit = skem.AnnotatorEM.fit

    def fit_spy(self, X, *args, **kwargs):
        params.update(self.get_params())
        return fit(self, X, *args, **kwargs)

    monkeypatch.setattr(skem.AnnotatorEM, "fit", fit_spy)
    status, out, _ = run_main("fit", ratings_csv[0], *COLUMNS)
    assert status == 0 and params["verbose"] == 0
    assert "[AnnotatorEM]" not in out
    assert [info.n_iter for info in seen if info.run == seen[-1].run][:2] == [1, 2]
    # init='auto', then the test of the mixture, which flags the random viewers
    assert {info.init for info in seen} == {*_AUTO_STARTS, "nested"}


def _consensus_of(run_main, path, *options):
    status, out, err = run_main(
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
    ratings_csv, tmp_path, capsys, sep, decimal, run_main
):
    path, _ = ratings_csv
    expected = _consensus_of(run_main, path)
    other = tmp_path / "other.txt"
    pd.read_csv(path).to_csv(other, sep=sep, decimal=decimal, index=False)
    if decimal == ",":
        assert "," in other.read_text().splitlines()[1]  # a decimal comma indeed
    got = _consensus_of(run_main, other)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_ratings_through_a_pipe_fit_as_from_their_file(ratings_csv, tmp_path):
    """Fuzzing finding: through a pipe (/dev/stdin, <(zcat ...)) the inference
    of the separator read the ratings away: "the file is empty", or a false
    "has more fields than the header line" past 64 KiB. A process with a
    timeout, so that a reader that waits for a second writer fails the test
    rather than hanging it."""
    import subprocess
    import threading

    path, _ = ratings_csv
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)

    def write():
        with open(pipe, "wb") as stream:
            stream.write(path.read_bytes())

    threading.Thread(target=write, daemon=True).start()
    tables = {}
    for name, source in (("pipe", pipe), ("file", path)):
        tables[name] = tmp_path / f"consensus_from_{name}.csv"
        args = ["fit", str(source), *COLUMNS, "--consensus", str(tables[name])]
        done = subprocess.run(
            [sys.executable, "-m", "skem", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    assert tables["pipe"].read_text() == tables["file"].read_text()


def test_sep_and_decimal_options_override_the_inference(
    ratings_csv, tmp_path, capsys, run_main, one_line_error
):
    path, _ = ratings_csv
    expected = _consensus_of(run_main, path)
    # Decimal commas in a tab-separated file are not inferred: --decimal says so.
    tsv = tmp_path / "ratings.tsv"
    pd.read_csv(path).to_csv(tsv, sep="\t", decimal=",", index=False)
    status, _, err = run_main("fit", tsv, *COLUMNS)
    one_line_error(status, err, "not a finite number", "add --decimal ,")
    got = _consensus_of(run_main, tsv, "--decimal", ",", "--sep", "\\t")
    pd.testing.assert_frame_equal(got, expected)
    # A wrong --sep wins over the inference, and the message says what to do.
    status, _, err = run_main("fit", tsv, *COLUMNS, "--sep", ";")
    one_line_error(status, err, "no columns 'clip'", "--sep")
    # Fuzzing finding: --decimal said '.' or ',' and took any character.
    status, _, err = run_main("fit", tsv, "--decimal", ";")
    one_line_error(status, err, "--decimal", "'.' or ','")
    status, _, err = run_main("fit", tsv, "--sep", "ab")
    one_line_error(status, err, "--sep", "one ASCII character")
    # Fuzzing finding: '§' passed, then pandas' reader failed on the file.
    status, _, err = run_main("fit", tsv, "--sep", "§")
    one_line_error(status, err, "--sep", "one ASCII character", "'§'")


@pytest.mark.parametrize(
    "text, options, line",
    [
        ("item;annotator;score\na;x;1,5\na;y;2\n\nb;x;3\nb;y;oops\n", (), 6),
        (
            "item;annotator;score\na;x;1,5\na;y;2\nb;x;3\nb;y;oops\n",
            ("--decimal", ","),
            5,
        ),
        (
            "item\tannotator\tscore\na\tx\t1,5\na\ty\t2\nb\tx\t3\nb\ty\t-\n",
            ("--decimal", ","),
            5,
        ),
    ],
    ids=["inferred", "given", "tab-separated"],
)
def test_one_bad_score_among_decimal_commas_is_the_one_named(
    tmp_path, run_main, one_line_error, text, options, line
):
    """Fuzzing finding: one score that is no number left pandas' whole column
    as text, and the message blamed the first decimal comma ('1,5', "2 such
    rows", "add --decimal ,", even where it was given)."""
    path = tmp_path / "r.csv"
    path.write_text(text)
    status, _, err = run_main("fit", path, *options)
    message = one_line_error(status, err, f"line {line} has ", "1 such row in all")
    assert "1,5" not in message and "--decimal" not in message


@pytest.mark.parametrize(
    "options, line, count",
    [((), 3, "2 such rows"), (("--decimal", ","), 2, "3 such rows")],
    ids=["inferred", "given"],
)
def test_a_point_beside_decimal_commas_is_refused_not_read_as_a_decimal(
    tmp_path, run_main, one_line_error, options, line, count
):
    """Practitioner's finding: with decimal commas, '1.200' (a thousands
    separator in a German export) was read as 1.2, a score 1000 times too
    small, even with --decimal , stated."""
    path = tmp_path / "r.csv"
    path.write_text(
        "item;annotator;score\nA;x;1.200\nB;x;900,5\nA;y;1.150\nB;y;870\n"
        "A;z;1.180\nB;z;41,5\n"
    )
    status, _, err = run_main("fit", path, *options)
    message = one_line_error(status, err, f"line {line} has ", count)
    if options:
        assert "'1.200'" in message and "thousands separator" in message
    else:  # more points than commas: the points are read, and a comma named
        assert "'900,5'" in message and "add --decimal ," in message


def test_missing_columns_are_listed_with_the_options_to_name_them(
    ratings_csv, run_main, one_line_error
):
    path, _ = ratings_csv
    status, _, err = run_main("fit", path)
    one_line_error(
        status,
        err,
        "no columns 'item', 'annotator', 'score'",
        "its columns are 'clip', 'viewer', 'mos'",
        "--item, --annotator and --score",
        "one rating per row",
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


def test_out_of_range_ratings_are_named_by_label_and_line(
    tmp_path, run_main, one_line_error
):
    path = _emotion_ratings(tmp_path)
    status, _, err = run_main("fit", path, "--score-range", 0, 100)
    line = one_line_error(
        status,
        err,
        "2 ratings outside --score-range 0 100",
        "the first is -50, on line 6 (item anger, annotator bob)",
    )
    assert "item 0" not in line and "annotator 1," not in line


def test_parquet_rows_are_counted_from_one(tmp_path, run_main, one_line_error):
    pytest.importorskip("pyarrow")
    parquet = tmp_path / "emotion.parquet"
    pd.read_csv(_emotion_ratings(tmp_path)).to_parquet(parquet)
    status, _, err = run_main("fit", parquet, "--score-range", 0, 100)
    one_line_error(status, err, "the first is -50, on row 5 (item anger")


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
        # A spreadsheet's row of separators alone is skipped as a blank line,
        # with a missing-value marker in the score's column too (#N/A from a
        # formula); a row with more fields than the header is still refused.
        ("item;annotator;score\n1;a;3\n;;\n1;b;x\n", "line 4 has 'x'"),
        ("item;annotator;score\n1;a;3\n;;#N/A\n1;b;x\n", "line 4 has 'x'"),
        (
            "item,annotator,score\n,,,,\n1,a,3\n1,b,4\n",
            "line 2 has more fields than the header line",
        ),
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
        "after a row of separators",
        "after a row of separators and a marker",
        "a row of too many separators",
        "duplicate",
    ],
)
def test_bad_rows_are_named_by_their_file_line(
    tmp_path, content, message, run_main, one_line_error
):
    path = tmp_path / "ratings.csv"
    path.write_text(content)
    status, _, err = run_main("fit", path)
    one_line_error(status, err, message)


def test_rows_of_separators_alone_are_skipped(ratings_csv, tmp_path, run_main):
    """Practitioner's finding: a spreadsheet saved as CSV ends in rows of
    separators (';;;'), which stopped the command: "line N has no item
    label". They hold no rating, as a blank line does not."""
    path, _ = ratings_csv
    plain = _consensus_of(run_main, path)
    padded = tmp_path / "padded.csv"
    lines = path.read_text().splitlines()
    padded.write_text("\n".join([*lines[:3], ",,", *lines[3:], ",,", ",,"]) + "\n")
    pd.testing.assert_frame_equal(_consensus_of(run_main, padded), plain)


RANGE = "--score-range needs two finite numbers LOW < HIGH; got "


@pytest.mark.parametrize(
    "options, message",
    [
        (["--score-range", "5", "1"], RANGE + "5 1"),
        (["--score-range", "3", "3"], RANGE + "3 3"),
        (["--score-range", "nan", "5"], RANGE + "nan 5"),
        (["--score-range", "1", "inf"], RANGE + "1 inf"),
        (["--score-range", "-inf", "5"], RANGE + "-inf 5"),
        (["--level", "1.5"], "--level must lie strictly between 0 and 1; got 1.5"),
        (["--random-state", "-1"], "--random-state must lie in 0..4294967295"),
        (["--init", "random", "--n-init", "0"], "--n-init must lie in 1..10000"),
        (
            ["--init", "random", "--n-init", str(10**20)],
            "--n-init must lie in 1..10000",
        ),
        (["--item", "consensus"], "--item 'consensus' is also a column of the results"),
        (["--item", "location"], "--item 'location' is also a column of the results"),
        (["--annotator", "p_good"], "--annotator 'p_good' is also a column"),
        (["--item", "mos", "--annotator", "mos"], "three different columns"),
        (["--consensus", ""], "--consensus needs a file name"),
        (["-o", "INPUT"], "is a file, not a folder"),
        (["--max-iter", "0"], "--max-iter must be at least 1; got 0"),
        (["--tol", "-1"], "--tol must be a finite number, 0 or more; got -1"),
        (["--tol", "nan"], "--tol must be a finite number, 0 or more; got nan"),
        (["--dashboard"], "--dashboard serves the Dask dashboard of the LocalCluster"),
        (["--verbose"], "--verbose shows Dask's own log, with --workers or"),
    ],
)
def test_bad_option_values_are_one_clear_line(
    ratings_csv, options, message, run_main, one_line_error
):
    path, _ = ratings_csv
    options = [path if option == "INPUT" else option for option in options]
    status, _, err = run_main("fit", path, *COLUMNS, *options)
    one_line_error(status, err, message)


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
        (
            "r.csv",
            b"item,annotator,score\n" + b"a,b,1\n" * 9000 + b"caf\xe9,b,1\n",
            "it holds the byte(s) e9, not UTF-8",
        ),
        (
            "r.csv",
            b"item,annotator,score\n1,a,3\n1,b,4,5\n",
            "line 3 has more fields than the header line",
        ),
        # Fuzzing finding: pandas' own count (line 7) named no file line.
        (
            "r.csv",
            b'item,annotator,score\n"multi\nline",x,1\n"multi\nline",y,2\n\n'
            b"b,x,3\nb,y,4,5\n",
            "line 8 has more fields than the header line",
        ),
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
        # Fuzzing finding: shown as "has '' in column 'score'".
        (
            "r.csv",
            b"item,annotator,score\n1,a,3\n1,b,  \n2,a,2\n2,b,1\n",
            "line 3 has a blank score (spaces) in column 'score'",
        ),
        # Fuzzing finding: these were "not UTF-8" or "Error tokenizing data".
        ("r.csv", b"PAR1\x15\x04\x15", "as CSV: it is a Parquet file"),
        ("r.parquet.gz", gzip.compress(b"PAR1\x15\x04"), "it is a Parquet file"),
        ("r.xlsx", b"PK\x03\x04\x14\x00", "zip archive (an Excel workbook?)"),
        ("r.feather", b"ARROW1\x00\x00", "an Arrow (Feather) file"),
    ],
    ids=[
        "truncated gz",
        "truncated xz",
        "truncated zip",
        "truncated tar.gz",
        "zst",
        "binary",
        "latin-1 past the first chunk",
        "ragged",
        "ragged after labels on two lines",
        "ragged first row",
        "empty",
        "blank lines",
        "header and blank lines",
        "overflow to inf",
        "not parquet",
        "blank score",
        "parquet named csv",
        "gzipped parquet",
        "excel",
        "feather",
    ],
)
def test_unreadable_files_are_one_line_and_exit_2(
    tmp_path, name, content, message, run_main, one_line_error
):
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out"
    status, stdout, err = run_main("fit", path, "-o", out)
    line = one_line_error(status, err, message)
    assert name in line
    assert stdout == "" and not out.exists()


def test_a_compressed_csv_is_read(tmp_path, run_main):
    path = tmp_path / "ratings.csv.gz"
    path.write_bytes(gzip.compress(_GOOD_CSV.replace(b",", b";")))
    status, out, err = run_main("fit", path, "--consensus", "-")
    assert status == 0, err
    assert out.splitlines()[0] == ",".join(["item", *ITEM_SCHEMA, "location"])


def test_parquet_labels_that_are_lists_are_refused(tmp_path, run_main, one_line_error):
    pytest.importorskip("pyarrow")
    path = tmp_path / "lists.parquet"
    frame = pd.DataFrame(
        {"item": [[1, 2], [3]], "annotator": ["a", "b"], "score": [1.0, 2.0]}
    )
    frame.to_parquet(path)
    status, _, err = run_main("fit", path)
    one_line_error(
        status, err, "row 1 holds a list in column 'item', not an item label"
    )


def test_parquet_dates_as_scores_are_refused(tmp_path, run_main, one_line_error):
    """A column of dates is no score, though pandas would give its ticks."""
    pytest.importorskip("pyarrow")
    path = tmp_path / "dates.parquet"
    frame = pd.DataFrame(
        {
            "item": ["a", "a", "b", "b"],
            "annotator": ["x", "y", "x", "y"],
            "score": pd.to_datetime([1, 2, 3, 4], unit="s"),
        }
    )
    frame.to_parquet(path)
    status, _, err = run_main("fit", path)
    one_line_error(status, err, "row 1 has '1970-01-01 00:00:01' in column 'score'")


@pytest.mark.parametrize("repeated", ["score", "item"])
def test_a_header_that_names_a_column_twice_is_refused(
    tmp_path, run_main, one_line_error, repeated
):
    """pandas renames the second one ('score.1'): which column is fitted
    would depend on their order."""
    path = _write(
        tmp_path,
        f"item,annotator,score,{repeated}\na,x,1,7\na,y,2,8\nb,x,3,9\nb,y,4,6\n",
    )
    status, _, err = run_main("fit", path)
    one_line_error(status, err, f"names the column '{repeated}' more than once")


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_new_output_files_get_the_mode_open_would_give(
    ratings_csv, tmp_path, umask, mode, run_main
):
    path, _ = ratings_csv
    previous = os.umask(umask)
    try:
        status, _, err = run_main("fit", path, *COLUMNS, "-o", tmp_path / "o")
    finally:
        os.umask(previous)
    assert status == 0, err
    for name in ("consensus.csv", "annotators.csv"):
        assert stat.S_IMODE((tmp_path / "o" / name).stat().st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o600, 0o664])
def test_replaced_output_files_keep_their_mode(ratings_csv, tmp_path, mode, run_main):
    path, _ = ratings_csv
    target = tmp_path / "consensus.csv"
    target.write_text("old\n")
    target.chmod(mode)
    previous = os.umask(0o077 if mode != 0o600 else 0o022)
    try:
        status, _, err = run_main("fit", path, *COLUMNS, "--consensus", target)
    finally:
        os.umask(previous)
    assert status == 0, err
    assert target.read_text().startswith("clip,consensus")
    assert stat.S_IMODE(target.stat().st_mode) == mode


class _ClosedPipe(io.StringIO):
    """A stdout whose reader went away (skem fit ... | head -1)."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_files_are_written_before_stdout_whatever_happens_to_it(
    ratings_csv, tmp_path, monkeypatch, run_main
):
    path, _ = ratings_csv
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    target = tmp_path / "out" / "a.csv"
    status, _, err = run_main(
        "fit", path, *COLUMNS, "--consensus", "-", "--annotators", target
    )
    assert status == 1
    assert "Traceback" not in err and "error" not in err
    assert len(pd.read_csv(target)) == 8


@pytest.mark.parametrize(
    "command, options",
    [
        ("fit", ["--n-init", "3"]),
        ("fit", ["--init", "all_good", "--n-init", "1"]),
        ("demo", ["--n-init", "2"]),
    ],
)
def test_n_init_without_init_random_is_refused(
    ratings_csv, command, options, run_main, one_line_error
):
    path, _ = ratings_csv
    inputs = [path, *COLUMNS] if command == "fit" else []
    status, out, err = run_main(command, *inputs, *options)
    one_line_error(status, err, "--n-init only applies to --init random")
    assert out == ""


def test_every_option_states_its_default():
    from skem._cli.parser import build_parser

    parser = build_parser()
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
    import skem
    from skem._cli import main

    seen = {}
    original = skem.AnnotatorEM.fit

    def spy(self, X, *args, **kwargs):
        seen.update(self.get_params())
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(skem.AnnotatorEM, "fit", spy)
    status = main(
        [
            "fit",
            str(ratings_csv[0]),
            "--no-bounded",
            "--noise",
            "shared",
            "--noise-prior",
            "50",
            "--bias",
            "--tail",
            "3",
            "--no-levels",
            *COLUMNS,
            "-q",
            "-o",
            str(tmp_path / "out"),
        ]
    )
    assert status == 0
    assert seen["bounded"] is False and seen["noise"] == "shared"
    assert seen["noise_prior"] == 50.0 and seen["bias"] is True
    assert seen["tail"] == 3.0 and seen["levels"] is None


def test_bad_noise_prior_is_one_line(ratings_csv, capsys):
    from skem._cli import main

    assert main(["fit", str(ratings_csv[0]), "--noise-prior", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--noise-prior must be a positive number" in err[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tail", "2"], "--tail is a Student-t good component .* add --no-bounded"),
        (["--tail", "0", "--no-bounded"], "--tail must be a number of degrees"),
        (["--tail", "nan", "--no-bounded"], "--tail must be a number of degrees"),
        (["--tail", "0.01", "--no-bounded"], "degrees of freedom from 0.1 to 1e"),
        (["--tail", "auto"], "--tail is a Student-t good component .* --no-bounded"),
        (["--tail", "heavy", "--no-bounded"], "must be 'auto' or a number of degrees"),
    ],
)
def test_bad_tail_is_one_line(ratings_csv, capsys, extra, message):
    from skem._cli import main

    assert main(["fit", str(ratings_csv[0]), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err


def test_score_scale_log_fits_the_logarithms(tmp_path, capsys):
    """--score-scale log reaches the estimator, and the summary says that
    sigma is on the logarithms."""
    from skem._cli import main

    rng = np.random.default_rng(0)
    truth = rng.uniform(20, 500, 30)
    rows = [
        (f"jar{i}", f"p{a}", round(truth[i] * np.exp(rng.normal(0, 0.3))))
        for a in range(6)
        for i in range(30)
    ]
    path = tmp_path / "counts.csv"
    pd.DataFrame(rows, columns=["item", "annotator", "score"]).to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["fit", str(path), "--score-scale", "log", "-o", str(out)]) == 0
    summary = capsys.readouterr().out
    assert "on the logarithms of the scores, where 0.1 is about 10%)" in summary
    consensus = pd.read_csv(out / "consensus.csv")
    frame = pd.DataFrame(rows, columns=["item", "annotator", "score"])
    expected = skem.AnnotatorEM(score_scale="log").fit(skem.long_to_matrix(frame).X)
    np.testing.assert_allclose(
        consensus.set_index("item").loc[skem.long_to_matrix(frame).items, "consensus"],
        expected.mu_,
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--score-range", "0", "10"], "--score-range needs 0 < LOW; got 0 10"),
        (["--levels"], "--score-scale log fits their logarithms .* drop one"),
    ],
)
def test_score_scale_log_refuses_what_has_no_logarithm(
    ratings_csv, capsys, extra, message
):
    from skem._cli import main

    assert main(["fit", str(ratings_csv[0]), "--score-scale", "log", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err


def test_score_scale_log_names_a_rating_that_is_not_positive(tmp_path, capsys):
    from skem._cli import main

    path = tmp_path / "zero.csv"
    path.write_text("item,annotator,score\na,x,4\na,y,0\nb,x,2\n")
    assert main(["fit", str(path), "--score-scale", "log"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert (
        "1 rating not positive" in err[0] and "line 3 (item a, annotator y)" in err[0]
    )


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["fit"],
        ["nonsense"],
        ["fit", "r.csv", "--init", "nope"],
        ["fit", "r.csv", "--score-range", "1"],
        ["fit", "r.csv", "--n-init", "many"],
        ["fit", ""],
        ["fit", "r.csv", "-o", ""],
        ["fit", "r.csv", "--report", ""],
    ],
)
def test_usage_errors_are_one_line_too(args, run_main, one_line_error):
    status, _, err = run_main(*args)
    one_line_error(status, err, "--help")


def test_an_unexpected_error_is_one_line_and_exit_1(
    ratings_csv, monkeypatch, run_main, one_line_error
):
    import skem

    class Broken(skem.AnnotatorEM):
        def fit(self, X, y=None):
            raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(skem, "AnnotatorEM", Broken)
    path, _ = ratings_csv
    status, _, err = run_main("fit", path, *COLUMNS)
    line = one_line_error(status, err, exit_status=1)
    assert line == "skem: error: unexpected RuntimeError: boom second line"


def test_a_folder_or_a_dangling_link_among_the_files_is_bad_input(
    tmp_path, run_main, one_line_error
):
    """Fuzzing finding: a glob of --workers that matched a folder or a dangling
    link, and a file in a folder the user may not enter, ended with exit 1,
    "unexpected IsADirectoryError". A path that cannot be opened is the
    user's input, named in one line (exit 2), wherever a reader meets it."""
    pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    data = tmp_path / "data"
    data.mkdir()
    frame = pd.DataFrame(
        {"item": ["a", "a", "b", "b"], "annotator": ["x", "y"] * 2, "score": 1.0}
    )
    frame.to_parquet(data / "one.parquet")
    (data / "old.parquet").mkdir()
    status, _, err = run_main("fit", f"{data}/*.parquet", "--workers", "1")
    one_line_error(status, err, "old.parquet", "Is a directory")
    (data / "old.parquet").rmdir()
    (data / "broken.parquet").symlink_to(tmp_path / "gone.parquet")
    status, _, err = run_main("fit", f"{data}/*.parquet", "--workers", "1")
    one_line_error(status, err, "broken.parquet", "No such file or directory")


def test_location_names_a_label_column_of_the_plain_form(tmp_path, run_main):
    """The plain form's item table has no location column: the name is free."""
    path = tmp_path / "r.csv"
    path.write_text("location,viewer,mos\na,x,1\na,y,2\nb,x,2\nb,y,3\n")
    status, out, err = run_main(
        "fit",
        path,
        "--item",
        "location",
        "--annotator",
        "viewer",
        "--score",
        "mos",
        "--no-bounded",
        "--consensus",
        "-",
    )
    assert status == 0, err
    assert out.splitlines()[0].split(",")[:2] == ["location", "consensus"]


def test_a_csv_given_to_workers_is_named_as_not_parquet(
    ratings_csv, run_main, one_line_error
):
    """Dask's own error was its read_parquet internals ("magic bytes not
    found in footer"); the check runs before any cluster starts."""
    pytest.importorskip("dask")
    path, _ = ratings_csv
    status, _, err = run_main("fit", path, "--workers", "2")
    one_line_error(
        status, err, f"{path}: not a Parquet file", "drop them to fit a CSV file"
    )


def test_a_glob_without_workers_says_how_to_fit_it(tmp_path, run_main, one_line_error):
    status, _, err = run_main("fit", tmp_path / "part-*.parquet")
    one_line_error(status, err, "no such file", "add --workers N")


def test_levels_with_the_plain_form_is_refused(ratings_csv, run_main, one_line_error):
    """The plain form reads exact scores: --levels there was silently ignored."""
    path, _ = ratings_csv
    status, _, err = run_main("fit", path, "--levels", "--no-bounded")
    one_line_error(status, err, "--levels", "--no-bounded", "drop one of the two")
    status, _, err = run_main("fit", path, *COLUMNS, "--no-bounded", "--consensus", "-")
    assert status == 0, err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_outputs_through_symlinks_and_fifos_keep_them(ratings_csv, tmp_path, run_main):
    """A rename over a symlink or a FIFO would replace it with a regular
    file (as root, over /dev/null or /dev/stdout too): the link's file is
    replaced, and the FIFO is written in place."""
    path, _ = ratings_csv
    target = tmp_path / "consensus.csv"
    target.write_text("old content\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    fifo = tmp_path / "annotators.csv"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        status, _, err = run_main(
            "fit", path, *COLUMNS, "--consensus", link, "--annotators", fifo
        )
        streamed = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert status == 0, err
    assert link.is_symlink() and target.read_text().startswith("clip,consensus")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert streamed.startswith(b"viewer,p_good")


def test_two_outputs_on_one_file_through_a_symlink_are_refused(
    ratings_csv, tmp_path, run_main, one_line_error
):
    path, _ = ratings_csv
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    status, _, err = run_main(
        "fit",
        path,
        *COLUMNS,
        "--consensus",
        tmp_path / "a.csv",
        "--annotators",
        tmp_path / "b.csv",
    )
    one_line_error(status, err, "two of the outputs name the same file")
    assert not (tmp_path / "a.csv").exists()


def test_an_output_name_too_long_is_one_line_and_exit_2(
    ratings_csv, tmp_path, run_main, one_line_error
):
    """A fuzzing helper's finding: the system's ENAMETOOLONG escaped the
    checks of the outputs as an unexpected OSError (exit 1)."""
    path, _ = ratings_csv
    long_name = tmp_path / ("a" * 300 + ".csv")
    status, _, err = run_main("fit", path, *COLUMNS, "--annotators", long_name)
    one_line_error(status, err, "cannot write it")


class _UnusableDistributed:
    """A finder that fails ``import distributed`` as an old release beside a
    new dask does."""

    def find_spec(self, name, path=None, target=None):
        if name == "distributed":
            raise ImportError(
                "cannot import name 'collections_to_dsk' from 'dask.base'",
                name="dask.base",
            )
        return None


@pytest.mark.parametrize("unusable", ["missing", "mismatched"])
def test_dask_options_without_a_usable_dask_say_why_in_one_line(
    tmp_path, run_main, one_line_error, monkeypatch, unusable
):
    """Missing, the module is named; installed but failing to import, the
    error is quoted, not called missing. Either way one line, exit 2, and
    the releases to install."""
    pytest.importorskip("dask.dataframe")  # imported before distributed
    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    if unusable == "missing":
        monkeypatch.setitem(sys.modules, "distributed", None)
    else:
        monkeypatch.setattr(sys, "meta_path", [_UnusableDistributed(), *sys.meta_path])
    (tmp_path / "one.parquet").write_bytes(b"PAR1")
    status, _, err = run_main("fit", tmp_path / "one.parquet", "--workers", "1")
    one_line_error(status, err, "'distributed>=2024.12'")
    if unusable == "missing":
        assert "distributed is missing" in err
    else:
        assert "importing it failed: cannot import name 'collections_to_dsk'" in err
        assert "is missing" not in err


@pytest.mark.parametrize("length", [241, 250, 255])
def test_an_output_name_the_system_takes_is_written_whatever_its_length(
    tmp_path, length
):
    """A fuzzer's finding: names of 242 to 255 bytes are legal, but their
    temporary names, 14 bytes longer, were not: the write failed after the
    fit. The temporary names are cut to fit."""
    from skem._cli import writing
    from skem._io.files import _temporary_prefix

    name = "c" * (length - 4) + ".csv"
    table = pd.DataFrame({"a": [1, 2]})
    with writing.OutputStage() as stage:
        writing.stage_csv(stage, table, tmp_path / name)
        stage.commit()
    assert (tmp_path / name).read_text() == "a\n1\n2\n"
    assert [p.name for p in tmp_path.iterdir()] == [name]
    # Multibyte characters are cut as bytes and kept as the system's name.
    assert len(os.fsencode(_temporary_prefix("é" * 200))) <= 242
