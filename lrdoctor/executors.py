"""Fan-out on an existing engine: `--executor dask` or `--executor ray` maps `engine.check_path`,
the same per-input function the local pool runs, over the inputs; the results are merged in
input order into one Report, so it is the Report `--jobs` gives.

Scheduling, placement and worker restarts are the engine's own (no queue or retry here). A task
that fails on the cluster (a worker lost, an exception the engine could not turn into a
report) becomes that input's error entry, naming the input; the other inputs still report.
Dask and Ray are imported only when chosen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from lrdoctor.errors import ConfigError
from lrdoctor.findings import Report, RunReport

EXECUTORS = ("local", "dask", "ray")
# A local cluster when no --scheduler is given: this many single-threaded worker processes.
DEFAULT_WORKERS = 2


def run_on(
    executor: str,
    inputs: Sequence,
    planned,
    options,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    advance: Callable[[int], None] = lambda n: None,
) -> Report:
    """Check every input on the chosen engine; `advance(n)` is told as inputs finish."""
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor {executor!r}: use one of {', '.join(EXECUTORS)}")
    run = _on_dask if executor == "dask" else _on_ray
    results = run(list(inputs), planned, options, scheduler, workers or DEFAULT_WORKERS, advance)
    return Report(runs=[r for group in results for r in group])


def _failed(item, exc: BaseException) -> list[RunReport]:
    import re

    # Engines wrap the worker's exception (Ray: a coloured traceback); name the innermost one.
    text = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(exc).__name__}: {exc}")
    lines = [line.strip() for line in text.splitlines() if line.strip()] or [type(exc).__name__]
    named = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Worker)\b", line)]
    detail = (named[-1] if named else lines[0])[:300]
    message = f"{item}: the task checking it failed on the cluster ({detail})"
    return [RunReport(source=str(item), error=f"{message} — check it alone to see more")]


def _need(module: str, extra: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"--executor {extra} needs {extra}: pip install 'lrdoctor[{extra}]'"
        ) from None


def _on_dask(inputs, planned, options, scheduler, workers, advance):
    distributed = _need("distributed", "dask")
    from lrdoctor.engine import check_path

    with contextlib.ExitStack() as stack:
        if scheduler:
            try:
                client = stack.enter_context(distributed.Client(scheduler, timeout="30s"))
            except (OSError, TimeoutError) as exc:
                raise ConfigError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        else:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=50,
                )  # fmt: skip
            )
            client = stack.enter_context(distributed.Client(cluster))
        # The rules and options go to every worker once, not with each of 10^5 tasks.
        shared = client.scatter([planned, options], broadcast=True)
        futures = client.map(check_path, inputs, planned=shared[0], options=shared[1], pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(inputs)
        for future in distributed.as_completed(futures):
            i = index[future.key]
            try:
                results[i] = future.result()
            except Exception as exc:  # noqa: BLE001  (that input's error entry, not the batch's)
                results[i] = _failed(inputs[i], exc)
            advance(1)
        return results


def _on_ray(inputs, planned, options, scheduler, workers, advance):
    ray = _need("ray", "ray")
    from lrdoctor.engine import check_path

    started = not ray.is_initialized()
    if started:
        # A local cluster stays on loopback; an address joins the user's cluster.
        local = {"num_cpus": workers, "_node_ip_address": "127.0.0.1"}
        kwargs = {"address": scheduler} if scheduler else local
        ray.init(**kwargs, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)  # fmt: skip
    try:
        task = ray.remote(num_cpus=1)(check_path)
        planned_ref, options_ref = ray.put(planned), ray.put(options)
        refs = [task.remote(item, planned_ref, options_ref) for item in inputs]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list = [None] * len(inputs)
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=min(len(pending), 64), timeout=1.0)
            for ref in ready:
                i = index[ref]
                try:
                    results[i] = ray.get(ref)
                except Exception as exc:  # noqa: BLE001  (that input's error entry)
                    results[i] = _failed(inputs[i], exc)
            advance(len(ready))
        return results
    finally:
        if started:
            ray.shutdown()
