"""Weights & Biases UI "Export CSV": `Step, "<run> - <metric>", ...__MIN, ...__MAX` per run."""

from __future__ import annotations

from pathlib import Path

from lrdoctor.errors import InputError
from lrdoctor.readers.base import Select, Table
from lrdoctor.readers.frameworks import csv_header, sniffed_header
from lrdoctor.readers.tabular import CsvReader

SEP = " - "
BANDS = ("__MIN", "__MAX")


def _split(name: str) -> tuple[str, str] | None:
    if SEP not in name or name.endswith(BANDS):
        return None
    run, metric = name.rsplit(SEP, 1)
    return run.strip(), metric.strip()


class WandbExportReader:
    """Weights & Biases UI CSV export: a Step column and "<run> - <metric>" columns."""

    name = "wandb-export"

    def sniff(self, path: Path, head: bytes) -> bool:
        names = sniffed_header(path, head)
        return (
            names is not None
            and len(names) > 1
            and SEP not in names[0]
            and all(SEP in n for n in names[1:])
        )

    def read(self, path: Path, select: Select) -> list[Table]:
        names = csv_header(path)
        axis = names[0]
        runs: dict[str, dict[str, str]] = {}  # run -> metric -> column
        for name in names[1:]:
            parts = _split(name)
            if parts:
                runs.setdefault(parts[0], {})[parts[1]] = name
        wanted = {axis}
        for metrics in runs.values():
            picked = set(select([axis, *metrics]))
            wanted |= {col for m, col in metrics.items() if m in picked}
        (table,) = CsvReader().read(path, lambda _names: wanted)
        out = []
        for run, metrics in runs.items():
            cols = {m: c for m, c in metrics.items() if c in table.values}
            t = Table(
                source=f"{path}::{run}" if len(runs) > 1 else str(path),
                names=["step", *metrics],
                notes=list(table.notes),
                meta={"framework": "wandb", "run_name": run},
            )
            if axis in table.values:
                t.values["step"], t.empty["step"] = table.values[axis], table.empty[axis]
                if axis in table.rounded:
                    t.rounded.add("step")
            for metric, col in cols.items():
                t.values[metric], t.empty[metric] = table.values[col], table.empty[col]
            out.append(t)
        if not out:
            raise InputError(path, "a W&B export without metric columns")
        return out
