"""TensorBoard event files, read without the tensorboard package: TFRecord framing, CRC32C
checks and just enough protobuf decoding for scalar summaries (simple_value and TF2 tensors)."""

from __future__ import annotations

import struct
from pathlib import Path

from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table
from lrdoctor.readers.records import table_from_series

MARKER = "tfevents"
_MASK_DELTA = 0xA282EAD8
_FLOAT_DTYPES = {1: "<f4", 2: "<f8", 19: "<f2", 3: "<i4", 9: "<i8"}  # DT_FLOAT, DOUBLE, HALF...


def _crc_table():
    import numpy as np

    table = np.zeros(256, np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table[i] = c
    return table


_TABLE = None
_SHIFT = None  # four byte tables: the register advanced through BLOCK zero bytes

# A record is checksummed from the right: zeros put in front of it leave a CRC register that
# starts at 0 at 0, and starting at 0 with the first four bytes flipped is starting at
# 0xFFFFFFFF. So records are padded in front to a few shared lengths (one vectorised pass per
# length); longer ones are cut into BLOCK-byte blocks, checksummed all at once and joined.
# Numpy steps grow with the block size, never with a record's length.
ALIGN = 64
BLOCK = 4096
BATCH_BYTES = 4 * 1024 * 1024  # bytes of records gathered into one array at a time


def _byte_table():
    """The CRC32C byte table (what a short record's checksum needs: sniffing a file)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _crc_table()
    return _TABLE


def _tables():
    """The byte table and the BLOCK-shift tables (long records); the latter cost ~50-200 ms to
    build, so only a file with records over BLOCK bytes builds them."""
    import numpy as np

    global _SHIFT
    table = _byte_table()
    if _SHIFT is None:
        basis = _advance(
            np.zeros((32, BLOCK), np.uint8), np.uint32(1) << np.arange(32, dtype=np.uint32)
        )
        values = np.arange(256)
        bits = ((values[:, None] >> np.arange(8)) & 1).astype(bool)  # (256, 8)
        _SHIFT = [
            np.bitwise_xor.reduce(np.where(bits, basis[8 * k : 8 * k + 8], 0), axis=1).astype(
                np.uint32
            )
            for k in range(4)
        ]
    return table, _SHIFT


def _advance(rows, state):
    """The raw CRC32C register of each row after its bytes, from `state` (no final xor)."""
    import numpy as np

    table = _TABLE if _TABLE is not None else _byte_table()
    for j in range(rows.shape[1]):
        state = table[(state ^ rows[:, j]) & 0xFF] ^ (state >> np.uint32(8))
    return state


def _mask(crc):
    import numpy as np

    crc = crc ^ np.uint32(0xFFFFFFFF)
    return ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(_MASK_DELTA)


def masked_crc32c(rows):
    """Masked CRC32C of each row of a 2-D uint8 array (all rows the same length).

    Vectorised across rows: records of one length are checked together, one byte per step.
    """
    import numpy as np

    return _mask(_advance(rows, np.full(rows.shape[0], 0xFFFFFFFF, np.uint32)))


_TABLE_LIST: list[int] | None = None


def _masked_crc32c_bytes(data: bytes) -> int:
    """`masked_crc32c` of one short byte string in plain Python: the sniff of every input
    checks 8 bytes, where a dozen numpy steps cost more than the arithmetic."""
    global _TABLE_LIST
    if _TABLE_LIST is None:
        _TABLE_LIST = _byte_table().tolist()
    table, state = _TABLE_LIST, 0xFFFFFFFF
    for b in data:
        state = table[(state ^ b) & 0xFF] ^ (state >> 8)
    crc = state ^ 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _gather(raw, starts, lengths, slots):
    """The records laid right-aligned in zeroed slots of the given sizes, each one's first four
    bytes flipped (see ALIGN): one flat uint8 array, built without a per-record loop."""
    import numpy as np

    total = int(lengths.sum())
    out = np.zeros(int(slots.sum()), np.uint8)
    rec = np.repeat(np.arange(len(lengths)), lengths)
    offset = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    slot_end = np.cumsum(slots)
    out[slot_end[rec] - lengths[rec] + offset] = raw[starts[rec] + offset]
    first = (slot_end - lengths)[:, None] + np.arange(4)
    out[first] ^= np.uint8(0xFF)
    return out


def masked_crc32c_of(raw, starts, lengths):
    """Masked CRC32C of the records `raw[start : start + length]` of any lengths."""
    import numpy as np

    starts, lengths = np.asarray(starts, np.int64), np.asarray(lengths, np.int64)
    out = np.zeros(len(lengths), np.uint32)
    tiny = np.flatnonzero(lengths < 4)  # too short to flip four bytes: checked as they are
    for length in np.unique(lengths[tiny]):
        idx = tiny[lengths[tiny] == length]
        rows = raw[starts[idx][:, None] + np.arange(length)]
        out[idx] = masked_crc32c(rows.reshape(len(idx), int(length)))
    short = np.flatnonzero((lengths >= 4) & (lengths <= BLOCK))
    slot = -(-lengths // ALIGN) * ALIGN
    for size in np.unique(slot[short]):
        group = short[slot[short] == size]
        per_batch = max(1, BATCH_BYTES // int(size))
        for b in range(0, len(group), per_batch):
            idx = group[b : b + per_batch]
            rows = _gather(raw, starts[idx], lengths[idx], slot[idx]).reshape(len(idx), -1)
            out[idx] = _mask(_advance(rows, np.zeros(len(idx), np.uint32)))
    long = np.flatnonzero(lengths > BLOCK)
    shift = _tables()[1] if len(long) else None
    batch: list[int] = []
    gathered = 0
    for k, i in enumerate(long):
        batch.append(int(i))
        gathered += int(lengths[i])
        if k + 1 == len(long) or gathered >= BATCH_BYTES:
            idx = np.array(batch)
            blocks = -(-lengths[idx] // BLOCK)
            flat = np.zeros(int(blocks.sum()) * BLOCK, np.uint8)
            at = 0
            for j, n_blocks in zip(idx, blocks, strict=True):  # records over 4 KiB: few
                end = at + int(n_blocks) * BLOCK
                flat[end - lengths[j] : end] = raw[starts[j] : starts[j] + lengths[j]]
                flat[end - lengths[j] : end - lengths[j] + 4] ^= np.uint8(0xFF)
                at = end
            crcs = _advance(flat.reshape(-1, BLOCK), np.zeros(len(flat) // BLOCK, np.uint32))
            at = 0
            for j, n_blocks in zip(idx, blocks, strict=True):
                state = 0
                for c in crcs[at : at + int(n_blocks)].tolist():
                    state = (
                        int(shift[0][state & 0xFF])
                        ^ int(shift[1][(state >> 8) & 0xFF])
                        ^ int(shift[2][(state >> 16) & 0xFF])
                        ^ int(shift[3][state >> 24])
                        ^ c
                    )
                out[j] = _mask(np.array([state], np.uint32))[0]
                at += int(n_blocks)
            batch, gathered = [], 0
    return out


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        b = buf[i]
        i += 1
        out |= (b & 0x7F) << shift
        if b < 0x80:
            return out, i
        shift += 7


def fields(buf: bytes):
    """Yield (field number, wire type, value) of a protobuf message; bytes for length fields."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i : i + size], i + size
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield num, wire, value


def _tensor_scalar(buf: bytes) -> float | None:
    """The value of a rank-0 (or one-element) numeric TensorProto, else None."""
    import numpy as np

    dtype, content, vals = 0, b"", []
    for num, wire, value in fields(buf):
        if num == 1:
            dtype = value
        elif num == 4:
            content = value
        elif num == 5:  # float_val, packed or not
            vals += (
                struct.unpack(f"<{len(value) // 4}f", value)
                if wire == 2
                else struct.unpack("<f", value)
            )
        elif num == 6:  # double_val
            vals += (
                struct.unpack(f"<{len(value) // 8}d", value)
                if wire == 2
                else struct.unpack("<d", value)
            )
    if content and dtype in _FLOAT_DTYPES:
        arr = np.frombuffer(content, _FLOAT_DTYPES[dtype])
        return float(arr[0]) if arr.size == 1 else None
    return float(vals[0]) if len(vals) == 1 else None


def _plugin(meta: bytes) -> str:
    for num, _, value in fields(meta):
        if num == 1:
            for n2, _, v2 in fields(value):
                if n2 == 1:
                    return v2.decode("utf-8", "replace")
    return ""


def _scalars(event: bytes, scalar_tags: set[str]):
    """Yield (step, tag, value) for each scalar in an Event; remembers TF2 scalar tags."""
    step, summary = 0, None
    for num, _, value in fields(event):
        if num == 2:
            step = value - (1 << 64) if value >= 1 << 63 else value
        elif num == 5:
            summary = value
    if summary is None:
        return
    for num, _, value in fields(summary):
        if num != 1:
            continue
        tag, simple, tensor, plugin = "", None, None, None
        for n2, _, v2 in fields(value):
            if n2 == 1:
                tag = v2.decode("utf-8", "replace")
            elif n2 == 2:
                simple = struct.unpack("<f", v2)[0]
            elif n2 == 8:
                tensor = v2
            elif n2 == 9:
                plugin = _plugin(v2)
        if plugin == "scalars":
            scalar_tags.add(tag)  # TF2 writes the metadata with the first value only
        if simple is not None:
            yield step, tag, simple
        elif tensor is not None and (tag in scalar_tags or plugin is None):
            number = _tensor_scalar(tensor)
            if number is not None:
                yield step, tag, number


def read_events(path: Path, notes: list[str], scalar_tags: set[str] | None = None):
    """Every scalar point of one event file, in file order, as (step, tag, value)."""
    return parse_events(path.read_bytes(), path.name, notes, scalar_tags)[0]


def parse_events(
    data: bytes,
    name: str,
    notes: list[str],
    scalar_tags: set[str] | None = None,
    final: bool = True,
) -> tuple[list, int]:
    """The scalar points of the whole records in `data`, and the bytes those records take.

    `final=False` (following a live file): a record cut short is the writer's next one, left
    unread without a note.
    """
    import numpy as np

    scalar_tags = set() if scalar_tags is None else scalar_tags
    headers, spans = [], []
    i, n = 0, len(data)
    cut = f"{name}: the last record is cut short (a live writer?); ignored"
    while i < n:
        if n - i < 12:
            if final:
                notes.append(cut)
            break
        length = struct.unpack_from("<Q", data, i)[0]
        headers.append((i, length))
        if i + 12 + length + 4 > n:
            if final:
                notes.append(cut)
            headers.pop()
            break
        spans.append((i + 12, i + 12 + length))
        i += 12 + length + 4
    consumed = i  # the start of the first record not whole yet
    if not headers:
        return [], 0
    raw = np.frombuffer(data, np.uint8)
    starts = np.array([h[0] for h in headers])
    head_rows = raw[starts[:, None] + np.arange(8)]
    stored = np.array([struct.unpack_from("<I", data, s + 8)[0] for s in starts], np.uint32)
    bad_len = np.flatnonzero(masked_crc32c(head_rows) != stored)
    if bad_len.size:
        notes.append(f"{name}: a record length fails its checksum; read stopped there")
        spans = spans[: int(bad_len[0])]
        consumed = n  # nothing after a broken length can be framed: never read it again
    points, checked = [], []
    for start, end in spans:
        try:
            found = list(_scalars(data[start:end], scalar_tags))
        except (ValueError, IndexError, struct.error):
            found = []
        if found:
            checked.append((start, end, found))
    ok = _data_crc_ok(data, raw, checked)
    if not ok.all():
        notes.append(f"{name}: {int((~ok).sum())} record(s) failed their checksum; skipped")
    for good, (_, _, found) in zip(ok, checked, strict=True):
        if good:
            points.extend(found)
    return points, consumed


def _data_crc_ok(data: bytes, raw, records):
    """Checksum only the records that carry scalars (images and graphs are skipped unread)."""
    import numpy as np

    starts = np.array([s for s, _, _ in records], np.int64)
    ends = np.array([e for _, e, _ in records], np.int64)
    stored = np.array([struct.unpack_from("<I", data, e)[0] for e in ends.tolist()], np.uint32)
    return masked_crc32c_of(raw, starts, ends - starts) == stored


# The folders of a run whose event files are read: the run's own, and Keras's train/validation.
EVENT_GROUPS = ("", "train", "validation")


def _event_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if MARKER in p.name and p.is_file())
    except OSError:
        return []


def _to_table(source: str, files_by_prefix: dict[str, list[Path]], select: Select) -> Table:
    notes: list[str] = []
    series: dict[str, tuple[list[float], list[float]]] = {}
    for prefix, files in files_by_prefix.items():
        scalar_tags: set[str] = set()
        for f in files:
            for step, tag, value in read_events(f, notes, scalar_tags):
                s = series.setdefault(_rename(prefix, tag), ([], []))
                s[0].append(step)
                s[1].append(value)
    if not series:
        raise InputError(
            source,
            "the TensorBoard events hold no scalars",
            "log them with add_scalar / tf.summary.scalar",
        )
    return table_from_series(source, series, select, notes, {"framework": "tensorboard"})


def _rename(prefix: str, tag: str) -> str:
    """Keras writes `epoch_loss` under train/ and validation/: make them `loss` / `val_loss`."""
    if prefix == "validation":
        return "val_" + tag.removeprefix("epoch_")
    if prefix == "train":
        return tag.removeprefix("epoch_")
    return tag


class EventFileReader:
    name = "tensorboard-file"

    def sniff(self, path: Path, head: bytes) -> bool:
        if MARKER in path.name:
            return True
        # A renamed event file: the first record's length checksum proves the framing.
        if len(head) < 12:
            return False
        return _masked_crc32c_bytes(head[:8]) == struct.unpack_from("<I", head, 8)[0]

    def read(self, path: Path, select: Select) -> list[Table]:
        return [_to_table(str(path), {"": [path]}, select)]


class EventDirReader:
    name = "tensorboard"

    def claims_dir(self, path: Path) -> bool:
        return bool(_event_files(path)) or bool(_event_files(path / "train"))

    def reads(self, path: Path, rel: str) -> bool:
        folder, _, name = rel.rpartition("/")
        return MARKER in name and folder in EVENT_GROUPS

    def sniff(self, path: Path, head: bytes) -> bool:
        return False

    def read(self, path: Path, select: Select) -> list[Table]:
        groups = {g: files for g in EVENT_GROUPS if (files := _event_files(path / g))}
        return [_to_table(str(path), groups, select)]
