"""The command's argument parser: values that look like options."""

import pytest

from skem._cli.parser import UsageError, build_parser


@pytest.mark.parametrize(
    "low, expected",
    [
        ("-1", -1.0),
        ("-.5", -0.5),
        ("-1e3", -1000.0),
        ("-1.5E+2", -150.0),
        ("-1.", -1.0),
        ("-inf", -float("inf")),
        ("-1_000", -1000.0),
        ("-1_0.2_5e1_0", -10.25e10),
    ],
)
def test_a_negative_number_in_any_float_notation_is_a_value(low, expected):
    """argparse alone reads '-1e3' as an unknown option ("expected 2 arguments")."""
    args = build_parser().parse_args(["fit", "in.csv", "--score-range", low, "5"])
    assert args.score_range == [expected, 5.0]


@pytest.mark.parametrize("value", ["-x", "-1e", "-e3", "--1", "-1__0", "-_1"])
def test_a_dash_word_that_is_no_number_is_still_an_option(value):
    with pytest.raises(UsageError, match="expected 2 arguments"):
        build_parser().parse_args(["fit", "in.csv", "--score-range", value, "5"])
