""".ci/run and .ci/lowest: the README's test command in a new venv with the newest versions,
then the suite again with the lowest versions pyproject.toml declares."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOWEST = (ROOT / ".ci/lowest").read_text()
RUN = (ROOT / ".ci/run").read_text()
DEPENDENCIES = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def _lowest_pins() -> list[str]:
    """What .ci/lowest installs: the output of its embedded Python, run on this checkout."""
    [script] = re.findall(r"<<'PY'\n(.*?)\nPY\n", LOWEST, re.S)
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_lowest_installs_every_declared_lower_bound():
    bounds = [re.fullmatch(r"([\w.-]+)>=([\d.]+).*", d).groups() for d in DEPENDENCIES]
    assert _lowest_pins() == [f"{name}=={low}" for name, low in bounds]
    assert {name for name, _ in bounds} >= {"numpy", "pandas", "pyarrow", "rich", "typer"}


def test_lowest_pins_go_to_the_same_install_as_the_test_extra():
    # the pins must be in the one pip call that installs the project, or pip would upgrade them
    [install] = [line for line in LOWEST.splitlines() if line.startswith("python -m pip install")]
    assert "-e '.[test]'" in install and install.rstrip().endswith("$lowest")
    assert LOWEST.rstrip().splitlines()[-1] == "python -m pytest -n 2"


def test_run_makes_a_new_venv_then_runs_lowest():
    lines = [line.strip() for line in RUN.splitlines()]
    assert any(line.startswith("python -m venv ") for line in lines)
    assert lines[-1] == "bash .ci/lowest"
    assert "python -m venv" in LOWEST and 'source "$venv/bin/activate"' in LOWEST


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize("script", ["run", "lowest", "integrations"])
def test_ci_scripts_parse(script):
    assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / script)]).returncode == 0
