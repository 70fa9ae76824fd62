"""Measure the rules: fixture expectations, and precision/recall of the LR rules on LR sweeps.

    python benchmarks/evaluate_rules.py            # fixtures + sweeps (regenerated, ~10 min)
    python benchmarks/evaluate_rules.py --sweep-dir DIR   # sweep logs kept in DIR: written
                                                          # there once, reused after
    python benchmarks/evaluate_rules.py --write-docs      # also rewrite docs/rules.md's blocks
                                                          # (trainer-sweeps, -summary)

Sweep labels come from the measured U curve (lrdoctor/trainer/sweep.py): a run labelled
too_high should draw an lr_too_high or non_finite finding, too_low an lr_too_low finding,
and a healthy run no warning or error at all.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = {"too_high": {"lr_too_high", "non_finite"}, "too_low": {"lr_too_low"}}


def categories(run_report, at_least=("warning", "error")) -> set[str]:
    return {f.category for f in run_report.findings if f.severity in at_least}


def evaluate_fixtures() -> int:
    import lrdoctor

    manifest = tomllib.loads((ROOT / "fixtures" / "manifest.toml").read_text())
    failures = 0
    for fx in manifest["fixture"]:
        path = ROOT / "fixtures" / fx["file"]
        if fx.get("label") == "range_test" or not path.exists():
            continue
        rr = lrdoctor.check(path).runs[0]
        got = categories(rr)
        allowed_any = {f.category for f in rr.findings}
        missing = [c for c in fx.get("expect", []) if c not in allowed_any]
        forbid = fx.get("forbid", [])
        bad = sorted(got) if "*" in forbid else sorted(got & set(forbid))
        cause_ok = True
        if fx.get("cause"):
            causes = {f.cause for f in rr.findings if f.category == "non_finite"}
            cause_ok = fx["cause"] in causes
        ok = not missing and not bad and cause_ok
        failures += not ok
        rules = ",".join(f"{f.rule}:{f.severity[0]}" for f in rr.findings)
        print(
            f"{'ok ' if ok else 'BAD'} {fx['name']:34s} {fx['label']:14s} "
            f"missing={missing or '-'} unwanted={bad or '-'} cause_ok={cause_ok} [{rules}]"
        )
    print(f"fixtures: {failures} not as expected")
    return failures


LR_CATEGORIES = PROBLEM["too_high"] | PROBLEM["too_low"]


def evaluate_sweeps(sweep_dir: Path) -> dict:
    """Print each run's verdict and the totals; return the totals (summary_table)."""
    import lrdoctor

    with open(sweep_dir / "index.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    per_rule: Counter = Counter()
    healthy_alarm: Counter = Counter()
    outcome = Counter()
    errors = []
    for row in rows:
        rr = lrdoctor.check(sweep_dir / row["file"]).runs[0]
        label = row["label"]
        got = categories(rr)
        for f in rr.findings:
            if f.severity != "info":
                per_rule[(f.rule, label)] += 1
        if label == "healthy":
            outcome[("healthy", "alarm" if got else "quiet")] += 1
            outcome[("healthy", "lr-alarm")] += bool(got & LR_CATEGORIES)
            for f in rr.findings:
                if f.severity != "info":
                    healthy_alarm[f.rule] += 1
        else:
            hit = bool(got & PROBLEM[label])
            wrong = bool(got & PROBLEM["too_low" if label == "too_high" else "too_high"])
            outcome[(label, "hit" if hit else "miss")] += 1
            outcome[(label, "wrong-direction")] += wrong
            if rr.suggested_lr and float(row["best_lr"]) > 0:
                off = abs(math.log10(float(row["lr"]) / float(row["best_lr"])))
                errors.append((abs(math.log10(rr.suggested_lr / float(row["best_lr"]))), off))
        print(
            f"{row['dataset']:10s} {row['optimizer']:9s} lr={float(row['lr']):<7g} "
            f"{label:9s} status={rr.status:5s} cats={sorted(got)} "
            f"suggested={rr.suggested_lr} best={row['best_lr']}"
        )
    print("\noutcomes:", dict(sorted(outcome.items())))
    print("findings per (rule, label):", dict(sorted(per_rule.items())))
    print("false alarms on healthy runs per rule:", dict(healthy_alarm))
    for label in ("too_high", "too_low"):
        n = outcome[(label, "hit")] + outcome[(label, "miss")]
        if n:
            hits = outcome[(label, "hit")]
            print(f"recall {label}: {hits}/{n} = {hits / n:.0%}")
    healthy = outcome[("healthy", "alarm")] + outcome[("healthy", "quiet")]
    if healthy:
        print(f"false-alarm rate on healthy: {outcome[('healthy', 'alarm')]}/{healthy}")
    for name, limit in (("all off-LR runs", 99.0), ("runs within 1.5 decades of best", 1.51)):
        errs = sorted(e for e, off in errors if off <= limit)
        if errs:
            within = sum(e <= math.log10(3) for e in errs) / len(errs)
            gain = sum(e < off for e, off in errors if off <= limit) / len(errs)
            print(
                f"suggested_lr vs sweep best, {name}: {len(errs)} runs, within 3x: {within:.0%}, "
                f"median |log10 ratio| = {errs[len(errs) // 2]:.2f}, closer than the run's "
                f"own LR: {gain:.0%}"
            )
    near = [e for e, _ in errors]
    return {
        "labels": Counter(row["label"] for row in rows),
        "outcome": outcome,
        "healthy_alarm": healthy_alarm,
        "suggested": (sum(e <= math.log10(3) for e in near), len(near)),
    }


def summary_table(f: dict) -> str:
    """docs/rules.md section 3: the sweeps' headline figures."""
    lab, out = f["labels"], f["outcome"]
    by_rule = ", ".join(f"{rule} {n}" for rule, n in f["healthy_alarm"].most_common())

    def frac(hit: int, n: int) -> str:
        return f"{hit}/{n} = {hit / max(1, n):.0%}"

    rows = [
        (
            "runs (healthy / too_high / too_low)",
            f"{sum(lab.values())} ({lab['healthy']} / {lab['too_high']} / {lab['too_low']})",
        ),
        (
            "healthy runs with an LR-category warning",
            f"{out[('healthy', 'lr-alarm')]}/{lab['healthy']}",
        ),
        (
            "healthy runs with any warning",
            f"{out[('healthy', 'alarm')]}/{lab['healthy']}" + (f" ({by_rule})" if by_rule else ""),
        ),
        ("too_high recall", frac(out[("too_high", "hit")], lab["too_high"])),
        ("too_low recall", frac(out[("too_low", "hit")], lab["too_low"])),
        (
            "wrong direction",
            str(out[("too_high", "wrong-direction")] + out[("too_low", "wrong-direction")]),
        ),
        (
            "suggested LR within 3× of the sweep's best (off-LR runs with a number)",
            frac(*f["suggested"]),
        ),
    ]
    return (
        "\n".join(["| measure | now |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep-dir", type=Path)
    parser.add_argument("--no-sweeps", action="store_true")
    parser.add_argument("--no-fixtures", action="store_true")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write what is printed into the 'trainer-sweeps' block of docs/rules.md",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if not args.write_docs:
        evaluate(args)
        return
    import measured

    with measured.tee() as printed:
        figures = evaluate(args)
    command = "python benchmarks/evaluate_rules.py"
    measured.write(ROOT / "docs/rules.md", "trainer-sweeps", printed.getvalue(), command)
    if figures:
        measured.write(
            ROOT / "docs/rules.md",
            "trainer-sweeps-summary",
            summary_table(figures),
            command + " --write-docs",
            markdown=True,
        )


def evaluate(args) -> dict | None:
    if not args.no_fixtures:
        evaluate_fixtures()
    if args.no_sweeps:
        return None
    if args.sweep_dir:
        if not (args.sweep_dir / "index.csv").exists():
            from lrdoctor.trainer.sweep import generate_sweep_runs

            generate_sweep_runs(args.sweep_dir)
        return evaluate_sweeps(args.sweep_dir)
    from lrdoctor.trainer.sweep import generate_sweep_runs

    with tempfile.TemporaryDirectory() as tmp:
        generate_sweep_runs(tmp)
        return evaluate_sweeps(Path(tmp))


if __name__ == "__main__":
    main()
