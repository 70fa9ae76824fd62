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
    "lrdoctor.commands.sweep",
)


def _register_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    app()
