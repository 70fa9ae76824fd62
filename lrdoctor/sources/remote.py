"""Logs in object storage or HDFS (`s3://`, `gs://`, `hdfs://`), listed and read through pyarrow.fs.

pyarrow.fs rather than fsspec: pyarrow is already a dependency (no new package), its S3, GCS and
HDFS clients are built in, and its files are Arrow `RandomAccessFile`s, so the Parquet reader
reads the footer and then only the selected columns' chunks by byte range, with no adapter.
Credentials and endpoints come from the standard environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, instance roles;
GOOGLE_APPLICATION_CREDENTIALS; HADOOP_HOME), as every other tool on the machine reads them.

Formats that must be read whole anyway (CSV, JSON Lines, TensorBoard records, SQLite) are
streamed to a temporary file that is removed once the reader is done, so the reader is the
same code the local path runs and memory does not grow with the object's size.
"""

from __future__ import annotations

import functools
import glob
import shutil
import tempfile
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from urllib.parse import urlsplit

from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table

# An object named like this is a TensorBoard event file (it has no suffix to go by).
TFEVENTS = "tfevents"
# What the capture helpers write beside a log: its optimizer and hyper-parameters.
SIDE_SUFFIX = ".lrdoctor"
CREDENTIALS_HINT = (
    "check the credentials and endpoint in the environment "
    "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3 for S3)"
)


@dataclass(frozen=True)
class RemoteFile:
    """One log object: its URI (what the report names), the filesystem root and path, its size,
    and its `<log>.lrdoctor` side object when there is one."""

    uri: str
    root: str
    path: str
    size: int = -1
    side: str | None = None

    def __str__(self) -> str:
        return self.uri

    def read(self, select: Select) -> list[Table]:
        from lrdoctor.readers import SNIFF_BYTES
        from lrdoctor.readers.tabular import PARQUET_MAGIC, read_parquet

        fs = _filesystem(self.root)
        try:
            with fs.open_input_file(self.path) as fh:
                head = fh.read_at(SNIFF_BYTES, 0)
                if head.startswith(PARQUET_MAGIC):
                    return self._with_side(read_parquet(self.uri, fh, select))
                if not head.strip():
                    raise InputError(
                        self.uri, "the file is empty", "is the training job writing to it yet?"
                    )
                with tempfile.TemporaryDirectory(prefix="lrdoctor-") as folder:
                    local = Path(folder) / _base_name(self.path)
                    fh.seek(0)
                    _copy(fh, local)
                    self._fetch_side(local)
                    return _read_local(local, self.uri, select)
        except OSError as exc:
            raise InputError(self.uri, f"cannot be read ({_first_line(exc)})") from exc

    def _with_side(self, tables: list[Table]) -> list[Table]:
        from lrdoctor.readers import with_side_meta

        if not self.side:
            return tables
        with tempfile.TemporaryDirectory(prefix="lrdoctor-") as folder:
            local = Path(folder) / _base_name(self.path)
            self._fetch_side(local)
            return with_side_meta(local, tables)

    def _fetch_side(self, local: Path) -> None:
        """The side object, beside the local copy of its log (where with_side_meta looks)."""
        if self.side:
            _fetch(_filesystem(self.root), self.side, local.with_name(local.name + SIDE_SUFFIX))


@dataclass(frozen=True)
class RemoteFolder:
    """A folder that a directory reader claims (a TensorBoard run, a Lightning version, an HF
    output folder, an MLflow store, a DVCLive folder): one input, as it is locally. The files
    its reader opens (`members`, below `path`) are fetched into a temporary folder of the same
    shape and read there; nothing else in it (checkpoints, artifacts) is downloaded."""

    uri: str
    root: str
    path: str
    members: tuple[str, ...]

    def __str__(self) -> str:
        return self.uri

    def read(self, select: Select) -> list[Table]:
        fs = _filesystem(self.root)
        try:
            with tempfile.TemporaryDirectory(prefix="lrdoctor-") as folder:
                local = Path(folder) / _base_name(self.path)
                for rel in self.members:
                    _fetch(fs, f"{self.path}/{rel}", local / rel)
                return _read_local(local, self.uri, select)
        except OSError as exc:
            raise InputError(self.uri, f"cannot be read ({_first_line(exc)})") from exc


def _read_local(local: Path, uri: str, select: Select) -> list[Table]:
    """Read a fetched copy with the local readers; the report names the URI, not the copy."""
    from lrdoctor.readers import read_path

    try:
        tables = read_path(local, select)
    except InputError as exc:
        raise InputError(_renamed(exc.source, local, uri), exc.problem, exc.hint) from None
    for table in tables:
        table.source = _renamed(table.source, local, uri)
    return tables


def _fetch(fs, path: str, local: Path) -> None:
    with fs.open_input_stream(path) as fh:
        _copy(fh, local)


def _copy(fh, local: Path) -> None:
    local.parent.mkdir(parents=True, exist_ok=True)
    with open(local, "wb") as out:
        shutil.copyfileobj(fh, out, 1 << 20)


def _base_name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] or "log"


def list_files(uri: str) -> list[RemoteFile | RemoteFolder]:
    """The logs under a URI: the object it names, every log (or run folder) below a prefix, or
    a glob's matches."""
    from pyarrow import fs as pafs

    parts = urlsplit(uri)
    root = f"{parts.scheme}://{parts.netloc}"
    pattern = None
    if glob.has_magic(uri):
        # List below the last folder before the first wildcard, then match the pattern.
        plain = uri[: min(uri.index(c) for c in "*?[" if c in uri)].rsplit("/", 1)[0]
        uri, pattern = plain, _path_of(root, _uri_path(uri))
    filesystem, path = _open(uri)
    info = _info(filesystem, path, uri)
    if info.type == pafs.FileType.File and pattern is None:
        side = filesystem.get_file_info(info.path + SIDE_SUFFIX)
        side_path = side.path if side.type == pafs.FileType.File else None
        return [RemoteFile(uri, root, info.path, info.size, side_path)]
    if info.type != pafs.FileType.Directory:
        raise InputError(uri, "no such object or prefix", "check the bucket and the path")
    try:
        entries = filesystem.get_file_info(pafs.FileSelector(path, recursive=True))
    except OSError as exc:
        raise InputError(uri, f"cannot be listed ({_first_line(exc)})", CREDENTIALS_HINT) from exc
    prefix = path.rstrip("/") + "/"
    files = {
        entry.path[len(prefix) :]: entry.size
        for entry in entries
        if entry.type == pafs.FileType.File
        and not any(p.startswith(".") for p in entry.path.split("/"))
        and (pattern is None or _matches(entry.path, pattern))
    }
    found = _inputs(root, path, files)
    if not found:
        from lrdoctor.readers import supported_formats

        what = "no object matches this pattern" if pattern else "the prefix holds no training logs"
        raise InputError(uri, what, f"lrdoctor reads: {supported_formats()}")
    return found


def _matches(path: str, pattern: str) -> bool:
    """The object, or a folder it is in, matches the glob (`runs/*` names run folders too)."""
    parts = path.split("/")
    return any(fnmatchcase("/".join(parts[:n]), pattern) for n in range(len(parts), 0, -1))


def _inputs(root: str, path: str, files: dict[str, int]) -> list:
    """The inputs among the objects below `path` (relative path -> size), found as the local
    folder walk finds them: the walk runs over a tree of empty stand-ins with the objects' names
    (readers claim folders by names alone), so a run folder is one input here as it is on disk."""
    from lrdoctor.readers import DIRECTORY_READERS, LOG_SUFFIXES, discover

    found: list = []
    with tempfile.TemporaryDirectory(prefix="lrdoctor-names-") as folder:
        base = Path(folder) / _base_name(path)
        for rel in files:
            try:
                (base / rel).parent.mkdir(parents=True, exist_ok=True)
                (base / rel).touch()
            except OSError:  # a key no local name can hold: a log-named one is still checked
                if rel.lower().endswith(LOG_SUFFIXES) or TFEVENTS in rel.lower():
                    found.append(RemoteFile(_uri_of(root, f"{path}/{rel}"), root, f"{path}/{rel}"))
        try:
            walked = discover([base]) if base.is_dir() else []
        except InputError:  # no log among the names
            walked = []
        for local in walked:
            rel = "" if local == base else local.relative_to(base).as_posix()
            target = f"{path}/{rel}" if rel else path
            uri = _uri_of(root, target)
            if local.is_dir():
                reader = next(r for r in DIRECTORY_READERS if r.claims_dir(local))
                below = f"{rel}/" if rel else ""
                inside = [k[len(below) :] for k in files if k.startswith(below)]
                members = tuple(m for m in inside if reader.reads(local, m))
                found.append(RemoteFolder(uri, root, target, members))
            else:
                side = rel + SIDE_SUFFIX
                side_path = f"{path}/{side}" if side in files else None
                found.append(RemoteFile(uri, root, target, files[rel], side_path))
    return sorted(found, key=lambda f: f.path)


@functools.lru_cache(maxsize=16)
def _filesystem(root: str):
    """One filesystem per bucket and process: the client (and its region look-up) is reused."""
    return _open(root)[0]


def _open(uri: str):
    from pyarrow import fs as pafs

    try:
        filesystem, path = pafs.FileSystem.from_uri(uri)
    except (OSError, ValueError) as exc:
        raise InputError(uri, f"cannot be opened ({_first_line(exc)})", CREDENTIALS_HINT) from exc
    return filesystem, path.rstrip("/") if path != "/" else path


def _info(filesystem, path: str, uri: str):
    try:
        return filesystem.get_file_info(path)
    except OSError as exc:
        raise InputError(uri, f"cannot be reached ({_first_line(exc)})", CREDENTIALS_HINT) from exc


def _uri_path(uri: str) -> str:
    parts = urlsplit(uri)
    return parts.path


def _path_of(root: str, uri_path: str) -> str:
    """The filesystem path for a URI path: S3 and GCS paths start with the bucket, HDFS's at /."""
    netloc = urlsplit(root).netloc
    return uri_path if root.startswith(("hdfs://", "viewfs://")) else f"{netloc}{uri_path}"


def _uri_of(root: str, path: str) -> str:
    if root.startswith(("hdfs://", "viewfs://")):
        return f"{root}{path}"
    return f"{urlsplit(root).scheme}://{path}"


def _renamed(source: str, local: Path, uri: str) -> str:
    text = str(local)
    return uri + source[len(text) :] if source.startswith(text) else source


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
