"""One session: configuration → catalogue → selection → read → run → evaluate → Report.

Every entry point opens one (`check`, `watch`, `compare`, `lr-find`, `lrdoctor.check()`, and the
`Monitor`), so the configuration file, user rule folders, `--set`, column names and the handling
of a failing rule are the same everywhere. Precedence: the caller's arguments (command line or
API) over the configuration file over the rule files' defaults.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrdoctor.catalogue import Rule
from lrdoctor.config import Settings
from lrdoctor.engine import Options, PlannedRule
from lrdoctor.findings import Report, RunReport


@dataclass(frozen=True)
class Session:
    """The settled configuration, and the one way to read and evaluate runs under it."""

    settings: Settings
    catalogue: tuple[Rule, ...]
    planned: tuple[PlannedRule, ...]
    options: Options

    @property
    def fail_on(self) -> str:
        return self.settings.fail_on

    @property
    def needed(self) -> set[str]:
        """Every signal a planned rule reads: the columns worth loading."""
        from lrdoctor.curves import PLOTTED
        from lrdoctor.engine import needed_signals

        return needed_signals(self.planned) | (set(PLOTTED) if self.options.curves else set())

    def wanted(self, names: Sequence[str], extra: Iterable[str] = ()) -> list[str]:
        """Of a log's column names, the ones worth loading under the session's column names."""
        from lrdoctor.run import wanted_columns

        return wanted_columns(names, self.options.columns, self.needed | set(extra))

    def build(self, table, extra: Iterable[str] = ()):
        """A read Table as a Run, normalised under the session's column names and optimizer."""
        from lrdoctor.run import build_run

        options = self.options
        return build_run(table, options.columns, options.optimizer, extra=self.needed | set(extra))

    def read(self, path: Path, extra: Iterable[str] = ()) -> list:
        """The runs in one input, normalised under the session's column names and optimizer;
        `extra` names signals the caller needs beyond the planned rules' (e.g. val_loss)."""
        from lrdoctor.errors import ConfigError, InputError
        from lrdoctor.limits import applied
        from lrdoctor.sources import read_input

        item = Path(path) if isinstance(path, str | os.PathLike) else path  # or a remote input
        with applied(self.options.limits, item):
            try:
                tables = read_input(item, lambda names: self.wanted(names, extra))
            except ConfigError as exc:  # a column override this log lacks: this log's error
                raise InputError(item, exc.problem, exc.hint) from None
            return [self.build(t, extra) for t in tables]

    def evaluate(self, run) -> RunReport:
        """Every planned rule on one run (watch and Monitor call this after each refresh)."""
        from lrdoctor.engine import check_run

        return check_run(run, self.planned, self.options.curves, self.options.preview)

    def check(
        self,
        paths: Sequence[Path],
        jobs: int | None = None,
        *,
        executor: str = "local",
        scheduler: str | None = None,
        advance=None,
    ) -> Report:
        """Read and evaluate many inputs, here or on Dask / Ray (`executor`, lrdoctor/
        executors.py); an unreadable input becomes an error report. `advance(n)` hears of
        inputs finished on a cluster."""
        if executor != "local" or scheduler:
            from lrdoctor.executors import run_on

            return run_on(
                executor,
                paths,
                self.planned,
                self.options,
                scheduler=scheduler,
                workers=jobs,
                advance=advance or (lambda n: None),
            )
        from lrdoctor.engine import check_paths

        return check_paths(list(paths), self.planned, self.options, jobs=jobs)

    def check_frame(self, frame) -> Report:
        """Evaluate a pandas DataFrame with one row per step."""
        from lrdoctor.run import run_from_frame

        run = run_from_frame(
            frame,
            overrides=self.options.columns,
            optimizer=self.options.optimizer,
            extra=self.needed,
        )
        return Report(runs=[self.evaluate(run)])


def open_session(
    *,
    config: Path | None = None,
    rules_dirs: Iterable[Path] = (),
    select: Sequence[str] | None = None,
    extend_select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    set_: Sequence[str] = (),
    severity: Mapping[str, str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    optimizer: str | None = None,
    columns: Mapping[str, str | None] | None = None,
    start: Path | None = None,
    where: str = "--set",
    rules: Sequence[Rule] = (),
) -> Session:
    """Settle the configuration: the file (named, or the nearest above `start` / the working
    folder), then the caller's selection, `--set` items, severities and parameters on top.
    `rules` (the Monitor's Rule objects) run with the rules `select` names instead of the
    file's selection, under the same severities and parameters.

    Raises ConfigError / CatalogueError (one line each) for anything invalid.
    """
    from lrdoctor.catalogue import build_catalogue
    from lrdoctor.config import (
        check_columns,
        check_optimizer,
        load_settings,
        merge_rule_settings,
        parse_set,
        resolve_rules,
    )
    from lrdoctor.engine import plan
    from lrdoctor.errors import ConfigError
    from lrdoctor.selection import select_rules

    settings = load_settings(config, start)
    catalogue = build_catalogue([*settings.rules_dirs, *rules_dirs])
    if rules:
        named = select_rules(catalogue, select) if select else []
        chosen = [*rules, *(r for r in named if r not in rules)]
        known = list({r.id: r for r in [*catalogue, *rules]}.values())
    else:
        chosen = _selection(catalogue, settings, select, extend_select, ignore)
        known = list(catalogue)
    if not chosen:
        raise ConfigError("the selection leaves no rule to run; check --select and --ignore")
    given: dict[str, dict[str, Any]] = merge_rule_settings(
        parse_set(list(set_)),
        {rid: {"severity": level} for rid, level in (severity or {}).items()},
        params or {},
    )
    file_sev, file_params = resolve_rules(settings.rules, known, f"{settings.path}")
    own_sev, own_params = resolve_rules(given, known, where)
    planned = plan(chosen, {**file_sev, **own_sev}, merge_rule_settings(file_params, own_params))
    named = {sig: col for sig, col in (columns or {}).items() if col}
    options = Options(
        columns=check_columns({**settings.columns, **named}, "columns"),
        optimizer=check_optimizer(optimizer, "--optimizer") if optimizer else settings.optimizer,
    )
    return Session(settings, catalogue, tuple(planned), options)


def _selection(catalogue, settings: Settings, select, extend_select, ignore) -> list[Rule]:
    """The file's selection, then the caller's on top (a caller's `select` replaces it)."""
    from lrdoctor.errors import ConfigError
    from lrdoctor.selection import select_rules

    if select is not None:
        return select_rules(catalogue, select, ignore or (), extend_select or ())
    try:
        chosen = select_rules(catalogue, settings.select, settings.ignore, settings.extend_select)
    except ConfigError as exc:
        raise ConfigError(f"{settings.path}: {exc}") from None
    # Within the caller's selectors the more specific one wins, as in select_rules.
    added = select_rules(catalogue, [], ignore or (), extend_select or ())
    dropped = {r.id for r in select_rules(catalogue, list(ignore or ()))} - {r.id for r in added}
    return [r for r in catalogue if (r in chosen or r in added) and r.id not in dropped]
