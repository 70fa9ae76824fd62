"""NF001's cause as data: what the steps before the NaN show decides LR or numerical."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lrdoctor.detectors.divergence import non_finite
from lrdoctor.run import run_from_frame


def run_of(loss, grad_norm=None):
    frame = {"step": np.arange(len(loss)), "loss": loss, "lr": np.full(len(loss), 0.01)}
    if grad_norm is not None:
        frame["grad_norm"] = grad_norm
    return run_from_frame(pd.DataFrame(frame))


def test_a_few_epoch_means_that_fell_at_every_one_are_numerical():
    [ev] = non_finite(run_of([1.06, 0.69, 0.55, 0.44, np.nan]))
    assert (ev.reason, ev.slots["prefix_n"]) == ("numerical", 4)


def test_a_few_values_that_did_not_all_fall_stay_unknown():
    [ev] = non_finite(run_of([1.15, 1.16, 1.10, np.nan]))
    assert (ev.reason, ev.slots["prefix_n"]) == ("unknown", 3)


def test_two_values_are_too_few_even_when_they_fell():
    [ev] = non_finite(run_of([1.0, 0.8, np.nan]))
    assert ev.reason == "unknown"


def test_noisy_single_step_gradient_samples_that_double_by_chance_are_no_climb():
    """One step's gradient norm per logging window spreads 10x; the last three samples'
    median above twice the earlier one is within that spread."""
    rng = np.random.default_rng(0)
    n = 30
    loss = 0.5 + 0.02 * rng.standard_normal(n)
    grad = np.exp(rng.normal(0.0, 0.9, n))
    grad[-3:] = [3.5, 4.0, 3.8]
    [ev] = non_finite(run_of(np.r_[loss, np.nan], np.r_[grad, np.nan]))
    assert ev.reason == "numerical"
    assert "grad_norm" not in ev.slots["climbed"]


def test_a_gradient_norm_that_climbs_out_of_its_spread_is_the_lr():
    rng = np.random.default_rng(0)
    n = 60
    loss = 0.5 + 0.02 * rng.standard_normal(n)
    grad = 1.0 + 0.1 * rng.standard_normal(n)
    grad[-6:] = [3, 5, 9, 15, 30, 60]
    [ev] = non_finite(run_of(np.r_[loss, np.nan], np.r_[grad, np.nan]))
    assert ev.reason == "lr_too_high"
    assert "grad_norm" in ev.slots["climbed"] and ev.slots["grad_norm_rise"] > 2.0
