"""W&B run folders without wandb: `.wandb` framing (records split over 32 KiB blocks, a torn
tail) and the Record fields the reader decodes, from bytes built here the way wandb lays them."""

from __future__ import annotations

import json
import struct

import pytest

from lrdoctor.errors import InputError
from lrdoctor.readers import discover, read_path
from lrdoctor.run import build_run


def _varint(n: int) -> bytes:
    out = b""
    while True:
        if n < 0x80:
            return out + bytes([n])
        out += bytes([n & 0x7F | 0x80])
        n >>= 7


def _field(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _item(key: str, value, nested: bool = True) -> bytes:
    name = _field(2 if nested else 1, key.encode())
    return name + _field(16, json.dumps(value).encode())


def history(row: dict) -> bytes:
    return _field(2, b"".join(_field(1, _item(k, v)) for k, v in row.items()))


def run_record(run_id: str, name: str, config: dict) -> bytes:
    cfg = b"".join(_field(1, _item(k, v, nested=False)) for k, v in config.items())
    return _field(17, _field(1, run_id.encode()) + _field(4, cfg) + _field(8, name.encode()))


def frame(records: list[bytes], block: int = 32768) -> bytes:
    """LevelDB log framing as wandb writes it, after the 7-byte :W&B header."""
    out = bytearray(b":W&B\xe1\xbe\x00")
    for rec in records:
        first = True
        while True:
            left = block - len(out) % block
            if left < 7:
                out += bytes(left)
                continue
            chunk, rec = rec[: left - 7], rec[left - 7 :]
            kind = (1 if first else 4) if not rec else (2 if first else 3)
            out += struct.pack("<IHB", 0, len(chunk), kind) + chunk
            first = False
            if not rec:
                break
    return bytes(out)


def write_run(folder, records, **kw):
    folder.mkdir(parents=True)
    (folder / "run-abc.wandb").write_bytes(frame(records, **kw))
    return folder


def rows(n: int) -> list[bytes]:
    return [history({"train/loss": 2.0 / (1 + s), "train/lr": 1e-3, "_step": s}) for s in range(n)]


def test_history_config_and_name(tmp_path):
    folder = write_run(
        tmp_path / "offline-run-1-abc",
        [run_record("abc", "baseline", {"optimizer": "SGD"})] + rows(5),
    )
    assert discover([folder]) == [folder]
    (table,) = read_path(folder)
    run = build_run(table)
    assert run.columns == {"step": "_step", "loss": "train/loss", "lr": "train/lr"}
    assert run["loss"].value.tolist() == [2.0 / (1 + s) for s in range(5)]
    assert run.optimizer == "SGD"
    assert table.meta["run_id"] == "abc" and table.meta["run_name"] == "baseline"


def test_records_split_across_blocks_and_a_torn_tail():
    # Small blocks make every record a FIRST/MIDDLE/LAST chain; the last record is cut short.
    import lrdoctor.readers.wandb as w

    data = frame(rows(40), block=64)

    notes: list[str] = []
    records = w.transaction_records(data[:-5], notes, block=64)
    assert len(records) == 39 and notes and "ends inside a record" in notes[0]
    assert records == [w.transaction_records(data, [], block=64)[i] for i in range(39)]


def test_not_a_transaction_log_is_one_input_error(tmp_path):
    folder = tmp_path / "run-1-abc"
    folder.mkdir()
    (folder / "run-abc.wandb").write_bytes(b"not wandb")
    with pytest.raises(InputError, match="no :W&B header"):
        read_path(folder)


def test_a_linked_run_folder_is_not_counted_twice(tmp_path):
    wandb = tmp_path / "wandb"
    real = write_run(wandb / "offline-run-1-abc", rows(5))
    (wandb / "latest-run").symlink_to(real.name)
    assert discover([wandb]) == [real]
    assert discover([wandb / "latest-run"]) == [wandb / "latest-run"]  # named: read
