"""What `lrdoctor.Monitor` costs inside a training loop: a small torch MLP with and without it.

    python benchmarks/monitor_overhead.py [--steps 20000] [--reps 3]

Both loops train the same model on the same batches (one thread, CPU); the monitored loop also
calls `monitor.update(step=..., loss=..., lr=..., grad_norm=...)` each step. Prints the step
time, the µs per update (the difference, and the update alone timed on recorded values), the
overhead in %, and the Monitor's peak Python memory (tracemalloc) over a 100,000-step feed.
Needs torch (`pip install torch`); the medians of `--reps` runs are printed.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def train(steps: int, monitor=None, seed: int = 0) -> tuple[float, list[tuple]]:
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(32, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(4096, 32), torch.randint(0, 10, (4096,))
    rows = []
    start = time.perf_counter()
    for step in range(steps):
        i = (step * 64) % 4032
        loss = torch.nn.functional.cross_entropy(model(x[i : i + 64]), y[i : i + 64])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1e9))
        opt.step()
        value, lr = float(loss.detach()), opt.param_groups[0]["lr"]
        if monitor is not None:
            monitor.update(step=step, loss=value, lr=lr, grad_norm=grad)
        else:
            rows.append((step, value, lr, grad))
    return time.perf_counter() - start, rows


def updates_alone(rows: list[tuple], budget: float | None, step_s: float) -> float:
    """Seconds the Monitor takes for these recorded rows, evaluations included; with a budget
    each update is spaced by the step time measured without the Monitor (the loop it sits in)."""
    from lrdoctor import Monitor

    monitor = Monitor(optimizer="adamw", budget=budget)
    spent = 0.0
    for step, loss, lr, grad in rows:
        start = time.perf_counter()
        monitor.update(step=step, loss=loss, lr=lr, grad_norm=grad)
        spent += time.perf_counter() - start
        if budget is not None:
            _busy(step_s)  # the training step the update shares the loop with
    return spent


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def peak_memory(steps: int) -> tuple[float, float]:
    """(peak MB of the Monitor's allocations over `steps` updates, MB of the raw values)."""
    from lrdoctor import Monitor

    monitor = Monitor(optimizer="adamw")
    tracemalloc.start()
    for step in range(steps):
        monitor.update(step=step, loss=2 * math.exp(-step / 20000) + 0.1, lr=1e-3, grad_norm=1.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, steps * 4 * 8 / 2**20


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--memory-steps", type=int, default=100_000)
    a = ap.parse_args(argv)
    import torch

    from lrdoctor import Monitor

    torch.set_num_threads(1)
    plain, monitored, alone, budgeted = [], [], [], []
    for rep in range(a.reps):
        t, rows = train(a.steps, seed=rep)
        plain.append(t)
        monitored.append(train(a.steps, Monitor(optimizer="adamw"), seed=rep)[0])
        alone.append(updates_alone(rows, None, 0.0))
        budgeted.append(updates_alone(rows, 0.01, t / a.steps))
    base, mon, upd, bud = (statistics.median(v) for v in (plain, monitored, alone, budgeted))
    out = {
        "step_us": 1e6 * base / a.steps,
        "update_us": 1e6 * upd / a.steps,
        "diff_us": 1e6 * (mon - base) / a.steps,
        "overhead": upd / base,
        "budget_us": 1e6 * bud / a.steps,
        "budget_overhead": bud / base,
    }
    peak, raw = peak_memory(a.memory_steps)
    print(
        f"torch {torch.__version__}, 1 thread, MLP 32-64-64-10, batch 64, AdamW; "
        f"{a.steps:,} steps, median of {a.reps}; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"step without Monitor       {out['step_us']:8.1f} µs")
    print(
        f"Monitor.update alone       {out['update_us']:8.1f} µs per update "
        f"(evaluations included) = {100 * out['overhead']:.2f} % of a step"
    )
    print(
        f"Monitor(budget=0.01)       {out['budget_us']:8.1f} µs per update "
        f"= {100 * out['budget_overhead']:.2f} % of a step"
    )
    print(f"with Monitor − without     {out['diff_us']:8.1f} µs per step (noisier)")
    print(
        f"Monitor peak memory        {peak:8.1f} MB over {a.memory_steps:,} updates "
        f"(the 4 signals' raw values: {raw:.1f} MB)"
    )
    out.update(peak_mb=peak, raw_mb=raw)
    return out


if __name__ == "__main__":
    main()
