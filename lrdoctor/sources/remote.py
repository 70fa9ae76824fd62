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
CREDENTIALS_HINT = (
    "check the credentials and endpoint in the environment "
    "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3 for S3)"
)


@dataclass(frozen=True)
class RemoteFile:
    """One log object: its URI (what the report names), the filesystem root and path, its size."""

    uri: str
    root: str
    path: str
    size: int = -1

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
                    return read_parquet(self.uri, fh, select)
                if not head.strip():
                    raise InputError(
                        self.uri, "the file is empty", "is the training job writing to it yet?"
                    )
                return self._read_spooled(fh, select)
        except OSError as exc:
            raise InputError(self.uri, f"cannot be read ({_first_line(exc)})") from exc

    def _read_spooled(self, fh, select: Select) -> list[Table]:
        """Copy the object to a temporary file named as it is and read that with the readers."""
        from lrdoctor.readers import read_path

        with tempfile.TemporaryDirectory(prefix="lrdoctor-") as folder:
            local = Path(folder) / (self.path.rsplit("/", 1)[-1] or "log")
            fh.seek(0)
            with open(local, "wb") as out:
                shutil.copyfileobj(fh, out, 1 << 20)
            try:
                tables = read_path(local, select)
            except InputError as exc:
                raise InputError(
                    _renamed(exc.source, local, self.uri), exc.problem, exc.hint
                ) from None
        for table in tables:
            table.source = _renamed(table.source, local, self.uri)
        return tables


def list_files(uri: str) -> list[RemoteFile]:
    """The logs under a URI: the object it names, every log below a prefix, or a glob's matches."""
    from pyarrow import fs as pafs

    from lrdoctor.readers import LOG_SUFFIXES

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
        return [RemoteFile(uri, root, info.path, info.size)]
    if info.type != pafs.FileType.Directory:
        raise InputError(uri, "no such object or prefix", "check the bucket and the path")
    try:
        entries = filesystem.get_file_info(pafs.FileSelector(path, recursive=True))
    except OSError as exc:
        raise InputError(uri, f"cannot be listed ({_first_line(exc)})", CREDENTIALS_HINT) from exc
    found = []
    for entry in entries:
        name = entry.base_name.lower()
        if entry.type != pafs.FileType.File or any(
            p.startswith(".") for p in entry.path.split("/")
        ):
            continue
        if pattern is not None and not fnmatchcase(entry.path, pattern):
            continue
        if name.endswith(LOG_SUFFIXES) or TFEVENTS in name:
            found.append(RemoteFile(_uri_of(root, entry.path), root, entry.path, entry.size))
    if not found:
        from lrdoctor.readers import supported_formats

        what = "no object matches this pattern" if pattern else "the prefix holds no training logs"
        raise InputError(uri, what, f"lrdoctor reads: {supported_formats()}")
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
