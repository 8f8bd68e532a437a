"""Write small intersphinx inventories for the projects the docs link to.

The docs build offline (CI reaches package registries only), so intersphinx
cannot download numpy's or scikit-learn's ``objects.inv``. These files list
the objects skem's docs refer to, with their public documentation pages, in
Sphinx's inventory format (version 2).
"""

import zlib
from pathlib import Path

PROJECTS = {
    "numpy": (
        "NumPy",
        {
            "numpy.ndarray": ("py:class", "reference/generated/numpy.ndarray.html#$"),
            "numpy.nan": ("py:data", "reference/constants.html#$"),
            "numpy.bincount": ("py:function", "reference/generated/$.html#$"),
            "numpy.random.RandomState": (
                "py:class",
                "reference/random/legacy.html#$",
            ),
        },
    ),
    "scipy": (
        "SciPy",
        {
            "scipy.sparse.csr_matrix": ("py:class", "reference/generated/$.html#$"),
            "scipy.sparse.csr_array": ("py:class", "reference/generated/$.html#$"),
            "scipy.sparse.coo_matrix": ("py:class", "reference/generated/$.html#$"),
        },
    ),
    "sklearn": (
        "scikit-learn",
        {
            name: (role, "modules/generated/$.html#$")
            for name, role in {
                "sklearn.pipeline.Pipeline": "py:class",
                "sklearn.pipeline.make_pipeline": "py:function",
                "sklearn.compose.ColumnTransformer": "py:class",
                "sklearn.model_selection.GridSearchCV": "py:class",
                "sklearn.model_selection.cross_val_score": "py:function",
                "sklearn.mixture.GaussianMixture": "py:class",
                "sklearn.exceptions.ConvergenceWarning": "py:class",
                "sklearn.utils.Bunch": "py:class",
                "sklearn.base.clone": "py:function",
            }.items()
        },
    ),
    "pandas": (
        "pandas",
        {"pandas.DataFrame": ("py:class", "reference/api/$.html#$")},
    ),
    "matplotlib": (
        "Matplotlib",
        {"matplotlib.axes.Axes": ("py:class", "api/_as_gen/$.html#$")},
    ),
}


def write_inventories(folder):
    """Write ``<project>.inv`` into ``folder``; return {project: path}."""
    folder = Path(folder)
    paths = {}
    for key, (project, objects) in PROJECTS.items():
        header = (
            "# Sphinx inventory version 2\n"
            f"# Project: {project}\n"
            "# Version: stable\n"
            "# The remainder of this file is compressed using zlib.\n"
        )
        lines = "".join(
            f"{name} {role} 1 {uri} -\n"
            for name, (role, uri) in sorted(objects.items())
        )
        path = folder / f"{key}.inv"
        path.write_bytes(header.encode() + zlib.compress(lines.encode()))
        paths[key] = path
    return paths
