"""The dataclass code cache makes the same classes, is read back, and ignores what it cannot
trust; the command line defines no record before installing it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import types

import pytest

from lrdoctor import codecache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder; `dataclasses` gets its usual `exec` back afterwards."""
    monkeypatch.setenv("LRDOCTOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(codecache, "_codes", {})
    monkeypatch.setattr(codecache, "_used", set())
    monkeypatch.setattr(codecache, "_dirty", False)
    monkeypatch.setattr(codecache, "atexit", types.SimpleNamespace(register=lambda f: None))
    yield tmp_path / "cache"
    if "exec" in vars(dataclasses):
        del dataclasses.exec


def _record():
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: float
        y: float = 0.0
        tags: list = dataclasses.field(default_factory=list, compare=False)

    return Point


def _methods(cls) -> dict:
    names = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
    return {n: getattr(cls, n).__code__ for n in names}


def _fresh_process(monkeypatch):
    """What the next process sees: the table written, nothing in memory, `exec` as usual."""
    codecache._save()
    del dataclasses.exec
    monkeypatch.setattr(codecache, "_codes", {})
    monkeypatch.setattr(codecache, "_used", set())
    monkeypatch.setattr(codecache, "_dirty", False)


def test_a_cached_record_is_the_plain_dataclass_method_for_method(cache, monkeypatch):
    plain = _record()
    codecache.install()
    first = _record()
    _fresh_process(monkeypatch)
    codecache.install()
    compiled = []

    def counting(*args, **kwargs):
        compiled.append(args)
        return compile(*args, **kwargs)

    monkeypatch.setattr(codecache, "compile", counting, raising=False)
    again = _record()
    assert compiled == []  # every method came from the table
    assert _methods(plain) == _methods(first) == _methods(again)
    p = again(1.0, tags=["a"])
    assert (repr(p), p == again(1.0), hash(p)) == (
        repr(plain(1.0, tags=["a"])),
        True,
        hash(plain(1.0)),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2.0
    assert dataclasses.replace(p, y=3.0) == again(1.0, 3.0)


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"not a table"),
        lambda path: path.write_bytes(b"\0\0\0\0" + path.read_bytes()[4:]),  # other magic
        lambda path: os.chmod(path, 0o666),  # others could have written it
    ],
    ids=["garbage", "other-interpreter", "writable-by-others"],
)
def test_a_table_it_cannot_trust_is_ignored(cache, monkeypatch, damage):
    codecache.install()
    _record()
    _fresh_process(monkeypatch)
    path = codecache.cache_file()
    assert len(codecache._load(path)) >= 6
    damage(path)
    assert codecache._load(path) == {}
    codecache.install()
    assert _methods(_record()) == _methods(_record())  # compiled again, the same


def test_an_empty_cache_dir_turns_it_off(cache, monkeypatch):
    monkeypatch.setenv("LRDOCTOR_CACHE_DIR", "")
    codecache.install()
    assert "exec" not in vars(dataclasses)


def test_the_entry_point_defines_no_record_before_installing_the_cache():
    probe = (
        "import sys, dataclasses\n"
        "import lrdoctor.cli\n"
        "made = [m for m, mod in sys.modules.items() if m.startswith('lrdoctor') and any("
        "dataclasses.is_dataclass(v) for v in vars(mod).values())]\n"
        "print(made)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
