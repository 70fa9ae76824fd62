"""The Python API: `lrdoctor.check(...)` returns the same Report the CLI prints."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lrdoctor.findings import Report


def check(
    source: Any,
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    columns: Mapping[str, str] | None = None,
    optimizer: str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    severity: Mapping[str, str] | None = None,
    jobs: int | None = 1,
) -> Report:
    """Check one or more logs (paths, globs or folders) or a pandas DataFrame.

    >>> report = lrdoctor.check("run.parquet")            # doctest: +SKIP
    >>> report.runs[0].status, report.runs[0].suggested_lr  # doctest: +SKIP
    ('fail', 0.003)
    """
    from lrdoctor.catalogue import load_builtin
    from lrdoctor.engine import Options, check_paths, check_run, needed_signals, plan
    from lrdoctor.readers import discover
    from lrdoctor.selection import select_rules

    rules = select_rules(load_builtin(), select=select, ignore=ignore)
    planned = plan(rules, severity, params)
    options = Options(columns=dict(columns or {}), optimizer=optimizer)
    if _is_frame(source):
        from lrdoctor.run import run_from_frame

        run = run_from_frame(
            source, overrides=options.columns, optimizer=optimizer, extra=needed_signals(planned)
        )
        return Report(runs=[check_run(run, planned)])
    paths = [source] if isinstance(source, str | os.PathLike) else list(_as_iter(source))
    return check_paths(discover(paths), planned, options, jobs=jobs)


def _is_frame(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns")


def _as_iter(obj: Any) -> Iterable:
    return obj
