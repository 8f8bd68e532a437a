"""The command's message helpers."""

import pytest

from skem._cli.messages import count, listing, number


def test_listing_cuts_only_when_it_saves_names():
    assert listing(["a", "b"], limit=5) == "a, b"
    assert listing(list("abcdefg"), limit=5) == "a, b, c, d, e, f, g"
    assert listing(list("abcdefgh"), limit=5) == "a, b, c, d, e, ... (8 in all)"
    assert listing([], limit=5) == ""


def test_long_labels_stop_the_list_at_about_its_width():
    """Fuzz finding: 12 labels of 40 characters made a 730-character line."""
    labels = [f"{k:02d}" + "x" * 38 for k in range(12)]
    text = listing(labels, limit=10)
    assert len(text) < 260 and text.endswith("... (12 in all)")
    assert text.startswith("00" + "x" * 38 + ", 01")
    assert listing(["y" * 500], limit=5).startswith("yyy")  # one is always shown


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
