"""A run whose labels are disconnected from its inputs learns nothing at any LR: where the
validation loss shows it (it rose while the training loss crawled), no rule blames the LR for
being too low, and NL001 names the data first (rules' `val_rose`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lrdoctor
from lrdoctor.detectors.direction import signs_of
from lrdoctor.detectors.learning import memorised, nothing_learned
from lrdoctor.detectors.learning_rate import lr_too_high, lr_too_low, update_ratio_low
from lrdoctor.run import run_from_frame

N, VAL_EVERY = 400, 20


def crawl(val_end: float, seed: int = 0) -> pd.DataFrame:
    """A training loss that crawls from 2.30 to 2.27 (ln 10 and a hair below) with tiny
    updates; a validation loss every 20 steps that drifts from 2.30 to `val_end`."""
    rng = np.random.default_rng(seed)
    step = np.arange(N)
    loss = np.linspace(2.30, 2.27, N) * np.exp(0.002 * rng.standard_normal(N))
    val = np.full(N, np.nan)
    at = step % VAL_EVERY == VAL_EVERY - 1
    val[at] = np.linspace(2.30, val_end, at.sum()) * np.exp(0.0005 * rng.standard_normal(at.sum()))
    return pd.DataFrame(
        {
            "step": step,
            "loss": loss,
            "lr": 1e-4,
            "grad_norm": np.exp(0.05 * rng.standard_normal(N)),
            "update_ratio": 2e-5 * np.ones(N),
            "val_loss": val,
        }
    )


def run_of(df):
    return run_from_frame(df, optimizer="sgd")


def too_low(df) -> set[tuple[str, str]]:
    [rr] = lrdoctor.check(df, optimizer="sgd").runs
    return {
        (f.rule, f.reason)
        for f in rr.findings
        if f.category == "lr_too_low" and f.severity != "info"
    }


def test_a_crawl_whose_validation_loss_falls_with_it_is_too_low():
    assert ("LR003", "barely_moved") in too_low(crawl(val_end=2.27))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_crawl_whose_validation_loss_rose_is_not_blamed_on_the_lr(seed):
    df = crawl(val_end=2.34, seed=seed)
    assert too_low(df) == set()
    run = run_of(df)
    assert lr_too_low(run) == [] and update_ratio_low(run) == []
    [evidence] = nothing_learned(run)
    assert evidence.slots["causes"][0] == "data_rose"
    assert "lr_low" not in evidence.slots["causes"]


def test_val_rose_is_a_rule_parameter_that_can_turn_the_step_aside_off():
    run = run_of(crawl(val_end=2.34))
    # A limit above every rank trend (+1 is the most a rank correlation reaches) never steps aside.
    assert [e.reason for e in lr_too_low(run, val_rose=1.0)] == ["barely_moved"]


def catapult_at_chance(end: float, val_end: float, seed: int = 0) -> pd.DataFrame:
    """A 3-class run thrown 5x up in its first steps (its first gradient 8x the later ones),
    back at ln 3 by step 30, then drifting to `end`; a validation loss every 20 steps that
    ends at `val_end`."""
    rng = np.random.default_rng(seed)
    step = np.arange(N)
    ln3 = np.log(3)
    loss = np.interp(step, [0, 3, 30, N - 1], [ln3, 5 * ln3, ln3, end])
    loss = loss * np.exp(0.002 * rng.standard_normal(N))
    val = np.full(N, np.nan)
    at = step % VAL_EVERY == VAL_EVERY - 1
    val[at] = np.interp(step[at], [0, 30, N - 1], [ln3, ln3, val_end])
    grad = np.where(step == 0, 8.0, 1.0) * np.exp(0.05 * rng.standard_normal(N))
    return pd.DataFrame(
        {"step": step, "loss": loss, "lr": 0.178, "grad_norm": grad, "val_loss": val}
    )


def lr_high_reasons(run, **params) -> list[tuple[str, float, float]]:
    return [(e.reason, e.observed, e.limit) for e in lr_too_high(run, **params)]


def test_a_dead_run_at_chance_level_is_stuck_high():
    # At ln 3 on both losses: uniform predictions, the network past its edge.
    run = run_of(catapult_at_chance(end=np.log(3), val_end=np.log(3)))
    [(reason, moved, limit)] = lr_high_reasons(run)
    assert reason == "stuck_high" and moved == pytest.approx(1.0, abs=0.01) and limit == 0.8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_run_that_memorised_its_labels_at_chance_level_is_not_blamed_on_the_lr(seed):
    # The training loss 1.2% under ln 3 (no constant prediction scores that), the validation
    # loss 4% over it: the training labels were fitted and nothing else (shuffled labels).
    run = run_of(catapult_at_chance(end=0.988 * np.log(3), val_end=1.03 * np.log(3), seed=seed))
    assert memorised(run, signs_of(run), 3, below=0.005, gap=0.015)
    assert lr_high_reasons(run) == []
    # Either limit out of reach gives the flat reason back.
    assert [r[0] for r in lr_high_reasons(run, memorised_gap=0.2)] == ["stuck_high"]
    assert [r[0] for r in lr_high_reasons(run, memorised_below=0.2)] == ["stuck_high"]


def test_a_dead_run_whose_validation_loss_sits_with_its_training_loss_is_not_memorising():
    run = run_of(catapult_at_chance(end=0.988 * np.log(3), val_end=0.99 * np.log(3)))
    assert not memorised(run, signs_of(run), 3, below=0.005, gap=0.015)
    assert [r[0] for r in lr_high_reasons(run)] == ["stuck_high"]


def test_nl001_names_the_data_first_for_a_run_that_memorised_its_labels():
    # The early jump is a high sign, but the labels' sign outranks it (LR001 steps aside too).
    # The validation loss drifted down to 3% over ln 3: it did not rise.
    frame = catapult_at_chance(end=0.988 * np.log(3), val_end=1.03 * np.log(3))
    at = frame["val_loss"].notna().to_numpy()
    frame.loc[at, "val_loss"] = np.interp(
        frame["step"][at], [0, 30, N - 1], [1.05 * np.log(3), 1.04 * np.log(3), 1.03 * np.log(3)]
    )
    run = run_of(frame)
    [evidence] = nothing_learned(run)
    assert (evidence.reason, evidence.slots["causes"][0]) == ("at_chance", "data_memorised")
    [evidence] = nothing_learned(run, memorised_gap=0.2)
    assert evidence.slots["causes"][0] != "data_memorised"
    dead = run_of(catapult_at_chance(end=np.log(3), val_end=np.log(3)))
    [evidence] = nothing_learned(dead)
    assert "data_memorised" not in evidence.slots["causes"]
