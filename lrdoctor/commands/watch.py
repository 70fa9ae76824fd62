"""`lrdoctor watch PATH`: follow a log a job is writing, report each new finding once."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from lrdoctor.commands import (
    CONFIG_OPTION,
    IGNORE_OPTION,
    OPTIMIZER_OPTION,
    RULES_OPTION,
    SET_OPTION,
    boundary,
)
from lrdoctor.escape import terminal


@boundary
def watch_command(
    path: Path = typer.Argument(..., help="The log file or run folder a job is writing."),
    interval: float = typer.Option(2.0, "--interval", min=0.01, help="Seconds between polls."),
    idle: float = typer.Option(
        300.0,
        "--idle",
        min=0.0,
        help="Stop (exit 0) when the log "
        "has not changed for this many seconds; also how long to wait "
        "for a missing log.",
    ),
    exit_on: str | None = typer.Option(
        None,
        "--exit-on",
        help="error or warning: exit 1 at the first finding of this severity or worse.",
    ),
    select: list[str] | None = typer.Option(None, "--select", help="Rules to run."),
    ignore: list[str] | None = IGNORE_OPTION,
    set_: list[str] | None = SET_OPTION,
    config: Path | None = CONFIG_OPTION,
    rules_dirs: list[Path] | None = RULES_OPTION,
    loss_col: str | None = typer.Option(None, "--loss-col"),
    lr_col: str | None = typer.Option(None, "--lr-col"),
    step_col: str | None = typer.Option(None, "--step-col"),
    optimizer: str | None = OPTIMIZER_OPTION,
    color: str = typer.Option("auto", "--color", help="auto, always or never."),
) -> None:
    """Follow a training log as it grows and report each new finding once."""
    from lrdoctor.commands.check import settle
    from lrdoctor.config import check_severity
    from lrdoctor.errors import ConfigError

    if exit_on is not None and check_severity(exit_on, "--exit-on") == "info":
        raise ConfigError("--exit-on 'info': use error or warning")
    session = settle(
        config,
        rules_dirs,
        color,
        select,
        None,
        ignore,
        set_,
        optimizer,
        {"loss": loss_col, "lr": lr_col, "step": step_col},
    )
    from lrdoctor.commands.check import _width

    watcher = Watcher(path, session, exit_on)
    watcher.width = _width(sys.stdout.isatty())
    code = watcher.follow(interval, idle, status=sys.stderr.isatty())
    _final(watcher, color)
    raise typer.Exit(2 if code == 0 and watcher.read_error and not watcher.reports else code)


# Re-run the rules once the log has grown by 1/RECHECK (2 %): a person is watching, and `watch`
# has no confirmation window, so it re-evaluates more often than the in-loop Monitor (20 %).
RECHECK = 50


class Watcher:
    """Follows the log by offset (lrdoctor/follow.py) and keeps what was already said.

    Each poll parses only what was appended. The rules run on the whole run so far, but only
    once it has grown by 1/RECHECK since they last ran (so their cost per row stays constant
    as the log grows), at once when a value first turns NaN or inf, and when the log goes idle.
    While the log grows, findings are held back as the Monitor holds them (`HoldBack`): a
    verdict on the first rows must not stop a run that `check` passes once it is whole. When
    the log goes idle (or turns non-finite) everything `check` would say is reported.
    """

    def __init__(self, path: Path, session, exit_on: str | None):
        self.path, self.session, self.exit_on = path, session, exit_on
        self.reports: list = []  # the latest RunReport of each run in the log
        self.runs: list = []
        # (run, rule, cause) -> the severity rank it was last printed at: printed again only
        # when it escalates (an info finding that became a warning can reach --exit-on)
        self.seen: dict[tuple[str, str, str | None], int] = {}
        self.read_error: str | None = None
        self.status = False
        self.width: int | None = None  # the findings' wrapping width (the command sets it)
        self.follower = None
        self.rows = self.rows_checked = 0
        self.evaluations = 0
        self.hold = _hold_back()
        self.last_change = time.monotonic()  # of the log (or since the wait for it began)

    def follow(self, interval: float, idle: float, status: bool = False) -> int:
        """Poll until idle (0), a finding at the --exit-on level (1) or a missing log (2)."""
        self.last_change = time.monotonic()
        self.status = status
        try:
            while True:
                code = self.poll(idle)
                if code is not None:
                    return code
                if status:
                    self._status()
                time.sleep(interval)
        except KeyboardInterrupt:
            self._settle()
            return 0
        finally:
            if status:
                sys.stderr.write("\r\x1b[2K")

    def poll(self, idle: float) -> int | None:
        """One poll: read what was appended, evaluate when due; the exit code once it ends."""
        from lrdoctor.commands import report_error
        from lrdoctor.errors import LrdoctorError
        from lrdoctor.follow import Follower

        now = time.monotonic()
        if self.follower is None and not self.path.exists():
            if now - self.last_change >= idle:
                from lrdoctor.errors import error_text

                report_error(
                    error_text(
                        self.path,
                        f"no such file or directory after waiting {idle:g} s",
                        "check the path",
                    )
                )
                return 2
            return None
        if self.follower is None:
            self.follower = Follower(self.path, self.session.wanted)
        try:
            added = self.follower.poll()
            self.read_error = None
        except LrdoctorError as exc:
            # Often a write caught half-way (a JSON file being rewritten): retry.
            from lrdoctor.errors import error_text

            self.read_error = str(exc) if exc.source else error_text(self.path, str(exc))
            added = 0
            self.follower = None
        if added is None:
            typer.echo(
                f"{terminal(self.path)}: the log shrank or was replaced (truncated or "
                "rotated); reading it again from the start",
                err=True,
            )
            self.rows = self.rows_checked = 0
            self.hold = _hold_back()
        if added != 0:
            self.rows += added or 0
            self.last_change = now
            broken = self.follower.newly_broken()
            if (broken or self._due(added is None)) and self._evaluate(final=broken):
                return 1
        elif now - self.last_change >= idle:
            return 1 if self._settle() else 0
        return None

    def _due(self, restarted: bool) -> bool:
        if restarted or not self.reports:
            return True
        return self.rows - self.rows_checked >= max(1, self.rows_checked // RECHECK)

    def _settle(self) -> bool:
        """Evaluate what arrived since the rules last ran (the log went idle, or was stopped)."""
        if self.follower is not None and (self.rows != self.rows_checked or not self.reports):
            return self._evaluate(final=True)
        return self._announce(final=True)  # what was held back on the rows already checked

    def _evaluate(self, final: bool) -> bool:
        """Run the rules on the run so far; print the new findings that `self.hold` lets out
        (all of them when `final`); True when one reaches --exit-on."""
        from lrdoctor.errors import LrdoctorError

        try:
            pairs = evaluate_tables(self.follower.tables(), self.session)
        except LrdoctorError as exc:
            self.read_error = str(exc)
            return False
        self.rows_checked, self.evaluations = self.rows, self.evaluations + 1
        self.read_error = None
        self.runs, self.reports = [p[0] for p in pairs], [p[1] for p in pairs]
        return self._announce(final)

    def _announce(self, final: bool) -> bool:
        """Print the new findings of the latest reports that `self.hold` lets out."""
        from lrdoctor.findings import SEVERITY_RANK

        stop = False
        for report in self.reports:
            key_of = _keyed(report.source)
            ready = self.hold.ready(report.findings, report.n_steps, final, key=key_of)
            for f in sorted(ready, key=lambda f: (f.step is None, f.step or 0)):
                key = key_of(f)
                if self.seen.get(key, -1) >= f.rank:
                    continue
                self.seen[key] = f.rank
                if self.status:
                    sys.stderr.write("\r\x1b[2K")  # the finding replaces the status line
                source = report.source if len(self.reports) > 1 else None
                typer.echo(format_finding(f, source, self.width))
                if self.exit_on and f.rank >= SEVERITY_RANK[self.exit_on]:
                    stop = True
        return stop

    def _status(self) -> None:
        import shutil

        if not self.runs:
            line = f"waiting for {self.path} ..."
        else:
            line = status_line(self.runs[-1], self.reports[-1])
        width = shutil.get_terminal_size().columns - 1
        sys.stderr.write("\r\x1b[2K" + terminal(line)[:width])
        sys.stderr.flush()


def _keyed(source: str):
    """A finding's identity in `Watcher.seen`: the run it is about, its rule and cause."""
    return lambda f: (source, f.rule, f.cause)


def _hold_back():
    from lrdoctor.monitor import HoldBack

    return HoldBack()


def evaluate_tables(tables, session) -> list[tuple]:
    """(run, report) for each table read from the log: the session's normalising and rules,
    as `check`."""
    from lrdoctor.errors import InputError

    out = []
    for table in tables:
        run = session.build(table)
        if not run.has("loss"):
            raise InputError(table.source, "no loss column found yet", "name it with --loss-col")
        out.append((run, session.evaluate(run)))
    return out


def evaluate(path: Path, session) -> list[tuple]:
    """(run, report) for each run in the log, read whole: the same reading and rules as
    `check`."""
    from lrdoctor.follow import read_whole

    return evaluate_tables(read_whole(path, session.wanted), session)


def format_finding(f, source: str | None = None, width: int | None = None) -> str:
    """A finding as `check` prints it: severity, rule, where; the evidence; the advice (wrapped
    to `width` columns when given)."""
    import textwrap

    from lrdoctor.formats import step_range

    where = f"  {step_range(f)}" if f.step is not None else ""
    head = f"{f.severity:<7} {f.rule} {f.name}{where}" + (
        f"  [{terminal(source)}]" if source else ""
    )

    def wrap(text: str, first: str, rest: str) -> str:
        if width is None:
            return first + text
        return textwrap.fill(text, max(40, width - 1), initial_indent=first, subsequent_indent=rest)

    lines = [head, wrap(terminal(f.message), " " * 8, " " * 8)]
    if f.recommendation:
        lines.append(wrap(terminal(f.recommendation), " " * 8 + "→ ", " " * 10))
    return "\n".join(lines)


def status_line(run, report) -> str:
    """step, smoothed loss (EMA of the last values), LR and the verdict so far."""
    import numpy as np

    from lrdoctor.detectors.stats import fmt_lr, fmt_num

    parts = []
    if run.has("loss"):
        loss = run["loss"].finite()
        parts.append(f"step {run['loss'].step[-1]:,.0f}")
        if len(loss):
            tail = loss.value[-50:]
            weights = 0.9 ** np.arange(len(tail))[::-1]
            parts.append(f"loss {fmt_num(float(np.sum(weights * tail) / weights.sum()))}")
    if run.has("lr"):
        parts.append(f"lr {fmt_lr(float(run['lr'].value[-1]))}")
    parts.append(f"verdict {report.status.upper()}")
    return "  ".join(parts)


def _final(watcher: Watcher, color: str) -> None:
    """The final report, as `check` prints it."""
    from lrdoctor.commands import report_error
    from lrdoctor.config import color_wanted
    from lrdoctor.findings import Report
    from lrdoctor.formats import FORMATS, Context

    if watcher.read_error and not watcher.reports:
        report_error(watcher.read_error)
        return
    if not watcher.reports:
        return
    to_terminal = sys.stdout.isatty()
    from lrdoctor.commands.check import _width

    ctx = Context(
        color=color_wanted(color, to_terminal),
        width=_width(to_terminal),
    )
    typer.echo("")
    typer.echo(FORMATS["text"](Report(runs=watcher.reports), ctx), nl=False, color=ctx.color)


def register(app: typer.Typer) -> None:
    app.command(
        "watch",
        epilog="Example: lrdoctor watch runs/today/log.csv --exit-on error --idle 600",
    )(watch_command)
