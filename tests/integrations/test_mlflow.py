"""MLflow 3.x: the default SQLite store (`mlflow.db`) and the file store (`mlruns/`)."""

from __future__ import annotations

import pytest
import tiny
from tiny import REGIMES, assert_regime, columns, train_torch

pytest.importorskip("torch")
mlflow = pytest.importorskip("mlflow")


def _train(regime: str) -> None:
    with mlflow.start_run(run_name=regime):
        mlflow.log_params({"optimizer": "Adam", "lr": REGIMES[regime]})
        train_torch(
            REGIMES[regime],
            on_step=lambda step, loss, opt: mlflow.log_metrics(
                {"loss": loss, "lr": opt.param_groups[0]["lr"]}, step=step
            ),
        )


@pytest.mark.parametrize("regime", REGIMES)
def test_sqlite_store(regime, tmp_path, monkeypatch):
    # MLflow >= 3.7's default backend; set explicitly so an older MLflow writes the same.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    _train(regime)
    db = tmp_path / "mlflow.db"
    assert columns(db)["lr"] == "lr"
    assert_regime(regime, db)  # the optimizer comes from the run's params


def test_file_store(tmp_path, monkeypatch):
    # MLflow 3.x refuses the file store unless MLFLOW_ALLOW_FILE_STORE is set.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file:{tmp_path / 'mlruns'}")
    for regime in REGIMES:
        _train(regime)
    import lrdoctor

    report = lrdoctor.check(tmp_path / "mlruns")
    by_name = {r.source.rsplit("::", 1)[1]: r for r in report.runs}
    assert set(by_name) == set(REGIMES)
    for regime, run in by_name.items():
        assert run.optimizer == "Adam"
        cats = {f.category for f in run.findings if f.category.startswith("lr_too")}
        assert cats == ({"lr_too_" + regime[4:]} if regime != "healthy" else set()), regime


@pytest.mark.parametrize("regime", REGIMES)
def test_torch_capture_rows_into_mlflow(regime, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run(run_name=regime):
        mlflow.log_params({"optimizer": "Adam"})
        tiny.train_into_tracker(
            REGIMES[regime], lambda step, cap: mlflow.log_metrics(cap.metrics(), step=step)
        )
    tiny.assert_capture_columns(tmp_path / "mlflow.db")
    assert_regime(regime, tmp_path / "mlflow.db")
