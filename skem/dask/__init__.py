"""Fit ratings beyond one machine: the annotator models on a Dask cluster.

Needs the optional dependencies: ``pip install 'dask[dataframe]>=2024.12'
'distributed>=2024.12' pyarrow`` (from a checkout of skem, ``pip install
'.[dask]'``). The core package never imports Dask.
"""

try:
    import dask.dataframe  # noqa: F401
    import distributed  # noqa: F401
except ImportError as error:
    # Installed but mismatched releases fail here too (an old distributed
    # beside a new dask): say which, not only that Dask is missing.
    raise ImportError(
        "skem.dask needs dask[dataframe] and distributed, 2024.12 or later and "
        "of the same release, and pyarrow: pip install 'dask[dataframe]>=2024.12' "
        "'distributed>=2024.12' pyarrow (from a checkout of skem, pip install "
        f"'.[dask]'). Importing them failed: {error}"
    ) from error

from skem.dask._estimator import (
    DaskAnnotatorEM,
    DaskHardAnnotatorEM,
    InMemoryModel,
)

__all__ = ["DaskAnnotatorEM", "DaskHardAnnotatorEM", "InMemoryModel"]
