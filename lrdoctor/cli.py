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


def _register_commands() -> None:
    # Each command module keeps heavy imports (numpy, pandas, pyarrow) inside its functions,
    # so `lrdoctor --help` and small runs start fast.
    from lrdoctor.trainer import cli as trainer_cli

    trainer_cli.register(app)


_register_commands()


def main() -> None:
    app()
