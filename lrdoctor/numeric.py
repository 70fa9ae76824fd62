"""numpy's median and quartiles, bit for bit, at a fraction of their per-call cost.

The detectors take dozens of medians and quartiles of short slices per run; numpy's generic
machinery (axis handling, dispatch, a NaN check that imports numpy.ma, ~14 ms at start-up)
costs more than the partition itself on 2,000-row logs. Each function here does the same
partition and the same arithmetic as numpy (tests/test_fast_stats.py holds them to numpy on
hypothesis data with signed zeros, NaNs and infinities) and hands any other input to numpy.
"""

from __future__ import annotations

import functools
import math

import numpy as np


def median(x: np.ndarray, axis: int | None = None):
    """`np.median(x)` of a 1-D float64 array, or `np.median(x, axis=1)` of a 2-D one, bit for bit.

    np.median costs ~20-40 µs of dispatch per call (and its NaN check imports numpy.ma, ~14 ms
    at start-up); the detectors take dozens of medians of short slices per run. Same order
    statistics, same mean of the middle pair (np.mean's sum starts from 0.0, which turns a -0.0
    into 0.0), same NaN rule (a NaN anywhere gives that NaN); any other input goes to np.median.
    """
    rows = isinstance(x, np.ndarray) and x.dtype == np.float64 and x.size > 0
    if not rows or (x.ndim, axis) not in ((1, None), (2, 1), (2, -1)):
        return np.median(x, axis=axis)
    n = x.shape[-1]
    if x.ndim == 2 and n == 3:
        out = _median3(x)
    elif n >= SELECT_FROM:
        out = _selected(x)
    elif n <= SORT_UP_TO:
        out = _sorted(x)
    else:
        out = None
    return _partitioned(x) if out is None else out


# From this length a single selection of the upper middle and a max over the lower half (two
# O(n) passes) beat numpy's partition at three positions (1M values: 2.7 ms vs 4-14 ms); below
# it the extra reductions cost more than they save (100 values: 9 µs vs 4 µs).
SELECT_FROM = 1024


def _selected(x: np.ndarray):
    """The median from one partition at n // 2, or None when a NaN is present (numpy returns
    that very NaN, sign and all, which `_partitioned` finds)."""
    n = x.shape[-1]
    k = n // 2
    part = x.copy(order="K")
    part.partition(k, axis=-1)
    top = part[..., k:].max(axis=-1)  # NaN sorts last, and max propagates it
    if np.isnan(top).any():
        return None
    middle = part[..., k]
    # Order statistics are unique values; only a zero's sign could differ, and 0.0 + drops it.
    if n % 2 == 0:
        return (0.0 + part[..., :k].max(axis=-1) + middle) / 2
    return 0.0 + middle


# Up to this row length a sort beats numpy's partition at two or three positions (each call
# converts its positions and selects once per position): 20 values 0.7 vs 3.7 µs, 20 rows of
# 100 15 vs 19 µs; at 1,000 values the partition is ahead.
SORT_UP_TO = 512


def _sorted(x: np.ndarray):
    """The median from sorted rows, or None when a NaN is present (numpy returns the NaN its
    partition put last, which `_partitioned` finds). Sorted or partitioned, the middle holds
    the same order statistics; only a zero's sign could differ, and 0.0 + drops it."""
    part = x.copy(order="K")
    part.sort(axis=-1)
    n = x.shape[-1]
    k = n // 2
    if x.ndim == 1:
        if part[-1] != part[-1]:  # NaN sorts last
            return None
        return (0.0 + part[k - 1] + part[k]) / 2 if n % 2 == 0 else 0.0 + part[k]
    last = part[:, -1]
    if (last != last).any():
        return None
    return (0.0 + part[:, k - 1] + part[:, k]) / 2 if n % 2 == 0 else 0.0 + part[:, k]


def _median3(x: np.ndarray):
    """Row medians of an (n, 3) block (a rolling 3-point median) from elementwise min and max,
    or None when a NaN is present (see `_selected`)."""
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    middle = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    if np.isnan(middle).any():
        return None
    return 0.0 + middle


def _partitioned(x: np.ndarray):
    """numpy's own way: a partition at the middle pair and the last position (for a NaN)."""
    n = x.shape[-1]
    k = n // 2
    part = x.copy(order="K")  # what np.partition does, without its dispatch
    part.partition([k - 1, k, -1] if n % 2 == 0 else [k, -1], axis=-1)
    if x.ndim == 1:
        if part[-1] != part[-1]:  # NaN sorts last
            return part[-1]
        return (0.0 + part[k - 1] + part[k]) / 2 if n % 2 == 0 else 0.0 + part[k]
    out = (0.0 + part[:, k - 1] + part[:, k]) / 2 if n % 2 == 0 else 0.0 + part[:, k]
    last = part[:, -1]
    nans = last != last
    if nans.any():
        out[nans] = last[nans]
    return out


_QUARTILES = np.array([25, 50, 75]) / 100


def quartiles(block: np.ndarray) -> np.ndarray:
    """`np.percentile(block, [25, 50, 75], axis=1)` of a 2-D float64 block, bit for bit.

    numpy's linear method: the same order statistics and the same interpolation arithmetic,
    without the np.unique (which imports numpy.ma, ~14 ms at start-up) and the dispatch.
    """
    m = block.shape[1] if block.ndim == 2 and block.dtype == np.float64 else 0
    if m == 0 or block.shape[0] == 0:
        return np.percentile(block, [25, 50, 75], axis=1)
    prev, nxt, gamma, rest, upper, kth = _quartile_positions(m)
    nested = _nested_quartiles(block, prev) if block.size >= NESTED_FROM and m >= 16 else None
    if nested is None and m <= QUARTILE_SORT_UP_TO:
        nested = _sorted_quartiles(block, prev, nxt)
    if nested is None:
        part = block.copy(order="K")
        part.partition(kth, axis=1)
        a, b = part[:, prev].T, part[:, nxt].T
    else:
        a, b = nested
    diff = b - a
    out = np.add(a, diff * gamma)
    np.subtract(b, diff * rest, out=out, where=upper)
    if nested is None:
        last = part[:, -1]
        nans = last != last
        if nans.any():  # that row's NaN itself, as numpy copies it
            out[:, nans] = last[nans]
    return out


# From this many values (rows of 16 or more) the quartiles' order statistics come from three
# single-position partitions (the middle, then each half) and a minimum past each: numpy's
# partition at eight positions at once costs several times as much (100 rows of 5,000: 13.9 ms
# vs 3.7 ms; 100 x 100: 0.30 vs 0.21 ms); below it the extra calls cost more than they save.
NESTED_FROM = 8192


def _nested_quartiles(block: np.ndarray, prev: np.ndarray):
    """The order statistics at `prev` and `prev + 1` of each row, as two (3, rows) arrays, or
    None when the block holds a NaN, or a zero lands on one of them (which of -0.0 and 0.0
    lands where depends on how the row was partitioned: numpy's way decides)."""
    if np.isnan(block).any():
        return None
    p0, p1, p2 = prev.tolist()
    part = block.copy(order="K")
    part.partition(p1, axis=1)
    # Left of p1 all values are <= part[p1], right of it >= part[p1]: each half is selected on
    # its own, and the next order statistic after a position is the minimum past it.
    part[:, :p1].partition(p0, axis=1)
    part[:, p1 + 1 :].partition(p2 - p1 - 1, axis=1)
    a = part[:, [p0, p1, p2]].T
    b = np.stack(
        (
            part[:, p0 + 1 : p1 + 1].min(axis=1),
            part[:, p1 + 1 : p2 + 1].min(axis=1),
            part[:, p2 + 1 :].min(axis=1),
        )
    )
    if not (a.all() and b.all()):  # a zero among them
        return None
    return a, b


# Up to this row length sorting each row beats numpy's partition at the eight positions the
# quartiles need (100 rows of 20: 13 vs 38 µs; 20 of 100: 11 vs 38 µs; 1 of 2,000: even).
QUARTILE_SORT_UP_TO = 1024


def _sorted_quartiles(block: np.ndarray, prev: np.ndarray, nxt: np.ndarray):
    """The order statistics at `prev` and `nxt` of each row from sorted rows, as two (3, rows)
    arrays, or None when the block holds a NaN or a zero: which of -0.0 and 0.0 a position
    holds depends on how the row was ordered (numpy's partition decides), and the NaN numpy
    copies is the one its partition put last."""
    part = block.copy(order="K")
    part.sort(axis=1)
    last = part[:, -1]
    if (last != last).any() or not part.all():  # NaN sorts last; all() is False at a zero
        return None
    return part[:, prev].T, part[:, nxt].T


@functools.lru_cache(maxsize=64)
def _quartile_positions(m: int) -> tuple:
    """What `quartiles` needs of a row length `m`, computed once per length (a run's bins
    share one): numpy's order-statistic positions, interpolation weights and partition points."""
    virtual = (m - 1) * _QUARTILES
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= m - 1
    prev[above] = -1
    nxt[above] = -1
    prev, nxt = prev.astype(np.intp), nxt.astype(np.intp)
    gamma = (virtual - prev)[:, None]
    kth = sorted({i % m for i in (0, -1, *prev.tolist(), *nxt.tolist())})
    arrays = (prev, nxt, gamma, 1 - gamma, gamma >= 0.5)
    for a in arrays:
        a.flags.writeable = False  # shared by every call with this `m`
    return (*arrays, kth)


def mean(x: np.ndarray):
    """`np.mean(x)` of a 1-D float64 array, bit for bit: numpy's own sum over the length,
    without the ~5 µs of dispatch; any other input goes to np.mean."""
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64 and x.ndim == 1 and x.size):
        return np.mean(x)
    return x.sum() / len(x)


def windows(x: np.ndarray, width: int) -> np.ndarray:
    """`np.lib.stride_tricks.sliding_window_view(x, width)` of a 1-D array (a read-only view),
    built directly when `x` is contiguous (the generic builder costs ~20 µs a call)."""
    n = len(x) - width + 1
    if x.ndim != 1 or n < 1 or not x.flags.c_contiguous:
        return np.lib.stride_tricks.sliding_window_view(x, width)
    step = x.strides[0]
    view = np.ndarray((n, width), x.dtype, buffer=x, strides=(step, step))
    view.flags.writeable = False
    return view


def all_finite(x: np.ndarray) -> bool:
    """`np.isfinite(x).all()`: a finite sum proves every value finite (a NaN or an infinity
    makes it NaN or infinite) in one reduction and no temporary; only a sum that is not finite
    (or overflows) pays for the elementwise check."""
    if x.size <= CHECK_UP_TO:
        return bool(np.isfinite(x).all())
    with np.errstate(over="ignore", invalid="ignore"):
        total = x.sum()
    return math.isfinite(total) or bool(np.isfinite(x).all())


# Up to this many values the elementwise check costs less than entering and leaving the
# errstate the sum needs (2,000 values: 4.6 vs 6.6 µs); past it the sum's single read wins.
CHECK_UP_TO = 4096


def finite_values(x: np.ndarray) -> np.ndarray:
    """`x[np.isfinite(x)]` of a 1-D float64 array: `x` itself when every value is finite
    (`all_finite`), so the values are the same either way; callers never write into it."""
    return x if all_finite(x) else x[np.isfinite(x)]


def where_true(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`x[mask]` of a 1-D array, as a view when the True values form one unbroken run (the
    usual case: a phase of a schedule, everything past a skip); callers never write into it.

    Counting the Trues and checking the run they should form reads a byte per value; the
    compress it saves reads and writes eight (1M values: ~0.2 vs ~1.4 ms).
    """
    n = int(np.count_nonzero(mask))
    if n == len(mask):
        return x[:]
    first = int(mask.argmax()) if n else 0
    if mask[first : first + n].all():
        return x[first : first + n]
    return x[mask]
