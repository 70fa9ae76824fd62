"""Human output: a verdict per run, its findings with evidence and advice, a loss chart (rich)."""

from __future__ import annotations

import re

from lrdoctor.escape import visible
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
    """The report as text. Without colour and without the summary table (one run), it is
    laid out here as rich would lay it out, without importing rich (~25 ms of a small check)."""
    if not ctx.color and len(report.runs) <= 1:
        try:
            return _render(PlainConsole(ctx.width), report, ctx)
        except NeedsRich:
            pass  # a character whose width only rich knows: rich lays it out
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
    return _render(RichConsole(console, buffer), report, ctx)


def _render(out, report: Report, ctx) -> str:
    many = len(report.runs) > DETAIL_ALL_UP_TO
    for run in report.runs:
        if not many or run.status != "pass":
            _run(out, run, ctx)
    if len(report.runs) > 1:
        _summary(out.console, report)
    counts = {s: sum(r.status == s for r in report.runs) for s in ("error", "fail", "warn", "pass")}
    out.line(
        f"{len(report.runs)} run{'s' if len(report.runs) != 1 else ''} checked: "
        + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    )
    if report.config:
        out.line((f"configuration: {visible(report.config)}", "dim"))
    # rich pads wrapped and table lines to the full width; CI logs and files need no padding.
    return "\n".join(no_command(line.rstrip()) for line in out.text().split("\n"))


def no_command(line: str) -> str:
    """A wrapped line that starts with `::` (a long name folded there) would be read as a
    workflow command in a CI log: its first colon is written as `\\x3a`."""
    head = len(line) - len(line.lstrip())
    return line[:head] + "\\x3a" + line[head + 1 :] if line[head:].startswith("::") else line


# A line is pieces: plain text, or (text, rich style). Names and messages from files are passed
# through `visible` only: pieces are never read as markup.
Piece = str | tuple[str, str]


class RichConsole:
    """Lines printed by rich: styled, wrapped to the console's width."""

    def __init__(self, console, buffer) -> None:
        self.console, self.buffer = console, buffer

    def line(self, *pieces: Piece) -> None:
        from rich.text import Text

        self.console.print(Text.assemble(*pieces))

    def indented(self, left: int, *pieces: Piece) -> None:
        """Wrapped text that keeps its indent on every line (readable in wide CI logs)."""
        from rich.padding import Padding
        from rich.text import Text

        self.console.print(Padding(Text.assemble(*pieces), (0, 0, 0, left)))

    def text(self) -> str:
        return self.buffer.getvalue()


class NeedsRich(Exception):
    """The text holds a character PlainConsole cannot measure (wide, combining, a tab...)."""


# Characters one cell wide for rich as for any terminal: printable ASCII and the few symbols
# lrdoctor's own text uses (tests/test_formats.py holds this to rich's cell widths).
ONE_CELL = "°±²µ·×÷Δλσ–—‖…→√≈≤≥─│┆┊└┤╎▁▂▃▄▅▆▇█▲▼✓✗"
_PLAIN = re.compile(f"[ -~{ONE_CELL}]*\\Z")
_WORD = re.compile(r"\s*\S+\s*")  # rich's word: leading space, the word, trailing space


class PlainConsole:
    """Lines laid out as rich lays out unstyled text on a console of `width` columns, for text
    of one-cell characters only (anything else raises NeedsRich)."""

    def __init__(self, width: int) -> None:
        self.width, self.lines = width, []

    @property
    def console(self):
        raise NeedsRich("a summary table")

    def line(self, *pieces: Piece) -> None:
        self.lines.extend(wrap(_plain(pieces), self.width))

    def indented(self, left: int, *pieces: Piece) -> None:
        self.lines.extend(" " * left + line for line in wrap(_plain(pieces), self.width - left))

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


def _plain(pieces) -> str:
    text = "".join(p if isinstance(p, str) else p[0] for p in pieces)
    if not _PLAIN.match(text):
        raise NeedsRich(text)
    return text


def wrap(text: str, width: int) -> list[str]:
    """`text` cut into lines of at most `width` one-cell characters as rich cuts them: at the
    start of a word that does not fit, a word longer than a line folded across lines (trailing
    space past the width dropped; the caller strips the rest)."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:  # fold it: chunks of `width` characters
            chunks = [word[i : i + width] for i in range(0, len(word), width)]
            for i, chunk in enumerate(chunks):
                if start:
                    breaks.append(start)
                if i == len(chunks) - 1:
                    offset = len(chunk)
                else:
                    start += len(chunk)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    edges = [0, *breaks, len(text)]
    return [text[a:b][:width] for a, b in zip(edges, edges[1:], strict=False)]


def _run(out, run: RunReport, ctx) -> None:
    from lrdoctor.charts import sparkline
    from lrdoctor.detectors.stats import fmt_lr
    from lrdoctor.formats import step_range

    label, style = VERDICT[run.status]
    facts = [f"{run.n_steps:,} steps"] if run.error is None else []
    if run.optimizer:
        facts.append(f"optimizer {run.optimizer}")
    if run.suggested_lr is not None:
        facts.append(f"suggested LR {fmt_lr(run.suggested_lr)}")
    tail = f"  ({', '.join(facts)})" if facts else ""
    out.line((label, style), "  ", (visible(run.source), "bold"), visible(tail))
    if run.error is not None:
        out.line("  ", (visible(run.error), "red"))
        out.line()
        return
    if run.columns:
        used = ", ".join(f"{sig}={col}" for sig, col in run.columns.items())
        out.line("  ", (f"columns: {visible(used)}", "dim"))
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
        out.line("  ", ("loss", "dim"), f" {line.chart}  ", (span, "dim"))
        if line.marker:
            out.line("       ", (line.marker, "red"))
        if line.legend():
            out.line("       ", (visible(line.legend()), "dim"))
    for f in run.findings:
        where = f"  {step_range(f)}" if f.step is not None else ""
        out.line(
            "  ",
            (f"{f.severity:<7}", STYLE[f.severity]),
            " ",
            (visible(f"{f.rule} {f.name}"), "bold"),
            where,
        )
        out.indented(10, visible(f.message))
        if f.recommendation:
            out.indented(10, (f"→ {visible(f.recommendation)}", "green"))
        out.indented(10, (f"→ lrdoctor rule {f.rule}", "dim"))
    for o in run.detector_errors:  # a bug in lrdoctor: say so, the other rules still ran
        out.indented(
            2,
            ("detector error", "red"),
            " ",
            (f"{visible(o.rule)} {visible(o.name)}", "bold"),
            f": {visible(o.reason)}",
        )
    skipped = [o for o in run.outcomes if o.status == "skipped"]
    if skipped:
        text = "; ".join(f"{o.rule} {o.name} ({o.reason})" for o in skipped)
        out.indented(2, (f"skipped: {visible(text)}", "dim"))
    out.line()


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
