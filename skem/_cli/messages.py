"""Messages of the ``skem`` command: the user-input error and how values show.

Nearly a leaf module: it imports only :mod:`skem._io.words` (standard library
only), and nothing heavy, so that every other module of the command can use
it.
"""

from skem._io.words import clipped, label_text


class UserInputError(Exception):
    """A problem with what the user gave; reported in one line, exit 2."""


# Control characters (C0, DEL and C1) as escapes: a label's ESC sequence
# would otherwise reach the terminal and act there.
_CONTROL_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(32), *range(127, 160))}


def one_line(message):
    """``message`` as one line of text, whitespace runs folded to one space.

    Control characters left after the folding (an ESC, say) show as escapes,
    ``\\x1b``.

    Parameters
    ----------
    message : object
        Anything ``str`` can show.

    Returns
    -------
    text : str
        Never empty: "(no message)" stands in for a blank message.
    """
    return _folded(str(message)) or "(no message)"


def _folded(text):
    """``text`` on one line, whitespace runs as one space, controls escaped."""
    return " ".join(text.split()).translate(_CONTROL_ESCAPES)


# How the estimators' messages name a setting, and the command's flag for it:
# an estimator's warning reaches the command's user in the command's words.
_SETTINGS_AS_FLAGS = (
    (
        "levels='auto', the default, or levels=[...]",
        "--levels, the default, with --score-range LOW HIGH naming the outer "
        "levels where the ratings do not show the step",
    ),
    ("bounded=True, the default, without a tail", "--bounded, the default, no --tail"),
    ("bounded=True, the default", "--bounded, the default"),
)


def as_flags(message):
    """An estimator's message with its settings named as the command's flags.

    Parameters
    ----------
    message : str

    Returns
    -------
    text : str
        ``message`` with each phrase of ``_SETTINGS_AS_FLAGS`` replaced.
    """
    for setting, flag in _SETTINGS_AS_FLAGS:
        message = message.replace(setting, flag)
    return message


def describe(error):
    """An exception as one line, its type's name if it has no message.

    Parameters
    ----------
    error : BaseException

    Returns
    -------
    text : str
    """
    text = " ".join(str(error).split())
    return text or type(error).__name__


def show(value):
    """A label or a value for a message: str(), floats with :g, clipped.

    Labels read from a file are strings, shown exactly as written.

    Parameters
    ----------
    value : object

    Returns
    -------
    text : str
        At most about 40 characters, on one line.
    """
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        text = f"{value:g}"
    else:
        try:
            text = str(value)
        except ValueError:  # an integer too long to convert
            text = "(a number too long to show)"
    return clipped(_folded(text), with_length=True)


def quoted(text):
    """``show(text)`` in single quotes.

    Parameters
    ----------
    text : object

    Returns
    -------
    text : str
    """
    return f"'{show(text)}'"


def kind(value):
    """What a cell that is no label or number holds, in a phrase: 'a list'.

    Parameters
    ----------
    value : object
        A list, a nested value, or bytes that are not UTF-8.

    Returns
    -------
    phrase : str
    """
    if isinstance(value, bytes):
        shown = repr(value[:20]) + ("..." if len(value) > 20 else "")
        return f"bytes that are not UTF-8 text ({shown})"
    if isinstance(value, list | tuple) or type(value).__name__ == "ndarray":
        return "a list"
    return "a nested value"


def listing(labels, limit=20, width=200):
    """Labels joined by commas, about the first ``limit`` of them.

    Up to two labels beyond ``limit`` are shown rather than cut: '... (11
    in all)' would take the place of one. Long labels stop the list at
    about ``width`` characters.

    Parameters
    ----------
    labels : sequence
    limit : int, default=20
    width : int, default=200
        The most characters the names take, beyond the first name.

    Returns
    -------
    text : str
        For example '26, 27, 28' or '1, 2, ... (45 in all)'.
    """
    labels = list(labels)
    shown = []
    used = 0
    for label in labels if len(labels) <= limit + 2 else labels[:limit]:
        text = label_text(label)
        if shown and used + len(text) > width:
            break
        shown.append(text)
        used += len(text) + 2
    text = ", ".join(shown)
    if len(shown) < len(labels):
        text += f", ... ({len(labels)} in all)"
    return text


def sep_name(sep):
    """A separator as the user types it: a tab is '\\t'.

    Parameters
    ----------
    sep : str

    Returns
    -------
    text : str
    """
    return "\\t" if sep == "\t" else sep
