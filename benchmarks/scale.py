"""Throughput of one check over many small logs: --jobs 2 against --executor dask / ray.

    python benchmarks/scale.py                 # 10,000 logs of 300 steps (several minutes)
    python benchmarks/scale.py --logs 1000     # a quick look
    python benchmarks/scale.py --write-docs    # also write docs/scale.md's block `scale`

Each configuration is one `lrdoctor check DIR --format json -o FILE` subprocess over the same
folder (generated into a temporary folder, deleted after); the wall time includes start-up,
listing, the cluster's start-up (a local one: 2 workers) and writing the report. The reports
must be identical across configurations, else the script fails. The 1-minute load average is
printed before and after each run: this machine is shared, so the figures move with it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = {
    "--jobs 2": ["--jobs", "2"],
    "--executor dask --jobs 2": ["--executor", "dask", "--jobs", "2"],
    "--executor ray --jobs 2": ["--executor", "ray", "--jobs", "2"],
}


def write_logs(folder: Path, n: int, steps: int) -> None:
    """Small CSV logs, a mix of healthy, diverging and plateauing runs (numpy only)."""
    import numpy as np

    rng = np.random.default_rng(0)
    t = np.arange(steps)
    for i in range(n):
        kind = i % 3
        loss = np.exp(-t / (50 + i % 40)) + 0.1 + 0.02 * rng.standard_normal(steps)
        if kind == 1:
            loss[steps // 2 :] *= np.exp(np.arange(steps - steps // 2) / 20)
        elif kind == 2:
            loss = np.maximum(loss, 0.6)
        lr = 10 ** rng.uniform(-4, -1)
        lines = ["step,loss,lr"] + [f"{s},{v:.6g},{lr:.3g}" for s, v in zip(t, loss, strict=True)]
        (folder / f"run{i:05d}.csv").write_text("\n".join(lines) + "\n")


def load() -> float:
    return os.getloadavg()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--only", choices=list(CONFIGS), action="append")
    parser.add_argument(
        "--write-docs", action="store_true", help="also write what is printed into docs/scale.md"
    )
    args = parser.parse_args()
    if not args.write_docs:
        return measure(args)
    sys.path.insert(0, str(Path(__file__).parent))
    import measured

    with measured.tee() as printed:
        code = measure(args)
    if code == 0:
        command = "python benchmarks/scale.py" + (
            f" --logs {args.logs}" if args.logs != 10_000 else ""
        )
        measured.write(measured.ROOT / "docs/scale.md", "scale", printed.getvalue(), command)
    return code


def measure(args) -> int:
    with tempfile.TemporaryDirectory(prefix="lrdoctor-scale-") as tmp:
        folder = Path(tmp) / "logs"
        folder.mkdir()
        write_logs(folder, args.logs, args.steps)
        print(f"{args.logs:,} logs of {args.steps} steps, {os.cpu_count()} cores (shared)")
        digests = {}
        for name in args.only or CONFIGS:
            out = Path(tmp) / "report.json"
            before = load()
            start = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "lrdoctor", "check", str(folder), "--format", "json",
                 "-o", str(out), *CONFIGS[name]],
                capture_output=True, text=True,
            )  # fmt: skip
            wall = time.monotonic() - start
            if done.returncode not in (0, 1):
                print(f"{name}: exit {done.returncode}: {done.stderr[-500:]}")
                return 2
            report = json.loads(out.read_text())
            digests[name] = hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()
            print(
                f"{name:28s} {wall:7.1f} s  {args.logs / wall:7.1f} logs/s  "
                f"runs {len(report['runs']):,}  load {before:.1f} -> {load():.1f}"
            )
        if len(set(digests.values())) != 1:
            print("the reports differ between configurations")
            return 1
        print("reports identical across configurations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
