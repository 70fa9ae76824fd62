"""Data bugs are not LR problems: runs whose training labels were shuffled, linted.

    python benchmarks/data_bugs.py --ood DIR [--devcorpus ../shared/devcorpus] [--out D] [--reuse]
                                   [--write-docs]

A run whose targets are disconnected from its inputs (shuffled labels, a wrong column) learns
nothing that generalises at any LR, so an "LR too low, raise it" or "LR too high, lower it"
warning on it sends its owner the wrong way. For each sweep of `benchmarks/torch_ood.py` (its
`--out DIR`: `index.csv` gives each sweep's best LR) and, with `--devcorpus`, each
classification or regression sweep of the development corpus (its `labels.json` gives the best
LR, its `generate.py` trains), this trains one run more at the sweep's best LR with the training
targets permuted (the validation targets untouched) and checks it as logged: how many runs get
an LR warning, and how many are told the data is the likely cause (NL001 naming it first, or
OF001 memorising). Needs torch (not a test dependency). Runs on one thread.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LR_CATEGORIES = ("lr_too_high", "lr_too_low", "non_finite")
ALARM = ("warning", "error")
SEED = 7  # the permutation of the training targets


def permuted(y, seed: int = SEED):
    import torch

    return y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))]


def ood_runs(ood: Path, out: Path) -> list[tuple[str, str, float, Path]]:
    """(corpus, sweep, best LR, log) for every torch_ood sweep, retrained on shuffled targets."""
    import torch
    import torch_ood as ood_bench

    with open(ood / "index.csv") as fh:
        best = {(r["setup"], r["optimizer"]): float(r["best_lr"]) for r in csv.DictReader(fh)}
    torch.set_num_threads(1)
    runs = []
    for sw in ood_bench.SWEEPS:
        lr = best.get((sw.setup, sw.optimizer))
        if lr is None:
            continue
        torch.manual_seed(0)
        (xtr, ytr), val, model, loss_fn = ood_bench.TASKS[sw.task](0)
        log = ood_bench.train_one(sw, lr, seed=0, task=((xtr, permuted(ytr)), val, model, loss_fn))
        path = ood_bench.write_run(log, out / f"ood_{sw.name}_shuffled", sw, bare=False)
        runs.append(("torch_ood", sw.name, lr, path))
    return runs


def devcorpus_runs(corpus: Path, out: Path) -> list[tuple[str, str, float, Path]]:
    """The same for the development corpus's classification and regression sweeps."""
    sys.path.insert(0, str(corpus))
    import generate as gen

    best = {}
    for r in json.loads((corpus / "labels.json").read_text())["runs"]:
        if r["id"].startswith("sweep__"):
            _, task, opt, _ = r["id"].split("__")
            best[(task, opt)] = r["lr_best"]
    runs = []
    for (task, opt), lr in sorted(best.items()):
        if gen.TASKS[task]["kind"] not in ("clf", "reg"):
            continue  # a token stream or a generated sequence has no labels to shuffle
        data = gen.get_data(task)
        if not data.get("_shuffled"):
            data["ytr"], data["_shuffled"] = permuted(data["ytr"]), True
        spec = dict(
            family="sweep",
            task=task,
            optimizer=opt,
            lr=lr,
            schedule="constant",
            steps=gen.TASKS[task]["steps"],
            data_seed=0,
        )
        _, cols = gen.train(spec)
        path = out / f"dev_{task}_{opt}_shuffled.csv"
        names = ("loss", "lr", "grad_norm", "update_ratio", "val_loss")
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(("step", *names))
            for i in range(len(cols["step"])):
                w.writerow(
                    [
                        i,
                        *(
                            "" if cols[k][i] != cols[k][i] else repr(float(cols[k][i]))
                            for k in names
                        ),
                    ]
                )
        runs.append(("devcorpus", f"{task}_{opt}", lr, path))
    return runs


def verdict(path: Path) -> tuple[list[str], bool]:
    """(the LR warnings as rule:reason, whether the report names the data as the likely cause)."""
    import lrdoctor
    from lrdoctor.detectors.learning import nothing_learned
    from lrdoctor.readers import read_path
    from lrdoctor.run import build_run

    [rr] = lrdoctor.check(path).runs
    lr_alarms = [
        f"{f.rule}:{f.reason or '-'}"
        for f in rr.findings
        if f.severity in ALARM and f.category in LR_CATEGORIES
    ]
    fired = {f.rule: f for f in rr.findings if f.severity in ALARM}
    data = "OF001" in fired
    if "NL001" in fired:
        [evidence] = nothing_learned(build_run(read_path(path)[0]))
        data = data or evidence.slots["causes"][0].startswith("data")
    return lr_alarms, data


def report(runs) -> str:
    counts: dict[str, Counter] = {}
    lines = []
    for corpus, sweep, lr, path in runs:
        lr_alarms, data = verdict(path)
        c = counts.setdefault(corpus, Counter())
        c["runs"] += 1
        c["lr_warned"] += bool(lr_alarms)
        c["too_low"] += any(a.startswith(("LR003", "LR004")) for a in lr_alarms)
        c["data"] += data
        lines.append(
            f"{corpus:9s} {sweep:26s} lr={lr:<8.3g} data named: {'yes' if data else 'no ':3s}  "
            f"LR warnings: {', '.join(lr_alarms) or '-'}"
        )
    table = [
        "| runs with shuffled training labels, at the sweep-best LR | runs | with an LR warning "
        "| of which LR003/LR004 (too low) | told the data is the likely cause |",
        "|---|---|---|---|---|",
    ]
    for corpus, c in counts.items():
        table.append(
            f"| {corpus} | {c['runs']} | {c['lr_warned']} | {c['too_low']} | {c['data']} |"
        )
    text = "\n".join(table) + "\n\n```text\n" + "\n".join(lines) + "\n```"
    print(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ood", type=Path, required=True, help="torch_ood.py's --out folder")
    parser.add_argument("--devcorpus", type=Path, help="also the development corpus's sweeps")
    parser.add_argument("--out", type=Path, help="write the logs here (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="only re-check the logs in --out")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write the table into the 'data-bugs' block of docs/rules.md",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    out = args.out or Path(tempfile.mkdtemp(prefix="lrdoctor_databugs_"))
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.csv"
    if args.reuse:
        with open(index) as fh:
            runs = [(c, s, float(lr), out / name) for c, s, lr, name in csv.reader(fh)]
    else:
        import torch

        print(f"torch {torch.__version__}, python {platform.python_version()}, logs in {out}")
        runs = ood_runs(args.ood, out)
        if args.devcorpus:
            runs += devcorpus_runs(args.devcorpus, out)
        with open(index, "w", newline="") as fh:
            csv.writer(fh).writerows((c, s, lr, p.name) for c, s, lr, p in runs)
    text = report(runs)
    if args.write_docs:
        import measured

        command = " ".join(
            ["python benchmarks/data_bugs.py --ood DIR"]
            + ["--devcorpus ../shared/devcorpus"] * bool(args.devcorpus)
            + ["--reuse"] * args.reuse
        )
        measured.write(ROOT / "docs/rules.md", "data-bugs", text, command, markdown=True)


if __name__ == "__main__":
    main()
