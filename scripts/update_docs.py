"""Rewrite the generated sections of README.md and docs/*.md from the tool and its data, so
they cannot go stale.

    python scripts/update_docs.py          # rewrite the pages in place
    python scripts/update_docs.py --check  # exit 1 and show the diff if a page is stale

A section is the text between `<!-- generated: NAME ... -->` and `<!-- end generated -->`;
NAME picks one of GENERATORS below (tests/test_docs_figures.py runs --check). Figures that take
minutes to measure (benchmarks/) are not regenerated here: each page names its command.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import math
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SECTION = re.compile(
    r"(?P<head><!-- generated: (?P<name>[\w-]+)[^\n]*-->\n)"
    r"(?P<body>.*?)(?P<tail><!-- end generated -->)",
    re.S,
)
SAMPLE = ["check", "fixtures/spirals_adam_too_low.parquet"]


def rules_table() -> str:
    """README: the rule catalogue, from rules/*.toml."""
    sys.path.insert(0, str(ROOT))
    from lrdoctor.catalogue import load_builtin

    rows = ["| id | name | category | severity | what it finds |", "|---|---|---|---|---|"]
    for r in sorted(load_builtin(), key=lambda r: r.id):
        rows.append(f"| {r.id} | {r.name} | {r.category} | {r.severity} | {r.summary.strip()} |")
    return "\n".join(rows) + "\n"


def sample_report() -> str:
    """README: `lrdoctor check` on the bundled too-low run, as a 100-column terminal shows it."""
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    env.pop("FORCE_COLOR", None)
    out = subprocess.run(
        [sys.executable, "-m", "lrdoctor", *SAMPLE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if out.returncode not in (0, 1) or out.stderr:
        raise SystemExit(f"lrdoctor {' '.join(SAMPLE)} failed: {out.stderr}")
    return f"```text\n{out.stdout.rstrip()}\n```\n"


def u_curves() -> str:
    """docs/trainer.md: the sweeps' U curves, from fixtures/sweeps.csv (which
    `python -m lrdoctor.trainer.sweep fixtures/sweeps.csv` re-measures)."""
    with open(ROOT / "fixtures/sweeps.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    mark = {"too_low": "↓", "too_high": "↑", "healthy": "h"}
    legend = (
        "Cell = final loss (median of the last 10 % of batch losses); `*` best LR, `h` healthy, "
        "`↑` too high, `↓` too low, `NaN` diverged."
    )
    out: list[str] = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        out += [f"### {dataset}", "", legend, ""]
        for opt in dict.fromkeys(r["optimizer"] for r in rows if r["dataset"] == dataset):
            sweep = [r for r in rows if (r["dataset"], r["optimizer"]) == (dataset, opt)]
            cells = []
            for r in sweep:
                loss = float(r["final_loss"])
                text = f"{loss:.3g}" if math.isfinite(loss) else "NaN"
                best = float(r["lr"]) == float(r["best_lr"])
                cells.append(f"{text} {'*' if best else mark[r['label']]}")
            lrs = " | ".join(f"{float(r['lr']):g}" for r in sweep)
            out += [f"**{opt}**", "", f"| lr | {lrs} |", "|---|" + "---|" * len(sweep)]
            out += ["| final | " + " | ".join(cells) + " |", ""]
        out.append("")
    return "\n".join(out)


GENERATORS = {"rules-table": rules_table, "sample-report": sample_report, "u-curves": u_curves}


def render(text: str, where: str = "page") -> str:
    def one(m: re.Match) -> str:
        name = m["name"]
        if name not in GENERATORS:
            raise SystemExit(f"{where}: unknown generated section {name!r}")
        return m["head"] + GENERATORS[name]() + m["tail"]

    return SECTION.sub(one, text)


def main(argv: list[str] | None = None, pages: list[Path] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether it is stale")
    args = parser.parse_args(argv)
    stale = 0
    for page in pages or PAGES:
        old = page.read_text()
        new = render(old, page.name)
        if new == old:
            continue
        if args.check:
            name = page.name if page.parent != ROOT / "docs" else f"docs/{page.name}"
            sys.stdout.writelines(
                difflib.unified_diff(old.splitlines(True), new.splitlines(True), name, "generated")
            )
            print(f"{name} is stale: run python scripts/update_docs.py", file=sys.stderr)
            stale = 1
        else:
            page.write_text(new)
            print(f"{page.relative_to(ROOT) if page.is_relative_to(ROOT) else page} rewritten")
    return stale


if __name__ == "__main__":
    raise SystemExit(main())
