"""``main``: run the ``skem`` command; the one place errors become exit codes."""

import contextlib
import enum
import os
import signal
import sys

from skem._cli.messages import UserInputError, one_line
from skem._cli.parser import build_parser


class ExitCode(enum.IntEnum):
    """The ``skem`` command's exit statuses."""

    OK = 0
    #: stdout closed early (``skem demo | head``) or not writable (a full
    #: disk), or a bug
    FAILURE = 1
    #: bad input: arguments, options, files or ratings
    BAD_INPUT = 2
    #: interrupted (Ctrl-C)
    INTERRUPTED = 130
    #: stopped by SIGHUP (a closed terminal)
    HANGUP = 129
    #: stopped by SIGTERM (kill, timeout, a scheduler)
    TERMINATED = 143


class _Stopped(BaseException):
    """A signal that stops the command: the outputs' stages unwind, as on Ctrl-C."""


def _raise_stopped(signum, frame):
    raise _Stopped(signum)


# What a job scheduler, ``timeout`` or a closed terminal sends to stop a job.
_STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _stopped_by_signals():
    """Within: SIGTERM and SIGHUP raise ``_Stopped``; after, the handlers before."""
    previous = {}
    for signum in _STOPPING_SIGNALS:
        # Only the main thread may set a handler (not a caller's thread).
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, _raise_stopped)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv=None):
    """Run the ``skem`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; ``sys.argv[1:]`` if None.

    Returns
    -------
    status : ExitCode
        OK (0) on success; BAD_INPUT (2) on bad input, arguments and paths
        that cannot be opened included, reported in one line on stderr;
        FAILURE (1) if stdout closed early, if the system could not write
        (a full disk) or on an unexpected error (one line too); INTERRUPTED
        (130) on Ctrl-C, HANGUP (129) and TERMINATED (143) on SIGHUP and
        SIGTERM, each with one line and no output left half-written.
    """
    with _stderr_even_if_closed():
        return _main(argv)


@contextlib.contextmanager
def _stderr_even_if_closed():
    """Within: a closed stderr (``2>&-``, None) is /dev/null, not stdout.

    ``print(file=None)`` writes to stdout: the summary and the errors meant
    for stderr would run into a table written to stdout, and the progress
    line's ``isatty`` would fail.
    """
    if sys.stderr is not None:
        yield
        return
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        sys.stderr = devnull
        try:
            yield
        finally:
            sys.stderr = None


def _main(argv):
    """:func:`main`, with a stderr to write to."""
    try:
        with _stopped_by_signals():
            try:
                args = build_parser().parse_args(argv)
            except SystemExit as stop:  # --help or --version, printed
                sys.stdout.flush()  # a closed pipe shows here, as below
                return ExitCode.OK if stop.code in (None, 0) else ExitCode.BAD_INPUT
            _run(args)
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return ExitCode.OK
    except UserInputError as error:
        _print_error(error)
        return ExitCode.BAD_INPUT
    except (
        FileNotFoundError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
    ) as error:
        # A path the command could not open, wherever a reader met it (a
        # folder or a dangling link among a glob's matches, a folder it may
        # not enter): the user's files, not a bug.
        where = f"{error.filename}: " if error.filename else ""
        _print_error(f"{where}{error.strerror or error}")
        return ExitCode.BAD_INPUT
    except BrokenPipeError:
        # The reader went away (skem demo | head): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        _silence_stdout()
        return ExitCode.FAILURE
    except OSError as error:
        # The system failed the command (a full disk, an I/O error): its
        # reason, not a bug report. Outputs to files are staged and name
        # their path (``cannot_write``); what has no file name is stdout
        # (``> /dev/full``).
        if error.errno is None:
            _print_error(f"unexpected {type(error).__name__}: {error}")
        elif error.filename is not None:
            _print_error(f"{error.filename}: {error.strerror}")
        else:
            _silence_stdout()
            _print_error(f"cannot write to stdout: {error.strerror}")
        return ExitCode.FAILURE
    except KeyboardInterrupt:
        _print_error("interrupted")
        return ExitCode.INTERRUPTED
    except _Stopped as stop:
        name = signal.Signals(stop.args[0]).name
        _print_error(f"stopped by {name}")
        return ExitCode.HANGUP if name == "SIGHUP" else ExitCode.TERMINATED
    except Exception as error:  # a bug, not bad input: still one line
        _print_error(f"unexpected {type(error).__name__}: {error}")
        return ExitCode.FAILURE


def _run(args):
    """Run the command that ``args`` names; its modules load only now."""
    if args.command == "demo":
        from skem._cli.local import run_demo

        run_demo(args)
    elif args.workers is not None or args.scheduler is not None:
        from skem._cli.on_dask import run_fit_on_dask

        run_fit_on_dask(args)
    else:
        from skem._cli.local import run_fit

        run_fit(args)


def _print_error(message):
    """One ``skem: error:`` line on stderr."""
    print(f"skem: error: {one_line(message)}", file=sys.stderr)


def _silence_stdout():
    """Point stdout at /dev/null, so that nothing more fails on it."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
