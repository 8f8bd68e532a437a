"""Notes on what a fit assumed: heavy tails, errors that grow with the score,
raters who give every item one score, random verdicts from few raters,
verdicts from yes/no labels."""

import numpy as np
import pytest

from skem._io.evidence import _Evidence
from skem._io.notes import (
    _few_raters_note,
    _heavy_tail_note,
    _heavy_tail_words,
    _relative_error_note,
    _relative_errors,
    _same_score_note,
    _yes_no_note,
)
from tests._helpers import _hard_panel_of_few_raters, _yes_no_panel_with_spammers


def test_heavy_tails_are_noted_from_5_far_ratings_and_10_times_the_normal():
    """A normal error puts 6.3e-5 of the ratings beyond 4 sigma: 5 far
    ratings of 2,000 (0.13 expected) are noted, 4 are not, and neither are 6
    of 2 million (127 expected). Only the consistent annotators count."""
    consistent = np.array([True, True, False])
    n = np.array([1000, 1000, 1000])
    assert _heavy_tail_words([3, 2, 50], n, consistent, "--tail 1") == (
        "Heavy tails: 5 ratings of consistent annotators lie more than 4 sigma "
        "from the consensus, where a normal error would put about 0.13. For "
        "counts and other heavy-tailed scores, compare a fit with a Student-t "
        "error whose tail the ratings choose: --tail 1."
    )
    assert _heavy_tail_words([2, 2, 50], n, consistent, "--tail 1") == ""
    assert _heavy_tail_words([3, 3, 0], n * 1000, consistent, "--tail 1") == ""


def test_heavy_tail_note_only_for_exact_scores_with_the_normal_error():
    """The same evidence gives the note, naming the command's options or the
    parameters, but none on levels or with a Student-t already."""
    from types import SimpleNamespace

    evidence = SimpleNamespace(
        far=np.array([3, 3]), per_annotator=np.array([99, 99]), growth=None
    )
    verdicts = np.array(["consistent", "consistent"])

    def note(command, **form):
        params = {"levels_": None, "tail": None, "bounded": True, **form}
        estimator = SimpleNamespace(**params)
        return _heavy_tail_note(estimator, evidence, verdicts, command)

    assert note(True).endswith("the ratings choose: --no-bounded --tail auto.")
    assert note(False).endswith(
        "choose: bounded=False, tail='auto' (the command's --no-bounded --tail auto)."
    )
    assert note(True, bounded=False).endswith("the ratings choose: --tail auto.")
    assert note(True, levels_=np.arange(5.0)) == ""
    assert note(True, bounded=False, tail=1.0) == ""
    assert note(True, bounded=False, tail="auto") == ""


@pytest.mark.parametrize(
    ("growth", "relative"),
    [
        (None, False),
        ((np.nan, np.nan), False),
        ((0.1, 0.05), False),
        ((0.49, 0.01), False),
        ((0.5, 0.01), True),
        ((1.1, 0.3), True),
        ((1.1, 0.6), False),  # not three standard errors above 0
        ((0.98, 0.464), False),  # a floor's, on a slider read as 54 levels
    ],
)
def test_relative_errors_need_half_the_proportional_growth_and_three_std_errors(
    growth, relative
):
    from types import SimpleNamespace

    assert _relative_errors(SimpleNamespace(growth=growth)) is relative


def test_relative_error_note_names_the_log_scale_and_the_heavy_tail_note_adds_it():
    """Errors that grow as relative ones do: a note that names the log scale,
    not on levels; the heavy-tail note's alternative then fits the
    logarithms too, as the user guide's recipe for counts does."""
    from types import SimpleNamespace

    evidence = SimpleNamespace(
        far=np.array([3, 3]), per_annotator=np.array([99, 99]), growth=(1.09, 0.1)
    )
    estimator = SimpleNamespace(levels_=None, tail=None, bounded=True)
    note = _relative_error_note(estimator, evidence, command=True)
    assert note.startswith("Relative errors: the ratings' deviations from the")
    assert "roughly as its power 1.09 (0 for errors of one size" in note
    assert note.endswith(
        "where such errors are of one size: the same fit with --score-scale log."
    )
    assert _relative_error_note(estimator, evidence, command=False).endswith(
        "score_scale='log' (the command's --score-scale log)."
    )
    verdicts = np.array(["consistent", "consistent"])
    assert _heavy_tail_note(estimator, evidence, verdicts, True).endswith(
        "choose: --score-scale log --no-bounded --tail auto."
    )
    assert _heavy_tail_note(estimator, evidence, verdicts, False).endswith(
        "choose: score_scale='log', bounded=False, tail='auto' (the command's "
        "--score-scale log --no-bounded --tail auto)."
    )
    on_levels = SimpleNamespace(levels_=np.arange(5.0), tail=None, bounded=True)
    assert _relative_error_note(on_levels, evidence, command=True) == ""
    counts = SimpleNamespace(levels_=np.arange(16.0, 773.0), tail=None, bounded=True)
    assert _relative_error_note(counts, evidence, command=True) == note


def test_the_same_score_note_names_those_not_called_random():
    """A straightliner called random needs no note; one called consistent or
    undetermined is named, in the caller's words; without the ratings (a
    Dask fit), nothing is said."""
    same = np.array([True, True, False, True])
    evidence = _Evidence(None, None, None, None, None, same=same)
    verdicts = np.array(["random", "consistent", "consistent", "undetermined"])
    names = np.array(["a", "b", "c", "d"])
    note = _same_score_note(evidence, verdicts, lambda m: ", ".join(names[m]))
    assert note.startswith("Same score throughout: b, d gave every item they rated")
    assert "refit without them if they did not look" in note
    one = _same_score_note(evidence, verdicts[[0, 1, 2, 0]], lambda m: "b")
    assert "b gave every item it rated one score" in one
    assert "if it did not look" in one
    assert _same_score_note(evidence, np.array(["random"] * 4), str) == ""
    assert _same_score_note(_Evidence.of_counts(None, None), verdicts, str) == ""


def test_the_few_raters_note_needs_a_random_verdict_and_at_most_5_raters_an_item():
    """Random verdicts on items of at most 5 raters (median over the rated
    items; unrated ones do not count) get the note; none without a random
    verdict, with more raters, or without the counts."""
    verdicts = np.array(["consistent", "random", "undetermined"])
    few = _Evidence(np.array([4, 5, 3, 0, 0, 0, 0]), None, None, None, None)
    note = _few_raters_note(few, verdicts)
    assert note.startswith("Few raters per item: the median item has 4 ratings.")
    assert "compare the consensus with the plain mean" in note
    assert _few_raters_note(few, np.array(["consistent", "undetermined"] * 2)) == ""
    many = _Evidence(np.array([6, 6, 5]), None, None, None, None)
    assert _few_raters_note(many, verdicts) == ""
    assert _few_raters_note(_Evidence(None, None, None, None, None), verdicts) == ""


def test_the_few_raters_note_warns_on_a_hard_panel_that_flags_honest_raters():
    """The benchmarks' hard panel whose default fit calls 3 of its 18 honest
    raters random beside the 2 random ones (3 to 5 raters per item): the
    summary's notes say why."""
    pytest.importorskip("pandas")
    from skem import AnnotatorEM, annotator_frame

    X = _hard_panel_of_few_raters()
    em = AnnotatorEM().fit(X)
    verdicts = annotator_frame(em)["verdict"].to_numpy()
    assert (verdicts == "random").sum() >= 5
    per_item = np.sum(~np.isnan(X), axis=1)
    note = _few_raters_note(_Evidence(per_item, None, None, None, None), verdicts)
    assert note.startswith("Few raters per item: the median item has 4 ratings.")


def test_the_yes_no_note_needs_two_levels_and_someone_judged():
    """A fit that read its ratings as two levels and judged someone gets the
    note; none on more levels, on exact scores, or where nobody is judged."""
    from types import SimpleNamespace

    def note(levels, verdicts):
        return _yes_no_note(SimpleNamespace(levels_=levels), np.array(verdicts))

    judged = ["consistent", "undetermined"]
    assert note(np.array([0.0, 1.0]), judged).startswith(
        "Yes/no labels: a yes/no label says little about who is careful."
    )
    assert note(np.array([0.0, 1.0]), ["random", "undetermined"]) != ""
    assert note(np.array([0.0, 1.0]), ["undetermined"] * 2) == ""
    assert note(np.arange(3.0), judged) == ""
    assert note(None, judged) == ""


def test_the_yes_no_note_is_given_for_a_fit_of_yes_no_labels():
    """The benchmarks' yes/no panel with 4 spammers of 20: the default reads
    two levels and judges its workers, and the note says how little that
    tells; the same panel's labels read as exact scores get none."""
    pytest.importorskip("pandas")
    from skem import AnnotatorEM, annotator_frame

    X = _yes_no_panel_with_spammers()
    for levels, expected in (("auto", True), (None, False)):
        em = AnnotatorEM(levels=levels).fit(X)
        verdicts = annotator_frame(em)["verdict"].to_numpy()
        assert bool(_yes_no_note(em, verdicts)) is expected
