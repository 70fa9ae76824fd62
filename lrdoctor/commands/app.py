"""The typer app: every command, `--help`, `--version` and usage errors (one line, exit 2)."""

from __future__ import annotations

import importlib

import typer
import typer.core
from typer.core import TyperGroup

from lrdoctor.errors import did_you_mean, error_text

# Recent typer carries its own copy of click (typer._click); earlier releases use click itself.
click = importlib.import_module(
    (getattr(typer.core, "_click", None) or typer.core.click).__name__ + ".exceptions"
)


class LrdoctorGroup(TyperGroup):
    """typer's command group with lrdoctor's error style: a usage error is one line and exit 2,
    with a did-you-mean for a mistyped command or option (never typer's box)."""

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        try:
            code = super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except click.ClickException as exc:
            from lrdoctor.commands import report_error

            if type(exc).__name__ == "NoArgsIsHelpError":  # `lrdoctor` alone: the help, exit 2
                typer.echo(exc.format_message().strip("\n") or "", err=True)
            else:
                report_error(usage_text(exc))
            code = 2
        except typer.Abort:  # Ctrl-C or end of input while typer was parsing
            code = 130
        if not standalone_mode:
            return code
        raise SystemExit(code if isinstance(code, int) else 0)

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            if args and self.get_command(ctx, args[0]) is None:
                names = [n for n in self.list_commands(ctx) if not self.commands[n].hidden]
                exc.what = f"no such command {args[0]!r}"
                exc.hint = did_you_mean(args[0], names, "commands: " + ", ".join(names))
            raise


def usage_text(exc) -> str:
    """A click usage error as `<command>: <what> — <what to do>`."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "lrdoctor"
    hint = getattr(exc, "hint", "")
    if isinstance(exc, click.NoSuchOption):
        what = f"no such option {exc.option_name}"
        if ctx is not None:
            names = [o for p in ctx.command.get_params(ctx) for o in (*p.opts, *p.secondary_opts)]
            hint = did_you_mean(exc.option_name, [n for n in names if n.startswith("-")])
    else:
        what = getattr(exc, "what", "") or exc.format_message().strip().rstrip(".")
        what = what[:1].lower() + what[1:]
    return error_text(where, what, hint or f"see '{where} --help'")


app = typer.Typer(
    name="lrdoctor",
    cls=LrdoctorGroup,
    help="Diagnose learning-rate problems in neural-network training logs.",
    epilog="Example: lrdoctor check runs/ --fail-on warning   (lrdoctor COMMAND -h for more)",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from lrdoctor import __version__

        typer.echo(f"lrdoctor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        callback=_show_version,
        is_eager=True,
        help="Show the version and exit.",
    ),
) -> None:
    """Diagnose learning-rate problems in neural-network training logs."""


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
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()
