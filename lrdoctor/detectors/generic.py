"""Generic detectors for custom rules: a rule file names one of them and the column it watches.

Each takes the watched `signal` (the rule's `signal` key, passed in by the engine) and plain
parameters declared in the rule file, so users add checks without writing code.
"""

from __future__ import annotations

import numpy as np

from lrdoctor.detectors import Evidence, detector
from lrdoctor.detectors.stats import binned, pairs
from lrdoctor.run import Run

OPS = ("below", "above")
DIRECTIONS = ("rise", "fall")
# Text parameters of these detectors and the values they accept (checked when rules load).
CHOICES = {
    "threshold": {"op": OPS},
    "reach_by": {"direction": OPS},
    "trend": {"direction": DIRECTIONS},
}


@detector("threshold", slots=("signal", "op", "count", "value", "after_step", "worst_step"))
def threshold(
    run: Run, signal: str, op: str = "below", value: float = 0.0, after_step: float = 0
) -> list[Evidence]:
    """The signal must stay `op` (below/above) `value` from `after_step` on."""
    s = run[signal].finite()
    keep = s.step >= after_step
    steps, values = s.step[keep], s.value[keep]
    bad = values > value if op == "below" else values < value
    if not bad.any():
        return []
    idx = np.flatnonzero(bad)
    worst = idx[np.argmax(values[idx])] if op == "below" else idx[np.argmin(values[idx])]
    return [
        Evidence(
            observed=float(values[worst]),
            limit=float(value),
            step=int(steps[idx[0]]),
            step_end=int(steps[idx[-1]]),
            slots={
                "signal": signal,
                "op": op,
                "count": int(bad.sum()),
                "value": float(values[worst]),
                "after_step": int(after_step),
                "worst_step": int(steps[worst]),
            },
        )
    ]


@detector("reach_by", slots=("signal", "direction", "by_step", "best", "target"))
def reach_by(
    run: Run, signal: str, target: float = 0.0, by_step: float = 0, direction: str = "above"
) -> list[Evidence]:
    """The signal must reach `target` (at or `direction` it) by `by_step`.

    A run that ends before `by_step` without reaching the target is not judged yet.
    """
    s = run[signal].finite()
    upto = s.step <= by_step
    values = s.value[upto]
    reached = values >= target if direction == "above" else values <= target
    if not len(s) or reached.any() or s.step[-1] < by_step:
        return []
    # Nothing logged up to `by_step` counts as not reached; its best is then NaN ("nan").
    best = float(values.max() if direction == "above" else values.min()) if len(values) else np.nan
    return [
        Evidence(
            observed=best if len(values) else None,
            limit=float(target),
            step=int(by_step),
            slots={
                "signal": signal,
                "direction": direction,
                "by_step": int(by_step),
                "best": best,
                "target": float(target),
            },
        )
    ]


@detector("trend", slots=("signal", "direction", "change", "tolerance", "start", "end"))
def trend(
    run: Run,
    signal: str,
    direction: str = "rise",
    window: float = 0.25,
    tolerance: float = 0.05,
    bins: int = 20,
) -> list[Evidence]:
    """The signal must not `direction` (rise/fall) by more than `tolerance` (relative to its
    level) over the last `window` of the run: Theil-Sen slope of the binned medians.
    """
    s = run[signal].finite()
    if len(s) < 4:
        return []
    start = s.step[0] + (1 - window) * (s.step[-1] - s.step[0])
    tail = s.__class__(s.step[s.step >= start], s.value[s.step >= start])
    curve = binned(tail, bins=bins)
    if len(curve) < 3:
        return []
    x, y = curve.step, curve.level
    i, j = pairs(len(x))
    dx = x[j] - x[i]
    ok = dx > 0
    slope = float(np.median((y[j] - y[i])[ok] / dx[ok]))
    change = slope * float(x[-1] - x[0])
    level = max(float(np.median(np.abs(y))), 1e-12)
    relative = change / level if direction == "rise" else -change / level
    if relative <= tolerance:
        return []
    return [
        Evidence(
            observed=relative,
            limit=float(tolerance),
            step=int(curve.start[0]),
            step_end=int(curve.end[-1]),
            slots={
                "signal": signal,
                "direction": direction,
                "change": relative,
                "tolerance": float(tolerance),
                "start": float(y[0]),
                "end": float(y[-1]),
            },
        )
    ]


@detector("non_finite_signal", slots=("signal", "value", "count"))
def non_finite_signal(run: Run, signal: str) -> list[Evidence]:
    """The signal must stay finite: reports its first NaN or infinite value."""
    s = run[signal]
    bad = ~np.isfinite(s.value)
    if not bad.any():
        return []
    first = int(np.argmax(bad))
    return [
        Evidence(
            observed=float(bad.sum()),
            limit=0.0,
            step=int(s.step[first]),
            step_end=int(s.step[np.flatnonzero(bad)[-1]]),
            slots={"signal": signal, "value": float(s.value[first]), "count": int(bad.sum())},
        )
    ]
