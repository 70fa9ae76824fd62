"""Thin callbacks for Lightning, Keras and the HF Trainer; each imports its framework lazily.

Built on first use so importing lrdoctor never needs any of these frameworks.
"""

from __future__ import annotations

from pathlib import Path


def lightning_callback(path: str | Path, every: int = 10):
    """A Lightning Callback writing each optimizer step's loss, LR per param group and (every
    `every` steps) the pre-clip grad norm and the update ratio, via TorchCapture.

    Works with `lightning` or `pytorch_lightning`. Lightning runs backward inside
    `optimizer.step(closure)`, so the norms are taken in `on_before_optimizer_step` (after
    backward, before clipping) rather than by optimizer hooks.
    """
    try:
        from lightning.pytorch import Callback
    except ImportError:
        from pytorch_lightning import Callback

    from lrdoctor.capture.torch import TorchCapture

    class LrdoctorCallback(Callback):
        def on_train_start(self, trainer, pl_module):
            self.capture = TorchCapture(
                trainer.optimizers[0], pl_module, path=path, every=every, hooks=False
            )
            self.stepped = False

        def on_before_optimizer_step(self, trainer, pl_module, optimizer):
            self.capture.begin_step()
            self.stepped = True

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if not self.stepped:  # accumulating gradients: no update in this batch
                return
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs
            if loss is not None:
                self.capture._pending["loss"] = float(loss)
            self.capture.end_step()
            self.stepped = False

        def on_train_end(self, trainer, pl_module):
            self.capture.close()

    return LrdoctorCallback()


def keras_callback(path: str | Path):
    """A Keras 3 Callback writing one row per batch: step, that batch's loss and the LR.

    Keras hands callbacks the running mean of the epoch so far, which saw-tooths at every
    epoch boundary; the batch's own loss is the change of the mean's weighted total (exact, a
    smaller last batch included). The optimizer goes to `<path>.lrdoctor`.
    """
    import keras

    from lrdoctor.capture.writer import LogWriter

    class LrdoctorCallback(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            opt = self.model.optimizer
            # Scalars only: learning_rate, beta_1, epsilon, weight_decay, amsgrad, ...
            config = {k: v for k, v in opt.get_config().items() if isinstance(v, (int, float))}
            meta = {"optimizer": type(opt).__name__, "param_groups": [config]}
            self.writer = LogWriter(path, columns=["step", "loss", "lr"], meta=meta)
            self.step = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.seen = (0.0, 0.0, 0)  # the mean's total, its weight, batches

        def _batch_loss(self, mean):
            tracker = getattr(self.model, "_loss_tracker", None)
            total, count, n = self.seen
            if tracker is not None and hasattr(tracker, "count"):
                t = float(keras.ops.convert_to_numpy(tracker.total))
                c = float(keras.ops.convert_to_numpy(tracker.count))
                self.seen = (t, c, n + 1)
                return (t - total) / (c - count) if c > count else None
            # No tracker (a custom train_step): equal batches, mean_n * n - mean_(n-1) * (n-1).
            self.seen = (mean * (n + 1), n + 1.0, n + 1)
            return mean * (n + 1) - total

        def on_train_batch_end(self, batch, logs=None):
            mean = (logs or {}).get("loss")
            loss = None if mean is None else self._batch_loss(float(mean))
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            self.writer.write(step=self.step, loss=loss, lr=lr)
            self.step += 1

        def on_train_end(self, logs=None):
            self.writer.close()

    return LrdoctorCallback()


def hf_callback(path: str | Path, every: int = 1):
    """A transformers TrainerCallback writing the loss, the LR each param group used, the
    pre-clip grad_norm and eval_loss, every `every` optimizer steps and at step 1.

    It asks the Trainer to log at those steps (`control.should_log`), so the loss is the mean
    over the last `every` steps, not over `logging_steps`, and step 1 is the loss before any
    update: the rows that show an explosion. The Trainer's own console and log_history then
    log as often. The optimizer and its hyper-parameters go to `<path>.lrdoctor`.
    """
    from transformers import TrainerCallback

    from lrdoctor.capture.torch import optimizer_meta
    from lrdoctor.capture.writer import LogWriter

    every = max(1, every)
    names = {"loss": "loss", "grad_norm": "grad_norm", "eval_loss": "val_loss"}

    class LrdoctorCallback(TrainerCallback):
        writer = None
        lrs: dict = {}

        def on_train_begin(self, args, state, control, optimizer=None, **kwargs):
            inner = getattr(optimizer, "optimizer", optimizer)  # accelerate's wrapper
            meta = optimizer_meta(inner) if inner is not None else {}
            meta["hf_optim"] = str(getattr(args, "optim", ""))
            groups = len(inner.param_groups) if inner is not None else 1
            self.columns = ["step", "loss", "lr", *(f"lr_pg{i}" for i in range(1, groups))]
            self.columns += ["grad_norm", "val_loss"]
            self.writer = LogWriter(path, columns=self.columns, meta=meta)

        def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
            # Before the scheduler steps: the LR this update used (logs carry the next one).
            if optimizer is not None:
                lrs = [float(g["lr"]) for g in optimizer.param_groups]
                self.lrs = {"lr": lrs[0], **{f"lr_pg{i}": v for i, v in enumerate(lrs[1:], 1)}}

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 1 or state.global_step % every == 0:
                control.should_log = True
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            row = {names[k]: v for k, v in logs.items() if k in names}
            if "loss" in row:
                row.update(self.lrs or {"lr": logs.get("learning_rate")})
            if row and self.writer is not None:
                self.writer.write(step=state.global_step, **row)

        def on_train_end(self, args, state, control, **kwargs):
            if self.writer is not None:
                self.writer.close()

    return LrdoctorCallback()


def fastai_callback(path: str | Path, every: int = 10):
    """A fastai Callback writing each training batch's own loss (`learn.loss`, not the smoothed
    loss), the LR of each param group that batch used and, every `every` steps, the pre-clip
    grad norm and the update ratio, via TorchCapture.

    `learn.fit_one_cycle(5, 1e-3, cbs=fastai_callback("run.csv"))`, or `Learner(..., cbs=...)`.
    It runs before GradientClip and MixedPrecision in `before_step` (after backward, before
    clipping). Several fits of one Learner (`fine_tune`) continue one log; a new callback
    starts it anew. The optimizer (`opt_func`'s name) and its hypers go to `<path>.lrdoctor`.
    """
    from fastai.callback.core import Callback

    from lrdoctor.capture.torch import TorchCapture

    class LrdoctorCallback(Callback):
        order = 0  # GradientClip (11) and MixedPrecision (10) act later in before_step
        capture = None

        def before_fit(self):
            opt_func = getattr(self.learn.opt_func, "func", self.learn.opt_func)  # a partial
            hypers = [
                {k: v for k, v in h.items() if isinstance(v, (int, float))}
                for h in self.learn.opt.hypers
            ]
            meta = {"optimizer": getattr(opt_func, "__name__", "fastai"), "param_groups": hypers}
            last = self.capture
            self.capture = TorchCapture(
                self.learn.opt,
                self.learn.model,
                path=path,
                every=every,
                hooks=False,
                meta=meta,
                resume=last is not None,
                start=last.step if last is not None else 0,
            )
            self.stepped = False

        def before_step(self):
            self.capture.begin_step()
            self.stepped = True

        def after_batch(self):
            if not (self.training and self.stepped):  # validation, or a skipped step
                return
            self.capture.log(loss=float(self.learn.loss.detach()))
            self.capture.end_step()
            self.stepped = False

        def after_fit(self):
            self.capture.close()

    return LrdoctorCallback()
