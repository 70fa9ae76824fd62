"""What the detectors know that is not one rule's: the data files rules/_optimizers.toml (what an
LR means per optimizer family) and rules/_advice.toml (how a suggested LR is sized)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from lrdoctor.tomlcache import read_toml

FAMILIES = "_optimizers.toml"
ADVICE = "_advice.toml"


@dataclass(frozen=True)
class Family:
    """One family's LR ranges (see the file's header for what each means)."""

    best: tuple[float, float]
    used: tuple[float, float] | None = None
    efficient: float | None = None


@cache
def _data(name: str) -> dict:
    from lrdoctor.catalogue import builtin_rules_dir

    return read_toml(builtin_rules_dir() / name)


def advice(key: str):
    """One number (or [low, high] pair, as a tuple) of rules/_advice.toml."""
    value = _data(ADVICE)[key]
    return tuple(float(v) for v in value) if isinstance(value, list) else float(value)


@cache
def families() -> dict[str | None, Family]:
    """Family name -> its ranges; the key None is the unknown optimizer."""
    data = _data(FAMILIES)
    out: dict[str | None, Family] = {}
    for name, table in data.items():
        out[None if name == "unknown" else name] = Family(
            best=_range(table["best"]),
            used=_range(table["used"]) if "used" in table else None,
            efficient=float(table["efficient"]) if "efficient" in table else None,
        )
    return out


@cache
def used_by_every_family() -> tuple[float, float]:
    """The LRs inside every known family's `used` range: what an unknown optimizer is surely
    used with."""
    used = [f.used for f in families().values() if f.used is not None]
    return max(low for low, _ in used), min(high for _, high in used)


def family(name: str | None) -> Family:
    """The family's ranges, the unknown optimizer's for a name the file does not list."""
    known = families()
    return known.get(name, known[None])


def _range(pair) -> tuple[float, float]:
    low, high = (float(v) for v in pair)
    return low, high
