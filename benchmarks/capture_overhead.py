"""What lrdoctor's capture helpers cost per training step: a small model trained with and
without TorchCapture and each framework callback.

    python benchmarks/capture_overhead.py [--steps 2000] [--reps 3] [--only torch,keras]
    python benchmarks/capture_overhead.py --write-docs   # rewrite docs/logging.md's block

Every case trains the same MLP (32-128-128-10, 22k parameters; batch 64, Adam, one CPU
thread) for `--steps` optimizer steps, once without the helper and once with it, `--reps`
times interleaved; the clock runs from the 20th step to the end of the fit, so set-up is left
out. Printed per case: the step without the helper, the difference (µs per step and % of the
step; the medians' difference, noisy on a shared machine) and the time spent inside the
helper's own methods (a timer around each, summed: the floor of what it adds). The plain loop
also runs a 1.6M-parameter MLP (512-1024-1024-10; a quarter of the steps), where the
norms' cost shows. Frameworks
that are not installed are skipped. No figure here is asserted by a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # measured.py

BATCH, WARMUP = 64, 20
SIZES = {"small": (32, 128, 10), "large": (512, 1024, 10)}


def mlp(size: str = "small"):
    import torch

    d_in, hidden, d_out = SIZES[size]
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(d_in, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, d_out),
    )


def _params(size: str) -> int:
    return sum(p.numel() for p in mlp(size).parameters())


def data(size: str = "small", n: int = 4096):
    import torch

    d_in, _, d_out = SIZES[size]
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, d_in, generator=g), torch.randint(0, d_out, (n,), generator=g)


class Hooks:
    """Wrap the helper's own entry points in a timer: `spent` is the seconds inside them."""

    def __init__(self, obj, names=None):
        self.spent = 0.0
        own = names or [n for n in type(obj).__dict__ if n.startswith(("on_", "before_", "after_"))]
        for name in own:
            object.__setattr__(obj, name, self._timed(getattr(obj, name)))

    def _timed(self, method):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - start

        return run


class Clock:
    """Seconds from the start of step WARMUP to the end of the fit."""

    start = end = None

    def tick(self, step: int) -> None:
        if step == WARMUP:
            self.start = time.perf_counter()

    def stop(self) -> float:
        self.end = time.perf_counter()
        return self.end - self.start


# ---- one fit per framework: `helper(tmpdir)` makes the callback (None: without) -------------


def fit_torch(steps: int, helper, size: str = "small") -> tuple[float, float]:
    import torch

    model, (x, y) = mlp(size), data(size)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    cap = helper(opt, model) if helper else None
    hooks = Hooks(cap, ["log", "begin_step", "end_step"]) if cap else None
    clock = Clock()
    for step in range(steps):
        clock.tick(step)
        i = (step * BATCH) % (len(x) - BATCH)
        loss = torch.nn.functional.cross_entropy(model(x[i : i + BATCH]), y[i : i + BATCH])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        value = loss.item()  # every loop reads its loss; the capture only adds what it does
        if cap is not None:
            cap.log(loss=value)
        opt.step()
    took = clock.stop()
    if cap is not None:
        cap.close()
    return took, hooks.spent if hooks else 0.0


def _loader(size: str = "small"):
    import torch

    x, y = data(size)
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=BATCH, shuffle=False
    )


def fit_lightning(steps: int, helper) -> tuple[float, float]:
    import lightning as L
    import torch

    clock = Clock()

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = mlp()

        def training_step(self, batch, batch_idx):
            clock.tick(self.global_step)
            return torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), 1e-3)

    cb = helper() if helper else None
    hooks = Hooks(cb) if cb else None
    trainer = L.Trainer(
        max_steps=steps,
        logger=False,
        callbacks=[cb] if cb else [],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        accelerator="cpu",
    )
    trainer.fit(Module(), _loader())
    return clock.stop(), hooks.spent if hooks else 0.0


def fit_hf(steps: int, helper) -> tuple[float, float]:
    import torch
    import transformers

    clock = Clock()

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mlp()
            self.calls = 0

        def forward(self, x, labels=None):
            clock.tick(self.calls)
            self.calls += 1
            return {"loss": torch.nn.functional.cross_entropy(self.net(x), labels)}

    class Data(torch.utils.data.Dataset):
        def __init__(self):
            self.x, self.y = data()

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return {"x": self.x[i], "labels": self.y[i]}

    cb = helper() if helper else None
    hooks = Hooks(cb) if cb else None
    with tempfile.TemporaryDirectory() as out:
        args = transformers.TrainingArguments(
            out,
            max_steps=steps,
            per_device_train_batch_size=BATCH,
            save_strategy="no",
            report_to=[],
            use_cpu=True,
            disable_tqdm=True,
            dataloader_num_workers=0,
            seed=0,
        )
        trainer = transformers.Trainer(
            model=Net(), args=args, train_dataset=Data(), callbacks=[cb] if cb else []
        )
        trainer.train()
    return clock.stop(), hooks.spent if hooks else 0.0


def fit_keras(steps: int, helper) -> tuple[float, float]:
    import keras

    clock = Clock()

    class Tick(keras.callbacks.Callback):
        step = 0

        def on_train_batch_begin(self, batch, logs=None):
            clock.tick(self.step)
            self.step += 1

    keras.utils.set_random_seed(0)
    d_in, hidden, d_out = SIZES["small"]
    model = keras.Sequential(
        [
            keras.Input((d_in,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(d_out),
        ]
    )
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x, y = (t.numpy() for t in data())
    per_epoch = len(x) // BATCH
    cb = helper() if helper else None
    hooks = Hooks(cb) if cb else None
    model.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=-(-steps // per_epoch),
        steps_per_epoch=per_epoch,
        verbose=0,
        callbacks=[Tick(), *([cb] if cb else [])],
    )
    return clock.stop(), hooks.spent if hooks else 0.0


def fit_fastai(steps: int, helper) -> tuple[float, float]:
    import fastai.callback.progress  # noqa: F401  (patches Learner.no_bar in)
    import torch
    from fastai.basics import DataLoaders, Learner
    from fastai.callback.core import Callback

    clock = Clock()

    class Tick(Callback):
        def before_batch(self):
            if self.training:
                clock.tick(self.train_iter)

    x, y = data()
    ds = torch.utils.data.TensorDataset
    dls = DataLoaders.from_dsets(ds(x, y), ds(x[:BATCH], y[:BATCH]), bs=BATCH, device="cpu")
    cb = helper() if helper else None
    hooks = Hooks(cb) if cb else None
    learn = Learner(
        dls, mlp(), loss_func=torch.nn.functional.cross_entropy, cbs=[Tick(), *([cb] if cb else [])]
    )
    with learn.no_bar(), learn.no_logging():
        learn.fit(-(-steps // len(dls.train)), 1e-3)
    return clock.stop(), hooks.spent if hooks else 0.0


def cases(tmp: Path) -> list[tuple[str, str, object, object]]:
    """(framework, helper, fit, helper factory) for each measured pair."""
    from lrdoctor.capture import callbacks
    from lrdoctor.capture.torch import TorchCapture

    def torch_cap(every):
        return lambda opt, model: TorchCapture(opt, model, path=tmp / "t.csv", every=every)

    def large(steps, helper):
        return fit_torch(steps, helper, "large")

    return [
        ("torch", "TorchCapture() (every=10)", fit_torch, torch_cap(10)),
        ("torch", "TorchCapture(every=1)", fit_torch, torch_cap(1)),
        ("torch large", "TorchCapture() (every=10)", large, torch_cap(10)),
        ("torch large", "TorchCapture(every=1)", large, torch_cap(1)),
        ("lightning", "lightning_callback() (every=10)", fit_lightning,
         lambda: callbacks.lightning_callback(tmp / "l.csv")),
        ("lightning", "lightning_callback(every=1)", fit_lightning,
         lambda: callbacks.lightning_callback(tmp / "l.csv", every=1)),
        ("transformers", "hf_callback() (every=1)", fit_hf,
         lambda: callbacks.hf_callback(tmp / "h.csv")),
        ("transformers", "hf_callback(every=10)", fit_hf,
         lambda: callbacks.hf_callback(tmp / "h.csv", every=10)),
        ("keras", "keras_callback()", fit_keras, lambda: callbacks.keras_callback(tmp / "k.csv")),
        ("fastai", "fastai_callback() (every=10)", fit_fastai,
         lambda: callbacks.fastai_callback(tmp / "f.csv")),
    ]  # fmt: skip


MODULES = {"torch": "torch", "torch large": "torch", "lightning": "lightning",
           "transformers": "transformers", "keras": "keras", "fastai": "fastai"}  # fmt: skip


def measure(fit, helper, steps: int, reps: int) -> dict:
    plain, with_, inside = [], [], []
    for _ in range(reps):  # interleaved: a change in the machine's load hits both sides
        plain.append(fit(steps, None)[0])
        took, spent = fit(steps, helper)
        with_.append(took)
        inside.append(spent)
    n = steps - WARMUP
    base, withs = statistics.median(plain) / n, statistics.median(with_) / n
    return {
        "step_us": 1e6 * base,
        "diff_us": 1e6 * (withs - base),
        "diff_pct": 100 * (withs - base) / base,
        "hooks_us": 1e6 * statistics.median(inside) / n,
        "hooks_pct": 100 * statistics.median(inside) / n / base,
    }


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated frameworks (default: all)")
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args(argv)
    import importlib.metadata as md
    import importlib.util

    import torch

    torch.set_num_threads(1)
    only = {w.strip() for w in a.only.split(",") if w.strip()}
    per_epoch = 4096 // BATCH  # Keras and fastai fit whole epochs
    steps = -(-a.steps // per_epoch) * per_epoch
    load_before = os.getloadavg()[0]
    rows, versions = [], {"torch": torch.__version__}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as quiet:
        todo = [
            c
            for c in cases(Path(tmp))
            if (not only or c[0].split()[0] in only) and importlib.util.find_spec(MODULES[c[0]])
        ]
        quiet.enter_context(contextlib.redirect_stdout(io.StringIO()))  # the Trainers' logs
        quiet.enter_context(contextlib.redirect_stderr(io.StringIO()))
        for framework, helper_name, fit, helper in todo:
            # The large model: a quarter of the steps (each costs ~30x a small one).
            n = max(steps // 4, 5 * WARMUP) if framework == "torch large" else steps
            rows.append({"framework": framework, "helper": helper_name}
                        | measure(fit, helper, n, a.reps))  # fmt: skip
            name = MODULES[framework]
            versions[name] = md.version(name)
    load_after = os.getloadavg()[0]
    import measured  # benchmarks/measured.py, beside this script

    with contextlib.ExitStack() as stack:
        printed = stack.enter_context(measured.tee()) if a.write_docs else None
        print(
            f"{steps:,} steps per fit, median of {a.reps} interleaved pairs, 1 CPU thread, "
            f"MLP 32-128-128-10 ({_params('small'):,} parameters; torch large: 512-1024-1024-10, "
            f"{_params('large'):,}), batch 64, "
            f"Adam; load average {load_before:.1f} before, {load_after:.1f} after "
            f"({os.cpu_count()} cores, shared); "
            + ", ".join(f"{k} {v}" for k, v in versions.items())
        )
        print()
        print("| framework | helper | step without | with − without | inside the helper |")
        print("|---|---|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['framework']} | `{r['helper']}` | {r['step_us']:,.0f} µs "
                f"| {r['diff_us']:+,.0f} µs ({r['diff_pct']:+.1f} %) "
                f"| {r['hooks_us']:,.1f} µs ({r['hooks_pct']:.1f} %) |"
            )
    if a.write_docs:
        command = "python benchmarks/capture_overhead.py"
        if argv:
            command += " " + " ".join(w for w in argv if w != "--write-docs")
        measured.write(
            measured.ROOT / "docs/logging.md",
            "capture-overhead",
            printed.getvalue(),
            command + " --write-docs",
            markdown=True,
            note=f"load average {load_before:.1f} before, {load_after:.1f} after",
        )
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
