"""Loss spikes that recover, plateaus, overfitting and schedule mistakes."""

from __future__ import annotations

import numpy as np

from lrdoctor.detectors import Evidence, detector
from lrdoctor.detectors import advice as suggest
from lrdoctor.detectors.shape import finite_prefix, shape_of
from lrdoctor.detectors.stats import (
    above_reference,
    human_lr,
    local_reference_bins,
    median,
    theil_sen,
)
from lrdoctor.detectors.validation import validation_rise
from lrdoctor.run import Run


def _events(mask: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """(first, last) index of each run of True, merging runs closer than `gap`."""
    idx = np.flatnonzero(mask)
    if not len(idx):
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap)
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


@detector(
    "loss_spikes",
    reasons=("few", "recurring"),
    slots=(
        "count",
        "steps",
        "peak",
        "peak_step",
        "recovered_in",
        "lead",
        "lead_steps",
        "lower_lr",
        "lr",
    ),
)
def loss_spikes(
    run: Run,
    *,
    z: float = 8.0,
    min_height: float = 0.3,
    recover: int = 100,
    min_steps: int = 100,
    min_duration: int = 3,
    warn_count: int = 3,
    recovered_z: float = 2.0,
    lead_z: float = 6.0,
) -> list[Evidence]:
    """Short excursions of the loss far above its running level that come back down."""
    loss = finite_prefix(run)
    sh = shape_of(run)
    n = len(loss)
    if n < min_steps or sh is None or sh.drop <= 0:
        return []
    size = max(5, n // 100)
    # The reference per bin of `size` points; only the points found above it are looked up.
    level, scale = local_reference_bins(loss.value, size)
    scale = np.maximum(scale, 1e-9 * max(1.0, abs(sh.start)))
    spiky = above_reference(loss.value, size, level, np.maximum(z * scale, min_height * sh.drop))
    last = len(level) - 1

    def height(i: int) -> float:
        return loss.value[i] - level[min(i // size, last)]

    events = []
    for a, b in _events(spiky, gap=2):
        if int(spiky[a : b + 1].sum()) < min_duration:
            continue  # one hard batch is noise; a spike disturbs the following steps too
        after = loss.value[b + 1 : b + 1 + recover]
        ref = min(min(b + 1, n - 1) // size, last)
        back = np.flatnonzero(after <= level[ref] + recovered_z * scale[ref])
        if len(back):
            events.append((a, b, int(a + np.argmax(loss.value[a : b + 1])), b + 1 + int(back[0])))
    if not events:
        return []
    peaks = [height(p) / sh.drop for _, _, p, _ in events]
    worst = int(np.argmax(peaks))
    a, b, peak, back = events[worst]
    lead, lead_steps = _grad_norm_lead(run, loss.step, a, lead_z)
    steps = [int(loss.step[p]) for _, _, p, _ in events]
    lr = suggest.lr_at(run, float(loss.step[a]))
    slots = {
        "count": len(events),
        "steps": tuple(steps[:8]),
        "peak": float(loss.value[peak]),
        "peak_step": int(loss.step[peak]),
        "recovered_in": int(loss.step[min(back, n - 1)] - loss.step[a]),
        "lead": lead,
        "lower_lr": "at_lr" if lr is not None else "no_lr",
    }
    if lead_steps is not None:
        slots["lead_steps"] = lead_steps
    if lr is not None:
        slots["lr"] = lr
    return [
        Evidence(
            # A spike or two that recovered is worth knowing; recurring spikes are a problem.
            reason="recurring" if len(events) >= warn_count else "few",
            observed=float(peaks[worst]),
            limit=min_height,
            step=int(loss.step[a]),
            step_end=int(loss.step[min(back, n - 1)]),
            slots=slots,
        )
    ]


def _grad_norm_lead(
    run: Run, steps: np.ndarray, first: int, z: float, window: int = 20
) -> tuple[str, int | None]:
    """Whether the gradient norm jumped before the loss did (it often does in LLM runs).

    Returns a code for the rule file's phrases and, when it jumped first, by how many steps.
    """
    if not run.has("grad_norm"):
        return "not_logged", None
    g = run["grad_norm"].finite()
    if len(g) < 50:
        return "short", None
    spike_step = steps[first]
    # Only the points in the window before the spike are compared with the reference.
    lo, hi = np.searchsorted(g.step, [spike_step - window, spike_step], side="left")
    if hi <= lo:
        return "loss_first", None
    size = max(5, len(g) // 100)
    level, scale = local_reference_bins(g.value, size)
    bins = np.minimum(np.arange(lo, hi) // size, len(level) - 1)
    spread = np.maximum(scale[bins], 1e-12)  # a constant norm has no spread to divide by
    jumped = g.value[lo:hi] > level[bins] + z * spread
    if jumped.any():
        return "grad_first", int(spike_step - g.step[lo + np.flatnonzero(jumped)[0]])
    return "loss_first", None


@detector(
    "plateau",
    reasons=("at_peak", "decayed", "no_lr"),
    slots=("idle", "level", "lr", "peak_lr", "lr_share", "decayed_lr"),
)
def plateau(
    run: Run,
    *,
    patience: float = 0.3,
    min_improvement: float = 0.02,
    min_z: float = 2.0,
    decayed: float = 0.1,
    min_fall_z: float = 5.0,
) -> list[Evidence]:
    """No progress over the last `patience` share of the run after earlier progress."""
    sh = shape_of(run)
    if sh is None or sh.drop <= min_fall_z * sh.se or len(sh.loss) < len(run["loss"]):
        return []
    c = sh.curve
    k = max(3, int(round(len(c) * patience)))
    if len(c) < k + 2:
        return []
    window_steps, window_levels = c.step[-k:], c.level[-k:]
    window_span = float(window_steps[-1] - window_steps[0])
    improvement = -theil_sen(window_steps, window_levels) * window_span
    threshold = max(min_z * sh.late_se, min_improvement * sh.drop)
    if improvement > threshold:
        return []
    final = float(median(window_levels))
    if final > sh.best_region + threshold:
        return []  # the loss went back up: a rise (LR001), not a plateau
    # The stall began at the first bin from which the loss never again fell by more than the
    # threshold.
    later_min = np.minimum.accumulate(c.level[::-1])[::-1]
    onset = int(np.flatnonzero(c.level - later_min <= threshold)[0])
    stall_from = int(c.start[onset])
    total = float(sh.loss.step[-1] - sh.loss.step[0]) or 1.0
    idle = float(sh.loss.step[-1] - stall_from) / total
    slots = {"idle": idle, "level": final}
    reason = "no_lr"
    lr, peak = _lr_in_force(run, float(sh.loss.step[-1])), suggest.peak_lr(run)
    if lr is not None and peak is not None:
        slots.update(lr=lr, peak_lr=peak, lr_share=lr / peak)
        reason = "decayed" if lr < decayed * peak else "at_peak"
        if reason == "at_peak":
            slots["decayed_lr"] = human_lr(lr / 10)
    return [
        Evidence(
            reason=reason,
            observed=max(improvement, 0.0) / sh.drop,
            limit=threshold / sh.drop,
            step=stall_from,
            step_end=int(sh.loss.step[-1]),
            slots=slots,
        )
    ]


def _lr_in_force(run: Run, step: float) -> float | None:
    """The logged LR at `step`, zero included (a schedule that decayed to 0 is still known)."""
    if not run.has("lr"):
        return None
    value = float(run["lr"].at(np.array([step], dtype=float))[0])
    return value if np.isfinite(value) and value >= 0 else None


@detector(
    "overfitting",
    reasons=("memorising", "not_memorising", "slight", "noisy"),
    slots=("best_val", "end_val", "best_step", "best_at"),
)
def overfitting(
    run: Run,
    *,
    min_rise: float = 0.15,
    min_points: int = 6,
    min_z: float = 3.0,
    material: float = 0.01,
    best_before: float = 0.7,
) -> list[Evidence]:
    """The validation loss ended well above its minimum (measured against that minimum).

    The reason says what the training loss did meanwhile: still falling is memorisation
    (early stopping, regularisation); not falling means the run got worse as a whole. A rise
    below `material` of the first evaluation's loss is `slight` (a loss already near zero). A
    rise that only the lowest single evaluation shows, or that the evaluations' noise could
    make, is `noisy` (info): that evaluation's checkpoint is still the one to keep.
    """
    vr = validation_rise(
        run, min_rise=min_rise, min_points=min_points, min_z=min_z, best_before=best_before
    )
    if vr is None:
        return []
    reason = "memorising" if vr.train_falling else "not_memorising"
    if not vr.robust:
        reason = "noisy"
    elif vr.rise < material * abs(vr.first_val):
        reason = "slight"
    return [
        Evidence(
            reason=reason,
            observed=vr.rise / abs(vr.low) if vr.low != 0 else np.inf,
            limit=min_rise,
            step=vr.best_step,
            step_end=vr.last_step,
            slots={
                "best_val": vr.low,
                "end_val": vr.end,
                "best_step": vr.best_step,
                "best_at": "first" if vr.best == 0 else "later",
            },
        )
    ]


def _warmup_end(run: Run, start_below: float, reached: float) -> float | None:
    """The step where a rising LR first reaches `reached` of its peak, when the run starts with
    a warm-up (an LR below `start_below` of its peak)."""
    lr = run["lr"].finite()
    # A non-positive peak is not a learning rate (a sign flip or a junk column): no warm-up.
    if len(lr) < 10 or lr.value.max() <= 0 or lr.value[0] >= start_below * lr.value.max():
        return None
    reach = int(np.flatnonzero(lr.value >= reached * lr.value.max())[0])
    return float(lr.step[reach])


@detector("warmup_instability", slots=("warmup_end", "peak_lr", "lower_peak", "best", "end"))
def warmup_instability(
    run: Run,
    *,
    window: float = 0.15,
    min_z: float = 4.0,
    min_rise: float = 0.25,
    warmup_below: float = 0.5,
    peak_reached: float = 0.99,
) -> list[Evidence]:
    """The loss turns upward within a short window after a warm-up reaches its peak LR."""
    end = _warmup_end(run, warmup_below, peak_reached)
    sh = shape_of(run)
    if end is None or sh is None:
        return []
    c = sh.curve
    span = float(c.step[-1] - c.step[0]) or 1.0
    best_step = float(c.step[sh.best_at])
    rise = sh.end - sh.best_region
    if abs(best_step - end) > window * span or rise <= min_z * sh.se or rise < min_rise * sh.drop:
        return []
    # A warm-up end exists only below a positive peak LR (see _warmup_end).
    peak = float(suggest.peak_lr(run))
    return [
        Evidence(
            observed=rise / sh.drop if sh.drop > 0 else None,
            limit=min_rise,
            step=int(end),
            step_end=int(c.end[-1]),
            suggested_lr=human_lr(peak / 3),
            slots={
                "warmup_end": int(end),
                "peak_lr": peak,
                "lower_peak": human_lr(peak / 3),
                "best": sh.best,
                "end": sh.end,
            },
        )
    ]


@detector("decay_too_early", slots=("cut", "peak_lr", "level", "steps"))
def decay_too_early(
    run: Run,
    *,
    near_zero: float = 0.05,
    min_z: float = 3.0,
    min_left: float = 0.2,
    before_cut: float = 0.2,
) -> list[Evidence]:
    """The LR reached ~0 while the loss was still falling fast, and the loss stopped with it."""
    lr = run["lr"].finite()
    sh = shape_of(run)
    if sh is None or len(lr) < 10:
        return []
    peak_at = int(lr.value.argmax())
    peak = float(lr.value[peak_at])
    low = np.flatnonzero(lr.value[peak_at:] <= near_zero * peak)
    if not len(low) or peak <= 0:
        return []
    cut = float(lr.step[peak_at + low[0]])
    first, last = float(sh.loss.step[0]), float(sh.loss.step[-1])
    if (last - cut) < min_left * (last - first):
        return []  # decaying to ~0 at the very end is the plan of most schedules
    c = sh.curve
    before = (c.step < cut) & (c.step >= cut - before_cut * (last - first))
    after = c.step > cut
    if before.sum() < 2 or after.sum() < 3:
        return []
    fall_before = -theil_sen(c.step[before], c.level[before]) * before_cut * (last - first)
    fall_after = -theil_sen(c.step[after], c.level[after]) * float(c.step[after][-1] - cut)
    if fall_before <= min_z * sh.late_se or fall_after > min_z * sh.late_se:
        return []
    # The evidence is how much of the run was left once the LR was gone (limit: min_left).
    return [
        Evidence(
            observed=(last - cut) / (last - first),
            limit=min_left,
            step=int(cut),
            step_end=int(last),
            slots={"cut": int(cut), "peak_lr": peak, "level": sh.end, "steps": int(last)},
        )
    ]
