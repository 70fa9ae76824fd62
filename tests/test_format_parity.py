"""benchmarks/format_parity.py: per-format accuracy on the same runs, and disagreements with CSV."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _parity():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "format_parity", ROOT / "benchmarks/format_parity.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parity_counts_each_format_on_the_same_runs():
    verdicts = {
        "r1": {"csv": "too_low", "hf_trainer_state": "healthy", "keras": "too_low"},
        "r2": {"csv": "too_high", "hf_trainer_state": "too_high"},
        "r3": {"csv": "healthy", "hf_trainer_state": "healthy"},
    }
    truth = {"r1": "too_low", "r2": "too_high", "r3": "too_low"}
    own = {"r1": "hf_trainer_state", "r2": "csv", "r3": "csv"}
    rows = {r["format"]: r for r in _parity().parity(verdicts, truth, own)}
    assert list(rows) == ["csv", "hf_trainer_state", "keras"]
    assert rows["csv"] == dict(
        format="csv", runs=3, right=2, csv_right=2, differ=0, shipped=2, shipped_right=1
    )
    assert rows["hf_trainer_state"] == dict(
        format="hf_trainer_state",
        runs=3,
        right=1,
        csv_right=2,
        differ=1,
        shipped=1,
        shipped_right=0,
    )
    # Keras only holds the runs long enough in epochs: CSV is compared on those alone.
    assert rows["keras"] == dict(
        format="keras", runs=1, right=1, csv_right=1, differ=0, shipped=0, shipped_right=0
    )


def test_interval_row_counts_false_alarms_over_healthy_runs_only():
    counts = Counter(
        {
            ("healthy", "healthy"): 8,
            ("healthy", "too_high"): 1,
            ("healthy", "too_low"): 1,
            ("too_high", "too_high"): 3,
            ("too_high", "healthy"): 1,
            ("nan_numerical", "too_high"): 2,
        }
    )
    row = _parity().interval_row(10, counts)
    assert row["every"] == 10
    assert row["false_alarms"] == 2 / 10
    assert row["accuracy"] == 11 / 16
    assert (row["recall_too_high"], row["recall_nan_numerical"]) == (3 / 4, 0.0)
    assert row["recall_too_low"] == 0.0  # no too-low run: no division by zero
