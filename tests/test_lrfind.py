"""lr-find: synthetic range tests whose answer is known, the guards, and the CLI contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lrdoctor.cli import app
from lrdoctor.errors import InputError
from lrdoctor.lrfind import (
    BUDGET_MEASURED,
    DEFAULT_STEPS,
    FAMILY_SHIFT,
    LANDMARK_SHIFT,
    METHODS,
    MIN_BELOW_UR_DECADES,
    RANGE_DECADES,
    SCHEMA,
    UR_BAND,
    UR_TARGET,
    analyse,
    ema_smooth,
    landmark_estimate,
    longest_descent,
    update_ratio_level,
    update_ratio_lr,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
runner = CliRunner()


def range_test(
    x0=-3.0, width=0.3, n=400, lo=-6.0, hi=1.0, blowup_at=0.0, noise=0.02, seed=0, shift=0.0
):
    """Loss = 2.3 - 2*sigmoid((log lr - x0)/width) + a blow-up past 10**blowup_at, with noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(lo, hi, n)
    loss = 2.3 - 2.0 / (1 + np.exp(-(x - x0) / width))
    loss += 0.5 * np.exp((x - blowup_at) / 0.25)
    loss += rng.normal(0, noise, n)
    return 10**x, loss + shift


def decades(a: float, b: float) -> float:
    return abs(math.log10(a / b))


def test_ema_is_bias_corrected_so_a_constant_stays_constant():
    assert np.allclose(ema_smooth(np.full(50, 3.0)), 3.0)


def test_longest_descent_skips_small_bumps():
    y = np.array([5, 4, 4.5, 3, 2, 2.2, 1, 3, 4])
    assert longest_descent(y) == (0, 6)


@settings(max_examples=25, deadline=None)
@given(st.floats(-4.5, -1.5), st.integers(0, 10_000))
def test_steepest_is_the_inflection_of_a_sigmoid_descent(x0, seed):
    lr, loss = range_test(x0=x0, seed=seed)
    r = analyse(lr, loss)
    assert decades(r.candidates["steepest"], 10**x0) < 0.3
    # valley: on the way down, between the descent and the minimum
    assert 10 ** (x0 - 1) < r.candidates["valley"] <= r.candidates["minimum"]
    # the sigmoid is half-way down at x0
    assert decades(r.candidates["half_drop"], 10**x0) < 0.2
    # the blow-up passes the start level (2.3) at log lr = 0.25 ln 4 = 0.35
    assert r.suggested_lr is not None and decades(r.candidates["edge"], 10**0.35) < 0.15


def test_minimum_and_min_div10_sit_at_the_fitted_minimum():
    lr, loss = range_test(x0=-3, blowup_at=-1.0, noise=0.005)
    r = analyse(lr, loss)
    x = np.log10(lr)
    truth = 2.3 - 2.0 / (1 + np.exp(-(x + 3) / 0.3)) + 0.5 * np.exp((x + 1) / 0.25)
    assert decades(r.candidates["minimum"], lr[np.argmin(truth)]) < 0.15
    assert r.candidates["min_div10"] == pytest.approx(r.candidates["minimum"] / 10)


def test_the_default_is_the_mean_of_the_moved_landmarks_with_its_range():
    lr, loss = range_test(x0=-3, blowup_at=-1.5, noise=0.005)
    r = analyse(lr, loss)
    moved = [math.log10(r.candidates[k]) + d for k, d in LANDMARK_SHIFT.items()]
    assert r.method == "landmarks" and r.confidence == "medium" and r.notes == []
    assert math.log10(r.raw_lr) == pytest.approx(np.mean(moved))
    assert r.spread_decades == pytest.approx(max(moved) - min(moved))
    low, high = r.suggested_lr_range
    assert math.log10(r.raw_lr / low) == pytest.approx(RANGE_DECADES)
    assert math.log10(high / r.raw_lr) == pytest.approx(RANGE_DECADES)
    assert r.suggested_lr == pytest.approx(r.raw_lr, rel=0.5)


@settings(max_examples=20, deadline=None)
@given(st.floats(-3.0, 3.0), st.floats(0.01, 100.0), st.integers(0, 10_000))
def test_scaling_the_loss_changes_nothing_and_scaling_the_lr_moves_the_suggestion(
    log_k, scale, seed
):
    lr, loss = range_test(x0=-3, blowup_at=-0.5, seed=seed)
    base = analyse(lr, loss)
    scaled = analyse(lr, loss * scale)
    moved = analyse(lr * 10**log_k, loss)
    assert scaled.raw_lr == pytest.approx(base.raw_lr, rel=1e-6)
    assert scaled.notes == base.notes and scaled.confidence == base.confidence
    assert math.log10(moved.raw_lr / base.raw_lr) == pytest.approx(log_k, abs=1e-6)
    for name, value in base.candidates.items():
        if value is None:  # update_ratio: this log has none
            assert moved.candidates[name] is None
            continue
        assert math.log10(moved.candidates[name] / value) == pytest.approx(log_k, abs=1e-6)


def test_early_spikes_do_not_make_the_steepest_descent():
    lr, loss = range_test(x0=-2.5, seed=3)
    clean = analyse(lr, loss).candidates["steepest"]
    spiky = loss.copy()
    spiky[[60, 61, 90, 120]] += 6.0  # bad batches early in the test, on the flat start
    r = analyse(lr, spiky)
    assert decades(r.candidates["steepest"], 10**-2.5) < 0.3
    assert decades(r.candidates["steepest"], clean) < 0.3


def test_flat_curve_gives_no_suggestion_and_says_why():
    rng = np.random.default_rng(1)
    lr = np.geomspace(1e-6, 1e-2, 300)
    r = analyse(lr, 0.3 + rng.normal(0, 0.05, 300))
    assert r.suggested_lr is None and r.method == "none"
    assert any("flat curve" in n for n in r.notes)


def test_short_range_says_extend_and_the_edge_is_the_last_lr():
    lr, loss = range_test(x0=-3, hi=-2.5, blowup_at=5)
    r = analyse(lr, loss)
    assert any("extend the range to higher LRs" in n for n in r.notes)
    assert decades(r.candidates["edge"], lr[-1]) < 0.05
    assert r.confidence == "low"


def test_a_test_with_few_steps_is_noted_as_short():
    lr, loss = range_test(x0=-3, blowup_at=-0.5, n=60, noise=0.005)
    r = analyse(lr, loss)
    assert any(n.startswith("short test: 60 steps") for n in r.notes)
    assert r.suggested_lr is not None and r.confidence == "low"


def test_a_test_that_climbs_too_fast_is_noted():
    # 60 steps over 7 decades: 8.4 steps per decade
    lr, loss = range_test(x0=-3, blowup_at=-0.5, n=60, noise=0.005)
    r = analyse(lr, loss)
    assert r.steps_per_decade == pytest.approx(59 / 7)
    assert any(n.startswith("fast test: 8.4 steps per decade") for n in r.notes)
    slow = analyse(*range_test(x0=-3, blowup_at=-0.5, n=400))
    assert not any(n.startswith(("fast", "short")) for n in slow.notes)


def test_a_flat_bottom_is_noted_with_its_extent():
    # falls to its floor by 1e-3, stays there for two decades, then blows up
    lr, loss = range_test(x0=-4, width=0.2, blowup_at=0.0, noise=0.005)
    r = analyse(lr, loss)
    note = next(n for n in r.notes if n.startswith("flat bottom"))
    # the sigmoid is within 10 % of its floor from x0 + 0.2 ln 9 = -3.56 (2.8e-4) on
    assert "from 3.2e-4 to 0.524" in note and r.confidence == "low"
    steep = analyse(*range_test(x0=-3, blowup_at=-1.5, noise=0.005))
    assert not any(n.startswith("flat bottom") for n in steep.notes)


def test_negative_losses_are_handled_like_shifted_positive_ones():
    lr, loss = range_test(x0=-3, blowup_at=-0.5, seed=2)
    pos = analyse(lr, loss)
    neg = analyse(lr, loss, method="steepest")
    shifted = analyse(lr, loss - 10.0, method="steepest")
    assert shifted.suggested_lr == neg.suggested_lr
    assert decades(shifted.candidates["minimum"], pos.candidates["minimum"]) < 0.2


def test_the_test_is_cut_at_the_first_non_finite_loss():
    lr, loss = range_test(x0=-3, blowup_at=-0.5)
    loss[-40:] = np.nan
    r = analyse(lr, loss)
    assert r.lr.max() < lr[-40] and r.suggested_lr is not None


@pytest.mark.parametrize(
    "lr",
    [
        np.full(100, 1e-3),  # constant: a training run, not a range test
        np.geomspace(1e-1, 1e-6, 100),  # falling
        np.concatenate([np.geomspace(1e-6, 1e-2, 50), np.geomspace(1e-2, 1e-6, 50)]),
        np.linspace(1e-3, 1.5e-3, 100),  # rising, but not even a decade
    ],
)
def test_an_lr_that_does_not_increase_is_not_a_range_test(lr):
    with pytest.raises(InputError, match="not an LR range test"):
        analyse(lr, np.ones(len(lr)))


def test_too_few_points_and_unknown_method_are_input_errors():
    with pytest.raises(InputError, match="needs 20"):
        analyse(np.geomspace(1e-5, 1, 10), np.ones(10))
    lr, loss = range_test()
    with pytest.raises(InputError, match="unknown method"):
        analyse(lr, loss, method="magic")


@pytest.mark.parametrize("method", METHODS)
def test_every_method_suggests_a_human_number_no_higher_than_the_edge(method):
    lr, loss = range_test(x0=-2, blowup_at=-0.5)
    r = analyse(lr, loss, method=method, update_ratio=3.0 * lr)
    mant = r.suggested_lr / 10 ** math.floor(math.log10(r.suggested_lr) + 1e-12)
    assert round(mant, 6) in (1, 2, 3, 5)
    assert r.raw_lr <= r.candidates["edge"] * (1 + 1e-9)
    assert r.method == method


def write_csv(path: Path, lr, loss) -> Path:
    lines = ["step,lr,loss"] + [
        f"{i},{float(a)!r},{float(b)!r}" for i, (a, b) in enumerate(zip(lr, loss, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_json_contract(tmp_path):
    lr, loss = range_test(x0=-3, blowup_at=-1.5, noise=0.005)
    result = runner.invoke(
        app, ["lr-find", str(write_csv(tmp_path / "rt.csv", lr, loss)), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {
        "schema",
        "source",
        "suggested_lr",
        "suggested_lr_range",
        "method",
        "candidates",
        "confidence",
        "steps_per_decade",
        "notes",
    } <= set(data)
    assert data["schema"] == SCHEMA and data["method"] == "landmarks"
    assert set(data["candidates"]) == set(METHODS[1:])
    low, high = data["suggested_lr_range"]
    assert low < data["raw_lr"] < high <= data["candidates"]["edge"]
    assert data["confidence"] == "medium"


def test_cli_text_shows_plot_candidates_and_choice(tmp_path):
    lr, loss = range_test(x0=-3, blowup_at=-0.5)
    result = runner.invoke(
        app, ["lr-find", str(write_csv(tmp_path / "rt.csv", lr, loss)), "--method", "steepest"]
    )
    assert result.exit_code == 0
    assert "suggested LR: 0.001 (steepest" in result.stdout
    assert "│ suggested = 0.001" in result.stdout and "(log x)" in result.stdout
    for name in METHODS[1:]:
        assert f"  {name}" in result.stdout


def test_cli_flat_curve_exits_0_with_null(tmp_path):
    lr = np.geomspace(1e-6, 1e-2, 200)
    loss = 0.3 + np.random.default_rng(0).normal(0, 0.05, 200)
    result = runner.invoke(
        app, ["lr-find", str(write_csv(tmp_path / "f.csv", lr, loss)), "--format", "json"]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["suggested_lr"] is None


def test_cli_not_a_range_test_exits_2_with_one_line(tmp_path):
    path = write_csv(tmp_path / "train.csv", np.full(200, 0.01), np.linspace(2, 1, 200))
    result = runner.invoke(app, ["lr-find", str(path)])
    assert result.exit_code == 2
    assert "not an LR range test" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_cli_missing_file_exits_2():
    result = runner.invoke(app, ["lr-find", "does-not-exist.csv"])
    assert result.exit_code == 2 and "does-not-exist.csv" in result.stderr


def test_trainer_fixtures():
    short = runner.invoke(
        app, ["lr-find", str(FIXTURES / "range_test_too_short.parquet"), "--format", "json"]
    )
    assert short.exit_code == 0
    assert any("extend the range" in n for n in json.loads(short.stdout)["notes"])
    spirals = runner.invoke(
        app, ["lr-find", str(FIXTURES / "range_test_spirals_sgd.parquet"), "--format", "json"]
    )
    data = json.loads(spirals.stdout)
    # the trainer's spirals/SGD sweep is best at 0.1-1 (fixtures/sweeps.csv)
    assert data["method"] == "landmarks" and 0.01 <= data["suggested_lr"] <= 1.0


def test_no_descent_but_a_blow_up_gives_the_moved_edge_with_low_confidence():
    """A test started too high: flat, then blown up. The edge alone, moved by its offset."""
    rng = np.random.default_rng(2)
    lr = np.geomspace(1e-3, 10, 300)
    loss = 0.7 + rng.normal(0, 0.01, 300)
    loss[250:] *= np.exp(np.arange(50) * 0.3)  # blows up from lr ≈ 2.2
    r = analyse(lr, loss)
    assert r.candidates["valley"] is None  # nothing to read a descent from
    assert (r.method, r.confidence, r.offsets) == ("landmarks", "low", "all")
    guess = r.candidates["edge"] * 10 ** LANDMARK_SHIFT["edge"]
    assert r.raw_lr == pytest.approx(guess)
    low, high = r.suggested_lr_range
    assert low == pytest.approx(guess / 10**RANGE_DECADES)
    assert high == pytest.approx(min(r.candidates["edge"], guess * 10**RANGE_DECADES))
    assert any(n.startswith("no descent") for n in r.notes)
    assert r.to_dict()["suggested_lr_range"] == [low, high]


def test_a_flat_curve_that_never_rose_still_names_no_lr():
    rng = np.random.default_rng(4)
    lr = np.geomspace(1e-6, 1e-2, 300)
    r = analyse(lr, 0.7 + rng.normal(0, 0.01, 300))
    assert (r.suggested_lr, r.raw_lr, r.method, r.confidence) == (None, None, "none", "low")


@pytest.mark.parametrize("family", ["sgd", "adam"])
def test_a_named_family_uses_its_measured_offsets(family):
    lr, loss = range_test(x0=-3, blowup_at=-1.5, noise=0.005)
    r = analyse(lr, loss, family=family)
    moved = [math.log10(r.candidates[k]) + d for k, d in FAMILY_SHIFT[family].items()]
    assert (r.offsets, r.shift) == (family, FAMILY_SHIFT[family])
    assert math.log10(r.raw_lr) == pytest.approx(np.mean(moved))
    assert r.to_dict()["offsets"] == family


def test_adam_type_offsets_sit_below_sgd_type_and_unmeasured_families_pool():
    lr, loss = range_test(x0=-3, blowup_at=-1.5, noise=0.005)
    sgd, adam = analyse(lr, loss, family="sgd"), analyse(lr, loss, family="adam")
    assert adam.raw_lr < analyse(lr, loss).raw_lr < sgd.raw_lr
    pooled = analyse(lr, loss, family="adagrad")
    assert (pooled.offsets, pooled.shift) == ("all", LANDMARK_SHIFT)
    assert pooled.raw_lr == analyse(lr, loss).raw_lr


def test_lr_find_optimizer_option_picks_the_family_offsets(tmp_path):
    lr, loss = range_test(x0=-3, blowup_at=-1.5, noise=0.005)
    path = write_csv(tmp_path / "rt.csv", lr, loss)

    def offsets(*extra):
        out = runner.invoke(app, ["lr-find", str(path), "--format", "json", *extra])
        assert out.exit_code == 0
        return json.loads(out.stdout)["offsets"]

    assert (offsets(), offsets("--optimizer", "adamw"), offsets("--optimizer", "sgd")) == (
        "all",
        "adam",
        "sgd",
    )
    # a log that names its optimizer keeps it (--optimizer is the fallback, as in check)
    named = FIXTURES / "range_test_spirals_sgd.parquet"
    out = runner.invoke(app, ["lr-find", str(named), "--format", "json", "--optimizer", "adam"])
    assert json.loads(out.stdout)["offsets"] == "sgd"
    bad = runner.invoke(app, ["lr-find", str(path), "--optimizer", "frobnicate"])
    assert bad.exit_code == 2


def test_update_ratio_candidate_is_where_the_ratio_reaches_its_level():
    """ur = c * lr (SGD with a steady gradient): it reaches 10**UR_TARGET at 10**UR_TARGET / c,
    and the default is the geometric mean of that LR and the moved landmarks."""
    lr, loss = range_test(x0=-3, blowup_at=-1.5, noise=0.005)
    c = 30.0
    r = analyse(lr, loss, update_ratio=c * lr)
    assert math.log10(r.candidates["update_ratio"]) == pytest.approx(UR_TARGET - math.log10(c))
    log_landmarks, _ = landmark_estimate(r.candidates, LANDMARK_SHIFT)
    expected = (log_landmarks + UR_TARGET - math.log10(c)) / 2
    assert math.log10(r.raw_lr) == pytest.approx(expected)
    assert (r.method, r.confidence) == ("landmarks", "medium")
    # without the column the default is the landmarks alone
    plain = analyse(lr, loss)
    assert plain.candidates["update_ratio"] is None
    assert math.log10(plain.raw_lr) == pytest.approx(log_landmarks)


@pytest.mark.parametrize("gap", [MIN_BELOW_UR_DECADES - 0.5, MIN_BELOW_UR_DECADES + 0.5])
def test_a_minimum_far_below_where_the_steps_reach_a_tuned_size_gives_the_update_ratio_lr(gap):
    """A curve that bottoms out early and blows up much later: when its minimum lies more than
    MIN_BELOW_UR_DECADES below the update-ratio LR, that LR alone is the suggestion; closer,
    the two estimates are averaged."""
    lr, loss = range_test(x0=-4, blowup_at=-0.5, noise=0.005)
    minimum = analyse(lr, loss).candidates["minimum"]
    ur_lr = minimum * 10**gap
    r = analyse(lr, loss, update_ratio=lr * 10**UR_TARGET / ur_lr)
    assert r.candidates["minimum"] == minimum
    assert r.candidates["update_ratio"] == pytest.approx(ur_lr)
    assert ur_lr < r.candidates["edge"]  # not capped: the rule alone decides
    log_landmarks, _ = landmark_estimate(r.candidates, LANDMARK_SHIFT)
    alone = gap > MIN_BELOW_UR_DECADES
    expected = math.log10(ur_lr) if alone else (log_landmarks + math.log10(ur_lr)) / 2
    assert math.log10(r.raw_lr) == pytest.approx(expected)
    assert any(n.startswith("the loss bottomed out") for n in r.notes) == alone
    # the threshold is a parameter: past the gap, the mean again
    wide = analyse(lr, loss, update_ratio=lr * 10**UR_TARGET / ur_lr, min_below_ur=gap + 0.1)
    assert math.log10(wide.raw_lr) == pytest.approx((log_landmarks + math.log10(ur_lr)) / 2)


def test_no_descent_but_an_update_ratio_gives_the_update_ratio_lr_with_medium_confidence():
    """The update-ratio LR needs no descent: alone it keeps the default's confidence."""
    rng = np.random.default_rng(2)
    lr = np.geomspace(1e-3, 10, 300)
    loss = 0.7 + rng.normal(0, 0.01, 300)
    loss[250:] *= np.exp(np.arange(50) * 0.3)  # blows up from lr ≈ 2.2
    r = analyse(lr, loss, update_ratio=0.1 * lr)
    assert r.candidates["valley"] is None and r.candidates["update_ratio"] < r.candidates["edge"]
    assert r.raw_lr == pytest.approx(10**UR_TARGET / 0.1)
    assert (r.method, r.confidence) == ("landmarks", "medium")
    assert any(n.startswith("no descent") and "update ratio" in n for n in r.notes)


def test_update_ratio_ignores_spikes_and_gaps_and_needs_three_steps_near_the_level():
    lr = np.geomspace(1e-6, 1.0, 300)
    ur = 10.0 * lr
    clean = update_ratio_lr(lr, ur)
    spiky = ur.copy()
    near = np.nonzero(np.abs(np.log10(ur) - UR_TARGET) < UR_BAND)[0]
    spiky[near[::7]] *= 50.0  # a few steps with a huge update
    gappy = ur.copy()
    gappy[::2] = np.nan  # logged every other step
    assert math.log10(clean) == pytest.approx(UR_TARGET - 1.0)
    assert decades(update_ratio_lr(lr, spiky), clean) < 0.05
    assert decades(update_ratio_lr(lr, gappy), clean) < 0.01
    # a ratio that never comes within UR_BAND of the level names no LR
    assert update_ratio_lr(lr, np.full(300, 10 ** (UR_TARGET - 2 * UR_BAND))) is None
    assert update_ratio_lr(lr, None) is None
    # update_ratio_level is its inverse: the level at the LR it named is the target
    assert update_ratio_level(lr, ur, clean) == pytest.approx(UR_TARGET)


def test_the_update_ratio_moves_with_the_lr_when_every_lr_is_scaled():
    """The ratio is read per step, so multiplying every LR by k multiplies its LR by k too."""
    lr, loss = range_test(x0=-3, blowup_at=-0.5, seed=5)
    ur = 10 * lr * (1 + 0.1 * np.sin(np.arange(len(lr))))
    base = analyse(lr, loss, update_ratio=ur)
    moved = analyse(lr * 100, loss, update_ratio=ur)
    assert math.log10(moved.candidates["update_ratio"] / base.candidates["update_ratio"]) == (
        pytest.approx(2.0)
    )
    assert math.log10(moved.raw_lr / base.raw_lr) == pytest.approx(2.0)


def test_a_logged_update_ratio_reaches_the_cli(tmp_path):
    lr, loss = range_test(x0=-3, blowup_at=-1.5, noise=0.005)
    lines = ["step,lr,loss,update_ratio"] + [
        f"{i},{float(a)!r},{float(b)!r},{float(3 * a)!r}"
        for i, (a, b) in enumerate(zip(lr, loss, strict=True))
    ]
    (tmp_path / "rt.csv").write_text("\n".join(lines) + "\n")
    out = runner.invoke(app, ["lr-find", str(tmp_path / "rt.csv"), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["candidates"]["update_ratio"] == pytest.approx(10**UR_TARGET / 3, rel=1e-6)
    direct = analyse(lr, loss, update_ratio=3 * lr)
    assert data["raw_lr"] == pytest.approx(direct.raw_lr, rel=1e-9)


def test_no_descent_update_ratio_lr_is_bounded_by_the_highest_lr_survived_not_the_edge():
    """With no descent the edge is where a plateau drifted over its start level: the
    update-ratio LR may lie above it (plain SGD on the adding problem), never above the
    highest LR the test survived."""
    rng = np.random.default_rng(3)
    lr = np.geomspace(1e-3, 10, 300)
    loss = 0.7 + rng.normal(0, 0.01, 300)
    loss[200:] += np.linspace(0, 0.3, 100)  # climbs clearly, never blows up
    ur_lr = 2.0
    r = analyse(lr, loss, update_ratio=lr * 10**UR_TARGET / ur_lr)
    assert r.candidates["valley"] is None and r.candidates["edge"] < ur_lr
    assert r.raw_lr == pytest.approx(ur_lr)
    assert not any("capped there" in n for n in r.notes)
    assert r.suggested_lr_range[1] <= lr[-1]
    # a ratio that reaches a tuned run's level only past every LR tried is capped at the top
    beyond = analyse(lr, loss, update_ratio=lr * 10**UR_TARGET / 30.0)
    assert beyond.raw_lr == pytest.approx(lr[-1], rel=0.05)
    assert any("highest LR the test survived" in n for n in beyond.notes)


def test_every_note_has_a_code_and_short_fast_flat_are_data():
    short_fast = analyse(*range_test(x0=-3, blowup_at=-0.5, n=60, noise=0.005))
    assert len(short_fast.note_codes) == len(short_fast.notes)
    assert {"short_test", "fast_test"} <= set(short_fast.note_codes)
    noise = np.random.default_rng(0).normal(0, 0.05, 200)
    flat = analyse(np.geomspace(1e-6, 1e-2, 200), 0.3 + noise)
    assert "flat_curve" in flat.note_codes and flat.suggested_lr is None
    slow = analyse(*range_test(x0=-3, blowup_at=-0.5, n=400))
    assert not {"short_test", "fast_test", "flat_curve"} & set(slow.note_codes)
    assert len(slow.note_codes) == len(slow.notes) and slow.budget_steps == DEFAULT_STEPS


def test_a_stated_budget_is_recorded_but_does_not_move_the_suggestion():
    # measured on the development corpus (DEFAULT_STEPS): no rule moves the best LR with budget
    lr, loss = range_test(x0=-3, blowup_at=-0.5)
    base = analyse(lr, loss)
    for steps, inside in ((100, True), (50_000, False)):
        told = analyse(lr, loss, steps=steps)
        assert (told.budget_steps, told.budget_source) == (steps, "--steps")
        assert told.raw_lr == base.raw_lr and told.suggested_lr_range == base.suggested_lr_range
        assert told.note_codes == [*base.note_codes, "budget"]
        assert told.confidence == base.confidence
        assert (BUDGET_MEASURED[0] <= steps <= BUDGET_MEASURED[1]) == inside
        assert (f"{steps} steps lie outside" in told.notes[-1]) == (not inside)
    assert (base.budget_steps, base.budget_source) == (DEFAULT_STEPS, "default")


def test_cli_states_the_assumed_budget_in_json_and_text(tmp_path):
    path = str(write_csv(tmp_path / "rt.csv", *range_test(x0=-3, blowup_at=-1.5, noise=0.005)))
    default = json.loads(runner.invoke(app, ["lr-find", path, "--format", "json"]).stdout)
    assert (default["budget_steps"], default["budget_source"]) == (DEFAULT_STEPS, "default")
    assert default["schema"] == SCHEMA and default["note_codes"] == []
    told = runner.invoke(app, ["lr-find", path, "--format", "json", "--steps", "5000"])
    data = json.loads(told.stdout)
    assert (data["budget_steps"], data["budget_source"]) == (5000, "--steps")
    assert data["note_codes"] == ["budget"] and data["raw_lr"] == default["raw_lr"]
    text = runner.invoke(app, ["lr-find", path]).stdout
    assert f"assumes {DEFAULT_STEPS} steps of training (the default" in text
    assert "assumes 5000 steps" in runner.invoke(app, ["lr-find", path, "--steps", "5000"]).stdout
    import inspect

    from lrdoctor.commands.sweep import lr_find_command

    option = inspect.signature(lr_find_command).parameters["steps"].default
    assert f"(default: assumes {DEFAULT_STEPS}," in option.help  # what --help prints
    bad = runner.invoke(app, ["lr-find", path, "--steps", "0"])
    assert bad.exit_code == 2


def test_cli_short_fast_notes_reach_json_and_text(tmp_path):
    lr, loss = range_test(x0=-3, blowup_at=-0.5, n=60, noise=0.005)
    path = str(write_csv(tmp_path / "short.csv", lr, loss))
    data = json.loads(runner.invoke(app, ["lr-find", path, "--format", "json"]).stdout)
    assert {"short_test", "fast_test"} <= set(data["note_codes"])
    text = " ".join(runner.invoke(app, ["lr-find", path], terminal_width=400).stdout.split())
    for note in data["notes"]:
        assert " ".join(note.split()) in text


def test_a_curve_that_never_turned_up_keeps_its_landmarks_without_the_update_ratio():
    """Its minimum and edge are lower bounds at the range's top: an update-ratio LR far under
    them is not averaged in, while the same curve cut after it turned up averages both."""
    lr, loss = range_test(x0=-1.5, blowup_at=5.0, noise=0.005)
    plain = analyse(lr, loss)
    assert "never_turned_up" in plain.note_codes
    ur_lr = plain.candidates["minimum"] / 100
    r = analyse(lr, loss, update_ratio=lr * 10**UR_TARGET / ur_lr)
    assert r.candidates["update_ratio"] == pytest.approx(ur_lr)
    assert r.raw_lr == pytest.approx(plain.raw_lr)
    lr, loss = range_test(x0=-1.5, blowup_at=0.5, noise=0.005)
    landmarks = analyse(lr, loss)
    ur_lr = landmarks.candidates["minimum"] / 3
    turned = analyse(lr, loss, update_ratio=lr * 10**UR_TARGET / ur_lr)
    assert "never_turned_up" not in turned.note_codes
    expected = (math.log10(landmarks.raw_lr) + math.log10(ur_lr)) / 2
    assert math.log10(turned.raw_lr) == pytest.approx(expected)
