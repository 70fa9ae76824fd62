"""PyTorch: optimizer hooks that log loss, lr per group, grad and update norms (needs torch)."""

from __future__ import annotations

import math
from pathlib import Path

COLUMNS = ["step", "loss", "lr", "grad_norm", "weight_norm", "update_norm", "update_ratio"]
# Hyper-parameters worth keeping in the side file (the rest of a param group is the params).
_HYPER = ("lr", "momentum", "betas", "eps", "weight_decay", "nesterov", "dampening", "amsgrad")


def optimizer_meta(optimizer) -> dict:
    """The optimizer's class and each param group's hyper-parameters, for `<log>.lrdoctor`."""
    groups = [
        {k: g[k] for k in _HYPER if k in g and not hasattr(g[k], "item")}
        for g in optimizer.param_groups
    ]
    return {"optimizer": type(optimizer).__name__, "param_groups": groups}


class TorchCapture:
    """Record the signals lrdoctor reads at every `optimizer.step()`.

    >>> cap = TorchCapture(opt, model, path="run.csv")   # doctest: +SKIP
    >>> loss.backward(); cap.log(loss=loss.item())      # doctest: +SKIP
    >>> clip_grad_norm_(model.parameters(), 1.0); opt.step()   # doctest: +SKIP

    Every step writes the loss and the LR of each param group (`lr`, `lr_pg1`, ...). Every
    `every`-th step (10 by default: the norms cost a parameter copy and a few fused passes)
    also writes grad_norm, weight_norm, update_norm and update_ratio. `log(loss=...)` right
    after `backward()` takes the gradient norm then, before any clipping; otherwise it is taken
    when `step()` starts. The optimizer's name and hyper-parameters go to `<path>.lrdoctor`,
    which the readers use. A new TorchCapture starts the file anew (`resume=True` appends).
    `hooks=False` leaves the optimizer alone: call `begin_step()` / `end_step()` yourself (as
    the Lightning callback does, since Lightning's closure runs backward inside `step()`).
    `meta` replaces the side file's optimizer description (an optimizer that is not a
    torch.optim class names itself badly); `start` is the first step (a resumed log).
    `last` is the latest row (`metrics()` gives it to a tracker); `rows` keeps every row only
    when there is no `path` (with one, the file is the record: holding the rows too cost 250 B
    a step, 2.5 GB over 10M steps).
    """

    def __init__(
        self,
        optimizer,
        model=None,
        path: str | Path | None = None,
        every: int = 10,
        extra_columns: list[str] | None = None,
        resume: bool = False,
        hooks: bool = True,
        meta: dict | None = None,
        start: int = 0,
    ):
        import torch  # noqa: F401  (fail here, clearly, when torch is missing)

        from lrdoctor.capture.writer import LogWriter

        self.optimizer = optimizer
        self.params = (
            [p for g in optimizer.param_groups for p in g["params"]]
            if model is None
            else [p for p in model.parameters() if p.requires_grad]
        )
        self.every = max(1, every)
        self.step = start
        self.rows: list[dict] = []
        self.last: dict | None = None
        self.meta = meta if meta is not None else optimizer_meta(optimizer)
        groups = [f"lr_pg{i}" for i in range(1, len(optimizer.param_groups))]
        self.columns = COLUMNS + groups + list(extra_columns or [])
        self.writer = (
            LogWriter(path, columns=self.columns, meta=self.meta, resume=resume) if path else None
        )
        self._pending: dict = {}
        self._before = None
        self._handles = (
            [
                optimizer.register_step_pre_hook(lambda *a: self.begin_step()),
                optimizer.register_step_post_hook(lambda *a: self.end_step()),
            ]
            if hooks
            else []
        )

    def log(self, **values) -> None:
        """Values (loss, val_loss, ...) for this step's row; on a measured step, also the
        gradient norm now (after backward, before clipping)."""
        self._pending.update({k: float(v) for k, v in values.items()})
        if self._measuring() and "grad_norm" not in self._pending:
            self.measure_grads()

    def measure_grads(self) -> float | None:
        """The global gradient L2 norm now (None when no parameter has a gradient yet)."""
        import torch

        grads = [p.grad.detach() for p in self.params if p.grad is not None]
        if not grads:
            return None
        norm = float(
            torch.linalg.vector_norm(torch.stack([n.double() for n in torch._foreach_norm(grads)]))
        )
        self._pending["grad_norm"] = norm
        return norm

    def _measuring(self) -> bool:
        return self.step % self.every == 0

    def begin_step(self) -> None:
        """Before the update: the gradient norm (unless logged) and a copy of the weights."""
        if not self._measuring():
            return
        if "grad_norm" not in self._pending:
            self.measure_grads()
        import torch

        with torch.no_grad():
            self._before = torch._foreach_mul([p.detach() for p in self.params], 1.0)

    def end_step(self) -> dict:
        """After the update: the row of this step (written to the log)."""
        import torch

        groups = self.optimizer.param_groups
        row = {
            "step": self.step,
            "lr": _number(groups[0]["lr"]),
            **{f"lr_pg{i}": _number(g["lr"]) for i, g in enumerate(groups[1:], 1)},
            **self._pending,
        }
        if self._before is not None:
            with torch.no_grad():
                after = [p.detach() for p in self.params]
                w = _total(torch._foreach_norm(after))
                u = _total(torch._foreach_norm(torch._foreach_sub(after, self._before)))
            row.update(weight_norm=w, update_norm=u)
            if w > 0 and math.isfinite(w) and math.isfinite(u):
                row["update_ratio"] = u / w
            self._before = None
        self._pending = {}
        self.step += 1
        self.last = row
        if self.writer is not None:
            self.writer.write(**row)
        else:
            self.rows.append(row)
        return row

    def metrics(self, prefix: str = "") -> dict[str, float]:
        """The latest row's values without its step, named `prefix + name`: one call hands
        them to a tracker (`run.log(cap.metrics("train/"), step=...)` for W&B,
        `mlflow.log_metrics(cap.metrics(), step=...)`), whose log lrdoctor then reads with the
        gradient norm and update ratio beside the loss."""
        row = self.last or {}
        return {f"{prefix}{k}": float(v) for k, v in row.items() if k != "step"}

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        if self.writer is not None:
            self.writer.close()

    def __enter__(self) -> TorchCapture:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _number(value) -> float:
    return float(value.item() if hasattr(value, "item") else value)


def _total(norms) -> float:
    import torch

    return float(torch.linalg.vector_norm(torch.stack([n.double() for n in norms])))
