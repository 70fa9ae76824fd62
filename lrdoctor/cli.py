"""Command-line interface: thin typer commands over the library; errors become exit code 2 here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="lrdoctor",
    help="Diagnose learning-rate problems in neural-network training logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# Each module adds its commands with `register(app)`. They keep heavy imports (numpy, pandas,
# pyarrow) inside the command functions, so `lrdoctor --help` and small runs start fast.
COMMAND_MODULES = (
    "lrdoctor.trainer.cli",
    "lrdoctor.commands.check",
    "lrdoctor.commands.rules",
    "lrdoctor.commands.sweep",
    "lrdoctor.commands.watch",
    "lrdoctor.commands.plot",
)


def _register_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    """Entry point: a project error from any command is one line on stderr and exit 2."""
    import signal
    import sys

    from lrdoctor.commands import (
        EXIT_SIGINT,
        EXIT_SIGPIPE,
        EXIT_SIGTERM,
        Terminated,
        report_error,
        silence_stdout,
    )
    from lrdoctor.errors import LrdoctorError

    def terminate(signum, frame):
        raise Terminated

    signal.signal(signal.SIGTERM, terminate)  # stop like Ctrl-C: workers ended, no traceback
    try:
        try:
            app()
        finally:
            sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's last flush
    except BrokenPipeError:
        silence_stdout()
        raise SystemExit(EXIT_SIGPIPE) from None
    except LrdoctorError as exc:
        report_error(str(exc))
        raise SystemExit(2) from None
    except KeyboardInterrupt:  # outside a command (e.g. while importing)
        raise SystemExit(EXIT_SIGINT) from None
    except Terminated:
        raise SystemExit(EXIT_SIGTERM) from None
