"""The normalised run model every detector reads: one sorted, de-duplicated series per signal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from lrdoctor.columns import canonical_optimizer, detect_columns, optimizer_from_columns
from lrdoctor.errors import InputError
from lrdoctor.numeric import all_finite
from lrdoctor.readers.base import Table

# Where int64 ends: a step at or past it came from a float (a CSV cell beyond int64).
INT64_END = 2.0**63


@dataclass(frozen=True)
class Series:
    """One signal: strictly increasing steps and the value logged at each."""

    step: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.step)

    def finite(self) -> Series:
        """The rows with a finite value: the series itself when its sum proves every value
        finite (`numeric.all_finite`: one reduction, no series-long mask)."""
        if all_finite(self.value):
            return self
        keep = np.isfinite(self.value)
        return Series(self.step[keep], self.value[keep])

    def until(self, step: float) -> Series:
        """The part logged before `step` (exclusive)."""
        end = int(np.searchsorted(self.step, step, side="left"))
        return Series(self.step[:end], self.value[:end])

    def at(self, steps: np.ndarray) -> np.ndarray:
        """Values at the given steps, carrying the last logged value forward (NaN before)."""
        if steps is self.step or (
            len(steps) == len(self.step) and np.array_equal(steps, self.step)
        ):
            # Asked at its own steps (signals logged on the same rows share them): each step
            # is found at itself, so the lookup is a copy (O(n), not O(n log n)).
            return np.array(self.value, dtype=np.float64)
        idx = np.searchsorted(self.step, steps, side="right") - 1
        out = np.full(len(steps), np.nan)
        ok = idx >= 0
        out[ok] = self.value[idx[ok]]
        return out


@dataclass
class Run:
    """A training run: its signals by canonical name, where they came from, what was repaired."""

    source: str
    signals: dict[str, Series]
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    optimizer: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    # What detectors derive from this run (its loss shape, its LR signs), computed once and
    # dropped with the run: no module-level cache keeps runs alive.
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def has(self, *names: str) -> bool:
        signals = self.signals  # asked thousands of times per check: a plain loop
        for n in names:
            s = signals.get(n)
            if s is None or not len(s.step):
                return False
        return True

    def __getitem__(self, name: str) -> Series:
        return self.signals[name]

    @property
    def optimizer_family(self) -> str | None:
        return canonical_optimizer(self.optimizer)

    @property
    def n_steps(self) -> int:
        return len(self.signals["loss"]) if self.has("loss") else 0


def wanted_columns(
    names: Iterable[str], overrides: Mapping[str, str] | None = None, needed: Iterable[str] = ()
) -> set[str]:
    """The columns worth loading: those that hold a signal (all of them unless `needed` says)."""
    names = list(names)
    chosen = detect_columns(names, overrides)
    keep = set(needed) | {"step", "epoch"} if needed else set(chosen)
    # A custom rule may watch any logged column by its own name.
    return {col for sig, col in chosen.items() if sig in keep} | (set(needed) & set(names))


def build_run(
    table: Table,
    overrides: Mapping[str, str] | None = None,
    optimizer: str | None = None,
    extra: Iterable[str] = (),
) -> Run:
    """Normalise a raw table: pick columns, sort by step, keep the last write of a repeated step.

    `extra` names further columns (watched by custom rules) kept as signals of the same name.
    """
    columns = detect_columns([n for n in table.names if n in table.values], overrides)
    columns.update({n: n for n in extra if n in table.values and n not in columns})
    notes = list(table.notes)
    n_rows = len(next(iter(table.values.values()))) if table.values else 0
    if "step" in columns:
        raw_step = table.values[columns["step"]]
        bad = ~np.isfinite(raw_step) | table.empty[columns["step"]]
        # A view when every step is a number (the usual log): no 80 MB copy at 10M rows.
        step = np.where(bad, np.nan, raw_step) if bad.any() else raw_step.view()
        # Integers the reader saw float64 round, or steps past int64 (a CSV cell beyond it is
        # parsed as a float, so the reader cannot tell): distinct steps may have merged.
        if columns["step"] in table.rounded or _beyond_int64(step):
            raise InputError(
                table.source,
                f"the step column {columns['step']!r} holds integers beyond 2^53 that a float64 "
                "cannot hold exactly, so distinct steps would merge",
                "subtract an offset from the steps (or name another with --step-col)",
            )
    else:
        step = np.arange(n_rows, dtype=np.float64)
        notes.append("no step column: the row order was used as the step")

    step_ok = ~np.isnan(step)
    all_steps_ok = bool(step_ok.all())
    step.flags.writeable = False  # shared by the signals below when no row needs dropping
    # Whether the shared step array increases: asked once, not once per dense signal.
    increasing = all_steps_ok and bool(np.all(step[1:] > step[:-1]))

    signals: dict[str, Series] = {}
    for signal, column in columns.items():
        if signal == "step":
            continue
        empty = table.empty[column]
        if increasing and not empty.any():  # a dense column of a sorted log: no copy, no sort
            series, repeated, unsorted = Series(step, table.values[column]), 0, False
        elif all_steps_ok and not empty.any():  # dense: no copy (10M rows: ~80 MB)
            series, repeated, unsorted = _sorted_last_write(step, table.values[column])
        else:
            present = ~empty & step_ok
            series, repeated, unsorted = _sorted_last_write(
                step[present], table.values[column][present]
            )
        if len(series):
            signals[signal] = series
        if signal == "loss":
            if repeated:
                notes.append(
                    f"{repeated} step{'s' if repeated != 1 else ''} of the loss were logged "
                    "more than once (a resumed run?); the last write of each was kept"
                )
            if unsorted:
                notes.append("rows were not in step order; they were sorted by step")

    if "update_ratio" not in signals and "update_norm" in signals and "weight_norm" in signals:
        upd, w = signals["update_norm"], signals["weight_norm"]
        common, iu, iw = np.intersect1d(upd.step, w.step, assume_unique=True, return_indices=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            signals["update_ratio"] = Series(common, upd.value[iu] / w.value[iw])
        columns["update_ratio"] = f"{columns['update_norm']} / {columns['weight_norm']}"

    # --optimizer is the fallback for a log that does not say (docs: "when the log does not say")
    optimizer = table.meta.get("optimizer") or optimizer_from_columns(columns) or optimizer
    return Run(
        source=table.source,
        signals=signals,
        columns={k: v for k, v in columns.items() if k in signals or k == "step"},
        notes=notes,
        optimizer=optimizer,
        meta=dict(table.meta),
    )


def _beyond_int64(step: np.ndarray) -> bool:
    """Steps at or past ±2^63 (no integer type held them) of which two are equal: rows that
    may have been distinct steps before the float parse. One pass when there are none."""
    if not len(step):
        return False
    top = np.fmax.reduce(step, initial=-np.inf)
    bottom = np.fmin.reduce(step, initial=np.inf)
    if top < INT64_END and bottom >= -INT64_END:
        return False
    big = step[np.abs(step) >= INT64_END]
    return bool(np.unique(big).size < big.size)


def _sorted_last_write(step: np.ndarray, value: np.ndarray) -> tuple[Series, int, bool]:
    """Sort by step; where a step repeats keep the row written last. Returns the count dropped."""
    if np.all(step[1:] > step[:-1]):
        return Series(step, value), 0, False  # the usual log: skip the O(n log n) sort
    unsorted = bool(np.any(step[1:] < step[:-1]))  # no subtraction: steps may be ±1e308
    order = np.argsort(step, kind="stable")
    s = step[order]
    last = np.ones(len(s), bool)
    last[:-1] = s[1:] != s[:-1]
    keep = order[last]
    repeated = len(s) - int(last.sum())
    return Series(step[keep], value[keep]), repeated, unsorted


def run_from_frame(frame, source: str = "<dataframe>", **kwargs) -> Run:
    """Build a run from a pandas DataFrame (the Python API's entry point).

    pandas cannot tell a missing cell from a NaN, so NaN counts as missing in every column but
    the loss, where it is what the training loop computed.
    """
    import pandas as pd

    values, empty = {}, {}
    for name in frame.columns:
        numbers = pd.to_numeric(frame[name], errors="coerce")
        if numbers.isna().all() and not frame[name].isna().all():
            continue  # a text column (run names, timestamps as strings)
        values[str(name)] = numbers.to_numpy(np.float64, copy=True)
        empty[str(name)] = frame[name].isna().to_numpy()
    table = Table(source=source, names=list(values), values=values, empty=empty)
    loss_col = detect_columns(list(values), kwargs.get("overrides")).get("loss")
    if loss_col is not None:
        empty[loss_col] = np.zeros(len(frame), bool)
    return build_run(table, **kwargs)
