"""Measure `lr-find` and `compare` against LR sweeps whose best LR is known.

Reference trainer (default): for every (dataset, optimizer) pair the trainer sweeps, run LR
range tests with several seeds through the normal read -> build_run path, and compare each
method's suggestion with the best LR of the sweep (fixtures/sweeps.csv, or sweeps run here).
compare: apply it to the one-decade sub-grids of each half-decade sweep (two per pair) and
compare its best and suggested LR with the best LR of the full sweep.

Development corpus (--devcorpus DIR, real PyTorch runs): lr-find on its range tests against
the labelled sweep-best LR, beside the two peers of DIR/score.py, with the landmark shifts
refitted leave-one-task-out; compare on each (task, optimizer) sweep's constant-LR runs.

    python benchmarks/measure_lrfind.py [--seeds 5] [--sweep-dir DIR]
    python benchmarks/measure_lrfind.py --devcorpus ../shared/devcorpus

With --write-docs, what is printed goes into docs/lr-numbers.md's block `lrfind-devcorpus`
(with --devcorpus) or `lrfind-trainer` (benchmarks/measured.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from lrdoctor import catalogue, engine
from lrdoctor.columns import canonical_optimizer
from lrdoctor.compare import compare_runs, summarise
from lrdoctor.detectors.stats import human_lr
from lrdoctor.lrfind import (
    DEFAULT_METHOD,
    FAMILY_SHIFT,
    LANDMARK_SHIFT,
    METHODS,
    MIN_BELOW_UR_DECADES,
    UR_TARGET,
    analyse_run,
    landmark_estimate,
    update_ratio_level,
    update_ratio_on,
)
from lrdoctor.readers import read_path
from lrdoctor.run import build_run
from lrdoctor.trainer import train, write_log
from lrdoctor.trainer.sweep import SWEEP_PAIRS, generate_sweep_runs, sweep_base

RANGE_STEPS = 300
# MIN_BELOW_UR_DECADES scanned (inf: the update-ratio LR never alone when the curve descends)
BELOW_UR_SCAN = (0.5, 0.75, MIN_BELOW_UR_DECADES, 1.5, math.inf)


def load_run(path: Path):
    return build_run(read_path(path)[0])


def sweep_index(sweep_dir: Path) -> list[dict]:
    index = sweep_dir / "index.csv"
    if not index.exists():
        print(f"running the sweeps into {sweep_dir} ...")
        generate_sweep_runs(sweep_dir)
    return list(csv.DictReader(open(index, newline="")))


def best_lrs(rows: list[dict]) -> dict[tuple[str, str], float]:
    return {(r["dataset"], r["optimizer"]): float(r["best_lr"]) for r in rows}


def range_config(dataset: str, optimizer: str, seed: int):
    top = 100.0 if optimizer == "adadelta" else 10.0
    return replace(
        sweep_base(dataset, optimizer),
        range_test=True,
        steps=RANGE_STEPS,
        range_start=top * 1e-7,
        range_end=top,
        eval_every=0,
        seed=seed,
    )


def score(pairs: list[tuple[float | None, float]]) -> tuple[str, str, str]:
    """(fraction within 3x, median |log10 ratio|, how many gave no answer)."""
    errs = [abs(math.log10(s / b)) for s, b in pairs if s is not None]
    none = sum(s is None for s, _ in pairs)
    hits = sum(e <= math.log10(3) + 1e-9 for e in errs)
    med = statistics.median(errs) if errs else float("nan")
    return f"{hits / len(pairs):.0%} ({hits}/{len(pairs)})", f"{med:.2f}", str(none)


def within(pairs: list[tuple[float | None, float]], factor: float) -> str:
    """'share (hits/all)' of the answers within `factor` x of the truth (no answer = a miss)."""
    hits = sum(
        s is not None and abs(math.log10(s / b)) <= math.log10(factor) + 1e-9 for s, b in pairs
    )
    return f"{hits / len(pairs):.0%} ({hits}/{len(pairs)})" if pairs else "-"


def measure_lrfind(best: dict, seeds: int, tmp: Path) -> list[tuple]:
    results: dict[str, list] = {m: [] for m in METHODS}
    scan: dict[float, list] = {d: [] for d in BELOW_UR_SCAN}
    rows, fired = [], []
    for dataset, optimizer in SWEEP_PAIRS:
        for seed in range(seeds):
            path = tmp / f"rt_{dataset}_{optimizer}_{seed}.parquet"
            write_log(train(range_config(dataset, optimizer, seed)), path)
            run = load_run(path)
            for m in METHODS:
                r = analyse_run(run, method=m)
                results[m].append((r.raw_lr, best[dataset, optimizer]))
            for d in BELOW_UR_SCAN:
                scan[d].append((analyse_run(run, min_below_ur=d).raw_lr, best[dataset, optimizer]))
            shipped = analyse_run(run)
            fired.append((_ur_alone(shipped), (shipped.raw_lr, best[dataset, optimizer])))
            rows.append(({"lr_best": best[dataset, optimizer]}, r.candidates))
    print_ur_alone(fired, {d: (p, None) for d, p in scan.items()})
    print(
        "landmark shifts fitted on these tests:",
        {k: round(v, 2) for k, v in fit_shift(rows).items()},
        "shipped:",
        LANDMARK_SHIFT,
    )
    edge_only = [
        (_landmarks_lr(c, {"edge": LANDMARK_SHIFT["edge"]}), meta["lr_best"]) for meta, c in rows
    ]
    return [(m, *score(results[m])) for m in METHODS] + [
        ("edge x 10^shipped shift alone", *score(edge_only))
    ]


def measure_compare(rows: list[dict], sweep_dir: Path) -> list[tuple]:
    planned = engine.plan(catalogue.load_builtin())
    best_pairs, suggested_pairs, capped = [], [], 0
    by_pair: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by_pair.setdefault((r["dataset"], r["optimizer"]), []).append(r)
    for cells in by_pair.values():
        cells.sort(key=lambda r: float(r["lr"]))
        truth = float(cells[0]["best_lr"])
        for offset in (0, 1):
            sub = cells[offset::2]
            paths = [sweep_dir / c["file"] for c in sub]
            runs = [load_run(p) for p in paths]
            report = engine.check_paths(paths, planned)
            result = compare_runs(
                [summarise(run, rep) for run, rep in zip(runs, report.runs, strict=True)]
            )
            best_pairs.append((result.best_lr, truth))
            capped += any("capped" in n for n in result.notes)
            suggested_pairs.append((result.suggested_lr, truth))
    print(f"(the suggestion was capped at the stable edge in {capped} of {len(best_pairs)})")
    return [("best_lr", *score(best_pairs)), ("suggested_lr", *score(suggested_pairs))]


def _ur_alone(result) -> str | None:
    """Why the default is the update-ratio LR alone: 'no descent', 'bottomed out', or None."""
    for note in result.notes:
        if note.startswith("no descent") and "update ratio" in note:
            return "no descent"
        if note.startswith("the loss bottomed out"):
            return "bottomed out"
    return None


def print_ur_alone(fired: list[tuple[str | None, tuple]], scan: dict[float, tuple]) -> None:
    """How often the default is the update-ratio LR alone and how those land, and the default's
    within-3x figure as MIN_BELOW_UR_DECADES varies (all tests, and leave-one-task-out)."""
    parts = []
    for why in ("no descent", "bottomed out"):
        pairs = [p for w, p in fired if w == why]
        hits = score(pairs)[0].split()[1][1:-1] if pairs else "0/0"
        k, n = hits.split("/")
        parts.append(f"{why}: {k} of {n} within 3x")
    print(
        f"the default is the update-ratio LR alone where the curve shows (of {len(fired)} "
        "tests) " + "; ".join(parts)
    )
    cells = []
    for d, (pairs, loto) in scan.items():
        cell = score(pairs)[0].split()[1][1:-1]
        if loto is not None:
            cell += " / " + score(loto)[0].split()[1][1:-1]
        cells.append(f"{d:g}: {cell}")
    label = "all / leave-one-task-out" if any(v[1] for v in scan.values()) else "within 3x"
    print(
        f"default as MIN_BELOW_UR_DECADES (shipped {MIN_BELOW_UR_DECADES:g}) varies ({label}): "
        + ", ".join(cells)
    )


def _devcorpus_runs(corpus: Path, label) -> list[tuple[dict, object]]:
    labels = json.loads((corpus / "labels.json").read_text())
    return [(r, load_run(corpus / r["path"])) for r in labels["runs"] if label(r)]


def fit_shift(rows: list[tuple[dict, dict]], keys=tuple(LANDMARK_SHIFT)) -> dict[str, float]:
    """Each landmark's median log10(best / landmark) over the range tests that have it."""
    return {
        k: statistics.median(math.log10(meta["lr_best"] / c[k]) for meta, c in rows if c.get(k))
        for k in keys
    }


def ceiling(rows: list[tuple[dict, dict]], defaults: list) -> None:
    """How far a better choice among these estimates could go: an oracle that picks, per test,
    whichever lands closest (each landmark moved by its pooled offset, the update-ratio LR, the
    default), and the tests that every one of them misses on the same side."""
    keys = ("steepest", "valley", "half_drop", "minimum", "edge")
    offsets = fit_shift(rows, keys)
    tol = math.log10(3) + 1e-9
    best_of, same_side = 0, []
    for (meta, c), default in zip(rows, defaults, strict=True):
        guesses = [c[k] * 10 ** offsets[k] for k in keys if c.get(k)]
        guesses += [g for g in (c.get("update_ratio"), default) if g]
        errs = [math.log10(human_lr(g) / meta["lr_best"]) for g in guesses]
        best_of += min(abs(e) for e in errs) <= tol
        if all(e > tol for e in errs) or all(e < -tol for e in errs):
            same_side.append(f"{meta['task']}/{meta['optimizer']}/{meta['steps_planned']}")
    print(
        f"\nceiling: an oracle picking per test the best of {len(keys)} moved landmarks, the "
        f"update-ratio LR and the default lands within 3x on {best_of} of {len(rows)}; every "
        f"one of them misses on the same side on {len(same_side)}: {', '.join(same_side)}"
    )


def _note_kind(note: str) -> str:
    """A note's kind: its words before the first colon, semicolon, bracket or number."""
    if "capped there" in note:
        return "capped"
    head = re.split(r":|;| \(| at \d", note)[0]
    return " ".join(w for w in head.split() if not any(ch.isdigit() for ch in w))


def _sweep_losses(corpus: Path) -> dict[tuple[str, str], list[dict]]:
    """The labelled constant-LR runs of each (task, optimizer) sweep, sorted by LR."""
    labels = json.loads((corpus / "labels.json").read_text())
    sweeps: dict[tuple[str, str], list[dict]] = {}
    for r in labels["runs"]:
        if r["family"] == "sweep":
            sweeps.setdefault((r["task"], r["optimizer"]), []).append(r)
    return {k: sorted(v, key=lambda r: r["lr"]) for k, v in sweeps.items()}


def not_clearly_worse(cells: list[dict], lr: float) -> bool:
    """Whether the sweep's grid LR nearest `lr` trained about as well as its best, by the
    corpus' own labelling rule: its final loss within 0.2 x (initial - best) of the best."""
    near = min(cells, key=lambda c: abs(math.log10(c["lr"] / lr)))
    best, start = near["best_final_loss"], near["initial_loss"]
    # labels.json writes a diverged run's final loss as the string "inf"
    final = float(near["final_loss"]) if near["final_loss"] is not None else math.inf
    return final - best < 0.2 * (start - best)


def misses_on_the_bottom(
    corpus: Path, rows: list[tuple[dict, dict]], defaults: list, others: dict[str, list]
) -> None:
    """The default's misses, and how many land on a grid LR that trained about as well as the
    sweep's best (a flat-bottomed U: the labelled best is one of several near-equal LRs); the
    same share over every test for the default and `others` (name -> answer per row)."""
    sweeps = _sweep_losses(corpus)
    shares = []
    for name, answers in {"default": defaults, **others}.items():
        good = sum(
            s is not None and not_clearly_worse(sweeps[meta["task"], meta["optimizer"]], s)
            for (meta, _), s in zip(rows, answers, strict=True)
        )
        shares.append(f"{name} {good}/{len(rows)}")
    print(
        "\nthe sweep's grid LR nearest the answer is not clearly worse than its best (final "
        "loss within 0.2 x (initial - best) of the best, the corpus' labelling rule): "
        + ", ".join(shares)
    )
    tol = math.log10(3) + 1e-9
    misses, flat = [], 0
    for (meta, _), s in zip(rows, defaults, strict=True):
        if s is None or abs(math.log10(s / meta["lr_best"])) <= tol:
            continue
        ok = not_clearly_worse(sweeps[meta["task"], meta["optimizer"]], s)
        flat += ok
        err = math.log10(s / meta["lr_best"])
        misses.append(
            f"{meta['task']}/{meta['optimizer']}/{meta['steps_planned']} {err:+.2f}"
            + ("" if ok else " (clearly worse)")
        )
    print(
        f"the default's {len(misses)} misses (log10 suggestion / lr_best), {flat} of them on a "
        "grid LR not clearly worse than the best: " + ", ".join(misses)
    )


def by_length(rows: list[tuple[dict, dict]], defaults: list, loto: list) -> None:
    """The default by the test's length (200 or 300 steps over the same range: its speed)."""
    parts = []
    for steps in sorted({meta["steps_planned"] for meta, _ in rows}):
        sel = [i for i, (meta, _) in enumerate(rows) if meta["steps_planned"] == steps]
        spd = statistics.median(
            (meta["steps_planned"] - 1) / math.log10(meta["lr_max"] / meta["lr_min"])
            for meta, _ in (rows[i] for i in sel)
        )
        parts.append(
            f"{steps}-step tests ({spd:.0f} steps per decade): "
            + " / ".join(
                within([(out[i], rows[i][0]["lr_best"]) for i in sel], 3)
                for out in (defaults, loto)
            )
        )
    print("by test length (all tasks / leave-one-task-out): " + "; ".join(parts))


def budget_trend(corpus: Path, rows: list[tuple[dict, dict]], loto: list) -> None:
    """Whether the planned training budget (the sweep's steps, not in a range-test log) would
    move the default: the least-squares slope of log10(lr_best / suggestion) against log10 of
    the budget, per optimizer family, leave-one-task-out suggestions."""
    budget = {k: cells[0]["steps_planned"] for k, cells in _sweep_losses(corpus).items()}
    parts = []
    for fam in (*FAMILY_SHIFT, None):
        pts = [
            (math.log10(budget[meta["task"], meta["optimizer"]]), math.log10(meta["lr_best"] / s))
            for (meta, _), s in zip(rows, loto, strict=True)
            if s is not None and (fam is None or canonical_optimizer(meta["optimizer"]) == fam)
        ]
        x, y = np.array(pts).T
        slope, corr = float(np.polyfit(x, y, 1)[0]), float(np.corrcoef(x, y)[0, 1])
        name = f"{fam}-type" if fam else "all"
        parts.append(f"{name} {slope:+.2f} (r {corr:+.2f}, {len(pts)} tests)")
    budgets = sorted(set(budget.values()))
    print(
        f"residual vs the planned budget ({budgets[0]}-{budgets[-1]} steps), slope in decades "
        "per decade of budget: " + ", ".join(parts)
    )


# Budgets of the within-sweep measurement, as fractions of each sweep's planned steps: a
# constant-LR run stopped at step N is the run a budget of N steps would have trained.
BUDGET_FRACTIONS = (0.1, 0.15, 0.25, 0.4, 0.6, 1.0)


def _final_at(loss: np.ndarray, steps: int) -> float:
    """The corpus' final loss for a budget of `steps`: the mean of the last 10 % of them (+inf
    when the run went non-finite before, or stopped short of, `steps`)."""
    seg = loss[:steps]
    if len(seg) < steps or not np.isfinite(seg).all():
        return math.inf
    return float(np.mean(seg[int(round(0.9 * steps)) :]))


def _log_optimum(log_lrs: np.ndarray, finals: np.ndarray) -> float:
    """log10 of the best grid LR, moved to the vertex of the parabola through it and its two
    neighbours when they are finite and convex (so a half-decade grid does not quantise it)."""
    i = int(np.argmin(finals))
    if 0 < i < len(finals) - 1 and np.isfinite(finals[i - 1 : i + 2]).all():
        a, b, _ = np.polyfit(log_lrs[i - 1 : i + 2], finals[i - 1 : i + 2], 2)
        if a > 0:
            return float(np.clip(-b / (2 * a), log_lrs[i - 1], log_lrs[i + 1]))
    return float(log_lrs[i])


def best_by_budget(corpus: Path) -> dict[tuple[str, str], list[tuple[int, float, float]]]:
    """Per (task, optimizer) sweep: (budget N, log10 grid lr_best(N), log10 interpolated
    optimum(N)) for each of BUDGET_FRACTIONS of its planned steps, from the raw per-step losses
    of its constant-LR runs, labelled by the corpus' rule at N instead of the planned steps."""
    import pyarrow.parquet as pq

    out = {}
    for key, cells in _sweep_losses(corpus).items():
        planned = cells[0]["steps_planned"]
        losses = []
        for c in cells:
            table = pq.read_table(corpus / c["raw_path"], columns=["step", "loss"])
            step = table.column("step").to_numpy()
            loss = np.full(planned, np.nan)
            keep = step < planned
            loss[step[keep]] = table.column("loss").to_numpy().astype(float)[keep]
            losses.append(loss)
        log_lrs = np.log10([c["lr"] for c in cells])
        rows = []
        for f in BUDGET_FRACTIONS:
            n = int(round(f * planned))
            finals = np.array([_final_at(loss, n) for loss in losses])
            rows.append((n, float(log_lrs[int(np.argmin(finals))]), _log_optimum(log_lrs, finals)))
        out[key] = rows
    return out


def _within_slope(series: list[list[tuple[int, float, float]]]) -> float:
    """Least-squares slope of log10 optimum(N) on log10 N with one intercept per sweep."""
    xs, ys = [], []
    for rows in series:
        x = np.log10([n for n, _, _ in rows])
        y = np.array([opt for _, _, opt in rows])
        xs.append(x - x.mean())
        ys.append(y - y.mean())
    x, y = np.concatenate(xs), np.concatenate(ys)
    return float(x @ y / (x @ x))


def budget_within_sweeps(corpus: Path, rows: list[tuple[dict, dict]], defaults: list) -> None:
    """How the sweep-best LR moves with the training budget inside one (task, optimizer):
    each sweep's constant-LR runs stopped at BUDGET_FRACTIONS of their planned steps. Prints
    the within-sweep slope (decades of best LR per decade of budget) with a bootstrap interval
    over tasks, per family, and the default's within-3x share against lr_best(N) when it is
    left alone and when moved by the slope fitted leave-one-task-out (what `--steps` could do)."""
    from lrdoctor.lrfind import DEFAULT_STEPS

    by = best_by_budget(corpus)
    tasks = sorted({t for t, _ in by})
    slope = _within_slope(list(by.values()))
    rng = np.random.default_rng(13)
    boot = []
    for _ in range(2000):
        pick = rng.choice(tasks, size=len(tasks))
        boot.append(_within_slope([by[k] for t in pick for k in by if k[0] == t]))
    lo, hi = np.percentile(boot, [5, 95])
    per_sweep = [_within_slope([r]) for r in by.values()]
    fams = {
        fam: _within_slope([r for k, r in by.items() if canonical_optimizer(k[1]) == fam])
        for fam in FAMILY_SHIFT
    }
    budgets = sorted({n for r in by.values() for n, _, _ in r})
    print(
        f"\nbudget within a sweep ({len(by)} sweeps, each stopped at "
        f"{', '.join(f'{f:g}' for f in BUDGET_FRACTIONS)} of its planned steps: "
        f"{budgets[0]}-{budgets[-1]} steps): the interpolated sweep-best LR moves {slope:+.2f} "
        f"decades per decade of budget (90% bootstrap over tasks {lo:+.2f} to {hi:+.2f}; "
        + ", ".join(f"{fam}-type {v:+.2f}" for fam, v in fams.items())
        + f"; per sweep: median {statistics.median(per_sweep):+.2f}, "
        f"{sum(v > 0 for v in per_sweep)} of {len(per_sweep)} positive)"
    )
    # the default (which assumes DEFAULT_STEPS) against lr_best(N) of every budget, left alone
    # and moved by (N / DEFAULT_STEPS)^slope with the slope fitted without the test's task
    loto = {t: _within_slope([r for k, r in by.items() if k[0] != t]) for t in tasks}
    still, moved = [], []
    for (meta, _), s in zip(rows, defaults, strict=True):
        for n, grid_best, _ in by[meta["task"], meta["optimizer"]]:
            best = 10**grid_best
            still.append((s, best))
            move = (n / DEFAULT_STEPS) ** loto[meta["task"]] if s is not None else 1.0
            moved.append((s * move if s is not None else None, best))
    print(
        f"default vs lr_best(N) over the {len(still)} (test, budget) pairs: left alone "
        f"{within(still, 3)}, moved by (N / {DEFAULT_STEPS})^slope (slope leave-one-task-out) "
        f"{within(moved, 3)}"
    )


def fit_shifts(rows: list[tuple[dict, dict]]) -> tuple[dict, dict[str, dict]]:
    """(pooled offsets, offsets per optimizer family), the family from the labelled optimizer."""
    per = {
        fam: fit_shift([row for row in rows if canonical_optimizer(row[0]["optimizer"]) == fam])
        for fam in FAMILY_SHIFT
    }
    return fit_shift(rows), per


def ur_level_at_best(run, lr_best: float) -> float | None:
    """log10 of the test's update ratio at the sweep-best LR (finite-loss steps; None without)."""
    if not run.has("update_ratio"):
        return None
    loss, lr = run["loss"], run["lr"].finite()
    bad = ~np.isfinite(loss.value)
    steps = loss.step[: int(np.argmax(bad))] if bad.any() else loss.step
    at = 10 ** np.interp(steps, lr.step, np.log10(lr.value))
    return update_ratio_level(at, update_ratio_on(run, steps), lr_best)


def fit_ur_target(levels: list[float | None]) -> float:
    """UR_TARGET refitted: the median level at the sweep-best LR over the tests that have one."""
    return statistics.median(v for v in levels if v is not None)


def _landmarks_lr(cands: dict, shift: dict[str, float]) -> float | None:
    """The default's suggestion under other shifts, rounded as lr-find rounds it."""
    log_mean, _ = landmark_estimate(cands, shift)
    return None if log_mean is None else human_lr(10**log_mean)


def _offsets_for(family: str | None, pooled: dict, per: dict) -> dict:
    return per.get(family, pooled)


def devcorpus_lrfind(corpus: Path) -> None:
    """lr-find on the corpus' range tests: every method, the peers, leave-one-task-out."""
    sys.path.insert(0, str(corpus))
    import score as scorer  # the corpus' own scorer: its peers and its file readers

    rows, runs, peers = [], [], {"fastai valley": [], "pytorch-lr-finder steepest": []}
    levels: list[float | None] = []  # log10 update ratio at the sweep-best LR, per test
    results: dict[str, list] = {m: [] for m in METHODS}
    told: list = []  # the shipped default told the optimizer (as `--optimizer` does)
    fired: list = []  # why the default is the update-ratio LR alone, per test
    scan_all: dict[float, list] = {d: [] for d in BELOW_UR_SCAN}
    calib: dict[str, list[bool]] = {}
    by_note: dict[str, list[bool]] = {}
    errors: list[float] = []
    inside: list[bool] = []
    named = Counter()
    for meta, run in _devcorpus_runs(corpus, lambda r: r["label"] == "range_test"):
        r = analyse_run(run, shift=dict.fromkeys(LANDMARK_SHIFT, 0.0))
        rows.append((meta, r.candidates))
        runs.append(run)
        levels.append(ur_level_at_best(run, meta["lr_best"]))
        named[run.optimizer_family or "not named"] += 1
        for m in METHODS[1:]:
            results[m].append((r.candidates[m], meta["lr_best"]))
        series = scorer.load_series(str(corpus / meta["path"]), meta["format"])
        lrs, losses = list(series["lr"].to_numpy(float)), list(series["loss"].to_numpy(float))
        peers["fastai valley"].append((scorer.fastai_valley(lrs, losses), meta["lr_best"]))
        peers["pytorch-lr-finder steepest"].append(
            (scorer.lrfinder_steepest(lrs, losses), meta["lr_best"])
        )
        shipped = analyse_run(run)
        results["landmarks"].append((shipped.suggested_lr, meta["lr_best"]))
        fired.append((_ur_alone(shipped), (shipped.suggested_lr, meta["lr_best"])))
        for d in BELOW_UR_SCAN:
            scan_all[d].append((analyse_run(run, min_below_ur=d).suggested_lr, meta["lr_best"]))
        family = canonical_optimizer(meta["optimizer"])
        told.append((analyse_run(run, family=family).suggested_lr, meta["lr_best"]))
        if shipped.suggested_lr_range and shipped.raw_lr:
            low, high = shipped.suggested_lr_range
            errors.append(math.log10(meta["lr_best"] / shipped.raw_lr))
            inside.append(low <= meta["lr_best"] <= high)
        if shipped.suggested_lr is not None:
            hit = abs(math.log10(shipped.suggested_lr / meta["lr_best"])) <= math.log10(3) + 1e-9
            calib.setdefault(shipped.confidence, []).append(hit)
            for note in {_note_kind(n) for n in shipped.notes} or {"(none)"}:
                by_note.setdefault(note, []).append(hit)
    deciles = statistics.quantiles(errors, n=10)
    print(f"optimizer family named by the log: {dict(named)}")
    print(
        f"log10(lr_best / suggestion): 10th percentile {deciles[0]:+.2f}, 90th "
        f"{deciles[-1]:+.2f}; lr_best inside suggested_lr_range for {sum(inside)} of "
        f"{len(inside)}"
    )
    pooled, per = fit_shifts(rows)
    rnd = lambda d: {k: round(v, 2) for k, v in d.items()}  # noqa: E731
    print("landmark offsets fitted on all tasks:", rnd(pooled), "shipped:", LANDMARK_SHIFT)
    for fam, d in per.items():
        print(f"  {fam}-type tests:", rnd(d), "shipped:", FAMILY_SHIFT[fam])
    fams = [canonical_optimizer(meta["optimizer"]) for meta, _ in rows]
    print(
        f"update-ratio target (log10 at lr_best) fitted on the {sum(v is not None for v in levels)}"
        f" tests whose log has it: {fit_ur_target(levels):.2f} (sgd-type "
        + ", adam-type ".join(
            f"{fit_ur_target([v for v, f in zip(levels, fams, strict=True) if f == fam]):.2f}"
            for fam in FAMILY_SHIFT
        )
        + f") shipped: {UR_TARGET}"
    )
    loto, loto_told, order = [], [], []  # order: the row of each leave-one-task-out answer
    scan_loto: dict[float, list] = {d: [] for d in BELOW_UR_SCAN}
    for task in sorted({meta["task"] for meta, _ in rows}):
        pooled_t, per_t = fit_shifts([row for row in rows if row[0]["task"] != task])
        target_t = fit_ur_target(
            [v for v, (meta, _) in zip(levels, rows, strict=True) if meta["task"] != task]
        )
        for i, ((meta, _), run) in enumerate(zip(rows, runs, strict=True)):
            if meta["task"] != task:
                continue
            order.append(i)
            for out, family in (
                (loto, run.optimizer_family),
                (loto_told, canonical_optimizer(meta["optimizer"])),
            ):
                shift = _offsets_for(family, pooled_t, per_t)
                res = analyse_run(run, shift=shift, family=family, ur_target=target_t)
                out.append((res.suggested_lr, meta["lr_best"]))
            shift = _offsets_for(run.optimizer_family, pooled_t, per_t)
            for d in BELOW_UR_SCAN:
                res = analyse_run(run, shift=shift, ur_target=target_t, min_below_ur=d)
                scan_loto[d].append((res.suggested_lr, meta["lr_best"]))

    def line(name, pairs):
        return (name, *score(pairs), *score([p for p in pairs if p[0] is not None])[:1])

    lines = [line(f"{m} (default)" if m == DEFAULT_METHOD else m, results[m]) for m in METHODS]
    lines.insert(1, line("landmarks, leave-one-task-out", loto))
    lines.insert(2, line("landmarks told the optimizer (--optimizer)", told))
    lines.insert(3, line("landmarks told the optimizer, leave-one-task-out", loto_told))
    edge_only = [
        (_landmarks_lr(c, {"edge": LANDMARK_SHIFT["edge"]}), meta["lr_best"]) for meta, c in rows
    ]
    lines.append(line("edge x 10^shipped shift alone", edge_only))
    lines += [line(name, p) for name, p in peers.items()]
    n = len(rows)
    print(f"lr-find: {n} range tests of {corpus} vs the sweep's lr_best\n")
    print(
        "| method | within 3x (of all) | median abs log10 error | no answer "
        "| within 3x (of answered) |\n|---|---|---|---|---|"
    )
    for row in lines:
        print("| " + " | ".join(row) + " |")
    print()
    print_ur_alone(fired, {d: (scan_all[d], scan_loto[d]) for d in BELOW_UR_SCAN})
    ceiling(rows, [s for s, _ in results["landmarks"]])
    loto_by_row = [s for _, (s, _) in sorted(zip(order, loto, strict=True), key=lambda t: t[0])]
    others = {"leave-one-task-out": loto_by_row}
    others |= {name: [s for s, _ in pairs] for name, pairs in peers.items()}
    misses_on_the_bottom(corpus, rows, [s for s, _ in results["landmarks"]], others)
    by_length(rows, [s for s, _ in results["landmarks"]], loto_by_row)
    budget_trend(corpus, rows, loto_by_row)
    budget_within_sweeps(corpus, rows, [s for s, _ in results["landmarks"]])
    print(
        "\nconfidence calibration (default method):\n\n| confidence | tests | within 3x |"
        "\n|---|---|---|"
    )
    for level in ("high", "medium", "low"):
        hits = calib.get(level, [])
        share = f"{sum(hits) / len(hits):.0%}" if hits else "-"
        print(f"| {level} | {len(hits)} | {share} |")
    print("\nby note (a test counts under every note it has):\n")
    print("| note | tests | within 3x |\n|---|---|---|")
    for note, hits in sorted(by_note.items(), key=lambda kv: -len(kv[1])):
        print(f"| {note} | {len(hits)} | {sum(hits) / len(hits):.0%} |")


def devcorpus_compare(corpus: Path) -> None:
    """compare on every (task, optimizer) sweep of the corpus vs its labelled lr_best."""
    planned = engine.plan(catalogue.load_builtin())
    sweeps: dict[tuple[str, str], list] = {}
    for meta, run in _devcorpus_runs(corpus, lambda r: r["family"] == "sweep"):
        report = engine.check_run(run, planned)
        sweeps.setdefault((meta["task"], meta["optimizer"]), []).append(
            (meta, summarise(run, report, meta["lr"]))
        )
    keys = ("best_lr", "interpolated_lr", "stable_edge_lr", "suggested_lr")
    vs_train: dict[str, list] = {k: [] for k in keys}
    vs_val: dict[str, list] = {k: [] for k in keys}
    metrics = []
    for cells in sweeps.values():
        result = compare_runs([s for _, s in cells])
        metrics.append(result.metric)
        for key in keys:
            vs_train[key].append((getattr(result, key, None), cells[0][0]["lr_best"]))
            vs_val[key].append((getattr(result, key, None), cells[0][0]["lr_best_val"]))
    print(
        f"\ncompare: {len(sweeps)} sweeps of {corpus} (13 constant LRs each); metric used: "
        f"{dict(Counter(metrics))}\n"
    )
    print(
        "| output | within 3x of lr_best | median abs log10 error | no answer "
        "| within 3x of lr_best_val |\n|---|---|---|---|---|"
    )
    for key in keys:
        print("| " + " | ".join((key, *score(vs_train[key]), score(vs_val[key])[0])) + " |")
    print(
        "\ngrid best against the interpolated optimum (the parabola through the best point and "
        "its neighbours in log LR), vs lr_best, by task:\n\n"
        "| task | sweeps | best_lr within 3x | within 2x | interpolated_lr within 3x "
        "| within 2x |\n|---|---|---|---|---|---|"
    )
    for task in [*sorted({t for t, _ in sweeps}), None]:
        sel = [i for i, (t, _) in enumerate(sweeps) if task in (None, t)]
        cells = [
            within([vs_train[key][i] for i in sel], factor)
            for key in ("best_lr", "interpolated_lr")
            for factor in (3, 2)
        ]
        print(f"| {task or 'all'} | {len(sel)} | " + " | ".join(cells) + " |")


def table(title: str, header: str, rows: list[tuple]) -> str:
    lines = [f"| {title} | within 3x | median abs log10 error | no answer |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return header + "\n\n" + "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--devcorpus",
        type=Path,
        default=None,
        help="score on a development corpus (labels.json + score.py) instead",
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument(
        "--sweep-dir",
        type=Path,
        default=None,
        help="folder of sweep logs with index.csv (default: run them in a temp dir)",
    )
    ap.add_argument(
        "--write-docs",
        action="store_true",
        help="also write what is printed into its block of docs/lr-numbers.md",
    )
    args = ap.parse_args()
    if not args.write_docs:
        measure(args)
        return
    sys.path.insert(0, str(Path(__file__).parent))
    import measured

    with measured.tee() as printed:
        measure(args)
    name, command = "lrfind-trainer", "python benchmarks/measure_lrfind.py"
    if args.devcorpus:
        name, command = "lrfind-devcorpus", command + " --devcorpus ../shared/devcorpus"
    elif args.seeds != 5:
        command += f" --seeds {args.seeds}"
    body = printed.getvalue().rstrip()
    body = body[: body.rfind("\n(")] if body.endswith(" s)") else body  # not the timing
    if args.devcorpus:  # the corpus as the command above names it, not this machine's path
        for where in {str(args.devcorpus.resolve()), str(args.devcorpus)}:
            body = body.replace(f" of {where} ", " of ../shared/devcorpus ")
    measured.write(measured.ROOT / "docs/lr-numbers.md", name, body, command, markdown=True)


def measure(args) -> None:
    start = time.perf_counter()
    if args.devcorpus:
        devcorpus_lrfind(args.devcorpus)
        devcorpus_compare(args.devcorpus)
        print(f"\n({time.perf_counter() - start:.0f} s)")
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sweep_dir = args.sweep_dir or tmp / "sweeps"
        rows = sweep_index(sweep_dir)
        best = best_lrs(rows)
        n = len(SWEEP_PAIRS) * args.seeds
        print(
            table(
                "method",
                f"lr-find: {n} range tests ({len(SWEEP_PAIRS)} pairs x "
                f"{args.seeds} seeds, {RANGE_STEPS} steps each) vs the sweep's best LR",
                measure_lrfind(best, args.seeds, tmp),
            )
        )
        print()
        print(
            table(
                "output",
                f"compare: {2 * len(best)} one-decade sub-grids of the "
                "half-decade sweeps vs the full sweep's best LR",
                measure_compare(rows, sweep_dir),
            )
        )
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
