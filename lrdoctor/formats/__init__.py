"""Output formats: each a function of the Report, picked from `FORMATS`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lrdoctor.findings import SEVERITY_RANK, Finding, Report, RunReport


@dataclass(frozen=True)
class Context:
    """What a format may need besides the report: the fail level and the terminal."""

    fail_on: str = "error"
    color: bool = False
    width: int = 120
    # GitHub's $GITHUB_STEP_SUMMARY file, to which the github format appends a Markdown table.
    step_summary: Path | None = None


Render = Callable[[Report, Context], str]


def worst_per_rule(run: RunReport) -> list[Finding]:
    """The most severe finding of each rule in a run, most severe first (then by step)."""
    best: dict[str, Finding] = {}
    for f in run.findings:  # findings arrive sorted worst first, so the first seen wins
        if f.rule not in best or f.rank > best[f.rule].rank:
            best[f.rule] = f
    return sorted(best.values(), key=lambda f: (-SEVERITY_RANK[f.severity], f.rule))


def step_range(f: Finding) -> str:
    if f.step is None:
        return ""
    if f.step_end is None or f.step_end == f.step:
        return f"step {f.step:,}"
    return f"steps {f.step:,}–{f.step_end:,}"


def _lazy(name: str) -> Render:
    """The render function of lrdoctor/formats/NAME.py, its module imported on the first call:
    a JSON report does not load the XML library, nor a text one the HTML page."""

    def render(report: Report, ctx: Context) -> str:
        import importlib

        return importlib.import_module(f"lrdoctor.formats.{name}").render(report, ctx)

    render.__name__ = render.__qualname__ = f"render_{name}"
    return render


FORMATS: dict[str, Render] = {
    name: _lazy(name) for name in ("text", "json", "github", "junit", "markdown", "html")
}
