"""Robust, vectorised statistics the detectors share: binned medians, noise scales, LR rounding.

Everything here is invariant to shifting and scaling the loss unless it says otherwise, so the
rules work for cross-entropy, MSE and negative log-likelihoods alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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

    def __len__(self) -> int:
        return len(self.level)

    @property
    def noise(self) -> float:
        """Typical within-bin noise (robust sigma); never zero, so ratios stay finite."""
        finite = self.spread[np.isfinite(self.spread)]
        scale = float(np.median(finite)) if len(finite) else 0.0
        span = float(np.ptp(self.level)) if len(self.level) else 0.0
        return max(scale, 1e-12 * max(1.0, span), 1e-300)


def bin_size(n: int, bins: int) -> int:
    return max(1, -(-n // bins))


def binned(series: Series, bins: int = 100, min_per_bin: int = 1) -> Curve:
    """Median and spread of consecutive equal-count bins of the finite values (O(n))."""
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
        q25, q50, q75 = np.percentile(va, [25, 50, 75], axis=1)
        steps.append(np.median(st, axis=1))
        starts.append(st[:, 0])
        ends.append(st[:, -1])
        levels.append(q50)
        spreads.append((q75 - q25) * IQR_TO_SIGMA)
    if not steps:
        empty = np.empty(0)
        return Curve(empty, empty, empty, empty, empty)
    return Curve(*(np.concatenate(x) for x in (steps, starts, ends, levels, spreads)))


def head_level(values: np.ndarray, fraction: float = 0.02, least: int = 5) -> float:
    """Median of the first few values: where the loss started."""
    k = max(least, int(len(values) * fraction))
    return float(np.median(values[:k]))


def tail_level(values: np.ndarray, fraction: float = 0.1, least: int = 5) -> float:
    """Median of the last part: where the loss ended, robust to the batch noise."""
    k = max(least, int(len(values) * fraction))
    return float(np.median(values[-k:]))


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
    return 1.2533 * curve.noise / math.sqrt(size)


def theil_sen(x: np.ndarray, y: np.ndarray) -> float:
    """Median of pairwise slopes: a trend that a few outlying points cannot drag."""
    if len(x) < 2:
        return 0.0
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    ok = dx != 0
    return float(np.median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else 0.0


def local_reference(values: np.ndarray, size: int, span: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A robust running level and spread at every point, in O(n).

    The series is cut into bins of `size`; each bin's median and spread are replaced by the
    median over `span` neighbouring bins, so an excursion shorter than a couple of bins does
    not move the reference that it is measured against.
    """
    n = len(values)
    nb = max(1, n // size)
    body = values[: nb * size].reshape(nb, size)
    q25, q50, q75 = np.percentile(body, [25, 50, 75], axis=1)
    spread = (q75 - q25) * IQR_TO_SIGMA
    half = span // 2
    pad_level = np.pad(q50, half, mode="edge")
    pad_spread = np.pad(spread, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view
    level = np.median(windows(pad_level, span), axis=1)
    scale = np.median(windows(pad_spread, span), axis=1)
    idx = np.minimum(np.arange(n) // size, nb - 1)
    return level[idx], scale[idx]
