"""Custom rules without code: rule files over the generic detectors, on any logged column."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from lrdoctor.cli import app
from lrdoctor.config import build_catalogue
from lrdoctor.errors import CatalogueError
from tests.logs import frame, write_csv

runner = CliRunner()

REACH = """
id = "CU001"
name = "val-accuracy-too-slow"
category = "other"
severity = "error"
detector = "reach_by"
signal = "my_val_acc"
summary = "Validation accuracy must reach the target by a step."
message = "{signal} reached only {best} by step {by_step} (target {target})"
recommendation = "check the LR schedule"

[params.target]
default = 0.9
[params.by_step]
default = 300
[params.direction]
default = "above"
"""

THRESHOLD = """
id = "CU002"
name = "loss-above-limit"
category = "other"
severity = "warning"
detector = "threshold"
signal = "loss"
summary = "The loss must stay below a value after a step."
message = "{signal} was {value} at step {worst_step} ({count} steps {op} limit broken)"
recommendation = "look at the data"

[params.op]
default = "below"
[params.value]
default = 0.5
[params.after_step]
default = 200
"""

TREND = """
id = "CU003"
name = "metric-rising"
category = "other"
severity = "error"
detector = "trend"
signal = "my_metric"
summary = "The metric must not rise at the end of the run."
message = "{signal} changed {change} over the last part (limit {tolerance})"
recommendation = "stop earlier"
"""


@pytest.fixture
def rules_dir(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    for name, text in (("reach", REACH), ("thr", THRESHOLD), ("trend", TREND)):
        (folder / f"{name}.toml").write_text(text)
    return folder


def check(path, rules_dir, *args):
    result = runner.invoke(
        app,
        [
            "check",
            str(path),
            "--rules",
            str(rules_dir),
            "--select",
            "CU",
            "--format",
            "json",
            *args,
        ],
    )
    return result, json.loads(result.output) if result.output.startswith("{") else None


def ids(data):
    return sorted(f["rule"] for f in data["runs"][0]["findings"])


def test_custom_columns_fire(tmp_path, rules_dir):
    n = 400
    df = frame(n, my_val_acc=np.linspace(0.1, 0.6, n), my_metric=np.linspace(1, 3, n))
    df.loc[250, "loss"] = 0.9
    result, data = check(write_csv(tmp_path / "a.csv", df), rules_dir)
    assert result.exit_code == 1
    assert ids(data) == ["CU001", "CU002", "CU003"]
    reach = next(f for f in data["runs"][0]["findings"] if f["rule"] == "CU001")
    assert reach["message"] == "my_val_acc reached only 0.349 by step 300 (target 0.9)" or reach[
        "observed"
    ] == pytest.approx(0.1 + 0.5 * 300 / 399, rel=1e-6)
    assert reach["limit"] == 0.9 and reach["step"] == 300


def test_custom_rules_quiet_on_a_good_run(tmp_path, rules_dir):
    n = 400
    df = frame(n, my_val_acc=np.linspace(0.8, 1.0, n), my_metric=np.linspace(3, 1, n))
    result, data = check(write_csv(tmp_path / "a.csv", df), rules_dir)
    assert result.exit_code == 0 and ids(data) == []


def test_params_of_custom_rules_can_be_set(tmp_path, rules_dir):
    n = 400
    df = frame(n, my_val_acc=np.linspace(0.1, 0.6, n), my_metric=np.linspace(3, 1, n))
    path = write_csv(tmp_path / "a.csv", df)
    _, data = check(path, rules_dir, "--set", "CU001.target=0.3")
    assert "CU001" not in ids(data)
    result, _ = check(path, rules_dir, "--set", "CU002.op=sideways")
    assert result.exit_code == 2 and "not one of below, above" in result.output


def test_missing_custom_column_is_a_skip(tmp_path, rules_dir):
    result = runner.invoke(
        app,
        [
            "check",
            str(write_csv(tmp_path / "a.csv", frame())),
            "--rules",
            str(rules_dir),
            "--select",
            "CU001",
            "--format",
            "json",
        ],
    )
    data = json.loads(result.stdout)
    assert result.exit_code == 2  # the only selected rule could not run
    assert data["runs"][0]["skipped"] == [
        {"rule": "CU001", "name": "val-accuracy-too-slow", "reason": "needs my_val_acc"}
    ]


def test_non_finite_signal(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "x.toml").write_text(
        REACH.replace('"reach_by"', '"non_finite_signal"')
        .split("[params")[0]
        .replace("CU001", "CU010")
        .replace(
            "reached only {best} by step {by_step} (target {target})",
            "became {value} at step {step} ({count} values)",
        )
    )
    acc = np.linspace(0.1, 0.9, 400)
    acc[123] = np.inf
    result, data = check(write_csv(tmp_path / "a.csv", frame(my_val_acc=acc)), folder)
    assert result.exit_code == 1
    assert data["runs"][0]["findings"][0]["step"] == 123


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda t: t.replace('"reach_by"', '"no_such"'), "unknown detector 'no_such'"),
        (lambda t: t.replace("[params.target]", "[params.targett]"), "no parameter 'targett'"),
        (lambda t: t.replace('default = "above"', 'default = "up"'), "is not one of below, above"),
        (lambda t: t.replace('signal = "my_val_acc"\n', ""), "needs `signal"),
        (lambda t: t.replace('"CU001"', '"NF001"'), "clashes with NF001"),
        (
            lambda t: t.replace('"reach_by"', '"non_finite"').split("[params")[0],
            "does not watch a `signal`",
        ),
    ],
)
def test_bad_custom_rules_are_catalogue_errors(tmp_path, edit, needle):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "x.toml").write_text(edit(REACH))
    with pytest.raises(CatalogueError) as err:
        build_catalogue([folder])
    assert needle in str(err.value)
    result = runner.invoke(app, ["check", "x.csv", "--rules", str(folder)])
    assert result.exit_code == 2 and result.output.startswith("lrdoctor: error:")
