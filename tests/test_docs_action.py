"""action.yml (docs/ci.md): sets up Python, installs lrdoctor from its own folder, and passes
paths and arguments as words, never as shell code; its steps' commands are run here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]
FIXTURE = ROOT / "fixtures/spirals_adam_too_low.parquet"  # LR004 warning


def test_inputs_and_python_setup() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert {"paths", "args", "python-version"} <= set(ACTION["inputs"])
    assert ACTION["inputs"]["paths"]["required"] is True
    setup = STEPS[0]
    assert setup["uses"].startswith("actions/setup-python@")
    assert setup["with"]["python-version"] == "${{ inputs.python-version }}"
    assert re.fullmatch(r"3\.1[1-9]", ACTION["inputs"]["python-version"]["default"])


def test_no_input_is_pasted_into_a_script() -> None:
    for step in STEPS:
        if "run" in step:
            assert "${{" not in step["run"], step["run"]
            assert step["shell"] == "bash"


def test_installs_from_the_actions_own_folder() -> None:
    [install] = [s["run"] for s in STEPS if "pip install" in s.get("run", "")]
    assert install.strip() == 'python -m pip install "$GITHUB_ACTION_PATH"'
    assert 'name = "lrdoctor"' in (ROOT / "pyproject.toml").read_text()


def run_check_step(tmp_path: Path, paths: str, args: str = ""):
    """The check step's command under bash, with the action's inputs as GitHub passes them."""
    [step] = [s for s in STEPS if "LRDOCTOR_PATHS" in s.get("env", {})]
    inputs = {"paths": paths, "args": args}
    env = {
        k: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: inputs[m[1]], v)
        for k, v in step["env"].items()
    }
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (shim / "python").chmod(0o755)
    full = {
        **os.environ,
        **env,
        "GITHUB_ACTION_PATH": str(ROOT),
        "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
    }
    full.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=tmp_path,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_paths_with_spaces_and_quoted_arguments(tmp_path: Path) -> None:
    spaced = tmp_path / "my logs" / "run one.parquet"
    spaced.parent.mkdir()
    shutil.copy(FIXTURE, spaced)
    out = run_check_step(tmp_path, f'"{spaced}"', "--fail-on warning --select 'LR004'")
    assert out.returncode == 1, out.stderr
    [line] = out.stdout.splitlines()
    assert line.startswith("::warning ") and "LR004" in line and "run one.parquet" in line


def test_shell_code_in_an_input_is_only_text(tmp_path: Path) -> None:
    out = run_check_step(tmp_path, f"{FIXTURE} ; touch pwned $(touch pwned2)", "--exit-zero")
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    assert out.returncode == 2  # ';', 'touch', ... are paths that do not exist
    assert out.stderr == "lrdoctor: error: ;: no such file or directory — check the path\n"


def test_empty_paths_is_a_one_line_error(tmp_path: Path) -> None:
    out = run_check_step(tmp_path, "  ")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "lrdoctor: error: action input 'paths' is empty — name the logs to check"
    )
