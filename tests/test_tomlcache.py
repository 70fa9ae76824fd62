"""The TOML cache gives what tomllib gives, notices every change, and can be turned off."""

from __future__ import annotations

import datetime
import json
import os
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrdoctor import tomlcache

OLD = 1_600_000_000  # an mtime long past: the file is settled, not "racy"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LRDOCTOR_CACHE_DIR", str(folder))
    monkeypatch.setattr(tomlcache, "_entries", None)
    monkeypatch.setattr(tomlcache, "_dirty", False)
    return folder


def _write(path, text: str, mtime: int = OLD):
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def _fresh_process(monkeypatch):
    """What the next process sees: the cache file written, nothing in memory."""
    tomlcache._save()
    monkeypatch.setattr(tomlcache, "_entries", None)


def _no_parsing(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(tomllib, "loads", refuse)


keys = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8
)
values = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


def _toml(data: dict) -> str:
    """TOML of a table through inline values (JSON's spelling is valid TOML for these)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return {float("inf"): "inf", float("-inf"): "-inf"}.get(v, repr(v))
        if isinstance(v, dict):
            return (
                "{"
                + ", ".join(
                    f"{json.dumps(k, ensure_ascii=False)} = {value(x)}" for k, x in v.items()
                )
                + "}"
            )
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False) if isinstance(v, str) else str(v)

    return "".join(f"{json.dumps(k, ensure_ascii=False)} = {value(v)}\n" for k, v in data.items())


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(keys, values, max_size=5))
def test_cached_data_is_tomllibs_with_its_types(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("t")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LRDOCTOR_CACHE_DIR", str(tmp / "cache"))
        mp.setattr(tomlcache, "_entries", None)
        mp.setattr(tomlcache, "_dirty", False)
        path = _write(tmp / "f.toml", _toml(data))
        expected = tomllib.loads(path.read_text(encoding="utf-8"))
        assert repr(tomlcache.read_toml(path)) == repr(expected)
        _fresh_process(mp)
        _no_parsing(mp)
        assert repr(tomlcache.read_toml(path)) == repr(expected)  # from the cache file


def test_an_unchanged_file_is_not_parsed_again(cache_dir, tmp_path, monkeypatch):
    path = _write(tmp_path / "r.toml", 'id = "X1"\nlimit = 2.0\nn = 3\n')
    assert tomlcache.read_toml(path) == {"id": "X1", "limit": 2.0, "n": 3}
    _fresh_process(monkeypatch)
    assert (cache_dir / tomlcache.CACHE_FILE).is_file()
    _no_parsing(monkeypatch)
    got = tomlcache.read_toml(path)
    assert got == {"id": "X1", "limit": 2.0, "n": 3}
    assert [type(v) for v in got.values()] == [str, float, int]


def test_a_changed_file_is_parsed_again(cache_dir, tmp_path, monkeypatch):
    path = _write(tmp_path / "r.toml", "limit = 2.0\n")
    tomlcache.read_toml(path)
    _fresh_process(monkeypatch)
    _write(path, "limit = 9.5\n", mtime=OLD + 60)  # same size, another mtime
    assert tomlcache.read_toml(path) == {"limit": 9.5}
    _write(path, "limit = 2.25\n", mtime=OLD + 60)  # same mtime, another size
    assert tomlcache.read_toml(path) == {"limit": 2.25}
    _write(path, "limit = [\n")
    with pytest.raises(tomllib.TOMLDecodeError):
        tomlcache.read_toml(path)


def test_a_file_just_written_is_not_cached_yet(cache_dir, tmp_path, monkeypatch):
    path = tmp_path / "r.toml"
    path.write_text("limit = 2.0\n", encoding="utf-8")  # mtime: now
    assert tomlcache.read_toml(path) == {"limit": 2.0}
    assert str(path.resolve()) not in tomlcache._load()


def test_a_date_is_not_cached_and_still_read(cache_dir, tmp_path, monkeypatch):
    path = _write(tmp_path / "r.toml", "when = 2024-01-02\n")
    assert tomlcache.read_toml(path) == {"when": datetime.date(2024, 1, 2)}
    assert str(path.resolve()) not in tomlcache._load()


def test_an_empty_cache_dir_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv("LRDOCTOR_CACHE_DIR", "")
    monkeypatch.setattr(tomlcache, "_entries", None)
    path = _write(tmp_path / "r.toml", "limit = 2.0\n")
    assert tomlcache.read_toml(path) == {"limit": 2.0}
    assert tomlcache._load() == {}
    assert tomlcache.cache_dir() is None


def test_a_corrupt_or_unwritable_cache_is_ignored(cache_dir, tmp_path, monkeypatch):
    cache_dir.mkdir()
    (cache_dir / tomlcache.CACHE_FILE).write_text('{"x": [1, 2', encoding="utf-8")
    path = _write(tmp_path / "r.toml", "limit = 2.0\n")
    assert tomlcache.read_toml(path) == {"limit": 2.0}
    monkeypatch.setenv("LRDOCTOR_CACHE_DIR", str(path))  # a file, not a folder
    tomlcache._save()  # fails quietly
    assert tomlcache.read_toml(path) == {"limit": 2.0}


def test_the_cache_keeps_the_most_recently_used_entries(cache_dir, tmp_path, monkeypatch):
    paths = [_write(tmp_path / f"r{i}.toml", f"n = {i}\n") for i in range(tomlcache.KEEP + 5)]
    for p in paths:
        tomlcache.read_toml(p)
    _fresh_process(monkeypatch)
    kept = tomlcache._load()
    assert list(kept) == [str(p.resolve()) for p in paths[-tomlcache.KEEP :]]
