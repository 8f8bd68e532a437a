"""The command's message helpers."""

from skem._cli.messages import listing


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
