"""Turn a detector's evidence into a Finding: the rule file's words and severity over its data.

Severity is settled here and only here: the user's choice (config or `--set`) if there is one,
else the rule file's severity for the evidence's reason, else the rule's own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lrdoctor.catalogue import Rule
from lrdoctor.detectors import Evidence
from lrdoctor.findings import Finding
from lrdoctor.present import fill


def slots_for(ev: Evidence, params: Mapping[str, Any], run) -> dict[str, Any]:
    """What a template may name: the rule's parameters, the evidence's fields and its slots."""
    standard = {
        "observed": ev.observed,
        "limit": ev.limit,
        "step": ev.step,
        "step_end": ev.step_end,
        "cause": ev.cause,
        "suggested_lr": ev.suggested_lr,
        "optimizer": run.optimizer,
    }
    out = {k: v for k, v in params.items() if k != "signal"}
    out.update({k: v for k, v in standard.items() if v is not None})
    if params.get("signal"):
        out["signal"] = params["signal"]
    out.update(ev.slots)
    return out


def render_finding(
    rule: Rule, user_severity: str | None, ev: Evidence, run, params: Mapping[str, Any]
) -> Finding:
    """Fill the templates of the evidence's reason; a slot left unfilled raises SlotError."""
    slots = slots_for(ev, params, run)
    message, recommendation = rule.words(ev.reason, ev.cause)
    return Finding(
        rule=rule.id,
        name=rule.name,
        category=rule.category,
        severity=user_severity or rule.severity_for(ev.reason),
        message=fill(message, slots, rule.phrases),
        recommendation=fill(recommendation, slots, rule.phrases),
        step=ev.step,
        step_end=ev.step_end,
        observed=_finite_or_none(ev.observed),
        limit=_finite_or_none(ev.limit),
        cause=ev.cause,
        suggested_lr=_finite_or_none(ev.suggested_lr),
        reason=ev.reason,
        confidence=rule.confidence_for(ev.reason),
        suggested_lr_range=_range_or_none(ev.suggested_lr_range),
    )


def _finite_or_none(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _range_or_none(r: tuple[float, float] | None) -> tuple[float, float] | None:
    if r is None or not all(math.isfinite(x) for x in r):
        return None
    return (float(r[0]), float(r[1]))
