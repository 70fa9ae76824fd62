"""Every shell command in README.md and docs/*.md runs, as pasted, on a clean copy of the tree.

Commands live in ```sh blocks (an untagged block that holds a command fails the collection test).
A block preceded by `<!-- illustrative: why -->` is not run (it needs a cluster, a bucket,
torch or minutes of CPU), but its scripts must exist and accept every option it passes. Install
commands are checked against the extras pyproject.toml declares and the README's test command
against .ci/run, which runs it verbatim in a new venv; everything else runs in a temporary copy
of the repository (git's files) and must exit 0 or 1 without an error line or a traceback.
Python blocks must parse, and their `lrdoctor` imports must resolve.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
ILLUSTRATIVE = re.compile(r"<!--\s*illustrative:\s*(.+?)\s*-->\s*$")
SHELL = {"sh", "bash", "shell", "console"}
LOOKS_LIKE_A_COMMAND = re.compile(r"^\s*(\$ )?(lrdoctor|python|pip|pytest)\s", re.M)


@dataclass(frozen=True)
class Command:
    page: str
    line: int
    text: str  # one logical line: continuations joined, comment removed
    illustrative: str | None  # the marker's reason

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.text}"


def blocks(page: Path):
    """(language, body, first line number, illustrative reason) of each fenced block."""
    text = page.read_text()
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = ILLUSTRATIVE.search(before)
        yield m.group(1), m.group(2), text.count("\n", 0, m.start()) + 2, marker and marker[1]


def logical_lines(body: str, first: int):
    joined, start = "", first
    for n, raw in enumerate(body.splitlines(), first):
        if not joined:
            start = n
        if raw.rstrip().endswith("\\"):
            joined += raw.rstrip()[:-1] + " "
            continue
        line = joined + raw
        joined = ""
        if shlex.split(line, comments=True):
            yield start, re.sub(r"\s+#\s.*$", "", line).strip()


def collect() -> list[Command]:
    found = []
    for page in PAGES:
        for lang, body, first, reason in blocks(page):
            if lang not in SHELL:
                continue
            for n, text in logical_lines(body, first):
                found.append(Command(str(page.relative_to(ROOT)), n, text, reason))
    return found


def collect_inline() -> list[Command]:
    """Commands quoted in the prose (`lrdoctor check fixtures/x.parquet`) that name one bundled
    fixture; the others use placeholders (RUN, PATH, run.csv), and those over every fixture
    (`fixtures/*.parquet ...`, a minute of figures) are what docs/pictures.md measured."""
    found = []
    for page in PAGES:
        text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), page.read_text())
        for m in re.finditer(r"`(lrdoctor [^`]+)`", text):
            if any(w.startswith("fixtures/") for w in shlex.split(m[1])) and "*" not in m[1]:
                line = text.count("\n", 0, m.start()) + 1
                found.append(Command(str(page.relative_to(ROOT)), line, m[1], None))
    return found


COMMANDS = collect()
RUNNABLE = [c for c in COMMANDS if not c.illustrative] + collect_inline()


def segments(command: Command) -> list[list[str]]:
    """The simple commands of an `a && b || c` line, as words."""
    out, current = [], []
    for word in shlex.split(command.text, comments=True):
        if word in ("&&", "||", ";"):
            out.append(current)
            current = []
        else:
            current.append(word)
    return [*out, current] if current else out


def is_install(words: list[str]) -> bool:
    return "install" in words and ("pip" in words[:3] or words[:3] == ["python", "-m", "pip"])


def is_test_run(words: list[str]) -> bool:
    return words[:3] == ["python", "-m", "pytest"]


def test_the_collection_finds_the_pages_commands() -> None:
    pages = {c.page for c in COMMANDS}
    assert {"README.md", "docs/trainer.md", "docs/monitoring.md", "docs/pictures.md"} <= pages
    # a short, visible list of what is not run
    illustrative = [c for c in COMMANDS if c.illustrative]
    assert len(RUNNABLE) >= 5 and len({(c.page, c.illustrative) for c in illustrative}) <= 6


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_commands_are_in_shell_blocks(page: Path) -> None:
    """A command in an untagged block would escape this file's tests."""
    for lang, body, first, _ in blocks(page):
        if lang not in SHELL and lang != "python":
            hit = LOOKS_LIKE_A_COMMAND.search(body)
            assert not hit, f"{page.name}:{first}: tag the block ```sh: {hit[0].strip()!r}"


def extras() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


@pytest.mark.parametrize(
    "command", [c for c in COMMANDS if any(map(is_install, segments(c)))], ids=str
)
def test_install_commands_name_declared_extras(command: Command) -> None:
    """Installs are not run here (.ci/run installs in a new venv); what they name must exist."""
    for words in filter(is_install, segments(command)):
        targets = [w for w in words[words.index("install") + 1 :] if not w.startswith("-")]
        assert targets, command
        for target in targets:
            m = re.fullmatch(r"(\.|lrdoctor)(?:\[([\w,-]+)\])?", target)
            assert m, f"{command}: installs {target!r}, not this project"
            assert set(filter(None, (m[2] or "").split(","))) <= extras(), command


def test_the_readme_test_command_is_what_ci_runs() -> None:
    readme = [c for c in COMMANDS if c.page == "README.md" and any(map(is_test_run, segments(c)))]
    assert readme, "the README states no test command"
    ci = (ROOT / ".ci" / "run").read_text()
    for command in readme:
        assert command.text in ci.splitlines(), f".ci/run does not run {command.text!r} verbatim"


def help_text(words: list[str], cwd: Path) -> str:
    """The --help of the script or module a `python ...` command runs."""
    target = words[1:3] if words[1] == "-m" else words[1:2]
    out = subprocess.run(
        [sys.executable, *target, "--help"], capture_output=True, text=True, cwd=cwd, timeout=60
    )
    assert out.returncode == 0, f"{' '.join(words)}: --help failed: {out.stderr[-500:]}"
    return out.stdout


def options(words: list[str]) -> list[str]:
    return [w.split("=")[0] for w in words if re.fullmatch(r"--[a-z][\w-]*(=.*)?", w)]


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.illustrative], ids=str)
def test_illustrative_commands_name_real_scripts_and_options(command: Command) -> None:
    from typer.main import get_command

    from lrdoctor.cli import app

    group = get_command(app)
    for words in segments(command):
        if words[0] == "lrdoctor":
            sub = group.commands[words[1]]
            known = {o for p in sub.params for o in p.opts}
            assert set(options(words)) <= known, command
        elif words[0] == "python" and not is_install(words):
            script = words[2] if words[1] == "-m" else words[1]
            if words[1] != "-m" and not (ROOT / script).exists():
                assert script.startswith("../"), f"{command}: no such script {script}"
                continue  # outside the repository (the dev corpus's scorer)
            text = help_text(words, ROOT)
            missing = [o for o in options(words) if o not in text]
            assert not missing, f"{command}: {script} --help does not know {missing}"


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory) -> Path:
    """A copy of the repository's files (tracked and new, not ignored), with a `lrdoctor` on
    PATH that runs this interpreter on the copy."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    if files.returncode != 0:
        pytest.skip("not a git checkout")
    copy = tmp_path_factory.mktemp("clean") / "lrdoctor"
    for name in filter(None, files.stdout.decode().split("\0")):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    bin_dir = copy.parent / "bin"
    bin_dir.mkdir()
    for name, target in (("lrdoctor", "-m lrdoctor"), ("python", "")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" {target} "$@"\n')
        shim.chmod(0o755)
    return copy


@pytest.mark.parametrize("command", RUNNABLE, ids=str)
def test_documented_command_runs(command: Command, clean_copy: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{clean_copy.parent / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(clean_copy),
        "NO_COLOR": "1",
    }
    env.pop("GITHUB_STEP_SUMMARY", None)
    ran = 0
    for words in segments(command):
        if is_install(words) or is_test_run(words):
            continue  # the two tests above
        out = subprocess.run(
            shlex.join(words),
            shell=True,
            cwd=clean_copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        ran += 1
        problem = out.stderr + out.stdout
        assert "Traceback" not in problem, f"{command}\n{problem[-2000:]}"
        assert "error:" not in out.stderr, f"{command}\n{out.stderr[-2000:]}"
        # 0: clean, 1: a finding at the fail level (a documented diverged run); never 2
        assert out.returncode in (0, 1), f"{command}: exit {out.returncode}\n{problem[-2000:]}"
    assert ran or all(is_install(w) or is_test_run(w) for w in segments(command)), command


def python_blocks():
    for page in PAGES:
        for lang, body, first, _ in blocks(page):
            if lang == "python":
                yield pytest.param(body, id=f"{page.name}:{first}")


@pytest.mark.parametrize("body", list(python_blocks()))
def test_python_blocks_parse_and_their_lrdoctor_imports_resolve(body: str) -> None:
    import importlib

    tree = ast.parse(body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] == "lrdoctor":
            try:
                module = importlib.import_module(node.module)
            except ImportError as exc:
                if exc.name and exc.name.split(".")[0] != "lrdoctor":
                    continue  # an optional framework (torch, ...) this machine lacks
                raise
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "lrdoctor":
                    importlib.import_module(alias.name)


def test_ci_config_examples_run_as_pasted(tmp_path: Path) -> None:
    """docs/ci.md's [tool.lrdoctor] table and custom rule, pasted into a project whose log has
    the columns the table names."""
    import json

    import pandas as pd

    toml_blocks = [b for lang, b, _, _ in blocks(ROOT / "docs/ci.md") if lang == "toml"]
    config = next(b for b in toml_blocks if b.startswith("[tool.lrdoctor]"))
    rule = next(b for b in toml_blocks if b.startswith('id = "CU001"'))
    # the commented-out rules-dirs line, switched on, with the rule file the page shows
    assert '# rules-dirs = ["ci/rules"]' in config
    (tmp_path / "pyproject.toml").write_text(config.replace("# rules-dirs", "rules-dirs"))
    (tmp_path / "ci/rules").mkdir(parents=True)
    (tmp_path / "ci/rules/CU001.toml").write_text(rule)
    log = pd.read_csv(ROOT / "fixtures/short_run.csv")
    log.rename(columns={"loss": "train/objective", "step": "trainer/global_step"}).to_csv(
        tmp_path / "run.csv", index=False
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "lrdoctor", "check", "run.csv", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode in (0, 1), out.stderr
    [run] = json.loads(out.stdout)["runs"]
    assert run["columns"]["loss"] == "train/objective"
    assert run["columns"]["step"] == "trainer/global_step"
    assert run["optimizer"] == "adamw"  # the file's fallback: this log does not say
    rules = {f["rule"] for f in run["findings"]} | {s["rule"] for s in run["skipped"]}
    assert not any(r.startswith("SC") for r in rules)  # ignore = ["SC"]
    assert "CU001" not in {s["rule"] for s in run["skipped"]}  # it ran (the log has the signal)
    shown = subprocess.run(
        [sys.executable, "-m", "lrdoctor", "rule", "CU001"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0 and "val-accuracy-too-slow" in shown.stdout, shown.stderr
    # as pasted, without the rules folder, the line says what to do
    (tmp_path / "ci/rules/CU001.toml").unlink()
    (tmp_path / "ci/rules").rmdir()
    out = subprocess.run(
        [sys.executable, "-m", "lrdoctor", "check", "run.csv"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.strip().endswith(
        "no such rules folder — create it, or fix --rules / rules-dirs"
    )
