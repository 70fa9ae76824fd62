"""Capture helpers: norms, the appending log writer, and the PyTorch optimizer hooks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lrdoctor.capture import LogWriter, step_stats
from lrdoctor.readers import read_path
from lrdoctor.run import build_run


def test_step_stats_known_values():
    before = [np.array([3.0, 0.0]), np.array([[0.0]])]
    after = [np.array([3.0, 4.0]), np.array([[0.0]])]
    stats = step_stats(before, after, grads=[np.array([1.0, 2.0]), np.array([[2.0]])])
    assert stats == {"weight_norm": 5.0, "update_norm": 4.0, "update_ratio": 0.8, "grad_norm": 3.0}


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 20), elements=st.floats(-1e3, 1e3)),
    arrays(np.float64, st.integers(1, 20), elements=st.floats(-1e3, 1e3)),
)
def test_step_stats_equals_norm_of_concatenation(a, b):
    after = [a, b]
    before = [a * 0.5, b * 0.5]
    s = step_stats(before, after)
    flat = np.concatenate([a, b])
    assert s["weight_norm"] == pytest.approx(np.linalg.norm(flat), rel=1e-9, abs=1e-12)
    assert s["update_norm"] == pytest.approx(np.linalg.norm(flat * 0.5), rel=1e-9, abs=1e-12)


def test_csv_writer_appends_without_rewriting_and_reads_back(tmp_path):
    path = tmp_path / "run.csv"
    with LogWriter(path) as log:
        log.write(step=0, loss=2.5, lr=1e-3)
        first = path.read_text()
        log.write(step=1, loss=float("nan"), lr=1e-3)
        log.write(step=2, lr=1e-3)  # no loss logged: an empty cell
        assert path.read_text().startswith(first)
        with pytest.raises(ValueError, match="new column"):
            log.write(step=3, loss=1.0, val_loss=2.0)
    run = build_run(read_path(path)[0])
    assert run["loss"].step.tolist() == [0, 1]
    assert math.isnan(run["loss"].value[1])
    with LogWriter(path, resume=True) as log:  # resuming appends, without a second header
        log.write(step=3, loss=1.0, lr=1e-3)
    assert path.read_text().count("step") == 1
    assert build_run(read_path(path)[0])["loss"].step.tolist() == [0, 1, 3]
    with LogWriter(path) as log:  # a new run starts the file anew: never two runs mixed
        log.write(step=0, loss=3.0, lr=1e-2)
    assert build_run(read_path(path)[0])["loss"].value.tolist() == [3.0]


def test_side_file_carries_the_optimizer_into_the_run(tmp_path):
    path = tmp_path / "run.csv"
    meta = {"optimizer": "AdamW", "param_groups": [{"lr": 1e-3, "betas": [0.9, 0.999]}]}
    with LogWriter(path, meta=meta) as log:
        log.write(step=0, loss=2.0, lr=1e-3)
    assert "optimizer" not in path.read_text()
    run = build_run(read_path(path)[0])
    assert run.optimizer == "AdamW" and run.optimizer_family == "adam"
    assert run.meta["param_groups"] == '[{"lr": 0.001, "betas": [0.9, 0.999]}]'


def test_parquet_writer_row_groups_and_metadata(tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "run.parquet"
    with LogWriter(path, row_group=4, meta={"optimizer": "adamw"}) as log:
        for s in range(10):
            log.write(step=s, loss=1.0 / (s + 1), lr=1e-3, val_loss=None if s % 5 else 2.0)
    assert pq.ParquetFile(path).num_row_groups == 3
    (table,) = read_path(path)
    run = build_run(table)
    assert len(run["loss"]) == 10 and run["val_loss"].step.tolist() == [0, 5]
    assert run.optimizer == "adamw"


def test_torch_capture_hooks_optimizer(tmp_path):
    torch = pytest.importorskip("torch")
    from lrdoctor.capture.torch import TorchCapture

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    path = tmp_path / "torch.csv"
    with TorchCapture(opt, model, path=path, every=1) as cap:
        for _ in range(5):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            cap.log(loss=loss.item())
            grads = [p.grad.numpy().copy() for p in model.parameters()]
            before = [p.detach().numpy().copy() for p in model.parameters()]
            pre_clip = cap.measure_grads()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)
            opt.step()
            after = [p.detach().numpy().copy() for p in model.parameters()]
    expected = step_stats(before, after, grads)
    last = cap.last
    assert cap.rows == []  # the log on disk is the record: no copy of every row in memory
    assert last["grad_norm"] == pytest.approx(pre_clip) == pytest.approx(expected["grad_norm"])
    assert last["update_norm"] == pytest.approx(expected["update_norm"], rel=1e-5)
    assert last["update_norm"] == pytest.approx(0.1 * 1e-3, rel=1e-3)  # clipped step
    assert last["lr"] == 0.1 and cap.meta["optimizer"] == "SGD"
    run = build_run(read_path(path)[0])
    assert run["loss"].step.tolist() == [0, 1, 2, 3, 4] and run.has("update_ratio")
    assert not opt._optimizer_step_pre_hooks  # hooks removed on close


def test_importing_capture_does_not_import_frameworks():
    import subprocess
    import sys

    code = (
        "import sys, lrdoctor.capture, lrdoctor.capture.callbacks, lrdoctor.capture.torch;"
        "print(any(m in sys.modules for m in ('torch', 'keras', 'lightning', 'transformers')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
