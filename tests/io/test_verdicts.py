"""The fitted results in words: verdicts, reasons, what the flagged count."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skem._io.verdicts import (
    NOBODY_TOLD,
    SLIP,
    _annotator_verdicts,
    _deviation_text,
    _evidence_text,
    _model_words,
    _prior_weight_words,
    _random_but_agreeing,
    _random_weight_words,
    _share,
    _unjudged_reason,
)


def test_random_and_undetermined_reasons_say_how_far_the_ratings_stray():
    """r alone does not say why: a rater with r = 0.55 is random because its
    ratings stray far more than the consistent ones' (the model weighs
    that). Below 3 ratings an undefined r is left out."""
    verdicts, reasons = _annotator_verdicts(
        [1.0, 1.0, 1.0, 0.0, 0.5, 0.0],
        n_ratings=[20, 20, 20, 20, 20, 2],
        n_judged=[20, 20, 20, 20, 20, 3],
        r=[0.9, 0.8, 0.85, 0.55, 0.7, np.nan],
        deviation=[0.4, 0.5, 0.6, 1.31, 0.9, 2.0],
    )
    assert verdicts.tolist()[3:] == ["random", "undetermined", "random"]
    assert reasons.tolist()[2:] == [
        "consistent: 20 ratings, r = 0.85",
        "answers look random: 20 ratings, agreement with the consensus r = 0.55, "
        "ratings 1.3 off the consensus (root mean square; consistent annotators: "
        "0.5)",
        "undetermined: the ratings fit either way; 20 ratings, r = 0.70, ratings "
        "0.9 off the consensus (root mean square; consistent annotators: 0.5)",
        "answers look random: 2 ratings, ratings 2 off the consensus (root mean "
        "square; consistent annotators: 0.5)",
    ]
    _, (alone,) = _annotator_verdicts([0.0], [9], [9], [0.1], [1.5])
    assert alone == (
        "answers look random: 9 ratings, agreement with the consensus r = 0.10, "
        "ratings 1.5 off the consensus (root mean square)"
    )


def test_verdict_words_and_reasons_at_the_thresholds():
    verdicts, reasons = _annotator_verdicts(
        [0.9, 0.8999, 0.1, 0.1001, 1.0, 0.0, 1.0],
        n_ratings=[10, 10, 10, 10, 2, 1, 50],
        n_judged=[10, 10, 10, 10, 2, 1, 3],
        r=[0.853, 0.4, 0.123, np.nan, 0.9, np.nan, -0.001],
    )
    assert verdicts.tolist() == [
        "consistent",
        "undetermined",
        "random",
        "undetermined",
        "undetermined",
        "undetermined",
        "consistent",
    ]
    assert reasons.tolist() == [
        "consistent: 10 ratings, r = 0.85",
        "undetermined: the ratings fit either way; 10 ratings, r = 0.40",
        "answers look random: 10 ratings, agreement with the consensus r = 0.12",
        "undetermined: the ratings fit either way; 10 ratings, r undefined (no spread)",
        "undetermined: too few ratings (2 ratings on items that two others rated too)",
        "undetermined: too few ratings (1 rating on items that two others rated too)",
        "consistent: 50 ratings, r = 0.00",
    ]


def test_without_evidence_the_reasons_are_the_bare_words():
    _, reasons = _annotator_verdicts([0.95, 0.05, 0.5])
    assert reasons.tolist() == [
        "consistent",
        "answers look random",
        "undetermined: the ratings fit either way",
    ]


def test_a_lapsed_annotators_reason_says_its_far_rating_is_read_as_a_slip():
    verdicts, reasons = _annotator_verdicts(
        [0.99, 0.99],
        n_ratings=[12, 12],
        n_judged=[12, 12],
        r=[0.6, 0.9],
        lapsed=[True, False],
    )
    assert verdicts.tolist() == ["consistent", "consistent"]
    assert reasons.tolist() == [
        f"consistent: 12 ratings, r = 0.60; {SLIP}",
        "consistent: 12 ratings, r = 0.90",
    ]


@given(
    p_good=st.floats(0.0, 1.0),
    n_judged=st.integers(0, 50),
)
def test_verdict_is_set_by_p_good_thresholds_unless_fewer_than_3_judged_ratings(
    p_good, n_judged
):
    """Property: "consistent" iff p_good >= 0.9, "random" iff p_good <= 0.1,
    with at least 3 ratings on items two others rated; else "undetermined"."""
    (verdict,), (reason,) = _annotator_verdicts([p_good], [n_judged], [n_judged])
    if n_judged < 3:
        expected = "undetermined"
    elif p_good >= 0.9:
        expected = "consistent"
    elif p_good <= 0.1:
        expected = "random"
    else:
        expected = "undetermined"
    assert verdict == expected
    assert reason.startswith(
        {
            "consistent": "consistent",
            "random": "answers look random",
            "undetermined": "undetermined: ",
        }[verdict]
    )


@pytest.mark.parametrize(
    "weight, text",
    [
        (0.0, "less than 1%"),
        (0.004, "less than 1%"),
        (0.08, "8%"),
        (0.954, "95%"),
        (0.995, "more than 99%"),
        (1.0, "more than 99%"),
    ],
)
def test_share_never_rounds_to_0_or_100_percent(weight, text):
    assert _share(weight) == text


def test_random_weights_in_words():
    """Hard EM leaves them out; soft EM counts them a little, said as a share."""
    assert _random_weight_words(np.zeros(3)) == (
        "their ratings are left out of the consensus"
    )
    assert _random_weight_words(np.array([0.0, 0.004])) == (
        "their ratings barely count in the consensus, less than 1% as much as a "
        "fully trusted annotator's"
    )
    assert _random_weight_words(np.array([0.0, 0.031, 0.08])) == (
        "their ratings barely count in the consensus, at most 8% as much as a "
        "fully trusted annotator's"
    )
    assert _prior_weight_words(0.954) == (
        "in the consensus each counts 95% as much as a fully trusted annotator"
    )


def test_evidence_and_deviation_texts():
    assert _evidence_text(79, 0.853) == "79 ratings, r = 0.85"
    assert _evidence_text(1, np.nan) == "1 rating"
    assert _evidence_text(5, np.nan) == "5 ratings, r undefined (no spread)"
    assert _evidence_text(None, None) == ""
    assert _deviation_text(np.nan, 0.5) == ""
    assert _deviation_text(1234.5, None) == (
        "ratings 1,234 off the consensus (root mean square)"
    )


def test_random_but_agreeing_needs_both_the_verdict_and_an_agreement_of_0_7():
    verdicts = np.array(["random", "random", "random", "consistent"])
    r = np.array([0.7, 0.69, np.nan, 0.95])
    np.testing.assert_array_equal(
        _random_but_agreeing(verdicts, r), [True, False, False, False]
    )


def test_an_annotator_the_ratings_do_not_judge_is_undetermined_whatever_p_good():
    """``judged`` overrides the judged ratings: with nine of them, an annotator
    outside the mixture is undetermined, and the reason says why."""
    verdicts, reasons = _annotator_verdicts(
        [0.0, 1.0, 0.0], [9, 9, 9], [9, 9, 2], judged=[False, True, False]
    )
    assert list(verdicts) == ["undetermined", "consistent", "undetermined"]
    assert reasons[0] == (
        "undetermined: the panel agrees too little for their ratings to tell "
        "careful from random (9 ratings on items that two others rated too)"
    )
    assert reasons[2] == (
        "undetermined: too few ratings (2 ratings on items that two others rated too)"
    )


def test_an_annotator_a_failed_mixture_flagged_is_undetermined_for_that_reason():
    """An annotator flagged by a mixture that gave way to everyone good is not
    judged for that, not for a shortage of ratings: its reason says so, and
    "too few ratings" still wins where it has fewer than three."""
    verdicts, reasons = _annotator_verdicts(
        [1.0, 1.0, 1.0, 1.0],
        [140, 140, 2, 140],
        [140, 140, 2, 140],
        judged=[False, True, False, False],
        mixture_flagged=[True, False, True, False],
    )
    assert list(verdicts) == ["undetermined", "consistent"] + ["undetermined"] * 2
    assert reasons[0] == (
        "undetermined: called random only by a fit that explained the ratings "
        "no better than trusting everyone (140 ratings on items that two others "
        "rated too)"
    )
    assert reasons[2].startswith("undetermined: too few ratings (2 ")
    assert reasons[3].startswith("undetermined: the panel agrees too little ")


def test_an_annotator_whose_ratings_follow_the_items_is_undetermined_so():
    """An annotator not judged because its ratings follow the items is
    undetermined whatever p_good, and its reason says why, with its
    agreement and how far off the consensus it is; "too few ratings" is
    not its reason."""
    verdicts, reasons = _annotator_verdicts(
        [0.0, 1.0],
        [24, 24],
        [24, 24],
        r=[0.83, 0.99],
        deviation=[40.0, 9.0],
        judged=[False, True],
        followers=[True, False],
    )
    assert list(verdicts) == ["undetermined", "consistent"]
    assert reasons[0] == (
        "undetermined: the ratings follow the items, but too far off the "
        "consensus for a careful annotator's noise: noisier than the others, or "
        "a constant step above or below them; 24 ratings, r = 0.83, ratings 40 "
        "off the consensus (root mean square; consistent annotators: 9)"
    )


def test_unjudged_reason_names_the_panels_doing_not_an_annotators():
    """No judged rating anywhere: no item has a third rater. Judged ratings
    somewhere but nobody judged: the panel's agreement. Someone judged, or
    nobody with the ratings to be: None, the annotators' own counts."""
    assert _unjudged_reason([False, False], [0, 0]).startswith("no item was rated")
    assert _unjudged_reason([False, False], [3, 0]) == NOBODY_TOLD
    assert _unjudged_reason([False, False], [2, 1]) is None
    assert _unjudged_reason([False, False], [2, 2]) is None
    assert _unjudged_reason([True, False], [3, 9]) is None


@pytest.mark.parametrize(
    ("params", "words", "objective"),
    [
        (
            {},
            [
                "uniformly over 1 to 5; a good annotator's rating is the item's "
                "location",
                "truncated to the scale.",
            ],
            "penalized log-likelihood",
        ),
        (
            {"bounded": False, "noise": "shared"},
            ["rating is the item's consensus, plus a normal", "One inconsistency"],
            "log-likelihood",
        ),
        (
            {"bias": True},
            ["plus their bias, plus a normal error"],
            "penalized log-likelihood",
        ),
        (
            {"score_scale": "log"},
            [
                "over 1 to 5 on the logarithmic scale; the logarithm of a good",
                "(on the logarithms: an inconsistency of 0.1 is an error of about 10%)",
            ],
            "penalized log-likelihood",
        ),
    ],
    ids=["default", "lecture", "log", "bias"],
)
def test_model_words_describe_the_form_and_name_its_objective(params, words, objective):
    from skem import AnnotatorEM

    X = np.array(
        [[1.0, 1.23, 4.1], [3.07, 3.1, 1.5], [5.0, 4.81, 2.0], [2.0, 2.2, 4.9]]
    )
    em = AnnotatorEM(**params).fit(X)
    form, name = _model_words(em, 1.0, 5.0)
    assert name == objective
    text = " ".join(form)
    for phrase in words:
        assert phrase in text
    assert ("logarithm" in text) == ("score_scale" in params)
    # A reviewer's finding: "plus their bias" was said of fits without one.
    assert ("their bias, plus" in text) == params.get("bias", False)


def test_a_random_annotator_who_gave_one_score_is_said_to_have_done_so():
    """A straightliner called random is not said to answer at random: its
    reason says it gave every item the same score; one not called random
    keeps its verdict's words (the notes name it)."""
    verdicts, reasons = _annotator_verdicts(
        [0.01, 0.01, 0.99],
        n_ratings=[29, 29, 29],
        r=[np.nan, 0.02, np.nan],
        same=[True, False, True],
    )
    assert list(verdicts) == ["random", "random", "consistent"]
    assert reasons[0].startswith("gives every item the same score: 29 ratings")
    assert reasons[1].startswith("answers look random: 29 ratings")
    assert reasons[2].startswith("consistent: 29 ratings")
