"""NumPy's advice of huge pages is withheld during large fits, and restored."""

import threading

import numpy as np
import pytest
from scipy import sparse

from skem import AnnotatorEM
from skem._em import huge_pages
from skem._em.huge_pages import (
    _MIN_VALUES,
    _count_values,
    _find_setter,
    _without_huge_page_advice,
)
from skem.datasets import make_ratings


class _FakeSetter:
    """NumPy's ``_set_madvise_hugepage``: set the flag, return the old one."""

    def __init__(self, enabled=True):
        self.enabled = enabled
        self.calls = 0

    def __call__(self, enabled):
        previous, self.enabled = self.enabled, bool(enabled)
        self.calls += 1
        return previous


@pytest.fixture(autouse=True)
def _no_user_choice(monkeypatch):
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)


def test_count_values_of_sparse_dense_and_unsized_inputs():
    X = sparse.random(50, 40, density=0.1, format="csr", random_state=0)
    assert _count_values(X) == X.nnz
    assert _count_values(np.zeros((7, 3))) == 21
    assert _count_values([[1.0, 2.0]]) is None
    assert _count_values(sparse.lil_matrix(np.ones((3, 2)))) is None


def test_count_values_reads_no_property_that_validates():
    """A malformed matrix is counted by its stored values, and the fit's own
    validation then names the problem."""
    X = sparse.coo_matrix(np.ones((4, 3)))
    X.data = X.data[:-1]
    assert _count_values(X) == 11


@pytest.mark.parametrize("enabled", [True, False])
def test_a_large_fit_withholds_the_advice_and_restores_the_setting(enabled):
    setter = _FakeSetter(enabled)
    with _without_huge_page_advice(_MIN_VALUES, setter) as withheld:
        assert withheld
        assert setter.enabled is False
    assert setter.enabled is enabled


def test_a_small_or_unsized_fit_leaves_the_setting_alone():
    setter = _FakeSetter()
    for n_values in (_MIN_VALUES - 1, None):
        with _without_huge_page_advice(n_values, setter) as withheld:
            assert not withheld
    assert setter.calls == 0


def test_the_users_environment_variable_is_their_choice(monkeypatch):
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    setter = _FakeSetter()
    with _without_huge_page_advice(10 * _MIN_VALUES, setter) as withheld:
        assert not withheld
    assert setter.calls == 0


def test_the_setting_is_restored_when_the_fit_raises():
    setter = _FakeSetter()
    with pytest.raises(RuntimeError, match="inside the fit"):
        with _without_huge_page_advice(_MIN_VALUES, setter):
            raise RuntimeError("inside the fit")
    assert setter.enabled is True
    assert huge_pages._holders == 0


def test_overlapping_fits_restore_the_setting_only_when_the_last_ends():
    """Two fits in two threads, the first ending while the second runs: the
    advice stays off until the second ends, then comes back as it was."""
    setter = _FakeSetter()
    first_inside, first_done, second_done = (threading.Event() for _ in range(3))
    seen = {}

    def first():
        with _without_huge_page_advice(_MIN_VALUES, setter):
            first_inside.set()
            second_done.wait(5)
        first_done.set()

    def second():
        first_inside.wait(5)
        with _without_huge_page_advice(_MIN_VALUES, setter):
            second_done.set()
            first_done.wait(5)
            seen["after first ended"] = setter.enabled
        seen["after both ended"] = setter.enabled

    threads = [threading.Thread(target=f) for f in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"after first ended": False, "after both ended": True}


def test_the_estimators_fit_withholds_the_advice_and_restores_it(monkeypatch):
    """A fit above the threshold runs with NumPy's advice off; after it,
    NumPy's own setting is back."""
    setter = _find_setter()
    if setter is None:
        pytest.skip("this NumPy has no setting of huge pages")
    monkeypatch.setattr(huge_pages, "_MIN_VALUES", 1)
    before = setter(True)
    seen = []
    em = AnnotatorEM()
    em._iteration_callback = lambda info: seen.append(setter(False))
    try:
        em.fit(make_ratings(40, 6, random_state=0))
        after = setter(before)
    finally:
        setter(before)
    assert seen and not any(seen)
    assert after is True
