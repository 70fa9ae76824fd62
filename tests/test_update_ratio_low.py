"""LR004 as data: small updates are a too-low LR only on a run that has not reached its floor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lrdoctor.detectors.learning_rate import update_ratio_low
from lrdoctor.run import run_from_frame


def fell_to(floor: float, tau: float, *, optimizer=None, n: int = 800):
    """Loss from 1 toward `floor` with time constant `tau` steps; update ratio 9e-4."""
    t = np.arange(n)
    rng = np.random.default_rng(1)
    loss = floor + (1 - floor) * np.exp(-t / tau) + 0.003 * rng.standard_normal(n)
    frame = pd.DataFrame({"step": t, "loss": loss, "lr": 3e-4, "update_ratio": 9e-4})
    return run_from_frame(frame, optimizer=optimizer)


@pytest.mark.parametrize(
    ("tau", "optimizer", "fires"),
    [
        (60.0, None, False),  # cut to 11% in the first fifth, then flat: converged
        (60.0, "adagrad", True),  # Adagrad slows by design: its flat end is no floor
        (400.0, None, True),  # halved too, but still falling at the end: crawling
    ],
)
def test_a_run_that_more_than_halved_its_loss_and_stopped_has_converged(tau, optimizer, fires):
    found = update_ratio_low(fell_to(0.1, tau, optimizer=optimizer))
    assert [ev.reason for ev in found] == (["fell_little"] if fires else [])
