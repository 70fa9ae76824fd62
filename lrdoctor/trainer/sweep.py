"""LR sweeps that ground the fixture labels: final loss vs LR per (dataset, optimizer)."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np

from lrdoctor.trainer.loop import TrainConfig, train

# Half-decade grid; it reaches LRs that diverge for every optimizer swept.
LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
ADADELTA_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)

# Labelling rule (see docs/trainer.md): an LR is "healthy" when its run did not diverge, its
# final loss is within HEALTHY_FACTOR of the best final loss (plus HEALTHY_SLACK, so that
# near-zero best losses do not make the band vanish), and it is within one decade of best_lr.
HEALTHY_FACTOR = 1.25
HEALTHY_SLACK = 0.02
HEALTHY_DECADES = 1.0

_DATASET_BASES = {
    "spirals": {},
    "blobs": {"depth": 1, "width": 32, "batch_size": 32, "steps": 1500, "seed": 1},
    "regression": {"depth": 3, "width": 32, "activation": "tanh", "batch_size": 128, "seed": 2},
}
SWEEP_PAIRS = (
    [
        ("spirals", o)
        for o in ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam")
    ]
    + [("blobs", o) for o in ("sgd", "momentum", "adam")]
    + [("regression", o) for o in ("sgd", "rmsprop", "adam")]
)
COLUMNS = (
    "dataset",
    "optimizer",
    "lr",
    "final_loss",
    "best_loss",
    "final_val_loss",
    "diverged",
    "best_lr",
    "label",
)


def sweep_base(dataset: str, optimizer: str) -> TrainConfig:
    """The config every LR of the (dataset, optimizer) sweep shares (lr aside)."""
    return TrainConfig(dataset=dataset, optimizer=optimizer, **_DATASET_BASES[dataset])


def grid(optimizer: str) -> tuple[float, ...]:
    return ADADELTA_GRID if optimizer == "adadelta" else LR_GRID


def summarise(log: dict) -> dict:
    """Robust end-of-run numbers: median of the last 10 % of batch losses, best, last val."""
    loss = log["loss"]
    diverged = not np.isfinite(loss).all()
    tail = loss[-max(len(loss) // 10, 1) :]
    val = log["val_loss"].compressed() if "val_loss" in log else np.array([np.nan])
    return {
        "final_loss": np.inf if diverged else float(np.median(tail)),
        "best_loss": float(np.nanmin(np.where(np.isfinite(loss), loss, np.nan))),
        "final_val_loss": float(val[-1]) if len(val) else np.nan,
        "diverged": diverged,
    }


def label_sweep(lrs, final_losses, diverged) -> tuple[list[str], float]:
    """Label each LR of one sweep healthy / too_low / too_high from the measured U curve."""
    final = np.where(diverged, np.inf, final_losses)
    best = int(np.argmin(final))
    best_lr, best_loss = lrs[best], final[best]
    labels = []
    for lr, loss, div in zip(lrs, final, diverged, strict=True):
        ok = (
            not div
            and loss <= HEALTHY_FACTOR * best_loss + HEALTHY_SLACK
            and abs(np.log10(lr / best_lr)) <= HEALTHY_DECADES + 1e-9
        )
        labels.append("healthy" if ok else "too_high" if div or lr > best_lr else "too_low")
    return labels, best_lr


def run_sweep(pairs=SWEEP_PAIRS, out_dir: str | Path | None = None) -> list[dict]:
    """Run every (dataset, optimizer, lr) cell; optionally write each log to `out_dir`."""
    from lrdoctor.trainer.logfile import write_log

    rows = []
    for dataset, optimizer in pairs:
        base, lrs = sweep_base(dataset, optimizer), grid(optimizer)
        cells = []
        for lr in lrs:
            log = train(replace(base, lr=lr))
            if out_dir is not None:
                write_log(log, Path(out_dir) / f"{dataset}_{optimizer}_lr{lr:g}.parquet")
            cells.append({"dataset": dataset, "optimizer": optimizer, "lr": lr, **summarise(log)})
        labels, best_lr = label_sweep(
            lrs, [c["final_loss"] for c in cells], [c["diverged"] for c in cells]
        )
        for cell, label in zip(cells, labels, strict=True):
            rows.append({**cell, "best_lr": best_lr, "label": label})
    return rows


def write_summary(rows: list[dict], path: str | Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]) for k in COLUMNS})


def read_summary(path: str | Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def generate_sweep_runs(out_dir: str | Path, pairs=SWEEP_PAIRS) -> Path:
    """Write every sweep log (one parquet per run) and an index.csv with the labels."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = run_sweep(pairs, out_dir)
    for r in rows:
        r["file"] = f"{r['dataset']}_{r['optimizer']}_lr{r['lr']:g}.parquet"
    index = out_dir / "index.csv"
    with open(index, "w", newline="") as f:
        w = csv.DictWriter(f, (*COLUMNS, "file"))
        w.writeheader()
        w.writerows(rows)
    return index


def main(argv: list[str] | None = None) -> None:
    """`python -m lrdoctor.trainer.sweep [OUT] [--logs DIR]`: run every sweep, write the summary."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m lrdoctor.trainer.sweep",
        description=__doc__.splitlines()[0],
        epilog="example: python -m lrdoctor.trainer.sweep /tmp/sweeps.csv --logs /tmp/sweep-logs",
    )
    parser.add_argument(
        "out",
        nargs="?",
        type=Path,
        default=Path("fixtures/sweeps.csv"),
        help="summary CSV to write (default: fixtures/sweeps.csv)",
    )
    parser.add_argument("--logs", type=Path, default=None, help="also write each run's log here")
    args = parser.parse_args(argv)
    write_summary(run_sweep(out_dir=args.logs), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
