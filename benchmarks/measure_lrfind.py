"""Measure `lr-find` and `compare` against the reference trainer's LR sweeps.

lr-find: for every (dataset, optimizer) pair the trainer sweeps, run LR range tests with several
seeds through the normal read -> build_run path, and compare each method's suggestion with the
best LR of the sweep (fixtures/sweeps.csv, or sweeps run here). compare: apply it to the
one-decade sub-grids of each half-decade sweep (two per pair) and compare its best and
suggested LR with the best LR of the full sweep.

    python benchmarks/measure_lrfind.py [--seeds 5] [--sweep-dir DIR] [--markdown]
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from lrdoctor import catalogue, engine
from lrdoctor.compare import compare_runs, summarise
from lrdoctor.lrfind import METHODS, analyse_run
from lrdoctor.readers import read_path
from lrdoctor.run import build_run
from lrdoctor.trainer import train, write_log
from lrdoctor.trainer.sweep import SWEEP_PAIRS, generate_sweep_runs, sweep_base

RANGE_STEPS = 300


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
    return replace(sweep_base(dataset, optimizer), range_test=True, steps=RANGE_STEPS,
                   range_start=top * 1e-7, range_end=top, eval_every=0, seed=seed)


def score(pairs: list[tuple[float | None, float]]) -> tuple[str, str, str]:
    """(fraction within 3x, median |log10 ratio|, how many gave no answer)."""
    errs = [abs(math.log10(s / b)) for s, b in pairs if s is not None]
    none = sum(s is None for s, _ in pairs)
    within = sum(e <= math.log10(3) + 1e-9 for e in errs) / len(pairs)
    med = statistics.median(errs) if errs else float("nan")
    return f"{within:.0%}", f"{med:.2f}", str(none)


def measure_lrfind(best: dict, seeds: int, tmp: Path) -> list[tuple]:
    results: dict[str, list] = {m: [] for m in METHODS}
    for dataset, optimizer in SWEEP_PAIRS:
        for seed in range(seeds):
            path = tmp / f"rt_{dataset}_{optimizer}_{seed}.parquet"
            write_log(train(range_config(dataset, optimizer, seed)), path)
            run = load_run(path)
            for m in METHODS:
                r = analyse_run(run, method=m)
                results[m].append((r.raw_lr, best[dataset, optimizer]))
    return [(m, *score(results[m])) for m in METHODS]


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
            result = compare_runs([summarise(run, rep) for run, rep in
                                   zip(runs, report.runs, strict=True)])
            best_pairs.append((result.best_lr, truth))
            capped += any("capped" in n for n in result.notes)
            suggested_pairs.append((result.suggested_lr, truth))
    print(f"(the suggestion was capped at the stable edge in {capped} of {len(best_pairs)})")
    return [("best_lr", *score(best_pairs)), ("suggested_lr", *score(suggested_pairs))]


def table(title: str, header: str, rows: list[tuple]) -> str:
    lines = [f"| {title} | within 3x | median abs log10 error | no answer |",
             "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return header + "\n\n" + "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--sweep-dir", type=Path, default=None,
                    help="folder of sweep logs with index.csv (default: run them in a temp dir)")
    args = ap.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sweep_dir = args.sweep_dir or tmp / "sweeps"
        rows = sweep_index(sweep_dir)
        best = best_lrs(rows)
        n = len(SWEEP_PAIRS) * args.seeds
        print(table("method", f"lr-find: {n} range tests ({len(SWEEP_PAIRS)} pairs x "
                    f"{args.seeds} seeds, {RANGE_STEPS} steps each) vs the sweep's best LR",
                    measure_lrfind(best, args.seeds, tmp)))
        print()
        print(table("output", f"compare: {2 * len(best)} one-decade sub-grids of the "
                    "half-decade sweeps vs the full sweep's best LR",
                    measure_compare(rows, sweep_dir)))
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
