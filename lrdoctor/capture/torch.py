"""PyTorch: hook an optimizer so every step logs lr, grad/weight/update norms (needs torch)."""

from __future__ import annotations

import math
from pathlib import Path

COLUMNS = ["step", "loss", "lr", "grad_norm", "weight_norm", "update_norm", "update_ratio"]


class TorchCapture:
    """Record the signals lrdoctor reads at every `optimizer.step()`.

    >>> cap = TorchCapture(opt, path="run.csv")        # doctest: +SKIP
    >>> loss.backward(); cap.log(loss=loss.item())      # doctest: +SKIP
    >>> cap.measure_grads()   # optional: before clip_grad_norm_, to log the pre-clip norm
    >>> opt.step()            # the hooks compute the norms and write the row

    Without `measure_grads()` the grad norm is taken when `step()` starts, i.e. after any
    clipping. The update norm needs a copy of the parameters before each step (memory equal
    to the model's); `every=N` measures norms on every Nth step only.
    """

    def __init__(self, optimizer, model=None, path: str | Path | None = None, every: int = 1,
                 extra_columns: list[str] | None = None):
        import torch  # noqa: F401  (fail here, clearly, when torch is missing)

        from lrdoctor.capture.writer import LogWriter

        self.optimizer = optimizer
        self.params = [p for g in optimizer.param_groups for p in g["params"]] if model is None \
            else [p for p in model.parameters() if p.requires_grad]
        self.every = max(1, every)
        self.step = 0
        self.rows: list[dict] = []
        self.meta = {"optimizer": type(optimizer).__name__}
        self.writer = LogWriter(path, columns=COLUMNS + list(extra_columns or []),
                                meta=self.meta) if path else None
        self._pending: dict = {}
        self._before = None
        self._handles = [optimizer.register_step_pre_hook(self._pre),
                         optimizer.register_step_post_hook(self._post)]

    def log(self, **values) -> None:
        """Values (loss, val_loss, ...) to write with the next step's row."""
        self._pending.update({k: float(v) for k, v in values.items()})

    def measure_grads(self) -> float:
        """The global gradient L2 norm now (call it before clipping to log the pre-clip norm)."""
        import torch

        grads = [p.grad.detach() for p in self.params if p.grad is not None]
        norm = float(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(g, dtype=torch.float64) for g in grads]))) if grads \
            else math.nan
        self._pending["grad_norm"] = norm
        return norm

    def _measuring(self) -> bool:
        return self.step % self.every == 0

    def _pre(self, optimizer, args, kwargs) -> None:
        if not self._measuring():
            return
        if "grad_norm" not in self._pending:
            self.measure_grads()
        self._before = [p.detach().clone() for p in self.params]

    def _post(self, optimizer, args, kwargs) -> None:
        import torch

        row = {"step": self.step, "lr": float(optimizer.param_groups[0]["lr"]), **self._pending}
        if self._before is not None:
            f64 = torch.float64
            w = torch.linalg.vector_norm(torch.stack(
                [torch.linalg.vector_norm(p.detach(), dtype=f64) for p in self.params]))
            u = torch.linalg.vector_norm(torch.stack(
                [torch.linalg.vector_norm(p.detach() - b, dtype=f64)
                 for p, b in zip(self.params, self._before, strict=True)]))
            row.update(weight_norm=float(w), update_norm=float(u),
                       update_ratio=float(u / w) if float(w) > 0 else math.nan)
            self._before = None
        self._pending = {}
        self.step += 1
        self.rows.append(row)
        if self.writer is not None:
            self.writer.write(**row)

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        if self.writer is not None:
            self.writer.close()

    def __enter__(self) -> TorchCapture:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
