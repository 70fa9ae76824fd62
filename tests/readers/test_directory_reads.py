"""Each directory reader's `reads(path, rel)` names every file its `read` opens: a copy of the
folder holding only those files reads the same (that is how a run folder in object storage is
fetched, so a reader that starts reading a new file must say so here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lrdoctor.readers import DIRECTORY_READERS, read_path
from tests.readers.test_mlflow import make_store
from tests.readers.test_tensorboard import event, simple, write

SAMPLES = Path(__file__).resolve().parent / "samples"


def _hf(root: Path) -> Path:
    out = root / "hf"
    for n in (5, 10):
        (out / f"checkpoint-{n}").mkdir(parents=True)
        shutil.copy(SAMPLES / "trainer_state.json", out / f"checkpoint-{n}" / "trainer_state.json")
    return out


def _tensorboard(root: Path) -> Path:
    run = root / "tb"
    for sub, tag in (("train", "epoch_loss"), ("validation", "epoch_loss"), ("", "lr")):
        (run / sub).mkdir(parents=True, exist_ok=True)
        write(
            run / sub / "events.out.tfevents.1.h.1",
            [event(s, [simple(tag, 1 / (1 + s))]) for s in range(9)],
        )
    return run


# Per kind: a folder builder and a file in it the reader must not fetch (weights, artifacts).
FOLDERS = {
    "lightning": lambda root: shutil.copytree(
        SAMPLES / "lightning_logs" / "version_0", root / "version_0"
    ),
    "dvclive": lambda root: shutil.copytree(SAMPLES / "dvclive", root / "dvclive"),
    "hf": _hf,
    "tensorboard": _tensorboard,
    "mlflow": make_store,
}
UNREAD = {
    "lightning": "checkpoints/epoch=0-step=9.ckpt",
    "dvclive": "artifacts/model.pt",
    "hf": "checkpoint-10/model.safetensors",
    "tensorboard": "plugins/profile/events.out.tfevents.2.h.1",
    "mlflow": "1/a1b2c3/artifacts/model.pt",
}


@pytest.mark.parametrize("kind", sorted(FOLDERS))
def test_a_copy_with_only_the_files_the_reader_reads_reads_the_same(kind, tmp_path):
    folder = Path(FOLDERS[kind](tmp_path / "full"))
    (folder / UNREAD[kind]).parent.mkdir(parents=True, exist_ok=True)
    (folder / UNREAD[kind]).write_bytes(bytes(64))
    reader = next(r for r in DIRECTORY_READERS if r.claims_dir(folder))
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    kept = [rel for rel in files if reader.reads(folder, rel)]
    assert kept and UNREAD[kind] not in kept, kept
    copy = tmp_path / "copy" / folder.name
    for rel in kept:
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / rel, copy / rel)
    full, fetched = read_path(folder), read_path(copy)
    assert len(full) == len(fetched)
    for a, b in zip(full, fetched, strict=True):
        assert a.names == b.names and a.meta == b.meta
        for name in a.names:
            np.testing.assert_array_equal(a.values[name], b.values[name])
