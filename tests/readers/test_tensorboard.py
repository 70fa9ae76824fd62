"""TensorBoard event files: a minimal writer in the test, and a cross-check with the library."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrdoctor.readers import discover, read_path
from lrdoctor.readers.tensorboard import BLOCK, masked_crc32c, masked_crc32c_of
from lrdoctor.run import build_run


def crc32c_reference(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        if n < 0x80:
            return bytes(out + bytes([n]))
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def field(num: int, wire: int, payload: bytes) -> bytes:
    key = varint(num << 3 | wire)
    return key + (varint(len(payload)) + payload if wire == 2 else payload)


def event(step: int, values: list[bytes], wall: float = 1.7e9) -> bytes:
    summary = b"".join(field(1, 2, v) for v in values)
    return field(1, 1, struct.pack("<d", wall)) + field(2, 0, varint(step)) + field(5, 2, summary)


def simple(tag: str, value: float) -> bytes:
    return field(1, 2, tag.encode()) + field(2, 5, struct.pack("<f", value))


def tf2_scalar(tag: str, value: float, first: bool, packed: bool = True) -> bytes:
    if packed:
        tensor = field(1, 0, varint(2)) + field(2, 2, b"") + field(4, 2, struct.pack("<d", value))
    else:
        tensor = field(1, 0, varint(1)) + field(2, 2, b"") + field(5, 5, struct.pack("<f", value))
    meta = field(1, 2, field(1, 2, b"scalars")) if first else b""
    return field(1, 2, tag.encode()) + field(8, 2, tensor) + (field(9, 2, meta) if first else b"")


def frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", crc32c_reference(length))
        + data
        + struct.pack("<I", crc32c_reference(data))
    )


def write(path: Path, events: list[bytes]) -> Path:
    version = field(1, 1, struct.pack("<d", 1.7e9)) + field(3, 2, b"brain.Event:2")
    path.write_bytes(b"".join(frame(e) for e in [version, *events]))
    return path


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(min_size=7, max_size=7), min_size=1, max_size=5))
def test_vectorised_crc_matches_bytewise_reference(rows):
    arr = np.frombuffer(b"".join(rows), np.uint8).reshape(len(rows), 7)
    assert masked_crc32c(arr).tolist() == [crc32c_reference(r) for r in rows]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 70), st.integers(BLOCK - 3, BLOCK + 3), st.integers(0, 3 * BLOCK)),
        min_size=1,
        max_size=6,
    ),
    st.randoms(use_true_random=False),
)
def test_records_of_any_length_match_the_bytewise_reference(lengths, rng):
    """Padded, aligned and block-joined CRCs (records of every size) equal the plain one."""
    data = rng.randbytes(sum(lengths) + 9)
    starts = np.cumsum([9, *lengths[:-1]])
    got = masked_crc32c_of(np.frombuffer(data, np.uint8), starts, lengths).tolist()
    assert got == [crc32c_reference(data[s : s + n]) for s, n in zip(starts, lengths, strict=True)]


def test_simple_values_every_point(tmp_path):
    steps = range(0, 30000, 2)  # more than EventAccumulator's default reservoir keeps
    events = [
        event(s, [simple("train/loss", 1.0 / (1 + s)), simple("train/lr", 1e-3)]) for s in steps
    ]
    f = write(tmp_path / "events.out.tfevents.1700000000.host.1.0", events)
    run = build_run(read_path(f)[0])
    assert len(run["loss"]) == 15000
    assert run["loss"].value[-1] == pytest.approx(1.0 / 29999, rel=1e-6)
    assert run["lr"].value[0] == np.float32(1e-3)


def test_tf2_tensor_scalars_with_keras_train_validation_layout(tmp_path):
    for sub, tag_values in (("train", (2.0, 1.5, 1.2)), ("validation", (2.2, 1.8, 1.7))):
        (tmp_path / sub).mkdir()
        evs = [
            event(i, [tf2_scalar("epoch_loss", v, first=i == 0, packed=sub == "train")])
            for i, v in enumerate(tag_values)
        ]
        write(tmp_path / sub / "events.out.tfevents.1700000000.host.1.0.v2", evs)
    assert discover([tmp_path]) == [tmp_path]
    run = build_run(read_path(tmp_path)[0])
    assert run["loss"].value.tolist() == [2.0, 1.5, 1.2]
    assert np.allclose(run["val_loss"].value, [2.2, 1.8, 1.7])


def test_truncated_last_record_and_bad_checksum_are_noted(tmp_path):
    f = write(tmp_path / "events.out.tfevents.1", [event(s, [simple("loss", s)]) for s in range(5)])
    data = bytearray(f.read_bytes())
    data += frame(event(5, [simple("loss", 5.0)]))[:-7]  # live writer mid-record
    # corrupt the value of step 2 (its data crc no longer matches)
    pos = data.find(b"loss\x15" + struct.pack("<f", 2.0))
    assert pos > 0
    data[pos + 8] ^= 0x01
    f.write_bytes(bytes(data))
    (table,) = read_path(f)
    assert build_run(table)["loss"].step.tolist() == [0, 1, 3, 4]
    assert any("cut short" in n for n in table.notes)
    assert any("checksum" in n for n in table.notes)


def test_renamed_event_file_is_sniffed_by_framing(tmp_path):
    f = write(tmp_path / "log.bin", [event(s, [simple("loss", s)]) for s in range(3)])
    assert build_run(read_path(f)[0])["loss"].value.tolist() == [0, 1, 2]


def test_matches_tensorboard_event_accumulator(tmp_path):
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    rng = np.random.default_rng(0)
    writer = torch_tb.SummaryWriter(tmp_path / "torch")
    for s in range(12000):
        writer.add_scalar("train/loss", float(rng.lognormal()), s)
        if s % 100 == 0:
            writer.add_scalar("train/learning_rate", 1e-3 * 0.99**s, s)
    writer.add_scalar("train/loss", float("nan"), 12000)
    writer.close()
    tf2 = EventFileWriter(str(tmp_path / "tf2"))
    for s in range(50):
        meta = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
        )
        tensor = tensor_pb2.TensorProto(dtype=1, float_val=[0.5 + s])
        value = summary_pb2.Summary.Value(
            tag="epoch_loss", tensor=tensor, metadata=meta if s == 0 else None
        )
        tf2.add_event(
            event_pb2.Event(step=s, wall_time=1.0, summary=summary_pb2.Summary(value=[value]))
        )
    tf2.close()

    def library(folder):
        acc = ea_mod.EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
        acc.Reload()
        out = {
            t: ([e.step for e in acc.Scalars(t)], [e.value for e in acc.Scalars(t)])
            for t in acc.Tags()["scalars"]
        }
        for t in acc.Tags()["tensors"]:
            out[t] = (
                [e.step for e in acc.Tensors(t)],
                [float(tensor_util.make_ndarray(e.tensor_proto)) for e in acc.Tensors(t)],
            )
        return out

    for folder in (tmp_path / "torch", tmp_path / "tf2"):
        (table,) = read_path(folder)
        expected = library(folder)
        assert expected
        for tag, (steps, values) in expected.items():
            present = ~table.empty[tag]
            assert table.values["step"][present].tolist() == steps
            np.testing.assert_array_equal(table.values[tag][present], np.float32(values))
