"""Human output (rich): a verdict per run, its findings with evidence and advice, a loss chart."""

from __future__ import annotations

from lrdoctor.findings import Report, RunReport

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
VERDICT = {
    "pass": ("✓ PASS", "bold green"),
    "warn": ("! WARN", "bold yellow"),
    "fail": ("✗ FAIL", "bold red"),
    "error": ("✗ ERROR", "bold red"),
}
# With more runs than this, passing runs are only listed in the summary table.
DETAIL_ALL_UP_TO = 5


def render(report: Report, ctx) -> str:
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=ctx.width,
        force_terminal=ctx.color,
        no_color=not ctx.color,
        color_system="standard" if ctx.color else None,
        highlight=False,
        emoji=False,
    )
    many = len(report.runs) > DETAIL_ALL_UP_TO
    for run in report.runs:
        if not many or run.status != "pass":
            _run(console, run, ctx)
    if len(report.runs) > 1:
        _summary(console, report)
    counts = {s: sum(r.status == s for r in report.runs) for s in ("error", "fail", "warn", "pass")}
    console.print(
        f"{len(report.runs)} run{'s' if len(report.runs) != 1 else ''} checked: "
        + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    )
    if report.config:
        from lrdoctor.escape import rich

        console.print(f"[dim]configuration: {rich(report.config)}[/]")
    # rich pads wrapped and table lines to the full width; CI logs and files need no padding.
    return "\n".join(no_command(line.rstrip()) for line in buffer.getvalue().split("\n"))


def no_command(line: str) -> str:
    """A wrapped line that starts with `::` (a long name folded there) would be read as a
    workflow command in a CI log: its first colon is written as `\\x3a`."""
    head = len(line) - len(line.lstrip())
    return line[:head] + "\\x3a" + line[head + 1 :] if line[head:].startswith("::") else line


def _run(console, run: RunReport, ctx) -> None:
    from lrdoctor.charts import sparkline
    from lrdoctor.detectors.stats import fmt_lr
    from lrdoctor.escape import rich as escape
    from lrdoctor.formats import step_range

    label, style = VERDICT[run.status]
    facts = [f"{run.n_steps:,} steps"] if run.error is None else []
    if run.optimizer:
        facts.append(f"optimizer {run.optimizer}")
    if run.suggested_lr is not None:
        facts.append(f"suggested LR {fmt_lr(run.suggested_lr)}")
    tail = f"  ({', '.join(facts)})" if facts else ""
    console.print(f"[{style}]{label}[/]  [bold]{escape(run.source)}[/]{escape(tail)}")
    if run.error is not None:
        console.print(f"  [red]{escape(run.error)}[/]")
        console.print()
        return
    if run.columns:
        used = ", ".join(f"{sig}={col}" for sig, col in run.columns.items())
        console.print(f"  [dim]columns: {escape(used)}[/]")
    steps, losses, *highs = run.preview
    if steps:
        marks = [f.step for f in run.findings if f.step is not None]
        positive = all(v > 0 for v in losses if v == v and abs(v) != float("inf"))
        line = sparkline(
            steps,
            losses,
            width=min(60, ctx.width - 10),
            marks=marks,
            log=positive,
            highs=highs[0] if highs else None,
        )
        span = f"steps {steps[0]:,.0f}–{steps[-1]:,.0f}"
        console.print(f"  [dim]loss[/] {line.chart}  [dim]{span}[/]")
        if line.marker:
            console.print(f"       [red]{line.marker}[/]")
        if line.legend():
            console.print(f"       [dim]{escape(line.legend())}[/]")
    for f in run.findings:
        title = escape(f"{f.rule} {f.name}")
        where = f"  {step_range(f)}" if f.step is not None else ""
        console.print(f"  [{STYLE[f.severity]}]{f.severity:<7}[/] [bold]{title}[/]{where}")
        _indented(console, escape(f.message))
        if f.recommendation:
            _indented(console, f"[green]→ {escape(f.recommendation)}[/]")
        _indented(console, f"[dim]→ lrdoctor rule {f.rule}[/]")
    for o in run.detector_errors:  # a bug in lrdoctor: say so, the other rules still ran
        _indented(
            console,
            f"[red]detector error[/] [bold]{escape(o.rule)} {escape(o.name)}[/]: "
            f"{escape(o.reason)}",
            2,
        )
    skipped = [o for o in run.outcomes if o.status == "skipped"]
    if skipped:
        _indented(
            console,
            "[dim]skipped: "
            + escape("; ".join(f"{o.rule} {o.name} ({o.reason})" for o in skipped))
            + "[/]",
            2,
        )
    console.print()


def _indented(console, markup: str, left: int = 10) -> None:
    """Print wrapped text that keeps its indent on every line (readable in wide CI logs)."""
    from rich.padding import Padding

    console.print(Padding(markup, (0, 0, 0, left)))


def _summary(console, report: Report) -> None:
    from rich.table import Table

    from lrdoctor.escape import rich as escape

    table = Table(title="Summary", title_justify="left", show_edge=False, pad_edge=False)
    # One line per run, however many runs (the details above carry the full message): the
    # run name and the finding share what the verdict, steps and separators leave.
    steps_w = max(5, *(len(f"{r.n_steps:,}") for r in report.runs))
    fixed = 7 + steps_w + 9
    longest = max(len(r.source) for r in report.runs)
    run_w = max(8, min(longest, 60, console.width - fixed - 20))
    room = max(8, console.width - fixed - run_w)
    table.add_column("run", no_wrap=True, overflow="ellipsis", max_width=run_w)
    table.add_column("verdict", no_wrap=True)
    table.add_column("steps", justify="right", no_wrap=True)
    table.add_column("worst finding", no_wrap=True)
    for run in report.runs:
        label, style = VERDICT[run.status]
        worst = run.findings[0] if run.findings else None
        what = run.error or (f"{worst.rule} {worst.name}: {worst.message}" if worst else "")
        what = what if len(what) <= room else what[: room - 1] + "…"
        table.add_row(
            escape(run.source),
            f"[{style}]{label}[/]",
            f"{run.n_steps:,}" if run.error is None else "",
            escape(what),
        )
    console.print(table)
