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
    """A Keras Callback writing one row per batch: step, loss and the optimizer's LR."""
    import keras

    from lrdoctor.capture.writer import LogWriter

    class LrdoctorCallback(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.writer, self.step = LogWriter(path, columns=["step", "loss", "lr"]), 0

        def on_train_batch_end(self, batch, logs=None):
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            self.writer.write(step=self.step, loss=(logs or {}).get("loss"), lr=lr)
            self.step += 1

        def on_train_end(self, logs=None):
            self.writer.close()

    return LrdoctorCallback()


def hf_callback(path: str | Path):
    """A transformers TrainerCallback copying each train/eval log row into a CSV/Parquet."""
    from transformers import TrainerCallback

    from lrdoctor.capture.writer import LogWriter

    columns = ["step", "loss", "lr", "grad_norm", "val_loss"]
    names = {
        "loss": "loss",
        "learning_rate": "lr",
        "grad_norm": "grad_norm",
        "eval_loss": "val_loss",
    }

    class LrdoctorCallback(TrainerCallback):
        writer = None

        def on_log(self, args, state, control, logs=None, **kwargs):
            row = {names[k]: v for k, v in (logs or {}).items() if k in names}
            if row:
                self.writer = self.writer or LogWriter(path, columns=columns)
                self.writer.write(step=state.global_step, **row)

        def on_train_end(self, args, state, control, **kwargs):
            if self.writer is not None:
                self.writer.close()

    return LrdoctorCallback()
