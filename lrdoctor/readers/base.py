"""The reader interface: a file (or a framework's run folder) in, raw tables of numbers out."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

# Given every column name a log offers, returns the ones worth loading (column projection).
Select = Callable[[Sequence[str]], Collection[str]]


def select_all(names: Sequence[str]) -> Collection[str]:
    return names


@dataclass
class Table:
    """The numeric columns of one run as read, before any normalisation.

    `values[name]` is float64 with NaN where the log said NaN *and* where the cell was empty;
    `empty[name]` tells the two apart (True = nothing logged there), so a sparse validation
    column is never mistaken for a divergence. `rounded` names the columns whose integers
    float64 could not hold exactly (beyond 2^53): as a step column, distinct steps may merge.
    """

    source: str
    names: list[str]
    values: dict[str, np.ndarray] = field(default_factory=dict)
    empty: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    rounded: set[str] = field(default_factory=set)


# float64 holds every integer up to 2^53 and only some beyond (2^53 + 1 reads as 2^53).
EXACT_INTEGERS = 2**53


def rounds_integers(ints: np.ndarray) -> bool:
    """Whether converting these integers to float64 changes any of them (vectorised)."""
    import numpy as np

    if not ints.size or (ints.max() <= EXACT_INTEGERS and ints.min() >= -EXACT_INTEGERS):
        return False  # the usual steps: two reductions, no temporaries
    big = ints[(ints > EXACT_INTEGERS) | (ints < -EXACT_INTEGERS)]
    as_float = big.astype(np.float64)
    top = float(np.iinfo(big.dtype).max)  # 2^63 or 2^64 once rounded: beyond the type
    if not ((as_float < top) & (as_float >= -top)).all():
        return True
    return bool((as_float.astype(big.dtype) != big).any())


class Reader(Protocol):
    """A log format. `sniff` looks at the path and the first bytes; `read` returns its runs."""

    name: str

    def sniff(self, path: Path, head: bytes) -> bool: ...

    def read(self, path: Path, select: Select) -> list[Table]: ...


class DirectoryReader(Reader, Protocol):
    """A format whose run is a folder (a HF output dir, a TensorBoard run, an MLflow store)."""

    def claims_dir(self, path: Path) -> bool: ...

    def reads(self, path: Path, rel: str) -> bool:
        """Whether `read(path)` opens the file `rel` ('/'-separated, below `path`): a folder in
        object storage is fetched as just those files (not a checkpoint's weights)."""
        ...


def table_from_arrow(
    source: str, table: pa.Table | list[pa.Table], notes: list[str] | None = None
) -> Table:
    """Convert the columns of an Arrow table to float64, noting cells that are not numbers.

    A one-item list hands the table over: it is emptied, and each Arrow column is freed as soon
    as it is converted (an argument itself stays referenced by the caller until we return).
    """
    import pyarrow as pa

    if isinstance(table, list):
        table = table.pop()
    out = Table(source=source, names=list(table.column_names), notes=list(notes or []))
    # The columns, without the table: each is freed once converted and popped. (Taking them
    # off the table with remove_column built a new Table per column, ~1 µs each.)
    columns = table.columns
    del table
    columns.reverse()
    for name in out.names:
        column = columns.pop()
        if name in out.values:
            out.notes.append(f"column {name!r} appears more than once; used the first")
            continue
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = kind.value_type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            numbers = column  # converted by numpy below: `cast` would load pyarrow.compute
        elif pa.types.is_boolean(kind):
            numbers = column.cast(pa.float64())
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            numbers, unparsed = _parse_numbers(column)
            if unparsed == len(column) - column.null_count and unparsed:
                out.notes.append(f"column {name!r} holds no numbers; ignored")
                continue
            if unparsed:
                out.notes.append(
                    f"{unparsed} value{'s' if unparsed != 1 else ''} of {name!r} "
                    "could not be parsed as numbers and were skipped"
                )
        elif pa.types.is_null(kind):
            numbers = pa.chunked_array([pa.nulls(len(column), pa.float64())])
        else:
            # Nested, binary or temporal columns carry no metric values.
            continue
        out.values[name], out.empty[name], rounded = _chunked_float64(numbers)
        if rounded:
            out.rounded.add(name)
        del column, numbers
    return out


def _chunked_float64(numbers) -> tuple[np.ndarray, np.ndarray, bool]:
    """`_float64_numpy` over the chunks of a column, written into one array (one copy at most).

    A single chunk is used in place; `combine_chunks` would copy it into Arrow memory first and
    numpy would convert that again.
    """
    import numpy as np
    import pyarrow as pa

    if not isinstance(numbers, pa.ChunkedArray):
        return _float64_numpy(numbers)
    if numbers.num_chunks == 1:  # the usual case, without a list of every chunk's wrapper
        return _float64_numpy(numbers.chunk(0))
    chunks = [c for c in numbers.chunks if len(c)]
    if len(chunks) == 1:
        return _float64_numpy(chunks[0])
    values, empty = np.empty(len(numbers)), np.empty(len(numbers), bool)
    at, rounded = 0, False
    for chunk in chunks:
        end = at + len(chunk)
        rounded = _float64_into(chunk, values[at:end], empty[at:end]) or rounded
        at = end
    return values, empty, rounded


def _float64_into(numbers: pa.Array, values: np.ndarray, empty: np.ndarray) -> bool:
    """`_float64_numpy(numbers)` written into `values` and `empty` (slices of the column's
    arrays): the same cast and mask, without a chunk-sized float temporary."""
    import numpy as np

    raw, nulls, wide = _arrow_numbers(numbers)
    if raw is None:
        values[:], empty[:] = np.nan, True
        return False
    values[:] = raw  # the cast astype(np.float64) makes
    if nulls is None:
        empty[:] = False
        return wide and rounds_integers(raw)
    empty[:] = nulls
    values[nulls] = np.nan
    return wide and rounds_integers(raw[~nulls])


def _float64_numpy(numbers: pa.Array) -> tuple[np.ndarray, np.ndarray, bool]:
    """Values as float64 (NaN where null), the null mask, and whether float64 rounded any
    integer of the column (`rounds_integers`), straight from the Arrow buffers.

    pyarrow's own `to_numpy` and `fill_null(float)` import pandas (~0.2 s of start-up) even for
    plain float columns; reading the buffers with numpy does not.
    """
    import numpy as np

    n = len(numbers)
    raw, nulls, wide = _arrow_numbers(numbers)
    if not n or raw is None:
        return np.full(n, np.nan), np.ones(n, bool), False
    if nulls is None:
        # A float64 column without nulls is used in place (read-only, no copy: peak memory).
        return raw.astype(np.float64, copy=False), np.zeros(n, bool), wide and rounds_integers(raw)
    values = raw.astype(np.float64)
    values[nulls] = np.nan
    return values, nulls, wide and rounds_integers(raw[~nulls])


def _arrow_numbers(numbers: pa.Array) -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    """A fixed-width numeric Arrow array as numpy over its own buffer (no copy; None when it
    has no data buffer), its null mask (None without nulls), and whether it holds 64-bit
    integers (only those can pass 2^53)."""
    import numpy as np

    n, offset = len(numbers), numbers.offset
    validity, data = numbers.buffers()[:2]
    if data is None:
        return None, None, False
    dtype = np.dtype(numbers.type.to_pandas_dtype())  # a numpy dtype for fixed-width numbers
    raw = np.frombuffer(data, dtype, count=offset + n)[offset:]
    wide = dtype.kind in "iu" and dtype.itemsize == 8
    if not numbers.null_count or validity is None:
        return raw, None, wide
    bits = np.unpackbits(np.frombuffer(validity, np.uint8), count=offset + n, bitorder="little")
    return raw, bits[offset:] == 0, wide


# Spellings of non-finite numbers that loggers write (Python, JavaScript, R, Java).
_NONFINITE = {
    "nan": "nan",
    "-nan": "nan",
    "+nan": "nan",
    "inf": "inf",
    "+inf": "inf",
    "-inf": "-inf",
    "infinity": "inf",
    "+infinity": "inf",
    "-infinity": "-inf",
}


def _parse_numbers(column: pa.ChunkedArray) -> tuple[pa.Array, int]:
    """Strings to float64; returns the numbers (null where unparseable) and how many failed."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_lower(pc.utf8_trim_whitespace(column.combine_chunks()))
    for spelling, canonical in _NONFINITE.items():
        text = pc.replace_substring_regex(text, f"^{re.escape(spelling)}$", canonical)
    try:
        return pc.cast(text, pa.float64()), 0
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    import pandas as pd  # only on this repair path: a column with non-numeric cells

    raw = text.to_pandas()
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(np.float64, copy=True)
    blank = raw.isna().to_numpy() | (raw.str.len() == 0).to_numpy()
    failed = ~blank & np.isnan(numbers) & (raw != "nan").to_numpy()
    return pa.array(numbers, mask=blank | failed), int(failed.sum())
