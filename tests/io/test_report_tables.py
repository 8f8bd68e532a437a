"""The report page's tables as HTML."""

import numpy as np
import pytest

import skem._io.report_tables as tables
from skem._io.report_tables import _annotator_html_table, _item_html_table

pd = pytest.importorskip("pandas")


def _people():
    return pd.DataFrame(
        {
            "label": ["<ann>", "bob"],
            "p_good": [1.0, 1e-9],
            "verdict": ["consistent", "random"],
            "consensus_weight": [1.0, 0.0],
            "n_ratings": [10, 10],
            "sigma": [0.25, 0.5],
            "bias": [0.1, -0.1],
        }
    )


def test_annotator_table_escapes_and_shows_bias_and_counts_only_when_known():
    page = _annotator_html_table(
        _people(), ["consistent", "looks random"], "viewer", False, False
    )
    assert "&lt;ann&gt;" in page and "<ann>" not in page
    assert "&lt; 0.001" in page  # bob's P(good)
    assert '<td class="num">0</td>' in page  # bob's weight, exactly 0
    assert "ratings</th>" not in page and "bias</th>" not in page
    full = _annotator_html_table(_people(), ["a", "b"], "viewer", True, True)
    assert "ratings</th>" in full and '<td class="num">+0.1</td>' in full


def test_annotator_table_writes_bias_and_sigma_as_the_summary_does():
    """A bias too small for three decimals is not "-0.000", nor a sigma "0.000"."""
    people = _people().assign(bias=[-2e-5, 0.0], sigma=[3e-5, 12345.6])
    page = _annotator_html_table(people, ["a", "b"], "viewer", True, True)
    cells = [
        '<td class="num">-2e-05</td>',
        '<td class="num">+0</td>',
        '<td class="num">3e-05</td>',
        '<td class="num">12,346</td>',
    ]
    assert all(cell in page for cell in cells)
    assert "0.000" not in page


def test_item_table_is_cut_at_its_most_rows(monkeypatch):
    monkeypatch.setattr(tables, "MAX_TABLE_ROWS", 2)
    items = pd.DataFrame(
        {
            "label": ["a", "b", "c"],
            "consensus": np.ones(3),
            "ci_low": np.zeros(3),
            "ci_high": np.full(3, 2.0),
            "std_error": np.full(3, 0.5),
        }
    )
    page = _item_html_table(items, "clip", False)
    assert page.count("<tr>") == 3  # the header and 2 rows
    assert "the first 2 of 3 (all of them: skem.consensus_frame)" in page


def test_the_std_error_of_a_log_scale_fit_is_said_to_be_of_the_logarithm():
    items = pd.DataFrame(
        {
            "label": ["a"],
            "consensus": [100.0],
            "ci_low": [80.0],
            "ci_high": [125.0],
            "std_error": [0.11],
        }
    )
    assert ">std error of the logarithm</th>" in _item_html_table(
        items, "clip", False, log=True
    )
    assert ">std error</th>" in _item_html_table(items, "clip", False)


def test_the_annotators_bias_and_inconsistency_say_when_they_are_of_the_logarithm():
    people = pd.DataFrame(
        {
            "label": ["a"],
            "verdict": ["consistent"],
            "p_good": [1.0],
            "consensus_weight": [1.0],
            "n_ratings": [3],
            "bias": [0.1],
            "sigma": [0.2],
        }
    )
    page = _annotator_html_table(people, ["consistent"], "rater", True, True, log=True)
    assert ">bias (of the logarithm)</th>" in page
    assert ">inconsistency (of the logarithm)</th>" in page
    page = _annotator_html_table(people, ["consistent"], "rater", True, False)
    assert ">inconsistency</th>" in page and "logarithm" not in page
