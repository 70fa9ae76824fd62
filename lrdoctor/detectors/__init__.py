"""Detectors: pure vectorised functions from a run (and parameters) to evidence.

Every detector is registered here by name; rule files in `rules/` refer to that name. Importing
this package imports every detector module so the registry is complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lrdoctor.run import Run


@dataclass(frozen=True)
class Evidence:
    """What a detector measured, as data: a reason code, where, how much against which limit.

    `reason` picks the message, recommendation and severity from the rule file's
    `[reasons.<code>]` table. `slots` carries raw values only (numbers, steps, short codes) for
    the templates; the words live in the rule file and `lrdoctor.present` formats the numbers.
    """

    reason: str | None = None
    observed: float | None = None
    limit: float | None = None
    step: int | None = None
    step_end: int | None = None
    # The older per-cause switch (NF001); new detectors use `reason`.
    cause: str | None = None
    suggested_lr: float | None = None
    suggested_lr_range: tuple[float, float] | None = None
    slots: dict[str, Any] = field(default_factory=dict)


class NotJudged(Exception):  # noqa: N818  (not an error: an outcome)
    """Raised by a detector that cannot judge this run (its evidence says why): the rule is
    reported as skipped with its rule file's words for that reason, not as passed."""

    def __init__(self, evidence: Evidence):
        super().__init__(evidence.reason)
        self.evidence = evidence


Detector = Callable[..., list[Evidence]]
REGISTRY: dict[str, Detector] = {}
# The reason codes each detector may return (empty: it returns none, the rule-level words apply).
REASONS: dict[str, tuple[str, ...]] = {}
# The slots each detector may fill, beyond the evidence fields; None: not declared (unchecked).
SLOTS: dict[str, frozenset[str] | None] = {}


class ContractError(RuntimeError):
    """A detector returned a reason or slot it did not declare: a bug in lrdoctor."""


def detector(
    name: str, reasons: tuple[str, ...] = (), slots: tuple[str, ...] | None = None
) -> Callable[[Detector], Detector]:
    """Register a detector under the name rule files use, with the reasons and slots it returns.

    Declared slots let a rule file's templates be checked when the catalogue loads.
    """

    def register(fn: Detector) -> Detector:
        if name in REGISTRY:
            raise RuntimeError(f"detector {name!r} registered twice")
        REGISTRY[name] = fn
        REASONS[name] = tuple(reasons)
        SLOTS[name] = None if slots is None else frozenset(slots)
        return fn

    return register


def run_detector(name: str, run: Run, params: dict[str, Any]) -> list[Evidence]:
    evidence = REGISTRY[name](run, **params)
    declared = SLOTS[name]
    for ev in evidence:
        if ev.reason is not None and ev.reason not in REASONS[name]:
            raise ContractError(
                f"detector {name!r} returned reason {ev.reason!r}; declared: {REASONS[name]}"
            )
        if declared is not None and not declared.issuperset(ev.slots):
            extra = sorted(set(ev.slots) - declared)
            raise ContractError(f"detector {name!r} filled undeclared slots {extra}")
    return evidence


from lrdoctor.detectors import (  # noqa: E402,F401  (registration side effect)
    data,
    divergence,
    events,
    generic,
    learning,
    learning_rate,
)
