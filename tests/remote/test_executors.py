"""`--executor dask` / `--executor ray` on local clusters: the merged Report equals the local
one on the fixtures and a sample of the dev corpus; a failed task is that input's error entry.

One cluster per module (start-up is slow); skipped when dask or ray is not installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrdoctor.catalogue import load_builtin
from lrdoctor.cli import app
from lrdoctor.engine import Options, check_paths, plan
from lrdoctor.formats import FORMATS, Context

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "devcorpus" / "runs"
pytestmark = pytest.mark.cluster
runner = CliRunner()


def sample() -> list[Path]:
    fixtures = sorted(p for p in (ROOT / "fixtures").iterdir() if p.suffix in (".csv", ".parquet"))
    corpus = sorted(CORPUS.glob("r*/train_log.csv"))[::97] if CORPUS.is_dir() else []
    return fixtures[::4] + corpus


class Poison:
    """An input that unpickles on the worker as int("poison"), a ValueError there."""

    def __str__(self) -> str:
        return "poison.csv"

    def __reduce__(self):
        return (int, ("poison",))


class WorkerKiller:
    """An input whose read ends the worker process, as a worker lost to the OOM killer is."""

    def __str__(self) -> str:
        return "killer.csv"

    def read(self, select):
        import os

        os._exit(1)


def as_json(report) -> dict:
    return json.loads(FORMATS["json"](report, Context(fail_on="error")))


@pytest.fixture(scope="module")
def local_report():
    return as_json(check_paths(sample(), plan(load_builtin()), Options(), jobs=1))


@pytest.fixture(scope="module")
def dask_scheduler():
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    import cloudpickle
    import dask

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
    # A task that kills its worker fails at once (not after 3 more workers), keeping the test short.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=50
        )
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="ray is not installed")
    ray.init(
        num_cpus=2,
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    yield
    ray.shutdown()


def test_dask_report_equals_the_local_report(dask_scheduler, local_report):
    from lrdoctor.executors import run_on

    report = run_on("dask", sample(), plan(load_builtin()), Options(), scheduler=dask_scheduler)
    assert as_json(report) == local_report


def test_ray_report_equals_the_local_report(ray_cluster, local_report):
    from lrdoctor.executors import run_on

    report = run_on("ray", sample(), plan(load_builtin()), Options())
    assert as_json(report) == local_report


def _with_a_failing_task(executor, poison, where):
    from lrdoctor.executors import run_on

    good = ROOT / "fixtures" / "short_run.csv"
    seen = []
    report = run_on(executor, [good, poison, good], plan(load_builtin()), Options(),
                    advance=seen.append, **where)  # fmt: skip
    assert [r.source for r in report.runs] == [str(good), str(poison), str(good)]
    assert report.runs[0].error is None and report.runs[2].error is None
    assert sum(seen) == 3
    return report.runs[1].error


def test_a_lost_dask_worker_is_that_inputs_error_entry(dask_scheduler):
    # The engine turns any error inside check_path into a report; what fails a task is the
    # cluster's side: here the worker process dies while checking one input.
    error = _with_a_failing_task("dask", WorkerKiller(), {"scheduler": dask_scheduler})
    assert error.startswith("killer.csv: the task checking it failed on the cluster")
    assert "KilledWorker" in error


def test_a_failed_ray_task_is_that_inputs_error_entry(ray_cluster):
    # Ray unpickles each task's arguments on its worker, so an input that cannot be unpickled
    # fails that task alone. (Dask deserialises the whole mapped graph on its scheduler, so
    # there the same input would fail every task of the batch; lrdoctor's inputs are paths and
    # small records, always picklable, so a lost worker is the failure that matters there.)
    error = _with_a_failing_task("ray", Poison(), {})
    assert error.startswith("poison.csv: the task checking it failed on the cluster")
    assert "ValueError" in error


def test_cli_executor_dask_with_scheduler(dask_scheduler):
    log = ROOT / "fixtures" / "spirals_adam_too_low.parquet"
    args = ["check", str(log), "--format", "json"]
    local = runner.invoke(app, args)
    remote = runner.invoke(app, [*args, "--executor", "dask", "--scheduler", dask_scheduler])
    assert remote.exit_code == local.exit_code == 0, remote.output
    assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_bad_executor_options_are_one_line_errors(tmp_path):
    log = str(ROOT / "fixtures" / "short_run.csv")
    for extra, words in ((["--executor", "spark"], "--executor 'spark': use one of"),
                         (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs")):  # fmt: skip
        result = runner.invoke(app, ["check", log, *extra])
        assert result.exit_code == 2
        assert words in result.stderr
