"""Find unreliable annotators and recover consensus scores with EM.

skem fits a two-component model of annotators, good (normal around each item's
consensus) or bad (uniform over the score range), by expectation-maximization,
as scikit-learn estimators.
"""

from skem._estimators import AnnotatorEM, HardAnnotatorEM
from skem._io.long_format import RatingMatrix, long_to_matrix
from skem._io.report import report
from skem._io.results import annotator_frame, consensus_frame

__version__ = "0.4.1"

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
