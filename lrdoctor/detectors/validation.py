"""What the validation loss did after its best evaluation: OF001's rise, and LR001's run that
got worse as a whole (validation up, training not falling).

One pass over the validation column: a 3-point running median, its minimum, the median of the
last evaluations, and the evaluations' own noise. O(V) in the number of evaluations, plus one
boolean mask over the training loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detectors.shape import finite_prefix
from lrdoctor.detectors.stats import edge_pad, median
from lrdoctor.numeric import windows
from lrdoctor.run import Run


@dataclass(frozen=True)
class ValidationRise:
    """The validation loss ended `rise` above its minimum `low` (at evaluation `best`).

    `robust` is the smoothed minimum's rise beyond the evaluations' noise; otherwise only the
    lowest single evaluation shows it. `train_falling` says whether the training loss kept
    falling after that evaluation (memorisation) or not (the run got worse as a whole).
    """

    robust: bool
    best: int
    best_step: int
    low: float
    end: float
    rise: float
    first_val: float
    first_train: float
    last_step: int
    train_falling: bool


def validation_rise(
    run: Run,
    *,
    min_rise: float,
    min_points: int,
    min_z: float,
    best_before: float,
) -> ValidationRise | None:
    """The validation loss's rise above its minimum, when it is at least `min_rise` of it.

    None when there are fewer than `min_points` evaluations, no such rise, or too little
    training loss on either side of the best evaluation to say what it did meanwhile.
    """
    # OF001 and LR001 ask with the same limits and a different `best_before`, which only the
    # fallback to the lowest single evaluation reads: the smoothed pass is made once per run.
    key = ("validation_rise", min_rise, min_points, min_z)
    if key not in run.derived:
        run.derived[key] = _smoothed_rise(run, min_rise, min_points, min_z)
    found = run.derived[key]
    if found is None or isinstance(found, ValidationRise):
        return found
    val, k, end = found
    # The lowest single evaluation, early enough that the run had time to move off it.
    best = int(val.value.argmin())
    low = float(val.value[best])
    rise = end - low
    span = float(val.step[-1] - val.step[0])
    early = span > 0 and float(val.step[best] - val.step[0]) <= best_before * span
    if not (early and best < len(val) - k and rise > min_rise * abs(low)):
        return None
    return _found(run, val, False, best, low, end, rise)


def _smoothed_rise(run: Run, min_rise: float, min_points: int, min_z: float):
    """None (too few evaluations, or a robust rise the training loss cannot judge), the
    robust ValidationRise, or (evaluations, k, end) for the single-evaluation fallback."""
    if not run.has("val_loss"):
        return None
    val = run["val_loss"].finite()
    if len(val) < min_points:
        return None
    smooth = median(windows(edge_pad(val.value, 1), 3), axis=1)
    # Where the validation loss ended: the median of its last evaluations (at least 3).
    k = max(3, len(val) // 10)
    end = float(median(val.value[-k:]))
    # The evaluations' own noise (what the 3-point median removed), for the mean of k of them.
    residual = val.value - smooth
    noise = float(median(np.abs(residual - median(residual)))) * 1.4826
    best = int(smooth.argmin())
    low = float(smooth[best])
    rise = end - low
    robust = (
        best < len(val) - k
        and rise > 0
        and rise > min_rise * abs(low)
        and rise > min_z * noise / np.sqrt(k)
    )
    if not robust:
        return val, k, end
    return _found(run, val, True, best, low, end, rise)


def _found(run: Run, val, robust: bool, best: int, low: float, end: float, rise: float):
    train = finite_prefix(run)
    falling = _train_kept_falling(train, val.step, best)
    if falling is None:
        return None
    return ValidationRise(
        robust=robust,
        best=best,
        best_step=int(val.step[best]),
        low=low,
        end=end,
        rise=rise,
        first_val=float(val.value[0]),
        first_train=float(train.value[0]),
        last_step=int(val.step[-1]),
        train_falling=falling,
    )


def _train_kept_falling(train, val_steps: np.ndarray, best: int) -> bool | None:
    """Whether the training loss ended below its level around the best evaluation, and below
    its first value.

    None when there is too little training loss on either side to tell.
    """
    lo = val_steps[best - 1] if best > 0 else -np.inf
    hi = val_steps[best + 1] if best + 1 < len(val_steps) else np.inf
    # Steps increase: the rows strictly between two steps, or after one, are a slice.
    a, b = train.step.searchsorted(lo, "right"), train.step.searchsorted(hi, "left")
    around = train.value[a:b]
    if len(around) < 3:  # sparse training rows (per-epoch logs): the three nearest to it
        around = train.value[np.argsort(np.abs(train.step - val_steps[best]))[:3]]
    later = train.value[train.step.searchsorted(val_steps[best], "right") :]
    if len(around) < 3 or len(later) < 3:
        return None
    tail = later[-max(3, len(later) // 4) :]
    # Memorising fits the training set: a training loss that ended above its first value did
    # not, whatever it did after the best evaluation (a run that blew up and half came back).
    end = median(tail)
    return bool(end < median(around) and end < train.value[0])
