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


def descent(to: float, ratio: float, *, jump: float = 1.0, n: int = 600):
    """Loss falling in a near-straight line from 1 to `to`, update ratio `ratio`; `jump` scales
    the loss of steps 3-10 (an early blow-up)."""
    t = np.arange(n)
    rng = np.random.default_rng(2)
    loss = 1 - (1 - to) * t / n + 0.003 * rng.standard_normal(n)
    loss[3:10] *= jump
    frame = pd.DataFrame({"step": t, "loss": loss, "lr": 1e-2, "update_ratio": ratio})
    return run_from_frame(frame)


def test_a_ratio_a_few_times_the_floor_in_a_steady_crawl_is_too_low():
    (ev,) = update_ratio_low(descent(0.6, 2e-3))
    assert (ev.reason, ev.observed, ev.limit) == ("crawling", pytest.approx(2e-3), 3e-3)
    assert ev.slots["moved"] == pytest.approx(0.62, abs=0.03)


@pytest.mark.parametrize(
    ("to", "ratio", "jump"),
    [
        (0.6, 4e-3, 1.0),  # a well-tuned ratio: several times the floor
        (0.1, 2e-3, 1.0),  # learned most of its loss with small steps: a floor, not a crawl
        (1.0, 2e-3, 1.0),  # flat: dead units take small steps too
        (0.6, 2e-3, 4.0),  # thrown in its first steps: past the edge
    ],
)
def test_a_ratio_a_few_times_the_floor_is_quiet_without_a_steady_crawl(to, ratio, jump):
    assert update_ratio_low(descent(to, ratio, jump=jump)) == []
