#!/usr/bin/env python3
"""Rebuild a held-out evaluation corpus on the hidden judge's kind of tasks (dev-only tool).

Imports /work/shared/devcorpus/generate.py as a module and reuses ALL of its machinery
(train / job / bug_job / write_run / label_rule / overfit_flag / range tests / schedules
rotation / labels.json + README writer).  Only what defines the tasks, data, models, losses,
optimizers, LR grid, schedule kinds and file formats is overridden (module globals
monkeypatched before generate.main() runs; workers are forked, so they inherit the patches).

Design = README_notes.md's description of the hidden hold-out:
  tasks     cancer_logreg  logistic regression (Linear(30,1), BCE with logits) on sklearn
                           breast_cancer, standardised; 500 steps, batch 32.
            deep_plain     11-layer He-init ReLU MLP (width 32, no normalisation) on sklearn
                           wine, standardised; 800 steps, batch 16.
            digits_cnn     small CNN (conv8-pool-conv16-pool-linear) on sklearn digits 8x8;
                           600 steps, batch 32.
            gru_lm         char-level GRU LM (emb 32, GRU 64) on sklearn's dataset .rst
                           descriptions + pydoc topics text, context 48; 700 steps, batch 16.
  optimizers sgd, sgd_momentum (0.9), adam, adagrad (torch defaults otherwise)
  LR grid   10^(-5+0.5k), k=0..12 (1e-5 .. 10)
  schedules step (x0.1 at 50 %, x0.01 at 75 %: generate.py's plateau twins) + cosine,
            warmup_linear, warmup_cosine (5 % warmup) rotated as generate.py rotates its own
  cadence   every step in the files (log_every 1); HF / Lightning 1, 5 or 10 by hash
            (generate.py's choose_log_every)
  formats   csv, parquet, lightning, hf_trainer_state, jsonl (1/3 degraded, as generate.py)
  NaN bugs  unsafe_log_bce   -(y log sigmoid(z) + (1-y) log(1 - sigmoid(z))): sigmoid rounds to
                             1.0 in float32 for z > ~16.6 -> 0 * log(0) = NaN (cancer_logreg;
                             LR-timed: the logits must grow)
            div0_group_mean  class-balanced loss: mean over classes of the per-class mean loss;
                             an absent class gives mean(empty) = 0/0 = NaN (cancer_logreg batch
                             12, deep_plain batch 18, digits_cnn batch 72)
            div0_seq_mask    LM loss only on the positions after the first newline of each
                             window ("train on whole lines"), normalised by the mask count of
                             the batch: 0/0 when no window of the batch holds a newline
                             (gru_lm, bug batch 4)
Labels: generate.py's label_rule / LABEL_RULES unchanged.

Needs torch and scikit-learn (neither is a dependency of lrdoctor). About 14 minutes on 2 shared
cores from an empty cache (334 runs: 258 scored, 44 ambiguous, 32 range tests); then
`python benchmarks/devcorpus.py --corpus /tmp/holdcorpus --loto` and `score.py --corpus` score it.
A check on other tasks, not a corpus to tune on.

Usage (2 shared cores: nice + 2 workers; --cache makes a rebuild cheap):
  nice -n 10 python benchmarks/holdout_corpus.py --out /tmp/holdcorpus \
      --cache /tmp/hold/cache --workers 2 [--tasks cancer_logreg] [--phase1-only]
"""

import math
import os
import sys

# The development corpus's generator, reused as a module: $DEVCORPUS, else ../shared/devcorpus
# beside the checkout (as the other benchmarks' --corpus default).
GEN_DIR = os.environ.get(
    "DEVCORPUS",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "devcorpus"),
)
if not os.path.exists(os.path.join(GEN_DIR, "generate.py")):
    sys.exit(f"no generate.py in {GEN_DIR}: set DEVCORPUS to the development corpus's folder")
sys.path.insert(0, GEN_DIR)
import generate as G  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- grid, optimizers, formats
G.GRID = [10 ** (-5 + 0.5 * k) for k in range(13)]
G.OPTS = ["sgd", "sgd_momentum", "adam", "adagrad"]
G.OPT_CLASS = {
    "sgd": "SGD",
    "sgd_momentum": "SGD",
    "adam": "Adam",
    "adagrad": "Adagrad",
}
G.FORMATS = ["csv", "parquet", "lightning", "hf_trainer_state", "jsonl"]
G.STEP_FORMATS = list(G.FORMATS)
G.SCHEDS = [
    "cosine",
    "warmup_linear",
    "warmup_cosine",
    "cosine",
]  # never "step": its ids are taken
G.keras_ok = lambda task, family: False  # no Keras in the hold-out
G.HERE = HERE  # README_notes.md of THIS folder (if any) is appended to the corpus README
G.LM_T = 48


def _task(kind, steps, batch, val_every, init_seed, bugs):
    """One task as generate.py's TASKS holds it: every held-out file logs every step, unclipped."""
    return dict(
        kind=kind,
        steps=steps,
        batch=batch,
        log_every=1,
        val_every=val_every,
        init_seed=init_seed,
        clip=None,
        bugs=bugs,
    )


G.TASKS = {
    "cancer_logreg": _task(
        "clf", 500, 32, 25, 41, [("unsafe_log_bce", 32), ("div0_group_mean", 12)]
    ),
    "deep_plain": _task("clf", 800, 16, 20, 42, [("div0_group_mean", 18)]),
    "digits_cnn": _task("clf", 600, 32, 30, 43, [("div0_group_mean", 72)]),
    "gru_lm": _task("lm", 700, 16, 50, 44, [("div0_seq_mask", 4)]),
}
_COST = {"cancer_logreg": 0.6, "deep_plain": 2.0, "digits_cnn": 3.0, "gru_lm": 12.0}
G.job_cost = lambda s: _COST[s["task"]] * s["steps"] * (2 if s["family"] == "numerical_bug" else 1)
G.LR_TIMED_BUGS = ("unsafe_log_bce",)


# ---------------------------------------------------------------- schedules
class HoldSchedule(G.LRSchedule):
    """generate.py's schedules + the hold-out's cosine and warmup_linear (5 % warmup)."""

    def lr_at(self, s):
        k, lr, steps = self.kind, self.peak, self.steps
        if k == "cosine":
            return lr * 0.5 * (1 + math.cos(math.pi * s / steps))
        if k == "warmup_linear":
            w = max(1, steps // 20)
            return lr * (s + 1) / w if s < w else lr * max(0.0, 1.0 - (s - w) / (steps - w))
        return super().lr_at(s)


G.LRSchedule = HoldSchedule


# ---------------------------------------------------------------- data
def lm_text(limit=500_000):
    """sklearn's dataset descriptions (.rst, sorted) + pydoc topics (sorted keys)."""
    import pydoc_data.topics as pt

    import sklearn

    d = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "descr")
    files = sorted(f for f in os.listdir(d) if f.endswith(".rst"))
    parts = []
    for f in files:
        with open(os.path.join(d, f), encoding="utf-8") as fh:
            parts.append(fh.read())
    parts += [pt.topics[k] for k in sorted(pt.topics)]
    s = "\n".join(parts).replace("\t", "    ")[:limit]
    s = "".join(c if (32 <= ord(c) < 127 or c == "\n") else "?" for c in s)
    return s, files + ["pydoc_data.topics"]


def get_data(task):
    if task in G._DATA:
        return G._DATA[task]
    import torch
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    T = torch.tensor
    d = {"kind": G.TASKS[task]["kind"]}
    if task in ("cancer_logreg", "deep_plain"):
        X, y = (datasets.load_breast_cancer if task == "cancer_logreg" else datasets.load_wine)(
            return_X_y=True
        )
        Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
        sc = StandardScaler().fit(Xtr)
        d.update(
            Xtr=T(sc.transform(Xtr).astype(np.float32)),
            Xva=T(sc.transform(Xva).astype(np.float32)),
            ytr=T(ytr),
            yva=T(yva),
            ncls=int(y.max()) + 1,
        )
    elif task == "digits_cnn":
        X, y = datasets.load_digits(return_X_y=True)
        X = (X / 16.0 - 0.3).astype(np.float32).reshape(-1, 1, 8, 8)
        Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
        d.update(Xtr=T(Xtr), Xva=T(Xva), ytr=T(ytr), yva=T(yva), ncls=10)
    elif task == "gru_lm":
        s, files = lm_text()
        vocab = sorted(set(s))
        idx = {c: i for i, c in enumerate(vocab)}
        ids = np.array([idx[c] for c in s], dtype=np.int64)
        n_tr = int(len(ids) * 0.9)
        tr, va = T(ids[:n_tr]), T(ids[n_tr:])
        rng = np.random.default_rng(7)
        va_starts = rng.integers(0, len(va) - G.LM_T - 1, size=32)
        tr_eval_starts = rng.integers(0, len(tr) - G.LM_T - 1, size=64)
        ar = torch.arange(G.LM_T)
        d.update(
            tr=tr,
            V=len(vocab),
            newline_id=idx["\n"],
            Xva=va[T(va_starts)[:, None] + ar],
            yva=va[T(va_starts)[:, None] + ar + 1],
            Xte=tr[T(tr_eval_starts)[:, None] + ar],
            yte=tr[T(tr_eval_starts)[:, None] + ar + 1],
            n_chars=len(s),
            n_train_chars=n_tr,
            files=files,
        )
    else:
        raise ValueError(task)
    G._DATA[task] = d
    return d


# ---------------------------------------------------------------- models
def build_model(task, d, bug=None):
    import torch
    import torch.nn as nn

    torch.manual_seed(G.TASKS[task]["init_seed"])
    if task == "cancer_logreg":
        return nn.Linear(30, 1)
    if task == "deep_plain":
        layers, w = [], 13
        for _ in range(10):
            lin = nn.Linear(w, 32)
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            nn.init.zeros_(lin.bias)
            layers += [lin, nn.ReLU()]
            w = 32
        out = nn.Linear(32, 3)
        nn.init.kaiming_normal_(out.weight, nonlinearity="relu")
        nn.init.zeros_(out.bias)
        return nn.Sequential(*layers, out)
    if task == "digits_cnn":
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64, 10),
        )
    if task == "gru_lm":

        class GRULM(nn.Module):
            def __init__(s, V, de=32, dh=64):
                super().__init__()
                s.emb, s.rnn, s.out = (
                    nn.Embedding(V, de),
                    nn.GRU(de, dh, batch_first=True),
                    nn.Linear(dh, V),
                )

            def forward(s, x):
                h, _ = s.rnn(s.emb(x))
                return s.out(h)

        return GRULM(d["V"])
    raise ValueError(task)


def make_loss(task, d, bug=None):
    import torch
    import torch.nn.functional as F

    kind = d["kind"]

    def per_sample(out, y):
        if task == "cancer_logreg":
            return F.binary_cross_entropy_with_logits(out.squeeze(-1), y.float(), reduction="none")
        return F.cross_entropy(out, y, reduction="none")

    if bug is None:
        if kind == "lm":
            return lambda out, y: F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        return lambda out, y: per_sample(out, y).mean()
    if bug == "unsafe_log_bce":

        def f(out, y):
            p = torch.sigmoid(out.squeeze(-1))
            yf = y.float()
            return (-(yf * torch.log(p) + (1 - yf) * torch.log(1 - p))).mean()  # 0*log(0) = NaN

        return f
    if bug == "div0_group_mean":
        ncls = d["ncls"]

        def f(out, y):
            each = per_sample(out, y)
            return torch.stack(
                [each[y == c].mean() for c in range(ncls)]
            ).mean()  # mean(empty) = NaN

        return f
    if bug == "div0_seq_mask":
        nl = d["newline_id"]

        def f(out, y):
            each = F.cross_entropy(
                out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="none"
            ).view(y.shape)
            seen = torch.cumsum((y == nl).long(), 1)  # positions after the window's first newline
            m = ((seen - (y == nl).long()) > 0).float()
            return (each * m).sum() / m.sum()  # 0/0 when no window of the batch holds a newline

        return f
    raise ValueError((task, bug))


def evaluate(model, d, lossf, split, bug=None):
    """generate.evaluate, with the accuracy of a single-logit binary classifier."""
    import torch

    model.eval()
    with torch.no_grad():
        if d["kind"] == "lm":
            X, y = (d["Xva"], d["yva"]) if split == "val" else (d["Xte"], d["yte"])
        else:
            X, y = (d["Xva"], d["yva"]) if split == "val" else (d["Xtr"], d["ytr"])
        out = model(X)
        loss = float(lossf(out, y))
        if out.shape[-1] == 1:
            acc = float(((out.squeeze(-1) > 0).long() == y).float().mean())
        else:
            acc = float((out.argmax(-1) == y).float().mean())
    model.train()
    return loss, acc


# torch_ood.py makes the same four optimizers (momentum 0.9, torch defaults otherwise).
sys.path.insert(0, HERE)
from torch_ood import make_optimizer  # noqa: E402

G.get_data, G.build_model, G.make_loss, G.evaluate, G.make_opt = (
    get_data,
    build_model,
    make_loss,
    evaluate,
    make_optimizer,
)

if __name__ == "__main__":
    if "--out" not in sys.argv:
        sys.argv += ["--out", "/tmp/holdcorpus"]
    G.main()
    # the corpus layout of /work/shared/devcorpus: benchmarks/devcorpus.py loads <corpus>/score.py
    import shutil

    out = sys.argv[sys.argv.index("--out") + 1]
    if "--phase1-only" not in sys.argv:
        shutil.copy(os.path.join(GEN_DIR, "score.py"), os.path.join(out, "score.py"))
