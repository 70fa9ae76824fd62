"""A run that learned nothing: which side of its family's usual best LR it sits on (at chance
level), steps that overshoot (the first-order efficiency), and a flat log that began late."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lrdoctor.detectors.learning import chance_classes, nothing_learned
from lrdoctor.detectors.learning_rate import lr_too_high, lr_too_low
from lrdoctor.run import run_from_frame

LN2 = math.log(2)


def at_chance(lr: float, *, first_step: int = 0, n: int = 140, seed: int = 0, fall=0.0):
    """A binary classifier stuck at ln 2 (a dead net, or one that never left its start), its
    gradient norm neither calm nor thrown at the first row (twice its later level)."""
    rng = np.random.default_rng(seed)
    t = first_step + 5 * np.arange(n)
    loss = LN2 * (1.0 - fall * np.arange(n) / n) + 0.004 * rng.standard_normal(n)
    grad = 0.05 * (1.0 + 0.1 * rng.standard_normal(n))
    grad[0] = 0.1
    return pd.DataFrame({"step": t, "loss": loss, "lr": lr, "grad_norm": grad})


@pytest.mark.parametrize(
    ("lr", "optimizer", "high", "low"),
    [
        (0.0178, "rmsprop", True, False),  # above adaptive_best: past the edge, units dead
        (1e-4, "rmsprop", False, True),  # below it: never left its start
        (0.56, "sgd", True, False),  # above sgd_best
        (0.0178, "sgd", False, True),  # the same LR is below SGD's usual best
        (0.0178, None, False, False),  # no family named, no update ratio: no side
    ],
)
def test_a_run_at_chance_level_sits_on_the_side_of_its_familys_usual_best(lr, optimizer, high, low):
    run = run_from_frame(at_chance(lr, fall=0.01), optimizer=optimizer)
    too_high = [(ev.reason, ev.observed, ev.limit) for ev in lr_too_high(run)]
    too_low = [ev.reason for ev in lr_too_low(run)]
    if high:
        [(reason, observed, limit)] = too_high
        assert reason == "flat_above_best" and observed == pytest.approx(lr) and observed > limit
    else:
        assert all(reason != "flat_above_best" for reason, _, _ in too_high)
    assert (bool({"flat_below_best", "no_progress"} & set(too_low))) is low
    # NL001 names the same side first among its causes.
    [ev] = nothing_learned(run)
    assert ev.reason == "at_chance" and ev.slots["classes"] == 2
    side = "lr_high" if high else "lr_low" if low else None
    assert (ev.slots["causes"][0] == side) if side else ("lr_high" not in ev.slots["causes"])


def test_a_flat_run_off_chance_level_gets_no_side_from_the_family_alone():
    frame = at_chance(0.0178)
    frame["loss"] = frame["loss"] + 0.3  # 0.99: between ln 2 and ln 3, off both windows
    run = run_from_frame(frame, optimizer="rmsprop")
    assert all(ev.reason != "flat_above_best" for ev in lr_too_high(run))
    assert all(ev.reason != "flat_below_best" for ev in lr_too_low(run))


@pytest.mark.parametrize(
    ("over_ln10", "k"),
    [
        (0.0, 10),
        (0.021, 10),  # a dead CNN's constant, not quite uniform prediction: over ln K
        (0.045, 10),  # past ln 11, but K stops at 10
        (-0.019, 10),  # batch noise under ln K
        (0.06, None),
    ],
)
def test_the_chance_window_leans_over_ln_k(over_ln10, k):
    assert chance_classes(math.log(10) * (1 + over_ln10), 0.02, 0.05, 10) == k


def test_a_level_under_ln_k_by_more_than_noise_is_not_chance():
    # 3% under ln 3 (and 46% over ln 2): something was learned
    assert chance_classes(math.log(3) * 0.97, 0.02, 0.05, 10) is None


def test_the_first_step_names_an_adam_type_run_whose_weights_blew_up():
    # An unnamed run at chance level whose later update ratio per unit of LR is SGD-like
    # (1e-2: the weights blew up) but whose first optimizer step moved the weights by ~lr /
    # rms(weights) (17 per unit of LR): Adam-type steps, so 0.1 is above its family's usual
    # best. Without the first step in the log nothing tells it from an SGD run below its own.
    lr = 0.1
    frame = at_chance(lr)
    frame["update_ratio"] = 1e-2 * lr
    frame.loc[0, "update_ratio"] = 17 * lr
    run = run_from_frame(frame)
    assert [ev.reason for ev in lr_too_high(run)] == ["flat_above_best"]
    late = run_from_frame(frame.iloc[1:].reset_index(drop=True))
    assert all(ev.reason != "flat_above_best" for ev in lr_too_high(late))


def test_a_calm_start_keeps_a_chance_level_run_out_of_flat_above_best():
    frame = at_chance(0.0178)
    frame.loc[0, "grad_norm"] = 0.05  # the first gradient no larger than the later ones
    run = run_from_frame(frame, optimizer="rmsprop")
    assert all(ev.reason != "flat_above_best" for ev in lr_too_high(run))


def overshooting(efficiency_scale: float, *, catapult: float = 10.0, n: int = 200):
    """An SGD run whose loss falls 30% while lr·|g|² predicts `efficiency_scale`⁻¹ times more."""
    t = np.arange(n)
    loss = 2.0 * (1.0 - 0.3 * t / n)
    lr = 0.5
    fall_per_step = 2.0 * 0.3 / n
    g = math.sqrt(fall_per_step / (lr * efficiency_scale))
    grad = np.full(n, g)
    grad[0] = catapult * g
    return pd.DataFrame({"step": t, "loss": loss, "lr": lr, "grad_norm": grad})


@pytest.mark.parametrize(
    ("efficiency", "catapult", "optimizer", "fires"),
    [
        (1e-5, 10.0, "sgd", True),
        (1e-3, 10.0, "sgd", False),  # within what healthy SGD runs convert
        (1e-5, 1.0, "sgd", False),  # no unit-free sign beside it
        (1e-5, 10.0, "adam", False),  # an Adam-type step is not lr·g
        (1e-5, 10.0, None, False),  # nothing says the steps are SGD-type
    ],
)
def test_overshooting_steps_need_sgd_type_steps_and_a_unit_free_sign(
    efficiency, catapult, optimizer, fires
):
    run = run_from_frame(overshooting(efficiency, catapult=catapult), optimizer=optimizer)
    found = [(ev.reason, ev.observed, ev.limit) for ev in lr_too_high(run)]
    hits = [f for f in found if f[0] == "overshooting_steps"]
    if fires:
        [(_, observed, limit)] = hits
        assert observed == pytest.approx(efficiency, rel=0.2) and limit == 1e-4
    else:
        assert hits == []


def test_overshooting_steps_of_an_unnamed_optimizer_are_info():
    """An update ratio per unit of LR far below Adam's points to SGD-type steps, but Adagrad's
    shrinking steps look the same: without the optimizer's name the efficiency is info."""
    frame = overshooting(1e-5)
    frame["update_ratio"] = 1e-3  # 2e-3 per unit of lr: not Adam-type
    [ev] = lr_too_high(run_from_frame(frame))
    assert (ev.reason, ev.limit) == ("overshooting_unnamed", 1e-4)
    assert ev.observed == pytest.approx(1e-5, rel=0.2)
    named = run_from_frame(frame, optimizer="sgd")
    assert [e.reason for e in lr_too_high(named)] == ["overshooting_steps"]


@pytest.mark.parametrize(("first_step", "reason"), [(0, "flat"), (24, "flat_late")])
def test_a_flat_log_that_began_after_unlogged_updates_is_info(first_step, reason):
    frame = at_chance(0.01, first_step=first_step)
    frame["loss"] = frame["loss"] + 1.0  # flat, not at chance level
    [ev] = nothing_learned(run_from_frame(frame))
    assert (ev.reason, ev.step) == (reason, first_step)


def test_chance_level_is_named_whenever_the_log_began():
    [ev] = nothing_learned(run_from_frame(at_chance(0.01, first_step=24)))
    assert ev.reason == "at_chance"


def test_a_calm_start_puts_the_too_low_cause_first_as_lr003_does():
    frame = at_chance(0.0178, fall=0.01)
    frame.loc[0, "grad_norm"] = 0.05
    run = run_from_frame(frame, optimizer="rmsprop")
    [ev] = nothing_learned(run)
    assert ev.slots["causes"][0] == "lr_low"
    assert [e.slots.get("sign") for e in lr_too_low(run)] == ["calm_start"]


def test_a_side_read_off_the_familys_usual_best_alone_is_a_warning_either_way():
    # The prior is weak evidence: a model whose labels are shuffled sits at chance level too.
    import lrdoctor

    for lr, category in ((0.0178, "lr_too_high"), (1e-4, "lr_too_low")):
        [rr] = lrdoctor.check(at_chance(lr, fall=0.01), optimizer="rmsprop").runs
        [finding] = [f for f in rr.findings if f.category == category]
        assert (finding.reason, finding.severity) in {
            ("flat_above_best", "warning"),
            ("flat_below_best", "warning"),
            ("no_progress", "warning"),
        }
