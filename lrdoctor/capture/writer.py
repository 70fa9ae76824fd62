"""Append training-log rows to CSV or Parquet as they happen, without rewriting earlier rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

# The side file beside a log: `run.csv.lrdoctor` holds what a CSV has no place for.
SIDE_SUFFIX = ".lrdoctor"


class LogWriter:
    """`with LogWriter("run.csv") as log: log.write(step=1, loss=2.3, lr=1e-3)`.

    The columns are fixed by the first row (`step` first, then the keys in the order given);
    a later key that was not in it raises ValueError rather than silently changing the file's
    shape, and a key left out is an empty cell (CSV) or null (Parquet). CSV rows are flushed
    every `flush_every` rows; Parquet rows are buffered into row groups of `row_group` rows and
    the file is only valid once `close()` (or the end of the `with`) writes its footer.

    A new writer starts the file anew, so a re-run never mixes into the previous run's rows;
    `resume=True` appends to it (a resumed job). `meta` (the optimizer, its hyper-parameters)
    goes to the side file `<path>.lrdoctor` (JSON) that the readers merge into the run.
    """

    def __init__(
        self,
        path: str | Path,
        columns: list[str] | None = None,
        flush_every: int = 1,
        row_group: int = 1024,
        meta: dict | None = None,
        resume: bool = False,
    ):
        self.path = Path(path)
        self.parquet = self.path.suffix.lower() in {".parquet", ".pq"}
        self.columns = list(columns) if columns else None
        self.flush_every, self.row_group = max(1, flush_every), max(1, row_group)
        self.resume = resume
        self.meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (meta or {}).items()}
        if meta:
            side = self.path.with_name(self.path.name + SIDE_SUFFIX)
            side.write_text(json.dumps(meta, indent=1, default=str) + "\n", encoding="utf-8")
        self._rows: list[dict] = []
        self._fh = None
        self._pq = None
        self._pending = 0

    def write(self, **row: float | int | None) -> None:
        if self.columns is None:
            self.columns = (
                ["step", *[k for k in row if k != "step"]] if "step" in row else list(row)
            )
        extra = [k for k in row if k not in self.columns]
        if extra:
            raise ValueError(
                f"new column(s) {extra} after the header {self.columns}; "
                "pass every column in the first row or via columns="
            )
        if self.parquet:
            self._rows.append(row)
            if len(self._rows) >= self.row_group:
                self._flush_parquet()
            return
        if self._fh is None:
            new = not self.resume or not self.path.exists() or self.path.stat().st_size == 0
            # Held open across writes; closed by close() / the end of the `with`.
            mode = "w" if new else "a"
            self._fh = open(self.path, mode, encoding="utf-8", newline="")  # noqa: SIM115
            if new:
                self._fh.write(",".join(self.columns) + "\n")
        self._fh.write(",".join(_cell(row.get(c)) for c in self.columns) + "\n")
        self._pending += 1
        if self._pending >= self.flush_every:
            self._fh.flush()
            self._pending = 0

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._rows:
            return
        table = pa.table(
            {c: pa.array([r.get(c) for r in self._rows], pa.float64()) for c in self.columns}
        )
        if self._pq is None:
            table = table.replace_schema_metadata(self.meta)
            self._pq = pq.ParquetWriter(self.path, table.schema)
        self._pq.write_table(table.cast(self._pq.schema))
        self._rows = []

    def close(self) -> None:
        if self.parquet:
            self._flush_parquet()
            if self._pq is not None:
                self._pq.close()
                self._pq = None
        elif self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cell(value) -> str:
    if value is None:
        return ""
    value = float(value)
    if math.isnan(value):
        return "nan"
    return repr(value) if not value.is_integer() or abs(value) > 2**53 else str(int(value))
