"""The terminal summary in plain words, and the ``--report`` page."""

import numpy as np
import pytest

import skem
from tests._helpers import (
    _hard_panel_of_few_raters,
    _panel_with_an_offset_rater,
    _yes_no_panel_with_spammers,
)

pd = pytest.importorskip("pandas")


@pytest.fixture
def panel_csv(tmp_path):
    """Clips rated by good viewers, two random ones, and a newcomer who rated
    only two clips; columns video, subject, mos."""
    rng = np.random.default_rng(1)
    truth = rng.uniform(1.5, 4.5, 30)
    rows = []
    for a in range(6):
        for i, mu in enumerate(truth):
            score = rng.uniform(1, 5) if a >= 4 else mu + rng.normal(0, 0.3)
            rows.append((f"clip{i:02d}", f"s{a}", float(np.clip(score, 1, 5))))
    rows += [("clip00", "newcomer", 3.0), ("clip01", "newcomer", 2.0)]
    path = tmp_path / "lab.csv"
    pd.DataFrame(rows, columns=["video", "subject", "mos"]).to_csv(path, index=False)
    return path


NAMES = ("--item", "video", "--annotator", "subject", "--score", "mos")
NAMES += ("--score-range", "1", "5")


def test_the_summary_speaks_plain_words_with_labels(panel_csv, run_main):
    status, out, err = run_main("fit", panel_csv, *NAMES, "-o", panel_csv.parent)
    assert status == 0 and err == "", err
    lines = out.splitlines()
    assert "7 annotators (182 ratings on a 1 to 5 scale)" in lines[0]
    assert (
        "2 of 7 annotators answer at random: s4, s5; their ratings barely count "
        "in the consensus, less than 1% as much as a fully trusted annotator's." in out
    )
    assert (
        "1 undetermined (too few ratings to judge; in the consensus each counts " in out
    )
    assert "as much as a fully trusted annotator): newcomer." in out
    assert (
        "Inconsistency (sigma, the spread of good ratings that the model fits)" in out
    )
    assert "The fit converged: it stopped changing after" in out
    assert lines[-1].startswith("next: check the ratings of the flagged annotators")
    assert lines[-1].endswith("has each one's verdict, p_good, sigma.")  # no bias
    for jargon in ("weight", "pi ", "log_posterior", "e-", "[", "np."):
        assert jargon not in out
    annotators = pd.read_csv(panel_csv.parent / "annotators.csv")
    verdicts = dict(zip(annotators["subject"], annotators["verdict"], strict=True))
    assert verdicts["newcomer"] == "undetermined"
    assert verdicts["s4"] == verdicts["s5"] == "random"


def test_the_summary_names_only_intervals_notably_wider_than_typical(
    panel_csv, tmp_path, run_main
):
    """With every clip rated by the same viewers no interval stands out and
    none is named; clips that lost most of their ratings are, widest first."""
    frame = pd.read_csv(panel_csv)
    full = frame[frame["subject"] != "newcomer"]
    full.to_csv(tmp_path / "full.csv", index=False)
    status, out, _ = run_main("fit", tmp_path / "full.csv", *NAMES, "-o", tmp_path)
    assert status == 0 and "Consensus:" not in out
    thin = full[
        ~full["video"].isin(["clip03", "clip07"]) | full["subject"].isin(["s0", "s1"])
    ]
    thin.to_csv(tmp_path / "thin.csv", index=False)
    status, out, _ = run_main("fit", tmp_path / "thin.csv", *NAMES, "-o", tmp_path)
    line = next(x for x in out.splitlines() if x.startswith("Consensus:"))
    assert "video clip03" in line and "video clip07" in line
    assert line.count("video clip") == 2


def test_a_sparse_panel_names_a_few_undetermined_annotators(tmp_path, run_main):
    """A crowd of 40 newcomers with one rating each: the summary names 5 of
    them and counts the rest; the annotator table has them all."""
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 6, 20)
    rows = [
        (f"clip{i}", f"s{a}", float(np.clip(truth[i] + rng.integers(-1, 2), 1, 5)))
        for a in range(4)
        for i in range(20)
    ]
    rows += [(f"clip{k % 20}", f"new{k:02d}", 3.0) for k in range(40)]
    path = tmp_path / "crowd.csv"
    pd.DataFrame(rows, columns=["item", "annotator", "score"]).to_csv(path, index=False)
    status, out, err = run_main("fit", path, "--annotators", tmp_path / "a.csv")
    assert status == 0, err
    (line,) = [x for x in out.splitlines() if "too few ratings" in x]
    assert line.startswith("40 undetermined (too few ratings to judge; in the ")
    assert "fully trusted annotator): new00, " in line
    assert line.count("new") == 5 and line.endswith("... (40 in all).")
    assert len(pd.read_csv(tmp_path / "a.csv")) == 44


def test_a_slip_is_named_in_the_summary_and_in_the_reasons(tmp_path, run_main):
    """A careful viewer with one rating at the wrong end of the scale is not
    called random: one line names it, and the report's reason says why."""
    from tests.model.test_lapses import _panel_with_a_slip

    X, _ = _panel_with_a_slip(0)
    item, annotator = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"item": item, "annotator": [f"s{a}" for a in annotator]}
    ).assign(score=1 + 4 * X[item, annotator])
    path = tmp_path / "slip.csv"
    frame.to_csv(path, index=False)
    status, out, err = run_main("fit", path, "--score-range", "1", "5")
    assert status == 0, err
    assert (
        "1 annotator with one rating far off the consensus, read as a slip, not "
        "as random answers: s0." in out.splitlines()
    )
    assert "2 of 10 annotators answer at random: s8, s9;" in out


def test_two_readers_are_undetermined_for_want_of_a_third_not_of_ratings(
    tmp_path, run_main
):
    """A helper's finding on two radiologists' 110 readings each: the summary
    said "too few ratings to judge"; it says that no item has a third rater
    (the report's page too)."""
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 5, 110)
    rows = [
        (f"case{i}", reader, float(np.clip(truth[i] + rng.integers(-1, 2), 1, 4)))
        for reader in ("Reader1", "Reader2")
        for i in range(110)
    ]
    path = tmp_path / "readers.csv"
    pd.DataFrame(rows, columns=["item", "annotator", "score"]).to_csv(path, index=False)
    status, out, err = run_main("fit", path, "--report", tmp_path / "page.html")
    assert status == 0, err
    assert (
        "2 undetermined (no item was rated by three annotators, so nobody can be "
        "compared with two others; in the consensus each counts" in out
    )
    assert "too few ratings" not in out
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "(no item was rated by three annotators, so nobody can be" in page


def test_a_panel_of_noise_says_no_ratings_tell_anyone_apart(tmp_path, run_main):
    """Uniform noise from every viewer: nobody is judged, and the summary says
    why in the panel's terms, not as a shortage of ratings (each has 300)."""
    rng = np.random.default_rng(0)
    rows = [
        (f"clip{i}", f"s{a}", rng.uniform(1, 5)) for a in range(20) for i in range(300)
    ]
    path = tmp_path / "noise.csv"
    pd.DataFrame(rows, columns=["item", "annotator", "score"]).to_csv(path, index=False)
    status, out, err = run_main("fit", path, "--score-range", "1", "5", "-o", tmp_path)
    assert status == 0, err
    assert (
        "20 undetermined (the panel agrees too little for anyone's ratings to "
        "tell careful from random; in the consensus each counts" in out
    )
    assert "too few ratings" not in out
    assert "at random:" not in out
    # Nobody flagged to check: the hint points to the reasons.
    assert out.splitlines()[-1] == (
        "next: --report report.html says why each annotator is undetermined."
    )


def test_a_failed_mixture_test_is_named_as_the_reason_not_a_shortage(
    tmp_path, run_main, without_the_predictive_check
):
    """Honest, noisy raters, three per item, where the mixture from the median
    start flags one and then gives way to everyone good: the summary and the
    report name that as the reason it is undetermined, not too few ratings
    (it has ten). (The others' consensus would spare it first: the check is
    off.)"""
    from tests.model.test_evidence import _honest_panel

    X = _honest_panel(5)
    item, annotator = np.nonzero(~np.isnan(X))
    frame = pd.DataFrame(
        {"item": item, "annotator": [f"s{a}" for a in annotator]}
    ).assign(score=X[item, annotator])
    path = tmp_path / "honest.csv"
    frame.to_csv(path, index=False)
    report = tmp_path / "page.html"
    status, out, err = run_main(
        "fit",
        path,
        "--score-range",
        "0",
        "1",
        "--init",
        "median",
        "-o",
        tmp_path,
        "--report",
        report,
    )
    assert status == 0, err
    (line,) = [x for x in out.splitlines() if "called random" in x]
    assert line == (
        "1 undetermined (called random only by a fit that explained the ratings "
        "no better than trusting everyone; in the consensus each counts more "
        "than 99% as much as a fully trusted annotator): s6."
    )
    page = report.read_text(encoding="utf-8")
    assert (
        "<strong>s6</strong>: undetermined: called random only by a fit that "
        "explained the ratings no better than trusting everyone (" in page
    )
    assert "too few ratings (" not in page.split("<strong>s6</strong>")[1][:200]
    # Its next step is not "more ratings": it has them.
    assert "Look at the ratings of s6 if you doubt them" in page
    assert "undetermined annotators (s6): with more ratings" not in page


def test_labels_the_figures_font_lacks_leave_a_successful_report_quiet(
    tmp_path, run_main
):
    """Fuzzing finding: CJK labels made matplotlib warn once per missing glyph
    (32 lines on stderr) on a run that succeeded."""
    import warnings

    pytest.importorskip("matplotlib")
    rows = [
        (f"clip{i}", name, float((i + k) % 5 + 1))
        for i in range(6)
        for k, name in enumerate(["张伟", "李娜", "王芳", "刘洋"])
    ]
    path = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=["item", "annotator", "score"]).to_csv(path, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, _, err = run_main(
            "fit", path, "-o", tmp_path / "out", "--report", tmp_path / "r.html"
        )
    assert status == 0 and err == "", err
    assert not [w for w in caught if "Glyph" in str(w.message)]
    assert "张伟" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_the_bias_line_names_who_rates_high_and_low(panel_csv, run_main):
    status, out, _ = run_main("fit", panel_csv, *NAMES, "--bias")
    assert status == 0
    line = next(x for x in out.splitlines() if x.startswith("Bias"))
    assert line.startswith("Bias (how much higher than the consensus an annotator")
    assert line.count("(s") + line.count("(newcomer") == 2
    # A words helper's finding: the range is the consistent annotators'.
    assert "rates), among the consistent annotators: from " in line
    assert "-0.00" not in line


def test_sigma_and_bias_lines_say_when_they_are_on_the_logarithms():
    """score_scale='log': sigma and the biases are of the logarithms, and the
    summary reads them as shares; a linear fit's lines say nothing of it."""
    from skem._cli.results import _bias_line, _sigma_line

    pd = pytest.importorskip("pandas")
    annotators = pd.DataFrame({"sigma": [0.2, 0.3], "bias": [-0.1, 0.05]})
    consistent = np.array([True, True])
    sigma = _sigma_line(annotators, consistent, log=True)
    assert sigma.startswith(
        "Inconsistency (sigma, the spread of good ratings that the model fits; "
        "on the logarithms of the scores, where 0.1 is about 10%) of the "
        "consistent annotators: 0.25"
    )
    shared = pd.DataFrame({"sigma": [0.2, 0.2], "bias": [0.0, 0.0]})
    assert _sigma_line(shared, consistent, log=True).endswith(
        "where 0.1 is about 10%): 0.2, the same for every annotator."
    )
    assert _sigma_line(shared, consistent, tail=2.0, log=True).startswith(
        "Scale of the deviations from the consensus (sigma of the Student-t "
        "error with 2 degrees of freedom, the inconsistency; on the logarithms"
    )
    bias = _bias_line(annotators, ["a", "b"], consistent, log=True)
    assert (
        "rates; on the logarithms of the scores, where 0.1 is about 10% higher)" in bias
    )
    assert "from -0.1 (a) to +0.05 (b)" in bias
    for line in (
        _sigma_line(annotators, consistent),
        _bias_line(annotators, ["a", "b"], consistent),
    ):
        assert "logarithm" not in line


def test_a_fit_that_did_not_converge_says_so():
    from skem._cli.results import convergence_line

    class Fit:
        n_iter_, converged_, max_iter, tol = 100, False, 100, 1e-6

    line = convergence_line(Fit, 3.5)
    assert line.startswith("The fit did NOT converge: it was still changing after")
    assert "100 iterations (3.50 s)" in line
    assert "a larger --max-iter (this fit: 100) or --tol (this fit: 1e-06)" in line


def test_max_iter_and_tol_reach_the_fit_and_its_advice(panel_csv, run_main):
    """A new user's finding: the advice on a fit that did not converge named
    max_iter and tol, which the command did not have. It has them now, the
    summary names them, and the estimator's own warning, which says the same
    in the estimator's words, is not repeated."""
    status, out, err = run_main("fit", panel_csv, *NAMES, "--max-iter", "1")
    assert status == 0, err
    line = next(x for x in out.splitlines() if x.startswith("The fit did NOT"))
    assert "after 1 iteration (" in line
    assert "a larger --max-iter (this fit: 1) or --tol (this fit: 1e-06)" in line
    assert "max_iter" not in out + err
    status, out, err = run_main("fit", panel_csv, *NAMES, "--tol", "1e-3")
    assert status == 0, err
    assert "The fit converged" in out


def test_quiet_prints_only_what_needs_attention_and_writes_every_output(
    panel_csv, run_main
):
    """A new user's finding: -q only hid the progress and still printed the
    whole summary. Quiet, a fit that converged prints nothing and still
    writes its tables; one that did not says so on stderr, with the options
    to change; a table asked for on stdout is still written there."""
    out_dir = panel_csv.parent / "quiet"
    status, out, err = run_main("fit", panel_csv, *NAMES, "-q", "-o", out_dir)
    assert (status, out, err) == (0, "", "")
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "annotators.csv",
        "consensus.csv",
    ]
    status, out, err = run_main("fit", panel_csv, *NAMES, "-q", "--max-iter", "1")
    assert (status, out) == (0, "")
    assert err.startswith("warning: The fit did NOT converge") and err.count("\n") == 1
    assert "--max-iter (this fit: 1)" in err
    status, out, err = run_main("demo", "-q", "--report", panel_csv.parent / "d.html")
    assert (status, out, err) == (0, "", "")
    assert (panel_csv.parent / "d.html").is_file()
    status, out, err = run_main("fit", panel_csv, *NAMES, "-q", "--consensus", "-")
    assert (status, err) == (0, "")
    assert out.splitlines()[0].startswith("video,") and out.count("\n") == 31


def test_the_widest_intervals_are_shown_as_they_are_clipped(tmp_path, run_main):
    """A new user's finding: a consensus of 0 with its interval clipped to
    0..2 was shown as "(+-1)", which reads as -1..1."""
    rows = [(f"i{i}", f"a{a}", float((i + a) % 3)) for i in range(30) for a in range(6)]
    rows += [("lone", "a0", 0.0), ("lone", "a1", 0.0)]
    path = tmp_path / "ratings.csv"
    pd.DataFrame(rows, columns=["item", "annotator", "score"]).to_csv(path, index=False)
    status, out, err = run_main("fit", path)
    assert status == 0, err
    line = next(x for x in out.splitlines() if x.startswith("Consensus:"))
    assert "item lone (0 to " in line and "+-" not in line


def test_the_widest_intervals_say_how_many_are_notably_wide(tmp_path, run_main):
    """A practitioner's finding: 102 of weather's 664 items have notably wide
    intervals, and the summary named 3 and the report 5 without saying so."""
    rows = [(f"i{i}", f"a{a}", float((i + a) % 3)) for i in range(30) for a in range(6)]
    rows += [(f"lone{k}", f"a{k % 6}", float(k % 3)) for k in range(12)]
    path = tmp_path / "ratings.csv"
    pd.DataFrame(rows, columns=["item", "annotator", "score"]).to_csv(path, index=False)
    page = tmp_path / "page.html"
    status, out, err = run_main("fit", path, "--report", page)
    assert status == 0, err
    line = next(x for x in out.splitlines() if x.startswith("Consensus:"))
    assert "intervals (of the 12 notably wide ones) are those of item lone" in line
    text = page.read_text(encoding="utf-8")
    assert "widest (the 5 widest of the 12 whose standard error is over 1.2" in text
    assert "In red: the 5 widest of the 12 notably wide intervals" in text


def test_a_report_without_matplotlib_is_refused_before_the_fit(
    panel_csv, run_main, one_line_error, monkeypatch
):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    out = panel_csv.parent / "out"
    status, _, err = run_main(
        "fit", panel_csv, *NAMES, "--report", out / "r.html", "-o", out
    )
    one_line_error(status, err, "--report", "pip install matplotlib")
    assert not out.exists()


def test_the_report_option_builds_the_page_with_the_labels(
    panel_csv, run_main, monkeypatch
):
    """``--report`` builds skem.report's page from the fit, the labels and the
    user's column names, and writes it whole."""
    from skem._io import report

    calls = []

    def fake_page(estimator, X, **kwargs):
        kwargs["X"] = X
        calls.append((estimator, kwargs))
        return "<html></html>"

    monkeypatch.setattr(report, "_report_page", fake_page)
    target = panel_csv.parent / "report.html"
    status, out, err = run_main("fit", panel_csv, *NAMES, "--report", target)
    assert status == 0, err
    ((estimator, kwargs),) = calls
    assert isinstance(estimator, skem.AnnotatorEM)
    assert target.read_text() == "<html></html>"
    assert kwargs["item_name"] == "video" and kwargs["annotator_name"] == "subject"
    assert "newcomer" in list(kwargs["annotators"])
    assert "clip00" in list(kwargs["items"])
    assert kwargs["X"].shape == (30, 7) and kwargs["X"].nnz == 182
    assert f"wrote report to {target}" in out
    assert (
        out.splitlines()[-1] == f"next: open {target} for the figures and what to do."
    )


def test_the_report_page_is_written(panel_csv, run_main):
    pytest.importorskip("matplotlib")
    target = panel_csv.parent / "report.html"
    status, _, err = run_main("fit", panel_csv, *NAMES, "--report", target)
    assert status == 0, err
    page = target.read_text()
    assert "newcomer" in page and "clip00" in page and "<img" in page


def test_the_report_goes_into_a_new_output_folder(panel_csv, run_main):
    """README's '-o results/ --report results/report.html' on a fresh
    machine: the report, written first, found no folder yet (exit 2). The
    summary names the folders it made: a misspelt one would show there."""
    pytest.importorskip("matplotlib")
    out = panel_csv.parent / "new" / "results"
    status, summary, err = run_main(
        "fit", panel_csv, *NAMES, "-o", out, "--report", out / "report.html"
    )
    assert status == 0, err
    assert f"created folder {panel_csv.parent / 'new'}\n" in summary
    assert "created folder" not in run_main("fit", panel_csv, *NAMES, "-o", out)[1]
    assert sorted(p.name for p in out.iterdir()) == [
        "annotators.csv",
        "consensus.csv",
        "report.html",
    ]


def _counts_csv(path, slips):
    """80 items with true counts of 20 to 500 and 8 careful raters (normal
    errors of 3), of whom 3% of ratings are slips of 30 to 80, if ``slips``."""
    rng = np.random.default_rng(0)
    truth = rng.uniform(20, 500, 80)
    X = truth[:, None] + rng.normal(0, 3, (80, 8))
    if slips:
        slip = rng.random((80, 8)) < 0.03
        X[slip] += rng.choice([-1, 1], slip.sum()) * rng.uniform(30, 80, slip.sum())
    return _long_csv(X, path)


def _long_csv(X, path, prefix="r"):
    """The rated entries of the matrix X as a long CSV file at ``path``:
    items by row number, annotators ``prefix`` and column number."""
    rows, cols = np.nonzero(~np.isnan(X))
    pd.DataFrame(
        {
            "item": rows,
            "annotator": [f"{prefix}{a}" for a in cols],
            "score": X[rows, cols],
        }
    ).to_csv(path, index=False)
    return path


def test_heavy_tailed_errors_point_to_the_student_t(tmp_path, run_main):
    """Careful raters' slips make far more ratings beyond 4 sigma than a
    normal error would (19 against 0.04): the summary says so and names the
    Student-t, which fits these counts better (an error of 0.93 against
    2.57). Without slips, or with the t, it says nothing."""
    slips = _counts_csv(tmp_path / "slips.csv", slips=True)
    status, out, err = run_main("fit", slips)
    assert status == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("Heavy tails:")]
    assert "19 ratings of consistent annotators lie more than 4 sigma" in line
    assert line.endswith("tail the ratings choose: --no-bounded --tail auto.")
    status, out, _ = run_main("fit", slips, "--no-bounded")
    assert "tail the ratings choose: --tail auto." in out
    status, out, _ = run_main("fit", slips, "--no-bounded", "--tail", "auto")
    assert status == 0 and "Heavy tails" not in out
    assert "(sigma of the Student-t error with " in out
    status, out, _ = run_main("fit", slips, "--no-bounded", "--tail", "1")
    assert status == 0 and "Heavy tails" not in out
    # The t's sigma is a scale: with 1 degree of freedom it has no deviation.
    assert "the spread of good ratings" not in out
    assert (
        "Scale of the deviations from the consensus (sigma of the Student-t error "
        "with 1 degree of freedom, the inconsistency)" in out
    )
    status, out, _ = run_main("fit", _counts_csv(tmp_path / "clean.csv", slips=False))
    assert status == 0 and "Heavy tails" not in out


def test_relative_errors_point_to_the_log_scale(tmp_path, run_main):
    """Guessed counts whose errors are 20% of the count: the summary of a
    linear fit says the deviations grow with the count and names
    --score-scale log; a fit on the logarithms says nothing of it, nor does a
    fit of the additive errors of the heavy-tail test above."""
    rng = np.random.default_rng(0)
    truth = rng.uniform(20, 500, 80)
    X = np.round(truth[:, None] * np.exp(rng.normal(0, 0.2, (80, 8))))
    path = _long_csv(X, tmp_path / "guesses.csv")
    status, out, err = run_main("fit", path)
    assert status == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("Relative errors:")]
    assert line.endswith(
        "where such errors are of one size: the same fit with --score-scale log."
    )
    status, out, _ = run_main("fit", path, "--score-scale", "log")
    assert status == 0 and "Relative errors" not in out
    status, out, _ = run_main("fit", _counts_csv(tmp_path / "additive.csv", False))
    assert status == 0 and "Relative errors" not in out


def test_raters_who_give_every_item_one_score_are_named(tmp_path, run_main):
    """A helper's finding: workers who answer 3 to every item of a 1..5
    panel were counted as consistent without a word (their residuals are
    the consensus' own spread, no larger than a noisy honest rater's). On
    levels the fit now calls them random; read as exact scores, where the
    random rater is uniform only, it may not, and the summary and the report
    page name them. The honest panel has no note."""
    rng = np.random.default_rng(0)
    truth = rng.uniform(1, 5, 40)
    X = np.clip(np.round(truth[:, None] + rng.normal(0, 1.0, (40, 10))), 1, 5)
    honest = _long_csv(X, tmp_path / "honest.csv")
    status, out, err = run_main("fit", honest, "--no-levels")
    assert status == 0 and "Same score" not in out, err
    X[:, [2, 7]] = 3
    path = _long_csv(X, tmp_path / "straight.csv")
    flagged = tmp_path / "flagged.html"
    status, out, err = run_main("fit", path, "--report", flagged)
    assert status == 0, err
    assert "2 of 10 annotators answer at random: r2, r7" in out
    assert "Same score" not in out
    # Their reasons on the page say what they did.
    page = flagged.read_text(encoding="utf-8")
    assert "gives every item the same score: 40 ratings" in page
    assert "answers look random" not in page
    page = tmp_path / "r.html"
    status, out, err = run_main("fit", path, "--no-levels", "--report", page)
    assert status == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("Same score throughout:")]
    assert line.startswith("Same score throughout: r2, r7 gave every item they rated")
    assert "Same score throughout: r2, r7" in page.read_text(encoding="utf-8")


def test_a_rater_with_a_constant_offset_is_pointed_to_bias_in_the_summary(
    tmp_path, run_main
):
    """As on the report page: vqeg_hd3's subject 19 rates about one level
    above the others and looked random without biases; the summary only
    named them as random. Their ratings follow the items, so they are
    undetermined, and the summary says why and to refit with --bias; with
    --bias, nothing of the sort."""
    path = _long_csv(
        _panel_with_an_offset_rater(), tmp_path / "offset.csv", prefix="rater"
    )
    status, out, err = run_main("fit", path)
    assert status == 0, err
    (line,) = [x for x in out.splitlines() if "follow the items" in x]
    assert line.startswith("1 undetermined (the ratings follow the items")
    assert line.endswith(": rater0.")
    (line,) = [x for x in out.splitlines() if x.startswith("If rater0")]
    assert line == (
        "If rater0 rates a constant step above or below everyone else, refit with "
        "--bias and see whether they are consistent then."
    )
    status, out, _ = run_main("fit", path, "--bias")
    assert status == 0 and "follow the items" not in out and "If rater0" not in out


@pytest.mark.parametrize(
    ("panel", "fitted", "note", "said"),
    [
        (
            _hard_panel_of_few_raters,
            "5 of 20 annotators answer at random",
            "Few raters per item:",
            "the median item has 4 ratings",
        ),
        (
            _yes_no_panel_with_spammers,
            "on a 0 to 1 scale of 2 levels",
            "Yes/no labels:",
            "a yes/no label says little about who is careful",
        ),
    ],
)
def test_verdicts_that_rest_on_little_get_a_note(
    tmp_path, run_main, panel, fitted, note, said
):
    """Verdicts on hard 1..5 judgments with 3 to 5 raters per item (a
    helper's finding: the default can call honest raters random, here 3 of
    the 18 honest ones beside the 2 random ones), and verdicts on yes/no
    labels (the benchmarks' table "Yes/no judgments"), rest on little. The
    summary and the report page say so; a 1..5 panel of 10 raters per item,
    one of them random, gets neither note."""
    path = _long_csv(panel(), tmp_path / "panel.csv")
    page = tmp_path / "panel.html"
    status, out, err = run_main("fit", path, "--report", page)
    assert status == 0, err
    assert fitted in out
    (line,) = [x for x in out.splitlines() if x.startswith(note)]
    assert said in line
    assert f"{note} {said}" in page.read_text(encoding="utf-8")
    rng = np.random.default_rng(0)
    truth = rng.uniform(1, 5, 40)
    X = np.clip(np.round(truth[:, None] + rng.normal(0, 0.5, (40, 10))), 1, 5)
    X[:, 0] = rng.integers(1, 6, 40)
    status, out, err = run_main("fit", _long_csv(X, tmp_path / "ten.csv"))
    assert status == 0, err
    assert "1 of 10 annotators answers at random: r0" in out
    assert note not in out
