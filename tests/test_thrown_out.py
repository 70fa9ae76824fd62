"""Blow-ups told apart from a fast first fall: the gradient that fell alone, and a loss near
zero that swings below where training started."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from lrdoctor.detectors.direction import signs_of
from lrdoctor.detectors.learning_rate import lr_too_high
from lrdoctor.detectors.shape import loss_exploded
from lrdoctor.run import run_from_frame


def late_run(grad_fall: float, loss_end: float, n=120, every=5, seed=0):
    """A log every `every` steps (first row at step every-1): the loss falls from 1 to
    `loss_end`, the gradient norm from `grad_fall` to 1, both exponentially, with noise."""
    rng = np.random.default_rng(seed)
    step = np.arange(n) * every + every - 1
    decay = np.exp(-np.arange(n) / 8.0)
    loss = (loss_end + (1 - loss_end) * decay) * np.exp(0.05 * rng.standard_normal(n))
    grad = (1 + (grad_fall - 1) * decay**3) * np.exp(0.05 * rng.standard_normal(n))
    return run_from_frame(pd.DataFrame({"step": step, "loss": loss, "lr": 0.5, "grad_norm": grad}))


def test_a_gradient_that_fell_far_more_than_the_loss_is_too_high():
    run = late_run(grad_fall=300.0, loss_end=0.3)
    [ev] = lr_too_high(run)
    assert ev.reason == "gradient_outfell_loss"
    assert ev.observed >= ev.limit == 10.0
    assert ev.slots["catapult"] > 100
    assert ev.suggested_lr < 0.5


@settings(max_examples=25, deadline=None)
@given(fall=st.floats(10.0, 900.0), seed=st.integers(0, 50))
def test_a_gradient_that_fell_with_the_loss_is_not_thrown_out(fall, seed):
    # A fast first fall takes the loss and its gradient down by the same decades (below
    # thrown_catapult, which judges the first gradient alone).
    run = late_run(grad_fall=fall, loss_end=1.0 / fall, seed=seed)
    s = signs_of(run)
    assert s.grad_catapult * s.moved < 20.0
    assert [e.reason for e in lr_too_high(run)] == []


def near_zero_convex(n=600, seed=0):
    """Logistic regression on separable data at a high LR: the loss falls from ~1 to ~1e-3
    in two steps (pre-update row logged) and then swings by decades below its start."""
    rng = np.random.default_rng(seed)
    loss = np.exp(rng.normal(np.log(2e-3), 2.0, n)).clip(0, 0.6)
    loss[0], loss[1] = 1.01, 0.4
    return run_from_frame(pd.DataFrame({"step": np.arange(n), "loss": loss, "lr": 1.78}))


def test_swings_below_the_first_loss_are_no_explosion():
    run = near_zero_convex()
    assert loss_exploded(run, 10.0) is None
    assert [e.reason for e in lr_too_high(run)] not in (["loss_exploded"], ["above_range_stuck"])


def test_an_explosion_above_the_first_loss_still_counts():
    loss = np.r_[1.0, 0.8, 0.7, np.full(30, 40.0), np.linspace(5, 4, 200)]
    run = run_from_frame(pd.DataFrame({"step": np.arange(len(loss)), "loss": loss, "lr": 1.0}))
    assert loss_exploded(run, 10.0) >= 40.0


def interpolating(grad_fall: float, opening: float, n=400, seed=0):
    """A log from the pre-update row on: the loss falls from ~1.8 toward ~1e-6 (a deep net
    fitting a small training set) and its gradient norm falls by `grad_fall`; the first row
    is `opening` times the next three (1 for a fresh start)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    loss = 1.8 * np.exp(-t / 25.0) * np.exp(0.1 * rng.standard_normal(n)) + 1e-7
    loss[0] = opening * np.median(loss[1:4])
    grad = 8.0 * np.exp(-t * np.log(grad_fall) / 100.0).clip(1.0 / grad_fall)
    return run_from_frame(pd.DataFrame({"step": t, "loss": loss, "lr": 0.01, "grad_norm": grad}))


def test_a_gradient_that_fell_with_a_loss_going_to_zero_is_not_thrown_early():
    # The gradient's catapult is far past thrown_catapult, but the loss fell further still.
    run = interpolating(grad_fall=2e4, opening=1.0)
    s = signs_of(run)
    assert s.grad_catapult >= 1000 and s.grad_catapult * s.moved < 0.4
    assert "thrown_early" not in [e.reason for e in lr_too_high(run)]


def test_a_catapult_from_a_first_row_that_stands_out_is_thrown_early():
    run = interpolating(grad_fall=2e4, opening=50.0)
    [ev] = lr_too_high(run)
    assert (ev.reason, ev.limit) == ("thrown_early", 1000.0)
    assert ev.observed >= 1000
