"""Shared builders for the non-tabular formats: records (JSON) and per-metric series to a Table."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from lrdoctor.readers.base import EXACT_INTEGERS, Select, Table, rounds_integers

# Columns that name the run a row belongs to, best first (a file holding several runs).
RUN_KEYS = ("run", "run_id", "run_name", "name")
# Params (MLflow params, DVCLive params.yaml) that name the optimizer or the learning rate,
# copied into the run's metadata.
RUN_PARAMS = {
    "optimizer": "optimizer",
    "optim": "optimizer",
    "optimizer_name": "optimizer",
    "lr": "lr",
    "learning_rate": "lr",
}


def yaml_pairs(path: Path) -> dict[str, str]:
    """Top-level `key: value` pairs of a YAML file (MLflow's meta.yaml, DVCLive's params.yaml):
    enough for names, statuses and flat params, without PyYAML."""
    out = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_]+):\s*(.*?)\s*$", line)
        if m:
            out[m.group(1)] = m.group(2).strip("'\"")
    return out


def to_float(value: object) -> float | None:
    """A logged value as a float; None when nothing usable was logged (null, text, nested)."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer beyond float range (JSON allows any size)
            return float("inf") if value > 0 else float("-inf")
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"", "null", "none", "na", "n/a"}:
            return None
        try:
            return float(text)  # float() accepts nan, inf, infinity in any case
        except ValueError:
            return None
    return None


def rounded(value: object) -> bool:
    """Whether `to_float` changes this integer (JSON integers beyond 2^53)."""
    if type(value) is not int or -EXACT_INTEGERS <= value <= EXACT_INTEGERS:
        return False
    try:
        return int(float(value)) != value
    except OverflowError:
        return True


def table_from_records(
    source: str,
    records: Sequence[Mapping[str, object]],
    select: Select,
    notes: Iterable[str] = (),
    meta: Mapping[str, str] | None = None,
    rename: Mapping[str, str] | None = None,
) -> Table:
    """One column per key seen in any record (in first-seen order); a missing key is empty."""
    import numpy as np

    rename = dict(rename or {})
    names: dict[str, None] = {}
    for rec in records:
        names.update(dict.fromkeys(rec))
    all_names = [rename.get(n, n) for n in names]
    wanted = set(select(all_names))
    out = Table(source=source, names=all_names, notes=list(notes), meta=dict(meta or {}))
    n = len(records)
    for raw in names:
        name = rename.get(raw, raw)
        if name not in wanted or name in out.values:
            continue
        cells = [to_float(rec.get(raw)) for rec in records]
        empty = np.fromiter((c is None for c in cells), bool, n)
        if empty.all() and any(rec.get(raw) is not None for rec in records):
            continue  # a text column (run names, dates)
        out.values[name] = np.fromiter((math.nan if c is None else c for c in cells), float, n)
        out.empty[name] = empty
        if np.any(np.abs(out.values[name]) > EXACT_INTEGERS) and any(
            rounded(rec.get(raw)) for rec in records
        ):
            out.rounded.add(name)
    return out


def table_from_series(
    source: str,
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    select: Select,
    notes: Iterable[str] = (),
    meta: Mapping[str, str] | None = None,
    step_name: str = "step",
) -> Table:
    """Metrics logged one series each (TensorBoard tags, MLflow keys) joined on their steps.

    Within a series a step written twice (a resumed run) keeps its last write.
    """
    import numpy as np

    names = [step_name, *series]
    wanted = set(select(names)) | {step_name}
    out = Table(source=source, names=names, notes=list(notes), meta=dict(meta or {}))
    kept: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    repeated = 0
    for name, (steps, values) in series.items():
        if name not in wanted:
            continue
        s = np.asarray(steps, np.float64)
        v = np.asarray(values, np.float64)
        if len(s) and np.abs(s).max() > EXACT_INTEGERS:
            ints = np.asarray(steps)
            if ints.dtype.kind not in "iuf" or (ints.dtype.kind != "f" and rounds_integers(ints)):
                out.rounded.add(step_name)  # steps beyond int64 come as objects: rounded
        order = np.argsort(s, kind="stable")
        s, v = s[order], v[order]
        last = np.ones(len(s), bool)
        last[:-1] = s[1:] != s[:-1]
        repeated = max(repeated, len(s) - int(last.sum()))
        kept[name] = (s[last], v[last])
    if repeated:
        out.notes.append(
            f"up to {repeated} steps were logged more than once (a resumed run?); "
            "the last write of each was kept"
        )
    axis = np.unique(np.concatenate([s for s, _ in kept.values()])) if kept else np.empty(0)
    out.values[step_name] = axis
    out.empty[step_name] = np.zeros(len(axis), bool)
    for name, (s, v) in kept.items():
        full = np.full(len(axis), np.nan)
        idx = np.searchsorted(axis, s)
        full[idx] = v
        empty = np.ones(len(axis), bool)
        empty[idx] = False
        out.values[name], out.empty[name] = full, empty
    return out


def split_runs(table: Table, labels: Sequence[str | None], column: str) -> list[Table]:
    """One Table per distinct run label (in order of first appearance), named `<source>::<run>`."""
    import numpy as np

    order = list(dict.fromkeys(label for label in labels if label is not None))
    if len(order) <= 1:
        if order:
            table.meta.setdefault("run_name", order[0])
        return [table]
    arr = np.array([label if label is not None else "" for label in labels], dtype=object)
    out = []
    for label in order:
        rows = arr == label
        out.append(
            Table(
                source=f"{table.source}::{label}",
                names=[n for n in table.names if n != column],
                values={k: v[rows] for k, v in table.values.items() if k != column},
                empty={k: e[rows] for k, e in table.empty.items() if k != column},
                notes=list(table.notes),
                meta={**table.meta, "run_name": label},
                rounded=set(table.rounded),
            )
        )
    return out


def run_key(names: Iterable[str]) -> str | None:
    """The column naming the run in a multi-run file, if the header has one."""
    present = {n.strip().lower(): n for n in names}
    return next((present[k] for k in RUN_KEYS if k in present), None)
