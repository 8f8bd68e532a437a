"""``skem fit --workers N`` / ``--scheduler``: a Parquet dataset fitted on Dask."""

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from skem._cli import main  # noqa: E402
from skem.datasets import load_video_quality  # noqa: E402


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The bundled Netflix ratings in three Parquet files, items split over them."""
    folder = tmp_path_factory.mktemp("ratings")
    frame = load_video_quality(as_frame=True).frame
    for k in range(3):
        frame.iloc[k::3].to_parquet(folder / f"part-{k}.parquet", index=False)
    whole = folder.parent / "whole.parquet"
    frame.to_parquet(whole, index=False)
    return folder, whole


def test_a_parquet_folder_on_a_local_cluster_gives_the_in_memory_tables(
    dataset, tmp_path, capsys
):
    """The consensus dataset and the annotator CSV of --workers 2 hold the
    numbers of the in-memory command on the same ratings, to 1e-10."""
    folder, whole = dataset
    assert main(["fit", str(whole), "-o", str(tmp_path / "memory"), "-q"]) == 0
    status = main(["fit", str(folder), "--workers", "2", "-o", str(tmp_path / "dask")])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "DaskAnnotatorEM: 79 items, 30 annotators, 2370 ratings" in out
    assert "flagged as unreliable: 4 of 30 annotators (26, 27, 28, 29)" in out

    memory = pd.read_csv(tmp_path / "memory" / "consensus.csv").set_index("item")
    dask = pd.read_parquet(tmp_path / "dask" / "consensus").set_index("item")
    assert len(list((tmp_path / "dask" / "consensus").iterdir())) >= 1
    dask = dask.loc[memory.index]
    for column in ("consensus", "std_error", "ci_low", "ci_high"):
        np.testing.assert_allclose(dask[column], memory[column], rtol=1e-10)
    memory = pd.read_csv(tmp_path / "memory" / "annotators.csv")
    dask = pd.read_csv(tmp_path / "dask" / "annotators.csv")
    np.testing.assert_array_equal(dask["annotator"], memory["annotator"])
    np.testing.assert_allclose(dask["weight"], memory["weight"], rtol=1e-10)
    assert {"sigma", "bias", "log_posterior"} <= set(dask.columns)


def test_a_glob_and_a_replaced_dataset(dataset, tmp_path, capsys):
    """A glob selects the files; a second run replaces the dataset whole."""
    folder, _ = dataset
    target = tmp_path / "consensus"
    args = ["fit", str(folder / "part-*.parquet"), "--workers", "1", "-q"]
    assert main([*args, "--consensus", str(target), "--hard"]) == 0
    first = sorted(p.name for p in target.iterdir())
    (target / "stale.parquet").write_bytes(b"left from before")
    assert main([*args, "--consensus", str(target), "--annotators", "-"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-31].startswith("annotator,weight,good")
    assert sorted(p.name for p in target.iterdir()) == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "options, message",
    [
        (["--consensus", "-"], "needs a folder for the Parquet dataset"),
        (["--duplicates", "mean"], "--duplicates mean is not available"),
        (["--sep", ";"], "--sep and --decimal apply to CSV files"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--score", "rating"], "no column 'rating'"),
    ],
)
def test_bad_options_and_data_are_one_line_and_exit_2(
    dataset, capsys, options, message
):
    folder, _ = dataset
    if "--workers" not in options:
        options = [*options, "--workers", "1"]
    assert main(["fit", str(folder), "-q", *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_missing_input_and_unreachable_scheduler_are_one_line(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("skem._cli_dask._CONNECT_TIMEOUT", "1s")
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
