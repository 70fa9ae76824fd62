"""End-to-end behaviour of the training loop, the log writer and the `train` command."""

import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from lrdoctor.trainer import TrainConfig, read_log, train, write_log

FAST = {"steps": 600, "width": 32, "eval_every": 50}
# A regression net that SGD at lr=1 drives to inf/NaN within ~150 steps.
DIVERGING = {
    "dataset": "regression",
    "optimizer": "sgd",
    "lr": 1.0,
    "depth": 3,
    "width": 32,
    "activation": "tanh",
    "batch_size": 128,
    "steps": 600,
}


def test_healthy_lr_lowers_the_loss():
    loss = train(TrainConfig(optimizer="adam", lr=0.01, **FAST))["loss"]
    assert np.median(loss[-60:]) < 0.5 * np.median(loss[:20])


def test_very_high_lr_diverges():
    log = train(TrainConfig(**DIVERGING))
    assert not np.isfinite(log["loss"][-1])
    assert len(log["loss"]) < 600  # stops a few steps after the first non-finite loss


@pytest.mark.parametrize(("fault", "dataset"), [("log0", "spirals"), ("zero_std", "blobs")])
def test_fault_gives_abrupt_nan_after_a_healthy_start(fault, dataset):
    cfg = TrainConfig(
        dataset=dataset, optimizer="adam", lr=0.003, fault=fault, fault_step=400, **FAST
    )
    log = train(cfg)
    loss, gnorm = log["loss"], log["grad_norm"]
    first_bad = int(np.argmax(~np.isfinite(loss)))
    assert first_bad == 400 and len(loss) == 400 + 1 + cfg.nan_patience
    healthy = loss[:400]
    assert np.isfinite(healthy).all() and np.median(healthy[-50:]) < np.median(healthy[:20])
    assert np.isfinite(gnorm[:400]).all() and gnorm[300:400].max() < 10 * np.median(gnorm[:400])


def test_no_runtime_warnings_leak():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(TrainConfig(**DIVERGING))


def test_same_config_same_numbers():
    cfg = TrainConfig(optimizer="momentum", lr=0.05, spike_at=(100,), **FAST)
    a, b = train(cfg), train(cfg)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(np.ma.getdata(a[k]), np.ma.getdata(b[k]))


def test_columns_and_missing_vs_nan(tmp_path):
    log = train(TrainConfig(**DIVERGING, per_layer=True))
    assert list(log) == [
        "step",
        "epoch",
        "lr",
        "loss",
        "grad_norm",
        "weight_norm",
        "update_norm",
        "update_ratio",
        "val_loss",
    ] + [f"update_ratio/layer{i}" for i in range(4)]
    for ext in (".csv", ".csv.gz", ".parquet"):
        path = tmp_path / f"run{ext}"
        write_log(log, path)
        back = read_log(path)
        val = back["val_loss"]
        assert np.ma.getmaskarray(val)[1]  # no eval at step 1: missing, not NaN
        assert np.isnan(val[-1])  # evaluated after divergence: a real NaN
        np.testing.assert_array_equal(back["step"], log["step"])
        np.testing.assert_array_equal(np.ma.getdata(back["loss"]), log["loss"])


def test_parquet_metadata_and_int_step(tmp_path):
    import pyarrow.parquet as pq

    write_log(train(TrainConfig(**FAST)), tmp_path / "r.parquet")
    table = pq.read_table(tmp_path / "r.parquet")
    meta = table.schema.metadata
    assert meta[b"optimizer"] == b"sgd" and meta[b"grad_norm"] == b"pre_clip"
    assert str(table.schema.field("step").type) == "int64"
    assert table.column("val_loss").null_count == 600 - 13


def test_resumed_run_repeats_steps():
    log = train(TrainConfig(optimizer="momentum", lr=0.1, restart_from=200, restart_at=300, **FAST))
    steps = log["step"]
    assert len(steps) == 700 and list(steps[:300]) == list(range(300))
    assert list(steps[300:]) == list(range(200, 600))
    assert not np.array_equal(log["loss"][200:300], log["loss"][300:400])  # new data order


def test_range_test_lr_is_geometric_and_stops_on_blow_up():
    log = train(
        TrainConfig(range_test=True, steps=300, eval_every=0, range_start=1e-5, range_end=1e3)
    )
    lr = log["lr"]
    np.testing.assert_allclose(lr[1:] / lr[:-1], (1e3 / 1e-5) ** (1 / 299), rtol=1e-12)
    assert len(lr) < 300 and "val_loss" not in log


def test_cli_train_writes_csv(tmp_path):
    from lrdoctor.cli import app

    out = tmp_path / "x.csv"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--dataset",
            "blobs",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
            "--steps",
            "200",
            "--schedule",
            "step",
            "--milestones",
            "100",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    log = read_log(out)
    assert len(log["step"]) == 200 and log["lr"][150] == pytest.approx(0.001)


def test_cli_rejects_unknown_optimizer(tmp_path):
    from lrdoctor.cli import app

    result = CliRunner().invoke(
        app, ["train", "--optimizer", "lion", "--out", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 2
