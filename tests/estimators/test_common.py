"""scikit-learn's estimator checks, run on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skem import AnnotatorEM, HardAnnotatorEM

# Every check is expected to pass. A check that cannot pass goes here, mapped
# to the reason, as ``{"check_name": "why it cannot pass"}``.
EXPECTED_FAILED_CHECKS = {"AnnotatorEM": {}, "HardAnnotatorEM": {}}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS[type(estimator).__name__]


@parametrize_with_checks(
    [AnnotatorEM(random_state=0), HardAnnotatorEM(random_state=0)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
