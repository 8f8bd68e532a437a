"""Fit ratings beyond one machine: the annotator models on a Dask cluster.

Needs the optional dependencies: ``pip install 'dask[dataframe]' distributed
pyarrow`` (from a checkout of skem, ``pip install '.[dask]'``). The core
package never imports Dask.
"""

try:
    import dask.dataframe  # noqa: F401
    import distributed  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "skem.dask needs Dask: pip install 'dask[dataframe]' distributed pyarrow."
    ) from error

from skem.dask._estimator import (
    DaskAnnotatorEM,
    DaskHardAnnotatorEM,
    InMemoryModel,
)

__all__ = ["DaskAnnotatorEM", "DaskHardAnnotatorEM", "InMemoryModel"]
