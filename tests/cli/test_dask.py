"""``skem fit --workers N`` / ``--scheduler``: a Parquet dataset fitted on Dask.

Every test here starts a LocalCluster: they are slow.
"""

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

pytestmark = pytest.mark.slow

from skem._cli import main  # noqa: E402
from skem.datasets import load_video_quality  # noqa: E402
from tests._helpers import (  # noqa: E402
    _hard_panel_of_few_raters,
    _panel_with_an_offset_rater,
    _yes_no_panel_with_spammers,
)

NAMES = ["--item", "video", "--annotator", "subject"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The bundled Netflix ratings in three Parquet files, items split over them."""
    folder = tmp_path_factory.mktemp("ratings")
    frame = load_video_quality(as_frame=True).frame
    frame = frame.rename(columns={"item": "video", "annotator": "subject"})
    for k in range(3):
        frame.iloc[k::3].to_parquet(folder / f"part-{k}.parquet", index=False)
    whole = folder.parent / "whole.parquet"
    frame.to_parquet(whole, index=False)
    return folder, whole


def test_a_parquet_folder_on_a_local_cluster_gives_the_in_memory_tables(
    dataset, tmp_path, capsys
):
    """The consensus dataset and the annotator CSV of --workers 2 have the
    columns of the in-memory command, the user's names included, and hold its
    numbers on the same ratings, to 1e-10."""
    folder, whole = dataset
    memory_out, dask_out = tmp_path / "memory", tmp_path / "dask"
    assert main(["fit", str(whole), *NAMES, "-o", str(memory_out), "-q"]) == 0
    status = main(["fit", str(folder), *NAMES, "--workers", "2", "-o", str(dask_out)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "DaskAnnotatorEM (soft EM) fitted 79 items rated by 30 annotators" in out
    assert "4 of 30 annotators answer at random: 26, 27, 28, 29" in out

    memory = pd.read_csv(memory_out / "consensus.csv", dtype={"video": str})
    dask = pd.read_parquet(dask_out / "consensus")
    assert list(dask.columns) == list(memory.columns)
    assert list(memory.columns)[0] == "video"
    assert len(list((dask_out / "consensus").iterdir())) >= 1
    memory, dask = memory.set_index("video"), dask.set_index("video")
    dask = dask.loc[memory.index]
    for column in memory.columns:
        np.testing.assert_allclose(dask[column], memory[column], rtol=1e-10)
    memory = pd.read_csv(memory_out / "annotators.csv", dtype={"subject": str})
    dask = pd.read_csv(dask_out / "annotators.csv", dtype={"subject": str})
    assert list(dask.columns) == list(memory.columns)
    assert list(memory.columns)[0] == "subject"
    np.testing.assert_array_equal(dask["subject"], memory["subject"])
    np.testing.assert_array_equal(dask["verdict"], memory["verdict"])
    np.testing.assert_array_equal(dask["n_ratings"], memory["n_ratings"])
    for column in ("p_good", "sigma", "bias"):
        np.testing.assert_allclose(dask[column], memory[column], rtol=1e-10)


@pytest.mark.parametrize("bounded", ["--bounded", "--no-bounded"])
def test_level_and_form_give_the_in_memory_consensus_columns(
    dataset, tmp_path, bounded
):
    """At --level 0.8 the Dask consensus equals the in-memory one, columns
    included: location for the bounded form only, the same intervals."""
    _, whole = dataset
    memory_out, dask_out = tmp_path / "memory", tmp_path / "dask"
    options = [*NAMES, bounded, "--level", "0.8", "-q"]
    assert main(["fit", str(whole), *options, "--consensus", str(memory_out)]) == 0
    args = ["fit", str(whole), *options, "--workers", "1"]
    assert main([*args, "--consensus", str(dask_out)]) == 0
    memory = pd.read_csv(memory_out, dtype={"video": str})
    dask = pd.read_parquet(dask_out)
    assert list(dask.columns) == list(memory.columns)
    assert ("location" in dask.columns) == (bounded == "--bounded")
    memory, dask = memory.set_index("video"), dask.set_index("video")
    dask = dask.loc[memory.index]
    for column in memory.columns:
        np.testing.assert_allclose(dask[column], memory[column], rtol=1e-10)


def test_a_glob_and_a_replaced_dataset(dataset, tmp_path, capsys):
    """A glob selects the files; a second run replaces the dataset whole."""
    folder, _ = dataset
    target = tmp_path / "consensus"
    args = ["fit", str(folder / "part-*.parquet"), *NAMES, "--workers", "1", "-q"]
    assert main([*args, "--consensus", str(target), "--hard"]) == 0
    first = sorted(p.name for p in target.iterdir())
    (target / "stale.parquet").write_bytes(b"left from before")
    assert main([*args, "--consensus", str(target), "--annotators", "-"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-31].startswith(
        "subject,p_good,verdict,consensus_weight,n_ratings"
    )
    assert sorted(p.name for p in target.iterdir()) == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "options, message",
    [
        (["--consensus", "-"], "needs a folder for the Parquet dataset"),
        (["--duplicates", "mean"], "--duplicates mean is not available"),
        (["--sep", ";"], "--sep and --decimal apply to CSV files"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--scheduler", "tcp://x:1", "--dashboard"], "--dashboard applies to"),
        (["--score", "rating"], "no column 'rating'"),
    ],
)
def test_bad_options_and_data_are_one_line_and_exit_2(
    dataset, capsys, options, message
):
    folder, _ = dataset
    if "--workers" not in options and "--scheduler" not in options:
        options = [*options, "--workers", "1"]
    assert main(["fit", str(folder), *NAMES, "-q", *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_missing_input_and_unreachable_scheduler_are_one_line(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("skem._cli.on_dask._CONNECT_TIMEOUT", "1s")
    assert main(["fit", str(tmp_path / "none-*.parquet"), "--workers", "1"]) == 2
    assert "no file matches this glob" in capsys.readouterr().err
    assert main(["fit", str(tmp_path / "none.parquet"), "--workers", "1"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["fit", str(tmp_path / "empty"), "--workers", "1"]) == 2
    assert "holds no Parquet file" in capsys.readouterr().err
    (tmp_path / "one.parquet").write_bytes(b"PAR1")
    status = main(
        ["fit", str(tmp_path / "one.parquet"), "--scheduler", "tcp://127.0.0.1:9"]
    )
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "cannot connect" in err, err


def test_a_folder_without_dask_options_says_how_to_fit_it(dataset, capsys):
    folder, _ = dataset
    assert main(["fit", str(folder)]) == 2
    assert "add --workers N or --scheduler ADDRESS" in capsys.readouterr().err


# Labels that numeric inference merges or rewrites (issue 20): kept as written.
TRICKY = ["001", "1", "1.0", "1e309", "1e310", "inf", "True", "NA", "nan"]


def test_labels_are_kept_as_written_on_dask(tmp_path, capsys):
    """Item labels that look like numbers stay distinct and exact, in the
    consensus dataset as in memory (and --dashboard says where it is)."""
    rng = np.random.default_rng(0)
    rows = [
        (item, f"s{a}", float(rng.integers(1, 6))) for item in TRICKY for a in range(4)
    ]
    frame = pd.DataFrame(rows, columns=["video", "subject", "score"])
    (tmp_path / "ratings").mkdir()
    frame.to_parquet(tmp_path / "ratings" / "part-0.parquet", index=False)
    out = tmp_path / "out"
    args = ["fit", str(tmp_path / "ratings"), *NAMES, "-q", "-o", str(out)]
    assert main([*args, "--workers", "1", "--dashboard"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Dask dashboard: http"), captured
    consensus = pd.read_parquet(out / "consensus")
    assert sorted(consensus["video"]) == sorted(TRICKY)
    assert consensus["n_ratings"].tolist() == [4] * len(TRICKY)


def test_a_blank_label_is_refused_on_dask_as_in_memory(tmp_path, capsys):
    frame = pd.DataFrame(
        {
            "video": ["a", "b", " ", "a", "b", "c"],
            "subject": ["x", "x", "x", "y", "y", "y"],
            "score": [1.0, 2.0, 3.0, 1.5, 2.5, 3.5],
        }
    )
    (tmp_path / "ratings").mkdir()
    frame.to_parquet(tmp_path / "ratings" / "part-0.parquet", index=False)
    args = ["fit", str(tmp_path / "ratings"), *NAMES, "-q", "--workers", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Column 'video' has 1 blank label" in err, err


def test_a_file_without_the_columns_is_named_and_an_empty_one_skipped(
    dataset, tmp_path, capsys
):
    """A user's finding: a file other than the first without the score
    column, or an empty file without any column, failed inside the fit with
    "unexpected KeyError" and exit 1; Dask takes the columns from the first
    file. A file with rows is checked and named; one without rows holds no
    ratings, and is skipped."""
    folder, _ = dataset
    parts = sorted(folder.iterdir())
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for k, part in enumerate(parts):
        frame = pd.read_parquet(part)
        if k == 1:
            frame = frame.rename(columns={"score": "rating"})
        frame.to_parquet(mixed / part.name, index=False)
    args = ["fit", str(mixed), *NAMES, "-q", "--workers", "1"]
    assert main([*args, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{mixed / parts[1].name}: no column 'score'" in err
    assert not (tmp_path / "out").exists()
    pd.read_parquet(parts[1]).to_parquet(mixed / parts[1].name, index=False)
    pd.DataFrame().to_parquet(mixed / "part-9.parquet")
    assert main([*args, "--annotators", "-"]) == 0
    assert "subject,p_good" in capsys.readouterr().out


def test_a_hive_partitioned_dataset_keeps_its_folders_columns(tmp_path, capsys):
    """A reviewer's finding: the check of each file's columns refused a
    dataset partitioned by item (item=i0/part.parquet), whose item column
    the reader takes from the folders' names."""
    frame = load_video_quality(as_frame=True).frame
    # Eight items, eight folders: a folder is a partition for Dask.
    frame = frame[frame["item"].isin(frame["item"].unique()[:8])]
    frame.to_parquet(tmp_path / "hive", partition_cols=["item"])
    args = ["fit", str(tmp_path / "hive"), "-q", "--workers", "1"]
    assert main([*args, "--annotators", "-"]) == 0
    assert "annotator,p_good" in capsys.readouterr().out


def test_a_parquet_file_indexed_by_item_fits_on_dask_as_in_memory(tmp_path, capsys):
    """Fuzzing finding: the item column written as the frame's named index was
    read in memory, and refused on Dask ("no column 'item'")."""
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {
            "item": list("aaabbbccc"),
            "annotator": list("xyz") * 3,
            "score": [1.0, 2, 1, 4, 5, 4, 3, 3, 2],
        }
    )
    path = tmp_path / "r.parquet"
    frame.set_index("item").to_parquet(path)
    tables = {}
    for where, extra in (("memory", []), ("dask", ["--workers", "1"])):
        out = tmp_path / where
        assert main(["fit", str(path), "-q", "-o", str(out), *extra]) == 0, (
            capsys.readouterr().err
        )
        tables[where] = pd.read_csv(out / "annotators.csv")
    pd.testing.assert_frame_equal(tables["dask"], tables["memory"])


def test_list_labels_are_refused_on_dask_as_in_memory(tmp_path, capsys):
    """Fuzzing finding: item labels that are lists ended with exit 1,
    "unexpected TypeError: unhashable type", where in memory they are bad
    input named in one line."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "item": pa.array([[1], [1], [2], [2]]),
            "annotator": ["x", "y", "x", "y"],
            "score": [1.0, 2.0, 3.0, 4.0],
        }
    )
    path = tmp_path / "r.parquet"
    pq.write_table(table, path)
    for extra in ([], ["--workers", "1"]):
        assert main(["fit", str(path), "-q", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "'item'" in err and "a list" in err, err


def test_binary_labels_that_are_not_utf8_are_refused_on_dask_as_in_memory(
    tmp_path, capsys, binary_labels
):
    latin1, utf8 = binary_labels
    (tmp_path / "ratings").mkdir()
    part = tmp_path / "ratings" / "part-0.parquet"
    latin1.to_parquet(part, index=False)
    args = ["fit", str(tmp_path / "ratings"), "-q", "--workers", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'annotator'" in err and "not UTF-8" in err, err
    utf8.to_parquet(part, index=False)
    assert main([*args, "-o", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    annotators = pd.read_csv(tmp_path / "out" / "annotators.csv")
    assert sorted(annotators["annotator"]) == ["anné", "b"]


@pytest.mark.skipif(
    not hasattr(__import__("skem"), "report"), reason="skem.report comes later"
)
def test_a_report_of_a_dask_fit(dataset, tmp_path, capsys):
    """The page of --workers has the figures and the rating counts."""
    pytest.importorskip("matplotlib")
    folder, whole = dataset
    target = tmp_path / "report.html"
    args = ["fit", str(folder), *NAMES, "--workers", "1", "-q", "--report", target]
    assert main([str(a) for a in args]) == 0, capsys.readouterr().err
    page = target.read_text()
    assert "<img" in page and "subject" in page
    assert f"{len(pd.read_parquet(whole)):,} ratings, scale" in page


def test_the_dask_summary_names_the_wide_intervals_of_the_in_memory_one(
    tmp_path, capsys
):
    """The same rule on both backends: clips that kept 3 of their 30 ratings
    are named, and the same ones when more tie than are shown (5 clips with
    the same 3 raters, split over three Parquet parts); the full panel names
    none."""
    frame = load_video_quality(as_frame=True).frame
    frame = frame.rename(columns={"item": "video", "annotator": "subject"})
    thinned = [4, 9, 12, 20, 33]
    thin = frame[~frame["video"].isin(thinned) | (frame["subject"] < 3)]
    lines = {}
    for name, ratings in (("full", frame), ("thin", thin)):
        folder = tmp_path / name
        folder.mkdir()
        for k in range(3):
            ratings.iloc[k::3].to_parquet(folder / f"part-{k}.parquet", index=False)
        for backend, extra in (("memory", []), ("dask", ["--workers", "2"])):
            source = folder / "part-*.parquet" if backend == "dask" else folder
            if backend == "memory":
                source = tmp_path / f"{name}.parquet"
                ratings.to_parquet(source, index=False)
            out = tmp_path / f"{name}-{backend}"
            args = ["fit", str(source), *NAMES, *extra, "-o", str(out), "--no-bounded"]
            assert main(args) == 0
            lines[name, backend] = [
                x
                for x in capsys.readouterr().out.splitlines()
                if x.startswith("Consensus:")
            ]
    assert lines["full", "memory"] == lines["full", "dask"] == []
    assert len(lines["thin", "memory"]) == 1
    assert lines["thin", "memory"] == lines["thin", "dask"]
    assert "intervals (of the 5 notably wide ones) are" in lines["thin", "dask"][0]
    named = lines["thin", "dask"][0].split(" those of ")[1].split(";")[0]
    assert [x.split(" (")[0] for x in named.split(", ")] == [
        "video 12",
        "video 20",
        "video 33",
    ]


def test_a_dataset_with_an_empty_part_reads_back_with_pandas(tmp_path, capsys):
    """CLI fuzz finding: after the shuffle by item a partition may hold no
    item; its Parquet part typed the label column null, and pandas refused to
    read the dataset. Empty partitions write no part now."""
    folder = tmp_path / "ratings"
    folder.mkdir()
    pd.DataFrame(
        {"video": [" lead", "00"], "subject": ["a0", "a0"], "mos": [1.0, 1.0]}
    ).to_parquet(folder / "p0.parquet", index=False)
    pd.DataFrame(
        {
            "video": ["00", " lead", " lead"],
            "subject": ["a1", "a1", "a2"],
            "mos": [1.0, 1.0, 4.0],
        }
    ).to_parquet(folder / "p1.parquet", index=False)
    out = tmp_path / "out"
    args = ["fit", str(folder), *NAMES, "--score", "mos", "--workers", "1"]
    assert main([*args, "-o", str(out), "-q"]) == 0, capsys.readouterr().err
    consensus = pd.read_parquet(out / "consensus")
    assert sorted(consensus["video"]) == [" lead", "00"]


@pytest.mark.parametrize(
    ("panel", "note", "on_the_page"),
    [
        (
            _hard_panel_of_few_raters,
            "Few raters per item: the median item has 4",
            "Few raters per item: the median item has 4",
        ),
        (
            _yes_no_panel_with_spammers,
            "Yes/no labels: a yes/no label says little",
            "Yes/no labels: a yes/no label says little",
        ),
        (
            _panel_with_an_offset_rater,
            "If r0 rates a constant step above or below everyone else, refit",
            "If they may rate a constant step above or below the others",
        ),
    ],
)
def test_the_dask_notes_from_the_fit_and_counts_are_the_in_memory_ones(
    tmp_path, capsys, panel, note, on_the_page
):
    """The notes on random verdicts from items with few raters, on verdicts
    from yes/no labels, and the hint to refit with --bias for raters whose
    ratings follow the items, need the fit, its levels and the items' rating
    counts alone, which a Dask fit has: the summary and the report page say
    what the in-memory ones say (a new user's finding: the hint was missing
    on Dask)."""
    pytest.importorskip("matplotlib")
    X = panel()
    rows, cols = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"video": rows, "subject": [f"r{c}" for c in cols], "score": X[rows, cols]}
    )
    whole = tmp_path / "panel.parquet"
    frame.to_parquet(whole, index=False)
    folder = tmp_path / "parts"
    folder.mkdir()
    for k in range(2):
        frame.iloc[k::2].to_parquet(folder / f"part-{k}.parquet", index=False)
    notes = {}
    for backend, source, extra in (
        ("memory", whole, []),
        ("dask", folder, ["--workers", "1"]),
    ):
        page = tmp_path / f"{backend}.html"
        args = ["fit", str(source), *NAMES, *extra, "--report", str(page)]
        assert main(args) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        notes[backend] = [x for x in out.splitlines() if x.startswith(note)]
        assert on_the_page in page.read_text()
    assert len(notes["memory"]) == 1
    assert notes["memory"] == notes["dask"]
