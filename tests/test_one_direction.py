"""A report never says the LR is both too high and too low: where a sign of each side is at
hand, the one that explains the other wins (two logs every 25 steps, as loggers without a
pre-update row write them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import lrdoctor

EVERY, N = 25, 40


def frame(loss, update_ratio, lr=5.6e-5, seed=0):
    rng = np.random.default_rng(seed)
    step = np.arange(N) * EVERY + EVERY - 1
    grad = np.exp(0.1 * rng.standard_normal(N))
    return pd.DataFrame(
        {"step": step, "loss": loss, "lr": lr, "grad_norm": grad, "update_ratio": update_ratio}
    )


def lr_findings(df):
    [run] = lrdoctor.check(df).runs
    return {
        (f.rule, f.reason, f.category)
        for f in run.findings
        if f.severity in ("warning", "error") and f.category in ("lr_too_high", "lr_too_low")
    }


def test_a_flat_crawl_above_its_first_logged_batch_is_too_low_not_too_high():
    # Updates of 5e-6 of the weights: the loss never left its level (0.45 with batch noise);
    # the one batch that opened the log happened to be low, so the end sits 1.2x above it.
    rng = np.random.default_rng(1)
    loss = 0.45 * np.exp(0.12 * rng.standard_normal(N))
    loss[0], loss[1:4] = 0.38, [0.47, 0.41, 0.44]
    loss[-4:] = [0.47, 0.46, 0.48, 0.45]
    found = lr_findings(frame(loss, 5e-6 * np.ones(N)))
    assert {c for _, _, c in found} == {"lr_too_low"}
    assert ("LR004", "barely_moved", "lr_too_low") in found


def test_tiny_updates_after_a_log_that_opened_on_a_jump_are_too_high_not_too_low():
    # The first logged loss is 30x the next rows, then a plateau: the weights were thrown out
    # before the log began (their norm grew, so the update ratio is tiny).
    rng = np.random.default_rng(2)
    loss = 1.2 * np.exp(0.05 * rng.standard_normal(N))
    loss[0] = 36.0
    found = lr_findings(frame(loss, 1e-6 * np.ones(N), lr=0.5))
    assert {c for _, _, c in found} == {"lr_too_high"}


def flat_log(first_step: int, seed=3):
    # A flat loss (2.5 with batch noise), a calm gradient, SGD at 0.01: below where SGD's best
    # usually lies. 12 rows, 25 steps apart.
    rng = np.random.default_rng(seed)
    step = first_step + 25 * np.arange(12)
    loss = 2.5 * np.exp(0.01 * rng.standard_normal(12))
    grad = np.exp(0.05 * rng.standard_normal(12))
    return pd.DataFrame({"step": step, "loss": loss, "lr": 0.01, "grad_norm": grad})


def test_a_flat_log_that_shows_its_start_is_too_low():
    [run] = lrdoctor.check(flat_log(0), optimizer="sgd").runs
    assert {f.category for f in run.findings if f.severity == "warning"} >= {"lr_too_low"}


def test_a_flat_log_that_begins_after_a_bin_of_unlogged_updates_is_not_judged_too_low():
    # Its first row comes after 24 of 299 steps (more than 1/20 of the run): the whole fall
    # may lie before it, and neither a calm first gradient nor "no progress" says crawl.
    [run] = lrdoctor.check(flat_log(24), optimizer="sgd").runs
    assert not {f for f in run.findings if f.category == "lr_too_low" and f.severity != "info"}
