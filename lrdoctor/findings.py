"""The records every output format consumes: Finding, RuleOutcome, RunReport and Report."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from lrdoctor.errors import LrdoctorError

Severity = Literal["error", "warning", "info"]
Status = Literal["pass", "warn", "fail", "error"]
CATEGORIES = (
    "lr_too_high",
    "lr_too_low",
    "non_finite",
    "plateau",
    "loss_spike",
    "overfitting",
    "schedule",
    "data",
    "other",
)
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
SEVERITY_RANK = {"info": 1, "warning": 2, "error": 3}
REPORT_SCHEMA = "lrdoctor.report/1"


@dataclass(frozen=True)
class Finding:
    """One problem a rule found in one run, with its evidence and the advice that follows."""

    rule: str
    name: str
    category: str
    severity: Severity
    message: str
    recommendation: str
    step: int | None = None
    step_end: int | None = None
    observed: float | None = None
    limit: float | None = None
    cause: str | None = None
    suggested_lr: float | None = None
    # The rule file's reason code for this evidence, and its measured confidence (0-1).
    reason: str | None = None
    confidence: float | None = None
    suggested_lr_range: tuple[float, float] | None = None

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]

    def to_dict(self) -> dict:
        # The fields hold numbers, text, None and a pair of floats: `asdict`'s recursive copy
        # gives the same dict at several times the cost (one per finding of every run).
        return {name: getattr(self, name) for name in _FINDING_FIELDS}


_FINDING_FIELDS = tuple(f.name for f in fields(Finding))


@dataclass(frozen=True)
class RuleOutcome:
    """Whether a rule fired, passed, was skipped or crashed on a run, and why."""

    rule: str
    name: str
    status: Literal["fired", "passed", "skipped", "detector_error"]
    reason: str = ""


@dataclass
class RunReport:
    """Everything lrdoctor concluded about one run (or why it could not read it)."""

    source: str
    findings: list[Finding] = field(default_factory=list)
    outcomes: list[RuleOutcome] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    suggested_lr: float | None = None
    suggested_lr_range: tuple[float, float] | None = None
    optimizer: str | None = None
    n_steps: int = 0
    error: str | None = None
    # A downsampled (step, loss[, highest loss until the next point]) curve for charts; never
    # the full series.
    preview: tuple[tuple[float, ...], ...] = ((), ())
    # The plotted signals, binned (lrdoctor/curves.py), when a picture was asked for.
    curves: dict = field(default_factory=dict, repr=False)

    @property
    def status(self) -> Status:
        if self.error is not None:
            return "error"
        worst = max((f.rank for f in self.findings), default=0)
        return "fail" if worst >= 3 else "warn" if worst == 2 else "pass"

    @property
    def detector_errors(self) -> list[RuleOutcome]:
        """Rules whose detector raised on this run (a bug in lrdoctor; the others still ran)."""
        return [o for o in self.outcomes if o.status == "detector_error"]

    @property
    def idle(self) -> bool:
        """Read, but no selected rule could run on it (it lacks the columns they need)."""
        return (
            self.error is None
            and bool(self.outcomes)
            and all(o.status == "skipped" for o in self.outcomes)
        )

    def fails(self, fail_on: Severity) -> bool:
        """True when the run could not be read or a finding reaches the fail level."""
        if self.error is not None:
            return True
        return any(f.rank >= SEVERITY_RANK[fail_on] for f in self.findings)

    def to_dict(self) -> dict:
        out = {
            "source": self.source,
            "status": self.status,
            "suggested_lr": self.suggested_lr,
            "suggested_lr_range": (
                list(self.suggested_lr_range) if self.suggested_lr_range else None
            ),
            "optimizer": self.optimizer,
            "steps": self.n_steps,
            "columns": dict(self.columns),
            "findings": [f.to_dict() for f in self.findings],
            "skipped": [
                {"rule": o.rule, "name": o.name, "reason": o.reason}
                for o in self.outcomes
                if o.status == "skipped"
            ],
            "detector_errors": [
                {"rule": o.rule, "name": o.name, "error": o.reason} for o in self.detector_errors
            ],
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class Report:
    """The result of one `check`: a report per run."""

    runs: list[RunReport] = field(default_factory=list)
    # Special files met in a folder walk and never opened: (path, what it is).
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # The configuration file that was applied, if any (a file can change a verdict: say so).
    config: str | None = None

    def __iter__(self):
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    def __getitem__(self, index: int) -> RunReport:
        return self.runs[index]

    def __repr__(self) -> str:
        """Short, like a test runner's summary line: the full record is `to_dict()`."""
        counts: dict[str, int] = {}
        for r in self.runs:
            counts[r.status] = counts.get(r.status, 0) + 1
        shown = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no runs"
        return f"<Report {len(self.runs)} run(s): {shown}; exit code {self.exit_code()}>"

    def to_json(self) -> str:
        """The versioned JSON record (`"schema": "lrdoctor.report/1"`), as `--format json`."""
        from lrdoctor.formats import FORMATS, Context

        return FORMATS["json"](self, Context())

    def to_text(self, width: int = 100) -> str:
        """The report as `lrdoctor check` prints it (no colour), `width` columns wide."""
        from lrdoctor.formats import FORMATS, Context

        return FORMATS["text"](self, Context(width=width))

    def exit_code(self, fail_on: Severity = "error") -> int:
        """0 when nothing reaches the fail level, 1 when a finding does, 2 when an input or a
        detector failed (a crashed rule must not pass a CI gate silently)."""
        if any(r.error is not None or r.detector_errors or r.idle for r in self.runs):
            return 2
        return 1 if any(r.fails(fail_on) for r in self.runs) else 0

    def _repr_html_(self) -> str:
        """In a notebook: the HTML report's sections (figures with the plot extra), else a
        table of verdicts."""
        from lrdoctor.escape import html as escape

        try:
            from lrdoctor.formats.html import report_fragment

            return report_fragment(self)
        except LrdoctorError:  # no matplotlib: the table alone
            rows = "".join(
                f"<tr><td>{escape(r.source)}</td><td>{r.status}</td><td>{r.n_steps:,}</td>"
                f"<td>{escape(', '.join(f.rule for f in r.findings) or (r.error or ''))}</td></tr>"
                for r in self.runs
            )
            return (
                "<table><tr><th>run</th><th>verdict</th><th>steps</th><th>findings</th>"
                f"</tr>{rows}</table>"
            )

    def to_dict(self) -> dict:
        # Unreadable inputs are listed apart, so every entry of "runs" keeps the contract's
        # status values (pass / warn / fail).
        out = {
            "schema": REPORT_SCHEMA,
            "runs": [r.to_dict() for r in self.runs if r.error is None],
            "errors": [{"source": r.source, "error": r.error} for r in self.runs if r.error],
        }
        if self.skipped:
            out["skipped"] = [{"source": s, "reason": why} for s, why in self.skipped]
        if self.config:
            out["config"] = self.config
        return out
