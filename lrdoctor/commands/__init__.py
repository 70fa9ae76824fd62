"""CLI commands; each module adds its commands to the typer app with `register(app)`.

Nothing here imports typer: `lrdoctor check` runs without it (lrdoctor/cli.py's fast path).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable

from lrdoctor.errors import LrdoctorError

# `--optimizer` of check, plot and watch: a fallback, never an override (tests/test_docs_api.py).
OPTIMIZER_HELP = (
    "The optimizer, for logs that do not name it (sgd, momentum, nesterov, adagrad, adadelta, "
    "rmsprop, adam, adamw, ...); a log that names one keeps its own."
)

# The options every command that opens a session takes, spelt once (check, watch, compare):
# name -> (option name, help); made into typer options on first use (`__getattr__` below).
_SHARED_OPTIONS = {
    "OPTIMIZER_OPTION": ("--optimizer", OPTIMIZER_HELP),
    "CONFIG_OPTION": ("--config", "Configuration file to use."),
    "RULES_OPTION": ("--rules", "Folder of extra rule files."),
    "SET_OPTION": ("--set", "RULE.param=value (or RULE.severity=warning)."),
    "IGNORE_OPTION": ("--ignore", "Rules to leave out."),
}


def __getattr__(name: str):
    if name in _SHARED_OPTIONS:
        import typer

        opt, help_ = _SHARED_OPTIONS[name]
        globals()[name] = option = typer.Option(None, opt, help=help_)
        return option
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# What click.echo strips from text bound for a stream that is not a terminal.
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")


def echo(text: str = "", err: bool = False, nl: bool = True, color: bool | None = None) -> None:
    """`typer.echo` without typer: ANSI codes kept with color=True, stripped with False, and
    with None kept only on a terminal; the stream is flushed."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    if nl:
        text += "\n"
    if not (color if color is not None else _isatty(stream)):
        text = _ANSI.sub("", text)
    stream.write(text)
    stream.flush()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def report_warning(message: str) -> None:
    """One line on stderr for something skipped that does not fail the check."""
    from lrdoctor.escape import terminal

    echo(f"lrdoctor: warning: {terminal(message)}", err=True)


def report_error(message: str) -> None:
    """One red line on stderr: plain off a terminal or with NO_COLOR, red with FORCE_COLOR."""
    import os

    if os.environ.get("NO_COLOR"):
        red = False
    else:
        red = bool(os.environ.get("FORCE_COLOR")) or sys.stderr.isatty()
    from lrdoctor.escape import terminal

    line = f"lrdoctor: error: {terminal(message)}"  # names from files: no forged lines
    echo(f"\x1b[31m{line}\x1b[0m" if red else line, err=True, color=red)


# Exit codes besides 0 / 1 (findings) / 2 (bad input): killed by a signal, as shells report it.
EXIT_SIGINT, EXIT_SIGTERM, EXIT_SIGPIPE = 130, 143, 141


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so `finally` blocks run and workers are stopped."""


def boundary(fn: Callable) -> Callable:
    """Turn any error into one line on stderr and exit 2, never a traceback.

    Exit 1 means "a finding reached the fail level", so a crash must never produce it: an
    unexpected exception is reported as an internal error (exit 2); Ctrl-C and SIGTERM exit
    130 / 143 quietly; a closed stdout (`| head`) ends the command like SIGPIPE would. The exit
    is a SystemExit, which click passes through as it is (typer need not be loaded).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SystemExit:
            raise
        except LrdoctorError as exc:
            report_error(str(exc))
            raise SystemExit(2) from None
        except KeyboardInterrupt:
            raise SystemExit(EXIT_SIGINT) from None
        except Terminated:
            raise SystemExit(EXIT_SIGTERM) from None
        except BrokenPipeError:
            silence_stdout()
            raise SystemExit(EXIT_SIGPIPE) from None
        except OSError as exc:  # a full disk or device (stdout > /dev/full), an I/O error
            name = fn.__name__.removesuffix("_command").replace("_", "-")
            what = f"{exc.filename}: " if exc.filename else ""
            report_error(f"lrdoctor {name}: {what}could not write ({exc.strerror or exc})")
            silence_stdout()  # the interpreter's final flush would fail again
            raise SystemExit(2) from None
        except Exception as exc:  # noqa: BLE001
            if _typer_control(exc):
                raise
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            name = fn.__name__.removesuffix("_command").replace("_", "-")
            report_error(f"internal error in lrdoctor {name} ({detail}) — please report")
            raise SystemExit(2) from None

    return wrapper


def _typer_control(exc: Exception) -> bool:
    """typer.Exit / typer.Abort raised by a command: control flow, not an error. Without typer
    loaded, nothing can have raised them."""
    typer = sys.modules.get("typer")
    return typer is not None and isinstance(exc, (typer.Exit, typer.Abort))


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test runner's buffer): nothing to flush later
