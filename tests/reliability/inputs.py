"""Builders of hostile and broken training logs shared by the reliability tests."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

from typer.testing import CliRunner

from lrdoctor.cli import app

runner = CliRunner()


def losses(n: int = 300, level: float = 0.1, noise: float = 0.01) -> list[float]:
    """A healthy, decaying loss curve with a little deterministic wiggle."""
    return [math.exp(-i / 60) + level + noise * math.sin(i) for i in range(n)]


def csv_text(
    rows: list[tuple], header: str = "step,loss,lr", sep: str = ",", newline: str = "\n"
) -> str:
    body = [sep.join(str(c) for c in row) for row in rows]
    return newline.join([header.replace(",", sep), *body]) + newline


def healthy_rows(n: int = 300) -> list[tuple]:
    return [(i, f"{v:.6f}", 0.01) for i, v in enumerate(losses(n))]


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def invoke(*args: object):
    """Run the CLI and check the invariants every outcome shares: no traceback, known exit."""
    unraisable: list = []  # what a C extension would print to stderr as "Exception ignored"
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a user would see any warning on stderr
            result = runner.invoke(app, [str(a) for a in args])
    finally:
        sys.unraisablehook = hook
    assert not unraisable, [u.exc_value for u in unraisable]
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 1, 2), (result.exit_code, text)
    return result
