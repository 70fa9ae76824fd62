"""Sources: what a command-line argument names, resolved into inputs, and how to read each one.

A local path (file, folder or glob) resolves through `readers.discover`; `s3://`, `gs://` and
`hdfs://` through `pyarrow.fs` (lrdoctor/sources/remote.py); `mlflow://HOST:PORT/EXPERIMENT`
through a tracking server's REST API (lrdoctor/sources/mlflow.py). An input is a `Path`, a
`RemoteFile`, a `RemoteFolder` (a run folder in a bucket) or an `MlflowRun`: small, picklable
values, so the same per-input function (`engine.check_path`) runs on them in the local pool, on
Dask or on Ray.

The remote modules are imported only when an argument names them: a local check starts as
fast as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from lrdoctor.readers.base import Select, Table, select_all

# The schemes pyarrow.fs reads (GCS and HDFS as pyarrow builds them; S3 is what is tested).
FILESYSTEM_SCHEMES = ("s3://", "gs://", "gcs://", "hdfs://", "viewfs://")
MLFLOW_SCHEMES = ("mlflow://", "mlflow+https://")


def is_remote(text: str) -> bool:
    return text.startswith((*FILESYSTEM_SCHEMES, *MLFLOW_SCHEMES))


def resolve(args: Iterable[str | os.PathLike], skipped: list | None = None) -> list:
    """Every input the arguments name, in a stable order, duplicates dropped; special local
    files met in a folder walk go to `skipped` (see `discover`)."""
    from lrdoctor.readers import discover

    found: list = []
    local: list[str | os.PathLike] = []
    for arg in args:
        text = os.fspath(arg)
        if not is_remote(text):
            local.append(arg)
            continue
        if local:  # keep the user's order across local and remote arguments
            found.extend(discover(local, skipped))
            local = []
        if text.startswith(MLFLOW_SCHEMES):
            from lrdoctor.sources.mlflow import list_runs

            found.extend(list_runs(text))
        else:
            from lrdoctor.sources.remote import list_files

            found.extend(list_files(text))
    if local:
        found.extend(discover(local, skipped))
    return list(dict.fromkeys(found))


def read_input(item, select: Select = select_all) -> list[Table]:
    """The runs in one input, read with the reader that recognises it."""
    if isinstance(item, Path):
        from lrdoctor.readers import read_path

        return read_path(item, select)
    reader = getattr(item, "read", None)
    if reader is None:
        raise TypeError(f"not an lrdoctor input: {item!r}")
    return reader(select)
