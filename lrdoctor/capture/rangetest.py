"""An LR range test on your own PyTorch model, analysed by `lrdoctor lr-find` (needs torch)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def lr_range_test(
    model,
    optimizer,
    loss_fn: Callable,
    batches: Iterable,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    path: str | Path | None = None,
    diverge_factor: float = 4.0,
    method: str = "landmarks",
    budget_steps: int | None = None,
):
    """Grow the LR exponentially from `start_lr` to `end_lr` over `steps` batches, then put the
    model and optimizer back as they were; returns the `lrdoctor lr-find` analysis
    (`LrFindResult`: `.suggested_lr`, `.suggested_lr_range`, `.notes`).

    >>> lr = lr_range_test(model, opt, nn.CrossEntropyLoss(), loader).suggested_lr  # doctest: +SKIP

    Each batch is `(inputs, targets)` and the loss is `loss_fn(model(inputs), targets)`, both
    moved to the model's device; a short `batches` is cycled (a DataLoader is re-iterated, a
    one-shot iterator replays what it gave). Every param group gets the same LR. The test stops
    once the loss is non-finite or its smoothed value passes `diverge_factor` x its best, the
    rule `lrdoctor lr-find` uses. Each step's loss, LR, pre-clip grad norm and update ratio go
    to `path` (CSV or Parquet, via TorchCapture) when given, so `lrdoctor lr-find path` prints
    the same result. The weights, buffers, gradients, optimizer state and train/eval mode are
    restored from deep copies afterwards, also when `loss_fn` or the model raises.
    `budget_steps` is the length of the training the LR is for (`lrdoctor lr-find --steps`):
    recorded in the result and noted; None states lr-find's default.
    """
    device = next(model.parameters()).device

    def step_loss(batch, _index):
        inputs, targets = batch
        return loss_fn(model(_to(inputs, device)), _to(targets, device))

    return _range_test(
        model,
        optimizer,
        step_loss,
        batches,
        Options(start_lr, end_lr, steps, path, diverge_factor, method, budget_steps),
    )


def lightning_range_test(
    module,
    data,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    path: str | Path | None = None,
    diverge_factor: float = 4.0,
    method: str = "landmarks",
    budget_steps: int | None = None,
):
    """The range test on a LightningModule, as Lightning users write `Tuner(trainer).lr_find`:

    >>> lr = lightning_range_test(model, train_loader).suggested_lr  # doctest: +SKIP

    The loss is the module's own `training_step(batch, batch_idx)` (a tensor, or a dict with
    "loss"), the optimizer the first one `configure_optimizers()` returns (its schedulers are
    not stepped: the test sets the LR). `data` is a DataLoader, any iterable of batches, or a
    LightningDataModule (its `train_dataloader()`, after `setup("fit")`). No Trainer runs and
    nothing is logged by `self.log` (Lightning ignores it without one); batches are moved to
    the module's device. The module's weights, buffers, gradients and mode are restored as by
    `lr_range_test`; the optimizer is a fresh one, so nothing of it outlives the test.
    `budget_steps` is as in `lr_range_test`.
    """
    import warnings

    optimizer = _first_optimizer(module.configure_optimizers())
    if hasattr(data, "train_dataloader") and not hasattr(data, "__iter__"):
        if hasattr(data, "setup"):
            data.setup("fit")
        data = data.train_dataloader()
    device = next(module.parameters()).device

    def step_loss(batch, index):
        out = module.training_step(_to(batch, device), index)
        return out["loss"] if isinstance(out, dict) else out

    with warnings.catch_warnings():
        # `self.log` without a Trainer warns once per call and does nothing.
        warnings.filterwarnings("ignore", message=".*self.log.*")
        return _range_test(
            module,
            optimizer,
            step_loss,
            data,
            Options(start_lr, end_lr, steps, path, diverge_factor, method, budget_steps),
        )


def hf_range_test(
    trainer,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    path: str | Path | None = None,
    diverge_factor: float = 4.0,
    method: str = "landmarks",
    budget_steps: int | None = None,
):
    """The range test on a transformers `Trainer`, before `trainer.train()`:

    >>> lr = hf_range_test(trainer).suggested_lr  # doctest: +SKIP

    It runs the Trainer's own pieces: the optimizer `args.optim` names (`create_optimizer()`,
    weight decay groups included), `get_train_dataloader()`, `_prepare_inputs` and
    `compute_loss`, one batch per step without gradient accumulation. The model is restored as
    by `lr_range_test`, and so is the optimizer: one the Trainer already had is put back as it
    was, one made for the test is dropped (`trainer.optimizer` is None again, so `train()`
    makes its own with `args.learning_rate`). `budget_steps` defaults to the Trainer's own
    `args.max_steps` when that is set.
    """
    had = trainer.optimizer
    optimizer = trainer.create_optimizer()
    optimizer = getattr(optimizer, "optimizer", optimizer)  # accelerate's wrapper
    model = trainer.model

    def step_loss(batch, _index):
        return trainer.compute_loss(model, trainer._prepare_inputs(batch))

    source = "budget_steps"
    if budget_steps is None and getattr(trainer.args, "max_steps", 0) > 0:
        budget_steps, source = trainer.args.max_steps, "max_steps"

    try:
        return _range_test(
            model,
            optimizer,
            step_loss,
            trainer.get_train_dataloader(),
            Options(start_lr, end_lr, steps, path, diverge_factor, method, budget_steps, source),
        )
    finally:
        trainer.optimizer = had


def _first_optimizer(configured):
    """The first optimizer of whatever `configure_optimizers()` returned (Lightning's forms:
    an optimizer, a list or tuple of them, `([opts], [scheds])`, a dict, a list of dicts)."""
    if isinstance(configured, dict):
        return _first_optimizer(configured["optimizer"])
    if isinstance(configured, (list, tuple)):
        if not configured:
            raise ValueError("configure_optimizers() returned no optimizer")
        return _first_optimizer(configured[0])
    if not hasattr(configured, "param_groups"):
        raise ValueError(
            f"configure_optimizers() returned {type(configured).__name__}, no optimizer"
        )
    return configured


@dataclass(frozen=True)
class Options:
    """What every range test is told (the public functions' keywords)."""

    start_lr: float
    end_lr: float
    steps: int
    path: str | Path | None
    diverge_factor: float
    method: str
    budget_steps: int | None
    budget_source: str = "budget_steps"


def _range_test(model, optimizer, step_loss, batches, options: Options):
    """The test itself: `step_loss(batch, index)` is the loss of one batch, with a graph."""
    start_lr, end_lr, steps, path = options.start_lr, options.end_lr, options.steps, options.path
    import torch

    from lrdoctor.capture.torch import TorchCapture
    from lrdoctor.columns import canonical_optimizer
    from lrdoctor.lrfind import MIN_POINTS, analyse, blew_up

    if not 0 < start_lr < end_lr or not math.isfinite(end_lr):
        raise ValueError(f"need 0 < start_lr < end_lr, got {start_lr} and {end_lr}")
    if steps < MIN_POINTS:
        raise ValueError(f"steps={steps}: a range test needs {MIN_POINTS} or more")
    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = copy.deepcopy(optimizer.state_dict())
    saved_grads = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
    was_training = model.training
    cap = TorchCapture(optimizer, model, path=path, every=1)
    losses: list[float] = []
    lrs: list[float] = []
    ratios: list[float] = []  # each step's update/weight ratio, as the log has it
    # The smoothed-loss rule waits out lr-find's trimmed start and its minimum length.
    wait = max(MIN_POINTS, round(0.1 * steps))
    try:
        model.train()
        for step, batch in zip(range(steps), _cycle(batches), strict=False):
            lr = start_lr * (end_lr / start_lr) ** (step / (steps - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            loss = step_loss(batch, step)
            value = float(loss.detach())
            losses.append(value)
            lrs.append(lr)
            if not math.isfinite(value):
                cap.log(loss=value)  # the blow-up row, with no update behind it
                cap.end_step()
                ratios.append(math.nan)
                break
            loss.backward()
            cap.log(loss=value)
            optimizer.step()
            ratios.append((cap.last or {}).get("update_ratio", math.nan))
            if step + 1 >= wait and blew_up(losses, diverge_factor=options.diverge_factor):
                break
    finally:
        cap.close()
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
        with torch.no_grad():
            for p, g in zip(model.parameters(), saved_grads, strict=True):
                p.grad = g
        model.train(was_training)
    source = str(path) if path is not None else "<range test>"
    # The optimizer family picks lr-find's measured offsets, as the log's side file does.
    family = canonical_optimizer(type(optimizer).__name__)
    return analyse(
        lrs,
        losses,
        source=source,
        diverge_factor=options.diverge_factor,
        method=options.method,
        family=family,
        update_ratio=np.asarray(ratios, dtype=float),
        steps=options.budget_steps,
        steps_source=options.budget_source,
    )


def _cycle(batches: Iterable):
    """The batches again and again: a re-iterable is re-iterated, a one-shot iterator replayed."""
    one_shot = iter(batches) is batches
    seen: list = []
    for batch in batches:
        if one_shot:
            seen.append(batch)
        yield batch
    source = seen if one_shot else batches
    while True:
        empty = True
        for batch in source:
            empty = False
            yield batch
        if empty:
            raise ValueError("batches is empty: the range test needs at least one batch")


def _to(value, device):
    if hasattr(value, "to"):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_to(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _to(v, device) for k, v in value.items()}
    return value
