"""What lrdoctor may open and write: regular files only, never one of its own inputs.

A FIFO blocks `open` forever, a device never ends, a symlink loop never stops a walk, and an
`--output` that is an input destroys the training log. Each is checked with `os.stat` before
anything is opened.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from lrdoctor.errors import ConfigError, InputError

# What a non-regular file is, in the words of the message.
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def special_kind(mode: int) -> str | None:
    """None for a regular file, else what it is ("a FIFO (named pipe)", "a socket", ...)."""
    if stat.S_ISREG(mode):
        return None
    return next((word for test, word in _KINDS if test(mode)), "not a regular file")


def unreadable(path: Path, exc: OSError) -> InputError:
    """The one-line error for a file the OS would not stat or open, with what to do."""
    if isinstance(exc, FileNotFoundError):
        return InputError(path, "no such file or directory", "check the path")
    if isinstance(exc, PermissionError):
        return InputError(path, "permission denied", "make the file readable")
    return InputError(path, f"cannot be read ({exc.strerror or exc})", "check the file is readable")


def require_regular(path: Path) -> os.stat_result:
    """Stat `path` (following links) and refuse anything but a regular file, before opening."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    kind = special_kind(st.st_mode)
    if kind is not None and not stat.S_ISDIR(st.st_mode):
        raise InputError(path, f"is {kind}, not a regular file", "lrdoctor reads log files")
    return st


def iglob_safe(pattern: str) -> Iterator[str]:
    """`glob.glob(pattern, recursive=True)` without following symlinked folders under `**`.

    The standard glob follows them, so `runs/up -> ..` makes `runs/**` walk for ever.
    """
    import glob

    parts = Path(pattern).parts
    if "**" not in parts:
        yield from glob.iglob(pattern)
        return
    first = parts.index("**")
    base = Path(*parts[:first]) if first else Path(".")
    if glob.has_magic(str(base)):
        bases = [Path(b) for b in glob.iglob(str(base)) if os.path.isdir(b)]
    else:
        bases = [base] if base.is_dir() else []
    rest = parts[first:]
    for root_base in bases:
        for root, dirs, files in os.walk(root_base, followlinks=False):
            dirs.sort()
            for name in [*dirs, *sorted(files)]:
                full = Path(root, name)
                rel = full.relative_to(root_base).parts
                if _match(rel, rest):
                    yield str(full)


def _match(parts: tuple[str, ...], pats: tuple[str, ...]) -> bool:
    """Segment-wise glob match, `**` standing for any number of folders; hidden names only
    match a pattern that starts with a dot (as in glob)."""
    if not pats:
        return not parts
    if pats[0] == "**":
        return any(
            _match(parts[i:], pats[1:])
            for i in range(len(parts) + 1)
            if not any(p.startswith(".") for p in parts[:i])
        )
    if not parts or (parts[0].startswith(".") and not pats[0].startswith(".")):
        return False
    return fnmatch.fnmatchcase(parts[0], pats[0]) and _match(parts[1:], pats[1:])


def check_output(target: Path, inputs: Iterable[Path], what: str = "--output") -> None:
    """Refuse a report target that is an input (same file or inside an input folder), a folder,
    a device or a FIFO, or a symlink to one: writing there would destroy data or block."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ConfigError(f"{what} {target}: cannot be written ({exc.strerror or exc})") from None
    if st is not None:
        kind = special_kind(st.st_mode)
        if kind is not None:
            raise ConfigError(
                f"{what} {target}: is {kind}, not a file — name a file to write the report to"
            )
    real = Path(os.path.realpath(target))
    for path in inputs:
        try:
            same = st is not None and os.path.samefile(target, path)
        except OSError:
            same = False
        source = Path(os.path.realpath(path))
        if same or real == source or (source.is_dir() and source in real.parents):
            raise ConfigError(
                f"{what} {target}: is one of the inputs ({path}) — writing the "
                "report there would destroy the log; name another file"
            )
