"""action.yml (docs/ci.md): sets up Python, installs lrdoctor from its own folder, and passes
paths and arguments as words, never as shell code; its steps' `run` commands are run here,
under bash, as a runner would: the install step builds and installs lrdoctor from a copy of
the action's folder (at a path with a space), and the check step runs that installed copy."""

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
RUN_STEPS = [s for s in STEPS if "run" in s]
[INSTALL] = [s for s in RUN_STEPS if "pip install" in s["run"]]
CHECK = [s for s in RUN_STEPS if s is not INSTALL]
FIXTURE = ROOT / "fixtures/spirals_adam_too_low.parquet"  # LR004 warning


def test_inputs_and_python_setup() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert {"paths", "args", "python-version"} <= set(ACTION["inputs"])
    assert ACTION["inputs"]["paths"]["required"] is True
    setup = STEPS[0]
    assert setup["uses"].startswith("actions/setup-python@")
    assert setup["with"]["python-version"] == "${{ inputs.python-version }}"
    assert re.fullmatch(r"3\.1[1-9]", ACTION["inputs"]["python-version"]["default"])
    # every other step is a command run here; none uses another action
    assert all("run" in s for s in STEPS[1:]) and CHECK


def test_no_input_is_pasted_into_a_script() -> None:
    for step in RUN_STEPS:
        assert "${{" not in step["run"], step["run"]
        assert step["shell"] == "bash"


def run_step(step: dict, inputs: dict[str, str], env: dict[str, str], cwd: Path):
    """One step's `run` under bash, its `env` filled from `inputs` (or their defaults) as the
    runner fills `${{ inputs.NAME }}` before the step starts."""
    given = {k: v.get("default", "") for k, v in ACTION["inputs"].items()} | inputs
    step_env = {
        k: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: given[m[1]], v)
        for k, v in step.get("env", {}).items()
    }
    return subprocess.run(
        [step["shell"], "-c", step["run"]],
        cwd=cwd,
        env={**env, **step_env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> dict[str, str]:
    """The job's environment after the setup and install steps: `python` on PATH (what
    setup-python provides; here the interpreter running the tests), the action's folder at
    GITHUB_ACTION_PATH, and lrdoctor installed from it by the install step's own command.

    The install goes into a target folder put first on PYTHONPATH, without build isolation
    or dependencies (pip's environment variables; the command is the step's, unchanged), so
    it needs no download: the build backend and lrdoctor's dependencies are the test
    environment's. Whatever lrdoctor the test environment has (an editable install of this
    checkout) comes after it on the path."""
    pytest.importorskip("hatchling", reason="the test extra's build backend (pyproject.toml)")
    base = tmp_path_factory.mktemp("job")
    action = base / "my actions" / "lrdoctor"
    shutil.copytree(
        ROOT,
        action,
        ignore=shutil.ignore_patterns(
            ".git", "__pycache__", "*.egg-info", ".venv", "build", "dist", "fixtures", "tests"
        ),
    )
    bin_dir = base / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "python").chmod(0o755)
    site = base / "site packages"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PIP_"))}
    env.pop("PYTHONPATH", None)
    env |= {"GITHUB_ACTION_PATH": str(action), "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}"}
    env |= {"NO_COLOR": "1"}
    pip = {
        "PIP_TARGET": str(site),
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip reads this one inverted: "0" turns isolation off
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    out = run_step(INSTALL, {}, env | pip, base)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (site / "lrdoctor" / "_rules").is_dir()  # the wheel, not a link to the folder
    return env | {"PYTHONPATH": str(site)}


def run_action(runner: dict[str, str], cwd: Path, paths: str, args: str = ""):
    """The steps after the install, in order; the last one's result."""
    for step in CHECK:
        out = run_step(step, {"paths": paths, "args": args}, runner, cwd)
    return out


def test_the_install_step_installs_the_actions_own_folder(runner, tmp_path: Path) -> None:
    assert INSTALL["run"].strip() == 'python -m pip install "$GITHUB_ACTION_PATH"'
    where = subprocess.run(
        ["python", "-c", "import lrdoctor; print(lrdoctor.__file__)"],
        env=runner,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(runner["PYTHONPATH"]), where


def test_paths_with_spaces_and_quoted_arguments(runner, tmp_path: Path) -> None:
    spaced = tmp_path / "my logs" / "run one.parquet"
    spaced.parent.mkdir()
    shutil.copy(FIXTURE, spaced)
    other = tmp_path / "it's.parquet"
    shutil.copy(FIXTURE, other)
    out = run_action(
        runner, tmp_path, f'"{spaced}"\n"{other}"', "--fail-on warning --select 'LR004'"
    )
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stdout
    assert all(x.startswith("::warning ") and "LR004" in x for x in lines)
    assert "run one.parquet" in lines[0] and "it's.parquet" in lines[1]


def test_a_relative_glob_is_expanded_by_lrdoctor(runner, tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    for name in ("a.parquet", "b.parquet"):
        shutil.copy(FIXTURE, tmp_path / "runs" / name)
    out = run_action(runner, tmp_path, "runs/*.parquet", "--exit-zero")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("::warning ") == 2


def test_shell_code_in_an_input_is_only_text(runner, tmp_path: Path) -> None:
    out = run_action(runner, tmp_path, f"{FIXTURE} ; touch pwned $(touch pwned2)", "--exit-zero")
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    assert out.returncode == 2  # ';', 'touch', ... are paths that do not exist
    assert out.stderr == "lrdoctor: error: ;: no such file or directory — check the path\n"


def test_empty_paths_is_a_one_line_error(runner, tmp_path: Path) -> None:
    out = run_action(runner, tmp_path, "  ")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "lrdoctor: error: action input 'paths' is empty — name the logs to check"
    )
