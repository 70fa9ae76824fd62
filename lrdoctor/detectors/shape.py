"""The shape of a loss curve in robust, shift- and scale-free numbers, shared by the LR rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrdoctor.detectors.advice import peak_lr, profile
from lrdoctor.detectors.direction import opens_late
from lrdoctor.detectors.stats import (
    Curve,
    binned,
    head_level,
    median,
    median_se,
    theil_sen,
)
from lrdoctor.numeric import all_finite
from lrdoctor.run import Run, Series

BINS = 20
# The fewest loss values a shape is read from: two per bin of the four-bin minimum.
MIN_POINTS = 8


@dataclass(frozen=True)
class Shape:
    """Where the loss started, its best and final levels, and how fast it fell at the end."""

    loss: Series  # the finite loss before any divergence
    curve: Curve
    se: float  # standard error of one bin's median
    start: float
    best: float
    best_at: int  # bin index of the best level
    end: float
    late_drop: float  # fall of the loss over the last quarter (trend, not noise)
    late_se: float  # standard error of a difference between two smoothed levels
    mid: float  # smoothed level halfway through the run

    @property
    def best_region(self) -> float:
        """The level around the best bin (median of it and its neighbours).

        The minimum of 20 noisy medians sits ~2 standard errors below the true level of a flat
        curve; measuring a rise from it would see one in pure noise.
        """
        lo, hi = max(0, self.best_at - 1), min(len(self.curve), self.best_at + 2)
        return float(median(self.curve.level[lo:hi]))

    @property
    def drop(self) -> float:
        """How far the loss fell from its start to its best."""
        return self.start - self.best

    @property
    def total(self) -> float:
        """Net progress from start to end."""
        return self.start - self.end

    @property
    def second_half_fall(self) -> float:
        return self.mid - self.end

    @property
    def second_half_share(self) -> float:
        """Share of the net progress made in the second half (≈0.5 for a straight line)."""
        return self.second_half_fall / self.total if self.total > 0 else 0.0

    @property
    def late_rate(self) -> float:
        """The last quarter's fall as a share of the average fall per quarter (1 = linear)."""
        return 4.0 * self.late_drop / self.total if self.total > 0 else 0.0


def _start(values: np.ndarray) -> float:
    """Where training started: the median of the first values, unless the first steps exploded.

    The very first loss is logged before any update; when the opening steps blow up far above
    it, it is the only honest record of the starting level.
    """
    head, first = head_level(values), float(values[0])
    return first if first > 0 and head > 3 * first else head


def misses_its_start(run: Run) -> bool:
    """Whether the log's first loss comes after more than one bin (1/BINS of the run) of
    unlogged updates: a fast first fall, or a catapult, may lie wholly before it."""
    step = run["loss"].step
    return bool(step[0] * BINS > step[-1])


def first_level(run: Run, values: np.ndarray) -> float:
    """Where the log says training started: its first value, unless that is one batch's value
    logged after unlogged updates (then the median of the first few, as one batch's luck is
    no start: a lightning log's first row of a loss near zero swings by a decade)."""
    return head_level(values) if opens_late(run) else float(values[0])


def finite_prefix(run: Run) -> Series:
    """The loss up to (excluding) its first non-finite value (computed once per run)."""
    if "finite_prefix" not in run.derived:
        s = run["loss"]
        if all_finite(s.value):
            run.derived["finite_prefix"] = s
        else:
            end = int(np.isfinite(s.value).argmin())
            run.derived["finite_prefix"] = Series(s.step[:end], s.value[:end])
    return run.derived["finite_prefix"]


def shape_of(run: Run, bins: int = BINS) -> Shape | None:
    """The run's loss shape; several rules read it, so it is computed once per run."""
    key = ("shape", bins)
    if key not in run.derived:
        run.derived[key] = _compute(run, bins)
    return run.derived[key]


def _compute(run: Run, bins: int) -> Shape | None:
    loss = finite_prefix(run)
    n = len(loss)
    if n < 2 * bins:
        bins = max(4, n // 5)
    # Short logs (HF fine-tunes log 10-60 points) are still judged, with wider bins' noise.
    if n < MIN_POINTS:
        return None
    curve = binned(loss, bins)
    se = median_se(curve, n)
    k = max(3, len(curve) // 4)
    slope = theil_sen(curve.step[-k:], curve.level[-k:])
    # The late slope, as the fall it would make over a quarter of the run.
    quarter = float(curve.step[-1] - curve.step[0]) / 4.0
    late_se = se * np.sqrt(2.0)  # difference of two roughly independent window levels
    best_at = int(curve.level.argmin())
    return Shape(
        loss=loss,
        curve=curve,
        se=se,
        start=_start(loss.value),
        best=float(curve.level[best_at]),
        best_at=best_at,
        end=float(median(curve.level[-max(2, len(curve) // 5) :])),
        late_drop=-slope * quarter,
        late_se=late_se,
        mid=float(median(curve.level[len(curve) // 2 - 1 : len(curve) // 2 + 1])),
    )


def weights_exploded(run: Run, factor: float) -> float | None:
    """How many times the weight norm grew over its first value, when beyond `factor`."""
    if not run.has("weight_norm"):
        return None
    w = run["weight_norm"].value
    w = w[np.isfinite(w) & (w > 0)]
    if len(w) > 5 and w.max() / w[0] > factor:
        return float(w.max() / w[0])
    return None


def loss_exploded(run: Run, factor: float = 10.0, min_steps: int = 3) -> float | None:
    """How many times its start a positive loss reached, when it stayed above `factor` times
    its start for `min_steps` steps (several rules ask: each answer is kept with the run)."""
    key = ("loss_exploded", factor, min_steps)
    if key not in run.derived:
        run.derived[key] = _loss_exploded(run, factor, min_steps)
    return run.derived[key]


def _loss_exploded(run: Run, factor: float, min_steps: int) -> float | None:
    loss = finite_prefix(run).value
    if len(loss) <= 10:
        return None
    first = float(loss[0])
    start = min(first_level(run, loss), head_level(loss))
    if start <= 0:
        return None
    # Above the first logged loss too: a loss that fell in its first steps to a floor near
    # zero (a convex model on separable data) swings by decades around it, far below where
    # training started; an explosion goes above where it started.
    above = loss > max(factor * start, first)
    # A first value far above the head's level is a fast early fall (1/(1+t) from 1), not an
    # explosion: only what rises above the limit after the loss was once below it counts.
    below = int(above.argmin())
    loss, above = loss[below:], above[below:]
    peak = float(loss.max()) if len(loss) else 0.0
    if not peak > factor * start or len(loss) < min_steps:
        return None  # the usual run: never above the limit, no window to scan
    # Some `min_steps` consecutive values all above: an AND of shifted views, O(n·min_steps).
    window = above[: len(above) - min_steps + 1].copy()
    for k in range(1, min_steps):
        window &= above[k : len(above) - min_steps + 1 + k]
    return peak / start if window.any() else None


def blowup(run: Run, factor: float = 10.0, weight_factor: float = 100.0) -> bool:
    """Either kind of explosion (the LR-too-low rules stay quiet on such runs)."""
    return (
        weights_exploded(run, weight_factor) is not None or loss_exploded(run, factor) is not None
    )


def no_progress(sh: Shape, min_z: float = 3.0) -> bool:
    """The smoothed loss never got clearly below where it started."""
    return sh.start - sh.best_region <= min_z * sh.late_se


def lr_outside_profile(run: Run) -> tuple[str, float, float, float] | None:
    """(side, lr, low, high) when the peak LR lies outside its optimizer family's usual range."""
    lr, used = peak_lr(run), profile(run.optimizer_family)
    if lr is None or used is None or used.low <= lr <= used.high:
        return None
    return ("high" if lr > used.high else "low"), lr, used.low, used.high


def high_lr_phase(run: Run, share: float, least: float, points: int) -> tuple[Run | None, float]:
    """The run cut to the steps whose LR is at least `share` of its peak, and the share of the
    loss values in it.

    The whole run when no LR is logged or it never decays below that; None when the high-LR
    phase holds less than `least` of the run or under `points` values (too little to judge).
    """
    # LR003 and LR004 cut at the same share: one cut per run, so its shape is computed once.
    key = ("high_lr_phase", share)
    if key not in run.derived:
        run.derived[key] = _high_lr_phase(run, share)
    phase, held, kept = run.derived[key]
    if phase is None:
        return run, 1.0
    if held < least or kept < points:
        return None, held
    return phase, held


def _high_lr_phase(run: Run, share: float) -> tuple[Run | None, float, int]:
    """(the cut run, its share of the loss values, how many) or (None, 1.0, 0): the whole run
    (the run itself is not kept in its own `derived`: no cycle should keep a run alive)."""
    if not run.has("lr"):
        return None, 1.0, 0
    lr = run["lr"].finite()
    top = lr.value.max() if len(lr) else 0.0
    if top <= 0 or lr.value.min() >= share * top:
        return None, 1.0, 0
    high = lr.value >= share * top
    first, last = int(high.argmax()), len(high) - 1 - int(high[::-1].argmax())
    loss = run["loss"]
    # Steps increase: the loss rows between the first and last high-LR step are one slice.
    a = int(loss.step.searchsorted(lr.step[first], "left"))
    b = int(loss.step.searchsorted(lr.step[last], "right"))
    kept = b - a
    held = kept / max(len(loss), 1)
    signals = {**run.signals, "loss": Series(loss.step[a:b], loss.value[a:b])}
    phase = Run(run.source, signals, run.columns, run.notes, run.optimizer, run.meta)
    return phase, held, kept
