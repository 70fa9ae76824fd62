"""Does the log format change the verdict? Every ../shared/devcorpus run, written in every format.

The corpus writes each run in one format, so its per-format accuracies compare different runs
(about 60 each): a gap between two formats mixes what the format carries (window means, no
update ratio, epochs for rows) with which runs it happened to get. This script takes every
scored run's raw per-step record (raw/rNNNN.parquet), writes it again in each format with the
corpus's own writer (generate.py's `write_run`, same logging interval rule and the run's own
degraded flag), checks each file and scores it with score.py's mapping. Accuracy per format is
then measured on the same runs; disagreements with the CSV verdict are counted per format.

    python benchmarks/format_parity.py [--corpus ../shared/devcorpus] [--out DIR] [--show N]
    python benchmarks/format_parity.py --write-docs   # rewrite docs/formats.md's block
    python benchmarks/format_parity.py --every 1,5,10,25 [--write-docs]   # by logging interval
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from devcorpus import CLASSES, load_scorer, report_json  # noqa: E402


def load_generator(corpus: Path):
    spec = importlib.util.spec_from_file_location("devcorpus_generate", corpus / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def scored_runs(corpus: Path) -> list[dict]:
    """The corpus's scored training runs (range tests are scored apart)."""
    return [
        r
        for r in json.loads((corpus / "labels.json").read_text())["runs"]
        if r["label"] in CLASSES and r["family"] != "range_test"
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--corpus", type=Path, default=Path(__file__).parents[1] / "../shared/devcorpus"
    )
    ap.add_argument("--out", type=Path, help="keep the rewritten logs here (default: a temp dir)")
    ap.add_argument("--show", type=int, default=10, help="list this many disagreements")
    ap.add_argument(
        "--write-docs",
        action="store_true",
        help="write what is printed into the 'format-parity' block of docs/formats.md",
    )
    ap.add_argument(
        "--every",
        help="instead: write each run as CSV logged every N steps, for each N in this "
        "comma-separated list, and score each interval (false alarms, recall)",
    )
    args = ap.parse_args(argv)
    corpus = args.corpus.resolve()
    if args.every:
        return by_interval(args, corpus, [int(n) for n in args.every.split(",")])
    gen, scorer = load_generator(corpus), load_scorer(corpus)
    runs = scored_runs(corpus)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        verdicts: dict[str, dict[str, str]] = defaultdict(dict)
        for r in runs:
            meta, cols = gen.read_raw(corpus / r["raw_path"])
            formats = gen.FORMATS if gen.keras_ok(r["task"], r["family"]) else gen.STEP_FORMATS
            for fmt in formats:
                every = gen.choose_log_every(r, fmt, cols["loss"])
                where = out / r["run"] / fmt
                name, _, _ = gen.write_run(
                    str(where), fmt, r["degraded"], meta, cols, every, r["id"]
                )
                verdicts[r["run"]][fmt] = scorer.predict_label(report_json(where / name))[0]
    truth = {r["run"]: r["label"] for r in runs}
    own = {r["run"]: r["format"] for r in runs}
    if args.write_docs:
        import measured

        with measured.tee() as printed:
            report(verdicts, truth, own, args.show)
        command = "python benchmarks/format_parity.py"
        measured.write(
            measured.ROOT / "docs/formats.md",
            "format-parity",
            printed.getvalue(),
            command,
            markdown=True,
        )
    else:
        report(verdicts, truth, own, args.show)
    return 0


def by_interval(args, corpus: Path, intervals: list[int]) -> int:
    """Every scored run as CSV logged every N steps: what the interval does to the verdict."""
    gen, scorer = load_generator(corpus), load_scorer(corpus)
    runs = scored_runs(corpus)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        got = defaultdict(Counter)  # interval -> (truth, verdict) counts
        for r in runs:
            meta, cols = gen.read_raw(corpus / r["raw_path"])
            for every in intervals:
                where = out / r["run"] / f"every{every}"
                name, _, _ = gen.write_run(
                    str(where), "csv", r["degraded"], meta, cols, every, r["id"]
                )
                verdict = scorer.predict_label(report_json(where / name))[0]
                got[every][(r["label"], verdict)] += 1
    for every in intervals:
        rows.append(interval_row(every, got[every]))
    printed = _interval_table(rows, len(runs))
    if args.write_docs:
        import measured

        command = f"python benchmarks/format_parity.py --every {args.every}"
        measured.write(
            measured.ROOT / "docs/formats.md", "interval-parity", printed, command, markdown=True
        )
    return 0


def interval_row(every: int, counts: Counter) -> dict:
    """Accuracy, false alarms (healthy runs given an LR verdict) and recall per class."""

    def total(label):
        return sum(n for (t, _), n in counts.items() if t == label)

    n = sum(counts.values())
    healthy = total("healthy")
    alarms = sum(counts[("healthy", v)] for v in ("too_high", "too_low"))
    return dict(
        every=every,
        accuracy=sum(n_ for (t, v), n_ in counts.items() if t == v) / n,
        false_alarms=alarms / healthy if healthy else 0.0,
        **{
            f"recall_{c}": counts[(c, c)] / total(c) if total(c) else 0.0
            for c in ("too_high", "too_low", "nan_numerical")
        },
    )


def _interval_table(rows: list[dict], n: int) -> str:
    lines = [
        f"{n} scored runs, each written as CSV logged every N steps (its first row at step "
        "N-1, as a loop that logs after every N-th update writes it)\n",
        "| every N steps | accuracy | healthy runs with an LR warning | recall too_high "
        "| too_low | NaN cause |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['every']} | {r['accuracy']:.1%} | {r['false_alarms']:.1%} "
            f"| {r['recall_too_high']:.1%} | {r['recall_too_low']:.1%} "
            f"| {r['recall_nan_numerical']:.1%} |"
        )
    text = "\n".join(lines)
    print(text)
    return text


def parity(verdicts, truth, own) -> list[dict]:
    """Per format: accuracy on the runs written in it, how many verdicts differ from the same
    run's CSV verdict, the CSV accuracy on those runs, and the accuracy of the runs the corpus
    itself wrote in that format."""
    rows = []
    fmts = sorted({f for v in verdicts.values() for f in v}, key=lambda f: (f != "csv", f))
    for fmt in fmts:
        mine = [run for run, v in verdicts.items() if fmt in v]
        shipped = [run for run, f in own.items() if f == fmt]
        rows.append(
            dict(
                format=fmt,
                runs=len(mine),
                right=sum(verdicts[run][fmt] == truth[run] for run in mine),
                csv_right=sum(verdicts[run]["csv"] == truth[run] for run in mine),
                differ=sum(verdicts[run][fmt] != verdicts[run]["csv"] for run in mine),
                shipped=len(shipped),
                shipped_right=sum(verdicts[run][fmt] == truth[run] for run in shipped),
            )
        )
    return rows


def report(verdicts, truth, own, show: int) -> None:
    keras_runs = [run for run, v in verdicts.items() if "keras" in v]
    print(
        f"{len(verdicts)} scored runs, each written in every step format "
        f"({len(keras_runs)} also as Keras epochs; the others are too short in epochs)\n"
    )
    print(
        "| format | accuracy, same runs | CSV on those runs | verdicts unlike CSV's "
        "| accuracy of the runs the corpus wrote in it |"
    )
    print("|---|---|---|---|---|")
    for r in parity(verdicts, truth, own):
        print(
            f"| {r['format']} | {r['right'] / r['runs']:.1%} of {r['runs']} "
            f"| {r['csv_right'] / r['runs']:.1%} | {r['differ']} "
            f"| {r['shipped_right'] / max(r['shipped'], 1):.1%} of {r['shipped']} |"
        )
    flips = Counter(
        (fmt, vs["csv"], v, truth[run])
        for run, vs in verdicts.items()
        for fmt, v in vs.items()
        if v != vs["csv"]
    )
    if flips and show:
        print("\nmost common disagreements (format: CSV verdict -> its verdict, truth):\n")
        print("```")
        for (fmt, a, b, t), n in flips.most_common(show):
            print(f"{fmt:18s} {a} -> {b} (truth {t}): {n}")
        print("```")


if __name__ == "__main__":
    raise SystemExit(main())
