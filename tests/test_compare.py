"""compare: LR from names, the U curve's bottom and edge, the notes, and the CLI contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from lrdoctor.cli import app
from lrdoctor.compare import SCHEMA, RunSummary, compare_runs, lr_from_name

runner = CliRunner()


@pytest.mark.parametrize(
    ("name", "lr"),
    [
        ("run_lr=0.01.csv", 0.01),
        ("adam_lr0.003.parquet", 0.003),
        ("lr_1e-3.csv", 1e-3),
        ("sgd-LR-3e-4-seed1.csv", 3e-4),
        ("lr1.parquet", 1.0),
        ("model.csv", None),
        ("clr=0.1.csv", None),
    ],
)
def test_lr_from_name(name, lr):
    assert lr_from_name(name) == lr


def summary(lr, final, **kw) -> RunSummary:
    return RunSummary(source=f"lr{lr:g}.csv", lr=lr, final_loss=final, best_loss=final, **kw)


def u_curve(lrs, best=1e-2):
    return [summary(lr, 0.1 + (math.log10(lr / best)) ** 2) for lr in lrs]


def test_best_and_suggestion_at_the_bottom_of_a_symmetric_u():
    r = compare_runs(u_curve([1e-4, 1e-3, 1e-2, 1e-1, 1.0]))
    assert r.best_lr == 1e-2 and r.suggested_lr == 1e-2 and r.stable_edge_lr == 1.0
    assert r.notes == []


def test_the_parabola_sits_between_a_best_and_its_nearly_as_good_neighbour():
    runs = [summary(1e-4, 0.9), summary(1e-3, 0.3), summary(1e-2, 0.31), summary(1e-1, 0.8)]
    r = compare_runs(runs)
    # through (-4, 0.9), (-3, 0.3), (-2, 0.31): d1 = -0.6, d2 = 0.01, c = 0.305
    vertex = -3.5 + 0.6 / (2 * 0.305)
    assert r.best_lr == 1e-3
    assert math.log10(r.interpolated_lr) == pytest.approx(vertex)
    assert r.raw_suggested_lr == r.interpolated_lr and r.suggested_lr == 3e-3


def test_the_parabola_is_clipped_to_the_bracket_and_needs_a_convex_finite_bottom():
    # a convex bracket's vertex lies within half a step of the best: here at the upper end
    lopsided = [summary(1e-3, 1.0), summary(1e-2, 0.1), summary(1e-1, 0.1)]
    assert math.log10(compare_runs(lopsided).interpolated_lr) == pytest.approx(-1.5)
    flat = [summary(1e-3, 0.1), summary(1e-2, 0.1), summary(1e-1, 0.1)]
    assert compare_runs(flat).interpolated_lr == 1e-3  # no curvature: stays on the best
    diverged = [summary(1e-3, 0.5), summary(1e-2, 0.1), summary(1e-1, math.inf)]
    assert compare_runs(diverged).interpolated_lr == 1e-2


@given(
    st.floats(-3.4, -1.6),
    st.lists(st.sampled_from([1e-4, 1e-3, 1e-2, 0.1, 1.0]), min_size=3, unique=True),
)
def test_the_parabola_recovers_the_bottom_of_a_quadratic_u(log_best, lrs):
    lrs = sorted(lrs)
    r = compare_runs(u_curve(lrs, best=10**log_best))
    i = lrs.index(r.best_lr)
    if 0 < i < len(lrs) - 1:
        assert math.log10(r.interpolated_lr) == pytest.approx(log_best, abs=1e-6)
        lo, hi = (math.log10(lrs[j] * r.best_lr) / 2 for j in (i - 1, i + 1))
        assert lo - 1e-9 <= math.log10(r.interpolated_lr) <= hi + 1e-9
    else:
        assert r.interpolated_lr == r.best_lr


def test_edge_of_grid_notes():
    high = compare_runs(u_curve([1e-4, 1e-3, 1e-2], best=1.0))
    assert high.best_lr == 1e-2
    assert any("extend the sweep towards higher LRs" in n for n in high.notes)
    low = compare_runs(u_curve([1e-2, 1e-1, 1.0], best=1e-4))
    assert any("extend the sweep towards lower LRs" in n for n in low.notes)


def test_coarse_grid_note_names_the_interval():
    r = compare_runs(u_curve([1e-5, 1e-3, 1e-1]))
    assert r.best_lr == 1e-3
    assert any("refine between 1e-5 and 0.001" in n for n in r.notes)
    assert any("refine between 0.001 and 0.1" in n for n in r.notes)


def test_fewer_than_three_runs_and_mixed_optimizers_are_noted():
    runs = [summary(1e-3, 0.5, optimizer="adam"), summary(1e-2, 0.4, optimizer="sgd")]
    notes = compare_runs(runs).notes
    assert any("only 2 distinct LRs" in n for n in notes)
    assert any("different optimizers (adam, sgd)" in n for n in notes)
    same = [summary(1e-3, 0.5, optimizer="SGD"), summary(1e-2, 0.4, optimizer="sgd")]
    assert not any("different optimizers" in n for n in compare_runs(same).notes)


def test_stable_edge_is_the_highest_finite_run_that_ended_below_its_start():
    runs = [
        summary(1e-3, 0.5, initial_loss=1.0),
        summary(1e-2, 0.3, initial_loss=1.0),
        summary(3e-2, 0.2, initial_loss=1.0, categories=("loss_spike",)),
        summary(1e-1, 0.21, initial_loss=0.2),
        summary(1.0, math.inf, initial_loss=1.0),
    ]
    r = compare_runs(runs)
    assert r.best_lr == 3e-2 and r.stable_edge_lr == 3e-2
    assert [x.stable for x in r.runs] == [True, True, True, False, False]
    assert [x.diverged for x in r.runs] == [False, False, False, False, True]
    # the parabola's vertex lies above the edge: the suggestion is capped there
    assert r.interpolated_lr > 3e-2 and r.suggested_lr == 3e-2
    assert any("capped at the largest stable LR (0.03)" in n for n in r.notes)


def test_validation_loss_decides_when_every_run_has_it():
    runs = [
        summary(1e-3, 0.5, final_val_loss=0.9),
        summary(1e-2, 0.3, final_val_loss=0.6),
        summary(1e-1, 0.1, final_val_loss=0.8),
    ]
    r = compare_runs(runs)
    assert r.metric == "final_val_loss" and r.best_lr == 1e-2


def test_every_run_diverged():
    r = compare_runs([summary(lr, math.inf) for lr in (0.1, 1.0, 10.0)])
    assert r.best_lr is None and r.suggested_lr is None and r.stable_edge_lr is None
    assert any("every run diverged" in n for n in r.notes)


def write_run(path: Path, lr: float | None, final: float, n=200, nan_at=None) -> Path:
    rng = np.random.default_rng(int(final * 1000))
    loss = final + 2.0 * np.exp(-np.arange(n) / 30) + rng.normal(0, 0.01, n)
    if nan_at is not None:
        loss[nan_at:] = np.nan
    head = "step,loss" + (",lr" if lr is not None else "")
    rows = [
        f"{i},{float(v)!r}" + (f",{lr!r}" if lr is not None else "") for i, v in enumerate(loss)
    ]
    path.write_text("\n".join([head, *rows]) + "\n")
    return path


def test_cli_json_contract_with_a_diverged_run(tmp_path):
    paths = [
        write_run(tmp_path / f"run{k}.csv", lr, f, nan_at=nan)
        for k, (lr, f, nan) in enumerate(
            [(1e-3, 0.6, None), (1e-2, 0.2, None), (1e-1, 0.4, None), (1.0, 0.3, 50)]
        )
    ]
    result = runner.invoke(app, ["compare", *map(str, paths), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == SCHEMA
    assert {
        "schema",
        "runs",
        "best_lr",
        "interpolated_lr",
        "stable_edge_lr",
        "suggested_lr",
        "notes",
    } <= set(data)
    assert [r["lr"] for r in data["runs"]] == [1e-3, 1e-2, 1e-1, 1.0]
    assert {"source", "lr", "final_loss", "best_loss", "status"} <= set(data["runs"][0])
    assert data["runs"][-1]["final_loss"] is None and data["runs"][-1]["diverged"]
    assert data["best_lr"] == 1e-2 and data["stable_edge_lr"] == 0.1
    assert [r["stable"] for r in data["runs"]] == [True, True, True, False]


def test_cli_reads_the_lr_from_file_names_and_draws_the_u_curve(tmp_path):
    for lr, f in [(1e-4, 0.9), (1e-3, 0.3), (1e-2, 0.5)]:
        write_run(tmp_path / f"sweep_lr={lr:g}.csv", None, f)
    result = runner.invoke(app, ["compare", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "best LR:            0.001" in result.stdout
    assert "│ best = 0.001" in result.stdout and "(log x)" in result.stdout


def test_cli_lr_option_overrides_and_must_match_the_run_count(tmp_path):
    paths = [str(write_run(tmp_path / f"r{k}.csv", None, f)) for k, f in enumerate([0.9, 0.3])]
    ok = runner.invoke(app, ["compare", *paths, "--lr", "0.1", "--lr", "0.01", "--format", "json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["best_lr"] == 0.01
    bad = runner.invoke(app, ["compare", *paths, "--lr", "0.1"])
    assert bad.exit_code == 2 and "--lr was given 1 times for 2 runs" in bad.stderr


def test_cli_run_without_any_lr_exits_2(tmp_path):
    path = write_run(tmp_path / "mystery.csv", None, 0.3)
    result = runner.invoke(app, ["compare", str(path)])
    assert result.exit_code == 2 and "cannot tell this run's LR" in result.stderr
    assert "Traceback" not in result.output
