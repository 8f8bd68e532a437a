"""The command's message helpers."""

from skem._cli.messages import listing


def test_listing_cuts_only_when_it_saves_names():
    assert listing(["a", "b"], limit=5) == "a, b"
    assert listing(list("abcdefg"), limit=5) == "a, b, c, d, e, f, g"
    assert listing(list("abcdefgh"), limit=5) == "a, b, c, d, e, ... (8 in all)"
    assert listing([], limit=5) == ""
