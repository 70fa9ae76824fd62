"""`lrdoctor rules` (the catalogue as a table or JSON) and `lrdoctor rule ID` (one rule's docs)."""

from __future__ import annotations

from pathlib import Path

import typer

from lrdoctor.commands import boundary

SECTIONS = (
    ("what", "What it does"),
    ("why", "Why is this bad?"),
    ("example", "Example"),
    ("limits", "Known problems"),
)


def _catalogue(config: Path | None, rules_dirs: list[Path] | None):
    from lrdoctor.config import build_catalogue, load_settings

    settings = load_settings(config)
    return build_catalogue([*settings.rules_dirs, *(rules_dirs or [])])


def rule_dict(rule) -> dict:
    return {
        "id": rule.id,
        "name": rule.name,
        "category": rule.category,
        "severity": rule.severity,
        "summary": rule.summary,
        "detector": rule.detector,
        "requires": list(rule.requires),
        "signal": rule.signal,
        "params": {
            n: {
                "default": p.default,
                "help": p.help,
                "min": p.min,
                "max": p.max,
                "choices": list(p.choices),
            }
            for n, p in rule.params.items()
        },
        "rationale": dict(rule.rationale),
        "fixtures": {k: list(v) for k, v in rule.fixtures.items()},
    }


@boundary
def rules_command(
    format: str = typer.Option("text", "--format", help="text or json."),
    config: Path | None = typer.Option(None, "--config", help="Configuration file to use."),
    rules_dirs: list[Path] | None = typer.Option(None, "--rules", help="Extra rule folder."),
) -> None:
    """List every rule: id, name, category, default severity and summary."""
    from lrdoctor.errors import ConfigError

    if format not in ("text", "json"):
        raise ConfigError(f"--format {format!r}", "use text or json")
    rules = _catalogue(config, rules_dirs)
    if format == "json":
        import json

        typer.echo(json.dumps([rule_dict(r) for r in rules], indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for name in ("id", "name", "category", "severity", "summary"):
        table.add_column(name, no_wrap=name != "summary")
    for r in rules:
        table.add_row(r.id, r.name, r.category, r.severity, escape(r.summary))
    import sys

    from lrdoctor.commands.check import _width

    # Not a terminal (CI, a pipe): $COLUMNS, else wide rather than wrapping at 80 columns.
    Console(highlight=False, width=_width(sys.stdout.isatty())).print(table)


@boundary
def rule_command(
    rule_id: str = typer.Argument(..., metavar="ID", help="A rule id such as NF001."),
    config: Path | None = typer.Option(None, "--config", help="Configuration file to use."),
    rules_dirs: list[Path] | None = typer.Option(None, "--rules", help="Extra rule folder."),
) -> None:
    """Explain one rule: rationale, parameters, required columns and fixtures."""
    from lrdoctor.errors import ConfigError, did_you_mean

    rules = _catalogue(config, rules_dirs)
    rule = next((r for r in rules if rule_id.upper() == r.id or rule_id == r.name), None)
    if rule is None:
        ids = [r.id for r in rules]
        raise ConfigError(
            f"unknown rule {rule_id!r}",
            did_you_mean(rule_id, [*ids, *(r.name for r in rules)], f"rules: {', '.join(ids)}"),
        )
    import sys

    from lrdoctor.commands.check import _width

    typer.echo(explain(rule, _width(sys.stdout.isatty())))


def explain(rule, width: int | None = None) -> str:
    """A rule's documentation as plain text (also readable in CI logs), its prose wrapped to
    `width` columns when given."""
    text = _explain(rule)
    if width is None:
        return text
    import textwrap

    def wrap(line: str) -> str:
        indent = " " * (len(line) - len(line.lstrip()) + (2 if line.startswith("- ") else 0))
        return textwrap.fill(line, max(40, width - 1), subsequent_indent=indent) or line

    return "\n".join(wrap(line) for line in text.splitlines())


def _explain(rule) -> str:
    lines = [
        f"{rule.id} {rule.name} ({rule.category}, default severity {rule.severity})",
        "",
        rule.summary,
        "",
    ]
    for key, title in SECTIONS:
        if rule.rationale.get(key):
            lines += [f"## {title}", rule.rationale[key], ""]
    lines.append("## Parameters")
    if not rule.params:
        lines.append("none")
    for name, p in rule.params.items():
        bounds = []
        if p.min is not None or p.max is not None:
            lo = "-inf" if p.min is None else p.min
            hi = "inf" if p.max is None else p.max
            bounds.append(f"range [{lo}, {hi}]")
        if p.choices:
            bounds.append("one of " + ", ".join(p.choices))
        extra = f" ({'; '.join(bounds)})" if bounds else ""
        lines.append(f"- {name} = {p.default!r}{extra}: {p.help}")
        lines.append(f"  set with --set {rule.id}.{name}=VALUE")
    lines += ["", "## Columns", "requires: " + (", ".join(rule.requires) or "none")]
    if rule.signal:
        lines.append(f"watches: {rule.signal}")
    if rule.optional:
        lines.append("uses when logged: " + ", ".join(rule.optional))
    lines += ["", "## Fixtures"]
    for kind in ("fires", "quiet"):
        names = rule.fixtures.get(kind, ())
        lines.append(f"{kind}: {', '.join(names) if names else 'none listed'}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command("rules", epilog="Example: lrdoctor rules --format json")(rules_command)
    app.command("rule", epilog="Example: lrdoctor rule LR001")(rule_command)
