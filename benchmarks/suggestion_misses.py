"""Where `check`'s suggested LRs miss on ../shared/devcorpus: per evidence class and optimizer.

For every run flagged in the right direction (too_high / too_low, score.py's own mapping) it
finds the finding whose number the run reports, and tallies by (rule, reason, method) and by
optimizer: how many land within 3x of the sweep-best, the median signed error in decades
(+ = too high) and its range. --blow-up also sizes every flagged too-high run from the visible
growth of its loss or gradient norm (advice.from_blow_up's edge estimate, per step, 3x below
the edge) and compares it with the number shipped, per logging cadence.

    python benchmarks/suggestion_misses.py [--corpus ../shared/devcorpus] [--blow-up]
    python benchmarks/suggestion_misses.py --blow-up --write-docs   # also docs/lr-numbers.md
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from devcorpus import load_scorer  # noqa: E402

WITHIN = math.log10(3) + 1e-9


def flagged(corpus: Path) -> list[dict]:
    """One row per correctly flagged off-LR run: its number and the evidence behind it."""
    import lrdoctor
    import lrdoctor.render as render

    scorer = load_scorer(corpus)
    seen: list[tuple] = []
    original = render.render_finding

    def keep(rule, severity, ev, run, params):
        finding = original(rule, severity, ev, run, params)
        seen.append((finding, ev.slots.get("advice")))
        return finding

    render.render_finding = keep
    rows = []
    try:
        for r in json.loads((corpus / "labels.json").read_text())["runs"]:
            if r["label"] not in ("too_high", "too_low"):
                continue
            seen.clear()
            report = json.loads(json.dumps(lrdoctor.check(str(corpus / r["path"])).to_dict()))
            label, sugg = scorer.predict_label(report)
            if label != r["label"] or not sugg:
                continue
            source = max(
                (x for x in seen if x[0].suggested_lr == sugg),
                key=lambda x: x[0].rank,
                default=(None, None),
            )
            finding, method = source
            rows.append(
                dict(
                    meta=r,
                    suggested=sugg,
                    error=math.log10(sugg / r["lr_best"]),
                    key=(finding.rule, finding.reason or "-", method) if finding else None,
                )
            )
    finally:
        render.render_finding = original
    return rows


def tally(rows: list[dict], key) -> None:
    groups = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row["error"])
    for k, errs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        near = sum(abs(e) <= WITHIN for e in errs)
        print(
            f"  {' '.join(map(str, k)) if isinstance(k, tuple) else k:44s} {near:3d}/{len(errs):3d}"
            f"  median {np.median(errs):+.2f}  range [{min(errs):+.2f}, {max(errs):+.2f}]"
        )


def blow_up_table(corpus: Path, rows: list[dict]) -> None:
    """The edge-of-stability estimate on the flagged too-high runs vs the shipped number."""
    from lrdoctor.detectors import advice as adv
    from lrdoctor.readers import read_path
    from lrdoctor.run import build_run, wanted_columns

    need = {"loss", "lr", "grad_norm"}
    tally_ = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        meta = row["meta"]
        if meta["label"] != "too_high":
            continue
        table = read_path(corpus / meta["path"], lambda n: wanted_columns(n, {}, need))[0]
        run = build_run(table, {}, None, extra=need)
        loss = run["loss"]
        head = loss.until(loss.step[max(3, len(loss) // 3) - 1] + 1)
        finite = head.finite()
        if len(finite) < 2:
            continue
        # the blow-up: up to the highest loss of the first third of the run
        until = float(finite.step[int(np.argmax(finite.value))]) + 1
        got = adv.from_blow_up(run, meta["lr"], until, last=len(head))
        if got is None or got.lr is None:
            continue
        t = tally_[meta["log_every"]]
        t[0] += 1
        t[1] += abs(math.log10(got.lr / meta["lr_best"])) <= WITHIN
        t[2] += abs(row["error"]) <= WITHIN
    print(
        "too_high runs with a measurable early blow-up (log every: runs, edge/3 within 3x, "
        "shipped within 3x):"
    )
    # Logs without a fixed cadence (Keras' per-epoch CSV) have no log_every: listed last.
    for every, (n, edge, shipped) in sorted(tally_.items(), key=lambda kv: (kv[0] is None, kv[0])):
        cadence = "-" if every is None else f"{every:2d}"
        print(f"  every {cadence:>2}: {n:3d} runs, blow-up edge {edge:3d}, shipped {shipped:3d}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--corpus", type=Path, default=Path(__file__).parents[1] / "../shared/devcorpus"
    )
    ap.add_argument("--blow-up", action="store_true", help="also try the blow-up edge estimate")
    ap.add_argument(
        "--write-docs",
        action="store_true",
        help="write what is printed into the 'suggestion-misses' block of docs/lr-numbers.md",
    )
    args = ap.parse_args(argv)
    if args.write_docs:
        sys.path.insert(0, str(Path(__file__).parent))
        import measured

        with measured.tee() as printed:
            report(args)
        command = "python benchmarks/suggestion_misses.py" + (" --blow-up" if args.blow_up else "")
        page = measured.ROOT / "docs/lr-numbers.md"
        measured.write(page, "suggestion-misses", printed.getvalue(), command)
        return 0
    report(args)
    return 0


def report(args) -> None:
    corpus = args.corpus.resolve()
    rows = flagged(corpus)
    for label in ("too_high", "too_low"):
        mine = [r for r in rows if r["meta"]["label"] == label]
        near = sum(abs(r["error"]) <= WITHIN for r in mine)
        print(f"{label}: {near}/{len(mine)} within 3x; by (rule, reason, method):")
        tally(mine, lambda r: r["key"])
        print("  by optimizer:")
        tally(mine, lambda r: r["meta"]["optimizer"])
    if args.blow_up:
        blow_up_table(corpus, rows)


if __name__ == "__main__":
    sys.exit(main())
