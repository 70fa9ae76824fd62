"""Score `check` on ../shared/devcorpus in one process, with score.py's own label mapping.

Much faster than score.py (no process per run), for iterating on detectors; score.py stays the
reference. Prints the confusion, per-class recall, false alarms, per task / format, suggested-LR
accuracy, and with --loto the spread of accuracy across tasks. --dump writes per-run predictions.

    python benchmarks/devcorpus.py [--corpus ../shared/devcorpus] [--dump out.json] [--only TASK]
    python benchmarks/devcorpus.py --loto --write-docs   # also rewrite docs/rules.md's block
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

CLASSES = ("too_high", "too_low", "healthy", "nan_numerical")


def load_scorer(corpus: Path):
    spec = importlib.util.spec_from_file_location("devcorpus_score", corpus / "score.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def report_json(path: Path, params=None) -> dict:
    import lrdoctor

    return json.loads(json.dumps(lrdoctor.check(str(path), params=params).to_dict()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--corpus", type=Path, default=Path(__file__).parents[1] / "../shared/devcorpus"
    )
    ap.add_argument("--dump", type=Path)
    ap.add_argument("--only", help="score one task")
    ap.add_argument(
        "--loto",
        action="store_true",
        help="also re-derive the data-derived thresholds leaving each task out",
    )
    ap.add_argument(
        "--write-docs",
        action="store_true",
        help="write what is printed into the 'devcorpus' block of docs/rules.md",
    )
    args = ap.parse_args(argv)
    if args.write_docs:
        import measured

        with measured.tee() as printed:
            score(args)
        command = "python benchmarks/devcorpus.py" + (" --loto" if args.loto else "")
        measured.write(measured.ROOT / "docs/rules.md", "devcorpus", printed.getvalue(), command)
        return 0
    score(args)
    return 0


def score(args) -> None:
    corpus = args.corpus.resolve()
    scorer = load_scorer(corpus)
    runs = [
        r
        for r in json.loads((corpus / "labels.json").read_text())["runs"]
        if r["label"] in CLASSES and (not args.only or r["task"] == args.only)
    ]
    rows = []
    for r in runs:
        rep = report_json(corpus / r["path"])
        label, sugg = scorer.predict_label(rep)
        every = [
            (
                f["rule"],
                f.get("reason"),
                f["category"],
                f.get("cause"),
                f["severity"],
                f.get("confidence"),
            )
            for run in rep["runs"]
            for f in run["findings"]
        ]
        active = [(f[0], f[1]) for f in every if f[4] in ("warning", "error")]
        rows.append(
            dict(
                run=r["run"],
                id=r["id"],
                truth=r["label"],
                pred=label,
                task=r["task"],
                format=r["format"],
                optimizer=r["optimizer"],
                lr=r["lr"],
                lr_best=r["lr_best"],
                suggested=sugg,
                family=r["family"],
                degraded=r["degraded"],
                findings=active,
                every=every,
                secondary=r["secondary_labels"],
                cats=sorted({f["category"] for run in rep["runs"] for f in run["findings"]}),
            )
        )
    summarise(rows)
    by_reason(rows)
    if args.loto:
        loto(corpus, runs, scorer)
    if args.dump:
        args.dump.write_text(json.dumps(rows, indent=1))


def acc(rows) -> float:
    return sum(r["pred"] == r["truth"] for r in rows) / len(rows) if rows else float("nan")


def summarise(rows) -> None:
    cm = Counter((r["truth"], r["pred"]) for r in rows)
    print("truth\\pred     " + " ".join(f"{c:>13}" for c in CLASSES))
    for t in CLASSES:
        print(f"{t:14s} " + " ".join(f"{cm[(t, c)]:13d}" for c in CLASSES))
    rec = {c: cm[(c, c)] / max(1, sum(cm[(c, p)] for p in CLASSES)) for c in CLASSES}
    healthy = [r for r in rows if r["truth"] == "healthy"]
    fa = sum(r["pred"] != "healthy" for r in healthy) / max(1, len(healthy))
    print(
        f"accuracy {acc(rows):.3f}  false alarms {fa:.1%}  recall "
        + "  ".join(f"{c} {rec[c]:.2f}" for c in CLASSES)
    )
    for key in ("task", "format", "optimizer", "family"):
        groups = defaultdict(list)
        for r in rows:
            groups[r[key]].append(r)
        print(f"by {key}: " + "  ".join(f"{k} {acc(v):.2f}" for k, v in sorted(groups.items())))
    off = [r for r in rows if r["truth"] in ("too_high", "too_low") and r["pred"] == r["truth"]]
    for cls in ("too_high", "too_low"):
        got = [r for r in off if r["truth"] == cls]
        given = [r for r in got if r["suggested"]]
        within = [
            r for r in given if abs(math.log10(r["suggested"] / r["lr_best"])) <= math.log10(3)
        ]
        print(
            f"suggested LR, {cls} flagged {len(got)}: given {len(given)}, "
            f"within 3x {len(within) / max(1, len(given)):.0%}"
        )
    over = [r for r in rows if "overfitting" in r["secondary"]]
    print(f"overfitting flagged {sum('overfitting' in r['cats'] for r in over)}/{len(over)}")


def _signs(corpus: Path, r: dict):
    from lrdoctor.detectors import advice as adv
    from lrdoctor.detectors.direction import signs_of
    from lrdoctor.readers import read_path
    from lrdoctor.run import build_run, wanted_columns

    need = {"loss", "lr", "grad_norm", "update_ratio"}
    table = read_path(corpus / r["path"], lambda names: wanted_columns(names, {}, need))[0]
    run = build_run(table, {}, None, extra=need)
    s, lr = signs_of(run), adv.peak_lr(run)
    # The two statistics that tell an Adam-type run from an SGD-type one (advice.guess_family).
    ratio = s.update_ratio / lr if s and s.update_ratio and lr else None
    drop = adv.loss_per_lr(run, lr, s) if s and lr else None
    return s, {"ratio_per_lr": ratio, "drop_per_lr": drop}


ADAPTIVE = {"adamw", "rmsprop", "adam"}  # the corpus' Adam-type optimizers (columns.py: "adam")


def _split(low: list[tuple[dict, float | None]]) -> float:
    """Midway in log between the SGD-type and the Adam-type medians of a statistic."""
    import numpy as np

    def med(adaptive):
        return np.median(
            [np.log10(v) for r, v in low if v and (r["optimizer"] in ADAPTIVE) == adaptive]
        )

    return float(10 ** ((med(True) + med(False)) / 2))


def _family_best(rows, adaptive: bool) -> float:
    """Median sweep-best LR over the family's (task, optimizer) sweeps."""
    import numpy as np

    sweeps = {
        (r["task"], r["optimizer"]): r["lr_best"]
        for _, _, r, _ in rows
        if (r["optimizer"] in ADAPTIVE) == adaptive
    }
    return float(10 ** np.median(np.log10(list(sweeps.values()))))


def recipe(rows) -> dict:
    """The thresholds as the rule files derive them, from (label, signs, run, family) rows."""
    import numpy as np

    healthy = [s for lab, s, _, _ in rows if lab == "healthy" and s]
    low = [s for lab, s, _, _ in rows if lab == "too_low" and s]
    h_ratio = [s.update_ratio for s in healthy if s.update_ratio]
    l_ratio = [s.update_ratio for s in low if s.update_ratio]
    at_best = [
        s.update_ratio
        for lab, s, r, _ in rows
        if lab in ("healthy", "nan_numerical")
        and s
        and s.update_ratio
        and abs(np.log10(r["lr"] / r["lr_best"])) < 0.1
    ]
    low_runs = [(r, f) for lab, s, r, f in rows if lab == "too_low" and s]
    return {
        "stuck_moved": float(np.percentile([s.moved for s in healthy], 95)),
        "low_ratio": float(np.sqrt(np.percentile(h_ratio, 5) * np.percentile(l_ratio, 90))),
        "tuned_ratio": float(np.median(at_best)),
        "sgd_best": _family_best(rows, adaptive=False),
        "adaptive_best": _family_best(rows, adaptive=True),
        "adaptive_ratio_per_lr": _split([(r, f["ratio_per_lr"]) for r, f in low_runs]),
        "adaptive_drop_per_lr": _split([(r, f["drop_per_lr"]) for r, f in low_runs]),
    }


PRIOR = ("sgd_best", "adaptive_best", "adaptive_ratio_per_lr", "adaptive_drop_per_lr")


def as_params(t: dict) -> dict:
    return {
        "LR001": {"stuck_moved": t["stuck_moved"], "low_ratio": t["low_ratio"]},
        "LR003": {
            "stuck_moved": t["stuck_moved"],
            "low_ratio": t["low_ratio"],
            "tuned_ratio": t["tuned_ratio"],
            **{k: t[k] for k in PRIOR},
        },
        "LR004": {
            "stuck_moved": t["stuck_moved"],
            "limit": t["low_ratio"],
            "tuned_ratio": t["tuned_ratio"],
            **{k: t[k] for k in PRIOR},
        },
    }


def loto(corpus: Path, runs, scorer) -> None:
    """Leave one task out: derive the thresholds on six tasks, score the seventh."""
    rows = [(r["label"], *_signs(corpus, r), r) for r in runs]
    rows = [(lab, s, r, f) for lab, s, f, r in rows]
    tasks = sorted({r["task"] for r in runs})
    held, inside = [], []
    print("leave-one-task-out (thresholds re-derived without the task):")
    everything = as_params(recipe(rows))
    for task in tasks:
        fold = recipe([x for x in rows if x[2]["task"] != task])
        params = as_params(fold)
        for r in runs:
            if r["task"] == task:
                held.append((r, *scorer.predict_label(report_json(corpus / r["path"], params))))
                inside.append(
                    (r, *scorer.predict_label(report_json(corpus / r["path"], everything)))
                )
        mine = [p == r["label"] for r, p, _ in held if r["task"] == task]
        print(
            f"  without {task:12s} stuck_moved {fold['stuck_moved']:.2f} low_ratio "
            f"{fold['low_ratio']:.1e} tuned_ratio {fold['tuned_ratio']:.1e} sgd_best "
            f"{fold['sgd_best']:.3g} adaptive_best {fold['adaptive_best']:.3g} splits "
            f"{fold['adaptive_ratio_per_lr']:.2g} / {fold['adaptive_drop_per_lr']:.2g}: "
            f"accuracy on it {sum(mine) / len(mine):.2f}"
        )
    acc_held = sum(p == r["label"] for r, p, _ in held) / len(held)
    acc_in = sum(p == r["label"] for r, p, _ in inside) / len(inside)
    print(f"  accuracy: leave-one-task-out {acc_held:.3f}, same recipe on all tasks {acc_in:.3f}")
    print("  (below: leave-one-task-out;  same recipe on all tasks)")
    for cls in ("too_high", "too_low"):
        print(f"  suggested LR, {cls}: " + ";  ".join(_within(x, cls) for x in (held, inside)))


def _within(scored, cls: str) -> str:
    """Flagged runs of a class: how many got an LR, and the share within 3x of the best."""
    got = [(r, s) for r, p, s in scored if r["label"] == cls and p == cls]
    given = [(r, s) for r, s in got if s]
    near = sum(abs(math.log10(s / r["lr_best"])) <= math.log10(3) + 1e-9 for r, s in given)
    return f"flagged {len(got)}, given {len(given)}, within 3x {near / max(1, len(given)):.0%}"


# The label an LR finding argues for, by its category (NF001: by its cause).
ARGUES = {"lr_too_high": "too_high", "lr_too_low": "too_low"}
NF_CAUSE = {"lr_too_high": "too_high", "unknown": "too_high", "numerical": "nan_numerical"}


def by_reason(rows) -> None:
    """Each LR evidence class (rule, reason): how often the run's label agrees, and the
    confidence bands the rule files state against what they measure."""
    tally = defaultdict(Counter)
    stated = {}
    for r in rows:
        for rule, reason, category, cause, severity, confidence in set(map(tuple, r["every"])):
            argues = NF_CAUSE.get(cause) if category == "non_finite" else ARGUES.get(category)
            if argues is None:
                continue
            key = (rule, reason or "-", severity)
            tally[key]["right" if r["truth"] == argues else "wrong"] += 1
            stated[key] = confidence
    print("evidence class (rule, reason, severity): right/fired, stated confidence")
    bands = defaultdict(Counter)
    for key, c in sorted(tally.items()):
        n = c["right"] + c["wrong"]
        print(
            f"  {key[0]} {key[1]:18s} {key[2]:8s} {c['right']:3d}/{n:3d} = {c['right'] / n:.2f}"
            f"  stated {stated[key]}"
        )
        if stated[key] is not None:
            conf = stated[key]
            band = "0.90+" if conf >= 0.9 else "0.75-0.90" if conf >= 0.75 else "<0.75"
            bands[band].update(c)
    for band, c in sorted(bands.items()):
        n = c["right"] + c["wrong"]
        print(f"  calibration: stated {band}: {c['right']}/{n} right = {c['right'] / n:.2f}")


if __name__ == "__main__":
    sys.exit(main())
