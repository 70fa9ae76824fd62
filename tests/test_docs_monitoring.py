"""docs/monitoring.md's schedule figures are the Monitor's: the evaluation rows it names, the
count formula and its example, and the row a finding seen at the warm-up comes out at."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from lrdoctor.monitor import ADAPTIVE, WARMUP, Monitor

PAGE = (Path(__file__).resolve().parent.parent / "docs/monitoring.md").read_text()
TEXT = " ".join(PAGE.split())


def _evaluated_rows(monkeypatch, n: int) -> list[int]:
    monitor = Monitor(rules=["NF001"])
    calls: list[int] = []
    original = monitor.report
    monkeypatch.setattr(monitor, "report", lambda: calls.append(monitor.n_rows) or original())
    for step in range(n):
        monitor.update(step=step, loss=1.0)
    return calls


def test_the_evaluation_rows_the_page_names_are_the_monitors(monkeypatch):
    m = re.search(
        r"first seen at row (\d+) is evaluated again at rows ([\d, ]+) and (\d+), .*? "
        r"comes out at the next, row (\d+)\.",
        TEXT,
    )
    first, out = int(m[1]), int(m[4])
    again = [int(x) for x in m[2].split(", ")] + [int(m[3])]
    calls = _evaluated_rows(monkeypatch, 200)
    assert calls[: len(again) + 2] == [first, *again, out]
    assert first == WARMUP and again[-1] < 2 * first <= out  # out once the run has doubled
    assert f"comes out at row {out})" in TEXT  # the same row in "What this says"


def test_the_evaluation_count_formula_and_its_example():
    assert f"about {ADAPTIVE} · ln(N / {WARMUP}) evaluations" in TEXT
    n = int(re.search(r"≈ (\d+) for 100,000 rows", TEXT)[1])
    assert n == round(ADAPTIVE * math.log(100_000 / WARMUP))


def test_the_count_formula_holds_for_the_monitor(monkeypatch):
    calls = _evaluated_rows(monkeypatch, 20_000)
    assert abs(len(calls) - ADAPTIVE * np.log(20_000 / WARMUP)) <= 0.2 * len(calls)
