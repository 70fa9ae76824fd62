"""Compare the runs of an LR sweep: the U curve of final loss vs LR, its bottom and its edge.

Pure analysis: `summarise` turns a run (and its `check` report) into a few robust numbers,
`compare_runs` turns those into the best LR, the interpolated optimum, the largest stable LR,
a suggestion and notes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from lrdoctor.detectors.stats import fmt_lr, human_lr

SCHEMA = "lrdoctor.compare/1"
# Neighbouring LRs further apart than this (decades) leave the bottom of the U unresolved.
COARSE_DECADES = 1.0
MIN_RUNS = 3

_LR_IN_NAME = re.compile(r"(?<![a-z])lr[=_-]?(\d*\.?\d+(?:e[-+]?\d+)?)", re.IGNORECASE)


@dataclass(frozen=True)
class RunSummary:
    """One run of a sweep, reduced to what the U curve needs."""

    source: str
    lr: float | None
    final_loss: float  # mean of the last 10 % of batch losses; inf when the run diverged
    best_loss: float  # lowest binned median of the batch loss
    initial_loss: float | None = None  # the first finite logged loss
    final_val_loss: float | None = None  # None when no validation loss was logged
    best_val_loss: float | None = None
    status: str = "pass"  # the run's status under `check`
    categories: tuple[str, ...] = ()  # categories of its check findings
    optimizer: str | None = None
    dataset: str | None = None

    @property
    def diverged(self) -> bool:
        return not math.isfinite(self.final_loss)

    @property
    def stable(self) -> bool:
        """Did not diverge and ended below where it started (the edge of the sweep's U)."""
        start = self.initial_loss
        return not self.diverged and (start is None or self.final_loss < start)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "lr": self.lr,
            "final_loss": _num(self.final_loss),
            "best_loss": _num(self.best_loss),
            "initial_loss": _num(self.initial_loss),
            "stable": self.stable,
            "final_val_loss": _num(self.final_val_loss),
            "best_val_loss": _num(self.best_val_loss),
            "diverged": self.diverged,
            "status": self.status,
            "categories": list(self.categories),
        }


@dataclass(frozen=True)
class CompareResult:
    runs: list[RunSummary]  # sorted by LR
    metric: str  # "final_val_loss" or "final_loss": what "best" minimises
    best_lr: float | None
    stable_edge_lr: float | None
    suggested_lr: float | None
    raw_suggested_lr: float | None
    interpolated_lr: float | None = None  # vertex of the parabola through best and neighbours
    notes: list[str] = field(default_factory=list)

    def score(self, run: RunSummary) -> float:
        value = getattr(run, self.metric)
        return math.inf if run.diverged or value is None else value

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "metric": self.metric,
            "runs": [r.to_dict() for r in self.runs],
            "best_lr": self.best_lr,
            "interpolated_lr": self.interpolated_lr,
            "stable_edge_lr": self.stable_edge_lr,
            "suggested_lr": self.suggested_lr,
            "raw_suggested_lr": self.raw_suggested_lr,
            "notes": list(self.notes),
        }


def _num(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def lr_from_name(name: str) -> float | None:
    """The LR written in a file name: lr=0.01, lr0.01, lr_1e-3, LR-3e-4 (last one wins)."""
    found = _LR_IN_NAME.findall(name)
    if not found:
        return None
    value = float(found[-1])
    return value if value > 0 else None


def summarise(run, report=None, lr: float | None = None) -> RunSummary:
    """Reduce a `Run` (and its `RunReport` from check) to a RunSummary.

    The LR is `lr` when given, else the peak of the lr column, else the one in the file name.
    """
    import numpy as np

    from lrdoctor.detectors.stats import binned

    if lr is None and run.has("lr"):
        v = run["lr"].value
        v = v[np.isfinite(v) & (v > 0)]
        lr = float(v.max()) if len(v) else None
    if lr is None:
        lr = lr_from_name(run.source.replace("\\", "/").rsplit("/", 1)[-1])
    loss = run["loss"].value if run.has("loss") else np.empty(0)
    finite = loss[np.isfinite(loss)]
    if len(finite) == 0 or len(finite) < len(loss):
        final = math.inf
    else:
        # The mean, not the median, of the tail: a spiky run's median hides the spikes its loss
        # pays for, which favours the spikier, higher LR of a flat bottom (on the development
        # corpus' 28 sweeps the grid best matched the labelled best on 21 with the median, 24
        # with the mean: `benchmarks/measure_lrfind.py --devcorpus`).
        final = float(np.mean(finite[-max(1, int(len(finite) * 0.1)) :]))
    best = float(np.min(binned(run["loss"]).level)) if len(finite) else math.inf
    initial = float(finite[0]) if len(finite) else None
    final_val = best_val = None
    if run.has("val_loss"):
        val = run["val_loss"].value
        ok = val[np.isfinite(val)]
        final_val = float(val[-1]) if np.isfinite(val[-1]) else math.inf
        best_val = float(ok.min()) if len(ok) else math.inf
    categories = tuple(sorted({f.category for f in report.findings})) if report else ()
    return RunSummary(
        source=run.source,
        lr=lr,
        final_loss=float(final),
        best_loss=best,
        initial_loss=initial,
        final_val_loss=final_val,
        best_val_loss=best_val,
        status=report.status if report else "pass",
        categories=categories,
        optimizer=run.optimizer,
        dataset=run.meta.get("dataset"),
    )


def compare_runs(runs: list[RunSummary]) -> CompareResult:
    """Find the bottom of the U curve and the edge of stability of a sweep."""
    runs = sorted(runs, key=lambda r: r.lr if r.lr is not None else math.inf)
    notes: list[str] = []
    with_val = all(r.final_val_loss is not None or r.diverged for r in runs)
    metric = "final_val_loss" if with_val and runs else "final_loss"
    probe = CompareResult(runs, metric, None, None, None, None)

    # one score per distinct LR (the median over repeated runs, e.g. seeds)
    groups: dict[float, list[float]] = {}
    stable: dict[float, bool] = {}
    for r in runs:
        groups.setdefault(r.lr, []).append(probe.score(r))
        stable[r.lr] = stable.get(r.lr, True) and r.stable
    lrs = sorted(groups)
    scores = [sorted(groups[lr])[(len(groups[lr]) - 1) // 2] for lr in lrs]
    if any(len(v) > 1 for v in groups.values()):
        notes.append("several runs share an LR; the median of their losses is used")
    if len(lrs) < MIN_RUNS:
        notes.append(
            f"only {len(lrs)} distinct LR{'s' if len(lrs) != 1 else ''}: a sweep needs "
            f"at least {MIN_RUNS} to locate the bottom of the U curve"
        )
    # names as written by different loggers ("SGD", "sgd") are the same optimizer
    for what, values in (
        ("optimizers", {(r.optimizer or "").lower() for r in runs}),
        ("datasets", {r.dataset for r in runs}),
    ):
        known = sorted(v for v in values if v)
        if len(known) > 1:
            notes.append(
                f"the runs use different {what} ({', '.join(known)}): their losses "
                "are not comparable; compare one setting at a time"
            )

    edge = max((lr for lr in lrs if stable[lr]), default=None)
    if not any(math.isfinite(s) for s in scores):
        notes.append("every run diverged: sweep lower LRs")
        return CompareResult(runs, metric, None, edge, None, None, notes=notes)

    i = min(range(len(lrs)), key=lambda k: scores[k])
    best = lrs[i]
    if len(lrs) >= MIN_RUNS:
        if i == len(lrs) - 1:
            notes.append(
                f"the best LR ({fmt_lr(best)}) is the highest tried: extend the sweep "
                "towards higher LRs"
            )
        elif i == 0:
            notes.append(
                f"the best LR ({fmt_lr(best)}) is the lowest tried: extend the sweep "
                "towards lower LRs"
            )
    for j in (i - 1, i + 1):
        if 0 <= j < len(lrs) and abs(math.log10(lrs[j] / best)) > COARSE_DECADES + 1e-9:
            a, b = sorted((best, lrs[j]))
            notes.append(
                f"the grid is coarse around the best LR: refine between {fmt_lr(a)} and {fmt_lr(b)}"
            )
    interpolated = parabola_vertex(lrs, scores, i)
    suggestion = interpolated
    if edge is not None and suggestion > edge:
        notes.append(f"the suggestion is capped at the largest stable LR ({fmt_lr(edge)})")
        suggestion = edge
    elif edge is None:
        notes.append("no run stayed finite and ended below its initial loss")
    rounded = human_lr(suggestion)
    if edge is not None and rounded is not None and rounded > edge:
        rounded = edge
    return CompareResult(runs, metric, best, edge, rounded, suggestion, interpolated, notes)


def parabola_vertex(lrs: list[float], scores: list[float], i: int) -> float:
    """The bottom of the parabola through the best point and its two neighbours, in log LR.

    Clipped to the bracket (the neighbours); the best LR itself when it is at the grid's edge,
    a neighbour diverged, or the three points are not convex (a flat or noisy bottom).
    """
    if not 0 < i < len(lrs) - 1 or not all(math.isfinite(s) for s in scores[i - 1 : i + 2]):
        return lrs[i]
    x = [math.log10(v) for v in lrs[i - 1 : i + 2]]
    y = scores[i - 1 : i + 2]
    # Divided differences: y = y0 + d1 (x - x0) + c (x - x0)(x - x1); vertex where y' = 0.
    d1 = (y[1] - y[0]) / (x[1] - x[0])
    d2 = (y[2] - y[1]) / (x[2] - x[1])
    c = (d2 - d1) / (x[2] - x[0])
    if c <= 0:
        return lrs[i]
    vertex = (x[0] + x[1]) / 2 - d1 / (2 * c)
    return float(10 ** min(max(vertex, x[0]), x[2]))
