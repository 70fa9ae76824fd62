"""A run whose labels are disconnected from its inputs learns nothing at any LR: where the
validation loss shows it (it rose while the training loss crawled), no rule blames the LR for
being too low, and NL001 names the data first (rules' `val_rose`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lrdoctor
from lrdoctor.detectors.learning import nothing_learned
from lrdoctor.detectors.learning_rate import lr_too_low, update_ratio_low
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
