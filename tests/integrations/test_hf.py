"""Hugging Face Trainer: the output folder's trainer_state.json as the Trainer writes it by
default (a row every `logging_steps`, no pre-update row), and lrdoctor's hf_callback."""

from __future__ import annotations

import pytest
from tiny import REGIMES, assert_regime, columns, mlp, tensors

import lrdoctor
from lrdoctor.columns import canonical_optimizer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")


class Net(torch.nn.Module):
    """The tiny MLP with the Trainer's calling convention (inputs in, `loss` out)."""

    def __init__(self):
        super().__init__()
        self.net = mlp()

    def forward(self, x, labels=None):
        logits = self.net(x)
        return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}


class Data(torch.utils.data.Dataset):
    def __init__(self):
        self.x, self.y = tensors()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}


def train(out, lr: float, callbacks=(), save_model: bool = False, **options) -> None:
    args = transformers.TrainingArguments(
        str(out),
        **options,
        per_device_train_batch_size=64,
        num_train_epochs=8,
        learning_rate=lr,
        lr_scheduler_type="constant",
        logging_steps=5,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    trainer = transformers.Trainer(
        model=Net(), args=args, train_dataset=Data(), callbacks=list(callbacks)
    )
    trainer.train()
    # With save_strategy="no" the Trainer writes no trainer_state.json unless asked.
    trainer.save_state()
    if save_model:
        trainer.save_model()  # the weights and training_args.bin


@pytest.mark.parametrize("regime", REGIMES)
def test_default_logging(regime, tmp_path):
    out = tmp_path / "out"
    train(out, REGIMES[regime])
    assert (out / "trainer_state.json").is_file()
    cols = columns(out)
    assert (cols["loss"], cols["lr"], cols["grad_norm"]) == ("loss", "learning_rate", "grad_norm")
    # No optimizer given: trainer_state.json does not name it (save_strategy="no" wrote no
    # training_args.bin) and the verdicts hold without the family.
    assert_regime(regime, out)


@pytest.mark.parametrize("optim", [None, "sgd"])
def test_the_optimizer_comes_from_training_args_bin(optim, tmp_path):
    """trainer_state.json does not name the optimizer; the training_args.bin that
    save_model() writes does (`optim`, read from the pickle's opcodes, never unpickled)."""
    out = tmp_path / "out"
    train(out, REGIMES["healthy"], save_model=True, **({"optim": optim} if optim else {}))
    assert (out / "training_args.bin").is_file()
    # The default: adamw_torch_fused with torch >= 2.8, adamw_torch before.
    default = transformers.TrainingArguments(str(tmp_path / "x"), use_cpu=True).optim.value
    run = lrdoctor.check(out).runs[0]
    assert run.optimizer == (optim or default)
    assert canonical_optimizer(run.optimizer) == ("sgd" if optim else "adam")


@pytest.mark.parametrize("regime", REGIMES)
def test_lrdoctor_callback(regime, tmp_path):
    from lrdoctor.capture.callbacks import hf_callback

    log = tmp_path / "run.csv"
    train(tmp_path / "out", REGIMES[regime], callbacks=[hf_callback(log)])
    import lrdoctor

    run = lrdoctor.check(log).runs[0]
    assert {"loss", "lr", "grad_norm"} <= set(run.columns)
    assert run.optimizer == "AdamW"
    assert_regime(regime, log)


def test_range_test_on_the_trainer_restores_it_and_lands_near_the_sweep_best(tmp_path):
    """`hf_range_test(trainer)` before `train()`: the Trainer's own optimizer (AdamW, its
    decay groups), dataloader and compute_loss; the model comes back unchanged and the
    Trainer still makes its own optimizer for `train()`."""
    import copy

    from tiny import same_state, sweep_best

    from lrdoctor.capture import hf_range_test

    args = transformers.TrainingArguments(
        str(tmp_path),
        per_device_train_batch_size=64,
        report_to=[],
        use_cpu=True,
        seed=5,
        max_steps=800,
    )
    trainer = transformers.Trainer(model=Net(), args=args, train_dataset=Data())
    before = copy.deepcopy(trainer.model.state_dict())
    result = hf_range_test(trainer, path=tmp_path / "rt.csv")
    # the LR is for the Trainer's own planned training
    assert (result.budget_steps, result.budget_source) == (800, "max_steps")
    assert same_state(before, trainer.model.state_dict())
    assert trainer.optimizer is None
    best = sweep_best()
    assert 1 / 3 <= result.suggested_lr / best <= 3, (result.suggested_lr, best)
    import json

    assert json.loads((tmp_path / "rt.csv.lrdoctor").read_text())["optimizer"] == "AdamW"
