"""Presentation of numbers and templates: the one place that turns measured values into text.

Detectors return raw values; rule files hold templates with named slots; this module fills them.
Formatters and commands use the same number formatting, so "3e-4" reads the same everywhere.

Template format specs, beyond Python's own (`{x:.0%}`, `{x:,}`):
- `{x:lr}`    a learning rate as people type it: 3e-4, 0.1
- `{x:num}`   a measured number with three significant digits (the default for floats)
- `{x:times}` a factor: "60×", "3.3×" (never "3.33333×")
- `{x:list}`  a sequence joined with ", " (the default for sequences); `{x:clauses}` with "; "
"""

from __future__ import annotations

import functools
import math
import string
from collections.abc import Mapping, Sequence
from typing import Any


class SlotError(ValueError):
    """A template names a slot the evidence did not fill, or a value its spec cannot format."""


def fmt_lr(x: float | None) -> str:
    """An LR as people write it: 3e-4, 0.1 stays 0.1."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 100:
        return f"{x:.3g}"
    mant, exp = f"{x:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def fmt_num(x: float | None) -> str:
    """A measured number with three significant digits, or n/a."""
    if x is None:
        return "n/a"
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else "inf" if x > 0 else "-inf"
    return f"{x:.3g}"


def fmt_times(x: float) -> str:
    """A factor for people: whole from 10 ("60×"), one decimal below ("3.3×", "2×"), one
    significant digit below 1 ("0.3×", "0.05×"), scientific from a million ("1.2e+12×")."""
    if not math.isfinite(x):
        return f"{fmt_num(x)}×"
    if abs(x) >= 1e6:
        return f"{x:.1e}×"
    if abs(x) >= 10:
        return f"{x:,.0f}×"
    if abs(x) < 1:
        return f"{x:.1g}×"
    return f"{x:.1f}".rstrip("0").rstrip(".") + "×"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_NUMBER_SPECS = {"lr": fmt_lr, "num": fmt_num, "times": fmt_times}


def format_value(value: Any, spec: str) -> str:
    """One slot value under one spec; a value the spec cannot format is a SlotError."""
    kind = type(value)
    # Most slots are plain numbers and strings (about 16 per finding): they skip the Sequence ABC
    # check below, the costliest step of filling a template. Same text as the general path.
    if kind is float or kind is int:
        if spec in _NUMBER_SPECS:
            return _NUMBER_SPECS[spec](float(value))
        if spec == "" and kind is float:
            return fmt_num(value)
    elif kind is str and spec == "":
        return value
    if isinstance(value, Sequence) and not isinstance(value, str):
        sep = "; " if spec == "clauses" else ", "
        item_spec = "" if spec in ("", "list", "clauses") else spec
        return sep.join(format_value(v, item_spec) for v in value)
    if spec in ("lr", "num", "times"):
        if not _is_number(value):
            raise SlotError(f"{spec!r} needs a number, got {value!r}")
        return _NUMBER_SPECS[spec](float(value))
    if spec == "" and isinstance(value, float):
        return fmt_num(value)
    try:
        return format(value, spec)
    except (TypeError, ValueError) as exc:
        raise SlotError(f"cannot format {value!r} with {spec!r} ({exc})") from None


def fill(
    template: str,
    slots: Mapping[str, Any],
    phrases: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """Fill a template's named slots; a missing or None slot is a SlotError, never "n/a".

    A slot listed in `phrases` carries a code (or a sequence of codes); each code is replaced by
    its phrase from the rule file, itself a template over the same slots.
    """
    phrases = phrases or {}
    out = []
    for literal, name, spec in _parsed(template):
        out.append(literal)
        if name is None:
            continue
        if name not in slots or slots[name] is None:
            raise SlotError(f"slot {name!r} was not filled")
        value = slots[name]
        if name in phrases:
            codes = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
            texts = []
            inner = {k: v for k, v in phrases.items() if k != name}
            for code in codes:
                if code not in phrases[name]:
                    raise SlotError(f"slot {name!r}: no phrase for {code!r}")
                texts.append(fill(phrases[name][code], slots, inner))
            out.append(("; " if spec == "clauses" else ", ").join(texts))
            continue
        out.append(format_value(value, spec or ""))
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def _parsed(template: str) -> tuple[tuple[str, str | None, str | None], ...]:
    """A template's (literal, slot name, spec) parts: the templates are the rule files' few
    hundred, filled for every finding of every run, so each is parsed once per process."""
    return tuple((lit, name, spec) for lit, name, spec, _ in string.Formatter().parse(template))
