"""Weights & Biases: the UI's "Export CSV" (`Step, "<run> - <metric>", ...__MIN, ...__MAX` per
run) and run folders (offline or synced), read from the run's `.wandb` transaction log."""

from __future__ import annotations

from pathlib import Path

from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table
from lrdoctor.readers.frameworks import csv_header, sniffed_header
from lrdoctor.readers.records import RUN_PARAMS, table_from_records
from lrdoctor.readers.tabular import CsvReader
from lrdoctor.readers.tensorboard import fields

SEP = " - "
BANDS = ("__MIN", "__MAX")


def _split(name: str) -> tuple[str, str] | None:
    if SEP not in name or name.endswith(BANDS):
        return None
    run, metric = name.rsplit(SEP, 1)
    return run.strip(), metric.strip()


class WandbExportReader:
    """Weights & Biases UI CSV export: a Step column and "<run> - <metric>" columns."""

    name = "wandb-export"

    def sniff(self, path: Path, head: bytes) -> bool:
        names = sniffed_header(path, head)
        return (
            names is not None
            and len(names) > 1
            and SEP not in names[0]
            and all(SEP in n for n in names[1:])
        )

    def read(self, path: Path, select: Select) -> list[Table]:
        names = csv_header(path)
        axis = names[0]
        runs: dict[str, dict[str, str]] = {}  # run -> metric -> column
        for name in names[1:]:
            parts = _split(name)
            if parts:
                runs.setdefault(parts[0], {})[parts[1]] = name
        wanted = {axis}
        for metrics in runs.values():
            picked = set(select([axis, *metrics]))
            wanted |= {col for m, col in metrics.items() if m in picked}
        (table,) = CsvReader().read(path, lambda _names: wanted)
        out = []
        for run, metrics in runs.items():
            cols = {m: c for m, c in metrics.items() if c in table.values}
            t = Table(
                source=f"{path}::{run}" if len(runs) > 1 else str(path),
                names=["step", *metrics],
                notes=list(table.notes),
                meta={"framework": "wandb", "run_name": run},
            )
            if axis in table.values:
                t.values["step"], t.empty["step"] = table.values[axis], table.empty[axis]
                if axis in table.rounded:
                    t.rounded.add("step")
            for metric, col in cols.items():
                t.values[metric], t.empty[metric] = table.values[col], table.empty[col]
            out.append(t)
        if not out:
            raise InputError(path, "a W&B export without metric columns")
        return out


# An offline (or synced) run folder: `wandb/offline-run-<time>-<id>/run-<id>.wandb`, W&B's
# transaction log. A 7-byte header (":W&B", magic 0xBEE1, version), then LevelDB log framing:
# 32 KiB blocks of chunks (crc32 u32, length u16, type u8: 1 full, 2 first, 3 middle, 4 last),
# each record a wandb_internal `Record` protobuf. Only what a check needs is decoded.
WANDB_MAGIC = b":W&B"
_BLOCK, _CHUNK = 32768, 7
_HISTORY, _CONFIG, _RUN = 2, 5, 17  # Record fields
_RUN_ID, _RUN_CONFIG, _RUN_NAME = 1, 4, 8  # RunRecord fields
_ITEM_KEY, _ITEM_NESTED, _ITEM_JSON = 1, 2, 16  # HistoryItem / ConfigItem fields
_ITEM_INT, _ITEM_NUMBER = 5, 6  # HistoryItem's typed values (newer clients)


def transaction_records(data: bytes, notes: list[str], block: int = _BLOCK) -> list[bytes]:
    """The records of a `.wandb` file; a torn last record (a live run) is left out."""
    import struct

    records, parts, pos = [], [], _CHUNK
    while pos + _CHUNK <= len(data):
        left = block - pos % block
        if left < _CHUNK:  # a block's tail too short for a chunk header is zero padding
            pos += left
            continue
        _, size, kind = struct.unpack_from("<IHB", data, pos)
        chunk, pos = data[pos + _CHUNK : pos + _CHUNK + size], pos + _CHUNK + size
        if len(chunk) < size:
            notes.append("the .wandb file ends inside a record (a live run?); it was left out")
            break
        if kind == 1:
            records.append(chunk)
        elif kind == 2:
            parts = [chunk]
        elif kind == 3 and parts:
            parts.append(chunk)
        elif kind == 4 and parts:
            records.append(b"".join([*parts, chunk]))
            parts = []
        elif kind == 0 and size == 0:  # zero padding to the end of a block
            pos += block - pos % block if pos % block else 0
        else:
            notes.append(f"the .wandb file has a damaged chunk at byte {pos}; read up to it")
            break
    return records


def _item(buf: bytes) -> tuple[str, object]:
    """(name, value) of a HistoryItem or ConfigItem; nested keys joined with '.'."""
    import json
    import struct

    key, nested, value = "", [], None
    for num, wire, raw in fields(buf):
        if num == _ITEM_KEY and wire == 2:
            key = raw.decode("utf-8", "replace")
        elif num == _ITEM_NESTED and wire == 2:
            nested.append(raw.decode("utf-8", "replace"))
        elif num == _ITEM_JSON and wire == 2:
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
        elif num == _ITEM_NUMBER and wire == 1:
            value = struct.unpack("<d", raw)[0]
        elif num == _ITEM_INT and wire == 0:
            value = raw - (1 << 64) if raw >= 1 << 63 else raw
    return key or ".".join(nested), value


def _config(buf: bytes, config: dict) -> None:
    for num, wire, raw in fields(buf):
        if num == 1 and wire == 2:  # ConfigRecord.update
            name, value = _item(raw)
            config[name] = value


def read_transaction_log(path: Path) -> tuple[list[dict], dict, dict[str, str], list[str]]:
    """(history rows, config, run info, notes) of a `.wandb` file."""
    notes: list[str] = []
    data = path.read_bytes()
    if not data.startswith(WANDB_MAGIC):
        raise InputError(path, "is not a W&B transaction log (no :W&B header)")
    rows, config, info = [], {}, {}
    for n, record in enumerate(transaction_records(data, notes)):
        try:
            for num, wire, raw in fields(record):
                if wire != 2:
                    continue
                if num == _HISTORY:
                    rows.append(dict(_item(r) for i, w, r in fields(raw) if i == 1 and w == 2))
                elif num == _CONFIG:
                    _config(raw, config)
                elif num == _RUN:
                    for i, w, r in fields(raw):
                        if i == _RUN_CONFIG and w == 2:
                            _config(r, config)
                        elif i in (_RUN_ID, _RUN_NAME) and w == 2:
                            info["run_id" if i == _RUN_ID else "run_name"] = r.decode(
                                "utf-8", "replace"
                            )
        except (ValueError, IndexError):
            notes.append(f"record {n} of the .wandb file could not be decoded; skipped")
    return rows, config, info, notes


def _run_file(path: Path) -> Path | None:
    try:
        found = sorted(p for p in path.glob("run-*.wandb") if p.is_file())
    except OSError:
        return None
    return found[0] if found else None


class WandbRunReader:
    """A W&B run folder (`wandb/offline-run-*`, `wandb/run-*`): the history rows logged with
    `run.log`, the optimizer and LR from the run's config, read from `run-<id>.wandb`."""

    name = "wandb-run"

    def claims_dir(self, path: Path) -> bool:
        return _run_file(path) is not None

    def reads(self, path: Path, rel: str) -> bool:
        return "/" not in rel and rel.startswith("run-") and rel.endswith(".wandb")

    def sniff(self, path: Path, head: bytes) -> bool:
        return False

    def read(self, path: Path, select: Select) -> list[Table]:
        run_file = _run_file(path)
        assert run_file is not None
        rows, config, info, notes = read_transaction_log(run_file)
        if not rows:
            raise InputError(path, "the W&B run logged no history (run.log)")
        meta = {"framework": "wandb", **info}
        for key, value in config.items():
            if key in RUN_PARAMS and isinstance(value, str | int | float) and value != "":
                meta.setdefault(RUN_PARAMS[key], str(value))
        notes.append("W&B's _step counts run.log calls; a logged global step is preferred")
        return [table_from_records(str(path), rows, select, notes, meta)]
