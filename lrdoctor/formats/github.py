"""GitHub Actions workflow commands (`::error title=...::...`) and a step-summary table."""

from __future__ import annotations

from lrdoctor.escape import workflow_data as escape_data
from lrdoctor.escape import workflow_property as escape_property
from lrdoctor.findings import Report

LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def command(level: str, title: str, message: str) -> str:
    return f"::{level} title={escape_property(title)}::{escape_data(message)}"


def lines(report: Report) -> list[str]:
    """One annotation per run and rule (its worst finding), unreadable inputs first."""
    from lrdoctor.formats import worst_per_rule

    items = []
    for run in report.runs:
        if run.error is not None:
            items.append((4, command("error", "lrdoctor input error", run.error)))
            continue
        for f in worst_per_rule(run):
            text = f"{run.source}: {f.message} → {f.recommendation}"
            items.append((f.rank, command(LEVEL[f.severity], f"{f.rule} {f.name}", text)))
    items.sort(key=lambda item: -item[0])  # stable: keeps the run order within a severity
    return [line for _, line in items]


def render(report: Report, ctx) -> str:
    if ctx.step_summary is not None:
        from lrdoctor.formats.markdown import render as markdown

        try:
            with open(ctx.step_summary, "a", encoding="utf-8") as fh:
                fh.write(markdown(report, ctx) + "\n")
        except OSError as exc:  # the annotations still go out; the summary is the extra
            from lrdoctor.commands import report_warning

            report_warning(
                f"GITHUB_STEP_SUMMARY {ctx.step_summary}: cannot be written "
                f"({exc.strerror or exc}); the step summary was left out"
            )
    out = lines(report)
    return "\n".join(out) + "\n" if out else ""
