"""Output formats: each a function of the Report, picked from `FORMATS`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


class _Registry(Mapping):
    """Format name -> its render function; a format's module is imported when it is used, so
    a JSON report does not load the XML library nor a text one the HTML page."""

    NAMES = ("text", "json", "github", "junit", "markdown", "html")  # each a module here

    def __getitem__(self, name: str) -> Render:
        import importlib

        if name not in self.NAMES:
            raise KeyError(name)
        return importlib.import_module(f"lrdoctor.formats.{name}").render

    def __iter__(self):
        return iter(self.NAMES)

    def __len__(self) -> int:
        return len(self.NAMES)


FORMATS: Mapping[str, Render] = _Registry()
