"""Write a benchmark's printed figures into its marked block of a docs page, so no figure in
the docs is copied by hand.

A block is the text between `<!-- measured: NAME ... -->` and `<!-- end measured -->`; the
opening line records the command, the commit, the date and the machine's load, and the body is
what the command printed. scripts/update_docs.py regenerates the fast sections; these take
minutes (or data outside the repository), so each benchmark writes its own with --write-docs.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def block(name: str | None = None) -> re.Pattern[str]:
    """Block `name` (any block when None): groups head, body, tail."""
    key = re.escape(name) if name else r"[\w-]+"  # the whole name: not `devcorpus-summary`'s
    return re.compile(
        rf"(<!-- measured: {key}(?![\w-])[^\n]*-->\n)(.*?)(<!-- end measured -->)", re.S
    )


def provenance(command: str, note: str = "") -> str:
    """`command` at <commit>, <UTC date>, Python and numpy versions, load average (or, when the
    benchmark measured the load itself, its `note` instead of the load now)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    import numpy

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"`{command}` at {commit or 'unknown'}{' + local changes' if dirty else ''}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, {os.cpu_count()} cores, "
        + (note or f"load average {load:.1f}")
    )


def write(
    page: Path, name: str, body: str, command: str, *, markdown: bool = False, note: str = ""
) -> None:
    """Replace block `name` of `page` with `body` and its provenance: what was printed, as a
    text code block, or (`markdown`) Markdown the benchmark wrote (tables)."""
    _refuse_another_checkout()
    text = page.read_text(encoding="utf-8")
    pattern = block(name)
    if not pattern.search(text):
        raise SystemExit(f"{page}: no '<!-- measured: {name} -->' block to write into")
    head = f"<!-- measured: {name} (written by the command below; do not edit) -->\n"
    shown = body.rstrip() if markdown else f"```text\n{body.rstrip()}\n```"
    new = f"Measured by {provenance(command, note)}:\n\n{shown}\n"
    page.write_text(pattern.sub(lambda m: head + new + m[3], text, count=1), encoding="utf-8")
    print(f"wrote the '{name}' block of {page}", file=sys.stderr)


def _refuse_another_checkout() -> None:
    """The block is stamped with this checkout's commit, so the lrdoctor measured must be this
    checkout's: a benchmark run from a worktree imports the editable install of another one
    unless the worktree comes first on sys.path."""
    module = sys.modules.get("lrdoctor")
    where = Path(getattr(module, "__file__", None) or ROOT / "lrdoctor").resolve()
    if not where.is_relative_to(ROOT.resolve()):
        raise SystemExit(
            f"measured the lrdoctor at {where.parent}, not this checkout's ({ROOT}): "
            f"run with PYTHONPATH={ROOT}"
        )


@contextlib.contextmanager
def tee() -> Iterator[io.StringIO]:
    """Print as usual and keep a copy of what was printed."""
    copy = io.StringIO()

    class Both(io.TextIOBase):
        def write(self, s: str) -> int:
            copy.write(s)
            return sys.__stdout__.write(s)

    with contextlib.redirect_stdout(Both()):
        yield copy
