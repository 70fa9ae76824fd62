"""Out-of-distribution check of the rules: LR sweeps of small PyTorch models, labelled, linted.

    python benchmarks/torch_ood.py [--out DIR] [--quick] [--reuse] [--write-docs]

Five setups unlike the numpy trainer (BatchNorm/Dropout MLP, CNN on synthetic images,
character LSTM language model, Huber/MSE regression, a deep unnormalised tanh MLP), each swept
over a half-decade LR grid with two PyTorch optimizers and their schedulers / gradient
clipping. Each sweep is labelled with `lrdoctor.trainer.sweep.label_sweep`; every run is
checked as logged (Parquet, or CSV with framework-style names for the language model), again
without the optimizer's name, and with only step, loss and lr.
Needs torch (not a test dependency). Runs on one thread.
"""

from __future__ import annotations

import argparse
import csv
import math
import platform
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = {"too_high": {"lr_too_high", "non_finite"}, "too_low": {"lr_too_low"}}
ALARM = ("warning", "error")
VAL_EVERY = 50
AFTER_NONFINITE = 5

ADAM_GRID = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)
SGD_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
ADAGRAD_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
# Clipping (and RMSprop on the LSTM) keeps 0.1 healthy, so these grids reach higher.
WIDE_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0)


# ---------------------------------------------------------------- data and models (torch)


def tabular_task(seed: int):
    """20 features, 4 classes from a random tanh teacher, 10 % of labels flipped."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(5000, 20, generator=g)
    w1, w2 = torch.randn(20, 32, generator=g), torch.randn(32, 4, generator=g)
    y = (torch.tanh(x @ w1) @ w2).argmax(1)
    flip = torch.rand(5000, generator=g) < 0.1
    y[flip] = torch.randint(0, 4, (int(flip.sum()),), generator=g)
    model = torch.nn.Sequential(
        torch.nn.Linear(20, 64),
        torch.nn.BatchNorm1d(64),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.1),
        torch.nn.Linear(64, 64),
        torch.nn.BatchNorm1d(64),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.1),
        torch.nn.Linear(64, 4),
    )
    return (x[:4000], y[:4000]), (x[4000:], y[4000:]), model, torch.nn.functional.cross_entropy


def bars_task(seed: int):
    """16x16 images of a bar at one of 4 orientations, random offset, width and noise."""
    import torch

    g = torch.Generator().manual_seed(seed)
    n = 3000
    cls = torch.randint(0, 4, (n,), generator=g)
    theta = cls.float() * math.pi / 4 + 0.15 * torch.randn(n, generator=g)
    off = 3 * torch.randn(n, 1, 1, generator=g)
    width = 1.0 + 0.5 * torch.rand(n, 1, 1, generator=g)
    r = torch.arange(16.0) - 7.5
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    dist = xx * torch.sin(theta)[:, None, None] - yy * torch.cos(theta)[:, None, None] - off
    img = torch.exp(-((dist / width) ** 2)) + 0.4 * torch.randn(n, 16, 16, generator=g)
    img = img.unsqueeze(1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 4),
    )
    return (
        (img[:2500], cls[:2500]),
        (img[2500:], cls[2500:]),
        model,
        torch.nn.functional.cross_entropy,
    )


class CharLSTM:
    """Embedding → 1-layer LSTM → vocabulary logits (built lazily so torch stays optional)."""

    @staticmethod
    def build(vocab: int):
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = torch.nn.Embedding(vocab, 24)
                self.rnn = torch.nn.LSTM(24, 48, batch_first=True)
                self.out = torch.nn.Linear(48, vocab)

            def forward(self, x):
                return self.out(self.rnn(self.emb(x))[0])

        return Net()


def markov_text_task(seed: int, vocab: int = 40, seq: int = 24):
    """A string from a sparse random Markov chain over 40 symbols; windows of 24 next-symbol
    targets. Initial loss ≈ ln 40 = 3.69."""
    import bisect
    import random

    import torch

    torch.manual_seed(seed)  # the Dirichlet draw takes no generator
    probs = torch.distributions.Dirichlet(torch.full((vocab,), 0.08)).sample((vocab,))
    cdf = probs.cumsum(1).tolist()
    rng = random.Random(seed)
    n = 60_000
    seq_ids = [0]
    for _ in range(n - 1):
        seq_ids.append(min(bisect.bisect_left(cdf[seq_ids[-1]], rng.random()), vocab - 1))
    text = torch.tensor(seq_ids)
    starts = torch.arange(0, n - seq - 1, seq)
    x = torch.stack([text[s : s + seq] for s in starts])
    y = torch.stack([text[s + 1 : s + seq + 1] for s in starts])
    cut = int(0.9 * len(x))

    def loss_fn(logits, target):
        return torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), target.reshape(-1))

    return (x[:cut], y[:cut]), (x[cut:], y[cut:]), CharLSTM.build(vocab), loss_fn


def regression_task(seed: int, huber: bool):
    """8 → 1 smooth target plus heavy-tailed noise; unnormalised inputs (scale 1..5)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4000, 8, generator=g) * torch.linspace(1, 5, 8)
    t = torch.sin(x[:, :1]) + 0.1 * x[:, 1:2] * x[:, 2:3] + 0.3 * x[:, 3:4]
    t = t + 0.2 * torch.distributions.StudentT(3.0).sample((4000, 1))
    model = torch.nn.Sequential(
        torch.nn.Linear(8, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 1),
    )
    loss = torch.nn.functional.huber_loss if huber else torch.nn.functional.mse_loss
    return (x[:3200], t[:3200]), (x[3200:], t[3200:]), model, loss


def deep_task(seed: int):
    """16 features, 3 classes from a linear-plus-sine teacher; an 8-layer tanh MLP (64 wide)
    with no normalisation, whose weights stay large next to each step."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4000, 16, generator=g)
    w = torch.randn(16, 3, generator=g)
    y = (x @ w + 0.5 * torch.sin(3 * x[:, :3])).argmax(1)
    layers, width = [], 16
    for _ in range(8):
        layers += [torch.nn.Linear(width, 64), torch.nn.Tanh()]
        width = 64
    model = torch.nn.Sequential(*layers, torch.nn.Linear(64, 3))
    return (x[:3200], y[:3200]), (x[3200:], y[3200:]), model, torch.nn.functional.cross_entropy


# ---------------------------------------------------------------- sweep configuration


@dataclass(frozen=True)
class Sweep:
    setup: str
    task: str
    optimizer: str
    grid: tuple[float, ...]
    steps: int
    batch: int
    schedule: str = "constant"
    clip: float | None = None
    csv: bool = False
    kwargs: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.setup}_{self.optimizer}"


SWEEPS = (
    Sweep("tabular", "tabular", "sgd_momentum", SGD_GRID, 1500, 64),
    Sweep("tabular", "tabular", "adam", ADAM_GRID, 1500, 64),
    Sweep("cnn", "bars", "sgd_momentum", SGD_GRID, 1000, 32, schedule="onecycle"),
    Sweep("cnn", "bars", "adamw", WIDE_GRID, 1000, 32, schedule="warmup_cosine", clip=1.0),
    Sweep(
        "charlm",
        "markov",
        "adam",
        WIDE_GRID,
        1200,
        16,
        schedule="warmup_cosine",
        clip=1.0,
        csv=True,
    ),
    Sweep("charlm", "markov", "rmsprop", WIDE_GRID, 1200, 16, schedule="step", csv=True),
    Sweep("regression", "mse", "sgd", SGD_GRID, 2000, 64, schedule="step"),
    Sweep("regression", "huber", "adagrad", ADAGRAD_GRID, 2000, 64),
    Sweep("deep", "deep", "adam", ADAM_GRID, 800, 64),
    Sweep("deep", "deep", "adagrad", ADAGRAD_GRID, 800, 64),
)
TASKS = {
    "tabular": lambda s: tabular_task(s),
    "bars": lambda s: bars_task(s),
    "markov": lambda s: markov_text_task(s),
    "mse": lambda s: regression_task(s, huber=False),
    "huber": lambda s: regression_task(s, huber=True),
    "deep": lambda s: deep_task(s),
}


def make_optimizer(name: str, params, lr: float):
    import torch

    if name == "sgd_momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    raise ValueError(name)


def make_schedule(name: str, opt, lr: float, steps: int):
    import torch

    if name == "constant":
        return None
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=steps // 3, gamma=0.3)
    if name == "warmup_cosine":
        warm = steps // 20

        def factor(i: int) -> float:
            if i < warm:
                return (i + 1) / warm
            return 0.5 * (1 + math.cos(math.pi * (i - warm) / max(steps - warm, 1)))

        return torch.optim.lr_scheduler.LambdaLR(opt, factor)
    raise ValueError(name)


# ---------------------------------------------------------------- training one run


def train_one(sweep: Sweep, lr: float, seed: int, task) -> dict[str, list]:
    """Train one LR; log step, loss, lr, pre-clip grad_norm, update_ratio, val_loss (or None)."""
    import torch
    from torch.nn.utils import parameters_to_vector

    (xtr, ytr), (xva, yva), model, loss_fn = task
    torch.manual_seed(seed)
    for m in model.modules():  # fresh init per LR from the same seed
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(sweep.optimizer, params, lr)
    sched = make_schedule(sweep.schedule, opt, lr, sweep.steps)
    g = torch.Generator().manual_seed(seed + 1)
    log = {k: [] for k in ("step", "loss", "lr", "grad_norm", "update_ratio", "val_loss")}
    bad_since = None
    for step in range(sweep.steps):
        model.train()
        idx = torch.randint(0, len(xtr), (sweep.batch,), generator=g)
        xb, yb = xtr[idx], ytr[idx]
        if sweep.task == "bars":  # augmentation: fresh pixel noise and a random shift
            xb = torch.roll(
                xb + 0.1 * torch.randn(xb.shape, generator=g),
                shifts=int(torch.randint(-1, 2, (1,), generator=g)),
                dims=3,
            )
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        cur_lr = opt.param_groups[0]["lr"]
        if sweep.clip is not None:
            gn = float(torch.nn.utils.clip_grad_norm_(params, sweep.clip))
        else:
            grads = [p.grad for p in params if p.grad is not None]
            gn = float(torch.nn.utils.get_total_norm(grads))
        before = parameters_to_vector(params).detach().clone()
        opt.step()
        after = parameters_to_vector(params).detach()
        wn = float(before.norm())
        ur = float((after - before).norm()) / wn if wn > 0 else math.nan
        if sched is not None:
            sched.step()
        val = None
        if step % VAL_EVERY == VAL_EVERY - 1 or step == sweep.steps - 1:
            model.eval()
            with torch.no_grad():
                val = float(loss_fn(model(xva), yva))
        lv = loss.item()
        for k, v in zip(log, (step, lv, cur_lr, gn, ur, val), strict=True):
            log[k].append(v)
        if not math.isfinite(lv) and bad_since is None:
            bad_since = step
        if bad_since is not None and step - bad_since >= AFTER_NONFINITE:
            break
    return log


def summarise(loss: list[float]) -> tuple[float, bool]:
    """Final loss as the sweep labelling rule defines it (median of the last 10 %)."""
    import numpy as np

    arr = np.asarray(loss, dtype=float)
    if not np.isfinite(arr).all():
        return math.inf, True
    return float(np.median(arr[-max(len(arr) // 10, 1) :])), False


def write_run(log: dict, path: Path, sweep: Sweep, bare: bool) -> Path:
    """Parquet (schema metadata names the optimizer) or framework-style CSV."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    keep = ("step", "loss", "lr") if bare else tuple(log)
    if sweep.csv:
        names = {
            "step": "step",
            "loss": "train/loss",
            "lr": "learning_rate",
            "grad_norm": "train/grad_norm",
            "update_ratio": "train/update_ratio",
            "val_loss": "eval/loss",
        }
        path = path.with_name(path.name + ".csv")
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([names[k] for k in keep])
            for row in zip(*(log[k] for k in keep), strict=True):
                w.writerow(["" if v is None else repr(v) for v in row])
        return path
    path = path.with_name(path.name + ".parquet")
    table = pa.table(
        {k: pa.array(log[k], type=pa.int64() if k == "step" else pa.float64()) for k in keep}
    )
    optim = {
        "sgd_momentum": "SGD",
        "sgd": "SGD",
        "adam": "Adam",
        "adamw": "AdamW",
        "rmsprop": "RMSprop",
        "adagrad": "Adagrad",
    }[sweep.optimizer]
    pq.write_table(table.replace_schema_metadata({"optimizer": optim}), path)
    return path


def generate(out: Path, sweeps, quick: bool) -> list[dict]:
    """Train every sweep, label it, write the runs; return the index rows."""
    import torch

    from lrdoctor.trainer.sweep import label_sweep

    torch.set_num_threads(1)
    rows = []
    tasks: dict[str, object] = {}
    for sw in sweeps:
        if quick:
            sw = Sweep(**{**sw.__dict__, "steps": 300, "grid": sw.grid[1::2]})
        torch.manual_seed(0)
        task = tasks.setdefault(sw.task, TASKS[sw.task](0))
        t0 = time.process_time()
        cells = []
        for lr in sw.grid:
            log = train_one(sw, lr, seed=0, task=task)
            final, div = summarise(log["loss"])
            stem = out / f"{sw.name}_lr{lr:g}"
            files = (
                write_run(log, stem, sw, bare=False),
                write_run(log, stem.with_name(stem.name + "_bare"), sw, bare=True),
            )
            cells.append(
                {
                    "setup": sw.setup,
                    "optimizer": sw.optimizer,
                    "schedule": sw.schedule,
                    "clip": sw.clip or "",
                    "lr": lr,
                    "final_loss": final,
                    "diverged": div,
                    "steps": len(log["loss"]),
                    "file": files[0].name,
                    "bare": files[1].name,
                }
            )
        labels, best_lr = label_sweep(
            list(sw.grid), [c["final_loss"] for c in cells], [c["diverged"] for c in cells]
        )
        for c, lab in zip(cells, labels, strict=True):
            rows.append({**c, "label": lab, "best_lr": best_lr})
        curve = " ".join(
            f"{c['lr']:g}:{lab[:4]}:{c['final_loss']:.3g}"
            for c, lab in zip(cells, labels, strict=True)
        )
        print(
            f"[{time.process_time() - t0:5.1f}s cpu] {sw.name:24s} best={best_lr:g}  {curve}",
            flush=True,
        )
    with open(out / "index.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


# ---------------------------------------------------------------- evaluation


def unnamed_copy(full: Path) -> Path:
    """The full log without the optimizer's name (most CSV and TensorBoard logs carry none):
    what the rules conclude from the numbers alone. The CSV logs already name nothing."""
    if full.suffix != ".parquet":
        return full
    import pyarrow.parquet as pq

    path = full.with_name(full.stem + "_unnamed.parquet")
    if not path.exists():
        pq.write_table(pq.read_table(full).replace_schema_metadata(None), path)
    return path


def alarms(rr) -> list:
    return [f for f in rr.findings if f.severity in ALARM]


def describe(findings) -> str:
    return (
        "; ".join(
            f"{f.rule}:{f.severity}"
            + (f"(cause={f.cause})" if f.cause else "")
            + f" {f.message[:150]!r}"
            for f in findings
        )
        or "no findings"
    )


def evaluate(out: Path, rows: list[dict]) -> str:
    """Check every run (full, full without the optimizer's name, and bare), print and return
    the markdown tables and the why-lines."""
    import lrdoctor

    stats: dict[tuple[str, str], Counter] = defaultdict(Counter)
    rules_fa: dict[tuple[str, str], Counter] = defaultdict(Counter)
    errs: dict[tuple[str, str], list[float]] = defaultdict(list)
    causes: Counter = Counter()
    why: list[str] = []
    for row in rows:
        label, best = row["label"], float(row["best_lr"])
        for variant in ("full", "unnamed", "bare"):
            full = out / row["file"]
            path = {"full": full, "unnamed": unnamed_copy(full), "bare": out / row["bare"]}
            rr = lrdoctor.check(path[variant]).runs[0]
            got = alarms(rr)
            cats = {f.category for f in got}
            where = f"{row['setup']}/{row['optimizer']} lr={float(row['lr']):g}"
            for key in ((row["setup"], variant), ("ALL", variant)):
                s = stats[key]
                if rr.error:
                    s["error"] += 1
                if label == "healthy":
                    s["healthy"] += 1
                    s["false_alarm"] += bool(got)
                    for f in got:
                        rules_fa[key][f.rule] += 1
                    continue
                s[label] += 1
                s[label + "_hit"] += bool(cats & PROBLEM[label])
                other = "too_low" if label == "too_high" else "too_high"
                s["wrong_dir"] += bool(cats & PROBLEM[other])
                if rr.suggested_lr and best > 0:
                    errs[key].append(abs(math.log10(rr.suggested_lr / best)))
            if variant == "full":
                causes.update(
                    f"{f.rule}:{f.cause}" for f in rr.findings if f.category == "non_finite"
                )
            bad = (label == "healthy" and got) or (label != "healthy" and not cats & PROBLEM[label])
            wrong = (
                label != "healthy"
                and cats & PROBLEM["too_low" if label == "too_high" else "too_high"]
            )
            if bad or wrong or rr.error:
                kind = "FALSE ALARM" if label == "healthy" else "WRONG DIR" if wrong else "MISS"
                why.append(
                    f"{kind:11s} [{variant}] {where} {label} best={best:g} "
                    f"suggested={rr.suggested_lr and f'{rr.suggested_lr:.3g}'}: "
                    f"{rr.error or describe(rr.findings)}"
                )
    lines = [
        "| setup | variant | healthy: false alarms | rules (alarms on healthy) | "
        "too_high recall | too_low recall | wrong direction | suggested_lr within 3x "
        "| median abs log10 err |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key in sorted(stats, key=lambda k: (k[0] == "ALL", k)):
        s, e = stats[key], sorted(errs[key])
        off = s["too_high"] + s["too_low"]
        within = f"{sum(x <= math.log10(3) for x in e)}/{off}" if off else "-"
        med = f"{e[len(e) // 2]:.2f} (n={len(e)})" if e else "-"
        fa_rules = ", ".join(f"{r}×{n}" for r, n in sorted(rules_fa[key].items())) or "-"
        lines.append(
            f"| {key[0]} | {key[1]} | {s['false_alarm']}/{s['healthy']} | {fa_rules} | "
            f"{s['too_high_hit']}/{s['too_high']} | {s['too_low_hit']}/{s['too_low']} | "
            f"{s['wrong_dir']} | {within} | {med} |"
        )
    lines += [
        "",
        "non_finite findings by rule:cause (full logs): "
        + (", ".join(f"{k}×{n}" for k, n in sorted(causes.items())) or "none"),
    ]
    text = "\n".join(lines)
    print("\n" + text + "\n")
    print("\n".join(why))
    return text + "\n\n```\n" + "\n".join(why) + "\n```\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write runs here (default: a temp dir)")
    parser.add_argument("--quick", action="store_true", help="300 steps, every other LR")
    parser.add_argument("--reuse", action="store_true", help="only re-check runs in --out")
    parser.add_argument("--report", type=Path, help="also write the tables to this file")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write the tables into the 'torch-ood' block of docs/rules.md and the sweeps "
        "into the 'torch-ood-sweeps' block of docs/ood.md",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    out = args.out or Path(tempfile.mkdtemp(prefix="lrdoctor_ood_"))
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.process_time()
    if args.reuse:
        with open(out / "index.csv") as fh:
            rows = list(csv.DictReader(fh))
    else:
        import torch

        print(
            f"torch {torch.__version__}, python {platform.python_version()}, "
            f"{platform.machine()}, runs in {out}"
        )
        rows = generate(out, SWEEPS[::4] if args.quick else SWEEPS, args.quick)
    t1 = time.process_time()
    text = evaluate(out, rows)
    print(f"\ncpu: training {t1 - t0:.0f}s, checking {time.process_time() - t1:.1f}s")
    if args.report:
        args.report.write_text(text)
    if args.write_docs:
        import measured

        flags = [f for f, on in (("--quick", args.quick), ("--reuse", args.reuse)) if on]
        command = " ".join(["python benchmarks/torch_ood.py", *flags])
        measured.write(ROOT / "docs/rules.md", "torch-ood", text, command, markdown=True)
        measured.write(ROOT / "docs/ood.md", "torch-ood-sweeps", sweep_lines(rows), command)


def sweep_lines(rows: list[dict]) -> str:
    """Each sweep's U curve from index.csv: `lr:label:final_loss` per LR, and its best LR."""
    sweeps: dict[str, list[dict]] = {}
    for r in rows:
        sweeps.setdefault(f"{r['setup']}_{r['optimizer']}", []).append(r)
    lines = []
    for name, cells in sweeps.items():
        curve = " ".join(
            f"{float(c['lr']):g}:{c['label']}:{float(c['final_loss']):.3g}" for c in cells
        )
        lines.append(f"{name:24s} best={float(cells[0]['best_lr']):g}  {curve}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
