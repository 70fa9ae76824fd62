"""LR too high or too low, from the loss curve's shape and the update/weight ratio."""

from __future__ import annotations

import numpy as np

from lrdoctor import suggest
from lrdoctor.detectors import Evidence, detector
from lrdoctor.detectors.shape import (
    blowup,
    high_lr_phase,
    loss_exploded,
    lr_outside_profile,
    no_progress,
    shape_of,
    weights_exploded,
)
from lrdoctor.detectors.stats import fmt_lr, fmt_num
from lrdoctor.run import Run


@detector("lr_too_high")
def lr_too_high(
    run: Run, *, rise_fraction: float = 0.2, min_z: float = 3.0, blowup_factor: float = 10.0,
    backoff: float = 10.0,
) -> list[Evidence]:
    """Loss that rose back after its best, parameters that exploded, or nothing learned at an LR
    beyond the optimizer's usual range."""
    sh = shape_of(run)
    if sh is None:
        return []
    rise = sh.end - sh.best_region
    reasons = []
    observed = limit = None
    first_bad = int(sh.loss.step[0])
    if rise > min_z * sh.se and rise >= rise_fraction * max(sh.drop, 0.0) and (
        sh.best_at < len(sh.curve) - 2
    ):
        first_bad = int(sh.curve.end[sh.best_at])
        share = rise / sh.drop if sh.drop > 0 else np.inf
        observed, limit = (float(min(share, 1e6)) if np.isfinite(share) else None), rise_fraction
        reasons.append(
            f"the loss rose from its best {fmt_num(sh.best)} (step {first_bad}) back to "
            f"{fmt_num(sh.end)}, {_share(share)} of its earlier fall (limit {rise_fraction:.0%})"
            if np.isfinite(share) else
            f"the loss never fell and rose to {fmt_num(sh.end)} from {fmt_num(sh.start)}"
        )
    # An explosion the run fully recovered from is a transient (a spike, or a warm-up to add);
    # one after which the loss stayed above its best, or never got below its start, is not.
    stuck = no_progress(sh, min_z)
    if (exploded := weights_exploded(run)) is not None:
        reasons.append(exploded)
    elif (stuck or rise > min_z * sh.se) and (
        exploded := loss_exploded(run, blowup_factor)
    ) is not None:
        ending = "never recovered" if stuck else f"ended above its best, at {fmt_num(sh.end)}"
        reasons.append(f"{exploded} and the loss {ending}")
    outside = lr_outside_profile(run)
    if not reasons and stuck and outside and outside[0] == "high":
        reasons.append(f"the loss never left its starting level {fmt_num(sh.start)}; {outside[1]}")
    if not reasons:
        return []
    unstable = suggest.peak_lr(run, until=first_bad) or suggest.peak_lr(run)
    advice = suggest.lower(run, unstable, backoff)
    return [
        Evidence(
            observed=observed, limit=limit, step=first_bad, step_end=int(sh.loss.step[-1]),
            suggested_lr=advice.lr,
            slots={"what": "; ".join(reasons), "lr": fmt_lr(unstable),
                   "advice": advice.text or "a lower LR"},
        )
    ]


def _share(x: float) -> str:
    return f"{x:.0%}" if x < 10 else f"{fmt_num(x)}×"


@detector("lr_too_low")
def lr_too_low(
    run: Run, *, min_share: float = 0.15, min_z: float = 3.0, boost: float = 10.0,
) -> list[Evidence]:
    """The loss still falls steadily in the second half: the run is far from done.

    Under a decaying schedule only the phase at high LR (at least half the peak) is judged,
    since the decay slows the end of every run on purpose.
    """
    if not run.has("loss") or not np.isfinite(run["loss"].value).all() or blowup(run):
        return []
    phase = high_lr_phase(run)
    if phase is None:
        return []
    sh = shape_of(phase)
    if sh is None:
        return []
    outside = lr_outside_profile(run)
    stuck_low = no_progress(sh, min_z) and outside is not None and outside[0] == "low"
    steady = (
        _still_falling(sh, min_z) and sh.second_half_share >= min_share
        and sh.start - sh.mid > min_z * sh.late_se  # both halves fell: a steady descent
    )
    if not (steady or stuck_low):
        return []
    lr = suggest.peak_lr(run)
    advice = suggest.higher(run, lr, boost if sh.second_half_share >= 0.3 else boost / 3)
    return [
        Evidence(
            observed=sh.second_half_share, limit=min_share, step=int(sh.loss.step[0]),
            step_end=int(sh.loss.step[-1]), suggested_lr=advice.lr,
            slots={
                "start": fmt_num(sh.start), "end": fmt_num(sh.end), "lr": fmt_lr(lr),
                "advice": advice.text or "a higher LR",
            },
        )
    ]


def _still_falling(sh, min_z: float) -> bool:
    """The second half lowered the smoothed loss by more than noise can explain."""
    return sh.total > min_z * sh.se and sh.second_half_fall > min_z * sh.late_se


def _ratio_window(run: Run, skip: float = 0.1) -> np.ndarray:
    s = run["update_ratio"].finite()
    v = s.value[int(len(s) * skip):]
    return v[v > 0]


@detector("update_ratio_high")
def update_ratio_high(run: Run, *, limit: float = 0.1, backoff: float = 10.0) -> list[Evidence]:
    """The median update/weight ratio sits far above the ~1e-3 that healthy training shows."""
    v = _ratio_window(run)
    if len(v) < 10:
        return []
    ratio = float(np.median(v))
    if ratio <= limit:
        return []
    lr = suggest.peak_lr(run)
    return _ratio_evidence(run, ratio, limit, lr, suggest.lower(run, lr, backoff), "a lower LR")


@detector("update_ratio_low")
def update_ratio_low(
    run: Run, *, limit: float = 1e-4, min_z: float = 2.0, boost: float = 10.0
) -> list[Evidence]:
    """A tiny update/weight ratio while the loss is still falling, or when it barely moved."""
    v = _ratio_window(run)
    sh = shape_of(run)
    if len(v) < 10 or sh is None or blowup(run) is not None:
        return []  # after an explosion tiny updates mean dead units, not a small LR
    ratio = float(np.median(v))
    if ratio >= limit:
        return []
    if _still_falling(sh, min_z):
        state = "while the loss is still falling"
    elif sh.drop < 3 * sh.curve.noise:  # the whole run moved the loss less than batch noise
        state = f"and the loss barely moved ({fmt_num(sh.start)} → {fmt_num(sh.end)})"
    else:
        return []  # tiny updates at a converged loss are fine
    lr = suggest.peak_lr(run)
    advice = suggest.higher(run, lr, boost)
    return _ratio_evidence(run, ratio, limit, lr, advice, "a higher LR", state=state)


def _ratio_evidence(run: Run, ratio: float, limit: float, lr: float | None, advice,
                    fallback: str, **slots: str) -> list[Evidence]:
    """The finding of an update-ratio rule: the median ratio against its limit, over the run."""
    steps = run["update_ratio"].step
    return [
        Evidence(
            observed=ratio, limit=limit, step=int(steps[0]), step_end=int(steps[-1]),
            suggested_lr=advice.lr,
            slots={"lr": fmt_lr(lr), "advice": advice.text or fallback, **slots},
        )
    ]
