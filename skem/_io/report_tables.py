"""The report page's two tables, as HTML: every annotator, and the items."""

import html

from skem._io.html import _badge, _plural, _probability, _table, _text
from skem._io.words import number, percent, signed

# At most this many rows in the page's item table (the full table is
# consensus_frame's).
MAX_TABLE_ROWS = 1000


def _annotator_html_table(people, reasons, annotator_name, has_counts, bias, log=False):
    """Every annotator: verdict, reason, P(good), weight, counts, bias, sigma.

    Parameters
    ----------
    people : pandas.DataFrame
        The annotator table, its label column named ``label``.
    reasons : sequence of str
        Each annotator's reason (:func:`skem._io.verdicts._annotator_verdicts`).
    annotator_name : str
    has_counts : bool
        Whether the ratings were given (``n_ratings`` is known).
    bias : bool
        Whether biases were fitted: without, every bias is 0 and a column of
        +0.000 says nothing.
    log : bool, default=False
        Whether the fit is on the logarithms (``score_scale='log'``), where
        the biases and the inconsistencies are.

    Returns
    -------
    html : str
    """
    header = [
        html.escape(annotator_name),
        "verdict",
        "why",
        "P(good)",
        "weight in the consensus",
    ]
    if has_counts:
        header.append("ratings")
    units = " (of the logarithm)" if log else ""
    header += (
        [f"bias{units}", f"inconsistency{units}"] if bias else [f"inconsistency{units}"]
    )
    # "< 0.001" has a "<" to escape.
    weight = [
        "0" if w == 0 else html.escape(_probability(w))
        for w in people["consensus_weight"]
    ]
    rows = []
    for k in range(len(people)):
        cells = [
            f"<td>{_text(people['label'].iloc[k])}</td>",
            f"<td>{_badge(people['verdict'].iloc[k])}</td>",
            f"<td>{html.escape(reasons[k])}</td>",
            '<td class="num">'
            f"{html.escape(_probability(people['p_good'].iloc[k]))}</td>",
            f'<td class="num">{weight[k]}</td>',
        ]
        if has_counts:
            cells.append(f'<td class="num">{int(people["n_ratings"].iloc[k])}</td>')
        if bias:
            cells.append(f'<td class="num">{signed(people["bias"].iloc[k])}</td>')
        cells.append(f'<td class="num">{number(people["sigma"].iloc[k])}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return _table(header, rows, numeric_from=3)


def _item_html_table(items, item_name, has_counts, level=0.95, log=False):
    """The first ``MAX_TABLE_ROWS`` items: consensus, interval, error, counts.

    Parameters
    ----------
    items : pandas.DataFrame
        The item table, its label column named ``label``.
    item_name : str
    has_counts : bool
    level : float, default=0.95
        The intervals' coverage.
    log : bool, default=False
        Whether the fit is on the logarithms (``score_scale='log'``), and so
        the std errors.

    Returns
    -------
    html : str
        A collapsed ``<details>`` block.
    """
    header = [
        html.escape(item_name),
        "consensus",
        f"{percent(level)} interval",
        "std error of the logarithm" if log else "std error",
    ]
    if has_counts:
        header.append("ratings")
    rows = []
    for k in range(min(len(items), MAX_TABLE_ROWS)):
        cells = [
            f"<td>{_text(items['label'].iloc[k])}</td>",
            f'<td class="num">{items["consensus"].iloc[k]:.3f}</td>',
            f'<td class="num">{items["ci_low"].iloc[k]:.3f} to '
            f"{items['ci_high'].iloc[k]:.3f}</td>",
            f'<td class="num">{items["std_error"].iloc[k]:.3f}</td>',
        ]
        if has_counts:
            cells.append(f'<td class="num">{int(items["n_ratings"].iloc[k])}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    shown = (
        f"all {len(items)}"
        if len(items) <= MAX_TABLE_ROWS
        else f"the first {MAX_TABLE_ROWS} of {len(items)} (all of them: "
        "skem.consensus_frame)"
    )
    return (
        f"<details><summary>The table of the {html.escape(_plural(item_name))}"
        f" ({shown})</summary>" + _table(header, rows, numeric_from=1) + "</details>"
    )
