"""The performance benchmark runs end to end on tiny inputs (no timing is asserted here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "perf.py"


def _perf():
    spec = importlib.util.spec_from_file_location("perf", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["perf"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_generated_log_has_sparse_val_loss_as_nulls(tmp_path):
    perf = _perf()
    table = pq.read_table(perf.write_parquet(tmp_path / "log.parquet", 1000))
    assert table.column_names == ["step", "loss", "lr", "grad_norm", "update_ratio", "val_loss"]
    assert table.num_rows == 1000
    assert table.column("val_loss").null_count == 990  # logged every 100 steps only


def test_benchmark_runs_every_case_on_tiny_inputs(capsys):
    perf = _perf()
    rows = perf.main(
        [
            "--rows",
            "3000",
            "--files",
            "4",
            "--file-rows",
            "300",
            "--reps",
            "1",
            "--trainer-steps",
            "20",
            "--watch-rows",
            "12000",
            "--monitor-steps",
            "60",
        ]
    )
    cases = " ".join(r.case for r in rows)
    for part in (
        "3,000-row parquet",
        "3,000-row csv",
        "1,000-row parquet",
        "4 x 300-row files",
        "--jobs 1",
        "watch poll",
        "Monitor",
        "trainer",
    ):
        assert part in cases
    assert all(r.ours > 0 and r.base > 0 and r.ratio > 0 for r in rows if r.unit)
    out = capsys.readouterr().out
    assert out.count("| PASS |") + out.count("| MISS |") == len(rows)


def test_a_failing_command_is_an_error_not_a_measurement():
    perf = _perf()
    try:
        perf.measure([perf.PY, "-c", "raise SystemExit(2)"])
    except RuntimeError as exc:
        assert "exited 2" in str(exc)
    else:
        raise AssertionError("exit code 2 was measured as if it succeeded")


def test_the_table_goes_between_the_markers_with_the_command_and_the_load(tmp_path):
    perf = _perf()
    doc = tmp_path / "performance.md"
    doc.write_text("# Perf\n\nbefore\n<!-- measured: perf -->\nold\n<!-- end measured -->\nafter\n")
    row = perf.Row("Monitor.update", "µs", 6.5, 650.0, "µs", 0.01, "<= 1%", True)
    perf.write_block(doc, [row], "python benchmarks/perf.py --quick", 0.4, 1.5)
    text = doc.read_text()
    assert "old\n" not in text and text.startswith("# Perf\n\nbefore\n<!-- measured: perf")
    assert text.endswith("<!-- end measured -->\nafter\n")
    assert "`python benchmarks/perf.py --quick`" in text
    assert "load average 0.4 at the start, 1.5 at the end" in text
    assert "| Monitor.update | µs | 6.50 µs | 650.00 µs | 1.00 % | <= 1% | PASS |  |" in text


def test_full_sizes_have_a_block_of_their_own(tmp_path):
    perf = _perf()
    doc = tmp_path / "performance.md"
    quick = "<!-- measured: perf -->\nquick\n<!-- end measured -->\n"
    doc.write_text(quick + "<!-- measured: perf-full -->\nold\n<!-- end measured -->\n")
    row = perf.Row("10,000,000-row parquet", "time", 1.0, 1.0, "s", 1.0, "<= 1.3x", True)
    perf.write_block(doc, [row], "python benchmarks/perf.py", 0.2, 0.4, "perf-full")
    text = doc.read_text()
    assert text.startswith(quick) and "old" not in text and "10,000,000-row parquet" in text


def test_only_runs_the_named_cases():
    perf = _perf()
    rows = perf.main(["--only", "startup", "--reps", "1"])
    assert [r.case for r in rows] == ["1,000-row parquet (start-up)"]


def test_capture_overhead_runs_each_torch_case_on_a_few_steps():
    """benchmarks/capture_overhead.py end to end on 64 steps (no timing is asserted)."""
    pytest.importorskip("torch")
    path = BENCH.parent / "capture_overhead.py"
    spec = importlib.util.spec_from_file_location("capture_overhead", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--steps", "64", "--reps", "1", "--only", "torch"])
    assert [(r["framework"], r["helper"]) for r in rows] == [
        ("torch", "TorchCapture() (every=10)"),
        ("torch", "TorchCapture(every=1)"),
        ("torch large", "TorchCapture() (every=10)"),
        ("torch large", "TorchCapture(every=1)"),
    ]
    assert all(r["step_us"] > 0 and r["hooks_us"] > 0 for r in rows)
