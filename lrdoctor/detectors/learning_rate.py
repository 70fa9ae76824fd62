"""LR too high or too low, from the loss curve's shape and the update/weight ratio."""

from __future__ import annotations

import numpy as np

from lrdoctor import suggest
from lrdoctor.detectors import Evidence, detector
from lrdoctor.detectors.shape import blowup, shape_of
from lrdoctor.detectors.stats import fmt_lr, fmt_num, kendall_tau
from lrdoctor.run import Run


@detector("lr_too_high")
def lr_too_high(
    run: Run, *, rise_fraction: float = 0.2, min_z: float = 3.0, blowup_factor: float = 10.0,
    backoff: float = 10.0,
) -> list[Evidence]:
    """Loss that rose back after its best (or above its start), or parameters that exploded."""
    sh = shape_of(run)
    if sh is None:
        return []
    rise = sh.end - sh.best_region
    exploded = blowup(run, blowup_factor)
    after_best = sh.curve.level[sh.best_at :]
    rose = (
        rise > min_z * sh.se
        and rise >= rise_fraction * max(sh.drop, 0.0)
        and sh.best_at < len(sh.curve) - 2
        and kendall_tau(after_best) >= 0.15
    )
    if not rose and exploded is None:
        return []
    first_bad = int(sh.curve.end[sh.best_at])
    unstable = suggest.peak_lr(run, until=first_bad) or suggest.peak_lr(run)
    advice = suggest.lower(run, unstable, backoff)
    if rose:
        share = rise / sh.drop if sh.drop > 0 else np.inf
        what = (
            f"the loss rose from its best {fmt_num(sh.best)} (step {first_bad}) back to "
            f"{fmt_num(sh.end)}, {_share(share)} of its earlier fall (limit {rise_fraction:.0%})"
            if np.isfinite(share) else
            f"the loss never fell and rose to {fmt_num(sh.end)} from {fmt_num(sh.start)}"
        )
        observed, limit = float(min(share, 1e6)), rise_fraction
    else:
        what, observed, limit = f"{exploded} (limit {blowup_factor:g}×)", None, None
        first_bad = int(sh.loss.step[0])
    if rose and exploded:
        what += f"; {exploded}"
    return [
        Evidence(
            observed=observed, limit=limit, step=first_bad, step_end=int(sh.loss.step[-1]),
            suggested_lr=advice.lr,
            slots={"what": what, "lr": fmt_lr(unstable), "advice": advice.text or "a lower LR"},
        )
    ]


def _share(x: float) -> str:
    return f"{x:.0%}" if x < 10 else f"{fmt_num(x)}×"


@detector("lr_too_low")
def lr_too_low(
    run: Run, *, min_share: float = 0.15, min_z: float = 3.0, boost: float = 10.0,
) -> list[Evidence]:
    """The loss still falls steadily in the second half: the run is far from done."""
    sh = shape_of(run)
    if sh is None or not _still_falling(sh, min_z) or sh.second_half_share < min_share:
        return []
    if len(sh.loss) < len(run["loss"]) or blowup(run) is not None:
        return []
    lr = suggest.lr_at(run, float(sh.loss.step[-1]))
    if lr is not None and (peak := suggest.peak_lr(run)) and lr < 0.5 * peak:
        return []  # a decaying schedule slows the end on purpose
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
    advice = suggest.lower(run, lr, backoff)
    return [
        Evidence(
            observed=ratio, limit=limit, step=int(run["update_ratio"].step[0]),
            step_end=int(run["update_ratio"].step[-1]), suggested_lr=advice.lr,
            slots={"lr": fmt_lr(lr), "advice": advice.text or "a lower LR"},
        )
    ]


@detector("update_ratio_low")
def update_ratio_low(
    run: Run, *, limit: float = 1e-4, min_z: float = 2.0, boost: float = 10.0
) -> list[Evidence]:
    """A tiny update/weight ratio while the loss is still falling: the LR holds learning back."""
    v = _ratio_window(run)
    sh = shape_of(run)
    if len(v) < 10 or sh is None:
        return []
    ratio = float(np.median(v))
    if ratio >= limit or not _still_falling(sh, min_z):
        return []  # tiny updates at a converged loss are fine
    lr = suggest.peak_lr(run)
    advice = suggest.higher(run, lr, boost)
    return [
        Evidence(
            observed=ratio, limit=limit, step=int(run["update_ratio"].step[0]),
            step_end=int(run["update_ratio"].step[-1]), suggested_lr=advice.lr,
            slots={"lr": fmt_lr(lr), "advice": advice.text or "a higher LR"},
        )
    ]
