"""Rewrite the generated sections of README.md from the tool itself, so they cannot go stale.

    python scripts/update_readme.py          # rewrite README.md in place
    python scripts/update_readme.py --check  # exit 1 and show the diff if README.md is stale

A section is the text between `<!-- generated: NAME ... -->` and `<!-- end generated -->`;
NAME picks one of GENERATORS below (tests/test_docs_figures.py runs --check).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SECTION = re.compile(
    r"(?P<head><!-- generated: (?P<name>[\w-]+)[^\n]*-->\n)"
    r"(?P<body>.*?)(?P<tail><!-- end generated -->)",
    re.S,
)
SAMPLE = ["check", "fixtures/spirals_adam_too_low.parquet"]


def rules_table() -> str:
    sys.path.insert(0, str(ROOT))
    from lrdoctor.catalogue import load_builtin

    rows = ["| id | name | category | severity | what it finds |", "|---|---|---|---|---|"]
    for r in sorted(load_builtin(), key=lambda r: r.id):
        rows.append(f"| {r.id} | {r.name} | {r.category} | {r.severity} | {r.summary.strip()} |")
    return "\n".join(rows) + "\n"


def sample_report() -> str:
    """`lrdoctor check` on the bundled too-low run, as a 100-column terminal shows it."""
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


GENERATORS = {"rules-table": rules_table, "sample-report": sample_report}


def render(text: str) -> str:
    def one(m: re.Match) -> str:
        name = m["name"]
        if name not in GENERATORS:
            raise SystemExit(f"README.md: unknown generated section {name!r}")
        return m["head"] + GENERATORS[name]() + m["tail"]

    return SECTION.sub(one, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether it is stale")
    args = parser.parse_args(argv)
    old = README.read_text()
    new = render(old)
    if args.check:
        if new != old:
            diff = difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), "README.md", "generated"
            )
            sys.stdout.writelines(diff)
            print("README.md is stale: run python scripts/update_readme.py", file=sys.stderr)
            return 1
        return 0
    if new != old:
        README.write_text(new)
        print("README.md rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
