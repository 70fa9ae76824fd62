"""Keras 3 on the torch backend: CSVLogger (one row per epoch, the epoch's mean loss) and
lrdoctor's keras_callback (one row per batch, the batch's own loss)."""

from __future__ import annotations

import os

import pytest
from tiny import REGIMES, arrays, assert_regime, columns

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported
pytest.importorskip("torch")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":
    pytest.skip("keras is not on the torch backend", allow_module_level=True)


def fit(lr: float, callbacks, epochs: int = 8):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(4),
        ]
    )
    model.compile(
        keras.optimizers.Adam(lr), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    x, y = arrays()
    return model.fit(x, y, batch_size=64, epochs=epochs, verbose=0, callbacks=callbacks)


@pytest.mark.parametrize("regime", REGIMES)
def test_csv_logger(regime, tmp_path):
    log = tmp_path / "log.csv"
    fit(REGIMES[regime], [keras.callbacks.CSVLogger(str(log))])
    assert columns(log)["loss"] == "loss"  # no LR column: Keras 3's CSVLogger has none
    assert_regime(regime, log)  # and no optimizer named: none is given here either


@pytest.mark.parametrize("regime", REGIMES)
def test_lrdoctor_callback(regime, tmp_path):
    import lrdoctor
    from lrdoctor.capture.callbacks import keras_callback

    log = tmp_path / "run.csv"
    fit(REGIMES[regime], [keras_callback(log)])
    run = lrdoctor.check(log).runs[0]
    assert run.optimizer == "Adam"
    assert {"loss", "lr"} <= set(run.columns)
    assert_regime(regime, log)


def test_callback_logs_each_batch_loss_not_the_running_mean(tmp_path):
    import numpy as np

    from lrdoctor.capture.callbacks import keras_callback

    log = tmp_path / "run.csv"
    history = fit(REGIMES["healthy"], [keras_callback(log)], epochs=3)
    rows = np.genfromtxt(log, delimiter=",", names=True)
    per_epoch = len(rows) // 3  # 2048 / 64 = 32 full batches
    # Each epoch's mean of the batch losses is the epoch loss Keras reports.
    means = rows["loss"].reshape(3, per_epoch).mean(1)
    assert np.allclose(means, history.history["loss"], rtol=1e-4)
    # And the first batch of an epoch is not a reset of a mean: no saw-tooth jump upward.
    assert rows["loss"][per_epoch] < rows["loss"][0]
