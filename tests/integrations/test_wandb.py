"""Weights & Biases: real offline run folders (`wandb/offline-run-*/run-<id>.wandb`), read
without wandb: history from `run.log`, the optimizer from the run's config."""

from __future__ import annotations

import pytest
import tiny
from tiny import REGIMES, assert_regime, columns, train_torch

pytest.importorskip("torch")
wandb = pytest.importorskip("wandb")


def test_offline_run_folders(tmp_path):
    import lrdoctor

    folders = {}
    for regime, lr in REGIMES.items():  # one test: each wandb.init costs seconds
        run = wandb.init(
            mode="offline", dir=tmp_path, project="tiny", name=regime, config={"optimizer": "Adam"}
        )
        train_torch(
            lr,
            on_step=lambda step, loss, opt, run=run: run.log(
                {
                    "train/loss": loss,
                    "train/lr": opt.param_groups[0]["lr"],
                    "train/global_step": step,
                }
            ),
        )
        run.finish()
        folders[regime] = next((tmp_path / "wandb").glob(f"offline-run-*-{run.id}"))
    for regime, folder in folders.items():
        assert columns(folder) == {
            "step": "train/global_step",
            "loss": "train/loss",
            "lr": "train/lr",
        }
        run = lrdoctor.check(folder).runs[0]
        assert run.optimizer == "Adam"  # from the run's config
        assert run.error is None and len(run.columns) == 3
        assert_regime(regime, folder)
    # The wandb/ folder: one run per run folder, its `latest-run` link not counted again.
    report = lrdoctor.check(tmp_path / "wandb")
    assert sorted(r.source for r in report.runs) == sorted(str(f) for f in folders.values())


def test_torch_capture_rows_into_offline_runs(tmp_path):
    folders = {}
    for regime, lr in REGIMES.items():  # one test: each wandb.init costs seconds
        run = wandb.init(mode="offline", dir=tmp_path, project="cap", name=regime)
        tiny.train_into_tracker(
            lr,
            lambda step, cap, run=run: run.log(
                {**cap.metrics("train/"), "train/global_step": step}
            ),
        )
        run.finish()
        folders[regime] = next((tmp_path / "wandb").glob(f"offline-run-*-{run.id}"))
    for regime, folder in folders.items():
        tiny.assert_capture_columns(folder)
        assert_regime(regime, folder)
