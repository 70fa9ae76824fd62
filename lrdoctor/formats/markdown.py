"""Markdown output, ready for a pull-request comment or GitHub's step summary."""

from __future__ import annotations

from lrdoctor.escape import markdown as cell
from lrdoctor.escape import markdown_code as code
from lrdoctor.findings import Report, RunReport

VERDICT = {"pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ fail", "error": "💥 error"}


def summary(report: Report) -> str:
    """One table row per run: verdict, steps, worst finding and LR advice."""
    from lrdoctor.detectors.stats import fmt_lr

    lines = [
        "| run | verdict | steps | worst finding | suggested LR |",
        "|---|---|---:|---|---|",
    ]
    for run in report.runs:
        worst = run.findings[0] if run.findings else None
        what = run.error if run.error else f"{worst.rule} {worst.name}" if worst else ""
        lr = fmt_lr(run.suggested_lr) if run.suggested_lr is not None else ""
        lines.append(
            f"| {code(run.source)} | {VERDICT[run.status]} | {run.n_steps:,} "
            f"| {cell(what)} | {lr} |"
        )
    return "\n".join(lines) + "\n"


def details(run: RunReport) -> str:
    from lrdoctor.formats import step_range

    out = [f"### {code(run.source, in_table=False)} — {VERDICT[run.status]}", ""]
    if run.error:
        return "\n".join([*out, f"Could not be checked: {cell(run.error)}", ""])
    if run.findings:
        out += ["| severity | rule | where | finding | recommendation |", "|---|---|---|---|---|"]
        out += [
            f"| {f.severity} | {cell(f.rule)} {cell(f.name)} | {step_range(f)} | {cell(f.message)} "
            f"| {cell(f.recommendation)} |"
            for f in run.findings
        ]
    else:
        out.append("No findings.")
    skipped = [o for o in run.outcomes if o.status == "skipped"]
    if skipped:
        out += ["", "Skipped: " + cell("; ".join(f"{o.rule} ({o.reason})" for o in skipped))]
    return "\n".join([*out, ""])


def render(report: Report, ctx) -> str:
    counts = {s: sum(r.status == s for r in report.runs) for s in VERDICT}
    head = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    parts = [
        f"## lrdoctor: {len(report.runs)} run(s): {head or 'nothing checked'}",
        "",
        summary(report),
    ]
    parts += [details(r) for r in report.runs]
    return "\n".join(parts)
