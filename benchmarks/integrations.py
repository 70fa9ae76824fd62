"""Run tests/integrations against the frameworks installed here and report what ran.

    python benchmarks/integrations.py [--write-docs] [PYTEST ARGS...]

Runs `python -m pytest tests/integrations -m integration` (LRDOCTOR_INTEGRATIONS=1, the way
`.ci/integrations` runs it after installing the frameworks) and prints each framework's
installed version, then per test module how many tests passed, were skipped (their framework
absent) or failed. With --write-docs the table goes into the `integrations` block of
docs/logging.md (benchmarks/measured.py). Exits 1 when any test failed, so a failing run is
never written up as the versions tested.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import measured  # noqa: E402

# What .ci/integrations installs, in its order.
FRAMEWORKS = [
    "torch",
    "lightning",
    "transformers",
    "accelerate",
    "keras",
    "fastai",
    "tensorboard",
    "mlflow-skinny",
    "dvclive",
    "wandb",
]


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in FRAMEWORKS:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def outcomes(junit: Path) -> dict[str, Counter]:
    """Per test module: Counter of passed / skipped / failed (errors count as failed)."""
    per: dict[str, Counter] = {}
    for case in ET.parse(junit).iter("testcase"):
        module = case.get("classname", "").split(".")[-1] or "?"
        if case.find("failure") is not None or case.find("error") is not None:
            kind = "failed"
        elif case.find("skipped") is not None:
            kind = "skipped"
        else:
            kind = "passed"
        per.setdefault(module, Counter())[kind] += 1
    return per


def render(found: dict[str, str | None], per: dict[str, Counter], wall: float) -> str:
    installed = ", ".join(f"{k} {v}" for k, v in found.items() if v)
    absent = ", ".join(k for k, v in found.items() if not v)
    lines = [f"installed: {installed or 'none'}", f"absent: {absent or 'none'}", ""]
    width = max(map(len, per), default=10)
    for module in sorted(per):
        c = per[module]
        lines.append(
            f"{module:<{width}}  {c['passed']:>3} passed  {c['skipped']:>3} skipped"
            f"  {c['failed']:>3} failed"
        )
    total = sum(per.values(), Counter())
    lines.append(
        f"{'all':<{width}}  {total['passed']:>3} passed  {total['skipped']:>3} skipped"
        f"  {total['failed']:>3} failed  ({wall:.0f} s)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    write = "--write-docs" in args
    args = [a for a in args if a != "--write-docs"]
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        env = {**os.environ, "LRDOCTOR_INTEGRATIONS": "1", "KERAS_BACKEND": "torch"}
        start = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "tests/integrations",
                "-m",
                "integration",
                "-p",
                "no:cacheprovider",
                "-q",
                f"--junitxml={junit}",
                *args,
            ],
            cwd=ROOT,
            env=env,
        )
        wall = time.monotonic() - start
        per = outcomes(junit) if junit.exists() else {}
    text = render(versions(), per, wall)
    print(text)
    failed = done.returncode != 0 or any(c["failed"] for c in per.values())
    if failed:
        print("a test failed: nothing written", file=sys.stderr)
        return 1
    if write:
        note = f"load average {load:.1f} → {os.getloadavg()[0]:.1f}"
        measured.write(
            ROOT / "docs/logging.md",
            "integrations",
            text,
            "python benchmarks/integrations.py",
            note=note,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
