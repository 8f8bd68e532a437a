"""Start-up of the ``skem`` command: ``skem --version`` and ``skem --help``.

Each command runs in a fresh interpreter, as a user runs it; the table gives
the median wall time of the whole process, and the heavy packages it loaded
(none expected: the command imports scikit-learn, SciPy, pandas and Dask only
once it fits).
"""

import json
import subprocess
import sys

from benchmarks._common import median_time, table

# Run in the child: the command, then which heavy packages it loaded.
_PROBE = (
    "import contextlib, io, json, sys\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    from skem._cli import main\n"
    "    main(sys.argv[1:])\n"
    "heavy = {'sklearn', 'scipy', 'pandas', 'dask', 'numpy'}\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n"
)


def startup_table(quick=False):
    """The wall time of ``skem --version`` and ``skem --help``.

    Parameters
    ----------
    quick : bool, default=False
        3 runs of each command instead of 7.

    Returns
    -------
    table : str
        Markdown.
    note : str
    """
    repeats = 3 if quick else 7
    rows = []
    for argv in (["--version"], ["--help"]):

        def run(argv=argv):
            return subprocess.run(
                [sys.executable, "-c", _PROBE, *argv],
                capture_output=True,
                text=True,
                check=True,
            )

        seconds, result = median_time(run, repeats)
        heavy = json.loads(result.stdout) or ["none"]
        rows.append([f"skem {argv[0]}", seconds * 1e3, ", ".join(heavy)])
    note = (
        f"Median of {repeats} runs, each a fresh interpreter (the interpreter's "
        "own start included). skem 0.4.1 imported scikit-learn, SciPy and "
        "pandas first: 2.6 s wall for --version on the 2-core machine of this "
        "change, under load."
    )
    return table(["command", "ms", "heavy packages loaded"], rows), note


if __name__ == "__main__":
    result, note = startup_table()
    print(result, note, sep="\n\n")
