"""One self-contained HTML page: a summary table, then per run its verdict, figure and findings.

Inline CSS and inline SVG only (no script, no font, no URL), so the page opens offline, in a
CI artifact viewer or a notebook. The figure is lrdoctor/plots/run.py's; the words are the
findings' own (the same Finding every format reads). Needs the `plot` extra (matplotlib).
"""

from __future__ import annotations

from lrdoctor.escape import html as escape
from lrdoctor.findings import Report, RunReport

# Scoped to the report's own element, so a notebook's page keeps its styles.
PAGE_CSS = "body { margin: 1.5em auto; max-width: 1080px; padding: 0 1em; }"
CSS = """
.lrdoctor { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121; }
.lrdoctor h1 { font-size: 1.4em; }
.lrdoctor h2 { font-size: 1.15em; margin-top: 2em; word-break: break-all; }
.lrdoctor table { border-collapse: collapse; margin: 0.5em 0 1em; }
.lrdoctor th, .lrdoctor td { text-align: left; padding: 0.25em 0.7em;
  border-bottom: 1px solid #e0e0e0; vertical-align: top; }
.lrdoctor td.num { text-align: right; font-variant-numeric: tabular-nums; }
.lrdoctor .verdict { font-weight: bold; padding: 0.05em 0.45em; border-radius: 3px; color: #fff; }
.lrdoctor .pass { background: #2e7d32; } .lrdoctor .warn { background: #ef6c00; }
.lrdoctor .fail, .lrdoctor .error { background: #c62828; }
.lrdoctor .sev { font-weight: bold; } .lrdoctor .sev-error { color: #c62828; }
.lrdoctor .sev-warning { color: #ef6c00; } .lrdoctor .sev-info { color: #1565c0; }
.lrdoctor .figure svg { width: 100%; height: auto; }
.lrdoctor .finding { margin: 0.6em 0 0.9em; }
.lrdoctor .finding p { margin: 0.15em 0 0.15em 1.5em; }
.lrdoctor .rec { color: #2e7d32; } .lrdoctor .muted { color: #616161; font-size: 0.92em; }
"""


def render_report_html(report: Report, title: str = "lrdoctor report") -> str:
    """The whole report as one HTML page (figures need matplotlib: the `plot` extra)."""
    return (
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en"><head><meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{escape(title)}</title><style>{PAGE_CSS}</style></head><body>",
                report_fragment(report, title),
                "</body></html>",
            ]
        )
        + "\n"
    )


def report_fragment(report: Report, title: str = "lrdoctor report") -> str:
    """The report as one <div> with its own scoped style: the page's body, a notebook's cell."""
    from lrdoctor.plots import require

    require("--format html")
    counts = {s: sum(r.status == s for r in report.runs) for s in ("error", "fail", "warn", "pass")}
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing checked"
    parts = [
        f'<div class="lrdoctor"><style>{CSS}</style>',
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">{len(report.runs)} run{"s" if len(report.runs) != 1 else ""} '
        f"checked: {escape(tally)}</p>",
    ]
    if len(report.runs) > 1:
        parts.append(_summary(report))
    parts.extend(run_section(run, k) for k, run in enumerate(report.runs))
    parts.append("</div>")
    return "\n".join(parts)


def render(report: Report, ctx) -> str:
    return render_report_html(report)


def _summary(report: Report) -> str:
    from lrdoctor.present import fmt_lr

    rows = []
    for k, run in enumerate(report.runs):
        worst = run.findings[0] if run.findings else None
        what = run.error or (f"{worst.rule} {worst.name}" if worst else "")
        lr = fmt_lr(run.suggested_lr) if run.suggested_lr is not None else ""
        steps = f"{run.n_steps:,}" if run.error is None else ""
        rows.append(
            f'<tr><td><a href="#run-{k}">{escape(run.source)}</a></td>'
            f"<td>{_verdict(run)}</td><td class=num>{steps}</td><td>{len(run.findings)}</td>"
            f"<td>{escape(what)}</td><td class=num>{lr}</td></tr>"
        )
    head = (
        "<tr><th>run</th><th>verdict</th><th>steps</th><th>findings</th>"
        "<th>worst finding</th><th>suggested LR</th></tr>"
    )
    return f'<table class="summary">{head}{"".join(rows)}</table>'


def _verdict(run: RunReport) -> str:
    return f'<span class="verdict {run.status}">{run.status.upper()}</span>'


def run_section(run: RunReport, k: int) -> str:
    """One run: its verdict and facts, its figure, its findings, skipped rules and errors."""
    from lrdoctor.formats import step_range
    from lrdoctor.present import fmt_lr

    out = [f'<section class="run" id="run-{k}">', f"<h2>{_verdict(run)} {escape(run.source)}</h2>"]
    if run.error is not None:
        out.append(f'<p class="sev sev-error">{escape(run.error)}</p></section>')
        return "\n".join(out)
    facts = [f"{run.n_steps:,} steps"]
    if run.optimizer:
        facts.append(f"optimizer {run.optimizer}")
    if run.suggested_lr is not None:
        facts.append(f"suggested LR {fmt_lr(run.suggested_lr)}")
    out.append(f"<p>{escape(', '.join(facts))}</p>")
    if run.columns:
        used = ", ".join(f"{sig}={col}" for sig, col in run.columns.items())
        out.append(f'<p class="muted">columns: {escape(used)}</p>')
    out.append(f'<div class="figure">{_figure(run, k)}</div>')
    for f in run.findings:
        where = f" · {step_range(f)}" if f.step is not None else ""
        rec = f'<p class="rec">→ {escape(f.recommendation)}</p>' if f.recommendation else ""
        out.append(
            f'<div class="finding" data-rule="{escape(f.rule)}">'
            f'<span class="sev sev-{f.severity}">{f.severity}</span> '
            f"<b>{escape(f.rule)} {escape(f.name)}</b>{escape(where)}"
            f"<p>{escape(f.message)}</p>{rec}"
            f'<p class="muted">lrdoctor rule {escape(f.rule)}</p></div>'
        )
    if not run.findings:
        out.append("<p>No finding.</p>")
    for o in run.detector_errors:
        out.append(
            f'<p class="sev sev-error">detector error {escape(o.rule)} {escape(o.name)}: '
            f"{escape(o.reason)}</p>"
        )
    skipped = [o for o in run.outcomes if o.status == "skipped"]
    if skipped:
        text = "; ".join(f"{o.rule} {o.name} ({o.reason})" for o in skipped)
        out.append(f'<p class="muted">skipped: {escape(text)}</p>')
    out.append("</section>")
    return "\n".join(out)


def _figure(run: RunReport, k: int) -> str:
    import numpy as np

    from lrdoctor.plots import svg_inline
    from lrdoctor.plots.run import run_figure

    with np.errstate(all="ignore"):  # log axes near 1e200 (a run that blew up) overflow
        fig = run_figure(run)
    return svg_inline(fig, salt=f"run{k}")
