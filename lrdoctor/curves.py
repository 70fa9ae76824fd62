"""Curves for pictures: each plotted signal of a run reduced to at most a few thousand bins.

A bin keeps its lowest, highest and mean finite value, so a one-step spike survives any
reduction (it is the bin's high) while the mean stays what a smooth is drawn from. Pure numpy,
linear in the run's length; computed only when a picture is wanted (`Options.curves`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The signals a run's figure draws, in panel order (loss and val_loss share the first panel).
PLOTTED = ("loss", "val_loss", "lr", "grad_norm", "update_ratio")
# More points than this and a curve is binned: about one per pixel of a 1,000-pixel-wide figure.
MAX_BINS = 800
# Non-finite steps kept per signal (a NaN run has them all; the first ones tell the story).
MAX_NONFINITE = 200


@dataclass(frozen=True)
class Curve:
    """One signal, binned: per bin its mean step, lowest, highest and mean finite value (NaN
    when the bin holds none), and the steps where the value was not finite."""

    step: np.ndarray
    low: np.ndarray
    high: np.ndarray
    mean: np.ndarray
    nonfinite: np.ndarray
    binned: bool  # False: one point per logged step (low == high == mean)

    def __len__(self) -> int:
        return len(self.step)


def bin_series(step: np.ndarray, value: np.ndarray, max_bins: int = MAX_BINS) -> Curve:
    """Reduce one series to at most `max_bins` consecutive bins of (nearly) equal size."""
    step = np.asarray(step, dtype=float)
    value = np.asarray(value, dtype=float)
    ok = np.isfinite(value)
    nonfinite = step[~ok][:MAX_NONFINITE]
    n = len(step)
    if n <= max_bins:
        v = np.where(ok, value, np.nan)
        return Curve(step, v, v, v, nonfinite, binned=False)
    starts = np.linspace(0, n, max_bins + 1).astype(np.int64)[:-1]
    counts = np.diff(np.append(starts, n))
    # fmin/fmax ignore NaN; a bin with no finite value stays NaN.
    low = np.fmin.reduceat(np.where(ok, value, np.nan), starts)
    high = np.fmax.reduceat(np.where(ok, value, np.nan), starts)
    n_ok = np.add.reduceat(ok.astype(np.int64), starts)
    with np.errstate(invalid="ignore", over="ignore"):
        total = np.add.reduceat(np.where(ok, value, 0.0), starts)
        mean = np.where(n_ok > 0, total / np.maximum(n_ok, 1), np.nan)
        # Halved before summing: steps near 1e308 must not overflow the bin's mean step.
        mid = np.add.reduceat(step / 2, starts) / counts * 2
    return Curve(mid, low, high, mean, nonfinite, binned=True)


def run_curves(run, max_bins: int = MAX_BINS) -> dict[str, Curve]:
    """The plotted signals a run has, each binned."""
    return {
        name: bin_series(run[name].step, run[name].value, max_bins)
        for name in PLOTTED
        if run.has(name)
    }
