"""Terminal charts in plain text: a sparkline of a series with marked steps, and an x-y plot.

Pure functions over sequences of numbers returning strings (no colour, no rich), so every
output format and command can use them and tests can compare them exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
MARK = "▼"
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


def _resample(steps: Sequence[float], values: Sequence[float | None], width: int):
    """Group points into `width` equal step bins; each bin shows its median, or NaN when any of
    its values cannot be drawn (a NaN must stay visible however wide the bin)."""
    pts = [(s, v) for s, v in zip(steps, values, strict=False)
           if s is not None and math.isfinite(s)]
    if not pts:
        return [], 0.0, 0.0
    lo, hi = min(p[0] for p in pts), max(p[0] for p in pts)
    width = max(1, min(width, len(pts)))
    bins: list[list[float]] = [[] for _ in range(width)]
    missing = [False] * width
    # Halved so that steps near ±1e308 cannot overflow the span to inf.
    half_span = (hi / 2 - lo / 2) or 0.5
    for s, v in pts:
        i = min(width - 1, int((s / 2 - lo / 2) / half_span * width))
        if v is None:
            missing[i] = True
        else:
            bins[i].append(v)
    cells: list[float | None] = []
    for b, miss in zip(bins, missing, strict=True):
        cells.append(math.nan if miss else sorted(b)[len(b) // 2] if b else None)
    return cells, lo, hi


def sparkline(
    steps: Sequence[float],
    values: Sequence[float],
    *,
    width: int = 60,
    log: bool = False,
    marks: Sequence[float] = (),
) -> tuple[str, str]:
    """A one-line block chart of `values` over `steps` and a second line marking `marks` steps.

    Non-finite values (and non-positive ones on a log scale) are drawn as `×`; empty bins as a
    space. Returns (chart, marker line); the marker line is blank when there are no marks.
    """
    cells, lo, hi = _resample(steps, _scaled(values, log), width)
    if not cells:
        return "", ""
    finite = [c for c in cells if c is not None and not math.isnan(c)]
    vmin, vmax = (min(finite), max(finite)) if finite else (0.0, 0.0)
    half = (vmax / 2 - vmin / 2) or 0.5  # halved: no overflow near ±1e308
    chars = []
    for c in cells:
        if c is None:
            chars.append(" ")
        elif math.isnan(c):
            chars.append("×")
        else:
            level = (c / 2 - vmin / 2) / half
            chars.append(BLOCKS[min(len(BLOCKS) - 1, int(level * len(BLOCKS)))])
    marker = [" "] * len(cells)
    for m in marks:
        if m is not None and math.isfinite(m) and lo <= m <= hi:
            i = min(len(cells) - 1, int((m - lo) / ((hi - lo) or 1.0) * len(cells)))
            marker[i] = MARK
    return "".join(chars), "".join(marker).rstrip()


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
    pts = [(a, b) for a, b in zip(xs, ys, strict=False) if a is not None and b is not None]
    if not pts:
        return "(no finite points to plot)"
    pts.sort()
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    # Halved spans: no overflow when the points reach ±1e308.
    xspan, yspan = (x1 / 2 - x0 / 2) or 0.5, (y1 / 2 - y0 / 2) or 0.5
    dots_w, dots_h = width * 2, height * 4
    grid = [[0] * width for _ in range(height)]

    def dot(px: int, py: int) -> None:
        if 0 <= px < dots_w and 0 <= py < dots_h:
            row = height - 1 - py // 4
            grid[row][px // 2] |= _BRAILLE[px % 2][3 - py % 4]

    def to_dots(a: float, b: float) -> tuple[int, int]:
        fx, fy = (a / 2 - x0 / 2) / xspan, (b / 2 - y0 / 2) / yspan
        return round(fx * (dots_w - 1)), round(fy * (dots_h - 1))

    prev = None
    for a, b in pts:
        cur = to_dots(a, b)
        if prev is None:
            dot(*cur)
        else:  # join consecutive points so the curve reads as a line
            n = max(abs(cur[0] - prev[0]), abs(cur[1] - prev[1]), 1)
            for k in range(n + 1):
                dot(round(prev[0] + (cur[0] - prev[0]) * k / n),
                    round(prev[1] + (cur[1] - prev[1]) * k / n))
        prev = cur

    rows = [[chr(0x2800 + c) if c else " " for c in r] for r in grid]
    legend = []
    for n, (label, mx) in enumerate((marks or {}).items()):
        glyph = MARK_LINES[n % len(MARK_LINES)]
        (sx,) = _scaled([mx], logx)
        if sx is None or not x0 <= sx <= x1:
            legend.append(f"{label} = {_fmt(mx)} (outside the plotted range)")
            continue
        col = to_dots(sx, y0)[0] // 2
        for r in rows:
            if r[col] == " ":
                r[col] = glyph
        legend.append(f"{glyph} {label} = {_fmt(mx)}")

    def unscale(v: float, log: bool) -> float:
        return 10**v if log else v

    top, bottom = _fmt(unscale(y1, logy)), _fmt(unscale(y0, logy))
    pad = max(len(top), len(bottom))
    lines = []
    for i, r in enumerate(rows):
        label = top if i == 0 else bottom if i == height - 1 else ""
        lines.append(f"{label:>{pad}} ┤{''.join(r)}")
    left, right = _fmt(unscale(x0, logx)), _fmt(unscale(x1, logx))
    lines.append(" " * pad + " └" + "─" * width)
    gap = max(1, width - len(left) - len(right))
    scale = ", ".join(n for n, on in (("log x", logx), ("log y", logy)) if on)
    lines.append(" " * (pad + 2) + left + " " * gap + right + (f"  ({scale})" if scale else ""))
    lines.extend(" " * (pad + 2) + item for item in legend)
    return "\n".join(lines)
