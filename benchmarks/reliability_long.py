"""Run tests/reliability under the long hypothesis profile and report what ran.

    python benchmarks/reliability_long.py [--write-docs] [PYTEST ARGS...]

Runs `python -m pytest tests/reliability` (or the given paths) with HYPOTHESIS_PROFILE=long
(tests/conftest.py: 2,000 examples per property test, a 30 s deadline per example) in one
process, then prints one row per property test (examples run, failing, invalid, wall time),
the totals, the tests that are not property tests, pytest's outcome, the wall time and the
machine's load at the start and the end. With --write-docs the table goes into the
`reliability-long` block of docs/reliability.md (benchmarks/measured.py). Exits 1 when any
test failed, so a failing run is never written up as a pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import measured  # noqa: E402

# `--hypothesis-show-statistics`: a test's id line, then one block per phase.
TEST_LINE = re.compile(r"^(tests/\S+::\S+):$")
COUNTS = re.compile(r"- (\d+) passing examples?, (\d+) failing examples?, (\d+) invalid examples?")
DURATION = re.compile(r"^([\d.]+)s (call|setup|teardown)\s+(tests/\S+)$")
SUMMARY = re.compile(r"^(?:=+ )?(\d+ (?:passed|failed|error).*?) in ([\d.]+)s\b")


def parse(output: str) -> tuple[dict, dict, str]:
    """Per test id: [passing, failing, invalid] summed over phases; per test id: call seconds;
    pytest's summary line."""
    counts: dict[str, list[int]] = {}
    seconds: dict[str, float] = defaultdict(float)
    summary = ""
    current = None
    for line in output.splitlines():
        if m := TEST_LINE.match(line.strip()):
            current = m[1]
            counts.setdefault(current, [0, 0, 0])
        elif (m := COUNTS.search(line)) and current:
            for k in range(3):
                counts[current][k] += int(m[k + 1])
        elif m := DURATION.match(line.strip()):
            seconds[m[3]] += float(m[1])
        elif m := SUMMARY.match(line.strip()):
            summary = f"{m[1]} in {float(m[2]):.0f} s"
    return counts, dict(seconds), summary


def table(counts: dict, seconds: dict) -> tuple[str, int, int]:
    """One row per property test function (its parametrised cases summed)."""
    rows: dict[str, list] = {}
    for test_id, (passing, failing, invalid) in counts.items():
        function = test_id.split("[", 1)[0]
        row = rows.setdefault(function, [0, 0, 0, 0, 0.0])
        row[0] += 1
        row[1] += passing + failing
        row[2] += failing
        row[3] += invalid
        row[4] += seconds.get(test_id, 0.0)
    lines = [
        "| property test | cases | examples run | failing | invalid (filtered) | wall time |",
        "|---|---|---|---|---|---|",
    ]
    for function, (cases, run, failing, invalid, secs) in sorted(rows.items()):
        name = function.removeprefix("tests/reliability/")
        lines.append(f"| `{name}` | {cases} | {run:,} | {failing} | {invalid:,} | {secs:.0f} s |")
    total_run = sum(r[1] for r in rows.values())
    total_failing = sum(r[2] for r in rows.values())
    lines.append(
        f"| **all {len(rows)} property tests** | {sum(r[0] for r in rows.values())} | "
        f"**{total_run:,}** | **{total_failing}** | {sum(r[3] for r in rows.values()):,} | "
        f"{sum(r[4] for r in rows.values()):.0f} s |"
    )
    return "\n".join(lines), total_run, total_failing


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):  # not pytest's help: this script's
        print(__doc__.strip())
        return 0
    write_docs = "--write-docs" in argv
    argv_paths = [a for a in argv if a != "--write-docs"]
    extra = argv_paths or ["tests/reliability"]
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *extra,
        "-q",
        "-p",
        "no:cacheprovider",
        "--hypothesis-show-statistics",
        "--durations=0",
        "--durations-min=0",
    ]
    env = {**os.environ, "HYPOTHESIS_PROFILE": "long"}
    load_start = os.getloadavg()[0]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    load_end = os.getloadavg()[0]
    counts, seconds, summary = parse(proc.stdout)
    body, total_run, total_failing = table(counts, seconds)
    others = sum(1 for t in seconds if t not in counts)
    text = (
        f"{body}\n\nOther tests in the run (catalogue cases, examples): {others}. "
        f"pytest: {summary or 'no summary line (see its output)'}; "
        f"{total_run:,} generated examples, {total_failing} failing; "
        f"wall time {wall / 60:.1f} min; load average {load_start:.1f} at the start, "
        f"{load_end:.1f} at the end (2-core machine shared with other jobs)."
    )
    print(text)
    failed = proc.returncode != 0 or total_failing or not counts
    if failed:
        print(proc.stdout[-5000:], proc.stderr[-2000:], sep="\n", file=sys.stderr)
    if write_docs and not failed:
        measured.write(
            ROOT / "docs/reliability.md",
            "reliability-long",
            text,
            " ".join(["python benchmarks/reliability_long.py --write-docs", *argv_paths]),
            markdown=True,
            note=f"load average {load_start:.1f} → {load_end:.1f}",
        )
    elif write_docs:
        print("not written: the run failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
