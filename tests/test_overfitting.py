"""OF001 as data: a robust rise is a warning; one only a single low evaluation shows is info;
a rise while the training loss stopped falling is LR001's worse_as_a_whole."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lrdoctor.detectors.events import overfitting
from lrdoctor.detectors.learning_rate import lr_too_high
from lrdoctor.run import run_from_frame


def run_with_val(val: list[float], train_falls: bool = True):
    n = 1000
    steps = np.arange(n)
    loss = np.exp(-steps / 300) + 0.1 if train_falls else np.full(n, 0.5)
    vsteps = np.linspace(0, n - 1, len(val)).astype(int)
    val_col = np.full(n, np.nan)
    val_col[vsteps] = val
    return run_from_frame(pd.DataFrame({"step": steps, "loss": loss, "val_loss": val_col}))


def test_a_steady_rise_after_the_minimum_is_memorising():
    val = [1.0, 0.8, 0.6, 0.5, 0.45, 0.44, 0.47, 0.52, 0.56, 0.6, 0.63, 0.66]
    [ev] = overfitting(run_with_val(val))
    assert (ev.reason, ev.limit) == ("memorising", 0.15)
    assert ev.slots["best_val"] == 0.45  # the 3-point running median at the minimum
    assert ev.observed > 0.3


def test_a_single_low_evaluation_is_noisy_info():
    """The smoothed curve is flat; only one lucky evaluation sits 20% lower."""
    val = [0.7, 0.6, 0.52, 0.50, 0.40, 0.50, 0.51, 0.50, 0.49, 0.50, 0.51, 0.50, 0.50, 0.50]
    [ev] = overfitting(run_with_val(val))
    assert ev.reason == "noisy"
    assert ev.slots["best_val"] == 0.40
    assert ev.observed >= 0.15


def test_a_minimum_late_in_the_run_is_not_noisy_overfitting():
    val = [0.7, 0.6, 0.55, 0.52, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.38, 0.5, 0.5, 0.5]
    assert overfitting(run_with_val(val)) == []


def test_a_flat_validation_loss_is_quiet():
    assert overfitting(run_with_val([0.5] * 12)) == []


def test_a_rise_with_a_training_loss_that_stopped_falling_is_lr001_worse_as_a_whole():
    """Validation up 45% from its minimum while the training loss sat flat: LR001 names it, on
    the scale of the first training loss (a rise of 0.15 against 0.5)."""
    val = [1.0, 0.8, 0.6, 0.5, 0.45, 0.44, 0.47, 0.52, 0.56, 0.6, 0.63, 0.66]
    run = run_with_val(val, train_falls=False)
    [of] = overfitting(run)
    assert of.reason == "not_memorising"
    [ev] = lr_too_high(run)
    assert (ev.reason, ev.limit) == ("worse_as_a_whole", 0.15)
    assert ev.slots["best_val"] == 0.45 and ev.slots["share"] >= 0.15
    assert ev.step == ev.slots["val_best_step"]


def test_a_bounce_near_zero_is_not_an_lr_finding():
    """The same shape a hundred times smaller than the first training loss: noise around
    convergence, OF001's info only."""
    val = [v / 100 for v in [1.0, 0.8, 0.6, 0.5, 0.45, 0.44, 0.47, 0.52, 0.56, 0.6, 0.63, 0.66]]
    run = run_with_val(val, train_falls=False)
    assert overfitting(run)[0].reason == "not_memorising"
    assert [ev.reason for ev in lr_too_high(run)] == []


def test_memorising_is_not_an_lr_finding():
    val = [1.0, 0.8, 0.6, 0.5, 0.45, 0.44, 0.47, 0.52, 0.56, 0.6, 0.63, 0.66]
    assert [ev.reason for ev in lr_too_high(run_with_val(val))] == []


def test_a_training_loss_that_ended_above_its_start_is_not_memorising():
    """Blown up after the first evaluation and half back down: lower than around the best
    evaluation, but far above where training began, so nothing was memorised."""
    n = 1000
    steps = np.arange(n)
    loss = np.r_[0.8, np.full(99, 1e6), np.full(n - 100, 300.0)]
    val = [0.9, 300, 310, 320, 330, 340, 350, 345, 355, 350, 360, 365]
    val_col = np.full(n, np.nan)
    val_col[np.linspace(0, n - 1, len(val)).astype(int)] = val
    run = run_from_frame(pd.DataFrame({"step": steps, "loss": loss, "val_loss": val_col}))
    [ev] = overfitting(run)
    assert ev.reason == "not_memorising"
