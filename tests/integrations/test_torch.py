"""Plain PyTorch with lrdoctor's TorchCapture, and with TensorBoard's SummaryWriter."""

from __future__ import annotations

import pytest
from tiny import REGIMES, assert_regime, columns, train_torch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("regime", REGIMES)
def test_torch_capture(regime, tmp_path):
    from lrdoctor.capture.torch import TorchCapture

    log = tmp_path / "run.csv"
    train_torch(REGIMES[regime], capture=lambda opt, model: TorchCapture(opt, model, path=log))
    assert {"loss", "lr", "grad_norm", "update_ratio"} <= set(columns(log))
    assert_regime(regime, log)
