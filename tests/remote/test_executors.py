"""`--executor dask` / `--executor ray` on local clusters: the merged Report equals the local
one on the fixtures and a sample of the dev corpus; a failed task is that input's error entry.

One cluster per module (start-up is slow); skipped when dask or ray is not installed.
"""

from __future__ import annotations

import json
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


def as_json(report) -> dict:
    rules = {r.id: r for r in load_builtin()}
    return json.loads(FORMATS["json"](report, Context(rules=rules, fail_on="error")))


@pytest.fixture(scope="module")
def local_report():
    return as_json(check_paths(sample(), plan(load_builtin()), Options(), jobs=1))


@pytest.fixture(scope="module")
def dask_scheduler():
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
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


@pytest.mark.parametrize("executor", ["ray"])
def test_a_failed_task_is_that_inputs_error_entry(executor, request):
    from lrdoctor.executors import run_on

    where = {"scheduler": request.getfixturevalue("dask_scheduler")} if executor == "dask" else {}
    if executor == "ray":
        request.getfixturevalue("ray_cluster")
    good = ROOT / "fixtures" / "short_run.csv"
    seen = []
    # The engine turns any error inside check_path into a report; what fails a task is the
    # cluster's side, e.g. an input the worker cannot even unpickle.
    report = run_on(executor, [good, Poison(), good], plan(load_builtin()), Options(),
                    advance=seen.append, **where)  # fmt: skip
    assert [r.source for r in report.runs] == [str(good), "poison.csv", str(good)]
    assert report.runs[0].error is None and report.runs[2].error is None
    assert report.runs[1].error.startswith("poison.csv: the task checking it failed on the cluster")
    assert "ValueError" in report.runs[1].error and sum(seen) == 3


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
