"""The committed fixtures are reproducible and their labels agree with the measured sweeps."""

import math

import numpy as np
import pytest

from lrdoctor.trainer.fixtures import (
    FIXTURES_DIR,
    build,
    config_differs_from_sweep,
    load_manifest,
)
from lrdoctor.trainer.logfile import read_log, write_log
from lrdoctor.trainer.sweep import label_sweep, read_summary

MANIFEST = load_manifest()
FIXTURES = {fx["name"]: fx for fx in MANIFEST["fixture"]}
SWEEP = {
    (r["dataset"], r["optimizer"], float(r["lr"])): r
    for r in read_summary(FIXTURES_DIR / "sweeps.csv")
}
# A fixture label and the sweep label it must agree with.
SWEEP_LABEL = {
    "healthy": "healthy",
    "slightly_high": "healthy",
    "slightly_low": "healthy",
    "too_high": "too_high",
    "diverge_nan": "too_high",
    "too_low": "too_low",
}


# A numpy, BLAS or platform change moves the last bits of a float; the test holds the values to
# this relative tolerance, far below what any rule reads, and above the rounding of float32 logs.
RTOL, ATOL = 1e-4, 1e-9
# A run that diverges amplifies one ULP into any number; it is compared up to its divergence.
DIVERGED = 10.0  # times the first loss


def _divergence(loss: np.ndarray) -> int:
    """Index of the first row whose loss is not finite or DIVERGED times the first (len if none)."""
    loss = np.ma.filled(np.ma.asarray(loss, dtype=float), np.nan)
    bad = ~np.isfinite(loss) | (np.abs(loss) > DIVERGED * abs(loss[0]))
    return int(np.argmax(bad)) if bad.any() else len(loss)


@pytest.mark.parametrize(
    "name",
    [
        "blobs_sgd_healthy",
        "nan_zero_std",
        "range_test_blobs_adam",
        "spirals_momentum_healthy",
        "blobs_momentum_diverge_nan",
    ],
)
def test_regenerated_fixture_equals_committed(name, tmp_path):
    fx = FIXTURES[name]
    path = tmp_path / fx["file"]
    write_log(build(fx), path, float32=MANIFEST["settings"]["float32"])
    fresh, committed = read_log(path), read_log(FIXTURES_DIR / fx["file"])
    assert list(fresh) == list(committed)
    assert len(fresh["step"]) == len(committed["step"])
    upto = _divergence(committed["loss"])
    assert _divergence(fresh["loss"]) == upto
    assert upto > 0
    for col in fresh:
        a, b = fresh[col][:upto], committed[col][:upto]
        np.testing.assert_array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b), err_msg=col)
        np.testing.assert_allclose(
            np.ma.filled(np.ma.asarray(a, dtype=float), np.nan),
            np.ma.filled(np.ma.asarray(b, dtype=float), np.nan),
            rtol=RTOL,
            atol=ATOL,
            equal_nan=True,
            err_msg=col,
        )


def test_tolerance_compare_catches_a_real_change():
    """The tolerance lets a last-bit difference through and stops a change a rule could see."""
    base = np.linspace(0.5, 2.0, 50)
    np.testing.assert_allclose(np.nextafter(base, np.inf), base, rtol=RTOL, atol=ATOL)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(base * (1 + 1e-3), base, rtol=RTOL, atol=ATOL)
    assert _divergence(np.array([1.0, 2.0, 11.0, np.nan])) == 2
    assert _divergence(np.array([1.0, 0.5, 0.2])) == 3


def test_every_fixture_file_exists_and_folder_is_small():
    for fx in MANIFEST["fixture"]:
        assert (FIXTURES_DIR / fx["file"]).is_file(), fx["name"]
    assert sum(p.stat().st_size for p in FIXTURES_DIR.iterdir()) < 5e6


def test_coverage_of_optimizers_and_labels():
    healthy = [fx["config"] for fx in MANIFEST["fixture"] if fx["label"] == "healthy"]
    assert {c.get("optimizer", "sgd") for c in healthy} >= {
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "adadelta",
        "rmsprop",
        "adam",
    }
    assert len({c.get("dataset", "spirals") for c in healthy}) >= 2
    assert {fx["label"] for fx in MANIFEST["fixture"]} >= {
        "healthy",
        "too_high",
        "too_low",
        "slightly_high",
        "slightly_low",
        "plateau",
        "spike",
        "numerical_nan",
        "diverge_nan",
        "overfit",
        "schedule",
        "range_test",
        "resumed",
    }


@pytest.mark.parametrize("name", [n for n, fx in FIXTURES.items() if fx.get("from_sweep")])
def test_fixture_label_agrees_with_sweep(name):
    fx = FIXTURES[name]
    assert not config_differs_from_sweep(fx), "from_sweep fixtures may only change lr"
    c = fx["config"]
    cell = SWEEP[(c["dataset"], c["optimizer"], float(c["lr"]))]
    assert SWEEP_LABEL[fx["label"]] == cell["label"]
    best_lr = float(cell["best_lr"])
    if fx["label"] == "slightly_high":
        assert c["lr"] > best_lr
    if fx["label"] == "slightly_low":
        assert c["lr"] < best_lr
    if fx["label"] == "diverge_nan":
        assert cell["diverged"] == "True" and fx["cause"] == "lr_too_high"
    if fx["label"] in ("healthy", "slightly_high", "slightly_low"):
        assert fx["forbid"] == ["*"] and not fx["expect"]
    else:
        assert "lr_too_high" in fx["expect"] or "lr_too_low" in fx["expect"]
        assert fx["fix"] == ("lower" if cell["label"] == "too_high" else "raise")


def test_sweep_summary_labels_follow_the_rule():
    groups = {}
    for r in SWEEP.values():
        groups.setdefault((r["dataset"], r["optimizer"]), []).append(r)
    for rows in groups.values():
        labels, best_lr = label_sweep(
            [float(r["lr"]) for r in rows],
            [float(r["final_loss"]) for r in rows],
            [r["diverged"] == "True" for r in rows],
        )
        assert labels == [r["label"] for r in rows]
        assert math.isclose(best_lr, float(rows[0]["best_lr"]))


def test_label_rule():
    labels, best = label_sweep(
        [1e-3, 1e-2, 1e-1, 1.0, 10.0],
        [0.9, 0.11, 0.1, 0.5, np.inf],
        [False, False, False, False, True],
    )
    assert best == 0.1 and labels == ["too_low", "healthy", "healthy", "too_high", "too_high"]
