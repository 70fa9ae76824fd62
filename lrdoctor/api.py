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
    config: str | os.PathLike | None = None,
    rules_dirs: Sequence[str | os.PathLike] = (),
    curves: bool = False,
) -> Report:
    """Check one or more logs (paths, globs, folders, s3:// or mlflow:// URIs) or a DataFrame.

    Settles the configuration as the CLI does: `config` (or the nearest lrdoctor.toml /
    pyproject.toml with [tool.lrdoctor] above the working folder), then these arguments.
    `curves=True` keeps each run's signals binned, so its figure (`report._repr_html_()` in a
    notebook, `lrdoctor.formats.html.render_report_html`) draws the LR, gradient norm and update
    ratio beside the loss.

    >>> report = lrdoctor.check("run.parquet")            # doctest: +SKIP
    >>> report.runs[0].status, report.runs[0].suggested_lr  # doctest: +SKIP
    ('fail', 0.003)
    """
    from pathlib import Path

    from lrdoctor.session import open_session

    session = open_session(
        config=Path(config) if config is not None else None,
        rules_dirs=[Path(d) for d in rules_dirs],
        select=select,
        ignore=ignore,
        severity=severity,
        params=params,
        optimizer=optimizer,
        columns=columns,
        where="lrdoctor.check()",
    )
    if curves:
        import dataclasses

        session = dataclasses.replace(
            session, options=dataclasses.replace(session.options, curves=True)
        )
    if _is_frame(source):
        report = session.check_frame(source)
    else:
        paths = [source] if isinstance(source, str | os.PathLike) else list(_as_iter(source))
        from lrdoctor.sources import resolve

        report = session.check(resolve(paths), jobs=jobs)
    _raise_if_nothing_usable(report, list(source.columns) if _is_frame(source) else None)
    return report


def _raise_if_nothing_usable(report: Report, frame_columns: list | None) -> None:
    """As the CLI exits 2 when no input could be judged: raise InputError for the first.

    With several inputs and some usable, the unusable ones stay error entries in the report
    (`report.exit_code()` is then 2), as `lrdoctor check` reports them.
    """
    from lrdoctor.errors import InputError

    if not report.runs or not all(r.error is not None or r.idle for r in report.runs):
        return
    run = report.runs[0]
    if run.error is not None:
        err = InputError(run.source, "")
        err.args = (run.error,)  # already `source: what — what to do`
        raise err
    if "loss" not in run.columns:
        raise InputError(
            run.source,
            f"no loss column with numbers (columns: {', '.join(map(str, frame_columns or []))})",
            "name it with columns={'loss': ...} (lrdoctor.check's argument)",
        )
    raise InputError(
        run.source,
        "no selected rule could run (the log lacks the columns they need)",
        "select other rules or log more signals (see docs/logging.md)",
    )


def _is_frame(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns")


def _as_iter(obj: Any) -> Iterable:
    return obj
