"""Configuration: `[tool.lrdoctor]` in pyproject.toml or lrdoctor.toml, merged under the CLI.

Precedence: command line over the configuration file over the rule files' defaults. The file is
data (stdlib tomllib); nothing in it is evaluated.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lrdoctor.catalogue import Rule, build_catalogue  # noqa: F401  (moved; kept for callers)
from lrdoctor.columns import SIGNALS
from lrdoctor.errors import ConfigError, did_you_mean
from lrdoctor.findings import SEVERITIES
from lrdoctor.tomlcache import read_toml

KEYS = (
    "select",
    "extend-select",
    "ignore",
    "exclude",
    "extend-exclude",
    "fail-on",
    "optimizer",
    "columns",
    "rules-dirs",
    "rules",
)
# The per-rule key that is not a parameter.
SEVERITY_KEY = "severity"


@dataclass(frozen=True)
class Settings:
    """Everything a configuration file (or the command line on top of it) can set."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    # Globs of files left out of folders and globs (`exclude` replaces, `extend-exclude` adds,
    # as ruff's); the command line's --exclude adds to both.
    exclude: tuple[str, ...] = ()
    fail_on: str = "error"
    optimizer: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    rules_dirs: tuple[Path, ...] = ()
    # Rule id -> {"severity": ..., <param>: <value>}; validated against the catalogue later.
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: Path | None = None


def find_config(start: Path) -> Path | None:
    """The nearest lrdoctor.toml, or pyproject.toml with a [tool.lrdoctor] table, upwards."""
    for folder in (start, *start.parents):
        own = folder / "lrdoctor.toml"
        if own.is_file():
            return own
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "lrdoctor" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def load_settings(path: Path | None = None, start: Path | None = None) -> Settings:
    """Settings from the named file, or from the nearest one above `start` (default: cwd)."""
    if path is None:
        path = find_config((start or Path.cwd()).resolve())
        if path is None:
            return Settings()
    elif not path.is_file():
        raise ConfigError(f"--config {path}: no such file")
    data = _read_toml(path)
    table = data.get("tool", {}).get("lrdoctor")
    if table is None:
        if path.name == "pyproject.toml":
            raise ConfigError(f"{path}: has no [tool.lrdoctor] table")
        table = data
    return parse_settings(table, path)


def _read_toml(path: Path) -> dict:
    try:
        return read_toml(path)
    except (OSError, ValueError) as exc:  # ValueError: bad TOML, not UTF-8, 4,300+ digits
        raise ConfigError(f"{path}: not a valid TOML file ({exc})") from exc


def parse_settings(table: Mapping[str, Any], path: Path) -> Settings:
    """Validate the keys and value types of a configuration table."""
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}",
            did_you_mean(unknown[0], KEYS, f"valid keys: {', '.join(KEYS)}"),
        )

    def where(key: str) -> str:
        return f"{path}: {key}"

    out = Settings(path=path)
    if "select" in table:
        out = replace(out, select=_strings(table["select"], where("select")))
    out = replace(
        out,
        extend_select=_strings(table.get("extend-select", []), where("extend-select")),
        ignore=_strings(table.get("ignore", []), where("ignore")),
        exclude=_strings(table.get("exclude", []), where("exclude"))
        + _strings(table.get("extend-exclude", []), where("extend-exclude")),
    )
    if "fail-on" in table:
        out = replace(out, fail_on=check_severity(table["fail-on"], where("fail-on")))
    if "optimizer" in table:
        out = replace(out, optimizer=check_optimizer(table["optimizer"], where("optimizer")))
    if "columns" in table:
        out = replace(out, columns=check_columns(table["columns"], where("columns")))
    if "rules-dirs" in table:
        base = path.parent.resolve()
        dirs = []
        for text in _strings(table["rules-dirs"], where("rules-dirs")):
            folder = (base / text).resolve()
            # Only follow what the user's own project holds: never a path outside its tree.
            if not folder.is_relative_to(base):
                raise ConfigError(f"{where('rules-dirs')}: {text!r} leads outside {base}")
            dirs.append(folder)
        out = replace(out, rules_dirs=tuple(dirs))
    if "rules" in table:
        rules = table["rules"]
        if not isinstance(rules, dict) or not all(isinstance(v, dict) for v in rules.values()):
            raise ConfigError(f"{where('rules')}: expected tables like [tool.lrdoctor.rules.PL001]")
        out = replace(out, rules={k: dict(v) for k, v in rules.items()})
    return out


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(v.strip() for v in value if v.strip())


def split_list(values: Iterable[str] | None) -> tuple[str, ...] | None:
    """`--select A,B --select C` -> ("A", "B", "C"); None when the option was not given."""
    if not values:
        return None
    return tuple(s.strip() for v in values for s in v.split(",") if s.strip())


def check_severity(value: Any, where: str) -> str:
    if value not in SEVERITIES:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(SEVERITIES)}")
    return value


def check_optimizer(value: Any, where: str) -> str:
    from lrdoctor.columns import OPTIMIZER_FAMILIES, canonical_optimizer

    if not isinstance(value, str) or canonical_optimizer(value) is None:
        raise ConfigError(
            f"{where}: unknown optimizer {value!r}; known: {', '.join(sorted(OPTIMIZER_FAMILIES))}"
        )
    return value.lower()


def check_columns(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: expected a table of signal = "column name"')
    for signal, column in value.items():
        if signal not in SIGNALS:
            raise ConfigError(
                f"{where}: unknown signal {signal!r}; valid signals: {', '.join(SIGNALS)}"
            )
        if not isinstance(column, str) or not column:
            raise ConfigError(f"{where}.{signal}: expected a column name, got {column!r}")
    return dict(value)


def parse_set(items: Sequence[str]) -> dict[str, dict[str, str]]:
    """`--set PL001.patience=500` -> {"PL001": {"patience": "500"}} (checked later)."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        rule, dot, param = key.strip().rpartition(".")
        if not eq or not dot or not rule or not param:
            raise ConfigError(f"--set {item!r}: expected RULE.param=value, e.g. NF001.window=0.2")
        out.setdefault(rule, {})[param] = value.strip()
    return out


def merge_rule_settings(
    *layers: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Later layers win, key by key (the command line is the last layer)."""
    out: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for rule, values in layer.items():
            out.setdefault(rule, {}).update(values)
    return out


def resolve_rules(
    rule_settings: Mapping[str, Mapping[str, Any]], rules: Sequence[Rule], where: str
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Check per-rule settings against the catalogue: (severity by id, params by id)."""
    by_id = {r.id: r for r in rules}
    severity: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    for rid, values in rule_settings.items():
        rule = by_id.get(rid)
        if rule is None:
            raise ConfigError(
                f"{where}: unknown rule {rid!r}",
                did_you_mean(rid, by_id, f"rules: {', '.join(by_id)}"),
            )
        for name, value in values.items():
            if name == SEVERITY_KEY:
                severity[rid] = check_severity(value, f"{where} {rid}.{name}")
            elif name in rule.params:
                params.setdefault(rid, {})[name] = rule.params[name].coerce(
                    value, f"{where} {rid}.{name}"
                )
            else:
                valid = [*rule.params, SEVERITY_KEY]
                raise ConfigError(
                    f"{where}: rule {rid} has no parameter {name!r}",
                    did_you_mean(name, valid, f"valid: {', '.join(valid)}"),
                )
    return severity, params


def color_wanted(choice: str, is_tty: bool, env: Mapping[str, str] | None = None) -> bool:
    """--color auto follows NO_COLOR, then FORCE_COLOR, then whether the output is a terminal."""
    env = os.environ if env is None else env
    if choice in ("always", "never"):
        return choice == "always"
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return is_tty
