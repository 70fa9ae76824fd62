"""TOML files read once: their parsed data kept as JSON in the user's cache folder.

Every `check` reads the 17 built-in rule and data files and the nearest pyproject.toml;
importing tomllib and parsing them costs ~15-25 ms of a start-up whose floor (numpy, pyarrow)
is ~190 ms. The cache holds only what tomllib returned — plain strings, numbers, booleans,
lists and tables, stored as JSON, so reading it executes nothing — keyed by the file's
resolved path, size and modification time (as Python's own bytecode cache is). A file that
changed, or whose data JSON cannot hold exactly (a TOML date), is parsed again; a cache that
cannot be read or written is ignored. `LRDOCTOR_CACHE_DIR` names another folder; set it to
an empty string to turn the cache off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

CACHE_FILE = "toml-v1.json"
# Entries kept (the most recently used): the built-in files, a few configurations, and room
# for the rule folders of a test suite without growing without bound.
KEEP = 64
RACY_NS = 3_000_000_000

_entries: dict[str, list] | None = None  # path -> [size, mtime_ns, data], in use order
_dirty = False


def cache_dir() -> Path | None:
    """Where the cache lives: $LRDOCTOR_CACHE_DIR, else $XDG_CACHE_HOME/lrdoctor, else
    ~/.cache/lrdoctor; None when LRDOCTOR_CACHE_DIR is set but empty (no cache)."""
    named = os.environ.get("LRDOCTOR_CACHE_DIR")
    if named is not None:
        return Path(named) if named else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lrdoctor"


def read_toml(path: Path) -> dict[str, Any]:
    """`tomllib.loads(path.read_text("utf-8"))`, from the cache when the file is unchanged.

    Raises what reading and parsing the file raise (OSError, ValueError), as tomllib does."""
    global _dirty
    key = str(Path(path).resolve())
    st = os.stat(key)
    stamp = [st.st_size, st.st_mtime_ns]
    entries = _load()
    hit = entries.get(key)
    if hit is not None and hit[:2] == stamp:
        return json.loads(hit[2])
    import tomllib

    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    try:
        text = json.dumps(data, ensure_ascii=False)
        exact = repr(json.loads(text)) == repr(data)  # types too: 1 vs 1.0, no dates
    except (TypeError, ValueError):
        exact = False
    # A file changed within the last seconds could change again within the clock's resolution
    # without its stamp moving ("racy" as git calls it): such a file is not cached yet.
    settled = time.time_ns() - st.st_mtime_ns > RACY_NS
    if exact and settled and entries is not _DISABLED:
        entries.pop(key, None)
        entries[key] = [*stamp, text]
        if not _dirty:
            atexit.register(_save)  # once, at exit: one write for all the files parsed
        _dirty = True
    return data


_DISABLED: dict[str, list] = {}


def _load() -> dict[str, list]:
    global _entries
    if _entries is None:
        folder = cache_dir()
        if folder is None:
            _entries = _DISABLED
            return _entries
        try:
            raw = json.loads((folder / CACHE_FILE).read_text(encoding="utf-8"))
            ok = isinstance(raw, dict) and all(
                isinstance(v, list) and len(v) == 3 and isinstance(v[2], str) for v in raw.values()
            )
            _entries = raw if ok else {}
        except (OSError, ValueError):
            _entries = {}
    return _entries


def _save() -> None:
    """Write the cache atomically (a temporary file renamed over it); failures are ignored."""
    global _dirty
    folder = cache_dir()
    if folder is None or _entries is None or not _dirty:
        return
    keep = dict(list(_entries.items())[-KEEP:])
    tmp = folder / f".{CACHE_FILE}.{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(keep, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, folder / CACHE_FILE)
        _dirty = False
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
