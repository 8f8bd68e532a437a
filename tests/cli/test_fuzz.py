"""Fuzzing the ``skem fit`` command with malformed, corrupt and compressed files.

Every file, however broken, must end in one of two ways: exit 0 with the
outputs written, or exit 2 with exactly one ``skem: error:`` line on stderr and
no output file. Half of the files use labels that numeric inference would
merge or rewrite (``001``, ``1.0``, ``1e309``, ``inf``, ``True``, ``NA``...):
a file left whole must then come back with exactly its labels, as written.
``SKEM_FUZZ_CLI_CASES`` sets the number of files (default 120, a few seconds;
600 for the issue's run, 5000 for a local hunt). Case ``k`` uses seed ``k``.
"""

import bz2
import contextlib
import csv
import gzip
import io
import lzma
import os
import zipfile

import numpy as np
import pytest

from skem._cli import main

N_CASES = int(os.environ.get("SKEM_FUZZ_CLI_CASES", "120"))

HEADERS = ["item,annotator,score", "item\tannotator\tscore", "item;annotator;score"]

# Labels that look like numbers, booleans or missing-value markers: each is
# a label of its own, kept as written.
TRICKY_LABELS = [
    "001",
    "01",
    "1",
    "1.0",
    "1.00",
    "+1",
    "1e5",
    "1e309",
    "1e310",
    "-1e309",
    "inf",
    "-inf",
    "Infinity",
    "True",
    "true",
    "False",
    "NA",
    "nan",
    "NaN",
    "None",
    "null",
    "N/A",
    "#N/A",
    "<NA>",
    "0x1F",
    "1_000",
    " 7",
    "007 ",
]


def _labels(rng, n, prefix):
    """``n`` distinct labels: plain ones, or (half the time) tricky ones."""
    if rng.uniform() < 0.5:
        return [f"{prefix}{k}" for k in range(n)]
    pool = TRICKY_LABELS + [f"{prefix}{k}" for k in range(n)]
    return [str(label) for label in rng.choice(pool, size=n, replace=False)]


def _valid_text(rng):
    """A well-formed ratings table in one of the accepted layouts.

    Returns the text and the item and annotator labels that have a rating.
    """
    header = HEADERS[int(rng.integers(len(HEADERS)))]
    sep = header[4]
    n_items, n_annotators = int(rng.integers(1, 8)), int(rng.integers(1, 6))
    items, annotators = _labels(rng, n_items, "i"), _labels(rng, n_annotators, "a")
    if rng.uniform() < 0.05:  # an empty label: refused, with its line
        items[int(rng.integers(n_items))] = ""
    lines = [header]
    integer = rng.uniform() < 0.5
    rated_items, rated_annotators = set(), set()
    for item in items:
        for annotator in annotators:
            if rng.uniform() < 0.3:
                continue
            score = (
                str(int(rng.integers(1, 6))) if integer else f"{rng.uniform(-5, 5):.3f}"
            )
            if sep == ";":
                score = score.replace(".", ",")
            lines.append(sep.join([item, annotator, score]))
            rated_items.add(item)
            rated_annotators.add(annotator)
    return "\n".join(lines) + "\n", rated_items, rated_annotators


def _mutate(text, rng):
    """Break a table the ways files break: bad cells, ragged rows, junk.

    Returns the bytes and whether they are the table unchanged.
    """
    lines = text.splitlines()
    kind = rng.choice(
        [
            "none",
            "none",
            "none",
            "bad_score",
            "huge_score",
            "empty_cell",
            "ragged",
            "junk_bytes",
            "header_only",
            "empty",
            "truncate",
            "duplicate",
            "quote",
        ]
    )
    row = int(rng.integers(1, max(len(lines), 2))) if len(lines) > 1 else 0
    if kind == "none":
        return text.encode(), True
    if kind == "bad_score" and row:
        lines[row] = lines[row][:-1] + "x"
    elif kind == "huge_score" and row:
        cells = lines[row].replace("\t", ",").replace(";", ",").split(",")
        lines[row] = lines[row].replace(cells[-1], "9" * 400)
    elif kind == "empty_cell" and row:
        lines[row] = lines[row][: lines[row].rfind(lines[row][-1])]
    elif kind == "ragged" and row:
        lines[row] += ",extra,cells"
    elif kind == "junk_bytes":
        junk = bytes(rng.integers(0, 256, int(rng.integers(1, 64))))
        return text.encode() + junk, False
    elif kind == "header_only":
        lines = lines[:1]
    elif kind == "empty":
        return b"", False
    elif kind == "truncate":
        data = text.encode()
        return data[: int(rng.integers(0, max(len(data), 1)))], False
    elif kind == "duplicate" and row:
        lines.append(lines[row])
    elif kind == "quote" and row:
        lines[row] = '"' + lines[row]
    return ("\n".join(lines) + "\n").encode(), False


def _compress(data, name, rng):
    """Maybe compress, maybe corrupt the compressed stream.

    Returns the bytes, the file name and whether the stream is intact.
    """
    kind = rng.choice(["plain", "plain", "gz", "xz", "bz2", "zip"])
    if kind == "plain":
        return data, name, True
    if kind == "gz":
        packed, name = gzip.compress(data), name + ".gz"
    elif kind == "xz":
        packed, name = lzma.compress(data), name + ".xz"
    elif kind == "bz2":
        packed, name = bz2.compress(data), name + ".bz2"
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("ratings.csv", data)
        packed, name = buffer.getvalue(), name + ".zip"
    if rng.uniform() < 0.5:  # truncate or flip bytes of the compressed stream
        if rng.uniform() < 0.5:
            packed = packed[: int(rng.integers(0, len(packed)))]
        else:
            corrupt = bytearray(packed)
            for position in rng.integers(0, len(corrupt), 3):
                corrupt[position] ^= 0xFF
            packed = bytes(corrupt)
        return packed, name, False
    return packed, name, True


def _column(path, name):
    """A column of an output CSV, as the text written in the file."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return sorted(row[rows[0].index(name)] for row in rows[1:])


@pytest.mark.parametrize("seed", range(N_CASES))
def test_fuzzed_files_exit_0_with_outputs_or_2_with_one_line(seed, tmp_path, capsys):
    """A random, possibly broken or corrupt-compressed file never gives a
    traceback: exit 0 and both outputs, or exit 2, one line, no output; a
    whole file's labels come back exactly as written."""
    rng = np.random.default_rng(seed)
    text, items, annotators = _valid_text(rng)
    data, whole = _mutate(text, rng)
    data, name, intact = _compress(data, "ratings.csv", rng)
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / "out"
    with contextlib.redirect_stdout(io.StringIO()):
        status = main(["fit", str(path), "-q", "-o", str(out)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    if status == 0:
        assert (out / "consensus.csv").is_file() and (out / "annotators.csv").is_file()
        if whole and intact:
            assert _column(out / "consensus.csv", "item") == sorted(items)
            assert _column(out / "annotators.csv", "annotator") == sorted(annotators)
    else:
        assert status == 2, err
        assert len(lines) == 1 and lines[0].startswith("skem: error: "), err
        assert "Traceback" not in err
        assert not (out / "consensus.csv").exists()
        if whole and intact:
            # Only no rating, an empty label, or ratings that judge nobody
            # (one annotator, or no item rated twice) refuse it.
            assert (
                not items
                or ("" in items and "has no item label" in lines[0])
                or "Cannot judge annotators" in lines[0]
            ), err
