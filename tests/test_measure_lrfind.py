"""benchmarks/measure_lrfind.py reads a corpus's labels as generate.py writes them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "measure_lrfind.py"


def _script():
    spec = importlib.util.spec_from_file_location("measure_lrfind", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["measure_lrfind"] = module
    spec.loader.exec_module(module)
    return module


def test_a_diverged_grid_lr_written_as_the_string_inf_is_clearly_worse():
    cells = [
        dict(lr=0.1, best_final_loss=0.2, initial_loss=1.0, final_loss=0.25),
        dict(lr=1.0, best_final_loss=0.2, initial_loss=1.0, final_loss="inf"),
    ]
    m = _script()
    assert m.not_clearly_worse(cells, 0.1) is True
    assert m.not_clearly_worse(cells, 1.0) is False
