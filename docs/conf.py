"""Sphinx configuration of skem's documentation."""

import sys
from pathlib import Path

import skem

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_inventories"))
from write_inventories import write_inventories  # noqa: E402

project = "skem"
author = "skem developers"
copyright = "2026, skem developers"
release = version = skem.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax 3 from the build, not from a CDN, so that the maths reads
    # offline: the package ships its files and points mathjax_path at them.
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_inventories", "examples/README.txt"]
templates_path = ["_templates"]

# Every cross-reference must resolve: with -W, a broken one fails the build.
nitpicky = True

autosummary_generate = True
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Offline inventories: see _inventories/write_inventories.py.
_inventories = write_inventories(DOCS / "_inventories")
intersphinx_mapping = {
    "numpy": ("https://numpy.org/doc/stable/", str(_inventories["numpy"])),
    "scipy": ("https://docs.scipy.org/doc/scipy/", str(_inventories["scipy"])),
    "sklearn": ("https://scikit-learn.org/stable/", str(_inventories["sklearn"])),
    "pandas": ("https://pandas.pydata.org/docs/", str(_inventories["pandas"])),
    "matplotlib": ("https://matplotlib.org/stable/", str(_inventories["matplotlib"])),
}

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("skem",),
    "backreferences_dir": "generated",
    "reference_url": {"skem": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "min_reported_time": 1,
}

html_theme = "pydata_sphinx_theme"
html_title = f"skem {version}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []
myst_heading_anchors = 2
# The benchmark report is included below the page title, so its sections
# start at H2 by design.
suppress_warnings = ["myst.header"]

# The change-log badges of docs/changes.rst, as in scikit-learn's What's new.
rst_prolog = """
.. |Feature| replace:: **[Feature]**
.. |Enhancement| replace:: **[Enhancement]**
.. |Efficiency| replace:: **[Efficiency]**
.. |Fix| replace:: **[Fix]**
.. |API| replace:: **[API change]**
"""


def _write_gallery_report(app, exception):
    """Write the report page of the bundled ratings beside the gallery example.

    The example ``plot_report.py`` writes the same page (same fit, same
    arguments) and links to this copy, which opens offline like any report.
    """
    if exception is not None or app.builder.format != "html":
        return
    from skem import AnnotatorEM, report
    from skem.datasets import load_video_quality

    nflx = load_video_quality()
    em = AnnotatorEM(score_range=nflx.score_range).fit(nflx.data)
    folder = Path(app.outdir) / "auto_examples"
    folder.mkdir(parents=True, exist_ok=True)
    report(
        em,
        folder / "nflx_report.html",
        nflx.data,
        items=nflx.item_labels,
        annotators=nflx.annotators,
        item_name="clip",
        annotator_name="viewer",
        title="Netflix public dataset, with 4 appended unreliable viewers",
    )


def setup(app):
    app.connect("build-finished", _write_gallery_report)
