"""Hugging Face Trainer: `trainer_state.json` and the output folder with its `checkpoint-N/`."""

from __future__ import annotations

import re
from pathlib import Path

from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table
from lrdoctor.readers.jsonlog import load_json
from lrdoctor.readers.records import table_from_records

STATE = "trainer_state.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# Keys only the end-of-training summary row carries (its `train_loss` is a mean, not a step).
_SUMMARY_KEYS = {"train_runtime", "train_samples_per_second", "total_flos"}
RENAME = {"eval_loss": "val_loss", "eval_accuracy": "val_accuracy"}


def read_state(path: Path, select: Select, source: str | None = None) -> Table:
    state = load_json(path)
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise InputError(path, "has no log_history list", "is it a trainer_state.json?")
    rows = [r for r in history if isinstance(r, dict) and "step" in r]
    kept = [r for r in rows if not (_SUMMARY_KEYS & r.keys()) and "train_loss" not in r]
    notes = []
    if len(kept) < len(rows):
        notes.append("the end-of-training summary row (train_loss, train_runtime) was left out")
    if not any("loss" in r for r in kept):
        notes.append("log_history has no training loss rows (logging_steps too large?)")
    elif not any("grad_norm" in r for r in kept):
        notes.append("no grad_norm in log_history (transformers older than 4.38)")
    # The Trainer logs the mean training loss of each logging window, not one step's.
    meta = {"framework": "huggingface", "loss_rows": "window_mean"}
    if isinstance(state.get("global_step"), int):
        meta["global_step"] = str(state["global_step"])
    return table_from_records(source or str(path), kept, select, notes, meta, rename=RENAME)


def _is_state(head: bytes) -> bool:
    return b'"log_history"' in head


class TrainerStateReader:
    name = "hf-trainer-state"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head.lstrip()
        return text.startswith(b"{") and (_is_state(head) or path.name == STATE)

    def read(self, path: Path, select: Select) -> list[Table]:
        return [read_state(path, select)]


class HfOutputDirReader:
    name = "hf-output-dir"

    def claims_dir(self, path: Path) -> bool:
        return (path / STATE).is_file() or any(
            _CHECKPOINT.match(p.name) and (p / STATE).is_file() for p in _children(path)
        )

    def reads(self, path: Path, rel: str) -> bool:
        folder, _, name = rel.rpartition("/")
        return name == STATE and (folder == "" or bool(_CHECKPOINT.match(folder)))

    def sniff(self, path: Path, head: bytes) -> bool:
        return False

    def read(self, path: Path, select: Select) -> list[Table]:
        checkpoints = sorted(
            ((int(m.group(1)), p) for p in _children(path) if (m := _CHECKPOINT.match(p.name))),
            reverse=True,
        )
        notes: list[str] = []
        best: tuple[int, Table, str] | None = None
        for n, folder in checkpoints:
            if not (folder / STATE).is_file():
                continue
            try:
                best = (n, read_state(folder / STATE, select, str(path)), folder.name)
                break
            except InputError as exc:
                notes.append(f"{folder.name}/{STATE} was skipped: {exc.problem}")
        if (path / STATE).is_file():
            try:
                top = read_state(path / STATE, select, str(path))
                top_step = int(top.meta.get("global_step", "0"))
                if best is None or top_step >= best[0]:
                    best = (top_step, top, STATE)
            except InputError as exc:
                notes.append(f"{STATE} was skipped: {exc.problem}")
        if best is None:
            raise InputError(path, "no trainer_state.json in it could be read", "; ".join(notes))
        table = best[1]
        table.notes[:0] = notes
        table.meta["history_from"] = best[2]
        return [table]


def _children(path: Path) -> list[Path]:
    try:
        return [p for p in path.iterdir() if p.is_dir()]
    except OSError:
        return []
