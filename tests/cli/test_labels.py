"""Item and annotator labels are text, compared and written as in the file.

Regression tests of issue 20, defect 1: skem 0.4.1 read the label columns
with numeric inference, which merged ``1e309``, ``1e310`` and ``1e311`` into
the item ``inf``, and ``1`` with ``1.0`` or ``001``.
"""

import io

import pytest

pd = pytest.importorskip("pandas")


def _ratings(items, annotators, path):
    """Every annotator rates every item, scores 1..5 in turn; a CSV file."""
    lines = ["item,annotator,score"]
    for k, item in enumerate(items):
        for j, annotator in enumerate(annotators):
            lines.append(f"{item},{annotator},{1 + (k + 2 * j) % 5}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _column(text, name):
    """A column of a CSV table, as the text written in the file."""
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)[name]


@pytest.mark.parametrize(
    "items",
    [
        ["1e309", "1e310", "1e311"],  # all 'inf' as numbers
        ["1", "1.0", "01"],  # all 1 as numbers
        ["001", "1", "0001"],  # zero-padded ids, as videos and subjects have
        ["True", "true", "1"],
        ["inf", "-inf", "Infinity"],
    ],
    ids=["overflow", "integer and float", "zero padding", "booleans", "infinities"],
)
def test_item_labels_that_look_like_numbers_stay_distinct_and_exact(
    tmp_path, run_main, items
):
    path = _ratings(items, ["a", "b", "c"], tmp_path / "r.csv")
    status, out, err = run_main("fit", path, "--consensus", "-")
    assert status == 0, err
    assert sorted(_column(out, "item")) == sorted(items)


def test_annotator_labels_that_look_like_numbers_stay_distinct_and_exact(
    tmp_path, run_main
):
    annotators = ["007", "7", "7.0", "1e400"]
    path = _ratings(["x", "y", "z", "w"], annotators, tmp_path / "r.csv")
    status, out, err = run_main("fit", path, "--annotators", "-")
    assert status == 0, err
    assert sorted(_column(out, "annotator")) == sorted(annotators)


def test_labels_are_written_to_the_files_exactly(tmp_path, run_main):
    items = ["001", "1", "1.0", "1e309"]
    path = _ratings(items, ["01", "1"], tmp_path / "r.csv")
    status, _, err = run_main("fit", path, "-o", tmp_path / "out")
    assert status == 0, err
    consensus = (tmp_path / "out" / "consensus.csv").read_text().splitlines()
    assert sorted(line.split(",")[0] for line in consensus[1:]) == sorted(items)
    annotators = (tmp_path / "out" / "annotators.csv").read_text().splitlines()
    assert sorted(line.split(",")[0] for line in annotators[1:]) == ["01", "1"]


def test_the_readmes_recipe_reads_the_labels_back_as_written(tmp_path, run_main):
    """The README's ``read_csv`` call gives the labels as written and the
    numbers as numbers, a missing one (an empty cell) as NaN."""
    items = ["007", "NA", "nan", "1", "1.0"]
    path = _ratings(items, ["01", "NULL"], tmp_path / "r.csv")
    status, _, err = run_main("fit", path, "-o", tmp_path / "out")
    assert status == 0, err
    read = {"keep_default_na": False, "na_values": [""]}
    consensus = pd.read_csv(
        tmp_path / "out" / "consensus.csv", dtype={"item": str}, **read
    )
    assert sorted(consensus["item"]) == sorted(items)
    assert consensus["consensus"].dtype == float
    annotators = pd.read_csv(
        tmp_path / "out" / "annotators.csv", dtype={"annotator": str}, **read
    )
    assert sorted(annotators["annotator"]) == ["01", "NULL"]
    assert annotators["p_good"].dtype == float
    table = io.StringIO("item,consensus\nNA,\n")
    blank = pd.read_csv(table, dtype={"item": str}, **read)
    assert blank["item"].tolist() == ["NA"] and blank["consensus"].isna().all()


def test_a_label_with_a_carriage_return_comes_back_whole(tmp_path, run_main):
    """CLI fuzz finding: the CSV writer quotes a field for a newline but not
    for a bare carriage return, which readers take for a line break: the
    label came back as two. To files and to stdout alike."""
    path = tmp_path / "r.csv"
    path.write_bytes(
        b'item,annotator,score\n"i\r1","a\rb",1\n"i\r1",c,2\ni2,"a\rb",2\ni2,c,3\n'
    )
    status, _, err = run_main("fit", path, "-o", tmp_path / "out")
    assert status == 0, err
    people = (tmp_path / "out" / "annotators.csv").read_bytes().decode()
    assert sorted(_column(people, "annotator")) == ["a\rb", "c"]
    clips = (tmp_path / "out" / "consensus.csv").read_bytes().decode()
    assert sorted(_column(clips, "item")) == ["i\r1", "i2"]
    status, out, _ = run_main("fit", path, "--annotators", "-")
    assert sorted(_column(out, "annotator")) == ["a\rb", "c"]


def test_the_same_label_twice_is_still_a_repeat(tmp_path, run_main, one_line_error):
    """Text labels compare exactly: '001' twice is one item rated twice."""
    path = tmp_path / "r.csv"
    path.write_text("item,annotator,score\n001,a,3\n1,a,4\n001,a,5\n")
    status, _, err = run_main("fit", path)
    one_line_error(
        status, err, "annotator a rated item 001 more than once, on line 2 and line 4"
    )


@pytest.mark.parametrize("marker", ["NA", "nan", "NaN", "None", "null", "N/A"])
def test_missing_value_markers_are_labels_as_written(tmp_path, run_main, marker):
    """'NA' or 'nan' in a label column is a label (initials, an id), kept."""
    path = _ratings(["x", marker, "y"], ["a", marker, "b"], tmp_path / "r.csv")
    status, out, err = run_main("fit", path, "--consensus", "-")
    assert status == 0, err
    assert marker in set(_column(out, "item"))


@pytest.mark.parametrize(
    "content, message",
    [
        ("item,annotator,score\n1,a,3\n,b,4\n", "line 3 has no item label"),
        ("item,annotator,score\n1,a,3\n1,,4\n", "line 3 has no annotator label"),
        ("item,annotator,score\n1,a,3\n  ,b,4\n", "line 3 has no item label"),
        ('item,annotator,score\n1,a,3\n1,b,4\n"",c,5\n', "line 4 has no item label"),
    ],
    ids=["empty item", "empty annotator", "blank item", "quoted empty"],
)
def test_an_empty_label_is_refused_with_its_line(
    tmp_path, run_main, one_line_error, content, message
):
    path = tmp_path / "r.csv"
    path.write_text(content)
    status, _, err = run_main("fit", path)
    one_line_error(status, err, message)


def test_missing_scores_still_know_the_markers(tmp_path, run_main, one_line_error):
    path = tmp_path / "r.csv"
    path.write_text("item,annotator,score\n1,a,3\n1,b,NA\n")
    status, _, err = run_main("fit", path)
    one_line_error(status, err, "line 3 has no score in column 'score'")


def test_parquet_labels_become_their_text(tmp_path, run_main):
    """Parquet keeps types: text labels stay as they are, numbers and
    booleans become their usual text, and null is a missing label."""
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {
            "item": [
                "001",
                "1",
                "1.0",
                "1e309",
                "NA",
                "001",
                "1",
                "1.0",
                "1e309",
                "NA",
            ],
            "annotator": [7] * 5 + [8] * 5,
            "score": [1.0, 2.0, 3.0, 4.0, 5.0, 1.5, 2.5, 3.5, 4.5, 5.0],
        }
    )
    path = tmp_path / "r.parquet"
    frame.to_parquet(path)
    status, out, err = run_main("fit", path, "--consensus", "-")
    assert status == 0, err
    assert sorted(_column(out, "item")) == sorted(["001", "1", "1.0", "1e309", "NA"])
    status, out, err = run_main("fit", path, "--annotators", "-")
    assert sorted(_column(out, "annotator")) == ["7", "8"]

    frame["item"] = frame["item"].where(frame.index != 3, None)
    frame.to_parquet(path)
    status, _, err = run_main("fit", path)
    assert status == 2 and "row 4 has no item label" in err


def test_float_parquet_labels_show_their_shortest_text(tmp_path, run_main):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {
            "item": [1.0, 1.5, 1e20] * 2,
            "annotator": [True] * 3 + [False] * 3,
            "score": [1.0, 2.0, 3.0, 1.5, 2.5, 3.5],
        }
    )
    path = tmp_path / "r.parquet"
    frame.to_parquet(path)
    status, out, err = run_main("fit", path, "-o", tmp_path / "out")
    assert status == 0, err
    consensus = (tmp_path / "out" / "consensus.csv").read_text()
    assert sorted(_column(consensus, "item")) == ["1.0", "1.5", "1e+20"]
    annotators = (tmp_path / "out" / "annotators.csv").read_text()
    assert sorted(_column(annotators, "annotator")) == ["False", "True"]


def test_binary_parquet_labels_that_are_not_utf8_are_refused_not_merged(
    tmp_path, run_main, one_line_error, binary_labels
):
    """Decoded with replacement characters, Latin-1 'café' and 'cafè' were
    one annotator; UTF-8 bytes are still their text."""
    pytest.importorskip("pyarrow")
    latin1, utf8 = binary_labels
    path = tmp_path / "r.parquet"
    latin1.to_parquet(path)
    status, _, err = run_main("fit", path)
    one_line_error(status, err, "row 1", "'annotator'", "not UTF-8")

    utf8.to_parquet(path)
    status, out, err = run_main("fit", path, "--annotators", "-")
    assert status == 0, err
    assert sorted(_column(out, "annotator")) == ["anné", "b"]


def test_labels_alike_but_for_their_spaces_are_named_quoted(tmp_path, run_main):
    """Practitioner's finding: '7' and '7 ' were two annotators, as written,
    but the summary and the report showed both as 7, and nothing said so."""
    path = _ratings(["x", "y", "z", "w"], ["7", "7 ", "a", "b"], tmp_path / "r.csv")
    report = tmp_path / "report.html"
    status, out, err = run_main("fit", path, "--report", report)
    assert status == 0, err
    assert (
        "2 annotator labels differ only in their spaces and count as different "
        "annotators, as written: 7 and '7 '. Trim them in the file if they are "
        "the same." in out
    )
    assert "item label" not in out
    assert "<td>&#x27;7 &#x27;</td>" in report.read_text(encoding="utf-8")


def test_a_label_with_an_escape_sequence_is_shown_escaped(tmp_path, run_main):
    """Reviewer's finding: the summary's lists of annotators printed a
    label's ESC sequence raw, to act on the terminal."""
    path = _ratings(["x", "y", "z", "w"], ["r\x1b[7mX", "a", "b"], tmp_path / "r.csv")
    status, out, err = run_main("fit", path)
    assert status == 0, err
    assert "\x1b" not in out
    assert "'r\\x1b[7mX'" in out


def test_averaged_repeats_are_counted_in_the_summary(tmp_path, run_main):
    """Practitioner's finding: --duplicates mean averaged repeated pairs and
    the summary's count of ratings fell short of the rows unexplained."""
    path = _ratings(["x", "y", "z"], ["a", "b", "c"], tmp_path / "r.csv")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[1], lines[1], lines[5]]) + "\n")
    status, out, err = run_main("fit", path, "--duplicates", "mean")
    assert status == 0, err
    assert "(9 ratings" in out
    assert (
        "3 rows repeated an (item, annotator) pair of an earlier row, and each "
        "was averaged with it (--duplicates mean)." in out
    )
    status, out, err = run_main("fit", _ratings(["x", "y", "z"], ["a", "b", "c"], path))
    assert status == 0, err
    assert "repeat an (item, annotator) pair" not in out
