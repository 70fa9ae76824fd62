"""One session behind every entry point: the same configuration file is honoured everywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import lrdoctor
from lrdoctor.cli import app
from lrdoctor.errors import ConfigError
from lrdoctor.readers import read_path
from lrdoctor.run import build_run
from lrdoctor.session import open_session

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SPIKES = FIXTURES / "spike_recovers.parquet"
runner = CliRunner()
# SP001 fires on spike_recovers with reason `few` (info by the rule file); the project's config
# raises the rule to error, which every entry point must honour.
CONFIG = (
    '[tool.lrdoctor]\nselect = ["SP001", "DA"]\n[tool.lrdoctor.rules.SP001]\nseverity = "error"\n'
)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _sp001(findings) -> list[tuple[str, str | None, str]]:
    return [(f.rule, f.reason, f.severity) for f in findings if f.rule == "SP001"]


def test_spike_fixture_is_info_without_the_config() -> None:
    report = lrdoctor.check(SPIKES, select=["SP001"]).runs[0]
    assert _sp001(report.findings) == [("SP001", "few", "info")]


def test_python_api_honours_the_config(project) -> None:
    report = lrdoctor.check(SPIKES).runs[0]
    assert _sp001(report.findings) == [("SP001", "few", "error")]
    assert {o.rule for o in report.outcomes} <= {"SP001", "DA001", "DA002", "DA003"}
    # The caller's arguments sit on top of the file, as the command line does.
    assert _sp001(lrdoctor.check(SPIKES, severity={"SP001": "warning"}).runs[0].findings) == [
        ("SP001", "few", "warning")
    ]


def test_python_api_on_a_frame_honours_the_config(project) -> None:
    run = build_run(read_path(SPIKES)[0])
    frame = pd.DataFrame({"step": run["loss"].step, "loss": run["loss"].value})
    report = lrdoctor.check(frame).runs[0]
    assert _sp001(report.findings) == [("SP001", "few", "error")]


def test_check_command_honours_the_config(project) -> None:
    result = runner.invoke(app, ["check", str(SPIKES), "--format", "json"])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["runs"][0]["findings"]
    assert [(f["rule"], f["reason"], f["severity"]) for f in findings if f["rule"] == "SP001"] == [
        ("SP001", "few", "error")
    ]


def test_compare_command_honours_the_config(project) -> None:
    # The config makes the spiky run fail its check; compare reports that status per run.
    paths = []
    for lr in (0.01, 0.1, 1.0):
        path = project / f"run_lr={lr:g}.parquet"
        shutil.copy(SPIKES, path)
        paths.append(str(path))
    result = runner.invoke(app, ["compare", *paths, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert {r["status"] for r in json.loads(result.stdout)["runs"]} == {"fail"}


def test_lr_find_command_honours_the_config_columns(project) -> None:
    table = read_path(FIXTURES / "range_test_blobs_adam.csv")[0]
    frame = pd.DataFrame(table.values).rename(columns={"loss": "my_loss"})
    frame.to_csv(project / "range.csv", index=False)
    (project / "pyproject.toml").write_text('[tool.lrdoctor]\ncolumns = {loss = "my_loss"}\n')
    result = runner.invoke(app, ["lr-find", str(project / "range.csv"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["suggested_lr"] is not None


def test_session_evaluate_is_the_per_run_check(project) -> None:
    session = open_session()
    run = session.read(SPIKES)[0]
    assert _sp001(session.evaluate(run).findings) == [("SP001", "few", "error")]
    assert session.fail_on == "error"


def test_invalid_api_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="lrdoctor.check"):
        lrdoctor.check(SPIKES, severity={"SP001": "fatal"})
    with pytest.raises(ConfigError, match="lrdoctor.check"):
        lrdoctor.check(SPIKES, params={"SP001": {"nope": 1}})


def test_watch_command_honours_the_config(project) -> None:
    args = ["watch", str(SPIKES), "--interval", "0.01", "--idle", "0.05", "--exit-on", "error"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "1 run checked: 1 fail" in result.output


def test_monitor_honours_the_config(project) -> None:
    from lrdoctor.monitor import Monitor

    run = build_run(read_path(SPIKES)[0])
    monitor = Monitor(check_every=10**9)
    for step, loss in zip(run["loss"].step, run["loss"].value, strict=True):
        monitor.update(step=float(step), loss=float(loss))
    assert _sp001(monitor.check()) == [("SP001", "few", "error")]


@pytest.fixture
def through(monkeypatch):
    """Record each session entry (check / evaluate) an entry point calls, then let it run."""
    from lrdoctor.session import Session

    calls: list[str] = []
    for name in ("check", "evaluate", "read"):
        real = getattr(Session, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(Session, name, spy)
    return calls


def test_check_command_goes_through_the_session(project, through) -> None:
    result = runner.invoke(app, ["check", str(SPIKES), "--format", "json"])
    assert result.exit_code == 1, result.output
    assert through == ["check"]


def test_check_command_with_progress_goes_through_the_session(project, through) -> None:
    from lrdoctor.commands.check import PROGRESS_FROM, _run_all

    paths = [SPIKES] * (PROGRESS_FROM + 1)
    report = _run_all(open_session(), paths, jobs=1, show=True)
    assert set(through) == {"check"}  # once per chunk
    assert {_sp001(r.findings)[0] for r in report.runs} == {("SP001", "few", "error")}


def test_watch_command_goes_through_the_session(project, through) -> None:
    args = ["watch", str(SPIKES), "--interval", "0.01", "--idle", "0.05", "--exit-on", "error"]
    assert runner.invoke(app, args).exit_code == 1
    assert through and set(through) == {"evaluate"}


def test_api_goes_through_the_session(project, through) -> None:
    lrdoctor.check(SPIKES)
    assert through == ["check"]


def test_monitor_goes_through_the_session(project, through) -> None:
    from lrdoctor.monitor import Monitor

    monitor = Monitor(check_every=10**9)
    for step in range(60):
        monitor.update(step=step, loss=1.0 / (step + 1))
    monitor.check()
    assert through == ["evaluate"]


def test_compare_and_lr_find_go_through_the_session(project, through) -> None:
    paths = []
    for lr in (0.01, 0.1):
        path = project / f"run_lr={lr:g}.parquet"
        shutil.copy(SPIKES, path)
        paths.append(str(path))
    assert runner.invoke(app, ["compare", *paths, "--format", "json"]).exit_code == 0
    assert through == ["read", "read", "evaluate", "evaluate"]
    through.clear()
    range_test = str(FIXTURES / "range_test_blobs_adam.csv")
    assert runner.invoke(app, ["lr-find", range_test, "--format", "json"]).exit_code == 0
    assert through == ["read"]
