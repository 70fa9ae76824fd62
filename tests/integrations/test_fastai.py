"""fastai: CSVLogger's `history.csv` under fit_one_cycle (one row per epoch) and lrdoctor's
fastai_callback (one row per batch: the batch's own loss, the scheduled LR, the norms)."""

from __future__ import annotations

import pytest
from tiny import REGIMES, assert_regime, columns, mlp, tensors

torch = pytest.importorskip("torch")
pytest.importorskip("fastai")


def learner(cbs=(), shuffle: int = 0):
    """fastai shuffles the training set with a `random.Random` seeded from Python's global
    `random` when the DataLoader is made: `shuffle` seeds that, so each test sees one order."""
    import random

    import fastai.callback.schedule  # noqa: F401  (patches Learner.fit_one_cycle in)
    from fastai.basics import DataLoaders, Learner

    x, y = tensors()
    torch.manual_seed(0)
    random.seed(shuffle)
    ds = torch.utils.data.TensorDataset
    dls = DataLoaders.from_dsets(
        ds(x[:1792], y[:1792]), ds(x[1792:], y[1792:]), bs=64, device="cpu"
    )
    return Learner(dls, mlp(), loss_func=torch.nn.functional.cross_entropy, cbs=list(cbs))


def fit(learn, lr: float, epochs: int = 8) -> None:
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, lr)


@pytest.mark.parametrize("regime", REGIMES)
def test_csv_logger(regime, tmp_path):
    from fastai.callback.progress import CSVLogger

    fit(learner([CSVLogger()]), REGIMES[regime])
    log = tmp_path / "history.csv"
    assert columns(log) == {
        "step": "step",
        "epoch": "epoch",
        "loss": "train_loss",
        "val_loss": "valid_loss",
    }
    assert_regime(regime, log)


# Shuffles whose 8 epoch-end train_loss values (an EMA of the last batches) wiggle enough to hide
# the crawl, the last one ending above its start: the held-out loss still shows it.
@pytest.mark.parametrize("shuffle", [15, 18, 35])
def test_csv_logger_too_low_whatever_the_shuffle(shuffle, tmp_path):
    from fastai.callback.progress import CSVLogger

    fit(learner([CSVLogger()], shuffle=shuffle), REGIMES["too_low"])
    assert_regime("too_low", tmp_path / "history.csv")


@pytest.mark.parametrize("every", [1, 10])  # 10: the default, norms every 10th step
@pytest.mark.parametrize("regime", REGIMES)
def test_lrdoctor_callback(regime, every, tmp_path):
    import lrdoctor
    from lrdoctor.capture.callbacks import fastai_callback

    log = tmp_path / "run.csv"
    fit(learner([fastai_callback(log, every=every)]), REGIMES[regime])
    run = lrdoctor.check(log).runs[0]
    assert run.optimizer == "Adam"
    assert {"loss", "lr", "grad_norm", "update_ratio"} <= set(run.columns)
    assert regime == "too_high" or "NF001" not in {f.rule for f in run.findings}
    assert_regime(regime, log)


def test_callback_logs_the_batch_loss_and_the_one_cycle_lr(tmp_path):
    import numpy as np

    from lrdoctor.capture.callbacks import fastai_callback

    log = tmp_path / "run.csv"
    learn = learner([fastai_callback(log, every=1)])
    fit(learn, REGIMES["healthy"], epochs=2)
    rows = np.genfromtxt(log, delimiter=",", names=True)
    assert len(rows) == 2 * 28 and np.array_equal(rows["step"], np.arange(56))  # 1792 / 64
    # The LR fastai's scheduler set for each batch (the recorder's record of the same).
    assert np.allclose(rows["lr"], learn.recorder.lrs, rtol=1e-6)
    assert rows["lr"].argmax() not in (0, 55)  # one-cycle: warm-up, then annealing
    # The raw batch loss, not the recorder's smoothed loss (an EMA that lags it).
    smooth = np.array([float(v) for v in learn.recorder.losses])
    assert not np.allclose(rows["loss"], smooth, rtol=1e-3)
    assert np.all(np.isfinite(rows["grad_norm"])) and np.all(rows["update_ratio"] > 0)


def test_fine_tune_continues_one_log(tmp_path):
    import numpy as np

    from lrdoctor.capture.callbacks import fastai_callback

    log = tmp_path / "run.csv"
    learn = learner([fastai_callback(log, every=1)])
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)
        learn.fit(1, 1e-4)
    rows = np.genfromtxt(log, delimiter=",", names=True)
    assert np.array_equal(rows["step"], np.arange(56))
    assert set(rows["lr"][:28]) == {1e-3} and set(rows["lr"][28:]) == {1e-4}
