"""Numbers and counts as people write them, for every output in words.

The command's summary and the report page share them, so that a scale of
12 to 7,722 reads the same in both. Standard library only: the command
imports it before anything heavy.
"""

import math

SHOWN_CHARS = 40  # longer labels and values are clipped where they are shown


def number(value, digits=3):
    """A number as a person writes it: ``7,720`` and ``0.25``, not ``7.72e+03``.

    Whole numbers in full, with thousands separators; others to ``digits``
    significant digits, or to the unit where their whole part has more
    digits (``1,234``), in fixed notation; below 1e-4 and from 1e15 on,
    with an exponent.

    Parameters
    ----------
    value : float
    digits : int, default=3

    Returns
    -------
    text : str
    """
    value = float(value)
    if not math.isfinite(value):
        return f"{value:g}"
    if value == round(value) and abs(value) < 1e15:
        return f"{round(value):,}"
    text = f"{value:.{digits}g}"
    if "e" in text and 1e-4 <= abs(value) and abs(round(value)) < 1e15:
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
        text = f"{value:,.{decimals}f}"
    return text


def numbers_alike(*values, digits=3):
    """Several numbers of one phrase, written to the same decimals.

    ``number`` of each drops trailing zeros, so that a range reads "from
    0.647 to 0.67"; here the decimals are those the smallest needs for
    ``digits`` significant digits: "from 0.647 to 0.670". Whole numbers, and
    numbers that ``number`` writes with an exponent, are written by it.

    Parameters
    ----------
    *values : float
    digits : int, default=3

    Returns
    -------
    texts : list of str
    """
    values = [float(value) for value in values]
    plain = [v for v in values if math.isfinite(v) and v != 0]
    if (
        not plain
        or all(v == round(v) for v in plain)
        or not all(1e-4 <= abs(v) < 1e15 for v in plain)
    ):
        return [number(v, digits) for v in values]
    decimals = max(0, max(digits - 1 - math.floor(math.log10(abs(v))) for v in plain))
    return [f"{v:,.{decimals}f}" if math.isfinite(v) else number(v) for v in values]


def signed(value, digits=3):
    """``number(value)`` with its sign, ``+`` included; never ``-0``.

    A bias of ``-0.0003`` written to three significant digits of its own is
    ``-0.0003``; one that ``number`` writes as ``0`` gets ``+``, not ``-``.

    Parameters
    ----------
    value : float
    digits : int, default=3

    Returns
    -------
    text : str
    """
    text = number(abs(value), digits)
    return ("-" if value < 0 and text != "0" else "+") + text


def percent(fraction):
    """A coverage as a percentage, to its own digits: ``95%``, ``97.5%``.

    Parameters
    ----------
    fraction : float
        In (0, 1).

    Returns
    -------
    text : str
    """
    # Six digits: a float32 0.95 is 94.99999881 to ten.
    return f"{100.0 * float(fraction):.6g}%"


def count(n, noun):
    """``n`` and ``noun``, in the plural unless ``n`` is 1: '2 ratings'.

    Parameters
    ----------
    n : int
    noun : str

    Returns
    -------
    text : str
    """
    n = int(n)
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _degrees_of_freedom(df):
    """``"1 degree of freedom"``, ``"2.5 degrees of freedom"``."""
    return f"{number(df)} degree{'' if df == 1 else 's'} of freedom"


def no_columns(missing, quote=repr):
    """``"no column 'score'"`` or ``"no columns 'annotator', 'score'"``.

    Parameters
    ----------
    missing : list
        The column names asked for and not found, at least one.
    quote : callable, default=repr
        Shows one name.

    Returns
    -------
    words : str
    """
    names = ", ".join(map(quote, missing))
    return f"no column{'' if len(missing) == 1 else 's'} {names}"


def spaced_name_hint(missing, columns):
    """A hint for a missing column whose name a present one has with spaces.

    A header written ``item, annotator, score`` has the column
    ``' annotator'``, which messages that fold whitespace show as the one
    asked for.

    Parameters
    ----------
    missing : list of str
        The column names asked for and not found.
    columns : iterable
        The names of the columns there are.

    Returns
    -------
    hint : str
        ``"; the column ' annotator' has spaces around its name: remove
        them"`` for the first such pair, else ``""``.
    """
    present = [column for column in columns if isinstance(column, str)]
    for name in missing:
        for column in present:
            if column != name and column.strip() == str(name).strip():
                return (
                    f"; the column {column!r} has spaces around its name: remove them"
                )
    return ""


def clipped(text, with_length=False):
    """``text`` cut to ``SHOWN_CHARS`` characters, ending in "..." if cut.

    Parameters
    ----------
    text : str
    with_length : bool, default=False
        Whether a cut text ends with the whole text's length: "abc...
        (120 characters)", as messages show a value.

    Returns
    -------
    text : str
    """
    if len(text) <= SHOWN_CHARS:
        return text
    cut = text[: SHOWN_CHARS - 3] + "..."
    return f"{cut} ({len(text)} characters)" if with_length else cut


def label_text(label):
    """A label as the summary and the report name it: as written, or quoted.

    Labels are kept as written, so ``'26'`` and ``'26 '`` are two annotators.
    Shown plainly they would look alike, a comma inside one would split it
    in a list, and a control character would act on the terminal; such a
    label, and one that starts with a quote, is shown as Python writes it,
    quoted, with its spaces and escapes visible.

    Parameters
    ----------
    label : object

    Returns
    -------
    text : str
        ``str(label)``, or its ``repr`` where its whitespace is not single
        inner spaces, it holds a comma or a character that does not print,
        or it starts with a quote; :func:`clipped`.

    Examples
    --------
    >>> label_text("26"), label_text("26 "), label_text("Rater, No 26")
    ('26', "'26 '", "'Rater, No 26'")
    """
    text = str(label)
    plain = (
        text.isprintable()
        and " ".join(text.split()) == text
        and "," not in text
        and text[:1] not in ("'", '"')
    )
    return clipped(text if plain else repr(text))
