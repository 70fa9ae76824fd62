"""The HF Trainer's optimizer from `training_args.bin`, read without unpickling (no torch, no
transformers: the file is built here as torch.save lays it out, a zip holding one pickle)."""

from __future__ import annotations

import enum
import json
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import lrdoctor
from lrdoctor.readers.hf import args_optimizer


class OptimizerNames(str, enum.Enum):  # noqa: UP042  (as transformers declares it)
    ADAMW_TORCH = "adamw_torch"
    SGD = "sgd"


class Trap:
    """Unpickling this would create `path`: proof that nothing in the file is ever run."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@dataclass
class TrainingArguments:
    output_dir: str = "out"
    # Before `optim`: a field of the same enum (its class is then memoised and fetched
    # back for `optim`), and one whose unpickling would run code.
    hub_optim: OptimizerNames = OptimizerNames.SGD
    trap: object = None
    optim: object = OptimizerNames.ADAMW_TORCH
    optim_args: str | None = None
    report_to: list = field(default_factory=list)


def write_args(path: Path, args, protocol: int = 2) -> Path:
    """`args` as torch.save writes it: `<name>/data.pkl` and its companions in a zip."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{path.stem}/data.pkl", pickle.dumps(args, protocol=protocol))
        zf.writestr(f"{path.stem}/byteorder", "little")
        zf.writestr(f"{path.stem}/version", "3\n")
    return path


STATE = {
    "global_step": 30,
    "log_history": [
        {"step": s, "loss": 2.0 - 0.05 * s, "learning_rate": 1e-3, "epoch": s / 30}
        for s in range(1, 31)
    ],
}


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("optim", [OptimizerNames.ADAMW_TORCH, "adamw_torch"])
def test_the_optimizer_is_read_from_the_pickles_opcodes(protocol, optim, tmp_path):
    trap = tmp_path / "ran"
    args = TrainingArguments(trap=Trap(trap), optim=optim)
    path = write_args(tmp_path / "training_args.bin", args, protocol)
    assert args_optimizer(path) == "adamw_torch"
    assert not trap.exists()


def test_a_legacy_torch_save_is_a_row_of_pickles(tmp_path):
    path = tmp_path / "training_args.bin"
    head = b"".join(pickle.dumps(v, 2) for v in (0x1950A86A20F9469CFC6C, 1001, {"le": True}))
    path.write_bytes(head + pickle.dumps(TrainingArguments(optim=OptimizerNames.SGD), 2))
    assert args_optimizer(path) == "sgd"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"PK\x03\x04 not really a zip",
        b"\x80\x02}q\x00X\x05\x00\x00\x00optimq\x01",  # cut off after the key
        pickle.dumps({"optim": None}, 2),
        pickle.dumps({"lr": 1e-3}, 4),
        b"\xff" * 64,
    ],
    ids=["empty", "bad-zip", "truncated", "none", "no-optim", "garbage"],
)
def test_a_file_that_names_no_optimizer_gives_none(content, tmp_path):
    path = tmp_path / "training_args.bin"
    path.write_bytes(content)
    assert args_optimizer(path) is None


def test_the_output_folder_takes_the_optimizer_from_training_args(tmp_path):
    (tmp_path / "trainer_state.json").write_text(json.dumps(STATE))
    write_args(tmp_path / "training_args.bin", TrainingArguments(optim=OptimizerNames.SGD))
    run = lrdoctor.check(tmp_path).runs[0]
    assert run.error is None and run.optimizer == "sgd"
    # The file alone: its folder's training_args.bin too.
    assert lrdoctor.check(tmp_path / "trainer_state.json").runs[0].optimizer == "sgd"


def test_a_checkpoints_own_training_args_come_first_then_the_top_ones(tmp_path):
    ckpt = tmp_path / "checkpoint-30"
    ckpt.mkdir()
    (ckpt / "trainer_state.json").write_text(json.dumps(STATE))
    write_args(tmp_path / "training_args.bin", TrainingArguments(optim="adamw_torch"))
    assert lrdoctor.check(tmp_path).runs[0].optimizer == "adamw_torch"
    write_args(ckpt / "training_args.bin", TrainingArguments(optim=OptimizerNames.SGD))
    assert lrdoctor.check(tmp_path).runs[0].optimizer == "sgd"


def test_without_a_readable_training_args_the_optimizer_stays_unknown(tmp_path):
    (tmp_path / "trainer_state.json").write_text(json.dumps(STATE))
    (tmp_path / "training_args.bin").write_bytes(b"\x80\x04garbage")
    run = lrdoctor.check(tmp_path).runs[0]
    assert run.error is None and run.optimizer is None
