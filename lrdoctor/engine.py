"""The engine: read each input once, build its run, apply the planned rules, collect findings."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrdoctor.catalogue import Rule
from lrdoctor.errors import InputError, InternalError, LrdoctorError, error_text
from lrdoctor.findings import Finding, Report, RuleOutcome, RunReport
from lrdoctor.limits import DEFAULT as DEFAULT_LIMITS
from lrdoctor.limits import Limits, applied

PREVIEW_POINTS = 120


@dataclass(frozen=True)
class PlannedRule:
    """A rule as it will run: the user's severity (None: the rule file's) and its parameters."""

    rule: Rule
    severity: str | None
    params: Mapping[str, Any]

    # What `apply_rule` asks of every rule on every run, worked out once per process (a check
    # of 500 small logs asked it 7,000 times). cached_property fills the instance's __dict__,
    # which a frozen dataclass allows, and pickles with it to the workers.
    @functools.cached_property
    def needs(self) -> tuple[str, ...]:
        """The signals the rule cannot run without: its required ones and its `signal`."""
        return (*self.rule.requires, *([self.rule.signal] if self.rule.signal else []))

    @functools.cached_property
    def detector_params(self) -> Mapping[str, Any]:
        """The detector's keyword arguments: generic detectors learn the column to watch from
        the rule's `signal`. Shared by every run: nothing writes into it."""
        signal = self.rule.signal
        return {**self.params, "signal": signal} if signal else dict(self.params)


@dataclass(frozen=True)
class Options:
    """How to read the inputs: column overrides and the optimizer, when the user named them."""

    columns: Mapping[str, str] = field(default_factory=dict)
    optimizer: str | None = None
    # Keep each plotted signal binned in the report (lrdoctor/curves.py) for pictures.
    curves: bool = False
    limits: Limits = DEFAULT_LIMITS
    # Keep the loss preview (`RunReport.preview`) for the text report's sparkline and the
    # plots; the other output formats never show it, so their checks skip computing it.
    preview: bool = True


def plan(
    rules: Iterable[Rule],
    severity: Mapping[str, str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[PlannedRule]:
    """Attach the user's severities and parameters (already validated) to the selected rules.

    A user's severity overrides every reason's severity of that rule, so it is kept apart from
    the rule file's (which may differ per reason) until a finding is made.
    """
    severity, params = severity or {}, params or {}
    return [
        PlannedRule(r, severity.get(r.id), {**r.defaults(), **params.get(r.id, {})}) for r in rules
    ]


def needed_signals(planned: Sequence[PlannedRule]) -> set[str]:
    """Every signal some planned rule reads: the columns worth loading."""
    out = {"loss", "lr"}
    for p in planned:
        out.update(p.rule.requires, p.rule.optional)
        if p.rule.signal:
            out.add(p.rule.signal)
    return out


def check_run(
    run, planned: Sequence[PlannedRule], curves: bool = False, preview: bool = True
) -> RunReport:
    """Apply every planned rule to one normalised run; a detector that raises is an outcome.

    `curves`: also keep the run's plotted signals, binned, for a picture of it; `preview`:
    keep the sampled loss curve (`RunReport.preview`), left empty without it.
    """
    report = RunReport(
        source=run.source,
        columns=dict(run.columns),
        optimizer=run.optimizer,
        n_steps=run.n_steps,
        preview=_preview(run) if preview else ((), ()),
    )
    if curves:
        from lrdoctor.curves import run_curves

        report.curves = run_curves(run)
    import numpy as np

    # Logged values may be huge, tiny or non-finite: the detectors' arithmetic may overflow to
    # inf or give NaN, which they treat as "no evidence"; numpy need not warn about it. Set
    # once per run, not per rule (entering an errstate costs more than some detectors).
    with np.errstate(all="ignore"):
        for p in planned:
            outcome, findings = apply_rule(run, p)
            report.outcomes.append(outcome)
            report.findings.extend(findings)
    report.findings.sort(key=lambda f: (-f.rank, f.step if f.step is not None else -1, f.rule))
    best = _run_suggestion(report.findings)
    if best is not None:
        report.suggested_lr, report.suggested_lr_range = best.suggested_lr, best.suggested_lr_range
    return report


def apply_rule(run, p: PlannedRule) -> tuple[RuleOutcome, list[Finding]]:
    """One rule on one run: skipped (signals missing), passed, fired, or detector_error
    (called by `check_run`, under its numpy errstate)."""
    from lrdoctor.detectors import NotJudged, run_detector
    from lrdoctor.present import SlotError
    from lrdoctor.render import render_finding

    rule = p.rule
    missing = [s for s in p.needs if not run.has(s)]
    if missing:
        return RuleOutcome(rule.id, rule.name, "skipped", f"needs {', '.join(missing)}"), []
    params = p.detector_params
    try:
        evidence = run_detector(rule.detector, run, params)
        findings = [render_finding(rule, p.severity, ev, run, params) for ev in evidence]
    except NotJudged as why:  # e.g. too little of the run at its peak LR to read it
        said = render_finding(rule, p.severity, why.evidence, run, params)
        return RuleOutcome(rule.id, rule.name, "skipped", said.message), []
    except SlotError as exc:  # the rule file names a slot this evidence does not fill
        where = f"{Path(rule.path).name}: " if rule.path else ""
        return RuleOutcome(rule.id, rule.name, "detector_error", f"{where}{exc}"), []
    except Exception as exc:  # noqa: BLE001  (a bug in one rule must not hide the others)
        where = _origin(exc)
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return RuleOutcome(rule.id, rule.name, "detector_error", f"{detail}{where}"), []
    return RuleOutcome(rule.id, rule.name, "fired" if findings else "passed"), findings


def _origin(exc: BaseException) -> str:
    """Where in lrdoctor the exception was raised (file:line), for the bug report."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    return f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""


# Which evidence sizes the LR best: a divergence's growth rate, then the loss shape, then the rest.
SUGGESTION_ORDER = ("non_finite", "lr_too_high", "lr_too_low", "schedule")


def _run_suggestion(findings: Sequence[Finding]) -> Finding | None:
    """The run's LR advice: its most telling LR-related warning or error that gives a number.
    An info finding's number stays on the finding: a report that passes does not tell its
    reader to change the LR (on the development corpus, the numbers of info findings on healthy
    runs landed within 3x of the sweep's best less often than not)."""
    numbered = [f for f in findings if f.suggested_lr is not None and f.severity != "info"]
    numbered.sort(key=lambda f: (-f.rank, _order(f.category)))
    return numbered[0] if numbered else None


def _order(category: str) -> int:
    order = SUGGESTION_ORDER
    return order.index(category) if category in order else len(order)


def _preview(run) -> tuple[tuple[float, ...], ...]:
    """(steps, losses, highs): PREVIEW_POINTS sampled losses and, for each, the highest finite
    loss up to the next sample, so a few-step spike in a long run survives for the sparkline."""
    import numpy as np

    if not run.has("loss"):
        return ((), ())
    s = run["loss"]
    idx = np.linspace(0, len(s) - 1, min(PREVIEW_POINTS, len(s))).astype(int)
    idx = idx[np.concatenate(([True], idx[1:] != idx[:-1]))]  # rising: np.unique loads numpy.ma
    with np.errstate(invalid="ignore"):
        highs = np.fmax.reduceat(np.where(np.isfinite(s.value), s.value, np.nan), idx)
    return tuple(s.step[idx].tolist()), tuple(s.value[idx].tolist()), tuple(highs.tolist())


def check_path(path, planned: Sequence[PlannedRule], options: Options) -> list[RunReport]:
    """Read one input (which may hold several runs) and check each run; errors become reports.

    `path` is any input a source resolved (lrdoctor/sources): a local path, an object in a
    bucket, an MLflow run. This is the per-input function every executor maps.
    """
    from lrdoctor.run import build_run, wanted_columns
    from lrdoctor.sources import read_input

    needed = needed_signals(planned)
    if options.curves:
        from lrdoctor.curves import PLOTTED

        needed |= set(PLOTTED)
    where = "input dispatch"
    try:
        with applied(options.limits, path):
            tables = read_input(path, lambda names: wanted_columns(names, options.columns, needed))
            reports = []
            for table in tables:
                where = "run normalisation"
                run = build_run(table, options.columns, options.optimizer, extra=needed)
                if not run.has("loss"):
                    raise _no_loss(table, options.columns)
                where = "the engine"
                reports.append(check_run(run, planned, options.curves, options.preview))
        return reports
    except LrdoctorError as exc:  # a column override this log lacks names the log, too
        text = str(exc) if getattr(exc, "source", "") else error_text(path, str(exc))
        return [RunReport(source=str(path), error=text)]
    except Exception as exc:  # noqa: BLE001  (a bug on one input must not lose the others)
        return [RunReport(source=str(path), error=str(InternalError(path, where, exc)))]


def _no_loss(table, overrides: Mapping[str, str]) -> InputError:
    """Say why a table gave no loss: no rows yet, no usable steps or losses, or no column."""
    import numpy as np

    from lrdoctor.columns import detect_columns

    found = detect_columns(table.names, overrides)
    column, step = found.get("loss"), found.get("step")
    if column is not None and not any(len(v) for v in table.values.values()):
        return InputError(
            table.source, "has column names but no rows", "is the training job writing to it yet?"
        )
    if column is not None and step in table.values and not np.isfinite(table.values[step]).any():
        return InputError(
            table.source,
            f"the step column {step!r} holds no numbers",
            "name another with --step-col",
        )
    if column is not None:
        return InputError(
            table.source,
            f"the loss column {column!r} holds no numbers",
            "check what the logger writes there, or pick another with --loss-col",
        )
    return InputError(
        table.source,
        "no loss column found (columns: "
        + ", ".join(table.names[:20])
        + (", ..." if len(table.names) > 20 else "")
        + ")",
        "name it with --loss-col",
    )


def check_paths(
    paths: Sequence[Path],
    planned: Sequence[PlannedRule],
    options: Options | None = None,
    jobs: int | None = None,
) -> Report:
    """Check many inputs, in parallel processes when there are several and cores to spare."""
    options = options or Options()
    jobs = min(jobs or os.cpu_count() or 1, len(paths))
    if jobs <= 1 or len(paths) < 4:
        results = [check_path(p, planned, options) for p in paths]
    else:
        results = _in_workers(list(paths), planned, options, jobs)
    return Report(runs=[r for group in results for r in group])


def _in_workers(paths: list[Path], planned, options: Options, jobs: int) -> list[list[RunReport]]:
    """Run `check_path` in worker processes; a worker that dies loses only its own input.

    When a worker is killed (out of memory, a signal) the pool breaks and every unfinished
    input fails with it. Inputs are handed out in order, in batches, so the ones in flight
    were in the first `jobs + 1` unfinished batches: each of those inputs is retried alone,
    the rest in a fresh pool.
    """
    done: dict[int, list[RunReport]] = {}
    pending = list(range(len(paths)))
    while pending:
        lost = _pool_round(paths, pending, planned, options, jobs, done)
        if not lost:
            break
        suspects = [i for batch in lost[: jobs + 1] for i in batch]
        pending = [i for batch in lost[jobs + 1 :] for i in batch]
        for i in suspects:
            if _pool_round(paths, [i], planned, options, 1, done):
                done[i] = [
                    RunReport(
                        source=str(paths[i]),
                        error=str(
                            InputError(
                                paths[i],
                                "the worker process reading it died (killed, or out of memory)",
                                "check it alone with --jobs 1 to see more",
                            )
                        ),
                    )
                ]
    return [done[i] for i in range(len(paths))]


def _pool_round(paths, indices, planned, options, jobs, done) -> list[list[int]]:
    """Check `indices` in a pool of `jobs` workers; returns the batches lost to a broken pool."""
    import gc
    import multiprocessing
    import signal
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # Remote inputs: the S3/GCS clients the listing started must not be forked into the
    # workers (their threads and connections do not survive a fork); start them afresh.
    remote = any(not isinstance(paths[i], Path) for i in indices)
    if not remote:
        _before_fork([paths[i] for i in indices])
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        initializer=_worker_init,
        initargs=(planned, options),
        mp_context=multiprocessing.get_context("forkserver") if remote else None,
    )
    try:
        # Workers are forked while submitting: until a worker has set its own handlers it
        # would run the parent's (SIGTERM raising Terminated, Ctrl-C KeyboardInterrupt) and
        # print a traceback, so the signals wait (blocked) until it has, and here until every
        # worker is recorded in the pool and can be stopped.
        before = _mask_stop_signals(block=True)
        futures, unsent = {}, []
        try:
            for batch in _batches(paths, indices, jobs):
                if unsent:
                    unsent.append(batch)
                    continue
                try:
                    futures[tuple(batch)] = pool.submit(_worker_check, [paths[i] for i in batch])
                except BrokenProcessPool:  # a worker died while the rest were handed out
                    unsent.append(batch)
        finally:
            gc.unfreeze()  # the workers are forked (all at the first submit): collect as before
            if before is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, before)  # delivered now
        lost = []
        for batch, future in futures.items():
            try:
                done.update(zip(batch, future.result(), strict=True))
            except BrokenProcessPool:
                lost.append(list(batch))
        lost.extend(unsent)  # after those in flight, which were the ones a dying worker held
        pool.shutdown(wait=True)
        return lost
    except BaseException:  # Ctrl-C, SIGTERM: stop the workers now, not after the queue
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.terminate()
        for process in workers:
            process.join(5)
        # With its workers gone the pool's manager thread ends at once; waiting for it keeps
        # its exit hook from writing to a closed pipe ("Exception ignored" on stderr).
        pool.shutdown(wait=True)
        raise


def _before_fork(paths: Sequence[Path]) -> None:
    """Import here what every worker would otherwise import for itself after the fork
    (`preload`: ≈ 0.1-0.2 s of CPU each), and move what exists to the GC's permanent
    generation (until the workers are forked) so that their collections do not copy its
    pages."""
    import gc

    preload(paths)
    gc.freeze()


def preload(paths: Sequence) -> None:
    """Import what checking these inputs will need: numpy, pyarrow (and its CSV or Parquet
    module, by the local inputs' suffixes), the run model, the detectors and the renderer."""
    import importlib

    import pyarrow  # noqa: F401

    import lrdoctor.detectors  # noqa: F401  (imports lrdoctor.run and numpy)
    import lrdoctor.render  # noqa: F401

    suffixes = {p.name.lower().rsplit(".", 1)[-1] for p in paths if isinstance(p, Path)}
    for suffix, module in (("csv", "pyarrow.csv"), ("parquet", "pyarrow.parquet")):
        if suffix in suffixes:
            importlib.import_module(module)


# A worker's rules and options, sent once when it starts rather than with every input.
_WORKER: dict[str, Any] = {}


def _worker_init(planned, options: Options) -> None:
    """Workers leave Ctrl-C to the parent (which stops them) and die quietly on SIGTERM;
    a signal that arrived while the worker was starting (blocked since the fork) is taken
    only then."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _mask_stop_signals(block=False)
    _WORKER.update(planned=planned, options=options)


def _mask_stop_signals(block: bool) -> set | None:
    """Block (or unblock) SIGINT and SIGTERM in this thread and the processes it forks; the
    mask before, or None where there are no signal masks (Windows)."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        return None
    how = signal.SIG_BLOCK if block else signal.SIG_UNBLOCK
    return signal.pthread_sigmask(how, {signal.SIGINT, signal.SIGTERM})


def _worker_check(paths: list) -> list[list[RunReport]]:
    return [check_path(path, _WORKER["planned"], _WORKER["options"]) for path in paths]


# Inputs go to the workers in batches: one task per input cost the parent ~0.8 ms of CPU
# each (pickling, queue threads), on the cores the workers need. A batch holds at most a
# quarter of a worker's share of the inputs still to hand out (so the batches shrink towards
# the end, down to one input: the workers finish together rather than one waiting on the
# other's last big batch) and at most this many bytes of local files (a big log goes alone).
BATCH_BYTES = 4 << 20


def _batches(paths: Sequence, indices: list[int], jobs: int) -> list[list[int]]:
    """`indices` in order, cut into batches (see BATCH_BYTES); a remote input goes alone."""
    out: list[list[int]] = []
    batch: list[int] = []
    size = 0
    left = len(indices)
    most = max(1, -(-left // (4 * jobs)))
    for i in indices:
        try:
            nbytes = os.stat(paths[i]).st_size if isinstance(paths[i], Path) else BATCH_BYTES
        except OSError:
            nbytes = 0  # the worker says what is wrong with it
        if batch and (len(batch) >= most or size + nbytes > BATCH_BYTES):
            out.append(batch)
            left -= len(batch)
            most = max(1, -(-left // (4 * jobs)))
            batch, size = [], 0
        batch.append(i)
        size += nbytes
    if batch:
        out.append(batch)
    return out
