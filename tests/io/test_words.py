"""Numbers and counts as people write them."""

import numpy as np
import pytest

from skem._io.words import (
    SHOWN_CHARS,
    _degrees_of_freedom,
    clipped,
    count,
    label_text,
    no_columns,
    number,
    numbers_alike,
    percent,
    signed,
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


@pytest.mark.parametrize(
    "values, texts",
    [
        ((0.662, 0.647, 0.6701), ["0.662", "0.647", "0.670"]),  # a new user's
        ((12.0, 7722.0), ["12", "7,722"]),  # whole numbers stay whole
        ((0.5, 12.25), ["0.500", "12.250"]),
        ((1e-07, 0.5), ["1e-07", "0.5"]),  # an exponent: each as number() has it
        ((0.0, 0.25), ["0.000", "0.250"]),
    ],
)
def test_numbers_alike_share_their_decimals(values, texts):
    assert numbers_alike(*values) == texts


@pytest.mark.parametrize(
    "value, text",
    [(0.1, "+0.1"), (-2.25, "-2.25"), (0.0, "+0"), (-0.0, "+0"), (-1e-5, "-1e-05")],
)
def test_signed_shows_the_sign_and_never_a_negative_zero(value, text):
    assert signed(value) == text


@pytest.mark.parametrize(
    "fraction, text",
    [
        (0.95, "95%"),
        (0.8, "80%"),
        (0.975, "97.5%"),
        (0.999, "99.9%"),
        (np.float32(0.95), "95%"),  # not 94.99999881%
    ],
)
def test_percent_keeps_the_digits_of_the_level(fraction, text):
    assert percent(fraction) == text


def test_no_columns_is_singular_for_one():
    assert no_columns(["score"]) == "no column 'score'"
    assert no_columns(["a", "b"], str) == "no columns a, b"


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


@pytest.mark.parametrize(
    "label, text",
    [
        ("26", "26"),
        ("clip 7", "clip 7"),
        ("26 ", "'26 '"),
        (" 26", "' 26'"),
        ("a  b", "'a  b'"),
        ("Rater, No 26", "'Rater, No 26'"),
        ("line\nbreak", "'line\\nbreak'"),
        ("r\x1b[7mX", "'r\\x1b[7mX'"),
        ("no\xa0break", "'no\\xa0break'"),
        ("'7 '", "\"'7 '\""),
        (7, "7"),
    ],
)
def test_label_text_quotes_the_labels_that_would_look_like_others(label, text):
    """Labels are kept as written: '26 ' is not 26, a comma inside a label
    would split it in a list, and an escape would act on the terminal; such
    labels are shown quoted, as is one that starts with a quote."""
    assert label_text(label) == text


def test_label_text_clips_a_long_label():
    assert label_text("x" * 100).endswith("...")
    assert len(label_text("x" * 100)) == SHOWN_CHARS
