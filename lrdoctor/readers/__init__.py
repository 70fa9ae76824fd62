"""Reader registry: find the logs under the paths a user named and read each one.

A format plugs in by adding a reader to `READERS` (files, sniffed by content) or
`DIRECTORY_READERS` (a run that is a folder). Order matters: the first reader that claims an
input reads it.
"""

from __future__ import annotations

import glob
import importlib
import os
from collections.abc import Iterable
from pathlib import Path

from lrdoctor.errors import InputError, InternalError, LrdoctorError
from lrdoctor.readers.base import DirectoryReader, Reader, Select, Table, select_all
from lrdoctor.readers.files import iglob_safe, require_regular, special_kind, unreadable
from lrdoctor.readers.tabular import CsvReader, ParquetReader


class Deferred:
    """A reader whose module is imported the first time an input reaches it, so a Parquet
    check (claimed by the first reader) never imports the TensorBoard, MLflow or HF code.
    Its `name` is known without the import: error messages list every format."""

    def __init__(self, module: str, cls: str, name: str):
        self.module, self.cls, self.name = module, cls, name
        self._reader = None

    def __getattr__(self, attr: str):
        # Only called for what the instance does not hold: the reader's own methods. Private
        # and special names are never the reader's (copy and pickle probe for them on a bare
        # instance, before `_reader` exists).
        if attr.startswith("_"):
            raise AttributeError(attr)
        if self._reader is None:
            module = importlib.import_module(f"lrdoctor.readers.{self.module}")
            self._reader = getattr(module, self.cls)()
        return getattr(self._reader, attr)


READERS: list[Reader] = [
    ParquetReader(),
    Deferred("mlflow", "MlflowSqliteReader", "mlflow-sqlite"),
    Deferred("tensorboard", "EventFileReader", "tensorboard-file"),
    Deferred("hf", "TrainerStateReader", "hf-trainer-state"),
    Deferred("jsonlog", "JsonLinesReader", "jsonl"),
    Deferred("jsonlog", "JsonReader", "json"),
    Deferred("wandb", "WandbExportReader", "wandb-export"),
    Deferred("frameworks", "FrameworkCsvReader", "csv-frameworks"),
    CsvReader(),
]
DIRECTORY_READERS: list[DirectoryReader] = [
    Deferred("hf", "HfOutputDirReader", "hf-output-dir"),
    Deferred("frameworks", "LightningVersionReader", "lightning"),
    Deferred("frameworks", "DvcLiveReader", "dvclive"),
    Deferred("tensorboard", "EventDirReader", "tensorboard"),
    Deferred("mlflow", "MlflowStoreReader", "mlflow"),
    Deferred("wandb", "WandbRunReader", "wandb-run"),
]
# File endings worth opening when a folder is walked; everything else is ignored there.
LOG_SUFFIXES = (
    ".csv",
    ".csv.gz",
    ".tsv",
    ".parquet",
    ".pq",
    ".json",
    ".jsonl",
    ".ndjson",
    "mlflow.db",
    "training.log",  # Keras CSVLogger's default file name
)
SNIFF_BYTES = 8192

__all__ = [
    "DIRECTORY_READERS",
    "READERS",
    "LOG_SUFFIXES",
    "Reader",
    "Select",
    "Table",
    "discover",
    "read_path",
    "reader_for",
    "supported_formats",
]


def supported_formats() -> str:
    """The readers' short names; docs/formats.md describes each."""
    return ", ".join(dict.fromkeys(r.name for r in [*READERS, *DIRECTORY_READERS]))


def discover(
    paths: Iterable[str | os.PathLike], skipped: list[tuple[Path, str]] | None = None
) -> list[Path]:
    """Expand globs and folders into the inputs to check, in a stable order.

    A folder that a directory reader claims is one input; any other folder contributes every
    log file below it. Missing paths are errors, named in the message. Special files met in a
    folder (FIFOs, devices, sockets) are never opened: they go to `skipped` with what they are.
    """
    found: list[Path] = []
    skipped = [] if skipped is None else skipped
    for raw in paths:
        text = os.fspath(raw)
        matches = sorted(iglob_safe(text)) if glob.has_magic(text) else [text]
        if not matches:
            raise InputError(text, "no file matches this pattern")
        for match in matches:
            found.extend(_expand(Path(match), skipped))
    return list(dict.fromkeys(found))


def _expand(path: Path, skipped: list[tuple[Path, str]]) -> list[Path]:
    try:
        is_dir = path.is_dir()
        exists = is_dir or path.exists()
    except OSError as exc:  # e.g. a symlink loop
        raise InputError(path, f"cannot be accessed ({exc.strerror or exc})") from exc
    if not exists:
        if path.is_symlink():
            raise InputError(path, "is a broken symbolic link or a link loop")
        raise InputError(path, "no such file or directory", "check the path")
    if not is_dir:
        return [path]
    if any(r.claims_dir(path) for r in DIRECTORY_READERS):
        return [path]
    out: list[Path] = []
    for root, dirs, files in os.walk(path, followlinks=False):
        root_path = Path(root)
        # A linked folder is not followed (W&B's `latest-run` links to a run beside it).
        claimed = [
            d
            for d in dirs
            if not (root_path / d).is_symlink()
            and any(r.claims_dir(root_path / d) for r in DIRECTORY_READERS)
        ]
        out.extend(root_path / d for d in claimed)
        dirs[:] = sorted(d for d in dirs if d not in claimed and not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(LOG_SUFFIXES):
                _walked_file(root_path / name, out, skipped)
    if not out and not skipped:
        raise InputError(
            path,
            "the folder holds no training logs",
            f"lrdoctor reads: {supported_formats()}",
        )
    return sorted(out)


def _walked_file(path: Path, out: list[Path], skipped: list[tuple[Path, str]]) -> None:
    """A log-named file met in a folder walk: an input if regular (or a broken link, which
    is then reported), skipped without opening if it is a FIFO, device or socket."""
    try:
        kind = special_kind(os.stat(path).st_mode)
    except OSError:
        kind = None  # a broken link or a loop: read_path names it as the input's error
    if kind is None:
        out.append(path)
    else:
        skipped.append((path, kind))


def read_path(path: Path, select: Select = select_all) -> list[Table]:
    """Read one input with the first reader that recognises it, within `limits.active()`."""
    from lrdoctor import limits

    reader = reader_for(path)
    if path.is_dir():  # a run folder: the files its reader opens, counted before any is read
        limits.check_bytes(path, _folder_bytes(path, reader))
    else:
        limits.check_bytes(path, path.stat().st_size)

    def bounded(names):  # every reader offers its columns here once, before loading any
        limits.check_columns(path, len(names))
        return select(names)

    tables = guarded(reader.name, path, reader.read, path, bounded)
    for t in tables:
        limits.check_rows(t.source, max((len(v) for v in t.values.values()), default=0))
    return tables if path.is_dir() else with_side_meta(path, tables)


def _folder_bytes(path: Path, reader: DirectoryReader) -> int:
    """The bytes of the regular files below `path` that `reader.read(path)` opens."""
    import stat

    total = 0
    for root, _, files in os.walk(path):  # symlinked folders are not followed: no loops
        rel_root = Path(root).relative_to(path).as_posix()
        for name in files:
            if not reader.reads(path, name if rel_root == "." else f"{rel_root}/{name}"):
                continue
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:
                continue  # a dangling link: the reader says what it makes of it
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def reader_for(path: Path) -> Reader:
    """The first reader that recognises the input (`watch` follows some formats by offset)."""
    if path.is_dir():
        for reader in DIRECTORY_READERS:
            if guarded(reader.name, path, reader.claims_dir, path):
                return reader
        raise InputError(path, "is a folder that no reader recognises")
    require_regular(path)  # a FIFO given directly would block `open` for ever
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if not head.strip():
        raise InputError(path, "the file is empty", "is the training job writing to it yet?")
    for reader in READERS:
        if guarded(reader.name, path, reader.sniff, path, head):
            return reader
    if (encoding := _wide_text(head)) is not None:
        raise InputError(
            path,
            f"is {encoding} text; lrdoctor reads UTF-8",
            f"re-save it as UTF-8 (e.g. iconv -f {encoding} -t UTF-8)",
        )
    raise InputError(
        path,
        "is not a training log lrdoctor can read",
        f"supported: {supported_formats()}; name the columns with --loss-col/--lr-col",
    )


def _wide_text(head: bytes) -> str | None:
    """UTF-16 or UTF-32 (Windows tools write them: PowerShell's `>`, Excel's "Unicode text"),
    told by their byte-order mark or, without one, by a NUL in every other byte of ASCII text."""
    for bom, name in (
        (b"\xff\xfe\x00\x00", "UTF-32"),
        (b"\x00\x00\xfe\xff", "UTF-32"),
        (b"\xff\xfe", "UTF-16"),
        (b"\xfe\xff", "UTF-16"),
    ):
        if head.startswith(bom):
            return name
    sample = head[:512]
    pairs = len(sample) // 2
    if pairs >= 4 and all(sample[i] == 0 for i in range(1, 2 * pairs, 2)):
        return "UTF-16"  # little-endian ASCII without a mark
    if pairs >= 4 and all(sample[i] == 0 for i in range(0, 2 * pairs, 2)):
        return "UTF-16"
    return None


def with_side_meta(path: Path, tables: list[Table]) -> list[Table]:
    """Merge `<log>.lrdoctor` (JSON the capture helpers write: optimizer, hyper-parameters)
    into each table's metadata; what the log itself says wins."""
    import json

    side = path.with_name(path.name + ".lrdoctor")
    if not side.is_file():
        return tables
    from lrdoctor.readers.jsonlog import loads

    try:
        meta = loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError: bad JSON, or not UTF-8
        meta = {}
        for t in tables:
            t.notes.append(f"{side.name} is not valid JSON; ignored")
    if isinstance(meta, dict):
        for t in tables:
            for k, v in meta.items():
                t.meta.setdefault(str(k), v if isinstance(v, str) else json.dumps(v))
    return tables


def guarded(reader: str, path: Path, step, *args):
    """One call into a reader; anything it did not foresee is that input's error, named after
    the reader (a reader bug must not become a traceback and exit 1)."""
    try:
        return step(*args)
    except LrdoctorError:
        raise
    except RecursionError as exc:
        raise InputError(
            path,
            "is nested too deeply to read",
            "a training log holds flat records; this one is not a log",
        ) from exc
    except OSError as exc:  # a file that vanished or turned unreadable during the read
        raise InputError(
            path, f"cannot be read ({exc.strerror or exc})", "is something moving or rewriting it?"
        ) from exc
    except MemoryError as exc:
        raise InputError(
            path,
            f"ran out of memory in the {reader} reader",
            "the log is larger than this machine can hold",
        ) from exc
    except Exception as exc:  # noqa: BLE001
        raise InternalError(path, f"the {reader} reader", exc) from exc
