"""Turn a detector's evidence into a Finding by filling the rule's message templates."""

from __future__ import annotations

import string
from typing import Any

from lrdoctor.catalogue import Rule
from lrdoctor.detectors import Evidence
from lrdoctor.detectors.stats import fmt_lr, fmt_num
from lrdoctor.findings import SEVERITY_RANK, Finding


class _Slots(dict):
    def __missing__(self, key: str) -> str:
        return "n/a"


def fill(template: str, slots: dict[str, Any]) -> str:
    """Fill named slots; a slot the detector did not provide reads 'n/a' instead of failing."""
    out = []
    for literal, name, spec, _conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        value = slots.get(name, "n/a")
        try:
            out.append(format(value, spec or ""))
        except (TypeError, ValueError):
            out.append(str(value))
    return "".join(out)


def render_finding(rule: Rule, severity: str, ev: Evidence, run) -> Finding:
    if ev.severity is not None and SEVERITY_RANK[ev.severity] < SEVERITY_RANK[severity]:
        severity = ev.severity
    slots = _Slots(
        observed=ev.observed if ev.observed is not None else "n/a",
        limit=ev.limit if ev.limit is not None else "n/a",
        observed_text=fmt_num(ev.observed), limit_text=fmt_num(ev.limit),
        step=ev.step if ev.step is not None else "n/a",
        step_end=ev.step_end if ev.step_end is not None else "n/a",
        cause=ev.cause or "unknown",
        suggested_lr=fmt_lr(ev.suggested_lr),
        optimizer=run.optimizer or "unknown optimizer",
    )
    slots.update(ev.slots)
    return Finding(
        rule=rule.id, name=rule.name, category=rule.category, severity=severity,
        message=fill(rule.message, slots),
        recommendation=fill(rule.recommendation_for(ev.cause), slots),
        step=ev.step, step_end=ev.step_end,
        observed=_finite_or_none(ev.observed), limit=_finite_or_none(ev.limit),
        cause=ev.cause, suggested_lr=_finite_or_none(ev.suggested_lr),
    )


def _finite_or_none(x: float | None) -> float | None:
    import math

    return float(x) if x is not None and math.isfinite(x) else None
