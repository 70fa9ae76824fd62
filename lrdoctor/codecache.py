"""The methods `@dataclass` writes, compiled once: their code kept in the user's cache folder.

`@dataclass` writes each class's `__init__`, `__repr__`, `__eq__` (and, frozen, `__setattr__`,
`__delattr__`, `__hash__`) as source text and compiles it with `exec`: the ~27 records a
`check` defines cost ~55 M instructions of compiling, ~40 % of what lrdoctor adds to the
start-up floor of importing numpy and pyarrow. The command-line entry point (and only it: the
process is lrdoctor's) gives the `dataclasses` module an `exec` that looks the source text up
in a table of code objects compiled from that exact text by this interpreter, which is what
Python's own bytecode cache does for modules: the class comes out the same, method for
method. The table is a `marshal` file named by the interpreter's cache tag with its bytecode
magic inside, in the folder of the TOML cache (lrdoctor/tomlcache.py, `LRDOCTOR_CACHE_DIR`;
empty turns both off); it is read only when this user owns it and nobody else can write it.
A file that cannot be read is ignored; one new text makes it be written again at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER

# Texts kept: those compiled or used by this process first, then earlier ones, up to this many
# (lrdoctor's records need ~130; the rest is room for other versions and commands).
KEEP = 1024

_codes: dict[str, object] = {}
_used: set[str] = set()
_dirty = False


def cache_file():
    """The table's path, or None when the cache is off."""
    from lrdoctor.tomlcache import cache_dir

    folder = cache_dir()
    tag = sys.implementation.cache_tag
    return None if folder is None or tag is None else folder / f"dataclass-{tag}.marshal"


def install() -> None:
    """Give `dataclasses` the caching `exec` (once; nothing when the cache is off)."""
    import dataclasses

    if "exec" in vars(dataclasses):
        return
    path = cache_file()
    if path is None:
        return
    _codes.update(_load(path))
    dataclasses.exec = _exec


def _exec(source, globals=None, locals=None):
    """`exec(source, globals, locals)`, with `source` compiled at most once per cache."""
    global _dirty
    if not isinstance(source, str):
        return exec(source, globals, locals)
    code = _codes.get(source)
    if code is None:
        # What `exec(source)` compiles inside `dataclasses`: none of this module's __future__
        # flags (annotations would turn into strings).
        code = compile(source, "<string>", "exec", dont_inherit=True)
        _codes[source] = code
        if not _dirty:
            atexit.register(_save)
        _dirty = True
    _used.add(source)
    return exec(code, globals, locals)


def _load(path) -> dict:
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
                return {}
            if fh.read(len(MAGIC_NUMBER)) != MAGIC_NUMBER:
                return {}
            table = marshal.load(fh)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    code_type = type(_load.__code__)
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, code_type) for k, v in table.items()
    ):
        return {}
    return table


def _save() -> None:
    """Write the table atomically (a temporary file renamed over it); failures are ignored."""
    path = cache_file()
    if path is None or not _dirty:
        return
    keep = {s: _codes[s] for s in _used}
    for source, code in _codes.items():
        if len(keep) >= KEEP:
            break
        keep.setdefault(source, code)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(MAGIC_NUMBER)
            marshal.dump(keep, fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
