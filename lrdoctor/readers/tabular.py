"""CSV (plain or gzip) and Parquet logs, read with pyarrow and only the columns needed."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import sys
from collections.abc import Callable, Collection
from pathlib import Path

from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table, table_from_arrow
from lrdoctor.readers.records import run_key, split_runs

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
# Cells that mean "nothing logged here". NaN spellings are deliberately absent: a logged NaN is
# a divergence, not a gap.
NULL_CELLS = ["", "NA", "N/A", "n/a", "null", "NULL", "None", "none", "#N/A", "-"]
# A header longer than this is not a training log; stop before it exhausts memory.
MAX_HEADER_BYTES = 4 * 1024 * 1024


class ParquetReader:
    name = "parquet"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(PARQUET_MAGIC)

    def read(self, path: Path, select: Select) -> list[Table]:
        with native_file(path) as fh:
            return read_parquet(str(path), fh, select)


def native_file(path: Path):
    """An Arrow file opened by the path's bytes: pyarrow cannot encode a `str` path holding
    an undecodable byte of the file name (a lone surrogate), which is still a valid name."""
    import pyarrow as pa

    return pa.OSFile(os.fsencode(path))


def read_parquet(source: str, file, select: Select) -> list[Table]:
    """A Parquet log from a path or a seekable file (e.g. an object in S3): pyarrow reads the
    footer, then only the column chunks of the selected columns, by byte range."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(file)
    except (pa.ArrowInvalid, OSError) as exc:
        if _has_no_footer(file):
            raise InputError(
                source,
                "the Parquet file has no footer",
                "its writer has not closed it yet (a live run?) or the copy was cut short; "
                "check it again once the writer has closed it",
            ) from exc
        raise InputError(source, f"not a readable Parquet file ({exc})") from exc
    names = [f.name for f in handle.schema_arrow]
    chosen = set(select(names))  # once per file: per column it was quadratic (1,000 cols: 8 s)
    wanted = [n for n in names if n in chosen]
    _within_limits(source, handle.metadata, wanted)
    # Handed over in a list that table_from_arrow empties: it frees the Arrow columns one
    # by one as it converts them (peak memory near the log's size, not twice it).
    out = table_from_arrow(source, [_read_parquet(handle, source, wanted)])
    out.names = names
    meta = handle.schema_arrow.metadata or {}
    out.meta = {
        k.decode(errors="replace"): v.decode(errors="replace")
        for k, v in meta.items()
        if not k.startswith(b"ARROW:") and k != b"pandas" and len(v) < 65536
    }
    key = run_key(names)
    if key is None:
        return [out]
    # Several runs in one file (a `run`/`run_id`/`name` column): one table each.
    try:
        labels = handle.read(columns=[key]).column(0).cast(pa.string()).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return [out]  # a run column that is not text-like names nothing
    return split_runs(out, labels, key)


def _within_limits(source: str, meta, wanted: list[str]) -> None:
    """Refuse from the footer alone what would decode past the limits: a few KiB of
    dictionary or RLE pages can stand for billions of rows."""
    from lrdoctor import limits

    limits.check_rows(source, meta.num_rows)
    index = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    cols = [index[n] for n in wanted if n in index]
    size = sum(
        meta.row_group(g).column(i).total_uncompressed_size
        for g in range(meta.num_row_groups)
        for i in cols
    )
    # Decoded, each value is at least 8 bytes (float64), whatever the pages claim.
    limits.check_bytes(source, max(size, 8 * meta.num_rows * len(cols)))


def _read_parquet(handle, source: str, wanted: list[str]):
    import pyarrow as pa

    try:
        return handle.read(columns=wanted)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(source, f"the Parquet data is damaged ({exc})") from exc


def _has_no_footer(file) -> bool:
    with contextlib.ExitStack() as stack:
        fh = file if hasattr(file, "seek") else stack.enter_context(open(file, "rb"))
        fh.seek(0, io.SEEK_END)
        if fh.tell() < 8:
            return True
        fh.seek(-4, io.SEEK_END)
        return fh.read(4) != PARQUET_MAGIC


RELEASE_FROM = 1 << 24  # bytes of a parsed CSV table past which the parser's memory is freed
CSV_BLOCK = 1 << 24  # bytes Arrow parses at a time; also the longest line it can take


class CsvReader:
    name = "csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        if head.startswith(GZIP_MAGIC):
            return True
        if b"\x00" in head:
            return False
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
        # The first of `text.splitlines()`, from the text up to the first "\n" only (a line
        # ends there whatever came before it): not the whole head's ~100 lines.
        cut = text.find("\n")
        first = (text if cut < 0 else text[: cut + 1]).splitlines()[0] if text.strip() else ""
        return bool(first) and not first.lstrip().startswith(("{", "["))

    def read(self, path: Path, select: Select) -> list[Table]:
        import pyarrow as pa

        compressed, header, row = _gzip_and_first_lines(path)
        names, unique, delimiter = header_names(path, header)
        wanted = set(select(names))
        include = [u for u, n in zip(unique, names, strict=True) if n in wanted]
        floats = float_columns(row, delimiter, unique, include)
        with native_file(path) as raw:
            source = pa.input_stream(raw, compression="gzip" if compressed else None)
            if compressed:  # a few KiB of gzip can inflate to terabytes: count what comes out
                source = _inflated(source, path)

            def again():  # the text from its start, for a second parse
                raw.seek(0)
                return pa.input_stream(raw)

            table, skipped_rows = parse_csv(
                path, source, names, unique, delimiter, include, 1,
                size=path.stat().st_size, floats=floats, again=None if compressed else again,
            )  # fmt: skip
        notes = []
        if skipped_rows:
            notes.append(
                f"{skipped_rows} row{'s' if skipped_rows != 1 else ''} with the wrong number "
                "of fields could not be parsed and were skipped (a partial last line from a "
                "job still writing?)"
            )
        # The parser's freed buffers stay in Arrow's allocator (mimalloc/jemalloc) unless given
        # back, and the float64 copies below would sit on top of them in the peak (1M rows:
        # 1.4x read_csv's peak RSS, 1.05x with this). A big table only: it costs a collection.
        if table.nbytes > RELEASE_FROM:
            pa.default_memory_pool().release_unused()
        held = [table]
        del table  # handed over: table_from_arrow frees each column once converted
        out = table_from_arrow(str(path), held, notes)
        out.names = names
        return [out]


def _inflated(stream, path: Path) -> bytes:
    """The decompressed text, read here and counted against the byte limit as it inflates.

    Read on this side, not by Arrow through a Python file object: pyarrow 14's serial CSV
    reader deadlocked now and then on such a file over a truncated gzip (a CI hang)."""
    from lrdoctor import limits

    chunks, count = [], 0
    try:
        while chunk := stream.read(1 << 20):
            count += len(chunk)
            limits.check_bytes(path, count)
            chunks.append(chunk)
    except OSError as exc:  # a truncated or corrupt gzip
        raise InputError(path, f"could not parse the CSV ({_first_sentence(exc)})") from exc
    return b"".join(chunks)


def header_names(path: Path, header_line: str) -> tuple[list[str], list[str], str]:
    """The header's column names, their unique internal spellings, and the delimiter."""
    delimiter = _delimiter(header_line)
    names = [n.strip() for n in split_header(header_line, delimiter)]
    if not any(names):
        raise InputError(path, "the file has no header row", "a log needs column names")
    return names, _unique(names), delimiter


def read_options(column_names: list[str], skip_rows: int, size: int):
    """Arrow's CSV read options for `size` bytes of text.

    Arrow's thread pool parses one block per thread, so it only helps past one block; and a
    process that started it aborts at exit now and then ("terminate called without an active
    exception", apache/arrow#34314: 16 of 200 runs of a `watch` poll here, 0 of 200 without).
    So text of one block or less (nearly every training log) is parsed on this thread."""
    import pyarrow.csv as pacsv

    return pacsv.ReadOptions(
        column_names=column_names,
        skip_rows=skip_rows,
        block_size=CSV_BLOCK,
        use_threads=size > CSV_BLOCK,
    )


def parse_csv(
    path, source, names, unique, delimiter, include, skip_rows: int, size: int = 0,
    floats: Collection[str] = (), again: Callable | None = None,
):  # fmt: skip
    """Rows of CSV text (a stream, or bytes `watch` read after the header) as an Arrow table
    named by the header, and how many rows had the wrong number of fields.

    `floats` names columns whose first row holds a decimal number (`float_columns`): they are
    parsed as float64 straight away, which is what Arrow's type inference ends at for them
    unless a later cell is no number; then (the parse fails) the text is parsed again, from
    `again()` (a stream's start) or the bytes, with inference, as if never guessed."""
    import pyarrow as pa

    if isinstance(source, bytes):
        text = source
        size = len(text)
        source, again = pa.BufferReader(text), lambda: pa.BufferReader(text)
    if floats and again is not None:
        try:
            return _read_csv(path, source, names, unique, delimiter, include, skip_rows, size,
                             {c: pa.float64() for c in floats})  # fmt: skip
        except InputError:
            source = again()  # a cell that is no number: Arrow's inference decides, as before
    return _read_csv(path, source, names, unique, delimiter, include, skip_rows, size, None)


def _read_csv(path, source, names, unique, delimiter, include, skip_rows, size, types):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    skipped_rows = 0

    def skip_row(row) -> str:
        nonlocal skipped_rows
        skipped_rows += 1
        return "skip"

    try:
        with _no_unraisable_report():
            table = pacsv.read_csv(
                source,
                read_options=read_options(unique, skip_rows, size),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter, invalid_row_handler=skip_row, newlines_in_values=False
                ),
                convert_options=pacsv.ConvertOptions(
                    include_columns=include,
                    column_types=types,
                    null_values=NULL_CELLS,
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
    except (pa.ArrowInvalid, OSError, EOFError, UnicodeDecodeError) as exc:
        if "straddl" in str(exc):  # pyarrow's words for a row longer than a block
            raise InputError(
                path, "a line is over 16 MiB long", "this is not a training log"
            ) from exc
        raise InputError(path, f"could not parse the CSV ({_first_sentence(exc)})") from exc
    return table.rename_columns([names[unique.index(c)] for c in table.column_names]), skipped_rows


# A cell that only a float64 holds: digits with a decimal point or an exponent. A column whose
# first row holds one is no integer, boolean, date, time or timestamp column.
DECIMAL_CELL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][+-]?\d+)?")
# The first data row is looked at only up to this many bytes (a longer one: no guess).
ROW_PEEK_BYTES = 1 << 16


def float_columns(row: str | None, delimiter: str, unique: list[str], include) -> list[str]:
    """The included columns whose cell in the first data row is a decimal number
    (`DECIMAL_CELL`): Arrow's type inference would try half a dozen types on each before
    float64 (~0.4 ms a 2,000-row file). None when the row has another number of fields."""
    if not row:
        return []
    cells = split_header(row, delimiter)
    if len(cells) != len(unique):
        return []
    chosen = set(include)
    pairs = zip(unique, cells, strict=True)
    return [u for u, c in pairs if u in chosen and DECIMAL_CELL.fullmatch(c)]


@contextlib.contextmanager
def _no_unraisable_report():
    """Keep pyarrow's traceback off stderr when it cannot decode a bad row for the handler.

    The row then fails the read with ArrowInvalid, which becomes the user's one-line error.
    """
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        yield
    finally:
        sys.unraisablehook = hook


def _starts_with(path: Path, magic: bytes) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(magic)) == magic


def _first_line(path: Path, compressed: bool) -> str:
    return _first_lines(path, compressed)[0]


def _first_lines(path: Path, compressed: bool) -> tuple[str, str | None]:
    """The header line, and the first data row when the file's next line ends within
    ROW_PEEK_BYTES (else None)."""
    if compressed:
        import gzip  # here: a plain CSV's start-up need not load it

    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            raw, more = _head_lines(fh)
    except (OSError, EOFError) as exc:
        raise InputError(path, f"could not read the file ({exc})") from exc
    return _split_head(path, raw, more)


def _gzip_and_first_lines(path: Path) -> tuple[bool, str, str | None]:
    """`_starts_with(path, GZIP_MAGIC)` and `_first_lines`, a plain file opened once for both
    (over many small logs the opens were a measurable share of a read)."""
    with open(path, "rb") as fh:
        if fh.read(len(GZIP_MAGIC)) != GZIP_MAGIC:
            fh.seek(0)
            try:
                raw, more = _head_lines(fh)
            except OSError as exc:
                raise InputError(path, f"could not read the file ({exc})") from exc
            return False, *_split_head(path, raw, more)
    return True, *_first_lines(path, True)


def _head_lines(fh) -> tuple[bytes, bytes]:
    raw = fh.readline(MAX_HEADER_BYTES)
    return raw, fh.readline(ROW_PEEK_BYTES) if raw.endswith(b"\n") else b""


def _split_head(path: Path, raw: bytes, more: bytes) -> tuple[str, str | None]:
    if len(raw) >= MAX_HEADER_BYTES and not raw.endswith(b"\n"):
        raise InputError(path, "the first line is over 4 MiB long", "this is not a training log")
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    # pyarrow also ends a row at a bare CR (old Mac line ends): so does the header.
    header, *rest = re.split(r"\r\n|\r|\n", text, maxsplit=1)
    tail = (rest[0] if rest else "") + more.decode("utf-8", errors="replace")
    row, *after = re.split(r"\r\n|\r|\n", tail, maxsplit=1)
    return header, row if after else None


def first_line_in(head: bytes) -> str | None:
    """What `_first_line` reads from the file, taken from its first bytes when they hold a
    whole line (None for gzip, or a first line longer than `head`): the sniffers then need
    not open the file again."""
    if head.startswith(GZIP_MAGIC):
        return None
    end = re.search(rb"\r|\n", head)
    if end is None:
        return None
    return head[: end.start()].decode("utf-8", errors="replace").lstrip("\ufeff")


def split_header(line: str, delimiter: str) -> list[str]:
    """The header's fields; none when it is not CSV at all (csv refuses e.g. a 128 KiB field)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _unique(names: list[str]) -> list[str]:
    """Distinct internal names for a header that repeats a column (pyarrow needs them unique)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}\x00{seen[name]}")
    return out


def _first_sentence(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
