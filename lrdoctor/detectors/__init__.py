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
    """What a detector measured: where, how much against which limit, and extra template slots."""

    observed: float | None = None
    limit: float | None = None
    step: int | None = None
    step_end: int | None = None
    cause: str | None = None
    suggested_lr: float | None = None
    # Lets a detector soften its rule's severity for a marginal case (never raise it).
    severity: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)


Detector = Callable[..., list[Evidence]]
REGISTRY: dict[str, Detector] = {}


def detector(name: str) -> Callable[[Detector], Detector]:
    """Register a detector under the name that rule files use."""

    def register(fn: Detector) -> Detector:
        if name in REGISTRY:
            raise RuntimeError(f"detector {name!r} registered twice")
        REGISTRY[name] = fn
        return fn

    return register


def run_detector(name: str, run: Run, params: dict[str, Any]) -> list[Evidence]:
    return REGISTRY[name](run, **params)


from lrdoctor.detectors import (  # noqa: E402,F401  (registration side effect)
    data,
    divergence,
    events,
    generic,
    learning_rate,
)
