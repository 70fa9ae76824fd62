"""The entry point's fast path for `check` (no typer): the same arguments as typer's parse, or
none at all (then typer parses); and the real entry point behaves as the typer app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import lrdoctor.commands.check as check_module
from lrdoctor.cli import app, fast_check_args
from lrdoctor.commands.check import OPTIONS, check_command

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SMALL = FIXTURES / "blobs_adam_healthy.parquet"


def typer_args(args: list[str]) -> dict | None:
    """What typer passes to `check_command` for `args` (None: it refused them)."""
    seen: dict = {}

    def record(**kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    original = check_module.check_command
    check_module.check_command = record
    try:
        result = CliRunner().invoke(app, args)
    finally:
        check_module.check_command = original
    return seen if result.exit_code == 0 and seen else None


def with_defaults(kwargs: dict) -> dict:
    fn = check_command.__wrapped__
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    defaults = dict(zip(names[-len(fn.__defaults__) :], fn.__defaults__, strict=True))
    return {**defaults, **kwargs}


def test_the_table_names_every_option_of_typers_check_and_its_default():
    import typer.main

    command = typer.main.get_command(app).commands["check"]
    options = [p for p in command.params if p.param_type_name == "option"]
    typer_table = {o: p.name for p in options for o in (*p.opts, *p.secondary_opts)}
    assert typer_table == OPTIONS
    defaults = with_defaults({"paths": None})
    assert {p.name: p.default for p in options} == {p.name: defaults[p.name] for p in options}


VALUES = st.sampled_from(
    ["json", "text", "x.json", "3", "1", "0", "-1", "2.5", "0.0005", "1e3", " 3", "", "a=b", "-"]
)
PATHS = st.sampled_from(["runs/", "a.csv", "b.parquet", "s3://bucket/x.csv", "-", "--", "x y"])
ARG = st.one_of(
    PATHS,
    st.sampled_from(sorted(OPTIONS)),
    st.sampled_from(["-h", "--help", "--formats", "-qf", "-fjson", "--format=json", "--jobs=2"]),
    VALUES,
)


@given(st.lists(ARG, max_size=8))
def test_fast_path_parses_as_typer_or_leaves_it_to_typer(args):
    fast = fast_check_args(["check", *args])
    if fast is not None:
        assert with_defaults(fast) == with_defaults(typer_args(["check", *args]))


@pytest.mark.parametrize(
    "args",
    [
        ["check", "a.csv", "--format", "json", "-q", "--select", "LR", "--select", "NF001"],
        ["check", "--jobs", "2", "runs/", "--rules", "extra", "-o", "out.json", "--exit-zero"],
        ["check", "x.parquet", "--format=github", "--timeout", "2.5", "--max-rows", "10"],
    ],
)
def test_the_usual_command_lines_take_the_fast_path(args):
    fast = fast_check_args(args)
    assert fast is not None
    assert with_defaults(fast) == with_defaults(typer_args(args))


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["check", "--help"],
        ["check", "a.csv", "-h"],
        ["check", "a.csv", "--jobs", "0"],
        ["check", "a.csv", "--nope"],
        ["--version"],
        ["rules"],
        [],
    ],
)
def test_help_errors_and_other_commands_go_to_typer(args):
    assert fast_check_args(args) is None


def entry(*args: str) -> subprocess.CompletedProcess:
    """The real entry point (`lrdoctor.cli:main`) in a fresh interpreter."""
    code = "import sys; from lrdoctor.cli import main; sys.argv[0] = 'lrdoctor'; main()"
    return subprocess.run(  # os.environ as the test sees it (a plugin's COLUMNS left out)
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


@pytest.mark.parametrize("fmt", ["text", "json", "github", "junit", "markdown"])
def test_a_fast_check_prints_what_the_typer_app_prints(fmt):
    fast = entry("check", str(SMALL), "--format", fmt)
    slow = CliRunner().invoke(app, ["check", str(SMALL), "--format", fmt])
    assert (fast.returncode, fast.stdout) == (slow.exit_code, slow.stdout)


def test_a_fast_check_loads_neither_typer_nor_click():
    probe = (
        "import sys; from lrdoctor.cli import main\n"
        f"sys.argv = ['lrdoctor', 'check', {str(SMALL)!r}, '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click')),"
        " file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_errors_and_exit_codes_are_typers_on_the_fast_path(tmp_path):
    missing = entry("check", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "nope.csv" in missing.stderr
    bad_option = entry("check", str(SMALL), "--jobs", "0")
    assert bad_option.returncode == 2 and "--jobs" in bad_option.stderr
    assert entry("--version").stdout == "lrdoctor 0.1.0\n"
