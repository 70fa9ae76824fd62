"""Terminal charts: sparkline shape, marks, non-finite cells, and the x-y plot's axes and marks."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrdoctor.charts import BLOCKS, CLIPPED, MARK, sparkline, xy_plot


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
    line = sparkline([], [])
    assert tuple(line) == ("", "") and line.legend() == ""


@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=300),
    st.integers(1, 80),
)
def test_sparkline_never_wider_than_asked(values, width):
    chart, marker = sparkline(range(len(values)), values, width=width, marks=[0])
    assert len(chart) <= width and len(marker) <= width
    assert set(chart) <= set(BLOCKS) | {"×", " ", CLIPPED}


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


def test_sparkline_states_its_scale_and_range_and_explains_its_marks():
    steps = list(range(100))
    line = sparkline(
        steps, [2.0 * math.exp(-s / 20) for s in steps], width=20, log=True, marks=[50]
    )
    assert line.log and line.low == pytest.approx(2.0 * math.exp(-99 / 20), rel=0.2)
    assert line.high == pytest.approx(2.0, rel=0.1)
    assert line.legend().startswith(f"log scale {line.low:.3g}–")
    assert f"{MARK} finding" in line.legend() and line.clipped == 0


def test_one_huge_value_is_clipped_and_marked_not_flattening_the_rest():
    # the case: one huge early spike, then the loss sits 100x above its start
    values = [1.0] * 10 + [1e6] + [100.0 + (k % 7) for k in range(89)]
    line = sparkline(range(100), values, width=100, log=True)
    assert line.clipped == 1 and line.chart[10] == CLIPPED and line.peak == 1e6
    assert line.chart[0] == BLOCKS[0] and set(line.chart[11:]) <= set(BLOCKS[-3:])
    assert line.high < 200 and f"{CLIPPED} above the range (max 1.0e+06)" in line.legend()


def test_a_three_step_spike_in_a_10000_step_run_stays_visible():
    import numpy as np

    from lrdoctor.api import check

    rng = np.random.default_rng(0)
    steps = np.arange(10_000)
    loss = 2.0 * np.exp(-steps / 3000) * (1 + 0.05 * rng.standard_normal(len(steps))) + 0.1
    loss[6001:6004] *= 8  # three steps, 0.03 % of the run
    frame = pd.DataFrame({"step": steps, "loss": loss, "lr": 1e-3})
    run = check(frame).runs[0]
    steps_p, values, highs = run.preview
    line = sparkline(steps_p, values, width=60, log=True, highs=highs)
    assert line.spikes == 1
    level = [len(BLOCKS) if c == CLIPPED else BLOCKS.index(c) for c in line.chart]
    cell = max(range(30, 45), key=lambda k: level[k] - level[k + 1])  # the spike's cell
    assert abs(cell - 6002 / 10_000 * 60) <= 1.5  # where the spike was (a sample's bin)
    assert level[cell] >= max(level[cell - 4 : cell] + level[cell + 1 : cell + 5]) + 3
    # without the bins' highs (the old sampled preview) the spike was invisible
    assert sparkline(steps_p, values, width=60, log=True).spikes == 0
