"""Numbers and counts as people write them."""

import pytest

from skem._io.words import (
    SHOWN_CHARS,
    _degrees_of_freedom,
    clipped,
    count,
    number,
    spaced_name_hint,
)


@pytest.mark.parametrize(
    "value, text",
    [
        (7720.0, "7,720"),  # was 7.72e+03 in the summary's scale
        (12.0, "12"),
        (0.25, "0.25"),
        (20.2345, "20.2"),
        (7723.4, "7,723"),
        (123456.7, "123,457"),
        (0.00012345, "0.000123"),
        (-3.5, "-3.5"),
        (2.9999999999999996, "3"),
        (1e-07, "1e-07"),  # tiny and huge numbers keep their exponent
        (1e20, "1e+20"),
        (float("nan"), "nan"),
    ],
)
def test_number_is_written_as_a_person_writes_it(value, text):
    assert number(value) == text


def test_count_writes_thousands_with_separators():
    assert count(2552, "rating") == "2,552 ratings"
    assert count(1, "item") == "1 item"


def test_degrees_of_freedom_in_the_singular_for_one():
    assert _degrees_of_freedom(1.0) == "1 degree of freedom"
    assert _degrees_of_freedom(2.5) == "2.5 degrees of freedom"


@pytest.mark.parametrize(
    "missing, columns, hint",
    [
        (["annotator"], ["item", " annotator"], "the column ' annotator' has spaces"),
        (["score"], ["score ", 3], "the column 'score ' has spaces"),
        (["annotator"], ["item", "rater", 7], ""),
    ],
)
def test_spaced_name_hint_names_the_column_with_spaces(missing, columns, hint):
    text = spaced_name_hint(missing, columns)
    assert (hint in text) if hint else text == ""


def test_clipped_keeps_short_text_and_cuts_long_text_to_the_limit():
    assert clipped("x" * SHOWN_CHARS) == "x" * SHOWN_CHARS
    assert clipped("x" * (SHOWN_CHARS + 1)) == "x" * (SHOWN_CHARS - 3) + "..."
