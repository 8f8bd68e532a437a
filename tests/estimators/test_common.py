"""scikit-learn's estimator checks, run on every public estimator."""

import pytest
from sklearn.utils.estimator_checks import (
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from skem import AnnotatorEM, HardAnnotatorEM
from tests._helpers import _quiet_sklearn_checks

# Every check is expected to pass. A check that cannot pass goes here, mapped
# to the reason, as ``{"check_name": "why it cannot pass"}``.
EXPECTED_FAILED_CHECKS = {"AnnotatorEM": {}, "HardAnnotatorEM": {}}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS[type(estimator).__name__]


@_quiet_sklearn_checks
@parametrize_with_checks(
    [AnnotatorEM(random_state=0), HardAnnotatorEM(random_state=0)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("Estimator", [AnnotatorEM, HardAnnotatorEM])
@pytest.mark.parametrize(
    "check",
    [
        check_transformer_get_feature_names_out,
        check_transformer_get_feature_names_out_pandas,
    ],
)
def test_feature_names_out_as_scikit_learn_checks_them(Estimator, check):
    """Checks that ``parametrize_with_checks`` (1.9) leaves out: the messages
    of ``get_feature_names_out`` for a wrong ``input_features`` are
    scikit-learn's (a fit on an array named a ``feature_names_in_`` it did
    not have)."""
    if check is check_transformer_get_feature_names_out_pandas:
        pytest.importorskip("pandas")
    check(Estimator.__name__, Estimator(random_state=0))
