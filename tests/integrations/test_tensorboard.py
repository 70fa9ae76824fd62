"""TensorBoard event files as torch.utils.tensorboard.SummaryWriter writes them."""

from __future__ import annotations

import pytest
import tiny
from tiny import REGIMES, assert_regime, columns, train_torch

pytest.importorskip("torch")
pytest.importorskip("tensorboard")


@pytest.mark.parametrize("regime", REGIMES)
def test_summary_writer(regime, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(tmp_path / "runs" / "exp")

    def log(step, loss, opt):
        writer.add_scalar("train/loss", loss, step)
        writer.add_scalar("train/lr", opt.param_groups[0]["lr"], step)

    train_torch(REGIMES[regime], on_step=log)
    writer.close()
    run = tmp_path / "runs" / "exp"
    assert columns(run)["lr"] == "train/lr"
    assert_regime(regime, run)  # no optimizer given: the event file names none


@pytest.mark.parametrize("regime", REGIMES)
def test_torch_capture_rows_into_a_summary_writer(regime, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(tmp_path / "runs" / "cap")

    def log(step, cap):
        for name, value in cap.metrics("train/").items():
            writer.add_scalar(name, value, step)

    tiny.train_into_tracker(REGIMES[regime], log)
    writer.close()
    tiny.assert_capture_columns(tmp_path / "runs" / "cap")
    assert_regime(regime, tmp_path / "runs" / "cap")
