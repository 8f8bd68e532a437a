"""The labels of a fit's items and annotators, checked against the fit."""

import numpy as np
import pytest

from skem._io.labels import _labels


def test_no_labels_number_the_rows():
    np.testing.assert_array_equal(_labels(None, 3, "items"), [0, 1, 2])


def test_labels_as_many_as_the_other_kind_are_named_a_likely_mix_up():
    """Four labels for three items, with four annotators: the message asks
    whether these are the annotators' labels; a table is pointed to its
    labels."""
    with pytest.raises(ValueError, match="Expected 3 item labels.*annotators' labels"):
        _labels(list("abcd"), 3, "items", other=(4, "annotators"))
    with pytest.raises(ValueError, match=r"table of shape \(3, 4\).*\.annotators"):
        _labels(np.zeros((3, 4)), 4, "annotators")
    with pytest.raises(ValueError, match="Expected 2 annotator labels.*got 5\\.$"):
        _labels(list("abcde"), 2, "annotators", other=(4, "items"))


def test_labels_keep_their_values():
    labels = _labels([1, "1", 2.5], 3, "annotators")
    assert list(labels) == [1, "1", 2.5]
