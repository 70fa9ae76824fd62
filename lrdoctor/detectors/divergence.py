"""Non-finite values (NaN/inf) and whether the learning rate or a numerical bug caused them."""

from __future__ import annotations

import numpy as np

from lrdoctor.detectors import Evidence, detector
from lrdoctor.detectors import advice as adv
from lrdoctor.detectors.stats import binned, median
from lrdoctor.numeric import all_finite
from lrdoctor.run import Run, Series

WATCHED = ("loss", "grad_norm", "update_ratio")


def first_non_finite(run: Run) -> tuple[float, str, float] | None:
    """(step, signal, value) of the earliest NaN/inf in the watched signals, or None."""
    hits = []
    for name in WATCHED:
        if run.has(name):
            s = run[name]
            if all_finite(s.value):
                continue
            bad = np.flatnonzero(~np.isfinite(s.value))
            if len(bad):
                hits.append((float(s.step[bad[0]]), name, float(s.value[bad[0]])))
    return min(hits, default=None)


def climb(series: Series, window: float, most: int = 50) -> tuple[float, float]:
    """How far the last stretch before a NaN sits above the level before it.

    The stretch is the last `window` share of the steps (at most `most`, at least 3); its
    *median* is compared with the median of the half before it, so one heavy-tailed batch
    cannot fake a climb. Returns (rise in inter-quartile spreads, ratio for positive signals).
    """
    v = series.value[np.isfinite(series.value)]
    k = min(most, max(3, int(len(v) * window)))
    if len(v) < k + 3:
        return 0.0, 1.0
    before, last = v[:-k], v[-k:]
    ref = before[len(before) // 2 :]
    base = float(median(ref))
    q75, q25 = np.percentile(ref, [75, 25])
    scale = max(float(q75 - q25), 1e-12 * max(1.0, abs(base)))
    level = float(median(last))
    z = (level - base) / scale
    ratio = level / base if base > 0 else np.inf if level > base else 1.0
    return z, ratio


def _last_jump(values: np.ndarray, k: int = 5) -> float:
    """The last value over the median of the few before it, when it is also the highest value
    of the run so far (1 otherwise: near-zero losses jump tenfold on a bad batch)."""
    if len(values) < k + 1 or values[-1] <= values[:-1].max():
        return 1.0
    base = float(median(values[-k - 1 : -1]))
    return float(values[-1] / base) if base > 0 and values[-1] > 0 else 1.0


@detector("non_finite", reasons=("lr_too_high", "numerical", "unknown"))
def non_finite(
    run: Run,
    *,
    window: float = 0.1,
    loss_z: float = 3.0,
    norm_factor: float = 2.0,
    min_prefix: int = 8,
    min_falling: int = 3,
    jump_factor: float = 10.0,
) -> list[Evidence]:
    """First NaN/inf, with a cause: the LR if loss, grad norm or update ratio climbed first."""
    first = first_non_finite(run)
    if first is None:
        return []
    step, signal, value = first
    empty = Series(np.empty(0), np.empty(0))
    prefix = run["loss"].until(step).finite() if run.has("loss") else empty
    slots: dict = {"signal": signal, "value": value, "prefix_n": len(prefix)}
    climbed: list[str] = []
    # Fewer values than a climb test needs can still be read when each one fell: a run that
    # improved at every logged point up to the NaN (epoch or window means) was healthy there.
    fell_throughout = len(prefix) >= min_falling and bool(np.all(np.diff(prefix.value) < 0))
    if len(prefix) < min_prefix and not fell_throughout:
        cause = "unknown"
    else:
        z, _ = climb(prefix, window)
        if z > loss_z:
            climbed.append("loss")
            slots["loss_z"] = z
        for name in ("grad_norm", "update_ratio"):
            if run.has(name):
                # A ratio of medians of a few noisy samples (a logger that records one step's
                # gradient norm per logging window) doubles by chance: the rise must also clear
                # the spread of the level before it, as the loss's does.
                z_norm, ratio = climb(run[name].until(step).finite(), window)
                if ratio > norm_factor and z_norm > loss_z:
                    climbed.append(name)
                    slots[f"{name}_rise"] = ratio
        jump = _last_jump(prefix.value)
        if jump >= jump_factor:
            # A bug turns a healthy step into NaN; an LR past its edge first throws the loss
            # orders of magnitude up, even if only the last logged step shows it.
            climbed.append("last_jump")
            slots["jump"] = jump
        cause = "lr_too_high" if climbed else "numerical"
        curve = binned(prefix, bins=20)
        slots.update(
            prefix_start=float(curve.level[0]),
            prefix_end=float(curve.level[-1]),
            watched="with_grad" if run.has("grad_norm") else "loss_only",
        )
    lr = adv.lr_at(run, step)
    advice = adv.NONE
    if cause != "numerical":
        # The LR in force where the climb began, or the peak reached before it; a NaN too
        # early to tell the cause is most often an LR far past its edge.
        unstable = adv.peak_lr(run, until=step) or lr
        advice = adv.from_blow_up(run, lr, step) or adv.lower_from(run, unstable)
    return [
        Evidence(
            reason=cause,
            observed=value,
            step=int(step),
            cause=cause,
            suggested_lr=advice.lr,
            suggested_lr_range=advice.range,
            slots={**slots, "climbed": climbed, **adv.lr_slots(lr), **advice.slots()},
        )
    ]
