"""Fuzzing the ``skem fit`` command with malformed, corrupt and compressed files.

Every file, however broken, must end in one of two ways: exit 0 with the
outputs written, or exit 2 with exactly one ``skem: error:`` line on stderr and
no output file. ``SKEM_FUZZ_CLI_CASES`` sets the number of files (default 120,
a few seconds; e.g. 5000 for a local hunt). Case ``k`` uses seed ``k``.
"""

import bz2
import contextlib
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


def _valid_text(rng):
    """A well-formed ratings table in one of the accepted layouts."""
    header = HEADERS[int(rng.integers(len(HEADERS)))]
    sep = header[4]
    n_items, n_annotators = int(rng.integers(1, 8)), int(rng.integers(1, 6))
    lines = [header]
    integer = rng.uniform() < 0.5
    for item in range(n_items):
        for annotator in range(n_annotators):
            if rng.uniform() < 0.3:
                continue
            score = (
                str(int(rng.integers(1, 6))) if integer else f"{rng.uniform(-5, 5):.3f}"
            )
            if sep == ";":
                score = score.replace(".", ",")
            lines.append(sep.join([f"i{item}", f"a{annotator}", score]))
    return "\n".join(lines) + "\n"


def _mutate(text, rng):
    """Break a table the ways files break: bad cells, ragged rows, junk."""
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
        return text.encode() + bytes(rng.integers(0, 256, int(rng.integers(1, 64))))
    elif kind == "header_only":
        lines = lines[:1]
    elif kind == "empty":
        return b""
    elif kind == "truncate":
        data = text.encode()
        return data[: int(rng.integers(0, max(len(data), 1)))]
    elif kind == "duplicate" and row:
        lines.append(lines[row])
    elif kind == "quote" and row:
        lines[row] = '"' + lines[row]
    return ("\n".join(lines) + "\n").encode()


def _compress(data, name, rng):
    """Maybe compress, maybe corrupt the compressed stream."""
    kind = rng.choice(["plain", "plain", "gz", "xz", "bz2", "zip"])
    if kind == "plain":
        return data, name
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
    return packed, name


@pytest.mark.parametrize("seed", range(N_CASES))
def test_fuzzed_files_exit_0_with_outputs_or_2_with_one_line(seed, tmp_path, capsys):
    """A random, possibly broken or corrupt-compressed file never gives a
    traceback: exit 0 and both outputs, or exit 2, one line, no output."""
    rng = np.random.default_rng(seed)
    data, name = _compress(_mutate(_valid_text(rng), rng), "ratings.csv", rng)
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / "out"
    with contextlib.redirect_stdout(io.StringIO()):
        status = main(["fit", str(path), "-q", "-o", str(out)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    if status == 0:
        assert (out / "consensus.csv").is_file() and (out / "annotators.csv").is_file()
    else:
        assert status == 2, err
        assert len(lines) == 1 and lines[0].startswith("skem: error: "), err
        assert "Traceback" not in err
        assert not (out / "consensus.csv").exists()
