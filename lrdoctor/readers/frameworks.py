"""Framework specifics over CSV: Keras/fastai epoch logs, Ultralytics, multi-run files, and the
folders Lightning (`version_N/`) and DVCLive (`dvclive/plots/metrics/`) write."""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

from lrdoctor.columns import detect_columns
from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table
from lrdoctor.readers.records import (
    RUN_PARAMS,
    run_key,
    split_runs,
    table_from_series,
    yaml_pairs,
)
from lrdoctor.readers.tabular import (
    GZIP_MAGIC,
    NULL_CELLS,
    CsvReader,
    _delimiter,
    _first_line,
    _starts_with,
    _unique,
    first_line_in,
    read_options,
    split_header,
)

_ULTRA_LOSS = re.compile(r"^(train|val)/\w+_loss$")


def csv_header(path: Path) -> list[str]:
    line = _first_line(path, _starts_with(path, GZIP_MAGIC))
    return [n.strip() for n in split_header(line, _delimiter(line))]


def sniffed_header(path: Path, head: bytes) -> list[str] | None:
    """The header of a CSV log, or None when the file is not CSV (every CSV flavour sniffs so).

    The CSV flavours sniff the same `head` one after the other: it is parsed once (callers
    only read the list)."""
    return _sniff_header(path, head)


@functools.lru_cache(maxsize=1)
def _sniff_header(path: Path, head: bytes) -> list[str] | None:
    if not CsvReader().sniff(path, head):
        return None
    line = first_line_in(head)
    if line is not None:
        return [n.strip() for n in split_header(line, _delimiter(line))]
    try:
        return csv_header(path)
    except InputError:
        return None


def is_ultralytics(names: list[str]) -> bool:
    return "lr/pg0" in names and any(_ULTRA_LOSS.match(n) for n in names)


class FrameworkCsvReader:
    """CSV logs that need more than the plain reader: it claims them, reads them through it,
    then fixes the step axis, sums Ultralytics' loss parts, or splits the runs."""

    name = "csv-frameworks"

    def sniff(self, path: Path, head: bytes) -> bool:
        names = sniffed_header(path, head)
        return names is not None and bool(
            is_ultralytics(names) or run_key(names) or _epoch_only(names)
        )

    def read(self, path: Path, select: Select) -> list[Table]:
        names = csv_header(path)
        key = run_key(names)
        ultra = is_ultralytics(names)
        parts = [n for n in names if _ULTRA_LOSS.match(n)] if ultra else []
        epoch_only = _epoch_only(names)

        def wanted(all_names):
            cols = set(select([*all_names, "train/loss", "val/loss"] if ultra else all_names))
            cols |= set(parts)
            if epoch_only:
                cols.add(epoch_only)
            return cols - {key}

        (table,) = CsvReader().read(path, wanted)
        if ultra:
            _ultralytics(table, parts)
        if epoch_only:
            _epoch_as_step(table, epoch_only)
        if key:
            return split_runs(table, _text_column(path, names, key), key)
        return [table]


def _epoch_only(names: list[str]) -> str | None:
    """The epoch column of a log with an epoch but no step (Keras, fastai, Ultralytics)."""
    found = detect_columns(names)
    return found["epoch"] if "epoch" in found and "step" not in found else None


def _epoch_as_step(table: Table, epoch: str) -> None:
    import numpy as np

    if epoch not in table.values:
        return
    e = table.values[epoch]
    ok = ~table.empty[epoch]
    if ok.all() and np.all(np.diff(e) > 0):
        table.values["step"], table.empty["step"] = e.copy(), table.empty[epoch].copy()
        table.names.append("step")
        table.notes.append(f"no step column: {epoch!r} was used as the step (one row per epoch)")
        table.meta["loss_rows"] = "epoch_mean"  # Keras, fastai and Ultralytics log epoch means
    else:
        table.notes.append(
            f"{epoch!r} does not increase row by row (a CSVLogger with append=True restarts "
            "at 0); the row order was used as the step"
        )


def _ultralytics(table: Table, parts: list[str]) -> None:
    """Ultralytics logs loss parts (box, cls, dfl); their sum is the loss it minimises."""
    import numpy as np

    table.meta["framework"] = "ultralytics"
    # lr/pg0 (the bias group) falls from warmup_bias_lr during warmup by design.
    table.meta["lr_warmup_bias"] = "ultralytics"
    for split in ("train", "val"):
        cols = [p for p in parts if p.startswith(split + "/") and p in table.values]
        if not cols:
            continue
        name = f"{split}/loss"
        table.values[name] = np.sum([table.values[c] for c in cols], axis=0)
        table.empty[name] = np.any([table.empty[c] for c in cols], axis=0)
        table.names.append(name)
        table.notes.append(f"{name} is the sum of {', '.join(cols)}")


def _text_column(path: Path, names: list[str], column: str) -> list[str | None]:
    """One column as text, parsed with the same options (and row skipping) as CsvReader;
    bytes that are not UTF-8 read as U+FFFD."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    line = _first_line(path, _starts_with(path, GZIP_MAGIC))
    unique = _unique(names)
    internal = unique[names.index(column)]
    source = pa.input_stream(
        str(path), compression="gzip" if _starts_with(path, GZIP_MAGIC) else None
    )
    table = pacsv.read_csv(
        source,
        read_options=read_options(unique, 1, path.stat().st_size),
        parse_options=pacsv.ParseOptions(
            delimiter=_delimiter(line), invalid_row_handler=lambda row: "skip"
        ),
        convert_options=pacsv.ConvertOptions(
            include_columns=[internal],
            column_types={internal: pa.binary()},  # run names need not be UTF-8
            null_values=NULL_CELLS,
            strings_can_be_null=True,
        ),
    )
    return [
        None if v is None else v.decode("utf-8", "replace").strip()
        for v in table.column(0).to_pylist()
    ]


_VERSION = re.compile(r"^version_\d+$")


class LightningVersionReader:
    """`lightning_logs/version_N/`: one run; a folder of several versions is several runs."""

    name = "lightning"

    def claims_dir(self, path: Path) -> bool:
        return bool(_VERSION.match(path.name)) and (path / "metrics.csv").is_file()

    def reads(self, path: Path, rel: str) -> bool:
        return rel == "metrics.csv"

    def sniff(self, path: Path, head: bytes) -> bool:
        return False

    def read(self, path: Path, select: Select) -> list[Table]:
        (table,) = CsvReader().read(path / "metrics.csv", select)
        table.source = str(path)
        table.meta["framework"] = "lightning"
        return [table]


class DvcLiveReader:
    """DVCLive: one TSV per metric under `plots/metrics/` (nested folders for `/` in names);
    the optimizer and LR from `params.yaml` (`live.log_params`) beside them."""

    name = "dvclive"

    def claims_dir(self, path: Path) -> bool:
        return _metrics_dir(path) is not None

    def reads(self, path: Path, rel: str) -> bool:
        root = _metrics_dir(path)
        return root is not None and (
            (path / rel) == _params_yaml(root)
            or (rel.endswith(".tsv") and (path / rel).is_relative_to(root))
        )

    def sniff(self, path: Path, head: bytes) -> bool:
        return False

    def read(self, path: Path, select: Select) -> list[Table]:
        root = _metrics_dir(path)
        assert root is not None
        series = {}
        for tsv in sorted(root.rglob("*.tsv")):
            if not tsv.is_file():  # a FIFO or device named *.tsv would block the read
                continue
            name = tsv.relative_to(root).with_suffix("").as_posix()
            with open(tsv, newline="", encoding="utf-8") as fh:
                rows = list(csv.reader(fh, delimiter="\t"))
            if not rows or "step" not in rows[0]:
                continue
            si, vi = rows[0].index("step"), len(rows[0]) - 1
            steps, values = [], []
            for row in rows[1:]:
                try:
                    steps.append(float(row[si]))
                    values.append(float(row[vi]))
                except (ValueError, IndexError):
                    continue
            series[name] = (steps, values)
        if not series:
            raise InputError(path, "holds no DVCLive metric files")
        return [
            table_from_series(
                str(path),
                series,
                select,
                meta={"framework": "dvclive", **_dvclive_params(root)},
                notes=[
                    "DVCLive's step counts calls to next_step(), not necessarily optimizer steps"
                ],
            )
        ]


def _params_yaml(metrics: Path) -> Path:
    return metrics.parent.parent / "params.yaml"


def _dvclive_params(metrics: Path) -> dict[str, str]:
    """The optimizer and LR among `params.yaml`'s top-level params (nested ones are skipped)."""
    meta = {}
    for key, value in yaml_pairs(_params_yaml(metrics)).items():
        if key in RUN_PARAMS and value:
            meta.setdefault(RUN_PARAMS[key], value)
    return meta


def _metrics_dir(path: Path) -> Path | None:
    for candidate in (path / "plots" / "metrics", path):
        if (
            candidate.name == "metrics"
            and candidate.parent.name == "plots"
            and any(candidate.rglob("*.tsv"))
        ):
            return candidate
    return None
