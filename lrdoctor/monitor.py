"""In-loop monitoring: feed values step by step, get each new finding once, optionally raise."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from math import isfinite
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np

from lrdoctor.findings import SEVERITY_RANK, Finding, RunReport

# The standard signals, in the order a log written by the monitor lists them.
SIGNAL_NAMES = ("loss", "lr", "grad_norm", "update_ratio", "val_loss")
# Adaptive re-evaluation: after n rows, evaluate again once n // ADAPTIVE more have arrived,
# i.e. at every 20 % of growth: four evaluations fall inside CONFIRM's window (1.2⁴ ≈ 2.07), more
# than POLLS, so a finding is confirmed about as soon as with a denser schedule, at a tenth of
# the evaluations (5·ln(N/50): 38 for 100,000 rows).
ADAPTIVE = 5
# No scheduled evaluation before this many rows: the shape rules need about this many points
# (DA001's default), and "too few points so far" is no news in a run that has just started.
WARMUP = 50
# Categories that judge a run's progress as a whole (too slow, flat, decayed too early, too
# short): on a run that has just started they are premature, so the monitor holds them back
# until `check()` is called at the end. See docs/monitoring.md for the measured effect.
DEFER = ("lr_too_low", "plateau", "schedule", "data")
# A finding (other than a non-finite value) is reported once it has been there at every
# evaluation while the run doubled, over at least POLLS evaluations, at the same severity, and
# its evidence is no weaker than when it was first seen. At half (0.5), with one evaluation,
# verdicts that `check` drops once the run is whole still got out on 2 of the 31 fixtures that
# `check` passes (sched_plateau's SP001 from row 1,308, spike_recovers' LR001 from row 75); with
# these none does, at watch's 2 % schedule, the Monitor's 20 % or every 10 rows
# (tests/test_watch.py::test_no_fixture_that_check_passes_is_stopped_while_it_grows).
CONFIRM = 1.0
POLLS = 3
# Rows kept as dicts before they are written into the columns: the next evaluation writes them,
# or reaching this many does (a row's dict costs some 40 times its 8 bytes a cell in a column).
PENDING = 4096
# With a budget, one update in SAMPLE is timed (the clock read twice on every update made the
# bookkeeping a third again as costly); each timed update stands for the untimed ones before it.
SAMPLE = 16
# The budget is a ceiling, so the schedule aims this share of it: the clock inside update()
# cannot see what each call costs the caller (argument packing, dispatch, caches the step left
# cold). benchmarks/monitor_overhead.py measured the loop 1.02 % slower under budget=0.01
# with the schedule aiming at the whole budget (docs/performance.md).
HEADROOM = 0.9


class HoldBack:
    """What a run still being written may report yet, so that a live verdict (the Monitor's,
    `lrdoctor watch`'s) does not say more than `check` will say once the run is whole.

    Until `final` (the end, or a non-finite value): nothing before `warmup` rows, nothing of
    the `defer` categories, and a finding only once it is stable: present at every evaluation
    (one absence starts it over) while the run grew by `confirm` and over at least `polls`
    evaluations, at the same severity (a warning that was an info finding is a new verdict),
    with its evidence no weaker than when first seen (its observed value no nearer its limit:
    a verdict that is fading is left for the end). A non-finite value is reported at once.
    """

    def __init__(
        self,
        warmup: int = WARMUP,
        defer: Iterable[str] = DEFER,
        confirm: float = CONFIRM,
        polls: int = POLLS,
    ):
        self.warmup, self.defer, self.confirm = warmup, frozenset(defer), confirm
        self.polls = polls
        # (finding key, severity) -> (rows when first present, evaluations since, its margin)
        self._first: dict[Any, tuple[int, int, float | None]] = {}

    def ready(self, findings: Iterable[Finding], rows: int, final: bool, key=None) -> list:
        """The findings that may be reported now (the caller drops those already reported)."""
        key = key or (lambda f: (f.rule, f.cause))
        present = {(key(f), f.severity): f for f in findings}
        self._first = {k: v for k, v in self._first.items() if k in present}
        if final:
            return list(present.values())
        out = []
        for k, f in present.items():
            if rows < self.warmup or f.category in self.defer:
                continue
            if self.confirm > 0 and f.category != "non_finite":
                first, seen, margin = self._first.get(k, (rows, 0, _margin(f)))
                self._first[k] = (first, seen + 1, margin)
                now = _margin(f)
                if (
                    rows < max(first + 1, first * (1 + self.confirm))
                    or seen + 1 < self.polls
                    or (now is not None and margin is not None and now < margin)
                ):
                    continue
            out.append(f)
        return out


def _margin(f: Finding) -> float | None:
    """How far a finding's observed value is past its limit (a log ratio when both are
    positive), or None when it has no such pair."""
    import math

    o, lim = f.observed, f.limit
    if o is None or lim is None or not (math.isfinite(o) and math.isfinite(lim)):
        return None
    return abs(math.log(o / lim)) if o > 0 and lim > 0 else abs(o - lim)


class TrainingHealthError(RuntimeError):
    """Raised by `Monitor.update` when a new finding reaches the `raise_on` severity."""

    def __init__(self, findings: Sequence[Finding]):
        self.findings = list(findings)
        worst = self.findings[0]
        where = f" at step {worst.step}" if worst.step is not None else ""
        super().__init__(f"{worst.rule} {worst.name}{where}: {worst.message}")


class Monitor:
    """Watch a training run from inside its loop with the same rules as `lrdoctor check`.

    >>> monitor = Monitor(raise_on="error")                       # doctest: +SKIP
    >>> for step, batch in enumerate(loader):                     # doctest: +SKIP
    ...     new = monitor.update(step=step, loss=loss, lr=lr)     # new findings only

    `rules`: selectors (ids, prefixes, names, categories, as `--select`) or Rule objects;
    None runs the whole built-in catalogue. `severity` / `params` override per rule, as in
    `lrdoctor.check`. The detectors re-run on the whole run so far every `check_every` rows
    (default: adaptively, every max(1, n // 5) rows), not before `warmup` rows, and at once
    when a signal first becomes non-finite; see docs/monitoring.md for the cost. Findings of the
    `defer` categories wait for `check()` (the end of training or a NaN); with `confirm` > 0 a
    finding must persist, stable, until the run has grown by that fraction before it is
    reported (default 1.0, the run doubled; `HoldBack` says what stable means; a non-finite
    value is always reported at once). `budget` (e.g. 0.01) holds
    scheduled evaluations back so that `update` (bookkeeping and evaluations) stays within that
    share of the loop's time (docs/performance.md).
    """

    def __init__(
        self,
        rules: Iterable[Any] | None = None,
        severity: Mapping[str, str] | None = None,
        raise_on: str | None = None,
        log_path: str | Path | None = None,
        check_every: int | None = None,
        *,
        warmup: int = WARMUP,
        defer: Iterable[str] = DEFER,
        confirm: float = CONFIRM,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        optimizer: str | None = None,
        source: str = "<monitor>",
        budget: float | None = None,
    ):
        from lrdoctor.errors import ConfigError
        from lrdoctor.follow import Columns

        if raise_on is not None and raise_on not in SEVERITY_RANK:
            raise ConfigError(f"raise_on={raise_on!r}: use error, warning or info")
        if check_every is not None and check_every < 1:
            raise ConfigError(f"check_every={check_every!r}: must be at least 1")
        self.session = _session(rules, severity, params, optimizer)
        # What the first evaluation would import (the detectors, and numpy.ma, which
        # np.percentile loads on its first call): ~50-80 ms, paid here, not inside the loop.
        import numpy.ma  # noqa: F401

        import lrdoctor.detectors
        import lrdoctor.run  # noqa: F401

        self.planned = self.session.planned
        self._needed = self.session.needed
        self.raise_on, self.check_every, self.warmup = raise_on, check_every, warmup
        if budget is not None and not budget > 0:
            raise ConfigError(f"budget={budget!r}: a share of the loop's time, e.g. 0.01")
        # With a budget, scheduled evaluations wait while the Monitor's updates (evaluations
        # included) would use more than that share of the time since the first update (a
        # non-finite value and check() never wait).
        self.budget, self._spent, self._t0, self._last_cost = budget, 0.0, None, 0.0
        self._hold = HoldBack(warmup, defer, confirm)
        self.defer, self.confirm = self._hold.defer, confirm
        self.optimizer, self.source = optimizer, source
        self.log_path = Path(log_path) if log_path is not None else None
        self._writer = None
        # The running state: one growing column per signal (O(1) amortised per update, memory
        # within twice the run); an evaluation reads views of it, no copy and no cache. The
        # rows since the last evaluation wait as dicts (at most PENDING of them).
        self._rows = Columns()
        self._pending: list[dict[str, float]] = []  # rows not yet in the columns
        self._last_step = 0.0  # the step of the columns' last row
        self._broken: set[str] = set()  # signals that have held a non-finite value
        self._checked_at = 0
        # The schedule as one number: the rows at which the next evaluation is due ...
        self._next_at = self._next_evaluation(0)
        # ... and with a budget, the rows at the last timed update and what it took.
        self._timed_at, self._per_update = 0, 0.0
        # update() takes its full path once this many rows are pending (_plan).
        self._due = 0
        self._seen: dict[tuple[str, str | None], Finding] = {}
        self.last_report: RunReport | None = None

    # -- feeding ---------------------------------------------------------------------------
    def update(self, step: int | float | None = None, **values: float | None) -> list[Finding]:
        """Append one row (None / omitted = not logged this step); return the new findings."""
        # The hot path of a training loop, run with the caches the training step left cold:
        # one comparison decides whether anything but appending the row is due (an
        # evaluation, a timed update under a budget, the live log, a step to number); the
        # rest is a dict and an append. Each bytecode here costs.
        pending = self._pending
        if step is None or len(pending) >= self._due:
            return self._update(step, values)
        row = {"step": float(step)}
        total = row["step"]
        for name, value in values.items():
            if value is not None:
                row[name] = value = float(value)
                total += value
        pending.append(row)
        # A finite sum means every value is finite; an overflowing one only costs a look at
        # each. A signal's first non-finite value is evaluated at once, later ones are not.
        if isfinite(total) or not self._breaks(row):
            return []
        return self._at_once()

    def _update(self, step, values: Mapping[str, float | None]) -> list[Finding]:
        """update() when more than the row is due: the step numbered, the live log, the row
        appended by update()'s own hot path, then a scheduled evaluation (or, under a budget,
        its wait) or the pending rows written into the columns; timed under a budget."""
        budget = self.budget
        start = perf_counter() if budget is not None else 0.0
        if self._t0 is None:
            self._t0 = start
        pending = self._pending
        if step is None:
            step = (
                np.float64(pending[-1]["step"] if pending else self._last_step) + 1
                if (pending or self._rows.n)
                else 0
            )
        if self.log_path is not None:
            self._log(step, values)
        spent, checked, heavy = self._spent, self._checked_at, False
        self._due = math.inf  # the call below takes the hot path: it appends the row
        try:
            new = self.update(step, **values)
            heavy = self._checked_at != checked  # a first non-finite value evaluated at once
            n = self._rows.n + len(self._pending)
            if not heavy and n >= self._next_at:
                # With a budget: wait while the next evaluation (assumed to cost what the last
                # one did) would take the Monitor's time past that share of the time since the
                # first update; the wait is looked at again at the next timed update.
                if budget is None or spent + self._last_cost <= HEADROOM * budget * (
                    start - self._t0
                ):
                    heavy = True
                    return self._evaluate(final=False)
                self._next_at = n + SAMPLE
            if len(self._pending) >= PENDING:
                heavy = True
                self._flush()
            return new
        finally:
            if budget is not None:
                # Bookkeeping counts, not only checks. The clock in here misses what the caller
                # pays for each call (argument packing, dispatch, caches the training step left
                # cold), so an update that only appends its row counts twice what it took (one
                # that evaluates or writes the columns, once); the untimed updates since the
                # last timed one count as much as the last such update did.
                took = perf_counter() - start
                if not heavy:
                    self._per_update = took
                n = self._rows.n + len(self._pending)
                untimed = 2 * self._per_update * (n - self._timed_at - 1)
                self._spent = spent + untimed + (took if heavy else 2 * took)
                self._timed_at = n
            self._plan()

    def _breaks(self, row: Mapping[str, float]) -> bool:
        """Whether a value of this row is the first non-finite one of its signal."""
        new = False
        for name, v in row.items():
            if not isfinite(v) and name not in self._broken:
                self._broken.add(name)
                new = True
        return new

    def _at_once(self) -> list[Finding]:
        """The evaluation a signal's first non-finite value triggers (never waits)."""
        start = perf_counter()
        try:
            return self._evaluate(final=True)
        finally:
            if self.budget is not None:
                self._spent += perf_counter() - start

    def _next_evaluation(self, checked_at: int) -> int:
        """The rows at which the schedule next evaluates, the last evaluation at `checked_at`:
        not before `warmup`, then `check_every` rows later or once n - checked_at reaches
        max(1, n // ADAPTIVE)."""
        if self.check_every:
            return max(self.warmup, checked_at + self.check_every)
        # From a lower bound of the answer (n // ADAPTIVE <= n / ADAPTIVE), a step or two up.
        n = max(self.warmup, checked_at + 1, checked_at * ADAPTIVE // (ADAPTIVE - 1) - 1)
        while n - checked_at < max(1, n // ADAPTIVE):
            n += 1
        return n

    def _plan(self) -> None:
        """Set how many pending rows send update() down its full path: the next scheduled
        evaluation, PENDING rows, under a budget the next timed update, every row with a log."""
        at = self._next_at
        if self.budget is not None:
            at = min(at, self._timed_at + SAMPLE)
        due = min(at - 1 - self._rows.n, PENDING - 1)
        self._due = 0 if self.log_path is not None else due

    def _flush(self) -> None:
        if self._pending:
            self._last_step = self._pending[-1]["step"]
        self._rows.add_records(self._pending)
        self._pending = []
        self._plan()

    def _log(self, step, values: Mapping[str, float | None]) -> None:
        if self._writer is None:
            from lrdoctor.capture import LogWriter

            extra = [k for k in values if k not in SIGNAL_NAMES]
            self._writer = LogWriter(self.log_path, columns=["step", *SIGNAL_NAMES, *extra])
        self._writer.write(step=step, **values)

    # -- evaluating ------------------------------------------------------------------------
    def run(self):
        """The run so far, normalised exactly as `check` would normalise the same log."""
        from lrdoctor.run import build_run

        self._flush()
        table = self._rows.table(self.source)
        return build_run(table, self.session.options.columns, self.optimizer, extra=self._needed)

    def report(self) -> RunReport:
        """A full evaluation of everything fed so far (what `check` says about the log)."""
        start = perf_counter()
        self._flush()
        self._checked_at = self._rows.n
        self._next_at = self._next_evaluation(self._checked_at)
        self._plan()
        self.last_report = self.session.evaluate(self.run())
        self._last_cost = perf_counter() - start
        return self.last_report

    def _evaluate(self, final: bool) -> list[Finding]:
        """Report what is new; `final` (the end, or a non-finite value) skips the holding back."""
        report, new = self.report(), []
        for f in self._hold.ready(report.findings, self._rows.n, final):
            before = self._seen.get((f.rule, f.cause))
            if before is None or f.rank > before.rank:  # new, or escalated (info -> warning)
                self._seen[f.rule, f.cause] = f
                new.append(f)
        if self.raise_on is not None:
            level = SEVERITY_RANK[self.raise_on]
            bad = [f for f in new if f.rank >= level]
            if bad:
                raise TrainingHealthError(bad)
        return new

    def check(self) -> list[Finding]:
        """Evaluate now, holding nothing back (call it at the end of training): new findings."""
        return self._evaluate(final=True)

    @property
    def findings(self) -> list[Finding]:
        """Every finding reported so far, each once (at the worst severity it was reported
        at), in the order they were first reported."""
        return list(self._seen.values())

    @property
    def n_rows(self) -> int:
        return self._rows.n + len(self._pending)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _session(rules, severity, params, optimizer):
    """The one pipeline (lrdoctor/session.py), with `rules` as selectors or Rule objects."""
    from lrdoctor.catalogue import Rule
    from lrdoctor.session import open_session

    rules = None if rules is None else list(rules)
    names = None if rules is None else [r for r in rules if not isinstance(r, Rule)]
    return open_session(
        select=names if names else None,
        severity=severity,
        params=params,
        optimizer=optimizer,
        where="Monitor",
        rules=[r for r in rules or () if isinstance(r, Rule)],
    )
