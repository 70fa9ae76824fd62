"""`lrdoctor.Monitor`: same findings as `check`, each reported once, raise_on, the live log."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrdoctor
from lrdoctor.catalogue import load_builtin
from lrdoctor.engine import Options, check_path, plan
from lrdoctor.errors import ConfigError
from lrdoctor.monitor import ADAPTIVE, HEADROOM, WARMUP, Monitor, TrainingHealthError
from lrdoctor.readers import read_path
from lrdoctor.run import build_run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def rows(path: Path):
    """The fixture as (step, values) rows, the way a training loop would have produced them."""
    run = build_run(read_path(path, lambda names: set(names))[0])
    steps = np.unique(np.concatenate([s.step for s in run.signals.values()]))
    for step in steps:
        values = {}
        for name, s in run.signals.items():
            i = int(np.searchsorted(s.step, step))
            values[name] = float(s.value[i]) if i < len(s) and s.step[i] == step else None
        yield float(step), values


def kinds(findings):
    return sorted((f.rule, f.severity) for f in findings)


def feed(path: Path, **kwargs) -> Monitor:
    optimizer = build_run(read_path(path, lambda names: set(names))[0]).optimizer
    monitor = Monitor(optimizer=optimizer, **kwargs)
    for step, values in rows(path):
        monitor.update(step=step, **values)
    return monitor


@pytest.mark.parametrize(
    "name",
    [
        "spirals_sgd_diverge_nan.parquet",
        "blobs_momentum_diverge_nan.csv",
        "regression_sgd_diverge_nan.parquet",
        "overfit_blobs.parquet",
        "blobs_sgd_healthy.csv",
    ],
)
def test_final_evaluation_equals_check(name):
    path = FIXTURES / name
    monitor = feed(path, check_every=10**9)
    reference = check_path(path, plan(load_builtin()), Options())[0]
    assert reference.error is None
    assert kinds(monitor.report().findings) == kinds(reference.findings)


def test_stepwise_findings_are_reported_once_and_nan_comes_at_once():
    monitor = Monitor()
    new_by_step = {}
    for step, values in rows(FIXTURES / "blobs_momentum_diverge_nan.csv"):
        new_by_step[step] = monitor.update(step=step, **values)
    reported = [(f.rule, f.cause) for new in new_by_step.values() for f in new]
    assert len(reported) == len(set(reported)) and reported == [
        (f.rule, f.cause) for f in monitor.findings
    ]
    first_nan = next(s for s, new in new_by_step.items() if any(f.rule == "NF001" for f in new))
    assert first_nan == 214  # the row where the loss first became non-finite, not later
    # the diverging LR was flagged before the NaN
    early = [f for s, new in new_by_step.items() if s < 214 for f in new]
    assert any(f.category == "lr_too_high" and f.rank >= 2 for f in early)


def test_raise_on_error_raises_with_the_findings():
    monitor = Monitor(raise_on="error", check_every=10**9)
    for step in range(60):
        monitor.update(step=step, loss=1.0 / (step + 1), lr=0.1)
    with pytest.raises(TrainingHealthError) as caught:
        monitor.update(step=60, loss=float("nan"), lr=0.1)
    assert any(f.rule == "NF001" for f in caught.value.findings)
    assert all(f.severity == "error" for f in caught.value.findings)
    assert "NF001" in str(caught.value)


def test_raise_on_warning_ignores_info_and_rejects_bad_levels():
    with pytest.raises(ConfigError):
        Monitor(raise_on="fatal")
    with pytest.raises(ConfigError):
        Monitor(check_every=0)
    monitor = Monitor(rules=["NF001"], raise_on="warning", severity={"NF001": "info"})
    monitor.update(step=0, loss=float("inf"))  # info only: no exception
    assert [f.rule for f in monitor.findings] == ["NF001"]


def test_rules_selection_limits_the_catalogue():
    monitor = Monitor(rules=["NF001"])
    assert [p.rule.id for p in monitor.planned] == ["NF001"]


def test_log_path_writes_a_log_check_reads_the_same(tmp_path):
    log = tmp_path / "live.csv"
    with Monitor(log_path=log, check_every=10**9) as monitor:
        for step in range(120):
            loss = float("nan") if step >= 100 else 2.0 * 0.98**step
            monitor.update(step=step, loss=loss, lr=0.05, val_loss=loss if step % 10 == 0 else None)
        live = monitor.report()
    again = check_path(log, monitor.planned, Options())[0]
    assert again.error is None and again.n_steps == live.n_steps == 120
    assert kinds(again.findings) == kinds(live.findings)
    assert "NF001" in {f.rule for f in live.findings}


def test_lazy_export_keeps_import_light():
    assert lrdoctor.Monitor is Monitor
    with pytest.raises(AttributeError):
        lrdoctor.NoSuchThing  # noqa: B018


def test_adaptive_schedule_evaluates_logarithmically_often(monkeypatch):
    monitor = Monitor(rules=["NF001"])
    calls = []
    original = monitor.report
    monkeypatch.setattr(monitor, "report", lambda: calls.append(monitor.n_rows) or original())
    for step in range(5000):
        monitor.update(step=step, loss=1.0)
    # ~ADAPTIVE * ln(5000 / 50) evaluations, geometrically spaced, not one per step
    expected = ADAPTIVE * math.log(5000 / WARMUP)
    assert 0.8 * expected < len(calls) < 1.3 * expected
    assert calls[0] == WARMUP
    assert all(b >= a + a // ADAPTIVE for a, b in zip(calls, calls[1:], strict=False))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.floats(0.01, 10.0)), min_size=1, max_size=200))
def test_buffers_keep_the_last_write_of_each_step(entries):
    monitor = Monitor(rules=["NF001"], check_every=10**9)
    for step, loss in entries:
        monitor.update(step=step, loss=loss)
    expected = {}
    for step, loss in entries:
        expected[step] = loss
    series = monitor.run()["loss"]
    assert series.step.tolist() == sorted(expected)
    assert series.value.tolist() == [expected[s] for s in sorted(expected)]


def _slow_healthy(monitor: Monitor, n: int = 400) -> list:
    """A loss that falls slowly and steadily: whole-run judgements may fire on part of it."""
    reported = []
    for step in range(n):
        reported += monitor.update(step=step, loss=2.0 - step / (2 * n), lr=1e-5)
    return reported


def test_whole_run_categories_wait_for_the_final_check():
    held = Monitor(check_every=10)
    live = [f.category for f in _slow_healthy(held)]
    assert not set(live) & set(held.defer)
    final = held.check()
    eager = Monitor(check_every=10, defer=())
    eager_seen = {f.rule for f in _slow_healthy(eager)} | {f.rule for f in eager.check()}
    assert {f.rule for f in held.findings} == eager_seen
    assert any(f.category in held.defer for f in final)


def test_confirm_holds_a_finding_until_the_run_has_grown():
    monitor = Monitor(rules=["NF001", "LR003"], defer=(), confirm=0.5, check_every=1, warmup=1)
    first = {}
    for step in range(400):
        for f in monitor.update(step=step, loss=2.0 - step / 800, lr=1e-5):
            first[f.rule] = step
    eager = Monitor(rules=["NF001", "LR003"], defer=(), confirm=0, check_every=1, warmup=1)
    eager_first = {}
    for step in range(400):
        for f in eager.update(step=step, loss=2.0 - step / 800, lr=1e-5):
            eager_first[f.rule] = step
    assert "LR003" in eager_first and "LR003" in first
    assert first["LR003"] >= 1.5 * eager_first["LR003"] - 1


def test_a_nan_tail_does_not_evaluate_every_row(monkeypatch):
    monitor = Monitor(rules=["NF001"], check_every=1000)
    calls = []
    original = monitor.report
    monkeypatch.setattr(monitor, "report", lambda: calls.append(monitor.n_rows) or original())
    for step in range(100):
        monitor.update(step=step, loss=1.0)
    before = len(calls)
    for step in range(100, 150):
        monitor.update(step=step, loss=float("nan"))
    assert calls[before:] == [101]  # at once on the first NaN, not on every NaN row after it


# The reader's repairs of a log file (DA003: a resumed log's repeated steps) are not in the rows
# a loop feeds, so that rule has no fixture a Monitor fires on.
FED_RULES = [r for r in load_builtin() if r.fixtures.get("fires") and r.detector != "repaired_data"]


@pytest.mark.parametrize("rule", FED_RULES, ids=lambda r: r.id)
def test_monitor_given_rule_objects_honours_the_configs_severity(rule, tmp_path, monkeypatch):
    # Rule objects are planned by the session too: the project's [tool.lrdoctor] severity and
    # the caller's `severity=` override every reason's, as for selectors and `check`.
    level = "info" if rule.severity == "error" else "error"
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.lrdoctor.rules.{rule.id}]\nseverity = "{level}"\n'
    )
    monkeypatch.chdir(tmp_path)
    path = next(FIXTURES.glob(f"{rule.fixtures['fires'][0]}.*"))
    monitor = feed(path, rules=[rule], check_every=10**9)
    monitor.check()
    found = monitor.findings
    assert found and {(f.rule, f.severity) for f in found} == {(rule.id, level)}
    by_caller = Monitor(rules=[rule], severity={rule.id: "warning"}).session.planned
    assert [(p.rule.id, p.severity) for p in by_caller] == [(rule.id, "warning")]


def test_a_long_monitor_session_holds_one_runs_data():
    # 100,000 steps re-evaluated adaptively (about 38 times): what stays allocated afterwards
    # is the growing columns (at most twice the rows) and the last report, not a copy of the
    # run per evaluation (a per-run cache once kept 224 MB alive here).
    import gc
    import tracemalloc

    n = 100_000
    loss = 2.0 * np.exp(-np.arange(n) / 20_000) + 0.01 * np.sin(np.arange(n))
    monitor = Monitor()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            monitor.update(step=i, loss=float(loss[i]), lr=1e-3)
        monitor.check()  # the end of training: one more evaluation, of the whole run
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    one_run = n * 3 * 8  # step, loss and lr as float64
    assert monitor.last_report is not None and monitor.last_report.n_steps == n
    assert held < 3 * one_run, f"{held / 1e6:.1f} MB held for a {one_run / 1e6:.1f} MB run"


def test_a_detector_that_raises_is_an_outcome_in_the_monitor(monkeypatch):
    from lrdoctor import detectors

    def broken(run, **params):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(detectors.REGISTRY, "plateau", broken)
    monitor = feed(FIXTURES / "warmup_too_high.parquet", check_every=10**9)
    monitor.check()
    report = monitor.last_report
    assert [(o.rule, o.status) for o in report.detector_errors] == [("PL001", "detector_error")]
    assert "SC001" in {f.rule for f in monitor.findings}  # the other rules still reported


def _finding(severity="warning", observed=3.0, limit=1.5):
    from lrdoctor.findings import Finding

    return Finding(
        "LR001", "lr-too-high", "lr_too_high", severity, "m", "r", observed=observed, limit=limit
    )


def test_a_held_finding_is_out_only_once_stable():
    """Present at every evaluation while the run doubles, over 3 evaluations, at one severity,
    its evidence not fading: a flicker, a severity change or a fading margin starts it over or
    holds it; a non-finite value needs none of it."""
    from dataclasses import replace

    from lrdoctor.monitor import HoldBack

    def out(hold, sequence):
        return [bool(hold.ready([f] if f else [], rows, False)) for rows, f in sequence]

    f = _finding()
    assert out(HoldBack(), [(100, f), (150, f), (200, f)]) == [False, False, True]
    assert out(HoldBack(), [(100, f), (200, f)]) == [False, False]  # two evaluations only
    flicker = [(100, f), (150, None), (200, f), (300, f), (400, f)]  # counted again from 200
    assert out(HoldBack(), flicker) == [False, False, False, False, True]
    info = replace(f, severity="info")
    assert out(HoldBack(), [(100, info), (150, f), (200, f), (250, f)]) == [False] * 4
    fading = [(100, f), (150, replace(f, observed=2.5)), (200, replace(f, observed=2.0))]
    assert out(HoldBack(), fading) == [False, False, False]
    growing = [(100, f), (150, replace(f, observed=4.0)), (200, replace(f, observed=5.0))]
    assert out(HoldBack(), growing) == [False, False, True]
    nan = replace(f, category="non_finite")
    assert out(HoldBack(), [(100, nan)]) == [True]
    assert HoldBack().ready([replace(f, observed=2.0)], 120, final=True)  # the end: as check


def test_a_finding_that_escalates_is_reported_again():
    """An info finding that becomes a warning reaches raise_on (it was dropped as 'seen')."""
    from lrdoctor.monitor import HoldBack, Monitor, TrainingHealthError

    monitor = Monitor(rules=["LR001"], raise_on="warning")
    monitor._hold = HoldBack(warmup=0, defer=(), confirm=0)
    monitor.report = lambda: type("R", (), {"findings": [_finding("info")]})()
    assert [f.severity for f in monitor._evaluate(final=False)] == ["info"]
    monitor.report = lambda: type("R", (), {"findings": [_finding("warning")]})()
    with pytest.raises(TrainingHealthError):
        monitor._evaluate(final=False)
    assert [f.severity for f in monitor.findings] == ["warning"]


class _Clock:
    """A fake perf_counter: each reading advances it by `tick`; the test moves it on too."""

    def __init__(self, tick: float):
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def _budgeted_loop(monkeypatch, steps: int):
    """A simulated loop under budget=0.01 (1 ms steps, 5 ms evaluations, 1 µs per clock
    reading): (time inside update(), the loop's time, when each evaluation ended, its start)."""
    clock = _Clock(1e-6)
    monkeypatch.setattr("lrdoctor.monitor.perf_counter", clock)
    monitor = Monitor(optimizer="adamw", check_every=100, budget=0.01)
    session = type(monitor.session)
    evaluate, evaluations = session.evaluate, []

    def slow_evaluate(self, run):
        clock.now += 5e-3
        evaluations.append(clock.now)
        return evaluate(self, run)

    monkeypatch.setattr(session, "evaluate", slow_evaluate)
    start, inside = clock.now, 0.0
    for step in range(steps):
        before = clock.now
        monitor.update(step=step, loss=2.0 / (1 + step / 500) + 0.1, lr=1e-3, grad_norm=1.0)
        inside += clock.now - before
        clock.now += 1e-3
    return inside, clock.now - start, evaluations, start


def test_the_budget_is_aimed_under_its_ceiling(monkeypatch):
    # The clock inside update() misses what each call costs the caller, so the schedule aims
    # at HEADROOM of the budget: a lower headroom spends proportionally less.
    inside, elapsed, _, _ = _budgeted_loop(monkeypatch, 5_000)
    full = inside / elapsed
    monkeypatch.setattr("lrdoctor.monitor.HEADROOM", 0.5)
    inside, elapsed, _, _ = _budgeted_loop(monkeypatch, 5_000)
    half = inside / elapsed
    assert HEADROOM < 1
    assert half < 0.7 * full


def test_budget_holds_the_monitors_share_of_the_loop(monkeypatch):
    # A 1 ms training step, 5 ms per evaluation, 1 µs per clock reading: with budget=0.01 the
    # time spent inside update() stays within 1 % of the loop's, where a check every 100 rows
    # alone would evaluate 200 times (1 s of a 20 s loop).
    inside, elapsed, evaluations, start = _budgeted_loop(monkeypatch, 20_000)
    assert inside <= 0.01 * elapsed
    # ... and it still spends most of the budget on evaluations, spread over the whole run.
    assert 5e-3 * len(evaluations) >= 0.5 * 0.01 * elapsed
    assert evaluations[-1] - start > 0.9 * elapsed


@pytest.mark.parametrize("check_every", [None, 1, 7])
@pytest.mark.parametrize("warmup", [0, 1, WARMUP])
def test_the_schedule_kept_as_one_number_is_the_rule_it_stands_for(check_every, warmup):
    # update() compares one number (the rows at which the next evaluation is due) instead of
    # testing the schedule on every row: that number is the first row count the rule allows.
    monitor = Monitor(rules=["NF001"], check_every=check_every, warmup=warmup)
    for checked_at in [*range(0, 400), 4_321, 99_999, 1_000_003]:
        n = checked_at + 1
        while n < warmup or n - checked_at < (check_every or max(1, n // ADAPTIVE)):
            n += 1
        assert monitor._next_evaluation(checked_at) == n, checked_at


def test_rows_wait_as_dicts_only_up_to_a_bound(monkeypatch):
    # Without an evaluation for a long while (a large check_every, or a budget that holds them
    # back) the rows still go into the columns PENDING at a time, and none is lost.
    from lrdoctor import monitor as module

    monkeypatch.setattr(module, "PENDING", 64)
    monitor = Monitor(rules=["NF001"], check_every=10**9)
    longest = 0
    for step in range(1_000):
        monitor.update(step=step, loss=1.0 + step, lr=None if step % 3 else 0.1)
        longest = max(longest, len(monitor._pending))
    assert longest <= 64 and monitor.n_rows == 1_000
    run = monitor.run()
    assert run["loss"].value.tolist() == [1.0 + s for s in range(1_000)]
    assert run["lr"].step.tolist() == [float(s) for s in range(0, 1_000, 3)]


def test_a_budget_reads_the_clock_on_a_sample_of_the_updates(monkeypatch):
    # Under a budget most updates are not timed: one in SAMPLE is, and stands for the others.
    from lrdoctor.monitor import SAMPLE

    clock = _Clock(1e-6)
    readings = []
    monkeypatch.setattr("lrdoctor.monitor.perf_counter", lambda: readings.append(1) or clock())
    monitor = Monitor(rules=["NF001"], check_every=10**9, budget=0.01)
    for step in range(SAMPLE * 100):
        monitor.update(step=step, loss=1.0)
        clock.now += 1e-3
    assert len(readings) <= 2 * 100 + 2
    # ... each counted twice, with the untimed ones: 2 µs per update (a 1 µs clock tick).
    assert monitor._spent == pytest.approx(2e-6 * SAMPLE * 100, rel=0.05)
