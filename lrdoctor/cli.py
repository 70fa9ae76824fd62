"""Command-line entry point: a plain `check` runs without typer; everything else goes to the
typer app (lrdoctor/commands/app.py). Errors become exit code 2 here."""

from __future__ import annotations

import re
import sys

# A value the fast path converts itself; anything else (" 3", "1e3", "3_000") is left to typer,
# which accepts it or says why not.
_COUNT = re.compile(r"[0-9]+\Z")
_DECIMAL = re.compile(r"([0-9]+(\.[0-9]*)?|\.[0-9]+)\Z")


def __getattr__(name: str):
    """`lrdoctor.cli.app` (the typer app) is built on first use, not by the entry point."""
    if name == "app":
        from lrdoctor.commands.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fast_check_args(args: list[str]) -> dict | None:
    """The keyword arguments typer would pass to `check_command` for `args`, or None when typer
    must parse them itself: not `check`, `--help`, `--`, a short-option cluster, an unknown
    option, a missing value or one the fast path does not convert (typer then accepts it or
    says what is wrong, exactly as without this path). Saves importing typer, click and their
    option machinery (~30 ms) on every check of a small log."""
    if not args or args[0] != "check":
        return None
    from lrdoctor.commands.check import OPTIONS, check_command

    kinds = check_command.__wrapped__.__annotations__
    params: dict = {}
    paths: list[str] = []
    rest = iter(args[1:])
    for arg in rest:
        if not arg.startswith("-"):
            paths.append(arg)
            continue
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        param = OPTIONS.get(name)
        if param is None:
            return None
        kind = kinds[param]
        if kind == "bool":
            if eq:
                return None
            params[param] = True
            continue
        if not eq:
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None
        converted = _convert(value, kind)
        if converted is None:
            return None
        if kind.startswith("list["):
            params.setdefault(param, []).append(converted)
        else:
            params[param] = converted
    if not paths:
        return None
    return {"paths": paths, **params}


def _convert(value: str, kind: str):
    """A value as typer converts it for an annotation (`int`, `float | None`, `list[Path]`...);
    None for one left to typer. Every int option counts from 1, the float one (--timeout) is
    at least 0.001."""
    if "int" in kind:
        return int(value) if _COUNT.match(value) and int(value) >= 1 else None
    if "float" in kind:
        return float(value) if _DECIMAL.match(value) and float(value) >= 0.001 else None
    if "Path" in kind:
        from pathlib import Path

        return Path(value) if value else None
    return value


def main() -> None:
    """Entry point: a project error from any command is one line on stderr and exit 2."""
    import contextlib
    import gc
    import os
    import signal

    # What start-up imports lives until the process ends: a check collects nothing before
    # its imports are done (lrdoctor.commands.check.settle_start_up), as the collector's
    # ~50 passes over the growing heap cost ~3 % of a small check's instructions.
    gc.disable()
    # Before the first record is defined: their methods come compiled from the cache.
    from lrdoctor.codecache import install

    install()

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

    def exit_now(code: int):
        # Stopped by a signal, with the workers already ended: leave without the interpreter's
        # exit hooks, which would talk to the torn-down pool ("Exception ignored" on stderr).
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)

    signal.signal(signal.SIGTERM, terminate)  # stop like Ctrl-C: workers ended, no traceback
    try:
        try:
            fast = fast_check_args(sys.argv[1:])
            if fast is not None:
                from lrdoctor.commands.check import check_command

                check_command(**fast)
            else:
                gc.enable()
                from lrdoctor.commands.app import app

                app()
        except SystemExit as exc:
            if exc.code in (EXIT_SIGINT, EXIT_SIGTERM):
                exit_now(exc.code)
            raise
        finally:
            sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's last flush
    except BrokenPipeError:
        silence_stdout()
        raise SystemExit(EXIT_SIGPIPE) from None
    except LrdoctorError as exc:
        report_error(str(exc))
        raise SystemExit(2) from None
    except KeyboardInterrupt:  # outside a command (e.g. while importing)
        exit_now(EXIT_SIGINT)
    except Terminated:
        exit_now(EXIT_SIGTERM)
