"""What an LR means per optimizer family, from rules/_optimizers.toml (data, not code)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

FILE = "_optimizers.toml"


@dataclass(frozen=True)
class Family:
    """One family's LR ranges (see the file's header for what each means)."""

    best: tuple[float, float]
    used: tuple[float, float] | None = None
    efficient: float | None = None


@cache
def families() -> dict[str | None, Family]:
    """Family name -> its ranges; the key None is the unknown optimizer."""
    from lrdoctor.catalogue import builtin_rules_dir

    data = tomllib.loads((builtin_rules_dir() / FILE).read_text(encoding="utf-8"))
    out: dict[str | None, Family] = {}
    for name, table in data.items():
        out[None if name == "unknown" else name] = Family(
            best=_range(table["best"]),
            used=_range(table["used"]) if "used" in table else None,
            efficient=float(table["efficient"]) if "efficient" in table else None,
        )
    return out


def family(name: str | None) -> Family:
    """The family's ranges, the unknown optimizer's for a name the file does not list."""
    known = families()
    return known.get(name, known[None])


def _range(pair) -> tuple[float, float]:
    low, high = (float(v) for v in pair)
    return low, high
