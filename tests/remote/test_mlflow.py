"""`lrdoctor check mlflow://HOST:PORT/EXPERIMENT` against a real tracking server on loopback:
the same findings as the local logs the runs were logged from, run names in the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrdoctor.cli import app
from lrdoctor.readers import read_path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
RUNS = {
    "adam-too-low": "spirals_adam_too_low.parquet",
    "momentum-nan": "blobs_momentum_diverge_nan.csv",
    "sgd-healthy": "blobs_sgd_healthy.csv",
}
runner = CliRunner()


def log_fixture(client, experiment_id: str, name: str, path: Path) -> None:
    """Log a fixture's every column as MLflow metrics (and its optimizer as a param)."""
    import math

    from mlflow.entities import Metric, Param

    (table,) = read_path(path)
    run = client.create_run(experiment_id, run_name=name)
    steps = table.values["step"]
    metrics = []
    for key, values in table.values.items():
        if key == "step":
            continue
        for step, value, empty in zip(steps, values, table.empty[key], strict=True):
            if not empty:
                metrics.append(Metric(key, float(value), 0, int(step)))
    params = [Param("optimizer", table.meta["optimizer"])] if table.meta.get("optimizer") else []
    for start in range(0, len(metrics), 1000):
        client.log_batch(run.info.run_id, metrics=metrics[start : start + 1000],
                         params=params if start == 0 else [])  # fmt: skip
    assert all(math.isfinite(s) for s in steps)
    client.set_terminated(run.info.run_id)


@pytest.fixture(scope="module")
def experiment(mlflow_server):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"http://{mlflow_server}")
    experiment_id = client.create_experiment("nightly/sweep-11-30")
    for name, log in RUNS.items():
        log_fixture(client, experiment_id, name, FIXTURES / log)
    client.create_experiment("empty")
    return mlflow_server


def findings(run: dict) -> list:
    return [
        (f["rule"], f["reason"], f["observed"], f["limit"], f["message"]) for f in run["findings"]
    ]


def test_experiment_report_matches_the_local_logs(experiment, monkeypatch):
    from lrdoctor.sources import mlflow as source

    monkeypatch.setattr(source, "HISTORY_PAGE", 700)  # every history spans several pages
    result = runner.invoke(
        app,
        ["check", f"mlflow://{experiment}/nightly%2Fsweep-11-30", "--format", "json", "-j", "1"],
    )
    assert result.exit_code == 1, result.output
    remote = json.loads(result.stdout)["runs"]
    prefix = f"mlflow://{experiment}/nightly/sweep-11-30::"
    assert [r["source"] for r in remote] == [prefix + name for name in sorted(RUNS)]
    for run in remote:
        name = run["source"].removeprefix(prefix)
        local = runner.invoke(app, ["check", str(FIXTURES / RUNS[name]), "--format", "json"])
        (expected,) = json.loads(local.stdout)["runs"]
        assert findings(run) == findings(expected), name
        same = ("status", "steps", "optimizer", "columns", "suggested_lr", "suggested_lr_range")
        assert {k: run[k] for k in same} == {k: expected[k] for k in same}, name


def test_unknown_and_empty_experiments_are_one_line_errors(experiment):
    for name, problem in (("nope", "not found on the tracking server"),
                          ("empty", "the experiment has no runs")):  # fmt: skip
        result = runner.invoke(app, ["check", f"mlflow://{experiment}/{name}"])
        assert result.exit_code == 2
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"lrdoctor: error: mlflow://{experiment}/{name}: {problem}")


def test_unreachable_server_is_one_line_error():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket closes
    result = runner.invoke(app, ["check", f"mlflow://127.0.0.1:{port}/exp"])
    assert result.exit_code == 2
    assert "cannot reach the tracking server at http://127.0.0.1:" in result.stderr
    assert "Traceback" not in result.output
