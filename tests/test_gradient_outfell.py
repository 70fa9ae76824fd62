"""LR001 `gradient_outfell_loss` at its limit (`thrown_excess`): a gradient that fell far more
than the loss did, logged from the first step, before a noisy plateau."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lrdoctor.detectors.learning_rate import lr_too_high
from lrdoctor.run import run_from_frame


def _thrown_then_plateau(grad_fall: float, loss_end: float, n=300, seed=0):
    """Logged from the first step: the gradient norm falls `grad_fall`x to 1 while the loss
    falls only from 1 to `loss_end` and sits there, noisy."""
    rng = np.random.default_rng(seed)
    decay = np.exp(-np.arange(n) / 8.0)
    loss = (loss_end + (1 - loss_end) * decay) * np.exp(0.1 * rng.standard_normal(n))
    grad = (1 + (grad_fall - 1) * decay**3) * np.exp(0.05 * rng.standard_normal(n))
    frame = {"step": np.arange(n), "loss": loss, "lr": 0.1, "grad_norm": grad}
    return run_from_frame(pd.DataFrame(frame))


def test_a_gradient_that_fell_15x_more_than_the_loss_is_thrown_out():
    """Between the old limit (20, four times the highest healthy dev value) and the new one
    (10, twice the highest over logging intervals 1-25): the held-out build's deep MLP under
    Adam at 10x its best LR sat here (14.7), on a plateau at 0.29 of its first loss."""
    [ev] = lr_too_high(_thrown_then_plateau(grad_fall=50.0, loss_end=0.3))
    assert (ev.reason, ev.limit) == ("gradient_outfell_loss", 10.0)
    assert 10.0 <= ev.observed < 20.0
    assert ev.slots["catapult"] >= 40


def test_a_gradient_that_fell_with_a_fast_fall_is_not_thrown_out():
    """A healthy run's gradient shrinks with its loss: a 50x catapult with a 50x loss fall."""
    assert lr_too_high(_thrown_then_plateau(grad_fall=50.0, loss_end=0.02)) == []
