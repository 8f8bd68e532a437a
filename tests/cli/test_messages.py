"""The command's message helpers."""

import re

from skem._cli.messages import as_flags, listing, one_line, show


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


def test_every_setting_the_command_renames_is_in_an_estimators_message():
    """The phrases ``as_flags`` replaces are the estimators' own (the floor
    warning's advice), and each names flags the command has: a reworded
    warning would otherwise reach the command's user in Python's words."""
    from skem._cli.messages import _SETTINGS_AS_FLAGS
    from skem._cli.parser import build_parser
    from skem._em.validation import _FLOOR_CAUSES

    for setting, flags in _SETTINGS_AS_FLAGS:
        assert any(setting in cause for cause in _FLOOR_CAUSES.values()), setting
        assert as_flags(setting) == flags
        for flag in re.findall(r"--[a-z-]+", flags):
            value = {"--tail": ["5"], "--score-range": ["1", "5"]}.get(flag, [])
            build_parser().parse_args(["fit", "ratings.csv", flag, *value])


def test_a_warning_of_the_fit_names_the_commands_flags(tmp_path, run_main):
    """A new user's finding: three raters who agree exactly, read as exact
    scores (--no-levels), end at the floor; the command's warning line names
    --levels, not levels='auto'."""
    path = tmp_path / "agree.csv"
    rows = ["item,annotator,score"] + [
        f"{item},{rater},{score}"
        for item, score in enumerate([2, 3, 4, 2, 3])
        for rater in "abc"
    ]
    path.write_text("\n".join(rows) + "\n")
    status, out, err = run_main("fit", path, "--no-levels", "-o", tmp_path / "out")
    assert status == 0, err
    warning = [line for line in (out + err).splitlines() if "floor" in line]
    assert warning and "--levels, the default" in warning[0]
    assert "levels='auto'" not in warning[0]


def test_control_characters_of_a_label_show_as_escapes(tmp_path, run_main):
    """Fuzzing finding: a label's ESC sequence reached the terminal raw, in
    the summary and in error messages; whitespace was folded, ESC was not."""
    label = "a\x1b[2J\x1b[31mRED\x7f\x9b"
    assert show(label) == "a\\x1b[2J\\x1b[31mRED\\x7f\\x9b"
    assert one_line(f"item {label}\n\tnext") == f"item {show(label)} next"
    assert show("  ") == "" and show("张伟") == "张伟"
    path = tmp_path / "r.csv"
    path.write_text(f"item,annotator,score\n{label},x,1\n{label},x,2\nc,y,3\n")
    status, out, err = run_main("fit", path, "-o", tmp_path / "out")
    assert status == 2 and "\x1b" not in err and "\\x1b[2J" in err
