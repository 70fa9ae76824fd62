"""CLI commands; each module adds its commands to the typer app with `register(app)`."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import typer

from lrdoctor.errors import LrdoctorError

# The options every command that opens a session takes, spelt once (check, watch, compare).
CONFIG_OPTION = typer.Option(None, "--config", help="Configuration file to use.")
RULES_OPTION = typer.Option(None, "--rules", help="Folder of extra rule files.")
SET_OPTION = typer.Option(None, "--set", help="RULE.param=value (or RULE.severity=warning).")
IGNORE_OPTION = typer.Option(None, "--ignore", help="Rules to leave out.")


def report_warning(message: str) -> None:
    """One line on stderr for something skipped that does not fail the check."""
    from lrdoctor.escape import terminal

    typer.echo(f"lrdoctor: warning: {terminal(message)}", err=True)


def report_error(message: str) -> None:
    """One red line on stderr: plain off a terminal or with NO_COLOR, red with FORCE_COLOR."""
    import os

    if os.environ.get("NO_COLOR"):
        red = False
    else:
        red = bool(os.environ.get("FORCE_COLOR")) or sys.stderr.isatty()
    from lrdoctor.escape import terminal

    line = f"lrdoctor: error: {terminal(message)}"  # names from files: no forged lines
    typer.echo(f"\x1b[31m{line}\x1b[0m" if red else line, err=True, color=red)


# Exit codes besides 0 / 1 (findings) / 2 (bad input): killed by a signal, as shells report it.
EXIT_SIGINT, EXIT_SIGTERM, EXIT_SIGPIPE = 130, 143, 141


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so `finally` blocks run and workers are stopped."""


def boundary(fn: Callable) -> Callable:
    """Turn any error into one line on stderr and exit 2, never a traceback.

    Exit 1 means "a finding reached the fail level", so a crash must never produce it: an
    unexpected exception is reported as an internal error (exit 2); Ctrl-C and SIGTERM exit
    130 / 143 quietly; a closed stdout (`| head`) ends the command like SIGPIPE would.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except LrdoctorError as exc:
            report_error(str(exc))
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_SIGINT) from None
        except Terminated:
            raise typer.Exit(EXIT_SIGTERM) from None
        except BrokenPipeError:
            silence_stdout()
            raise typer.Exit(EXIT_SIGPIPE) from None
        except Exception as exc:  # noqa: BLE001
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            name = fn.__name__.removesuffix("_command").replace("_", "-")
            report_error(f"internal error in lrdoctor {name} ({detail}) — please report")
            raise typer.Exit(2) from None

    return wrapper


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test runner's buffer): nothing to flush later
