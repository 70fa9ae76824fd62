"""CLI commands; each module adds its commands to the typer app with `register(app)`."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import typer

from lrdoctor.errors import LrdoctorError


def report_error(message: str) -> None:
    """One red line on stderr: plain off a terminal or with NO_COLOR, red with FORCE_COLOR."""
    import os

    if os.environ.get("NO_COLOR"):
        red = False
    else:
        red = bool(os.environ.get("FORCE_COLOR")) or sys.stderr.isatty()
    line = f"lrdoctor: error: {message}"
    typer.echo(f"\x1b[31m{line}\x1b[0m" if red else line, err=True, color=red)


def boundary(fn: Callable) -> Callable:
    """Turn a project error into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LrdoctorError as exc:
            report_error(str(exc))
            raise typer.Exit(2) from None

    return wrapper
