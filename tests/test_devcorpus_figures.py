"""benchmarks/devcorpus.py: the per-format gap and what random draws of runs alone produce."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _devcorpus():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("devcorpus", ROOT / "benchmarks/devcorpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(fmt: str, right: int, wrong: int) -> list[dict]:
    return [dict(format=fmt, truth="too_low", pred="too_low")] * right + [
        dict(format=fmt, truth="too_low", pred="healthy")
    ] * wrong


def test_a_reader_that_loses_every_verdict_is_far_outside_chance():
    rows = _rows("csv", 40, 0) + _rows("jsonl", 40, 0) + _rows("hf_trainer_state", 0, 40)
    gap = _devcorpus().format_gap(rows)
    assert gap["format"] == "hf_trainer_state"
    assert gap["gap"] == -1.0
    assert gap["chance"] == 0.0
    assert gap["typical"] < 0.5


def test_formats_with_the_same_share_right_have_no_gap():
    rows = _rows("csv", 30, 10) + _rows("mlflow", 15, 5) + _rows("keras", 3, 1)
    gap = _devcorpus().format_gap(rows)
    assert gap["gap"] == 0.0
    assert gap["chance"] == 1.0


def test_no_reference_format_no_figure():
    assert _devcorpus().format_gap(_rows("jsonl", 3, 1) + _rows("keras", 1, 1)) is None
