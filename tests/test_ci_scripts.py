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


def _integrations_script():
    import runpy
    import types

    return types.SimpleNamespace(**runpy.run_path(str(ROOT / "benchmarks/integrations.py")))


def test_the_integrations_report_names_what_ci_installs():
    listed = re.search(r"for name in (\[.*?\]):", (ROOT / ".ci/integrations").read_text(), re.S)
    import ast

    assert ast.literal_eval(listed[1]) == _integrations_script().FRAMEWORKS


def test_the_integrations_report_counts_each_modules_outcomes(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.integrations.test_hf" name="a"/>'
        '<testcase classname="tests.integrations.test_hf" name="b"><skipped/></testcase>'
        '<testcase classname="tests.integrations.test_keras" name="c"><failure/></testcase>'
        '<testcase classname="tests.integrations.test_keras" name="d"><error/></testcase>'
        "</testsuite></testsuites>"
    )
    script = _integrations_script()
    per = script.outcomes(junit)
    assert {k: dict(v) for k, v in per.items()} == {
        "test_hf": {"passed": 1, "skipped": 1},
        "test_keras": {"failed": 2},
    }
    text = script.render({"torch": "2.1", "keras": None}, per, 3.0)
    assert text.splitlines()[:2] == ["installed: torch 2.1", "absent: keras"]
    assert text.splitlines()[-1].split() == [
        "all",
        "1",
        "passed",
        "1",
        "skipped",
        "2",
        "failed",
        "(3",
        "s)",
    ]
