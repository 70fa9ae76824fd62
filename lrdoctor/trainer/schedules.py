"""Learning-rate schedules as exact per-step arrays, plus a PyTorch-style reduce-on-plateau."""

from __future__ import annotations

import numpy as np

SCHEDULES = ("constant", "step", "exponential", "linear", "inverse_sqrt", "cosine", "plateau")


def lr_schedule(
    kind: str,
    lr: float,
    steps: int,
    *,
    warmup_steps: int = 0,
    milestones: tuple[int, ...] = (),
    gamma: float = 0.1,
    end_factor: float = 0.0,
    min_lr: float = 0.0,
    decay_steps: int | None = None,
) -> np.ndarray:
    """LR used at each step t = 0..steps-1.

    After a linear warmup of `warmup_steps` (lr*(t+1)/warmup), the decay runs on
    s = t - warmup_steps: step: lr*gamma^(milestones passed, counted from s); exponential:
    lr*gamma^s; linear: lr*(1 - (1-end_factor)*s/T); inverse_sqrt: lr/sqrt(s+1); cosine:
    min_lr + (lr-min_lr)*(1+cos(pi*s/T))/2, where T = decay_steps (default: steps - warmup)
    and s is clipped to T. "plateau" is constant here; the loop scales it on plateaus.
    """
    t = np.arange(steps, dtype=np.float64)
    s = np.maximum(t - warmup_steps, 0.0)
    horizon = float(decay_steps or max(steps - warmup_steps, 1))
    frac = np.minimum(s, horizon) / horizon
    if kind in ("constant", "plateau"):
        out = np.full(steps, lr)
    elif kind == "step":
        out = lr * gamma ** np.searchsorted(np.sort(milestones), s, side="right")
    elif kind == "exponential":
        out = lr * gamma**s
    elif kind == "linear":
        out = lr * (1.0 - (1.0 - end_factor) * frac)
    elif kind == "inverse_sqrt":
        out = lr / np.sqrt(s + 1.0)
    elif kind == "cosine":
        out = min_lr + (lr - min_lr) * 0.5 * (1.0 + np.cos(np.pi * frac))
    else:
        raise ValueError(f"unknown schedule {kind!r}; choose from {', '.join(SCHEDULES)}")
    if warmup_steps:
        out[:warmup_steps] = lr * (t[:warmup_steps] + 1.0) / warmup_steps
    return out


def range_test_lrs(start: float, end: float, steps: int) -> np.ndarray:
    """Geometric LR progression from `start` to `end` over `steps` (fastai lr_find)."""
    return start * (end / start) ** (np.arange(steps) / max(steps - 1, 1))


class ReduceLROnPlateau:
    """torch.optim.lr_scheduler.ReduceLROnPlateau, mode "min", relative threshold.

    `scale` multiplies the scheduled LR; call `step(metric)` at every evaluation.
    """

    def __init__(self, factor=0.1, patience=10, threshold=1e-4, cooldown=0, min_lr=0.0):
        self.factor, self.patience, self.threshold = factor, patience, threshold
        self.cooldown, self.min_lr = cooldown, min_lr
        self.best, self.num_bad, self.cooldown_counter, self.scale = np.inf, 0, 0, 1.0

    def step(self, metric: float, lr: float) -> None:
        """Record `metric`; `lr` is the current effective LR (for the min_lr floor)."""
        if metric < self.best * (1.0 - self.threshold):
            self.best, self.num_bad = metric, 0
        else:
            self.num_bad += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad = 0
        if self.num_bad > self.patience:
            new_lr = max(lr * self.factor, self.min_lr)
            if lr - new_lr > 1e-8:  # PyTorch's eps: skip negligible reductions
                self.scale *= new_lr / lr
            self.cooldown_counter, self.num_bad = self.cooldown, 0
