"""lrdoctor.capture.lr_range_test on the tiny MLP: state restored exactly, the suggestion within
3x of a constant-LR sweep's best, the log read back by `lrdoctor lr-find`, the blow-up stop."""

from __future__ import annotations

import json

import pytest
from tiny import GRID, batches, final_loss, mlp
from typer.testing import CliRunner

from lrdoctor.cli import app
from lrdoctor.lrfind import DEFAULT_STEPS, blew_up

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _trained(steps: int = 5, optimizer=torch.optim.Adam, **kwargs):
    """A model and an optimizer with non-empty state (moments, step counts)."""
    model = mlp()
    opt = optimizer(model.parameters(), **{"lr": 1e-3, **kwargs})
    for xb, yb in batches(steps, seed=3):
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    return model, opt


def _snapshot(model, opt) -> dict:
    import copy

    return {
        "model": copy.deepcopy(model.state_dict()),
        "opt": copy.deepcopy(opt.state_dict()),
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "training": model.training,
    }


def _assert_same(before: dict, model, opt) -> None:
    after = _snapshot(model, opt)
    assert after["model"].keys() == before["model"].keys()
    for key, value in before["model"].items():
        assert torch.equal(after["model"][key], value), key
    assert after["opt"]["param_groups"] == before["opt"]["param_groups"]
    assert after["opt"]["state"].keys() == before["opt"]["state"].keys()
    for i, state in before["opt"]["state"].items():
        for key, value in state.items():
            got = after["opt"]["state"][i][key]
            assert torch.equal(got, value) if torch.is_tensor(value) else got == value, (i, key)
    for got, want in zip(after["grads"], before["grads"], strict=True):
        assert (got is None and want is None) or torch.equal(got, want)
    assert after["training"] == before["training"]


@pytest.mark.parametrize("optimizer", [torch.optim.Adam, torch.optim.SGD])
def test_state_is_restored_exactly(optimizer):
    from lrdoctor.capture import lr_range_test

    model, opt = _trained(
        optimizer=optimizer, **({"momentum": 0.9} if optimizer is torch.optim.SGD else {})
    )
    model.eval()
    before = _snapshot(model, opt)
    result = lr_range_test(model, opt, F.cross_entropy, batches(100, seed=5))
    assert result.suggested_lr is not None
    _assert_same(before, model, opt)


def test_state_is_restored_when_the_loss_fn_raises_mid_test(tmp_path):
    from lrdoctor.capture import lr_range_test

    model, opt = _trained()
    before = _snapshot(model, opt)
    calls = []

    def loss_fn(out, target):
        calls.append(1)
        if len(calls) == 30:
            raise RuntimeError("boom at step 30")
        return F.cross_entropy(out, target)

    with pytest.raises(RuntimeError, match="boom at step 30"):
        lr_range_test(model, opt, loss_fn, batches(100, seed=5), path=tmp_path / "rt.csv")
    _assert_same(before, model, opt)
    # the hooks are gone: a plain step afterwards writes nothing more to the log
    rows = (tmp_path / "rt.csv").read_text().splitlines()
    assert len(rows) == 1 + 29
    opt.step()
    assert (tmp_path / "rt.csv").read_text().splitlines() == rows


def test_suggestion_is_within_3x_of_the_sweep_best():
    from lrdoctor.capture import lr_range_test

    final = {lr: final_loss(lr) for lr in GRID}
    best = min(final, key=final.get)
    # the sweep is meaningful: its best is inside the grid and clearly beats both ends
    assert GRID[0] < best < GRID[-1], final
    assert final[best] < 0.5 * min(final[GRID[0]], final[GRID[-1]]), final
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    result = lr_range_test(model, opt, F.cross_entropy, batches(100, seed=5))
    ratio = result.suggested_lr / best
    assert 1 / 3 <= ratio <= 3, (result.suggested_lr, best, final)
    assert result.suggested_lr_range[0] <= best <= result.suggested_lr_range[1]


def test_the_planned_budget_is_recorded_and_does_not_move_the_suggestion():
    from lrdoctor.capture import lr_range_test

    def run(**budget):
        model = mlp()
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        return lr_range_test(model, opt, F.cross_entropy, batches(100, seed=5), **budget)

    base, told = run(), run(budget_steps=3000)
    assert (base.budget_steps, base.budget_source) == (DEFAULT_STEPS, "default")
    assert (told.budget_steps, told.budget_source) == (3000, "budget_steps")
    assert "budget" in told.note_codes and told.suggested_lr == base.suggested_lr


def test_lr_find_reads_the_log_and_gives_the_same_answer(tmp_path):
    from lrdoctor.capture import lr_range_test

    log = tmp_path / "rt.csv"
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    result = lr_range_test(model, opt, F.cross_entropy, batches(100, seed=5), path=log)
    out = CliRunner().invoke(app, ["lr-find", str(log), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == json.loads(json.dumps(result.to_dict()))
    header = log.read_text().splitlines()[0].split(",")
    assert {"step", "loss", "lr", "grad_norm"} <= set(header)
    assert json.loads((tmp_path / "rt.csv.lrdoctor").read_text())["optimizer"] == "Adam"


def test_stops_at_the_blow_up_and_cycles_a_short_loader(tmp_path):
    from lrdoctor.capture import lr_range_test

    # SGD without the moment normalisation of Adam blows up at high LR; three batches cycled.
    log = tmp_path / "rt.csv"
    short = list(batches(3, seed=7))
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9)
    result = lr_range_test(model, opt, F.cross_entropy, short, start_lr=1e-4, end_lr=1e3, path=log)
    rows = [r.split(",") for r in log.read_text().splitlines()[1:]]
    losses = [float(r[1]) for r in rows]
    assert 20 <= len(rows) < 100, len(rows)
    assert blew_up(losses) and not blew_up(losses[:-1])
    assert result.steps_per_decade == pytest.approx(99 / 7)
    # a one-shot iterator shorter than the test is replayed, not run dry
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    lr_range_test(
        model, opt, F.cross_entropy, iter(list(batches(4))), end_lr=1e-3, steps=40, path=log
    )
    assert len(log.read_text().splitlines()) == 1 + 40


def test_bad_arguments_are_one_clear_error():
    from lrdoctor.capture import lr_range_test

    model, opt = _trained(steps=0)
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        lr_range_test(model, opt, F.cross_entropy, batches(5), start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="needs 20 or more"):
        lr_range_test(model, opt, F.cross_entropy, batches(5), steps=5)
    with pytest.raises(ValueError, match="batches is empty"):
        lr_range_test(model, opt, F.cross_entropy, [])
