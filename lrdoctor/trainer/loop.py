"""The training loop: mini-batch training of the MLP, logging one row per optimizer step."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import numpy as np

from lrdoctor.trainer import faults
from lrdoctor.trainer.data import DATASETS, make_dataset
from lrdoctor.trainer.model import ACTIVATIONS, MLP, accuracy, mse, softmax_cross_entropy
from lrdoctor.trainer.optim import DEFAULT_LR, OPTIMIZERS, make_optimizer
from lrdoctor.trainer.schedules import SCHEDULES, ReduceLROnPlateau, lr_schedule, range_test_lrs

# Hyper-parameters each optimizer accepts, by TrainConfig field name.
_HYPER = {
    "momentum": ("momentum",),
    "nesterov": ("momentum",),
    "adam": ("beta1", "beta2"),
    "adadelta": ("rho",),
    "rmsprop": ("alpha",),
}


@dataclass
class TrainConfig:
    """Everything that determines a run; the same config always gives the same log."""

    # data
    dataset: str = "spirals"
    n_samples: int = 2000
    val_fraction: float = 0.2
    noise: float | None = None
    n_classes: int | None = None
    label_noise: float = 0.0
    data_seed: int | None = None  # defaults to seed
    # model
    depth: int = 2
    width: int = 64
    activation: str = "relu"
    init: str = "auto"  # he for relu, xavier for tanh
    # optimizer
    optimizer: str = "sgd"
    lr: float | None = None  # default 0.1 (adadelta: 1.0)
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    rho: float = 0.9
    alpha: float = 0.99
    eps: float | None = None  # None: the optimizer's published default
    weight_decay: float = 0.0
    clip_norm: float | None = None
    log_clipped_grad_norm: bool = False  # grad_norm column is pre-clip by default, like HF
    # schedule
    schedule: str = "constant"
    warmup_steps: int = 0
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    end_factor: float = 0.0
    min_lr: float = 0.0
    decay_steps: int | None = None
    plateau_factor: float = 0.1
    plateau_patience: int = 10
    plateau_threshold: float = 1e-4
    plateau_cooldown: int = 0
    plateau_metric: str = "val_loss"  # or "train_loss" (bias-corrected EMA, beta 0.98)
    # loop
    batch_size: int = 64
    steps: int = 2000
    eval_every: int = 50
    seed: int = 0
    per_layer: bool = False
    nan_patience: int = 5  # steps still logged after the loss first becomes non-finite
    # LR range test
    range_test: bool = False
    range_start: float = 1e-7
    range_end: float = 10.0
    range_stop_factor: float = 4.0
    # injected problems
    fault: str | None = None  # "log0" or "zero_std"
    fault_step: int = 1000
    spike_at: tuple[int, ...] = ()
    spike_scale: float = 10.0
    restart_from: int | None = None  # checkpoint step a simulated restart resumes from
    restart_at: int | None = None  # step at which the first process died

    def __post_init__(self):
        self.milestones = tuple(self.milestones)
        self.spike_at = tuple(self.spike_at)
        if self.lr is None:
            self.lr = DEFAULT_LR.get(self.optimizer, 0.1)
        for name, value, allowed in (
            ("dataset", self.dataset, DATASETS),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("schedule", self.schedule, SCHEDULES),
            ("activation", self.activation, ACTIVATIONS),
            ("fault", self.fault, (None, *faults.FAULTS)),
        ):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; choose from {allowed}")
        if (self.restart_from is None) != (self.restart_at is None):
            raise ValueError("restart_from and restart_at go together")

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Build from a mapping (e.g. a TOML table); unknown keys are an error."""
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown TrainConfig keys: {', '.join(sorted(unknown))}")
        return cls(**d)


class RunLog(dict):
    """Column name -> array, one row per logged step; `meta` describes the run.

    Columns that are only sometimes measured (val_loss, val_accuracy) are masked arrays:
    masked = not measured on that row; NaN = measured and non-finite.
    """

    def __init__(self, columns: dict, meta: dict):
        super().__init__(columns)
        self.meta = meta


def _smoothed(ema: float, loss: float, n: int, beta: float = 0.98) -> tuple[float, float]:
    ema = beta * ema + (1 - beta) * loss
    return ema, ema / (1 - beta**n)


def train(config: TrainConfig, progress: Callable[[int], None] | None = None) -> RunLog:
    """Train an MLP as `config` says and return the per-step log."""
    c = config
    data = _dataset(c)
    classify = data.n_classes > 0
    model, opt = _model_and_optimizer(c, data)
    lrs, plateau = _lr_plan(c)

    n_rows = c.steps + (c.restart_at - c.restart_from if c.restart_at is not None else 0)
    buf = _Buffers(n_rows, len(model.layers) if c.per_layer else 0)

    xt, yt = data.x_train, data.y_train
    n_train, bs = len(xt), c.batch_size
    per_epoch = n_train // bs
    data_rng = np.random.Generator(np.random.PCG64([c.seed, 1]))
    glitch_rng = np.random.Generator(np.random.PCG64([c.seed, 2]))
    spikes = set(c.spike_at)
    unsafe = c.fault == "log0"
    standardise = c.fault == "zero_std"
    perm = None
    ema, smooth_n, best_smooth = 0.0, 0, np.inf
    snapshot, restarted = None, False
    first_bad = None
    t, row = 0, 0

    def evaluate():
        xv = faults.batch_standardise(data.x_val) if standardise else data.x_val
        out = model.forward(xv)
        if classify:
            return softmax_cross_entropy(out, data.y_val)[0], accuracy(out, data.y_val)
        return mse(out, data.y_val)[0], np.nan

    with np.errstate(all="ignore"):
        while t < c.steps:
            if t == c.restart_from and snapshot is None:
                snapshot = (
                    model.params.copy(),
                    copy.deepcopy(opt),
                    copy.deepcopy(plateau),
                    ema,
                    smooth_n,
                )
            elif t == c.restart_at and not restarted and first_bad is None:
                # Simulated crash: reload the checkpoint, with a new data order as after restart.
                params, opt, plateau, ema, smooth_n = snapshot
                model.params[:] = params
                restarted = True
                t = c.restart_from
                data_rng = np.random.Generator(np.random.PCG64([c.seed, 3]))
                perm = None
            pos = t % per_epoch
            if perm is None or pos == 0:
                perm = data_rng.permutation(n_train)
            idx = perm[pos * bs : (pos + 1) * bs]
            xb, yb = _with_faults(c, t, xt[idx], yt[idx], t in spikes, glitch_rng, classify)

            lr = lrs[t] * (plateau.scale if plateau else 1.0)
            if c.eval_every and (t % c.eval_every == 0 or t == c.steps - 1):
                buf.val_loss[row], buf.val_acc[row] = evaluate()
                buf.evaluated[row] = True
                if plateau and c.plateau_metric == "val_loss":
                    plateau.step(buf.val_loss[row], lr)

            loss = _forward_backward(model, xb, yb, classify, unsafe, unsafe and t >= c.fault_step)
            g, p = model.grad, model.params
            gnorm = np.sqrt(g @ g)
            if c.clip_norm is not None:
                g = g * min(1.0, c.clip_norm / (gnorm + 1e-6))  # torch.nn.utils.clip_grad_norm_
            d = opt.update(g, p, lr)
            wnorm, unorm = np.sqrt(p @ p), np.sqrt(d @ d)
            if buf.layer_ratio is not None:
                buf.layer_ratio[row] = np.sqrt(
                    np.add.reduceat(d * d, model.offsets) / np.add.reduceat(p * p, model.offsets)
                )
            p += d

            buf.step[row], buf.epoch[row] = t, t // per_epoch
            buf.cols["lr"][row], buf.cols["loss"][row] = lr, loss
            buf.cols["grad_norm"][row] = np.sqrt(g @ g) if c.log_clipped_grad_norm else gnorm
            buf.cols["weight_norm"][row], buf.cols["update_norm"][row] = wnorm, unorm
            buf.cols["update_ratio"][row] = unorm / wnorm
            row += 1
            t += 1
            if progress is not None and t % 100 == 0:
                progress(t)

            smooth_n += 1
            ema, smooth = _smoothed(ema, loss, smooth_n)
            if (
                plateau
                and c.plateau_metric == "train_loss"
                and c.eval_every
                and t % c.eval_every == 0
            ):
                plateau.step(smooth, lr)
            if c.range_test:
                best_smooth = min(best_smooth, smooth)
                if not np.isfinite(smooth) or smooth > c.range_stop_factor * best_smooth:
                    break
            elif first_bad is None and not np.isfinite(loss):
                first_bad = row
            if first_bad is not None and row - first_bad >= c.nan_patience:
                if c.eval_every:  # a final evaluation, as loops do when they abort
                    buf.val_loss[row - 1], buf.val_acc[row - 1] = evaluate()
                    buf.evaluated[row - 1] = True
                break

    return RunLog(buf.columns(row, c.eval_every, classify), _meta(c))


class _Buffers:
    """The log's columns, allocated once for every row the run can write (a restart repeats
    rows); `columns(rows, ...)` cuts them to the rows written."""

    def __init__(self, n_rows: int, n_layers: int):
        names = ("lr", "loss", "grad_norm", "weight_norm", "update_norm", "update_ratio")
        self.cols = {k: np.zeros(n_rows) for k in names}
        self.step, self.epoch = np.zeros(n_rows, np.int64), np.zeros(n_rows, np.int64)
        self.val_loss, self.val_acc = np.full(n_rows, np.nan), np.full(n_rows, np.nan)
        self.evaluated = np.zeros(n_rows, bool)
        self.layer_ratio = np.zeros((n_rows, n_layers)) if n_layers else None

    def columns(self, row: int, eval_every: int, classify: bool) -> dict:
        log = {"step": self.step[:row], "epoch": self.epoch[:row]}
        log.update({k: v[:row] for k, v in self.cols.items()})
        if eval_every:
            log["val_loss"] = np.ma.MaskedArray(self.val_loss[:row], mask=~self.evaluated[:row])
            if classify:
                log["val_accuracy"] = np.ma.MaskedArray(
                    self.val_acc[:row], mask=~self.evaluated[:row]
                )
        if self.layer_ratio is not None:
            for i in range(self.layer_ratio.shape[1]):
                log[f"update_ratio/layer{i}"] = self.layer_ratio[:row, i]
        return log


def _with_faults(c: TrainConfig, t: int, xb, yb, spike: bool, rng, classify: bool):
    """The batch as the config's faults make it at step t: a corrupted (spike) batch, or a
    per-batch standardisation whose feature sticks from `fault_step` on (zero_std)."""
    if spike:
        xb, yb = faults.corrupt_batch(xb, yb, c.spike_scale, rng, classify)
    if c.fault == "zero_std":
        xb = faults.batch_standardise(faults.stick_feature(xb) if t >= c.fault_step else xb)
    return xb, yb


def _forward_backward(model, xb, yb, classify: bool, unsafe: bool, saturate: bool) -> float:
    """The batch loss; leaves its gradient in `model.grad`. `unsafe`: the log0 fault's
    cross-entropy without the log guard, its logit saturated once `saturate`."""
    out = model.forward(xb)
    if classify:
        if saturate:
            out = faults.saturate_logit(out, yb)
        loss, dout = softmax_cross_entropy(out, yb, unsafe=unsafe)
    else:
        loss, dout = mse(out, yb)
    model.backward(dout)
    return loss


def _dataset(c: TrainConfig):
    """The train / validation split the config names (its own seed when data_seed is set)."""
    return make_dataset(
        c.dataset,
        c.n_samples,
        seed=c.seed if c.data_seed is None else c.data_seed,
        val_fraction=c.val_fraction,
        noise=c.noise,
        n_classes=c.n_classes,
        label_noise=c.label_noise,
    )


def _model_and_optimizer(c: TrainConfig, data):
    """The MLP (initialised from the run's seed) and its optimizer with the config's options."""
    rng = np.random.Generator(np.random.PCG64(c.seed))
    sizes = [data.n_features] + [c.width] * c.depth + [data.n_outputs]
    model = MLP(sizes, c.activation, c.init, rng)
    hyper = {k: getattr(c, k) for k in _HYPER.get(c.optimizer, ())}
    if c.eps is not None:
        hyper["eps"] = c.eps
    return model, make_optimizer(c.optimizer, model.params.size, c.weight_decay, **hyper)


def _lr_plan(c: TrainConfig):
    """The LR per step (a schedule, or a range test's sweep) and, for "plateau", the scaler."""
    if c.range_test:
        lrs = range_test_lrs(c.range_start, c.range_end, c.steps)
    else:
        lrs = lr_schedule(
            c.schedule,
            c.lr,
            c.steps,
            warmup_steps=c.warmup_steps,
            milestones=c.milestones,
            gamma=c.gamma,
            end_factor=c.end_factor,
            min_lr=c.min_lr,
            decay_steps=c.decay_steps,
        )
    plateau = (
        ReduceLROnPlateau(
            c.plateau_factor, c.plateau_patience, c.plateau_threshold, c.plateau_cooldown, c.min_lr
        )
        if c.schedule == "plateau"
        else None
    )
    return lrs, plateau


def _meta(c: TrainConfig) -> dict[str, str]:
    """What the log says about how it was made (the whole config included, as JSON)."""
    return {
        "generator": "lrdoctor.trainer",
        "dataset": c.dataset,
        "optimizer": c.optimizer,
        "seed": str(c.seed),
        "schedule": "range_test" if c.range_test else c.schedule,
        "grad_norm": "post_clip" if c.log_clipped_grad_norm else "pre_clip",
        "config": json.dumps(asdict(c), sort_keys=True),
    }
