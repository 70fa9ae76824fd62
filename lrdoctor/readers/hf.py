"""Hugging Face Trainer: `trainer_state.json` and the output folder with its `checkpoint-N/`."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table
from lrdoctor.readers.jsonlog import load_json
from lrdoctor.readers.records import table_from_records

STATE = "trainer_state.json"
ARGS = "training_args.bin"  # torch.save(TrainingArguments): a zip holding one pickle
_ARGS_LIMIT = 1 << 20  # a real one is ~4 KB; a larger pickle is not the Trainer's
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
    table = table_from_records(source or str(path), kept, select, notes, meta, rename=RENAME)
    return with_args_optimizer(table, path.parent)


def with_args_optimizer(table: Table, *folders: Path) -> Table:
    """trainer_state.json does not name the optimizer: take `optim` from the first of
    `folders` whose training_args.bin names one (unless the table already has an optimizer)."""
    for folder in folders:
        if "optimizer" in table.meta:
            break
        if (folder / ARGS).is_file() and (optim := args_optimizer(folder / ARGS)):
            table.meta["optimizer"] = optim
    return table


def args_optimizer(path: Path) -> str | None:
    """`optim` of a Trainer's training_args.bin ("adamw_torch"), read from the opcodes of its
    pickle: nothing in the file is unpickled, so no code from it runs. None when the file is
    not such a pickle or names no optimizer."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(_ARGS_LIMIT)  # a legacy torch.save: the pickles themselves
        if data.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(path) as zf:
                pkl = [i for i in zf.infolist() if i.filename.rpartition("/")[2] == "data.pkl"]
                if len(pkl) != 1 or pkl[0].file_size > _ARGS_LIMIT:
                    return None
                with zf.open(pkl[0]) as fh:
                    data = fh.read(_ARGS_LIMIT)
        return _optim_in(data)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError):
        return None  # unreadable, truncated or not a pickle: the optimizer stays unknown


_TEXT = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE"}
_TEXT |= {"BINUNICODE8", "BINBYTES", "SHORT_BINBYTES"}
_PUT = {"PUT", "BINPUT", "LONG_BINPUT"}
_GET = {"GET", "BINGET", "LONG_BINGET"}


def _optim_in(data: bytes) -> str | None:
    """The value after the first `'optim'` string of the pickle(s) in `data`: a string, or an
    enum (`OptimizerNames('adamw_torch')`: its class, the string, TUPLE1, REDUCE). The memo is
    followed for strings, classes and enums pushed earlier; pickles of a legacy torch.save are
    read in turn."""
    import pickletools  # here: it and pickle cost ~5 ms of every start-up

    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        pushed: list[tuple[str, object]] = []  # ("text", s) / ("class", name) / ("other", op)
        memo: dict[int, tuple[str, object]] = {}
        for op, arg, _ in pickletools.genops(stream):
            name = op.name
            if name in _PUT or name == "MEMOIZE":
                memo[len(memo) if name == "MEMOIZE" else arg] = pushed[-1] if pushed else ("",)
                continue
            if name in _GET:
                pushed.append(memo.get(arg, ("other", name)))
            elif name in _TEXT:
                text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else arg
                pushed.append(("text", text))
            elif name == "GLOBAL":
                pushed.append(("class", arg))
            elif name == "STACK_GLOBAL" and len(pushed) >= 2:
                module, qualname = pushed.pop(-2), pushed.pop()
                pushed.append(("class", f"{module[1]} {qualname[1]}"))
            elif name == "REDUCE" and pushed[-3:-1] and pushed[-1] == ("other", "TUPLE1"):
                # An enum made of one string (its class, the string, TUPLE1): that string, so
                # a memoised member fetched back later reads as its value too.
                if [v[0] for v in pushed[-3:-1]] == ["class", "text"]:
                    pushed[-3:] = [pushed[-2]]
                else:
                    pushed.append(("other", name))
            else:
                pushed.append(("other", name))
            if name == "STOP":
                break
        after = next((i + 1 for i, v in enumerate(pushed) if v == ("text", "optim")), None)
        if after is not None:
            rest = [v for v in pushed[after:] if v[0] != "class"]
            return str(rest[0][1]) if rest and rest[0][0] == "text" and rest[0][1] else None
    return None


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
        # A checkpoint's own training_args.bin was tried; the one save_model() writes on top.
        return [with_args_optimizer(table, path)]


def _children(path: Path) -> list[Path]:
    try:
        return [p for p in path.iterdir() if p.is_dir()]
    except OSError:
        return []
