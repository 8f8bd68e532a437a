"""A LocalCluster set up for EM's blocks."""

import contextlib


@contextlib.contextmanager
def _local_cluster(n_workers, dashboard_address=None, **kwargs):
    """A ``LocalCluster`` of ``n_workers`` single-threaded worker processes.

    Two settings differ from Dask's defaults, both measured in
    ``python -m benchmarks``: the workers keep glibc's own
    ``MALLOC_TRIM_THRESHOLD_`` (Dask's 64 KiB also fixes the mmap threshold,
    so that every block-sized scratch array of every task is mapped and
    page-faulted afresh: EM iterations took 1.5 times as long), and they
    neither spill to disk nor pause at 80% of their memory limit, since the
    blocks are the data that every iteration reads: a paused worker holding
    them stalls the fit for good. A worker that passes 95% of its limit is
    still restarted, and its blocks recomputed.

    Parameters
    ----------
    n_workers : int
    dashboard_address : str, default=None
        Where to serve Dask's dashboard, e.g. ``":8787"``; None for none.
        Without a dashboard the scheduler's small HTTP server (health
        checks) still starts, on Dask's dashboard port by default: it takes a
        free port instead, so that a taken 8787 never warns.
    **kwargs
        More arguments of :class:`distributed.LocalCluster`.

    Yields
    ------
    cluster : distributed.LocalCluster
    """
    import dask
    import distributed

    settings = {
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
        "distributed.worker.memory.target": False,
        "distributed.worker.memory.spill": False,
        "distributed.worker.memory.pause": False,
    }
    if dashboard_address is None:
        kwargs["scheduler_kwargs"] = {
            "dashboard_address": ":0",
            **kwargs.get("scheduler_kwargs", {}),
        }
    with (
        dask.config.set(settings),
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=dashboard_address,
            **kwargs,
        ) as cluster,
    ):
        yield cluster
