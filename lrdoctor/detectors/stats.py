"""Robust, vectorised statistics the detectors share: binned medians, noise scales, LR rounding.

Everything here is invariant to shifting and scaling the loss unless it says otherwise, so the
rules work for cross-entropy, MSE and negative log-likelihoods alike.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from lrdoctor.numeric import finite_values, median, quartiles, windows
from lrdoctor.present import fmt_lr, fmt_num  # noqa: F401  (re-export until callers move)
from lrdoctor.run import Series

# Robust scale of a normal sample from its inter-quartile range.
IQR_TO_SIGMA = 1.0 / 1.349


@dataclass(frozen=True)
class Curve:
    """A noisy series summarised in equal-count bins: the median and spread of each."""

    step: np.ndarray  # median step of each bin
    start: np.ndarray  # first step of each bin
    end: np.ndarray  # last step of each bin
    level: np.ndarray  # median value of each bin
    spread: np.ndarray  # robust sigma within each bin
    per_bin: int = 0  # values each level was taken from (0: all of the bin's)

    def __len__(self) -> int:
        return len(self.level)

    @property
    def noise(self) -> float:
        """Typical within-bin noise (robust sigma); never zero, so ratios stay finite."""
        finite = finite_values(self.spread)
        scale = float(median(finite)) if len(finite) else 0.0
        # np.ptp's own arithmetic (max - min), without its dispatch.
        span = float(self.level.max() - self.level.min()) if len(self.level) else 0.0
        return max(scale, 1e-12 * max(1.0, span), 1e-300)


# Past this many values a bin's quantiles come from an evenly strided sample of it: the median
# of 8,192 values sits within ~0.014 sigma of the whole bin's, far inside every rule's margin,
# and a 10M-row log costs a few ms instead of a partition of every value. The standard error
# is then that of the sample (`Curve.per_bin`), so no rule sees more precision than was used.
SAMPLE = 8192


def _strided(block: np.ndarray, cap: int = SAMPLE) -> np.ndarray:
    """Every k-th column of a (bins, size) block so that at most `cap` remain (a view)."""
    stride = -(-block.shape[1] // cap)
    return block if stride == 1 else block[:, ::stride]


def bin_size(n: int, bins: int) -> int:
    return max(1, -(-n // bins))


def binned(series: Series, bins: int = 100, min_per_bin: int = 1) -> Curve:
    """Median and spread of consecutive equal-count bins of the finite values.

    O(n) for the finite check, O(bins × SAMPLE) for the quantiles whatever the length.
    """
    s = series.finite()
    n = len(s)
    size = max(min_per_bin, bin_size(n, bins))
    full = (n // size) * size
    parts = [(s.step[:full].reshape(-1, size), s.value[:full].reshape(-1, size))]
    if full < n:  # the remainder becomes a last, smaller bin
        parts.append((s.step[full:].reshape(1, -1), s.value[full:].reshape(1, -1)))
    steps, starts, ends, levels, spreads = [], [], [], [], []
    for st, va in parts:
        if st.size == 0:
            continue
        q25, q50, q75 = quartiles(_strided(va))
        # Steps increase, so a bin's median step is its middle one (no partition needed).
        mid = st.shape[1] // 2
        steps.append(st[:, mid] if st.shape[1] % 2 else _middle_pair_mean(st, mid))
        starts.append(st[:, 0])
        ends.append(st[:, -1])
        levels.append(q50)
        spreads.append((q75 - q25) * IQR_TO_SIGMA)
    if not steps:
        empty = np.empty(0)
        return Curve(empty, empty, empty, empty, empty)
    stride = -(-size // SAMPLE)
    per_bin = -(-size // stride) if stride > 1 else 0
    # One part (the length a multiple of the bin size): its arrays as they are, copied.
    fields = (steps, starts, ends, levels, spreads)
    return Curve(*(x[0].copy() if len(x) == 1 else np.concatenate(x) for x in fields), per_bin)


def _middle_pair_mean(st: np.ndarray, mid: int) -> np.ndarray:
    """`np.mean(st[:, mid - 1 : mid + 1], axis=1)`, bit for bit, without its dispatch: for
    float64, numpy's sum starts from 0.0 (which turns two -0.0 into 0.0), then divides by 2."""
    if st.dtype != np.float64:
        return np.mean(st[:, mid - 1 : mid + 1], axis=1)
    return (0.0 + st[:, mid - 1] + st[:, mid]) / 2


def head_level(values: np.ndarray, fraction: float = 0.02, least: int = 5) -> float:
    """Median of the first few values: where the loss started."""
    k = max(least, int(len(values) * fraction))
    return float(median(values[:k]))


def tail_level(values: np.ndarray, fraction: float = 0.1, least: int = 5) -> float:
    """Median of the last part: where the loss ended, robust to the batch noise."""
    k = max(least, int(len(values) * fraction))
    return float(median(values[-k:]))


def human_lr(x: float | None) -> float | None:
    """Round an LR to a number people type: 1, 2, 3 or 5 times a power of ten."""
    if x is None or not np.isfinite(x) or x <= 0:
        return None
    exp = math.floor(math.log10(x))
    mant = x / 10**exp
    choice = min((1, 2, 3, 5, 10), key=lambda m: abs(math.log10(mant / m)))
    return float(f"{choice * 10**exp:.0e}") if choice != 10 else float(f"{10 ** (exp + 1):.0e}")


def median_se(curve: Curve, n: int) -> float:
    """Standard error of one bin's median (≈1.25 σ/√size for a normal sample)."""
    size = max(1, n // max(1, len(curve)))
    if curve.per_bin:
        size = min(size, curve.per_bin)
    return 1.2533 * curve.noise / math.sqrt(size)


@functools.lru_cache(maxsize=64)
def pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """`np.triu_indices(n, k=1)`, built once per size (the detectors ask for a few small ones
    on every run; building them costs more than the slopes)."""
    i, j = np.triu_indices(n, k=1)
    i.flags.writeable = j.flags.writeable = False
    return i, j


def edge_pad(x: np.ndarray, width: int) -> np.ndarray:
    """`np.pad(x, width, mode="edge")` of a non-empty 1-D array, without np.pad's dispatch."""
    return np.concatenate((x[:1].repeat(width), x, x[-1:].repeat(width)))


def theil_sen(x: np.ndarray, y: np.ndarray) -> float:
    """Median of pairwise slopes: a trend that a few outlying points cannot drag."""
    if len(x) < 2:
        return 0.0
    i, j = pairs(len(x))
    dx = x[j] - x[i]
    ok = dx != 0
    return float(median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else 0.0


def local_reference(values: np.ndarray, size: int, span: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A robust running level and spread at every point, in O(n).

    The series is cut into bins of `size`; each bin's median and spread are replaced by the
    median over `span` neighbouring bins, so an excursion shorter than a couple of bins does
    not move the reference that it is measured against.
    """
    level, scale = local_reference_bins(values, size, span)
    idx = np.minimum(np.arange(len(values)) // size, len(level) - 1)
    return level[idx], scale[idx]


def local_reference_bins(
    values: np.ndarray, size: int, span: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """`local_reference` per bin: point i has bin min(i // size, len - 1). O(n / size × SAMPLE).

    Callers that compare every point against it do so bin by bin (`above_reference`), without
    expanding the reference to the series' length.
    """
    nb = max(1, len(values) // size)
    body = values[: nb * size].reshape(nb, size)
    q25, q50, q75 = quartiles(_strided(body))
    spread = (q75 - q25) * IQR_TO_SIGMA
    half = span // 2
    pad_level = edge_pad(q50, half)
    pad_spread = edge_pad(spread, half)
    level = median(windows(pad_level, span), axis=1)
    scale = median(windows(pad_spread, span), axis=1)
    return level, scale


def above_reference(
    values: np.ndarray, size: int, level: np.ndarray, limit: np.ndarray
) -> np.ndarray:
    """values[i] - level[b] > limit[b] for each point's bin b (as in `local_reference_bins`).

    O(n), bin by bin: every bin but the last holds `size` points and is compared as rows of a
    reshaped block (in chunks of about a million values), the last (which takes the remainder)
    against its own scalars. The same numbers as subtracting the expanded reference, without
    three series-long arrays or a series-long gather (1M points: 17 -> 3 ms).
    """
    n, nb = len(values), len(level)
    out = np.empty(n, bool)
    rows = max(1, (1 << 20) // size)
    for lo in range(0, nb - 1, rows):
        hi = min(nb - 1, lo + rows)
        a, b = lo * size, hi * size
        block = values[a:b].reshape(hi - lo, size) - level[lo:hi, None]
        np.greater(block, limit[lo:hi, None], out=out[a:b].reshape(hi - lo, size))
    a = (nb - 1) * size
    np.greater(values[a:] - level[nb - 1], limit[nb - 1], out=out[a:])
    return out
