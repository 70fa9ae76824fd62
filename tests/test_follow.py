"""The follower reads only what was appended and ends with what `check` reads from the file."""

from __future__ import annotations

import numpy as np
import pytest

from lrdoctor.follow import Columns, Follower, Tail
from lrdoctor.readers import read_path
from lrdoctor.run import build_run
from tests.logs import frame, write_csv
from tests.readers.test_mlflow import make_store
from tests.readers.test_tensorboard import event, simple, write


def _same_run(follower: Follower, path) -> None:
    ours, whole = build_run(follower.tables()[0]), build_run(read_path(path)[0])
    assert set(ours.signals) == set(whole.signals)
    for name, s in whole.signals.items():
        assert np.array_equal(ours[name].step, s.step)
        assert np.array_equal(ours[name].value, s.value, equal_nan=True)


def _pieces(text: str, n: int):
    size = len(text) // n + 1
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_csv_appended_in_pieces_that_split_lines_reads_as_the_whole_file(tmp_path):
    text = write_csv(tmp_path / "full.csv", frame(n=300, nan_at=250)).read_text()
    path = tmp_path / "live.csv"
    follower, total = Follower(path, lambda names: names), 0
    for piece in _pieces(text, 7):
        with open(path, "a") as fh:
            fh.write(piece)
        total += follower.poll()
        # a half-written last line is never read
        assert follower.source.tail.offset == path.read_bytes().rfind(b"\n") + 1
    assert total == 300
    _same_run(follower, tmp_path / "full.csv")


def test_a_poll_reads_only_the_new_bytes(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("step,loss\n0,1.0\n")
    tail = Tail(path)
    tail.consume(first := tail.read(), len(first))
    with open(path, "a") as fh:
        fh.write("1,0.9\n2,0.8\n")
    assert tail.read() == b"1,0.9\n2,0.8\n"


def test_truncation_replacement_and_rewrite_start_over(tmp_path):
    path = write_csv(tmp_path / "log.csv", frame(n=200))
    follower = Follower(path, lambda names: names)
    assert follower.poll() == 200
    write_csv(path, frame(n=50))  # truncated: shorter
    assert follower.poll() is None and build_run(follower.tables()[0]).n_steps == 50
    replaced = write_csv(tmp_path / "other.csv", frame(n=80))
    replaced.replace(path)  # rotated: another file under the same name
    assert follower.poll() is None and build_run(follower.tables()[0]).n_steps == 80
    df = frame(n=120)
    df["loss"] = df["loss"] * 2  # rewritten in place, longer, different bytes under the offset
    write_csv(path, df)
    assert follower.poll() is None
    _same_run(follower, path)


def test_jsonl_follows_by_offset_with_nan_and_text_values(tmp_path):
    lines = [f'{{"step": {i}, "loss": {1 / (i + 1)}, "lr": 0.1, "tag": "x"}}\n' for i in range(60)]
    lines[40] = '{"step": 40, "loss": NaN, "lr": 0.1}\n'
    full = tmp_path / "full.jsonl"
    full.write_text("".join(lines))
    path = tmp_path / "live.jsonl"
    follower = Follower(path, lambda names: names)
    path.write_text("")
    for piece in _pieces("".join(lines), 5):
        with open(path, "a") as fh:
            fh.write(piece)
        follower.poll()
    assert follower.newly_broken()  # the NaN loss
    assert not follower.newly_broken()  # said once
    _same_run(follower, full)


def test_tensorboard_records_are_parsed_once_each(tmp_path):
    events = [event(i, [simple("loss", 1.0 / (i + 1)), simple("lr", 0.01)]) for i in range(40)]
    full = write(tmp_path / "events.out.tfevents.full", events)
    path = tmp_path / "events.out.tfevents.live"
    data = full.read_bytes()
    follower = Follower(path, lambda names: names)
    path.write_bytes(data[:100])
    follower.poll()
    for cut in (len(data) // 3, len(data) // 2 + 7, len(data)):
        with open(path, "ab") as fh:
            fh.write(data[path.stat().st_size : cut])
        follower.poll()
    assert follower.source.series.n == 80
    _same_run(follower, full)


def test_mlflow_run_metric_files_are_followed(tmp_path):
    run = make_store(tmp_path) / "1" / "a1b2c3"
    follower = Follower(run, lambda names: names)
    follower.poll()
    with open(run / "metrics" / "train" / "loss", "a") as fh:
        fh.write("1700000003000 1.9 3\n1700000004000 1.8")  # the second line is half-written
    assert follower.poll() == 1
    with open(run / "metrics" / "train" / "loss", "a") as fh:
        fh.write(" 4\n")
    assert follower.poll() == 1
    _same_run(follower, run)
    assert follower.tables()[0].meta == read_path(run)[0].meta


@pytest.mark.parametrize("rows", [2, 63, 64, 65, 1000])
def test_columns_grow_in_place_and_mark_missing_cells_empty(rows):
    cols = Columns()
    for i in range(rows):
        r = cols.open_row()
        cols.set_row(r, "step", float(i))
        if i % 2:
            cols.set_row(r, "val_loss", 1.0)
    table = cols.table("t")
    assert table.values["step"].tolist() == list(map(float, range(rows)))
    assert table.empty["val_loss"].tolist() == [i % 2 == 0 for i in range(rows)]
