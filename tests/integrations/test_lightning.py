"""Lightning: CSVLogger / TensorBoardLogger with LearningRateMonitor and three param groups,
and lrdoctor's Lightning callback (importable with `lightning` or `pytorch_lightning`)."""

from __future__ import annotations

import pytest
from tiny import REGIMES, assert_regime, columns, mlp, tensors

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning")


class Tiny(L.LightningModule):
    def __init__(self, lr: float):
        super().__init__()
        self.net, self.lr = mlp(), lr

    def training_step(self, batch, batch_idx):
        loss = torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])
        self.log("train_loss", loss, on_step=True)
        return loss

    def configure_optimizers(self):
        # Three groups: LearningRateMonitor then writes lr-Adam/pg1, pg2, pg3 (no pg0).
        layers = [{"params": self.net[i].parameters()} for i in (0, 2, 4)]
        return torch.optim.Adam(layers, lr=self.lr)


def loader(seed: int):
    """The tiny task's shuffled batches, in an order fixed by `seed`."""
    x, y = tensors()
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y),
        batch_size=64,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )


def fit(lr: float, callbacks=(), loggers=None) -> None:
    from lightning.pytorch.callbacks import LearningRateMonitor

    data = loader(seed=0)
    trainer = L.Trainer(
        max_epochs=8,
        logger=loggers if loggers is not None else False,
        callbacks=[LearningRateMonitor("step"), *callbacks] if loggers else list(callbacks),
        log_every_n_steps=2,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        accelerator="cpu",
    )
    trainer.fit(Tiny(lr), data)


@pytest.mark.parametrize("regime", REGIMES)
def test_csv_logger(regime, tmp_path):
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    fit(REGIMES[regime], loggers=[CSVLogger(tmp_path / "csv"), TensorBoardLogger(tmp_path / "tb")])
    for run in (
        tmp_path / "csv" / "lightning_logs" / "version_0",
        tmp_path / "tb" / "lightning_logs" / "version_0",
    ):
        assert columns(run)["lr"] == "lr-Adam/pg1"
        assert_regime(regime, run)  # the optimizer family comes from `lr-Adam`


@pytest.mark.parametrize("every", [1, 10])  # 10: the default, norms every 10th step
@pytest.mark.parametrize("regime", REGIMES)
def test_lrdoctor_callback(regime, every, tmp_path):
    from lrdoctor.capture.callbacks import lightning_callback

    log = tmp_path / "run.csv"
    fit(REGIMES[regime], callbacks=[lightning_callback(log, every=every)])
    import lrdoctor

    run = lrdoctor.check(log).runs[0]
    # The callback never writes a NaN of its own: NF001 only for a real divergence.
    assert regime == "too_high" or "NF001" not in {f.rule for f in run.findings}
    assert {"loss", "lr", "grad_norm", "update_ratio"} <= set(run.columns)
    assert run.optimizer == "Adam"
    assert_regime(regime, log)


def test_callback_imports_with_pytorch_lightning():
    pl = pytest.importorskip("pytorch_lightning")
    import lrdoctor.capture.callbacks as cb

    assert isinstance(cb.lightning_callback("x.csv"), (L.Callback, pl.Callback))


def test_range_test_on_the_module_restores_it_and_lands_near_the_sweep_best():
    """`lightning_range_test(model, loader)`: the module's own training_step and
    configure_optimizers (three param groups), no Trainer; the weights come back unchanged."""
    import copy

    from tiny import same_state, sweep_best

    from lrdoctor.capture import lightning_range_test

    module = Tiny(1e-3)
    module.eval()
    before = copy.deepcopy(module.state_dict())
    batches = loader(seed=5)
    result = lightning_range_test(module, batches)
    assert same_state(before, module.state_dict()) and not module.training
    assert all(p.grad is None for p in module.parameters())
    best = sweep_best()
    assert 1 / 3 <= result.suggested_lr / best <= 3, (result.suggested_lr, best)


def test_range_test_takes_a_datamodule_and_the_dict_forms():
    from lrdoctor.capture.rangetest import _first_optimizer

    x, y = tensors()

    class Data(L.LightningDataModule):
        def setup(self, stage):
            self.ds = torch.utils.data.TensorDataset(x, y)

        def train_dataloader(self):
            return torch.utils.data.DataLoader(self.ds, batch_size=64)

    from lrdoctor.capture import lightning_range_test

    result = lightning_range_test(Tiny(1e-3), Data(), steps=30, end_lr=1e-2)
    assert result.suggested_lr is not None
    opt = torch.optim.SGD(mlp().parameters(), 0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1)
    for form in (opt, [opt], ([opt], [sched]), {"optimizer": opt, "lr_scheduler": sched}):
        assert _first_optimizer(form) is opt
    with pytest.raises(ValueError, match="no optimizer"):
        _first_optimizer([])
