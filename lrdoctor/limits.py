"""Bounds on the work one input may cause: bytes, rows, columns and wall time.

A hostile or broken file (a gzip or Parquet bomb, a million columns, a reader stuck in a loop)
must end in one error line, not exhaust the machine. The defaults sit far above any real
training log; each error names the limit and the flag that raises it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from lrdoctor.errors import InputError

GIB = 1024**3


@dataclass(frozen=True)
class Limits:
    """Per input. A real log: ~10^6 rows, ~10^4 columns, well under 1 GiB, read in seconds."""

    max_bytes: int = 4 * GIB  # bytes read, after decompression
    max_rows: int = 100_000_000
    max_columns: int = 100_000
    timeout: float = 600.0  # seconds of wall time to read and check one input

    def __post_init__(self) -> None:
        from lrdoctor.errors import ConfigError

        for name in ("max_bytes", "max_rows", "max_columns", "timeout"):
            value = getattr(self, name)
            # not `value <= 0`: NaN passes every comparison; inf would never expire
            if isinstance(value, bool) or not 0 < value < float("inf"):
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag}: expected a positive, finite number, got {value!r}")


DEFAULT = Limits()
# The limit in force for the input being read (set by `engine.check_path` in each process).
_active: list[Limits] = [DEFAULT]


def active() -> Limits:
    return _active[-1]


def exceeded(source: object, what: str, flag: str, value: int) -> InputError:
    """`<source>: <what> — raise it with <flag> <value> if the log is real`."""
    return InputError(source, what, f"raise it with {flag} {value} if the log is real")


def check_bytes(source: object, n: int) -> None:
    lim = active().max_bytes
    if n > lim:
        what = f"holds more than {human_bytes(lim)} of data, the limit per input"
        raise exceeded(source, what, "--max-bytes", max(n, 4 * lim))


def check_rows(source: object, n: int) -> None:
    lim = active().max_rows
    if n > lim:
        what = f"has {n:,} rows, over the limit of {lim:,} per input"
        raise exceeded(source, what, "--max-rows", n)


def check_columns(source: object, n: int) -> None:
    lim = active().max_columns
    if n > lim:
        what = f"has {n:,} columns, over the limit of {lim:,} per input"
        raise exceeded(source, what, "--max-columns", n)


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"  # pragma: no cover


class TimeLimit(BaseException):
    """Raised inside the input's work by SIGALRM, past any reader's `except Exception`;
    `applied` turns it into the input's error line."""


@contextlib.contextmanager
def applied(limits: Limits, source: object) -> Iterator[None]:
    """Make `limits` the active ones and bound the wall time of the block (main thread only:
    elsewhere Python cannot interrupt it, and the byte/row/column limits still hold)."""
    _active.append(limits)
    try:
        with _wall_time(limits.timeout, source):
            yield
    finally:
        _active.pop()


@contextlib.contextmanager
def _wall_time(seconds: float, source: object) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:  # someone's sooner alarm already bounds us
        yield
        return

    def expire(signum, frame):
        raise TimeLimit

    old = signal.signal(signal.SIGALRM, expire)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except TimeLimit:
        raise InputError(
            source,
            f"reading and checking it took over {seconds:g} s, the limit per input",
            f"raise it with --timeout {max(4 * seconds, 60):g} if the log is real",
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if outer_left:  # give the outer alarm back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - time.monotonic() + start, 1e-3))
