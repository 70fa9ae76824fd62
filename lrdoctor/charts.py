"""Terminal charts in plain text: a sparkline of a series with marked steps, and an x-y plot.

Pure functions over sequences of numbers returning strings (no colour, no rich), so every
output format and command can use them and tests can compare them exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

BLOCKS = "▁▂▃▄▅▆▇█"
MARK = "▼"
CLIPPED = "▲"
# A cell above this quantile of the cells is clipped when showing it would squeeze the others
# into less than CLIP_SHARE of the chart's height (one blow-up must not flatten the run).
CLIP_QUANTILE = 0.95
CLIP_SHARE = 0.5
# A cell shows its highest value (a spike) when it exceeds the median by more than SPIKE_FACTOR
# times the usual such excess, and by at least half again (log) or MIN_SPIKE of the span.
SPIKE_FACTOR = 4.0
LOG_MIN_SPIKE = math.log10(1.5)
MIN_SPIKE = 0.15
# Vertical line styles for the marks of an x-y plot, one per mark so the legend tells them apart.
MARK_LINES = "│┆┊╎"
# Braille dot bits by (column, row) inside one 2x4 cell.
_BRAILLE = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def _scaled(values: Sequence[float], log: bool) -> list[float | None]:
    """Finite values on the chosen scale; None where a value cannot be drawn."""
    out: list[float | None] = []
    for v in values:
        if v is None or not math.isfinite(v) or (log and v <= 0):
            out.append(None)
        else:
            out.append(math.log10(v) if log else float(v))
    return out


@dataclass(frozen=True)
class Sparkline:
    """A one-line chart and what it needs to be read: the y range it spans (on its scale), the
    cells clipped above that range, the cells that show a spike, and the marker line."""

    chart: str
    marker: str  # MARK under the cells of marked steps; "" without marks
    low: float | None = None  # the values at the bottom and top block (unscaled)
    high: float | None = None
    log: bool = False
    clipped: int = 0  # cells drawn as CLIPPED: above `high`, the largest being `peak`
    peak: float | None = None
    spikes: int = 0  # cells that show their bin's highest value (a spike), not its median

    def __iter__(self):  # chart, marker = sparkline(...)
        return iter((self.chart, self.marker))

    def legend(self) -> str:
        """The scale and range, and what each glyph in the chart and marker line means."""
        if self.low is None:
            return ""
        parts = [f"{'log' if self.log else 'linear'} scale {_fmt(self.low)}–{_fmt(self.high)}"]
        if self.marker:
            parts.append(f"{MARK} finding")
        if self.clipped:
            parts.append(f"{CLIPPED} above the range (max {_fmt(self.peak)})")
        if "×" in self.chart:
            parts.append("× NaN/inf")
        return " · ".join(parts)


def _cells(steps, values, highs, width: int):
    """Per cell: the median of its values, the highest of its highs, whether any value could
    not be drawn; and the step range."""
    pts = [
        (s, v, h)
        for s, v, h in zip(steps, values, highs, strict=False)
        if s is not None and math.isfinite(s)
    ]
    if not pts:
        return [], [], [], 0.0, 0.0
    lo, hi = min(p[0] for p in pts), max(p[0] for p in pts)
    width = max(1, min(width, len(pts)))
    bins: list[list[float]] = [[] for _ in range(width)]
    tops: list[float | None] = [None] * width
    missing = [False] * width
    # Halved so that steps near ±1e308 cannot overflow the span to inf.
    half_span = (hi / 2 - lo / 2) or 0.5
    for s, v, h in pts:
        i = min(width - 1, int((s / 2 - lo / 2) / half_span * width))
        if v is None:
            missing[i] = True
            continue
        bins[i].append(v)
        top = v if h is None else max(v, h)
        tops[i] = top if tops[i] is None else max(tops[i], top)
    mids = [sorted(b)[len(b) // 2] if b else None for b in bins]
    return mids, tops, missing, lo, hi


def _quantile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def sparkline(
    steps: Sequence[float],
    values: Sequence[float],
    *,
    width: int = 60,
    log: bool = False,
    marks: Sequence[float] = (),
    highs: Sequence[float] | None = None,
) -> Sparkline:
    """A one-line block chart of `values` over `steps`, with a marker line for `marks` steps.

    Each cell shows the median of its values, or, when the cell's highest value (`highs`: the
    largest logged value each point stands for, e.g. of a downsampled bin) stands far above the
    cells' usual spread, that value: a few-step spike stays visible in a long run. The range
    is the cells' robust one: a cell far above the rest is drawn as CLIPPED rather than
    flattening every other cell. Non-finite values (and non-positive ones on a log scale) are
    drawn as `×`; empty cells as a space.
    """
    highs = values if highs is None else highs
    mids, tops, missing, lo, hi = _cells(steps, _scaled(values, log), _scaled(highs, log), width)
    if not mids:
        return Sparkline("", "")
    shown, spikes = _with_spikes(mids, tops, log)
    finite = sorted(v for v in shown if v is not None)
    if not finite:
        chars = ["×" if m else " " for m in missing]
        return Sparkline("".join(chars), _marker(marks, lo, hi, len(mids)), log=log)
    vmin, top = finite[0], finite[-1]
    robust = _quantile(finite, CLIP_QUANTILE)
    # Clip when the top cell would squeeze the others into the lowest CLIP_SHARE of the chart.
    clip = (top / 2 - vmin / 2) * CLIP_SHARE > (robust / 2 - vmin / 2) and robust > vmin
    vmax = robust if clip else top
    half = (vmax / 2 - vmin / 2) or 0.5  # halved: no overflow near ±1e308
    chars, clipped = [], 0
    for v, miss in zip(shown, missing, strict=True):
        if miss:
            chars.append("×")
        elif v is None:
            chars.append(" ")
        elif v > vmax:
            chars.append(CLIPPED)
            clipped += 1
        else:
            level = (v / 2 - vmin / 2) / half
            chars.append(BLOCKS[max(0, min(len(BLOCKS) - 1, int(level * len(BLOCKS))))])
    unscale = (lambda x: 10**x) if log else (lambda x: x)  # noqa: E731
    return Sparkline(
        "".join(chars),
        _marker(marks, lo, hi, len(mids)),
        low=unscale(vmin),
        high=unscale(vmax),
        log=log,
        clipped=clipped,
        peak=unscale(top) if clipped else None,
        spikes=spikes,
    )


def _with_spikes(mids, tops, log: bool) -> tuple[list[float | None], int]:
    """Cells whose highest value stands far above their median (beyond SPIKE_FACTOR times the
    usual excess of a cell, and beyond MIN_SPIKE of the chart) show that value instead."""
    excess = sorted(
        t - m for m, t in zip(mids, tops, strict=True) if m is not None and t is not None
    )
    if not excess:
        return list(mids), 0
    usual = excess[len(excess) // 2]
    known = [m for m in mids if m is not None]
    span = (max(known) / 2 - min(known) / 2) * 2
    floor = LOG_MIN_SPIKE if log else MIN_SPIKE * (span or 1.0)
    shown, spikes = [], 0
    for m, t in zip(mids, tops, strict=True):
        if m is not None and t is not None and t - m > max(SPIKE_FACTOR * usual, floor):
            shown.append(t)
            spikes += 1
        else:
            shown.append(m)
    return shown, spikes


def _marker(marks: Sequence[float], lo: float, hi: float, n: int) -> str:
    marker = [" "] * n
    for m in marks:
        if m is not None and math.isfinite(m) and lo <= m <= hi:
            i = min(n - 1, int((m - lo) / ((hi - lo) or 1.0) * n))
            marker[i] = MARK
    return "".join(marker).rstrip()


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    a = abs(x)
    return f"{x:.3g}" if 1e-3 <= a < 1e5 else f"{x:.1e}"


def xy_plot(
    x: Sequence[float],
    y: Sequence[float],
    *,
    width: int = 60,
    height: int = 12,
    logx: bool = False,
    logy: bool = False,
    marks: Mapping[str, float] | None = None,
) -> str:
    """An x-y line plot in braille dots with axis labels and labelled vertical marks.

    `marks` maps a label to an x value (e.g. {"suggested": 3e-3}); each is drawn as a vertical
    line (its own style) and listed under the axis. Points that cannot be drawn (non-finite,
    or non-positive on a log axis) are skipped. Returns the plot as lines joined by newlines.
    """
    width, height = max(4, width), max(2, height)
    xs, ys = _scaled(x, logx), _scaled(y, logy)
    pts = sorted((a, b) for a, b in zip(xs, ys, strict=False) if a is not None and b is not None)
    if not pts:
        return "(no finite points to plot)"
    xs_, ys_ = [p[0] for p in pts], [p[1] for p in pts]
    box = _Box(min(xs_), max(xs_), min(ys_), max(ys_), width, height)
    rows = [[chr(0x2800 + c) if c else " " for c in r] for r in _braille_line(pts, box)]
    legend = _draw_marks(rows, marks or {}, logx, box)
    return "\n".join(_framed(rows, legend, box, logx, logy))


class _Box(NamedTuple):
    """The plotted range (in scaled units) and the plot's size in characters."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: int
    height: int

    def to_dots(self, a: float, b: float) -> tuple[int, int]:
        # Halved spans: no overflow when the points reach ±1e308.
        xspan = (self.x1 / 2 - self.x0 / 2) or 0.5
        yspan = (self.y1 / 2 - self.y0 / 2) or 0.5
        fx, fy = (a / 2 - self.x0 / 2) / xspan, (b / 2 - self.y0 / 2) / yspan
        return round(fx * (self.width * 2 - 1)), round(fy * (self.height * 4 - 1))


def _braille_line(pts: list[tuple[float, float]], box: _Box) -> list[list[int]]:
    """The points joined into a line of braille dots: a grid of dot masks, top row first."""
    width, height = box.width, box.height
    grid = [[0] * width for _ in range(height)]

    def dot(px: int, py: int) -> None:
        if 0 <= px < width * 2 and 0 <= py < height * 4:
            grid[height - 1 - py // 4][px // 2] |= _BRAILLE[px % 2][3 - py % 4]

    prev = None
    for a, b in pts:
        cur = box.to_dots(a, b)
        if prev is None:
            dot(*cur)
        else:  # join consecutive points so the curve reads as a line
            n = max(abs(cur[0] - prev[0]), abs(cur[1] - prev[1]), 1)
            for k in range(n + 1):
                dot(
                    round(prev[0] + (cur[0] - prev[0]) * k / n),
                    round(prev[1] + (cur[1] - prev[1]) * k / n),
                )
        prev = cur
    return grid


def _draw_marks(rows, marks: Mapping[str, float], logx: bool, box: _Box) -> list[str]:
    """Each mark as a vertical line in its own style over the blank cells; the legend lines."""
    legend = []
    for n, (label, mx) in enumerate(marks.items()):
        glyph = MARK_LINES[n % len(MARK_LINES)]
        (sx,) = _scaled([mx], logx)
        if sx is None or not box.x0 <= sx <= box.x1:
            legend.append(f"{label} = {_fmt(mx)} (outside the plotted range)")
            continue
        col = box.to_dots(sx, box.y0)[0] // 2
        for r in rows:
            if r[col] == " ":
                r[col] = glyph
        legend.append(f"{glyph} {label} = {_fmt(mx)}")
    return legend


def _framed(rows, legend: list[str], box: _Box, logx: bool, logy: bool) -> list[str]:
    """The rows with the y axis and its end labels, the x axis, its end labels and the legend."""

    def unscale(v: float, log: bool) -> float:
        return 10**v if log else v

    top, bottom = _fmt(unscale(box.y1, logy)), _fmt(unscale(box.y0, logy))
    pad = max(len(top), len(bottom))
    lines = []
    for i, r in enumerate(rows):
        label = top if i == 0 else bottom if i == box.height - 1 else ""
        lines.append(f"{label:>{pad}} ┤{''.join(r)}")
    left, right = _fmt(unscale(box.x0, logx)), _fmt(unscale(box.x1, logx))
    lines.append(" " * pad + " └" + "─" * box.width)
    gap = max(1, box.width - len(left) - len(right))
    scale = ", ".join(n for n, on in (("log x", logx), ("log y", logy)) if on)
    lines.append(" " * (pad + 2) + left + " " * gap + right + (f"  ({scale})" if scale else ""))
    lines.extend(" " * (pad + 2) + item for item in legend)
    return lines
