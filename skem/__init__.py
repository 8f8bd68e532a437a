"""Find unreliable annotators and recover consensus scores with EM.

skem fits a two-component model of annotators, good (normal around each item's
consensus) or bad (uniform over the score range), by expectation-maximization,
as scikit-learn estimators.
"""

# The public names are imported on first use (PEP 562), so that ``import
# skem`` and ``skem --version`` stay light: scikit-learn, SciPy and pandas load
# only when an estimator or a table function is asked for.
import importlib
from typing import TYPE_CHECKING

__version__ = "0.6.0"

# Each public name and the module that defines it.
_EXPORTS = {
    "AnnotatorEM": "skem._estimators",
    "HardAnnotatorEM": "skem._estimators",
    "RatingMatrix": "skem._io.long_format",
    "annotator_frame": "skem._io.results",
    "consensus_frame": "skem._io.results",
    "long_to_matrix": "skem._io.long_format",
    "report": "skem._io.report",
}

__all__ = [
    "AnnotatorEM",
    "HardAnnotatorEM",
    "RatingMatrix",
    "__version__",
    "annotator_frame",
    "consensus_frame",
    "long_to_matrix",
    "report",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from skem._estimators import AnnotatorEM, HardAnnotatorEM
    from skem._io.long_format import RatingMatrix, long_to_matrix
    from skem._io.report import report
    from skem._io.results import annotator_frame, consensus_frame


def __getattr__(name):
    """Import a public name on first use.

    Parameters
    ----------
    name : str
        The attribute asked for.

    Returns
    -------
    value : object
        The public class or function ``name``.

    Raises
    ------
    AttributeError
        If ``name`` is not a public name of skem.
    """
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'skem' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    """The module's names, the not yet imported public ones included.

    Returns
    -------
    names : list of str
    """
    return sorted(set(globals()) | set(__all__))
