"""Write a run log as CSV (optionally gzipped) or Parquet, chosen by the file extension."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np

FORMATS = (".csv", ".csv.gz", ".parquet")


def _format_of(path: Path) -> str:
    name = path.name.lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    raise ValueError(f"cannot tell the format of {path}; use one of {', '.join(FORMATS)}")


def _fits_float32(data: np.ndarray) -> bool:
    """True when casting to float32 keeps every finite value finite."""
    finite = data[np.isfinite(data)]
    return not finite.size or np.abs(finite).max() < np.finfo(np.float32).max


def _cells(values: np.ndarray, float32: bool) -> list[str]:
    mask = np.ma.getmaskarray(values)
    data = np.ma.getdata(values)
    if data.dtype.kind in "iub":
        text = [str(v) for v in data.tolist()]
    elif float32 and _fits_float32(data):
        text = [str(v) for v in data.astype(np.float32)]  # shortest repr that round-trips
    else:
        text = [repr(v) for v in data.tolist()]
    return ["" if m else s for s, m in zip(text, mask.tolist(), strict=True)]


def write_log(log: dict, path: str | Path, *, float32: bool = False, meta: dict | None = None):
    """Write `log` (column -> array; masked entries = missing) to `path`.

    Missing values become empty CSV cells / Parquet nulls; NaN stays NaN. With `float32`,
    float columns except `lr` are stored as float32 (the lr progression stays exact), unless
    a finite value would overflow float32 (a diverging loss must not turn into inf).
    Parquet files carry `meta` (default: `log.meta`) in their schema metadata.
    """
    path = Path(path)
    fmt = _format_of(path)
    if fmt == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = {}
        for name, col in log.items():
            data = np.ma.getdata(col)
            if float32 and data.dtype.kind == "f" and name != "lr" and _fits_float32(data):
                data = data.astype(np.float32)
            mask = np.ma.getmaskarray(col) if np.ma.isMaskedArray(col) else None
            arrays[name] = pa.array(data, mask=mask)
        meta = getattr(log, "meta", {}) if meta is None else meta
        table = pa.table(arrays).replace_schema_metadata({k: str(v) for k, v in meta.items()})
        pq.write_table(table, path, compression="zstd")
        return
    cells = [_cells(col, float32 and name != "lr") for name, col in log.items()]
    buf = io.StringIO()
    buf.write(",".join(log) + "\n")
    for row in zip(*cells, strict=True):
        buf.write(",".join(row) + "\n")
    if fmt == ".csv.gz":
        # mtime=0 keeps regenerated files byte-identical.
        with gzip.GzipFile(path, "wb", mtime=0) as f:
            f.write(buf.getvalue().encode())
    else:
        path.write_text(buf.getvalue())


def read_log(path: str | Path) -> dict[str, np.ndarray]:
    """Read a log written by `write_log` back as column -> float/int array (nulls -> masked)."""
    path = Path(path)
    if _format_of(path) == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        out = {}
        for name in table.column_names:
            col = table.column(name).combine_chunks()
            data = col.to_numpy(zero_copy_only=False)
            if col.null_count:
                mask = np.asarray(col.is_null())
                data = np.ma.MaskedArray(np.where(mask, np.nan, data).astype(float), mask=mask)
            out[name] = data
        return out
    opener = gzip.open if _format_of(path) == ".csv.gz" else open
    with opener(path, "rt", newline="") as f:
        header, *rows = list(csv.reader(f))
    out = {}
    for name, cells in zip(header, zip(*rows, strict=True), strict=True):
        mask = np.array([c == "" for c in cells])
        filled = ["nan" if m else c for c, m in zip(cells, mask, strict=True)]
        is_int = not mask.any() and all(c.lstrip("-").isdigit() for c in filled)
        data = np.array(filled, dtype=np.int64 if is_int else np.float64)
        out[name] = np.ma.MaskedArray(data, mask=mask) if mask.any() else data
    return out
