"""DVCLive: a real `dvclive.Live` run folder (one TSV per metric under plots/metrics/, the
optimizer and LR in params.yaml)."""

from __future__ import annotations

import pytest
import tiny
from tiny import REGIMES, assert_regime, columns, train_torch

pytest.importorskip("torch")
dvclive = pytest.importorskip("dvclive")


def _train(regime: str, folder) -> None:
    with dvclive.Live(str(folder), save_dvc_exp=False) as live:
        live.log_params({"optimizer": "Adam", "lr": REGIMES[regime]})

        def on_step(step, loss, opt):
            live.log_metric("train/loss", loss)
            live.log_metric("train/lr", opt.param_groups[0]["lr"])
            live.next_step()

        train_torch(REGIMES[regime], on_step=on_step)


@pytest.mark.parametrize("regime", REGIMES)
def test_live_folder(regime, tmp_path):
    import lrdoctor

    _train(regime, tmp_path / "dvclive")
    for folder in (tmp_path / "dvclive", tmp_path / "dvclive" / "plots" / "metrics"):
        assert columns(folder) == {"step": "step", "loss": "train/loss", "lr": "train/lr"}
        run = lrdoctor.check(folder).runs[0]
        assert run.optimizer == "Adam"  # from params.yaml
        assert_regime(regime, folder)


@pytest.mark.parametrize("regime", REGIMES)
def test_torch_capture_rows_into_a_live_folder(regime, tmp_path):
    folder = tmp_path / "dvclive"
    with dvclive.Live(str(folder), save_dvc_exp=False) as live:
        live.log_params({"optimizer": "Adam"})

        def log(step, cap):
            for name, value in cap.metrics("train/").items():
                live.log_metric(name, value)
            live.next_step()

        tiny.train_into_tracker(REGIMES[regime], log)
    tiny.assert_capture_columns(folder)
    assert_regime(regime, folder)
