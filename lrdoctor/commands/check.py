"""`lrdoctor check PATH...`: configuration + selection -> engine -> the chosen output format."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from lrdoctor.commands import (
    OPTIMIZER_HELP,
    boundary,
    echo,
    report_error,
    report_warning,
)
from lrdoctor.limits import DEFAULT as DEFAULT_LIMITS

# Above this many inputs (and on a terminal) a progress bar shows on stderr.
PROGRESS_FROM = 20
CI_WIDTH = 120
# Every option of `check` -> the parameter of `check_command` it sets: what the fast path in
# lrdoctor/cli.py parses without typer (tests/test_cli_fast.py holds it to typer's options).
OPTIONS = {
    "--format": "format",
    "-f": "format",
    "--output": "output",
    "-o": "output",
    "--fail-on": "fail_on",
    "--exit-zero": "exit_zero",
    "--select": "select",
    "--extend-select": "extend_select",
    "--ignore": "ignore",
    "--set": "set_",
    "--config": "config",
    "--rules": "rules_dirs",
    "--step-col": "step_col",
    "--loss-col": "loss_col",
    "--lr-col": "lr_col",
    "--grad-norm-col": "grad_norm_col",
    "--update-ratio-col": "update_ratio_col",
    "--val-loss-col": "val_loss_col",
    "--epoch-col": "epoch_col",
    "--optimizer": "optimizer",
    "--jobs": "jobs",
    "-j": "jobs",
    "--executor": "executor",
    "--scheduler": "scheduler",
    "--exclude": "exclude",
    "--color": "color",
    "--quiet": "quiet",
    "-q": "quiet",
    "--max-bytes": "max_bytes",
    "--max-rows": "max_rows",
    "--max-columns": "max_columns",
    "--timeout": "timeout",
}


@boundary
def check_command(
    paths: list[str],
    format: str = "text",
    output: Path | None = None,
    fail_on: str | None = None,
    exit_zero: bool = False,
    select: list[str] | None = None,
    extend_select: list[str] | None = None,
    ignore: list[str] | None = None,
    set_: list[str] | None = None,
    config: Path | None = None,
    rules_dirs: list[Path] | None = None,
    step_col: str | None = None,
    loss_col: str | None = None,
    lr_col: str | None = None,
    grad_norm_col: str | None = None,
    update_ratio_col: str | None = None,
    val_loss_col: str | None = None,
    epoch_col: str | None = None,
    optimizer: str | None = None,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    exclude: list[str] | None = None,
    color: str = "auto",
    quiet: bool = False,
    max_bytes: int = DEFAULT_LIMITS.max_bytes,
    max_rows: int = DEFAULT_LIMITS.max_rows,
    max_columns: int = DEFAULT_LIMITS.max_columns,
    timeout: float = DEFAULT_LIMITS.timeout,
) -> None:
    """Check training logs and report learning-rate problems."""
    from lrdoctor.limits import Limits

    _check_format(format)
    session = settle(
        config,
        rules_dirs,
        color,
        select,
        extend_select,
        ignore,
        set_,
        optimizer,
        {
            "step": step_col,
            "loss": loss_col,
            "lr": lr_col,
            "grad_norm": grad_norm_col,
            "update_ratio": update_ratio_col,
            "val_loss": val_loss_col,
            "epoch": epoch_col,
        },
    )
    level = _fail_level(fail_on, session)
    session = _read_options(session, format, Limits(max_bytes, max_rows, max_columns, timeout))
    step_summary = _step_summary() if format == "github" else None
    exclude = [*session.settings.exclude, *(exclude or ())]
    inputs, skipped = _inputs(paths, exclude, output, step_summary)
    report = _run(
        session, inputs, executor, scheduler, jobs, show=not quiet and sys.stderr.isatty()
    )
    report.skipped = [(str(p), kind) for p, kind in skipped] + _skip_walked_non_logs(report, paths)
    report.config = str(session.settings.path) if session.settings.path else None
    _emit(report, format, output, color, quiet, level, step_summary)
    raise SystemExit(_exit_code(report, level, format, output, exit_zero))


def _check_format(format: str) -> None:
    from lrdoctor.errors import ConfigError, did_you_mean
    from lrdoctor.formats import FORMATS

    if format not in FORMATS:
        raise ConfigError(
            f"--format {format!r}",
            did_you_mean(format, FORMATS, f"use one of {', '.join(FORMATS)}"),
        )


def _fail_level(fail_on: str | None, session) -> str:
    from lrdoctor.config import check_severity

    return check_severity(fail_on, "--fail-on") if fail_on else session.fail_on


# The output formats that show `RunReport.preview`; the others' checks skip computing it.
PREVIEW_FORMATS = ("text", "html")


def _read_options(session, format: str, limits):
    """The session with the command line's read limits, binned curves for --format html, and
    the loss preview only for the formats that draw it (text's sparkline, html's fallback)."""
    import dataclasses

    options = dataclasses.replace(session.options, limits=limits, preview=format in PREVIEW_FORMATS)
    if format == "html":  # say a missing extra before reading anything; keep curves to draw
        from lrdoctor.plots import require

        require("--format html")
        options = dataclasses.replace(options, curves=True)
    return dataclasses.replace(session, options=options)


def _inputs(paths, exclude, output: Path | None, step_summary: Path | None):
    """The inputs the arguments name (less --exclude), and the special files skipped."""
    from lrdoctor.sources import resolve

    skipped: list = []
    inputs = _without_excluded(resolve(paths, skipped), exclude or (), paths)
    _refuse_overwriting(inputs, output, step_summary)
    for path, kind in skipped:
        report_warning(f"{path}: skipped, it is {kind} (only regular files are read)")
    if skipped and not inputs:  # nothing was checked: never a pass
        from lrdoctor.errors import InputError

        raise InputError(
            ", ".join(map(os.fspath, paths)),
            f"no regular log file found ({len(skipped)} special file"
            f"{'s' if len(skipped) != 1 else ''} skipped)",
            "only regular files are read",
        )
    return inputs, skipped


def _emit(report, format: str, output, color: str, quiet: bool, level: str, step_summary) -> None:
    """The report in the chosen format, to --output or stdout (only failing runs with -q)."""
    from lrdoctor.findings import Report
    from lrdoctor.formats import FORMATS, Context

    to_terminal = output is None and sys.stdout.isatty()
    ctx = Context(
        fail_on=level,
        color=format == "text" and _color(color, to_terminal, output),
        width=_width(to_terminal),
        step_summary=step_summary,
    )
    if format == "text" and report.runs and all(r.error is not None for r in report.runs):
        for r in report.runs:  # nothing was readable: one line per input, no report
            report_error(r.error)
        raise SystemExit(2)
    shown = report
    if quiet and format == "text":
        shown = Report(runs=[r for r in report.runs if r.fails(level)])
    text = FORMATS[format](shown, ctx) if shown.runs or format != "text" else ""
    if output is not None:
        write_atomic(output, text)
    elif text:
        echo(text, nl=False, color=ctx.color)  # ANSI codes are stripped otherwise


def _exit_code(report, level: str, format: str, output, exit_zero: bool) -> int:
    """0 / 1 by the findings at --fail-on; 2 when a run could not be judged or a rule crashed
    (said on stderr when the report itself went to a file or a machine)."""
    code = report.exit_code(level)
    idle = [
        r.source
        for r in report.runs
        if r.error is None and r.outcomes and all(o.status == "skipped" for o in r.outcomes)
    ]
    for source in idle:
        report_error(f"{source}: no selected rule could run (the log lacks the columns they need)")
    for r in report.runs:
        if r.error is not None and (format != "text" or output is not None):
            report_error(r.error)  # the report went to a file or a machine; say it on stderr
        if format != "text" or output is not None:
            for o in r.detector_errors:  # a rule crashed on this run: the exit code is 2
                report_error(f"{r.source}: rule {o.rule} {o.name} failed: {o.reason}")
    if code == 2 or idle:
        return 2
    return 0 if exit_zero else code


def settle(config, rules_dirs, color, select, extend_select, ignore, set_, optimizer, columns):
    """Config file, then command line: the one session (lrdoctor/session.py) every command
    opens, so precedence is the same in `check`, `watch`, `compare`, `lr-find` and the API.
    `columns`: signal -> the column the command line named for it (None: not named)."""
    from lrdoctor.config import split_list
    from lrdoctor.errors import ConfigError
    from lrdoctor.session import open_session

    if color not in ("auto", "always", "never"):
        raise ConfigError(f"--color {color!r}: use auto, always or never")
    return open_session(
        config=config,
        rules_dirs=rules_dirs or (),
        select=split_list(select),
        extend_select=split_list(extend_select),
        ignore=split_list(ignore),
        set_=set_ or (),
        optimizer=optimizer,
        columns=columns,
    )


def _run(session, inputs, executor: str, scheduler, jobs, show: bool):
    """The session's check, on Dask / Ray or here, under a progress bar when there are many."""
    from lrdoctor.errors import ConfigError

    if executor == "local" and scheduler:
        raise ConfigError("--scheduler needs --executor dask or --executor ray")
    settle_start_up(inputs if executor == "local" else [])
    if executor != "local":
        return _run_elsewhere(session, inputs, executor, scheduler, jobs, show)
    return _run_all(session, inputs, jobs, show)


def settle_start_up(inputs) -> None:
    """When the entry point started the check with the collector off (lrdoctor.cli.main):
    import what checking `inputs` here will need, move every object made so far to the
    collector's permanent generation (it lives until the process ends; collections never
    visit it again) and collect as usual from here. Otherwise (an API call, typer) nothing."""
    import gc

    if gc.isenabled():
        return
    from lrdoctor.engine import preload

    preload(inputs)
    gc.freeze()
    gc.enable()


def _run_all(session, inputs, jobs, show: bool):
    """The session's check, in chunks under a progress bar when there are many inputs."""
    from lrdoctor.findings import Report

    if not show or len(inputs) <= PROGRESS_FROM:
        return session.check(inputs, jobs=jobs)
    from rich.console import Console
    from rich.progress import Progress

    chunk = max(PROGRESS_FROM, 4 * (jobs or os.cpu_count() or 1))
    runs = []
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("checking", total=len(inputs))
        for start in range(0, len(inputs), chunk):
            part = inputs[start : start + chunk]
            runs.extend(session.check(part, jobs=jobs).runs)
            progress.advance(task, len(part))
    return Report(runs=runs)


def _run_elsewhere(session, inputs, executor, scheduler, jobs, show: bool):
    """The same per-input check mapped on Dask or Ray (lrdoctor/executors.py), with progress."""
    with contextlib.ExitStack() as stack:
        advance = lambda n: None  # noqa: E731
        if show:
            from rich.console import Console
            from rich.progress import Progress

            progress = stack.enter_context(Progress(console=Console(stderr=True), transient=True))
            task = progress.add_task(f"checking on {executor}", total=len(inputs))
            advance = lambda n: progress.advance(task, n)  # noqa: E731
        return session.check(inputs, jobs, executor=executor, scheduler=scheduler, advance=advance)


def _without_excluded(inputs: list, patterns, named) -> list:
    """Drop the inputs a --exclude GLOB matches (the whole path, a trailing part of it, or the
    name, as ruff's --exclude); a path named on the command line is kept, as ruff keeps it."""
    from fnmatch import fnmatch

    from lrdoctor.config import split_list

    patterns = split_list(list(patterns))
    if not patterns:
        return inputs
    named = {os.fspath(p) for p in named}

    def excluded(item) -> bool:
        text = os.fspath(item) if isinstance(item, Path) else str(item)
        parts = Path(text).parts
        tails = ["/".join(parts[i:]) for i in range(len(parts))]
        return text not in named and any(fnmatch(s, g) for g in patterns for s in tails)

    return [i for i in inputs if not excluded(i)]


def _skip_walked_non_logs(report, named) -> list[tuple[str, str]]:
    """A table without a loss column met in a folder or a glob (a summary CSV next to the logs)
    is skipped with a warning, not an error that fails the batch; named on the command line, it
    stays an error."""
    named = {os.fspath(p) for p in named}
    kept, skipped = [], []
    for r in report.runs:
        if (
            r.error
            and r.source not in named
            and r.error.startswith(f"{r.source}: no loss column found")
        ):
            skipped.append((r.source, "not a training log (no loss column)"))
            report_warning(
                f"{r.source}: skipped, not a training log (no loss column) — "
                "name its loss with --loss-col, or leave it out with --exclude"
            )
        else:
            kept.append(r)
    if skipped and not kept:
        from lrdoctor.errors import InputError

        raise InputError(
            ", ".join(sorted(named)), "no training log found", "name its loss with --loss-col"
        )
    report.runs[:] = kept
    return skipped


def _color(choice: str, to_terminal: bool, output: Path | None) -> bool:
    from lrdoctor.config import color_wanted

    if output is not None and choice == "auto":
        return False  # a file never gets colour unless asked for
    return color_wanted(choice, to_terminal)


def _width(to_terminal: bool) -> int:
    import shutil

    if to_terminal:
        return shutil.get_terminal_size().columns
    # CI logs are wide: do not wrap at rich's default of 80 columns.
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) >= 40 else CI_WIDTH


def _refuse_overwriting(inputs, output: Path | None, step_summary: Path | None) -> None:
    """Inputs are sacred: no report goes over a log, into a run folder, or to a device."""
    from lrdoctor.readers.files import check_output

    local = [p for p in inputs if isinstance(p, Path)]
    if output is not None:
        check_output(output, local)
    if step_summary is not None:
        check_output(step_summary, local, "GITHUB_STEP_SUMMARY")


def _step_summary() -> Path | None:
    value = os.environ.get("GITHUB_STEP_SUMMARY")
    return Path(value) if value else None


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, then rename over the target."""
    import tempfile

    from lrdoctor.errors import ConfigError

    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ConfigError(f"--output {path}: cannot write there ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"--output {path}: cannot write there ({exc.strerror or exc})") from None


def register(app) -> None:
    """Add `check` to the typer app; its options are those `check_command` takes (the fast path
    in lrdoctor/cli.py parses the same ones without typer)."""
    import typer

    from lrdoctor.commands import CONFIG_OPTION, IGNORE_OPTION, RULES_OPTION, SET_OPTION

    def check(
        paths: list[str] = typer.Argument(
            ...,
            help="Log files, folders, glob patterns, s3:// "
            "(gs://, hdfs://) URIs or mlflow://HOST:PORT/EXPERIMENT.",
        ),
        format: str = typer.Option(
            "text",
            "--format",
            "-f",
            help="text, json, github, junit, "
            "markdown or html (a page with a figure per run; the plot "
            "extra).",
        ),
        output: Path | None = typer.Option(None, "--output", "-o", help="Write the report here."),
        fail_on: str | None = typer.Option(
            None,
            "--fail-on",
            help="error, warning or info: the lowest severity that fails the check "
            "(default error).",
        ),
        exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even with findings."),
        select: list[str] | None = typer.Option(
            None, "--select", help="Rules to run: ids, prefixes, names, categories or ALL."
        ),
        extend_select: list[str] | None = typer.Option(
            None, "--extend-select", help="Rules to add to the selection."
        ),
        ignore: list[str] | None = IGNORE_OPTION,
        set_: list[str] | None = SET_OPTION,
        config: Path | None = CONFIG_OPTION,
        rules_dirs: list[Path] | None = RULES_OPTION,
        step_col: str | None = typer.Option(None, "--step-col"),
        loss_col: str | None = typer.Option(None, "--loss-col"),
        lr_col: str | None = typer.Option(None, "--lr-col"),
        grad_norm_col: str | None = typer.Option(None, "--grad-norm-col"),
        update_ratio_col: str | None = typer.Option(None, "--update-ratio-col"),
        val_loss_col: str | None = typer.Option(None, "--val-loss-col"),
        epoch_col: str | None = typer.Option(None, "--epoch-col"),
        optimizer: str | None = typer.Option(
            None,
            "--optimizer",
            help=OPTIMIZER_HELP,
        ),
        jobs: int | None = typer.Option(
            None,
            "--jobs",
            "-j",
            min=1,
            help="Parallel processes (with --executor and no --scheduler: local workers).",
        ),
        executor: str = typer.Option(
            "local",
            "--executor",
            help="local (processes), dask or ray (the dask / ray extras; docs/scale.md).",
        ),
        scheduler: str | None = typer.Option(
            None,
            "--scheduler",
            help="The Dask scheduler or Ray cluster address (default: a local cluster).",
        ),
        exclude: list[str] | None = typer.Option(
            None,
            "--exclude",
            help="GLOB: leave matching files out of folders and globs (repeatable).",
        ),
        color: str = typer.Option("auto", "--color", help="auto, always or never."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only failing runs."),
        max_bytes: int = typer.Option(
            DEFAULT_LIMITS.max_bytes,
            "--max-bytes",
            min=1,
            help="Bytes of data per input (unzipped).",
        ),
        max_rows: int = typer.Option(DEFAULT_LIMITS.max_rows, "--max-rows", min=1),
        max_columns: int = typer.Option(DEFAULT_LIMITS.max_columns, "--max-columns", min=1),
        timeout: float = typer.Option(
            DEFAULT_LIMITS.timeout,
            "--timeout",
            min=0.001,
            help="Seconds to read and check one input.",
        ),
    ) -> None:
        """Check training logs and report learning-rate problems."""
        check_command(**locals())  # the parameters, exactly as typer parsed them

    app.command(
        "check",
        epilog=(
            "Example: lrdoctor check fixtures/spirals_adam_too_low.parquet --fail-on warning "
            "--format github"
        ),
    )(check)
