"""How early does `lrdoctor.Monitor` warn before an LR-caused NaN, and how often falsely?

Trains the reference trainer (lrdoctor.trainer) on
  * diverging configurations: every swept (dataset, optimizer) pair at the LRs one and two
    half-decades above its healthy band in fixtures/sweeps.csv, plus the manifest's
    `diverge_nan` fixtures, each over several seeds;
  * healthy configurations: the manifest's `healthy` fixtures, over the same seeds;
then feeds each log to a fresh Monitor one row at a time, as a training loop would (the monitor
only ever sees logged values, so replaying a finished log is the same as calling it in-loop).

Lead time = first non-finite loss step - step at which the monitor first reported a warning or
error of category lr_too_high (only reports strictly before the NaN count; NF001's cause at the
NaN itself is not a warning). False alarm = a healthy run on which the monitor reported any
warning or error. Run: python benchmarks/measure_early_warning.py [--seeds 0,1,2] [--jobs N]
(--write-docs: also write the tables into docs/monitoring.md's `early-warning` block).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's lrdoctor, not whichever is installed
SWEEPS = ROOT / "fixtures" / "sweeps.csv"
# Monitor settings compared on the same training logs.
VARIANTS = {
    "default (defer whole-run categories, stable until doubled)": {},
    "defer, no confirmation": {"confirm": 0.0},
    "report everything at once": {"defer": (), "confirm": 0.0},
}


def configs(seeds: list[int]) -> list[tuple[str, str, object]]:
    """(kind, label, TrainConfig) for every run to measure."""
    from lrdoctor.trainer.fixtures import fixture_config, load_manifest
    from lrdoctor.trainer.sweep import grid, sweep_base

    out = []
    with open(SWEEPS, newline="") as fh:
        rows = list(csv.DictReader(fh))
    pairs = dict.fromkeys((r["dataset"], r["optimizer"]) for r in rows)
    for dataset, optimizer in pairs:
        healthy = [
            float(r["lr"])
            for r in rows
            if (r["dataset"], r["optimizer"]) == (dataset, optimizer) and r["label"] == "healthy"
        ]
        if not healthy:
            continue
        lrs = list(grid(optimizer))
        top = lrs.index(min(lrs, key=lambda x: abs(np.log(x / max(healthy)))))
        for above in (1, 2):
            if top + above < len(lrs):
                lr = lrs[top + above]
                for seed in seeds:
                    cfg = replace(sweep_base(dataset, optimizer), lr=lr, seed=seed)
                    out.append(("diverge", f"{dataset}/{optimizer} lr={lr:g} (+{above})", cfg))
    for fx in load_manifest()["fixture"]:
        if fx["label"] not in ("diverge_nan", "healthy"):
            continue
        kind = "diverge" if fx["label"] == "diverge_nan" else "healthy"
        for seed in seeds:
            out.append((kind, f"{fx['name']}", replace(fixture_config(fx), seed=seed)))
    return out


def measure(item: tuple[str, str, object]) -> dict:
    """Train one config, replay its log into a Monitor, return when it spoke up."""
    from lrdoctor.monitor import Monitor
    from lrdoctor.trainer import train

    kind, label, cfg = item
    log = train(cfg)
    loss = np.asarray(log["loss"], float)
    bad = np.flatnonzero(~np.isfinite(loss))
    nan_step = int(log["step"][bad[0]]) if len(bad) else None
    names = [n for n in log if n != "step"]
    rows = []
    for i, step in enumerate(np.asarray(log["step"])):
        row = {}
        for n in names:
            col = log[n]
            masked = np.ma.is_masked(col[i]) if isinstance(col, np.ma.MaskedArray) else False
            row[n] = None if masked else float(col[i])
        rows.append((int(step), row))
    out = {"kind": kind, "label": label, "seed": cfg.seed, "steps": len(loss), "nan_step": nan_step}
    for variant, kwargs in VARIANTS.items():
        monitor = Monitor(optimizer=log.meta.get("optimizer"), **kwargs)
        out[variant] = replay(monitor, rows, nan_step)
    return out


def replay(monitor, rows, nan_step) -> dict:
    first_lr_warning = first_alarm = None
    alarms = set()
    for step, row in rows:
        for f in monitor.update(step=step, **row):
            if f.rank < 2:
                continue
            alarms.add(f.rule)
            first_alarm = int(step) if first_alarm is None else first_alarm
            before_nan = nan_step is None or step < nan_step
            if f.category == "lr_too_high" and before_nan and first_lr_warning is None:
                first_lr_warning = int(step)
    return {"lr_warning": first_lr_warning, "first_alarm": first_alarm, "alarms": sorted(alarms)}


def summarise(results: list[dict], variant: str) -> str:
    results = [{**r, **r[variant]} for r in results]
    diverged = [r for r in results if r["kind"] == "diverge" and r["nan_step"] is not None]
    no_nan = [r for r in results if r["kind"] == "diverge" and r["nan_step"] is None]
    healthy = [r for r in results if r["kind"] == "healthy"]
    warned = [r for r in diverged if r["lr_warning"] is not None]
    leads = np.array([r["nan_step"] - r["lr_warning"] for r in warned], float)
    frac = np.array([(r["nan_step"] - r["lr_warning"]) / max(r["nan_step"], 1) for r in warned])
    false = [r for r in healthy if r["alarms"]]
    lines = [
        "| measure | value |",
        "|---|---|",
        f"| diverging configs that reached a NaN | {len(diverged)} "
        f"(+{len(no_nan)} high-LR runs that stayed finite, not counted) |",
        f"| warned (lr_too_high, warning/error) before the NaN | {len(warned)}/{len(diverged)} "
        f"({100 * len(warned) / max(len(diverged), 1):.0f} %) |",
    ]
    if len(leads):
        lines += [
            f"| lead time, steps: median [min–max] | {np.median(leads):.0f} "
            f"[{leads.min():.0f}–{leads.max():.0f}] |",
            f"| lead as a fraction of the steps before the NaN: median | "
            f"{100 * np.median(frac):.0f} % |",
            f"| NaN step of the diverging runs: median [min–max] | "
            f"{np.median([r['nan_step'] for r in diverged]):.0f} "
            f"[{min(r['nan_step'] for r in diverged)}–{max(r['nan_step'] for r in diverged)}] |",
        ]
    lines.append(
        f"| healthy runs with a false alarm (any warning/error) | {len(false)}/"
        f"{len(healthy)} ({100 * len(false) / max(len(healthy), 1):.0f} %) |"
    )
    rules: dict[str, int] = {}
    for r in false:
        for rule in r["alarms"]:
            rules[rule] = rules.get(rule, 0) + 1
    if rules:
        lines.append(
            "| false alarms by rule (runs) | "
            + ", ".join(f"{k} {v}" for k, v in sorted(rules.items()))
            + " |"
        )
    missed = sorted({r["label"] for r in diverged if r["lr_warning"] is None})
    if missed:
        lines.append(f"| no warning before the NaN | {'; '.join(missed)} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--details", action="store_true", help="print every run")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="also write the tables into the 'early-warning' block of docs/monitoring.md",
    )
    args = parser.parse_args(argv)
    items = configs([int(s) for s in args.seeds.split(",")])
    start = time.monotonic()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(measure, items, chunksize=1))
    wall = time.monotonic() - start
    if args.details:
        for r in results:
            print(r)
    tables = "\n\n".join(f"{variant}:\n\n{summarise(results, variant)}" for variant in VARIANTS)
    tables = (
        f"{len(items)} training runs, each replayed under the {len(VARIANTS)} settings: "
        f"{wall / 60:.1f} min wall time with --jobs {args.jobs}.\n\n{tables}"
    )
    print(tables)
    if args.write_docs:
        sys.path.insert(0, str(Path(__file__).parent))
        import measured

        command = "python benchmarks/measure_early_warning.py"
        if args.seeds != "0,1,2":
            command += f" --seeds {args.seeds}"
        page = ROOT / "docs/monitoring.md"
        measured.write(page, "early-warning", tables, command, markdown=True)


if __name__ == "__main__":
    main()
