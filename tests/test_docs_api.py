"""The Python API behaves like the CLI (README "In Python"): unusable input raises
lrdoctor.InputError where `lrdoctor check` exits 2; a Report iterates over its runs, has a short
repr, the CLI's text and JSON, and the CLI's exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import lrdoctor
from lrdoctor.cli import app

ROOT = Path(__file__).resolve().parent.parent
TOO_LOW = ROOT / "fixtures/spirals_adam_too_low.parquet"
NOT_A_LOG = ROOT / "fixtures/sweeps.csv"  # a summary table: no loss column


def test_errors_are_importable_from_the_package() -> None:
    assert issubclass(lrdoctor.InputError, lrdoctor.LrdoctorError)
    assert issubclass(lrdoctor.ConfigError, lrdoctor.LrdoctorError)


@pytest.mark.parametrize(
    "source, columns",
    [(pd.DataFrame({"a": [1, 2, 3]}), "a"), (str(NOT_A_LOG), "dataset"), ("no/such.csv", None)],
    ids=["frame", "not-a-log", "missing"],
)
def test_unusable_input_raises_where_the_cli_exits_2(source, columns) -> None:
    with pytest.raises(lrdoctor.InputError) as err:
        lrdoctor.check(source)
    text = str(err.value)
    assert " — " in text and text.split(" — ")[-1]  # says what to do
    if columns:
        assert "no loss column" in text and columns in text
    if isinstance(source, str):
        assert err.value.source == source
        assert CliRunner().invoke(app, ["check", source]).exit_code == 2


def test_some_usable_inputs_keep_the_unusable_as_error_entries() -> None:
    report = lrdoctor.check([str(NOT_A_LOG), str(TOO_LOW)])
    assert [r.status for r in report] == ["error", "warn"]
    assert report.exit_code() == 2
    assert CliRunner().invoke(app, ["check", str(NOT_A_LOG), str(TOO_LOW)]).exit_code == 2


def test_a_selection_no_rule_of_which_can_run_raises() -> None:
    frame = pd.DataFrame({"step": range(50), "loss": [1.0] * 50})
    with pytest.raises(lrdoctor.InputError, match="no selected rule could run"):
        lrdoctor.check(frame, select=["OF001"])  # needs val_loss


def test_report_iterates_has_a_short_repr_and_the_cli_outputs() -> None:
    report = lrdoctor.check(str(TOO_LOW))
    runs = list(report)
    assert len(report) == 1 and runs == report.runs and report[0] is report.runs[0]
    assert repr(report) == "<Report 1 run(s): 1 warn; exit code 0>"
    assert report.to_dict()["schema"] == "lrdoctor.report/1"
    cli = CliRunner().invoke(app, ["check", str(TOO_LOW), "--format", "json"])
    assert report.to_json() == cli.stdout
    assert json.loads(report.to_json()) == json.loads(json.dumps(report.to_dict()))
    text = report.to_text(width=100)
    first = text.splitlines()[0]
    assert first.startswith("! WARN") and str(TOO_LOW) in first
    assert all(f"{f.rule} {f.name}" in text for f in report[0].findings)
    assert "<table" in report._repr_html_() or "<section" in report._repr_html_()
    assert report.exit_code() == 0 and report.exit_code("warning") == 1


@pytest.mark.parametrize(
    "name, logged", [("spirals_adam_too_low.parquet", "adam"), ("short_run.csv", None)]
)
def test_optimizer_is_a_fallback_for_logs_that_do_not_say(name, logged) -> None:
    """README: `--optimizer adam` when the log does not say which optimizer ran."""
    path = str(ROOT / "fixtures" / name)
    assert lrdoctor.check(path).runs[0].optimizer == logged
    assert lrdoctor.check(path, optimizer="rmsprop").runs[0].optimizer == (logged or "rmsprop")
    cli = CliRunner().invoke(app, ["check", path, "--optimizer", "rmsprop", "--format", "json"])
    assert json.loads(cli.stdout)["runs"][0]["optimizer"] == (logged or "rmsprop")
