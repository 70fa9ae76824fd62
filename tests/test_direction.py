"""Which side of its best LR a flat run sits on: the calm-start and steady-descent signs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrdoctor
from lrdoctor.detectors import NotJudged
from lrdoctor.detectors.direction import signs_of
from lrdoctor.detectors.learning_rate import lr_too_high, lr_too_low
from lrdoctor.run import run_from_frame


def flat_run(n=200, first_grad=1.0, drift=0.1, noise=0.02, seed=0, lr=1e-3):
    """A loss that ends ~`drift` below its start (HF-style: no update ratio, grad_norm logged)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    loss = 1.0 - drift * t / n + noise * rng.standard_normal(n)
    grad = 1.0 + 0.05 * rng.standard_normal(n)
    grad[0] = first_grad
    return run_from_frame(pd.DataFrame({"step": t, "loss": loss, "lr": lr, "grad_norm": grad}))


def test_flat_run_with_a_calm_start_is_too_low():
    [ev] = lr_too_low(flat_run(noise=0.05))
    assert ev.reason == "barely_moved"
    assert ev.slots["sign"] == "calm_start"
    assert ev.slots["sign_observed"] < ev.slots["sign_limit"] == 1.5
    assert ev.suggested_lr > 1e-3  # raised, never below the run's LR


def test_flat_run_thrown_by_its_first_steps_is_not_too_low():
    run = flat_run(first_grad=8.0, noise=0.05)
    assert signs_of(run).grad_catapult >= 3.0
    assert lr_too_low(run) == []


def test_unbroken_descent_without_grad_norm_is_too_low():
    run = flat_run(noise=0.002)
    run = run_from_frame(
        pd.DataFrame({"step": run["loss"].step, "loss": run["loss"].value, "lr": 1e-3})
    )
    [ev] = lr_too_low(run)
    assert (ev.reason, ev.slots["sign"]) == ("barely_moved", "steady_descent")
    assert ev.slots["sign_observed"] <= -0.9


def test_a_run_that_learned_gets_no_flat_sign():
    t = np.arange(300)
    run = run_from_frame(
        pd.DataFrame(
            {
                "step": t,
                "loss": np.exp(-t / 40) + 0.05,
                "lr": 1e-3,
                "grad_norm": np.exp(-t / 80) + 0.1,
            }
        )
    )
    assert all(ev.reason != "barely_moved" for ev in lr_too_low(run))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), first=st.floats(0.2, 1.4), drift=st.floats(0.0, 0.14))
def test_calm_flat_runs_are_never_called_both_too_low_and_too_high(seed, first, drift):
    run = flat_run(first_grad=first, drift=drift, noise=0.05, seed=seed)
    assert not (lr_too_low(run) and lr_too_high(run))


@pytest.mark.parametrize("drift", [0.0, 0.1])
def test_flat_sign_needs_the_loss_within_flat_moved(drift):
    """A run that fell 40% is not flat: the calm start alone says nothing there."""
    run = flat_run(drift=0.4, noise=0.05)
    assert all(ev.slots.get("sign") != "calm_start" for ev in lr_too_low(run))
    assert lr_too_low(flat_run(drift=drift, noise=0.05))[0].slots["sign"] == "calm_start"


def noisy_plateau(n=60, noise=0.2, seed=1, first=None, **extra):
    """A loss on a plateau under heavy batch noise (the adding problem's trivial mean), logged
    as step + loss + lr only."""
    rng = np.random.default_rng(seed)
    loss = np.abs(1.0 + noise * rng.standard_normal(n))
    if first is not None:
        loss[0] = first
    frame = {"step": np.arange(n) * 10 + 9, "loss": loss, "lr": 1e-3, **extra}
    return run_from_frame(pd.DataFrame(frame))


def test_no_progress_beyond_the_noise_without_a_high_sign_is_too_low():
    [ev] = lr_too_low(noisy_plateau())
    assert ev.reason == "no_progress"
    assert ev.observed <= ev.limit  # the fall to the best level stays within the noise band
    assert ev.slots["moved"] >= 0.5


def _plateau_at(lr: float, optimizer: str | None):
    run = noisy_plateau()
    frame = pd.DataFrame({"step": run["loss"].step, "loss": run["loss"].value, "lr": lr})
    return run_from_frame(frame, optimizer=optimizer)


@pytest.mark.parametrize(
    ("lr", "optimizer", "called_low"),
    [
        (0.05, "sgd", True),  # below SGD's usual best (LR003 sgd_best)
        (0.3, "sgd", False),
        (1e-3, "adam", True),  # below Adam's (adaptive_best)
        (0.02, "adam", False),
        (1e-3, None, True),  # unknown: below the lowest family's
        (0.05, None, False),  # an Adam-type LR past its edge is as flat
    ],
)
def test_no_progress_is_too_low_only_below_the_familys_usual_best(lr, optimizer, called_low):
    found = [ev.reason for ev in lr_too_low(_plateau_at(lr, optimizer))]
    assert ("no_progress" in found) is called_low


def test_no_progress_after_an_opening_jump_is_not_called_too_low():
    run = noisy_plateau(first=4.0)
    assert signs_of(run).opening >= 1.5
    assert all(ev.reason != "no_progress" for ev in lr_too_low(run))


def test_a_high_opening_then_no_progress_is_too_high():
    """The plateau after a blow-up before the first logged row: LR001 takes what LR003 leaves."""
    [ev] = lr_too_high(noisy_plateau(first=4.0))
    assert (ev.reason, ev.limit) == ("opened_flat", 1.5)
    assert ev.observed >= ev.limit and ev.slots["moved"] >= 0.5
    assert lr_too_high(noisy_plateau(first=1.2)) == []  # an opening within the batch noise


def test_no_progress_with_a_gradient_catapult_is_not_called_too_low():
    grad = np.full(60, 1.0)
    grad[0] = 10.0
    assert lr_too_low(noisy_plateau(grad_norm=grad)) == []


def test_a_run_that_fell_clearly_is_never_no_progress():
    t = np.arange(60)
    run = run_from_frame(pd.DataFrame({"step": t, "loss": np.exp(-t / 10) + 0.3, "lr": 1e-3}))
    assert all(ev.reason != "no_progress" for ev in lr_too_low(run))


def test_a_jump_then_a_flat_plateau_is_too_high():
    """Thrown up early, then no steady descent: the plateau of an LR past its edge."""
    rng = np.random.default_rng(3)
    n = 300
    loss = 0.7 + 0.05 * rng.standard_normal(n) ** 2
    loss[0], loss[3:8] = 1.0, 3.0  # the jump, then a noisy plateau not far below the start
    run = run_from_frame(pd.DataFrame({"step": np.arange(n), "loss": loss, "lr": 0.1}))
    [ev] = lr_too_high(run)
    assert (ev.reason, ev.limit) == ("jumped_flat", 1.5)
    assert ev.observed >= 1.5 and ev.slots["trend"] > ev.slots["jump_trend"] == -0.5
    assert ev.slots["moved"] >= ev.slots["blowup_moved"] == 0.5


def test_a_jump_then_a_noisy_floor_far_below_the_start_is_not_a_plateau():
    """A loss near zero has a weak rank trend too, however far it fell: no plateau."""
    rng = np.random.default_rng(3)
    n = 300
    loss = 0.02 * (1 + rng.standard_normal(n) ** 2)
    loss[0], loss[3:8] = 1.0, 3.0
    run = run_from_frame(pd.DataFrame({"step": np.arange(n), "loss": loss, "lr": 0.1}))
    assert all(ev.reason != "jumped_flat" for ev in lr_too_high(run))


def test_a_jump_followed_by_a_steady_descent_is_not_jumped_flat():
    t = np.arange(300)
    loss = np.exp(-t / 80) + 0.05
    loss[3:8] = 3.0
    run = run_from_frame(pd.DataFrame({"step": t, "loss": loss, "lr": 0.1}))
    assert all(ev.reason != "jumped_flat" for ev in lr_too_high(run))


def _opening(first: float, loss_rows: str | None):
    t = np.arange(50) * 10 + 10
    loss = 1.0 * np.exp(-np.arange(50) / 10) + 0.5
    loss[0] = first * np.median(loss[1:4])
    run = run_from_frame(pd.DataFrame({"step": t, "loss": loss, "lr": 0.5}))
    if loss_rows:
        run.meta["loss_rows"] = loss_rows
    return [(ev.reason, ev.limit) for ev in lr_too_high(run)]


@pytest.mark.parametrize("rows", ["window_mean", "epoch_mean"])
@pytest.mark.parametrize(("first", "fires"), [(30.0, True), (5.0, False)])
def test_a_first_mean_far_above_the_next_is_an_explosion_before_the_log(rows, first, fires):
    """HF's logging window or an epoch averages the first steps: they went up first."""
    assert (("opened_high", 10.0) in _opening(first, rows)) is fires


def test_a_single_first_loss_far_above_the_next_may_be_a_fast_fall():
    """Logged after unlogged steps, one loss that high fits a fast first fall too: info."""
    got = _opening(30.0, None)
    assert ("opened_late", 10.0) in got and ("opened_high", 10.0) not in got


@pytest.mark.parametrize(("lr", "reason"), [(3e-5, "below_band"), (3e-3, None)])
def test_an_lr_below_every_familys_band_that_did_not_halve_the_loss_is_too_low(lr, reason):
    """Optimizer unknown: below 1e-4 no family trains best, whatever the curve's shape."""
    rng = np.random.default_rng(5)
    t = np.arange(200)
    loss = 1.0 - 0.3 * (1 - np.exp(-t / 30)) + 0.02 * rng.standard_normal(200)
    run = run_from_frame(pd.DataFrame({"step": t, "loss": loss, "lr": lr}))
    got = [(ev.reason, ev.observed, ev.limit) for ev in lr_too_low(run)]
    if reason:
        assert got == [(reason, lr, 1e-4)]
    else:
        assert all(r != "below_band" for r, _, _ in got)


@pytest.mark.parametrize(
    ("opening", "reason"),
    [(1.0, "above_range_quiet"), (2.9, "above_range_quiet"), (8.8, "above_range")],
)
def test_an_lr_above_the_optimizers_range_alone_is_a_prior_not_an_error(opening, reason):
    """Logistic regression under torch Adagrad trains best at lr=3, above the range networks
    use: with no other sign the LR is info; a log opening on a sharp fall makes it the error."""
    rng = np.random.default_rng(3)
    t = np.arange(400)
    loss = 1.1 * np.exp(-t / 60) + 0.04 + 0.01 * rng.standard_normal(400)
    loss[0] = opening * np.median(loss[1:4])
    run = run_from_frame(pd.DataFrame({"step": t, "loss": loss, "lr": 3.0}), optimizer="adagrad")
    [ev] = lr_too_high(run)
    assert (ev.reason, ev.observed, ev.limit) == (reason, 3.0, 1.0)
    assert ev.slots["opening"] == pytest.approx(opening, rel=1e-6)


def test_an_lr_above_the_range_with_no_other_sign_is_reported_as_info():
    t = np.arange(400)
    loss = 1.1 * np.exp(-t / 60) + 0.04 + 0.01 * np.random.default_rng(3).standard_normal(400)
    report = lrdoctor.check(pd.DataFrame({"step": t, "loss": loss, "lr": 3.0}), optimizer="adagrad")
    [lr001] = [f for f in report.runs[0].findings if f.rule == "LR001"]
    assert (lr001.reason, lr001.severity) == ("above_range_quiet", "info")
    assert report.exit_code() == 0


@pytest.mark.parametrize(("lr", "fires"), [(3e-3, True), (0.02, False)])
def test_adagrad_below_its_band_that_did_not_halve_the_loss_is_too_low(lr, fires):
    """Adagrad's steps shrink with its summed squared gradients: its band starts at 1e-2."""
    rng = np.random.default_rng(5)
    t = np.arange(200)
    loss = 1.0 - 0.3 * (1 - np.exp(-t / 30)) + 0.02 * rng.standard_normal(200)
    run = run_from_frame(pd.DataFrame({"step": t, "loss": loss, "lr": lr}), optimizer="adagrad")
    got = [(ev.reason, ev.observed, ev.limit) for ev in lr_too_low(run)]
    assert (("below_band", lr, 1e-2) in got) is fires


def test_a_loss_that_rose_clearly_above_its_start_is_too_high_only():
    """Flat after a high opening, then a clear rise: LR001, never also LR003's no_progress
    (torch_ood's tabular SGD+momentum at lr=1, loss and LR only, drew both)."""
    rng = np.random.default_rng(2)
    t = np.arange(300)
    loss = 1.14 + 0.21 * np.clip((t - 150) / 150, 0, 1) + 0.03 * rng.standard_normal(300)
    loss[:5] = [1.75, 1.7, 1.8, 1.72, 1.78]  # thrown up by the first steps
    frame = pd.DataFrame({"step": t, "loss": loss, "lr": 1.0})
    run = run_from_frame(frame, optimizer="sgd")
    assert [ev.reason for ev in lr_too_high(run)] in (["never_fell"], ["rose_after_best"])
    assert lr_too_low(run) == []


def test_a_run_too_short_at_its_peak_lr_is_skipped_with_the_reason_not_passed():
    """HF's default linear decay over a 60-point fine-tune: 31 loss values at >= half the
    peak LR, too few to tell a too-low LR from the schedule's slow-down."""
    t = np.arange(60)
    loss = 3.35 * np.exp(-t / 40) + 0.3 + 0.01 * np.random.default_rng(0).standard_normal(60)
    frame = pd.DataFrame({"step": t, "loss": loss, "lr": 5e-5 * (1 - t / 60)})
    [outcome] = [o for o in lrdoctor.check(frame).runs[0].outcomes if o.rule == "LR003"]
    assert outcome.status == "skipped"
    assert "31 loss values, 52% of the run (needs 40 and 25%)" in outcome.reason
    with pytest.raises(NotJudged) as why:
        lr_too_low(run_from_frame(frame))
    ev = why.value.evidence
    assert (ev.reason, ev.observed, ev.limit, ev.slots["kept"]) == (
        "short_peak_phase",
        pytest.approx(31 / 60),
        0.25,
        31,
    )


# fastai's history.csv from fit_one_cycle(8, 1e-6) on the integration suite's MLP, two shuffles:
# its train_loss is the EMA of the epoch's last batches, whose order noise is as large as the
# whole crawl, so it wiggles (and in the second ends above its start); the held-out loss falls.
FASTAI_TOO_LOW = {
    "train_loss": (
        [1.3666710, 1.3664027, 1.3668433, 1.3665066, 1.3660938, 1.3659463, 1.3660904, 1.3660817],
        [1.3664969, 1.3666927, 1.3664534, 1.3668025, 1.3663645, 1.3662583, 1.3665968, 1.3665581],
    ),
    "valid_loss": [
        1.3616738,
        1.3614945,
        1.3612727,
        1.3610830,
        1.3609400,
        1.3608558,
        1.3608210,
        1.3608159,
    ],
}


@pytest.mark.parametrize("train", FASTAI_TOO_LOW["train_loss"])
def test_a_flat_train_loss_with_an_unbroken_validation_descent_is_too_low(train):
    frame = pd.DataFrame(
        {"step": range(8), "loss": train, "val_loss": FASTAI_TOO_LOW["valid_loss"]}
    )
    run = run_from_frame(frame)
    assert signs_of(run).trend > -0.9  # the train loss alone shows no steady descent
    [ev] = lr_too_low(run)
    assert (ev.reason, ev.slots["sign"]) == ("barely_moved", "steady_val_descent")
    assert ev.slots["sign_observed"] == -1.0 and ev.slots["sign_limit"] == -0.9
    # Without the validation loss the same train loss is not judged too low.
    assert lr_too_low(run_from_frame(frame.drop(columns="val_loss"))) == []


def test_a_validation_loss_that_wiggles_gives_no_val_sign():
    train = FASTAI_TOO_LOW["train_loss"][0]
    val = FASTAI_TOO_LOW["valid_loss"][::-1][:4] + FASTAI_TOO_LOW["valid_loss"][4:]
    run = run_from_frame(pd.DataFrame({"step": range(8), "loss": train, "val_loss": val}))
    assert signs_of(run).val_trend > -0.9
    assert all(ev.slots.get("sign") != "steady_val_descent" for ev in lr_too_low(run))


def test_a_train_loss_that_rose_past_the_flat_band_gets_no_val_sign():
    """The val sign waives `moved <= 1` only within the flat band either side (1/0.85)."""
    rng = np.random.default_rng(0)
    train = 1.0 + 0.3 * np.arange(40) / 40 + 0.01 * rng.standard_normal(40)
    val = np.linspace(1.0, 0.95, 40)
    run = run_from_frame(pd.DataFrame({"step": range(40), "loss": train, "val_loss": val}))
    assert signs_of(run).moved > 1 / 0.85 and signs_of(run).val_trend <= -0.9
    assert all(ev.slots.get("sign") != "steady_val_descent" for ev in lr_too_low(run))


def test_signs_read_later_are_the_signs_and_keep_no_run_alive():
    """The column-long signs are computed when first read, from the run's own signals, and
    the signs (kept in the run's `derived`) hold no reference back to it: the run is freed as
    soon as it is dropped, without waiting for the cycle collector."""
    import gc
    import weakref

    from lrdoctor.detectors.direction import (
        _grad_catapult,
        _rank_trend,
        first_order_efficiency,
    )

    run = flat_run(first_grad=8.0)
    s = signs_of(run)
    assert s.grad_catapult == _grad_catapult(run)
    assert s.efficiency == first_order_efficiency(run)
    assert s.trend == _rank_trend(run["loss"].value)
    alive = weakref.ref(run)
    gc.disable()
    try:
        del run
        assert alive() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("noise", [0.05, 0.0005])
def test_a_thrown_run_that_learned_nothing_is_stuck_high_however_smooth_its_log(noise):
    """Window or epoch means average the batch noise away: a drift of half a percent then ranks
    as a steady descent, and must not pass for a recovery from the catapult."""
    run = flat_run(first_grad=8.0, drift=0.005, noise=noise)
    s = signs_of(run)
    assert s.moved >= 0.85
    [ev] = lr_too_high(run)
    assert (ev.reason, ev.slots["sign"]) == ("stuck_high", "grad_catapult")


def test_a_thrown_run_still_descending_beyond_the_flat_band_is_recovering():
    run = flat_run(first_grad=8.0, drift=0.17, noise=0.0005)
    s = signs_of(run)
    assert 0.8 <= s.moved < 0.85 and s.trend < -0.5
    assert all(ev.reason != "stuck_high" for ev in lr_too_high(run))
