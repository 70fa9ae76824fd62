"""Terminal charts: sparkline shape, marks, non-finite cells, and the x-y plot's axes and marks."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from lrdoctor.charts import BLOCKS, MARK, sparkline, xy_plot


def test_sparkline_falls_for_a_falling_loss_and_marks_steps():
    steps = list(range(100))
    chart, marker = sparkline(steps, [math.exp(-s / 20) for s in steps], width=20, marks=[50])
    assert len(chart) == 20
    assert chart[0] == BLOCKS[-1] and chart[-1] == BLOCKS[0]
    assert marker.index(MARK) == 10 and marker.count(MARK) == 1


def test_sparkline_draws_non_finite_as_cross_and_log_skips_non_positive():
    chart, marker = sparkline(range(5), [1, 2, math.nan, 4, 5], width=5)
    assert chart[2] == "×" and marker == ""
    chart, _ = sparkline(range(3), [1.0, 0.0, 100.0], width=3, log=True)
    assert chart == BLOCKS[0] + "×" + BLOCKS[-1]


def test_sparkline_of_nothing_is_empty():
    assert sparkline([], []) == ("", "")


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1,
                max_size=300), st.integers(1, 80))
def test_sparkline_never_wider_than_asked(values, width):
    chart, marker = sparkline(range(len(values)), values, width=width, marks=[0])
    assert len(chart) <= width and len(marker) <= width
    assert set(chart) <= set(BLOCKS) | {"×", " "}


def test_xy_plot_has_axes_labels_and_marks():
    x = [1e-4 * 10 ** (i / 10) for i in range(40)]
    y = [(i - 25) ** 2 / 100 + 1 for i in range(40)]
    out = xy_plot(x, y, width=40, height=8, logx=True, marks={"suggested": 1e-2, "far": 1e5})
    lines = out.splitlines()
    assert lines[0].startswith("7.25 ┤") and lines[7].lstrip().startswith("1 ┤")
    assert "└" + "─" * 40 in lines[8]
    assert "1.0e-04" in lines[9] and "(log x)" in lines[9]
    assert "│ suggested = 0.01" in out and "far = 1.0e+05 (outside the plotted range)" in out
    cols = {ln.index("│") for ln in lines[:8] if "│" in ln}
    assert len(cols) == 1 and sum("│" in ln for ln in lines[:8]) >= 6


def test_xy_plot_without_finite_points_says_so():
    assert "no finite points" in xy_plot([1, 2], [math.nan, math.inf])
