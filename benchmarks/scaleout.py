"""Scale-out: the Dask estimator on a LocalCluster against the in-memory fit.

For each size a Parquet dataset of long-format ratings is generated (one item
rated by 10 annotators, 30% of the annotators random), then fitted twice in
the same run: by ``AnnotatorEM`` from a rating matrix built in memory, and by
``DaskAnnotatorEM`` on a ``LocalCluster`` of 2 worker processes with one
thread each. Each fit is split into its setup (reading, and for Dask the
shuffle by item and the blocks) and its EM iterations, timed by wrapping the
EM driver, so that both are measured the same way. Peak memory is the peak
resident set size: of a child process for the in-memory fit, of each worker
(a fresh cluster per size) for Dask.
"""

import multiprocessing
import resource
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks._common import Skipped, table

RATINGS_PER_ITEM = 10
BAD_FRACTION = 0.3
ROWS_PER_FILE = 2_000_000
# The in-memory fit runs up to this size: beyond it, it would not fit beside
# the cluster in this machine's memory.
MAX_IN_MEMORY = 10_000_000


def _write_dataset(folder, n_ratings, seed=0):
    """Long-format ratings in Parquet files; returns the number of files."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_items = n_ratings // RATINGS_PER_ITEM
    n_annotators = max(100, n_ratings // 1000)
    sigma = rng.uniform(0.05, 0.2, n_annotators)
    bad = rng.random(n_annotators) < BAD_FRACTION
    n_files = max(4, -(-n_ratings // ROWS_PER_FILE))
    items_per_file = -(-n_items // n_files)
    for k in range(n_files):
        items = np.arange(k * items_per_file, min(n_items, (k + 1) * items_per_file))
        if items.size == 0:
            break
        truth = rng.uniform(0.1, 0.9, items.size)
        # Ten distinct annotators per item: a random start and stride mod n.
        start = rng.integers(0, n_annotators, items.size)[:, None]
        annotator = (start + np.arange(RATINGS_PER_ITEM) * 7) % n_annotators
        annotator = annotator.ravel()
        item = np.repeat(items, RATINGS_PER_ITEM)
        good = np.repeat(truth, RATINGS_PER_ITEM) + sigma[annotator] * (
            rng.standard_normal(item.size)
        )
        score = np.where(bad[annotator], rng.random(item.size), np.clip(good, 0.0, 1.0))
        pd.DataFrame({"item": item, "annotator": annotator, "score": score}).to_parquet(
            folder / f"part-{k:04d}.parquet", index=False
        )
    return n_files


class _EMTimer:
    """Time the EM driver (``_BaseEM._fit_em``) of whatever fit runs inside.

    ``iterations`` counts the iterations of every run (``init='auto'`` makes
    two), so that ``seconds / iterations`` is the time of one iteration.
    """

    def __enter__(self):
        from skem._em.driver import _BaseEM

        self._originals = _BaseEM._fit_em, _BaseEM._run_em
        self.seconds = 0.0
        self.iterations = 0
        timer = self

        def timed(estimator, *args, **kwargs):
            start = time.perf_counter()
            try:
                return timer._originals[0](estimator, *args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - start

        def counted(estimator, *args, **kwargs):
            run = timer._originals[1](estimator, *args, **kwargs)
            timer.iterations += run["n_iter"]
            return run

        _BaseEM._fit_em, _BaseEM._run_em = timed, counted
        return self

    def __exit__(self, *exc):
        from skem._em.driver import _BaseEM

        _BaseEM._fit_em, _BaseEM._run_em = self._originals


def _in_memory_fit(folder, queue):
    """Child process: read, pivot and fit in memory; report times and peak RSS."""
    import pandas as pd

    from skem import AnnotatorEM, long_to_matrix

    start = time.perf_counter()
    with warnings.catch_warnings(), _EMTimer() as timer:
        warnings.simplefilter("ignore")
        frame = pd.read_parquet(folder)
        matrix = long_to_matrix(frame)
        del frame
        em = AnnotatorEM().fit(matrix.X)
    total = time.perf_counter() - start
    queue.put(
        {
            "setup": total - timer.seconds,
            "em": timer.seconds,
            "n_iter": em.n_iter_,
            "iterations": timer.iterations,
            "peak": _peak_rss(),
            "weights": em.weights_,
        }
    )


def _run_in_memory(folder):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_in_memory_fit, args=(folder, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def _peak_rss():
    """This process's peak resident set size, in bytes.

    ``VmHWM`` from ``/proc/self/status`` where there is one: ``ru_maxrss``
    carries over the parent's peak into a child started by fork and exec.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _run_dask(folder):
    import dask
    import dask.dataframe as dd
    import distributed

    from skem.dask import DaskAnnotatorEM
    from skem.dask._cluster import _local_cluster

    with (
        dask.config.set({"distributed.logging.distributed": "error"}),
        _local_cluster(2, silence_logs=40) as cluster,
        distributed.Client(cluster) as client,
        warnings.catch_warnings(),
        _EMTimer() as timer,
    ):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        em = DaskAnnotatorEM().fit(dd.read_parquet(str(folder)))
        total = time.perf_counter() - start
        peaks = list(client.run(_peak_rss).values())
        n_blocks = len(em._consensus_parts)
        return {
            "setup": total - timer.seconds,
            "em": timer.seconds,
            "n_iter": em.n_iter_,
            "iterations": timer.iterations,
            "peak": max(peaks),
            "n_blocks": n_blocks,
            "weights": em.weights_,
        }


def scaleout_table(quick=False):
    """Setup and per-iteration time of the Dask fit, as ratios to in-memory."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as error:
        raise Skipped(
            "needs dask[dataframe] and distributed 2024.12 or later, of the same "
            f"release, and pyarrow: pip install -e '.[dask]' ({error})"
        ) from None
    sizes = [20_000] if quick else [1_000_000, 10_000_000, 100_000_000]
    rows = []
    notes = []
    bytes_per_rating = None
    for n_ratings in sizes:
        folder = Path(tempfile.mkdtemp(prefix="skem-scaleout-"))
        try:
            n_files = _write_dataset(folder, n_ratings)
            dask_fit = _run_dask(folder)
            memory = _run_in_memory(folder) if n_ratings <= MAX_IN_MEMORY else None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        per_iteration = dask_fit["em"] / dask_fit["iterations"]
        if memory is not None:
            bytes_per_rating = memory["peak"] / n_ratings
            difference = np.max(np.abs(memory["weights"] - dask_fit["weights"]))
            memory_iteration = memory["em"] / memory["iterations"]
            rows.append(
                [
                    f"{n_ratings:.0e}",
                    f"{n_files} / {dask_fit['n_blocks']}",
                    f"{memory['setup']:.1f} s / {dask_fit['setup']:.1f} s",
                    f"{dask_fit['setup'] / memory['setup']:.2f}",
                    f"{memory_iteration:.3f} s / {per_iteration:.3f} s",
                    f"{per_iteration / memory_iteration:.2f}",
                    f"{memory['n_iter']} / {dask_fit['n_iter']}",
                    f"{memory['peak'] / 2**30:.2f} / {dask_fit['peak'] / 2**30:.2f}",
                    f"{difference:.1e}",
                ]
            )
        else:
            rows.append(
                [
                    f"{n_ratings:.0e}",
                    f"{n_files} / {dask_fit['n_blocks']}",
                    f"not run / {dask_fit['setup']:.1f} s",
                    "",
                    f"not run / {per_iteration:.3f} s",
                    "",
                    f"- / {dask_fit['n_iter']}",
                    f"not run / {dask_fit['peak'] / 2**30:.2f}",
                    "",
                ]
            )
            estimate = (
                ""
                if bytes_per_rating is None
                else f" (about {bytes_per_rating * n_ratings / 2**30:.0f} GiB "
                f"at the {bytes_per_rating:.0f} bytes per rating of the "
                "largest in-memory fit above)"
            )
            notes.append(
                f"At {n_ratings:.0e} ratings the in-memory fit is not run: it "
                f"would not fit in this machine's memory{estimate}."
            )
        throughput = n_ratings / per_iteration / 2
        notes.append(
            f"{n_ratings:.0e}: {throughput / 1e6:.1f} million ratings per second "
            f"per worker per EM iteration, {dask_fit['peak'] / n_ratings * 2:.0f} "
            "bytes per rating at the workers' peak."
        )
    result = table(
        [
            "ratings",
            "files / blocks",
            "setup: memory / Dask",
            "setup ratio",
            "per iteration: memory / Dask",
            "iteration ratio",
            "n_iter",
            "peak GiB: process / worker",
            "max |weights diff|",
        ],
        rows,
    )
    note = (
        "LocalCluster of 2 worker processes x 1 thread on this machine's "
        f"{multiprocessing.cpu_count()} cores; default model form and init "
        "('auto': 3 iterations from each start, then the run ahead alone; "
        "every iteration counts in the time per iteration, n_iter is the "
        "kept run's). Ratios are "
        "Dask / in-memory, measured in the same run. Setup is everything "
        "before EM: for in-memory, reading the files and building the rating "
        "matrix; for Dask, reading, the shuffle by item and the blocks. "
        + " ".join(notes)
    )
    return result, note
