"""Which side of its best LR a run sits on: the measured signs of "too high" and "too low".

Every number here is a ratio of the run's own values (scale-free): the final loss over the
first logged one, the early peak of the smoothed loss over the first, the first gradient norm
over its later median, the update/weight ratio over the peak-LR phase. The LR rules combine
them; the thresholds live in the rule files, with where each value came from.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from lrdoctor.detectors import knowledge
from lrdoctor.detectors.stats import median
from lrdoctor.numeric import all_finite, finite_values, mean, where_true, windows
from lrdoctor.run import Run, Series


@dataclass(frozen=True)
class Signs:
    """The loss and step statistics the LR rules weigh, for one finite run.

    The statistics that need a pass over a whole column (the trends, the gradient catapult,
    the update ratio, the efficiency) are computed when a rule first reads them: which ones
    a run needs depends on the path its rules take.
    """

    n: int
    start: float  # the first logged loss (the smaller of it and the median of the first three)
    end: float  # median of the last 10% of the logged losses
    early_peak: float  # highest 3-point median in the first third, over `start`
    opening: float  # the first logged loss over the median of the next three
    # The run's signals (a Run of its own: the run's `derived` holds these signs, and no cycle
    # should keep a run alive).
    _run: Run = field(repr=False, compare=False)

    @functools.cached_property
    def trend(self) -> float:
        """Rank correlation of 20 binned levels with time (-1: steady descent)."""
        return _rank_trend(self._run["loss"].value)

    @functools.cached_property
    def grad_catapult(self) -> float | None:
        """The first gradient norm over its median after the first 10%."""
        return _grad_catapult(self._run)

    @functools.cached_property
    def update_ratio(self) -> float | None:
        """The median update/weight ratio in the peak-LR phase."""
        return peak_phase_update_ratio(self._run)

    @functools.cached_property
    def efficiency(self) -> float | None:
        """The loss fall per step over lr·|g|², first half of the run."""
        return first_order_efficiency(self._run)

    @functools.cached_property
    def val_trend(self) -> float | None:
        """The validation loss's rank trend (8+ finite values): the held-out loss carries no
        batch noise, so a per-epoch log's crawl shows in it when the train loss wiggles
        (fastai's history.csv logs an EMA of the last batches, whose noise is a too-low run's
        whole fall)."""
        return _val_trend(self._run)

    @property
    def moved(self) -> float:
        """Final over first loss: ~1 when the run barely moved, < 1 when it learned."""
        return self.end / self.start if self.start > 0 else float("nan")

    def validation_rose(self, limit: float) -> bool:
        """Whether the validation loss's rank trend over the run is above `limit` (it rose
        rather than fell); False when the log has no usable validation loss."""
        return self.val_trend is not None and self.val_trend > limit


def signs_of(run: Run) -> Signs | None:
    """The run's signs, or None when its loss is too short, not finite, or negative."""
    if "signs" not in run.derived:
        run.derived["signs"] = _signs(run)
    return run.derived["signs"]


def _signs(run: Run) -> Signs | None:
    if not run.has("loss"):
        return None
    loss = run["loss"].value
    if len(loss) < 8 or not np.isfinite(loss).all() or loss.min() < 0:
        return None  # ratios of a loss that can go negative (a log-likelihood) mean nothing
    n = len(loss)
    start = float(min(loss[0], median(loss[:3])))
    if start <= 0:
        return None
    end = float(median(loss[-max(3, n // 10) :]))
    head = loss[: max(4, n // 3)]
    early_peak = float(_rolling_median(head, 3).max()) / start
    # Three rows, whatever the log's length: the jump between the first row and the next ones is
    # the logger's, and a long window would count a healthy run's fast fall.
    opening = float(loss[0]) / max(float(median(loss[1:4])), 1e-300)
    return Signs(
        n=n,
        start=start,
        end=end,
        early_peak=early_peak,
        opening=opening,
        _run=Run(run.source, run.signals, run.columns, run.notes, run.optimizer, run.meta),
    )


def _val_trend(run: Run) -> float | None:
    if not run.has("val_loss"):
        return None
    v = finite_values(run["val_loss"].value)
    return _rank_trend(v) if len(v) >= 8 else None


def _rolling_median(x: np.ndarray, width: int) -> np.ndarray:
    if len(x) < width:
        return x
    return median(windows(x, width), axis=1)


def _rank_trend(loss: np.ndarray, bins: int = 20) -> float:
    """Spearman correlation of the binned medians with their order (O(n))."""
    levels = _chunk_medians(loss, min(bins, len(loss) // 2))
    # np.ptp(levels) == 0, as its arithmetic (max - min) without its dispatch.
    if len(levels) < 3 or levels.max() - levels.min() == 0:
        return 0.0
    return _order_correlation(levels.argsort().argsort())


def _order_correlation(ranks: np.ndarray) -> float:
    """`numeric.corrcoef(np.arange(n, dtype=float), ranks.astype(float))` of a permutation of
    0..n-1, bit for bit, in a few float operations instead of a dozen numpy calls.

    Both rows have the mean (n - 1) / 2, so centred they hold multiples of 1/2; their products
    and sums are exact in float64 whatever the summation order (while n³ stays far below 2^53;
    n <= 20 here):
    the covariance is Σ i·r_i - n·((n - 1) / 2)², each variance n(n² - 1) / 12. What corrcoef
    rounds after that (the scaling by 1 / (n - 1), the square root, two divisions, the clip)
    is done here in the same order.
    """
    n = len(ranks)
    cross = (4 * int(np.dot(np.arange(n), ranks)) - n * (n - 1) ** 2) / 4
    var = n * (n * n - 1) / 12
    scale = 1 / (n - 1)
    sd = math.sqrt(var * scale)
    return min(1.0, max(-1.0, cross * scale / sd / sd))


def _chunk_medians(x: np.ndarray, k: int) -> np.ndarray:
    """The median of each of `np.array_split(x, k)`'s chunks, as two 2-D medians (the first
    len % k chunks are one longer) instead of k calls."""
    size, longer = divmod(len(x), k)
    cut = longer * (size + 1)
    parts = [x[:cut].reshape(longer, size + 1), x[cut:].reshape(k - longer, size)]
    return np.concatenate([median(p, axis=1) for p in parts if p.size])


def _grad_catapult(run: Run) -> float | None:
    if not run.has("grad_norm"):
        return None
    g = finite_values(run["grad_norm"].value)
    if len(g) < 8 or g[0] <= 0:
        return None
    later = float(median(g[len(g) // 10 :]))
    return float(g[0] / later) if later > 0 else None


def first_order_efficiency(run: Run) -> float | None:
    """How much of the first-order prediction lr·|g|² the loss actually fell per step.

    Over the first half of the run: the fall between the medians of its first and last
    quarters, per step, over the median LR times the median squared gradient norm. Far below
    its best LR a step is small enough for the linear model to hold (≈0.3-1 for SGD, more
    with momentum or Adam's larger steps); near the best LR curvature and noise eat most of
    it (orders of magnitude less).
    """
    if not run.has("grad_norm", "lr"):
        return None
    loss, grad, lr = run["loss"], run["grad_norm"], run["lr"]
    half = loss.step[: max(2, len(loss) // 2)]
    if len(half) < 8:
        return None
    v = loss.value[: len(half)]
    k = max(2, len(v) // 4)
    span = float(mean(half[-k:]) - mean(half[:k]))
    g = finite_values(_between(grad, half[0], half[-1]))
    rates = _between(lr, half[0], half[-1])
    rates = where_true(rates, np.isfinite(rates) & (rates > 0))
    if span <= 0 or len(g) < 2 or not len(rates):
        return None
    predicted = float(median(rates)) * float(median(g)) ** 2
    fall = (float(median(v[:k])) - float(median(v[-k:]))) / span
    return fall / predicted if predicted > 0 else None


def _between(s: Series, lo: float, hi: float) -> np.ndarray:
    """The values logged at steps lo..hi (inclusive): a slice, as steps increase."""
    a, b = s.step.searchsorted(lo, "left"), s.step.searchsorted(hi, "right")
    return s.value[a:b]


def peak_phase_update_ratio(run: Run, share: float = 0.5, skip: float = 0.1) -> float | None:
    """Median update/weight ratio while the LR is at least `share` of its peak.

    The first `skip` of those steps is left out (the first updates of a fresh network are
    unrepresentative), and so is the decayed tail of a schedule, which shrinks every update on
    purpose.
    """
    if not run.has("update_ratio"):
        return None
    ratio = run["update_ratio"]
    # Every value finite and positive (the usual column): no mask to build.
    clean = all_finite(ratio.value) and len(ratio) and ratio.value.min() > 0
    keep = None if clean else np.isfinite(ratio.value) & (ratio.value > 0)
    if run.has("lr"):
        lr = run["lr"]
        # Logged on the same rows (one shared step array): the LR at each row is its value.
        same_rows = lr.step is ratio.step and lr.value.dtype == np.float64
        lr = lr.value if same_rows else lr.at(ratio.step)
        # Without a NaN, nanmax is max.
        peak = lr.max() if all_finite(lr) else np.nanmax(lr) if np.isfinite(lr).any() else np.nan
        if np.isfinite(peak) and peak > 0:
            high = lr >= share * peak
            keep = high if keep is None else keep & high
    if keep is None:
        keep = np.ones(len(ratio), bool)
    v = where_true(ratio.value, keep)
    v = v[int(len(v) * skip) :]
    return float(median(v)) if len(v) >= 4 else None


def first_row_is_a_mean(run: Run) -> bool:
    """Whether the first logged loss averages the run's first steps (its reader says so)."""
    rows = run.meta.get("loss_rows")
    return rows == "epoch_mean" or (rows == "window_mean" and run["loss"].step[0] > 1)


def opens_late(run: Run) -> bool:
    """Whether the log's first loss is a single value logged after unlogged updates (no
    pre-update row, and not a mean over the first steps): what the run learned before it is
    not in the log."""
    return bool(run["loss"].step[0] > 1) and not first_row_is_a_mean(run)


def typical_band(family: str | None) -> tuple[float, float]:
    """Where the family's best LR usually lies (rules/_optimizers.toml `best`)."""
    return knowledge.family(family).best


@dataclass(frozen=True)
class Sign:
    """One piece of evidence for a side: what was measured, against which limit."""

    name: str
    observed: float
    limit: float


def high_signs(
    s: Signs,
    lr: float | None,
    family: str | None,
    *,
    peak: float,
    catapult: float,
    opening: float | None = None,
) -> list[Sign]:
    """Signs of an LR past the edge of stability in a run that did not learn; with `opening`
    also a log that began on a jump (its first loss that many times the next rows: the
    plateau after a blow-up before the first row)."""
    out = []
    if s.early_peak >= peak:
        out.append(Sign("early_peak", s.early_peak, peak))
    if opening is not None and s.opening >= opening:
        out.append(Sign("opened_on_jump", s.opening, opening))
    if s.grad_catapult is not None and s.grad_catapult >= catapult:
        out.append(Sign("grad_catapult", s.grad_catapult, catapult))
    high = typical_band(family)[1]
    if lr is not None and lr > high:
        out.append(Sign("lr_above_band", lr, high))
    return out


def low_signs(
    s: Signs,
    lr: float | None,
    family: str | None,
    *,
    ratio: float,
    calm: float | None = None,
    steady: float | None = None,
    steady_val: float | None = None,
) -> list[Sign]:
    """Signs of an LR far below its best: tiny updates, steps in the linear regime, or an LR
    below the family's band; for a run that barely moved also (when the caller gives their
    limits) a calm start, or an unbroken descent of the loss or of the validation loss."""
    out = []
    # A run past its edge is thrown in its first steps: its first gradient norm dwarfs the later
    # ones. A flat run whose first gradient was no larger than its later level was never thrown.
    if calm is not None and s.grad_catapult is not None and s.grad_catapult < calm:
        out.append(Sign("calm_start", s.grad_catapult, calm))
    if steady is not None and s.trend <= steady:
        out.append(Sign("steady_descent", s.trend, steady))
    elif steady_val is not None and s.val_trend is not None and s.val_trend <= steady_val:
        out.append(Sign("steady_val_descent", s.val_trend, steady_val))
    if s.update_ratio is not None and s.update_ratio < ratio:
        out.append(Sign("small_updates", s.update_ratio, ratio))
    # The efficiency at which steps are in the linear regime (rules/_optimizers.toml), the
    # unknown optimizer's where the family has no measured one.
    efficient = knowledge.family(family).efficient or knowledge.family(None).efficient
    if s.efficiency is not None and s.efficiency >= efficient:
        out.append(Sign("linear_regime", s.efficiency, efficient))
    low = typical_band(family)[0]
    if lr is not None and lr < low:
        out.append(Sign("lr_below_band", lr, low))
    return out
