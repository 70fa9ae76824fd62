"""Commands quoted in the docs' prose (`python benchmarks/x.py --opt`, `lrdoctor rule NF001`):
each names a real command, script or module, and only options it accepts. They are not run here
(most take minutes); tests/test_docs_commands.py runs the shell blocks and the quick ones."""

from __future__ import annotations

import functools
import re
import shlex
from pathlib import Path

import pytest

from tests.test_docs_commands import FENCE, PAGES, ROOT, help_text, options

QUOTED = re.compile(r"`((?:python|lrdoctor) [^`]+)`")


def _quoted() -> list[tuple[str, str]]:
    found = set()
    for page in PAGES:
        prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), page.read_text())
        found |= {(str(page.relative_to(ROOT)), m[1]) for m in QUOTED.finditer(prose)}
    return sorted(found)


QUOTED_COMMANDS = _quoted()


@functools.cache
def _help(target: tuple[str, ...]) -> str:
    """One --help per script or module, however many commands quote it."""
    return help_text(["python", *target], Path(ROOT))


def test_the_prose_quotes_commands():
    scripts = {c.split()[1] for _, c in QUOTED_COMMANDS if c.startswith("python benchmarks/")}
    assert len(scripts) >= 8 and len(QUOTED_COMMANDS) >= 50


@pytest.mark.parametrize("page, command", QUOTED_COMMANDS, ids=[c for _, c in QUOTED_COMMANDS])
def test_a_quoted_command_names_a_real_script_and_its_options(page: str, command: str) -> None:
    from typer.main import get_command

    from lrdoctor.cli import app

    words = shlex.split(command)
    if words[:3] == ["python", "-m", "lrdoctor"]:
        words = ["lrdoctor", *words[3:]]
    if words[0] == "lrdoctor":
        if words[1:] in (["--help"], ["-h"], ["--version"]):
            return
        commands = get_command(app).commands
        assert words[1] in commands, f"{page}: `{command}`: no command {words[1]!r}"
        known = {o for p in commands[words[1]].params for o in p.opts}
        assert set(options(words)) <= known, f"{page}: `{command}`"
        return
    if words[1] in ("-c", "-X") or words[1:3] == ["-m", "pytest"]:
        return  # a baseline written out in Python; pytest's own options are pytest's
    script = words[2] if words[1] == "-m" else words[1]
    if script.startswith("../"):
        return  # outside the repository (the dev corpus's scorer)
    assert words[1] == "-m" or (ROOT / script).is_file(), f"{page}: no such script {script}"
    text = _help(tuple(words[1:3] if words[1] == "-m" else words[1:2]))
    missing = [o for o in options(words) if o not in text]
    assert not missing, f"{page}: `{command}`: {script} --help does not know {missing}"
