"""Rule selection like ruff: by id, id prefix, kebab-case name or category; `ALL` for every rule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lrdoctor.catalogue import Rule
from lrdoctor.errors import ConfigError, did_you_mean


def matches(selector: str, rule: Rule) -> bool:
    s = selector.strip()
    return (
        s.upper() == "ALL"
        or rule.id.upper().startswith(s.upper())
        or s.lower() == rule.name
        or s.lower() == rule.category
    )


def validate(selectors: Iterable[str], rules: Sequence[Rule], where: str = "--select") -> None:
    for s in selectors:
        if not any(matches(s, r) for r in rules):
            valid = sorted({r.id for r in rules} | {r.category for r in rules})
            names = [*valid, *(r.name for r in rules)]
            raise ConfigError(
                f"{where}: unknown rule selector {s!r}",
                did_you_mean(
                    s,
                    names,
                    "use a rule id, id prefix, name, category or ALL "
                    f"(e.g. {', '.join(valid[:12])})",
                ),
            )


def select_rules(
    rules: Sequence[Rule],
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    extend_select: Sequence[str] = (),
) -> list[Rule]:
    """The rules left after `select` (default: all), plus `extend_select`, minus `ignore`.

    As in ruff, the more specific selector wins: `--select LR --ignore LR001` drops LR001 only.
    """
    select = ["ALL"] if select is None else list(select)
    for where, group in (("select", select), ("extend-select", extend_select), ("ignore", ignore)):
        validate(group, rules, where)
    chosen = []
    for rule in rules:
        picked = [_specificity(s, rule) for s in (*select, *extend_select) if matches(s, rule)]
        dropped = [_specificity(s, rule) for s in ignore if matches(s, rule)]
        if picked and (not dropped or max(picked) > max(dropped)):
            chosen.append(rule)
    return chosen


def _specificity(selector: str, rule: Rule) -> int:
    s = selector.strip()
    if s.upper() == "ALL":
        return 0
    if s.lower() in (rule.name, rule.category):
        return len(rule.id) if s.lower() == rule.name else 1
    return len(s)
