"""The ``skem`` command (``skem`` or ``python -m skem``).

Modules, from the entry point down; each imports only those below it:

- ``main``: :func:`main`, the exit codes, the one place that maps errors to
  them;
- ``parser``: the arguments (imports nothing heavy, for ``--help``);
- ``local`` and ``on_dask``: ``skem fit`` in this process (and ``skem
  demo``), and on a Dask cluster;
- ``fitting``: the fit-and-report step both share (progress through the
  driver's per-iteration callback, the summary, the report page);
- ``results``: the two tables, one schema for every backend, and the
  plain-words summary;
- ``reading``, ``checking``, ``writing``: files in, ratings checked, files
  out, whole or not at all;
- ``messages``: the user-input error and how values show (a leaf).
"""

from skem._cli.main import ExitCode, main

__all__ = ["ExitCode", "main"]
