"""Score `check` on ../shared/devcorpus in one process, with score.py's own label mapping.

Much faster than score.py (no process per run), for iterating on detectors; score.py stays the
reference. Prints the confusion, per-class recall, false alarms, per task / format, suggested-LR
accuracy, and with --loto the spread of accuracy across tasks. --dump writes per-run predictions.

    python benchmarks/devcorpus.py [--corpus ../shared/devcorpus] [--dump out.json] [--only TASK]
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


def report_json(path: Path) -> dict:
    import lrdoctor

    return json.loads(json.dumps(lrdoctor.check(str(path)).to_dict()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--corpus", type=Path, default=Path(__file__).parents[1] / "../shared/devcorpus"
    )
    ap.add_argument("--dump", type=Path)
    ap.add_argument("--only", help="score one task")
    args = ap.parse_args(argv)
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
        active = [
            (f["rule"], f.get("reason"))
            for run in rep["runs"]
            for f in run["findings"]
            if f["severity"] in ("warning", "error")
        ]
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
                secondary=r["secondary_labels"],
                cats=sorted({f["category"] for run in rep["runs"] for f in run["findings"]}),
            )
        )
    summarise(rows)
    if args.dump:
        args.dump.write_text(json.dumps(rows, indent=1))
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
