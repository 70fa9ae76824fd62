"""Follow a log a job is still writing: each poll parses only the bytes appended since the last.

CSV/TSV and JSON Lines files, TensorBoard event files (and run folders) and MLflow run folders
are followed by offset: the running state is the columns read so far, grown in place, so a poll
costs what was appended, not what the file holds. A file that shrank, was replaced (another
inode) or was rewritten under the offset is read again from the start. Every other format (a
Parquet file, a trainer_state.json rewritten whole) is read again whole when it changes.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

import numpy as np

from lrdoctor.readers.base import Select, Table

# Bytes before the offset compared on every poll: a file rewritten under the offset is noticed.
GUARD = 64
# Text logs written line by line, whose last line may be caught half-written.
LINE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".txt")


class Columns:
    """Equal-length float64 columns with `empty` masks; capacity doubles, so appending is O(1)
    amortised and memory stays within twice the run."""

    def __init__(self) -> None:
        self.n = 0
        self.names: list[str] = []
        self._values: dict[str, np.ndarray] = {}
        self._empty: dict[str, np.ndarray] = {}
        self._capacity = 0
        self.broken: set[str] = set()  # columns that have held a non-finite value
        self.newly_broken = False  # one became so since the flag was last cleared
        self.rounded: set[str] = set()  # columns whose integers float64 rounded (Table.rounded)

    def _broke(self, name: str) -> None:
        if name not in self.broken:
            self.broken.add(name)
            self.newly_broken = True

    def _reserve(self, rows: int) -> None:
        if rows <= self._capacity:
            return
        capacity = max(64, 2 * self._capacity, rows)
        for name in self.names:
            values, empty = np.full(capacity, np.nan), np.ones(capacity, bool)
            values[: self.n], empty[: self.n] = (
                self._values[name][: self.n],
                self._empty[name][: self.n],
            )
            self._values[name], self._empty[name] = values, empty
        self._capacity = capacity

    def _column(self, name: str) -> None:
        if name not in self._values:
            self.names.append(name)
            self._values[name] = np.full(self._capacity, np.nan)
            self._empty[name] = np.ones(self._capacity, bool)  # rows before it appeared

    def append(self, rows: int, values: dict[str, np.ndarray], empty: dict[str, np.ndarray]):
        """Add `rows` rows; a column absent from `values` is empty in them."""
        self._reserve(self.n + rows)
        for name in values:
            self._column(name)
        end = self.n + rows
        for name in self.names:
            if name in values:
                self._values[name][self.n : end] = values[name]
                self._empty[name][self.n : end] = empty[name]
                if name not in self.broken and not np.isfinite(values[name][~empty[name]]).all():
                    self._broke(name)
            else:
                self._values[name][self.n : end] = np.nan
                self._empty[name][self.n : end] = True
        self.n = end

    def set_row(self, i: int, name: str, value: float | None) -> None:
        """Write one cell of row `i` (a row opened with `open_row`)."""
        self._column(name)
        self._values[name][i] = math.nan if value is None else value
        self._empty[name][i] = value is None
        if value is not None and not math.isfinite(value):
            self._broke(name)

    def open_row(self) -> int:
        """Add one empty row and return its index (the Monitor's per-step update)."""
        self._reserve(self.n + 1)
        for name in self.names:
            self._values[name][self.n], self._empty[name][self.n] = math.nan, True
        self.n += 1
        return self.n - 1

    def add_records(self, records: list[dict[str, float]]) -> None:
        """Add one row per record (name -> a float; a name absent from a record is empty in
        that row), as `open_row` and `set_row` would, cell by cell, in one pass per column."""
        if not records:
            return
        for rec in records:
            for name in rec:
                if name not in self._values:
                    self._column(name)
        self._reserve(self.n + len(records))
        start, end = self.n, self.n + len(records)
        nan = math.nan
        for name in self.names:
            values = np.array([rec.get(name, nan) for rec in records], np.float64)
            empty = np.array([name not in rec for rec in records], bool)
            self._values[name][start:end], self._empty[name][start:end] = values, empty
            if name not in self.broken and not np.isfinite(values[~empty]).all():
                self._broke(name)
        self.n = end

    def table(self, source: str, notes=(), meta=None) -> Table:
        """The rows so far as a Table of views (no copy: later appends write past them)."""
        n = self.n
        return Table(
            source=source,
            names=list(self.names),
            notes=list(notes),
            meta=dict(meta or {}),
            values={k: self._values[k][:n] for k in self.names},
            empty={k: self._empty[k][:n] for k in self.names},
            rounded=set(self.rounded),
        )


class Series:
    """Per-tag (step, value) points appended in file order (TensorBoard, MLflow)."""

    def __init__(self) -> None:
        self.points: dict[str, tuple[list[float], list[float]]] = {}
        self.n = 0
        self.broken: set[str] = set()
        self.newly_broken = False

    def add(self, tag: str, step: float, value: float) -> None:
        s = self.points.setdefault(tag, ([], []))
        s[0].append(step)
        s[1].append(value)
        self.n += 1
        if not math.isfinite(value) and tag not in self.broken:
            self.broken.add(tag)
            self.newly_broken = True


class Tail:
    """One file followed by offset: `read()` gives the bytes appended since the last call."""

    def __init__(self, path: Path):
        self.path, self.offset, self.inode, self.guard = path, 0, None, b""

    def read(self) -> bytes | None:
        """The new bytes (b"" when none); None when the file was truncated, replaced or
        rewritten under the offset (the caller starts again)."""
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                if self.inode is not None and (st.st_ino, st.st_dev) != self.inode:
                    return None
                if st.st_size < self.offset:
                    return None
                if self.guard:
                    fh.seek(self.offset - len(self.guard))
                    if fh.read(len(self.guard)) != self.guard:
                        return None
                self.inode = (st.st_ino, st.st_dev)
                fh.seek(self.offset)
                return fh.read(st.st_size - self.offset)
        except FileNotFoundError:
            return None if self.offset else b""

    def consume(self, data: bytes, used: int) -> None:
        """Advance past the first `used` bytes of what `read` returned."""
        self.offset += used
        self.guard = (self.guard + data[:used])[-GUARD:]


class _LineLog:
    """A CSV/TSV or JSON Lines file: complete lines are parsed, a half-written one waits."""

    def __init__(self, path: Path, kind: str, select: Select):
        self.path, self.kind, self.select = path, kind, select
        self.tail, self.rows, self.notes = Tail(path), Columns(), []
        self.header: list[str] | None = None
        self.skipped = 0

    def poll(self) -> int | None:
        data = self.tail.read()
        if data is None:
            return None
        cut = data.rfind(b"\n") + 1
        if not cut:
            return 0
        before = self.rows.n
        chunk = data[:cut]
        if self.kind == "csv":
            self._csv(chunk)
        else:
            self._jsonl(chunk)
        self.tail.consume(data, cut)
        return self.rows.n - before

    def _csv(self, chunk: bytes) -> None:
        from lrdoctor.readers.base import table_from_arrow
        from lrdoctor.readers.tabular import header_names, parse_csv

        if self.header is None:
            end = chunk.index(b"\n") + 1
            line = chunk[:end].decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
            self.header, self.unique, self.delimiter = header_names(self.path, line)
            wanted = set(self.select(self.header))
            self.include = [u for u, n in zip(self.unique, self.header, strict=True) if n in wanted]
            chunk = chunk[end:]
        if not chunk.strip():
            return
        table, skipped = parse_csv(
            self.path, chunk, self.header, self.unique, self.delimiter, self.include, 0
        )
        self.skipped += skipped
        rows = table.num_rows
        part = table_from_arrow(str(self.path), [table])
        self.rows.append(rows, part.values, part.empty)
        self.rows.rounded |= part.rounded
        self.notes = sorted(set(self.notes) | set(part.notes))

    def _jsonl(self, chunk: bytes) -> None:
        import json

        from lrdoctor.readers.jsonlog import flatten, loads
        from lrdoctor.readers.records import rounded, to_float

        for line in chunk.decode("utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                rec = loads(line.lstrip("\ufeff"))
            except json.JSONDecodeError:
                rec = None
            if not isinstance(rec, dict):
                self.skipped += 1
                continue
            i = self.rows.open_row()
            for key, value in flatten(rec).items():
                number = to_float(value)
                if number is not None or key in self.rows._values:
                    self.rows.set_row(i, key, number)
                if rounded(value):
                    self.rows.rounded.add(key)

    def tables(self) -> list[Table]:
        notes = list(self.notes)
        if self.skipped:
            what = "row" if self.kind == "csv" else "line"
            notes.append(
                f"{self.skipped} {what}{'s' if self.skipped != 1 else ''} could not be "
                "parsed and were skipped"
            )
        names = list(self.header or self.rows.names)
        table = self.rows.table(str(self.path), notes)
        table.names = names if self.kind == "csv" else table.names
        wanted = set(self.select(table.names))
        table.values = {k: v for k, v in table.values.items() if k in wanted}
        table.empty = {k: v for k, v in table.empty.items() if k in wanted}
        return [table]


class _EventLog:
    """TensorBoard event files (one file, or a run folder with train/ and validation/)."""

    def __init__(self, path: Path, select: Select):
        self.path, self.select = path, select
        self.tails: dict[Path, Tail] = {}
        self.tags: dict[str, set[str]] = {}
        self.series, self.notes = Series(), []

    def _files(self) -> dict[str, list[Path]]:
        from lrdoctor.readers.tensorboard import _event_files

        if self.path.is_file():
            return {"": [self.path]}
        return {
            prefix: _event_files(self.path / prefix if prefix else self.path)
            for prefix in ("", "train", "validation")
        }

    def poll(self) -> int | None:
        from lrdoctor.readers.tensorboard import _rename, parse_events

        before = self.series.n
        for prefix, files in self._files().items():
            tags = self.tags.setdefault(prefix, set())
            for f in files:
                tail = self.tails.setdefault(f, Tail(f))
                data = tail.read()
                if data is None:
                    return None
                if not data:
                    continue
                points, used = parse_events(data, f.name, self.notes, tags, final=False)
                for step, tag, value in points:
                    self.series.add(_rename(prefix, tag), step, value)
                tail.consume(data, used)
        return self.series.n - before

    def tables(self) -> list[Table]:
        from lrdoctor.readers.records import table_from_series

        return [
            table_from_series(
                str(self.path),
                self.series.points,
                self.select,
                self.notes,
                {"framework": "tensorboard"},
            )
        ]


class _MlflowRun:
    """An MLflow run folder: each metrics/<key> file gains a `timestamp value step` line."""

    def __init__(self, path: Path, select: Select):
        self.path, self.select = path, select
        self.tails: dict[Path, Tail] = {}
        self.series = Series()

    def poll(self) -> int | None:
        metrics = self.path / "metrics"
        before = self.series.n
        files = sorted(p for p in metrics.rglob("*") if p.is_file()) if metrics.is_dir() else []
        for f in files:
            tail = self.tails.setdefault(f, Tail(f))
            data = tail.read()
            if data is None:
                return None
            cut = data.rfind(b"\n") + 1
            key = f.relative_to(metrics).as_posix()
            self.series.points.setdefault(key, ([], []))
            for line in data[:cut].decode("utf-8", errors="replace").splitlines():
                parts = line.split()
                if len(parts) < 2:
                    continue
                try:
                    value, step = float(parts[1]), int(parts[2]) if len(parts) > 2 else 0
                except ValueError:
                    continue
                self.series.add(key, step, value)
            tail.consume(data, cut)
        return self.series.n - before

    def tables(self) -> list[Table]:
        from lrdoctor.readers.mlflow import run_meta
        from lrdoctor.readers.records import table_from_series

        return [
            table_from_series(
                str(self.path), self.series.points, self.select, [], run_meta(self.path)
            )
        ]


class _Whole:
    """Any other format: read again whole whenever its size or modification time changes."""

    def __init__(self, path: Path, select: Select):
        self.path, self.select, self.sig, self._tables = path, select, None, []

    def poll(self) -> int | None:
        sig = signature(self.path)
        if sig == self.sig:
            return 0
        if self.sig is not None and sig is not None and sig[0] < self.sig[0]:
            self.sig = sig
            return None
        self._tables, self.sig = read_whole(self.path, self.select), sig
        return sum(len(next(iter(t.values.values()), ())) for t in self._tables) or 1

    def tables(self) -> list[Table]:
        return self._tables


class Follower:
    """Follows one log; `poll()` reads what is new (rows added, or None when it started over),
    `tables()` gives the runs so far as the reader of that format would."""

    def __init__(self, path: Path, select: Select):
        self.path, self.select = Path(path), select
        self.source = None

    def _open(self):
        from lrdoctor.readers import reader_for

        reader = reader_for(self.path)
        name = getattr(reader, "name", "")
        gz = self.path.is_file() and _gzipped(self.path)
        if name == "csv" and not gz:
            return _LineLog(self.path, "csv", self.select)
        if name == "jsonl" and not _several_runs(self.path):
            return _LineLog(self.path, "jsonl", self.select)
        if name in ("tensorboard", "tensorboard-file"):
            return _EventLog(self.path, self.select)
        if name == "mlflow" and _mlflow_run(self.path):
            return _MlflowRun(self.path, self.select)
        return _Whole(self.path, self.select)

    @property
    def incremental(self) -> bool:
        return self.source is not None and not isinstance(self.source, _Whole)

    def poll(self) -> int | None:
        """Rows (or points) added since the last poll; None when the log started over (it was
        truncated or replaced: the state was dropped and the log read again from its start).
        What the format's reader did not foresee is one error naming the log, as in `check`."""
        from lrdoctor.readers import guarded

        return guarded("follow", self.path, self._poll)

    def _poll(self) -> int | None:
        if self.source is None:
            self.source = self._open()
        added = self.source.poll()
        if added is None:
            self.source = self._open()
            self.source.poll()
            return None
        return added

    def tables(self) -> list[Table]:
        return self.source.tables() if self.source is not None else []

    def newly_broken(self) -> bool:
        """Whether a column first held a NaN or inf since the last call (evaluate at once)."""
        state = getattr(self.source, "rows", None) or getattr(self.source, "series", None)
        if state is None:
            return False
        flag, state.newly_broken = state.newly_broken, False
        return flag


def _gzipped(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _several_runs(path: Path) -> bool:
    """A JSON Lines file whose records name their run (read whole: one table per run)."""
    import json

    from lrdoctor.readers.jsonlog import loads
    from lrdoctor.readers.records import run_key

    with open(path, "rb") as fh:
        first = fh.readline(1 << 20)
    try:
        rec = loads(first.decode("utf-8", errors="replace").lstrip("\ufeff"))
    except json.JSONDecodeError:
        return False
    return isinstance(rec, dict) and run_key(set(rec)) is not None


def read_whole(path: Path, select: Select) -> list[Table]:
    """The log read whole as `check` reads it, less a half-written last line."""
    from lrdoctor.readers import read_path

    with _complete_lines(path) as readable:
        tables = read_path(readable, select)
    for table in tables:
        if readable != path:  # name the log, not the temporary copy
            table.source = table.source.replace(str(readable), str(path))
    return tables


@contextlib.contextmanager
def _complete_lines(path: Path):
    """The log without a half-written last line: a number cut short could read as another value.

    Only line-oriented text logs are trimmed (via a copy, as the writer still holds the file);
    anything else is read as it is.
    """
    import tempfile

    if path.is_dir() or not path.name.lower().endswith(LINE_SUFFIXES):
        yield path
        return
    with open(path, "rb") as fh:
        data = fh.read()
    cut = data.rfind(b"\n") + 1
    if cut == len(data) or cut == 0:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="lrdoctor-watch-") as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(data[:cut])
        yield copy


def signature(path: Path) -> tuple[int, int, int] | None:
    """(total size, newest mtime, file count) of a file or folder; None when it is missing."""
    import os

    try:
        if not path.is_dir():
            st = path.stat()
            return (st.st_size, st.st_mtime_ns, 1)
        size = newest = count = 0
        for root, _dirs, files in os.walk(path):
            for name in files:
                try:
                    st = os.stat(os.path.join(root, name))
                except OSError:
                    continue  # removed while walking
                size, newest, count = size + st.st_size, max(newest, st.st_mtime_ns), count + 1
        return (size, newest, count)
    except OSError:
        return None


def _mlflow_run(path: Path) -> bool:
    from lrdoctor.readers.mlflow import _is_run

    return _is_run(path)
