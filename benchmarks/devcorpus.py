"""Score `check` on ../shared/devcorpus in one process, with score.py's own label mapping.

Much faster than score.py (no process per run), for iterating on detectors; score.py stays the
reference. Prints the confusion, per-class recall, false alarms, per task / format, suggested-LR
accuracy, and with --loto the spread of accuracy across tasks. --dump writes per-run predictions.

    python benchmarks/devcorpus.py [--corpus ../shared/devcorpus] [--dump out.json] [--only TASK]
    python benchmarks/devcorpus.py --loto --write-docs   # also rewrite the docs' blocks

--write-docs rewrites docs/rules.md's blocks `devcorpus` (what is printed), `devcorpus-summary`
(the headline figures against their goals) and `devcorpus-evidence` (each evidence class), and
docs/lr-numbers.md's `devcorpus-suggested` (the suggested LRs; with --loto, also held out).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

# This checkout's lrdoctor, not the one installed (from a worktree: another checkout's).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
            figures = score(args)
        command = "python benchmarks/devcorpus.py" + (" --loto" if args.loto else "")
        rules, numbers = measured.ROOT / "docs/rules.md", measured.ROOT / "docs/lr-numbers.md"
        measured.write(rules, "devcorpus", printed.getvalue(), command)
        for page, name, body in (
            (rules, "devcorpus-summary", summary_table(figures)),
            (rules, "devcorpus-evidence", evidence_table(figures)),
            (numbers, "devcorpus-suggested", suggested_table(figures)),
        ):
            measured.write(page, name, body, command + " --write-docs", markdown=True)
        return 0
    score(args)
    return 0


def score(args) -> dict:
    """Print the figures; return them for the docs' tables."""
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
                # OF001 can only see overfitting where the log holds a validation loss.
                validated=any("val_loss" in run["columns"] for run in rep["runs"]),
                cats=sorted({f["category"] for run in rep["runs"] for f in run["findings"]}),
            )
        )
    figures = {**summarise(rows), "evidence": by_reason(rows)}
    if args.loto:
        figures["loto"] = loto(corpus, runs, scorer)
    if args.dump:
        args.dump.write_text(json.dumps(rows, indent=1))
    return figures


def acc(rows) -> float:
    return sum(r["pred"] == r["truth"] for r in rows) / len(rows) if rows else float("nan")


def _count(hit: int, n: int) -> str:
    return f"{hit}/{n}"


def summarise(rows) -> dict:
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
    figures_format = format_gap(rows)
    total = {c: sum(cm[(c, p)] for p in CLASSES) for c in CLASSES}
    called = {c: sum(cm[(t, c)] for t in CLASSES) for c in CLASSES}
    figures = {
        "runs": len(rows),
        "accuracy": acc(rows),
        "false_alarms": (sum(r["pred"] != "healthy" for r in healthy), len(healthy)),
        "recall": {c: (cm[(c, c)], total[c]) for c in CLASSES},
        "precision": {c: (cm[(c, c)], called[c]) for c in CLASSES},
        "suggested": {},
    }
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
        figures["suggested"][cls] = (len(got), len(given), len(within))
    over = [r for r in rows if "overfitting" in r["secondary"]]
    flagged = sum("overfitting" in r["cats"] for r in over)
    seen = [r for r in over if r["validated"]]
    seen_flagged = sum("overfitting" in r["cats"] for r in seen)
    print(
        f"overfitting flagged {flagged}/{len(over)}; "
        f"of those that log a validation loss {seen_flagged}/{len(seen)}"
    )
    figures["overfitting"] = (flagged, len(over))
    figures["overfitting_seen"] = (seen_flagged, len(seen))
    figures["format_gap"] = figures_format
    return figures


# Random re-draws of which runs each format got: enough for a p-value to two decimals.
PERMUTATIONS = 2000


def format_gap(rows, reference: str = "csv") -> dict | None:
    """The largest gap between a format's accuracy and the reference format's, and how often
    random re-draws of which runs each format got give a gap at least as large.

    The corpus draws each run's format at random, so formats hold different runs: a gap mixes
    the reader with the runs the format happened to get. Shuffling the format labels over the
    same runs (sizes kept) measures what the runs alone produce.
    """
    import numpy as np

    formats = np.array([r["format"] for r in rows])
    right = np.array([r["truth"] == r["pred"] for r in rows], dtype=float)
    names = sorted(set(formats) - {reference})
    if reference not in formats or not names:
        return None

    def largest(labels) -> tuple[str, float]:
        base = right[labels == reference].mean()
        gaps = {n: right[labels == n].mean() - base for n in names}
        name = max(gaps, key=lambda n: abs(gaps[n]))
        return name, float(gaps[name])

    name, gap = largest(formats)
    rng = np.random.default_rng(0)
    drawn = np.array([abs(largest(rng.permutation(formats))[1]) for _ in range(PERMUTATIONS)])
    share = float(np.mean(drawn >= abs(gap) - 1e-12))
    typical = float(np.median(drawn))
    print(
        f"largest format gap to {reference}: {name} {gap * 100:+.1f} points; random re-draws of "
        f"which runs each format got ({PERMUTATIONS}) give a largest gap of {typical * 100:.1f} "
        f"points at their median, one as large in {share:.0%}"
    )
    return {"format": name, "gap": gap, "chance": share, "typical": typical, "reference": reference}


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
        # The best LR over lr / (share of the first loss lost), too-low runs (LR003 fall_gain).
        "fall_gain": float(
            10
            ** np.median(
                [
                    np.log10(r["lr_best"] * (1 - s.moved) / r["lr"])
                    for lab, s, r, _ in rows
                    if lab == "too_low" and s and s.moved < 1
                ]
            )
        ),
        # A decade under the least efficient healthy run (LR001 edge_efficiency).
        "edge_efficiency": 0.1
        * min(abs(s.efficiency) for s in healthy if s.efficiency is not None),
    }


PRIOR = ("sgd_best", "adaptive_best", "adaptive_ratio_per_lr", "adaptive_drop_per_lr", "fall_gain")


def as_params(t: dict) -> dict:
    return {
        "LR001": {
            "stuck_moved": t["stuck_moved"],
            "low_ratio": t["low_ratio"],
            **{k: t[k] for k in ("sgd_best", "adaptive_best", "adaptive_ratio_per_lr")},
            "edge_efficiency": t["edge_efficiency"],
        },
        "NL001": {k: t[k] for k in ("sgd_best", "adaptive_best", "adaptive_ratio_per_lr")},
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


def loto(corpus: Path, runs, scorer) -> dict:
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
            f"{fold['adaptive_ratio_per_lr']:.2g} / {fold['adaptive_drop_per_lr']:.2g} "
            f"edge_efficiency {fold['edge_efficiency']:.1e} fall_gain {fold['fall_gain']:.3g}: "
            f"accuracy on it {sum(mine) / len(mine):.2f}"
        )
    acc_held = sum(p == r["label"] for r, p, _ in held) / len(held)
    acc_in = sum(p == r["label"] for r, p, _ in inside) / len(inside)
    print(f"  accuracy: leave-one-task-out {acc_held:.3f}, same recipe on all tasks {acc_in:.3f}")
    print("  (below: leave-one-task-out;  same recipe on all tasks)")
    suggested = {}
    for cls in ("too_high", "too_low"):
        suggested[cls] = [_within(x, cls) for x in (held, inside)]
        print(
            f"  suggested LR, {cls}: "
            + ";  ".join(
                f"flagged {got}, given {given}, within 3x {near / max(1, given):.0%}"
                for got, given, near in suggested[cls]
            )
        )
    for cls in ("too_high", "too_low"):
        per = {t: _within([x for x in held if x[0]["task"] == t], cls) for t in tasks}
        print(
            f"  suggested LR, {cls}, held-out task: within 3x / given: "
            + "  ".join(f"{t} {near}/{given}" for t, (_, given, near) in per.items())
        )
    return {"accuracy": acc_held, "accuracy_all": acc_in, "suggested": suggested}


def _within(scored, cls: str) -> tuple[int, int, int]:
    """Flagged runs of a class: how many, how many got an LR, how many within 3x of the best."""
    got = [(r, s) for r, p, s in scored if r["label"] == cls and p == cls]
    given = [(r, s) for r, s in got if s]
    near = sum(abs(math.log10(s / r["lr_best"])) <= math.log10(3) + 1e-9 for r, s in given)
    return len(got), len(given), near


# The label an LR finding argues for, by its category (NF001: by its cause).
ARGUES = {"lr_too_high": "too_high", "lr_too_low": "too_low"}
NF_CAUSE = {"lr_too_high": "too_high", "unknown": "too_high", "numerical": "nan_numerical"}


def by_reason(rows) -> dict:
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
    return {
        "classes": [
            (key, c["right"], c["right"] + c["wrong"], stated[key])
            for key, c in sorted(tally.items())
        ],
        "bands": {band: (c["right"], c["right"] + c["wrong"]) for band, c in bands.items()},
    }


# The goals of issue 12 beside each headline figure (docs/rules.md section 1).
GOALS = {
    "accuracy": "≥ 0.90",
    "false alarms": "≤ 3 %",
    "too_high": "≥ 0.85",
    "too_low": "≥ 0.85",
    "nan_numerical": "≥ 0.95",
    "loto": "within 3 points",
    "overfitting": "≥ 80 %",
    "format": "within 5 points of CSV",
}


def _share(hit_n: tuple[int, int], pct: bool = False) -> str:
    hit, n = hit_n
    value = hit / max(1, n)
    return f"{value:.1%} ({hit}/{n})" if pct else f"{value:.2f} ({hit}/{n})"


def summary_table(f: dict) -> str:
    """docs/rules.md section 1: the headline figures against their goals."""
    p, r = f["precision"], f["recall"]
    rows = [
        (
            "accuracy (too_high / too_low / healthy / nan_numerical)",
            f"**{f['accuracy']:.3f}**",
            GOALS["accuracy"],
        ),
        (
            "healthy runs with an LR warning (false alarms)",
            _share(f["false_alarms"], True),
            GOALS["false alarms"],
        ),
        ("recall too_high", _share(r["too_high"]), GOALS["too_high"]),
        ("recall too_low", _share(r["too_low"]), GOALS["too_low"]),
        ("NaN cause recall (nan_numerical)", _share(r["nan_numerical"]), GOALS["nan_numerical"]),
        ("precision nan_numerical", _share(p["nan_numerical"]), ""),
        ("precision too_high / too_low", f"{_share(p['too_high'])} / {_share(p['too_low'])}", ""),
    ]
    if "loto" in f:
        rows.append(
            (
                "leave-one-task-out accuracy (thresholds re-derived on 6 tasks)",
                f"{f['loto']['accuracy']:.3f} (all 7: {f['loto']['accuracy_all']:.3f})",
                GOALS["loto"],
            )
        )
    if gap := f.get("format_gap"):
        rows.append(
            (
                f"largest format gap to {gap['reference']} (runs as the corpus wrote them)",
                f"{gap['format']} {gap['gap'] * 100:+.1f} points (random re-draws of which runs"
                f" each format got: {gap['typical'] * 100:.1f} at their median, as large in"
                f" {gap['chance']:.0%})",
                GOALS["format"],
            )
        )
    rows.append(
        ("overfitting runs flagged (OF001)", _share(f["overfitting"], True), GOALS["overfitting"])
    )
    rows.append(
        (
            "the same, of the overfitting runs that log a validation loss",
            _share(f["overfitting_seen"], True),
            "",
        )
    )
    lines = [f"{f['runs']} scored runs.", "", "| figure | measured | goal |", "|---|---|---|"]
    return "\n".join(lines + [f"| {a} | {b} | {c} |" for a, b, c in rows]) + "\n"


def evidence_table(f: dict) -> str:
    """docs/rules.md: each LR evidence class, how often its run's label agrees."""
    ev = f["evidence"]
    lines = [
        "| rule · reason | severity | right / fired | stated confidence |",
        "|---|---|---|---|",
    ]
    for (rule, reason, severity), right, n, stated in ev["classes"]:
        bold = "**" if stated is not None and stated < 0.9 else ""
        lines.append(
            f"| {bold}{rule} {reason}{bold} | {severity} | {right}/{n} | "
            f"{'-' if stated is None else f'{stated:.2f}'} |"
        )
    lines.append("")
    for band, (right, n) in sorted(ev["bands"].items()):
        lines.append(f"- stated {band}: right on {right} of {n} runs ({right / max(1, n):.2f})")
    return "\n".join(lines) + "\n"


def suggested_table(f: dict) -> str:
    """docs/lr-numbers.md: the suggested LR of runs flagged in the right direction."""
    cols = ["all tasks"] + (["leave-one-task-out"] if "loto" in f else [])
    lines = [
        "| runs flagged in the right direction | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for cls in ("too_low", "too_high"):
        cells = [f["suggested"][cls]] + ([f["loto"]["suggested"][cls][0]] if "loto" in f else [])
        lines.append(
            f"| {cls}: flagged / given a number / within 3× of the sweep-best | "
            + " | ".join(f"{a} / {b} / **{c / max(1, b):.0%}**" for a, b, c in cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
