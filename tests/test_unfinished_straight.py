"""LR003 unfinished_straight: a descent still near a straight line at an LR that never decayed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lrdoctor


def _run(loss: np.ndarray, lr) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "step": np.arange(len(loss)),
            "loss": loss + 0.003 * rng.standard_normal(len(loss)),
            "lr": lr,
        }
    )


def _lr003(frame: pd.DataFrame) -> list:
    return [f for f in lrdoctor.check(frame).runs[0].findings if f.rule == "LR003"]


T = np.arange(400)
STRAIGHT = 1.0 - 0.4 * T / len(T)  # a crawl: the same pace to the end
BENT = 0.3 + 0.7 * np.exp(-T / 200)  # still falling, but bent into its tail


def test_a_straight_descent_at_a_constant_lr_is_too_low() -> None:
    [f] = _lr003(_run(STRAIGHT, 0.05))
    assert (f.rule, f.reason, f.severity) == ("LR003", "unfinished_straight", "warning")
    assert f.limit == 0.6
    assert f.observed == pytest.approx(1.0, abs=0.15)


def test_a_bent_descent_still_falling_is_only_unfinished() -> None:
    [f] = _lr003(_run(BENT, 0.05))
    assert (f.rule, f.reason, f.severity) == ("LR003", "unfinished", "info")


def test_a_straight_peak_phase_of_a_decaying_schedule_is_only_unfinished() -> None:
    # The decay slows every run's end on purpose: only the phase at high LR is judged, and it
    # ends before the run does, so how straight it is says nothing about the budget.
    lr = 0.05 * (1 - T / len(T))
    [f] = _lr003(_run(STRAIGHT, lr))
    assert (f.rule, f.reason, f.severity) == ("LR003", "unfinished", "info")


def test_a_late_sudden_drop_is_no_crawl() -> None:
    # A plateau escaped late (the adding problem at its best LR): the last quarter falls several
    # times the average pace, as far from a straight line as a curve bent into its tail.
    late = np.where(T < 300, 1.0 - 0.1 * T / 300, 0.9 - 0.5 * (T - 300) / 100)
    [f] = _lr003(_run(late, 0.05))
    assert (f.rule, f.reason, f.severity) == ("LR003", "unfinished", "info")


def test_a_short_log_is_not_read_for_straightness() -> None:
    # Under 40 values (two a bin of the shape's 20) the last quarter's slope is a few wide bins.
    [f] = _lr003(_run(STRAIGHT[::12], 0.05))
    assert f.reason == "unfinished"


def test_a_log_that_opens_after_the_first_updates_is_not_read_for_straightness() -> None:
    # Logged every 5 steps from step 4: a good LR's steep first steps are cut off, and what is
    # left of a bent curve reads straighter than the run was (a healthy ../shared/devcorpus
    # shapes_bn run at its best LR did, rewritten so).
    frame = _run(STRAIGHT, 0.05)
    frame["step"] = 4 + 5 * frame["step"]
    [f] = _lr003(frame)
    assert (f.reason, f.severity) == ("unfinished", "info")
