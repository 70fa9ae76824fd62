"""Configuration files: discovery, validation, and CLI over file over rule defaults."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lrdoctor.cli import app
from lrdoctor.config import color_wanted, find_config, load_settings
from lrdoctor.errors import ConfigError
from tests.logs import nan_run

runner = CliRunner()


def test_found_upwards_and_pyproject_needs_its_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.lrdoctor]\nfail-on = "warning"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (tmp_path / "a" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find_config(deep) == tmp_path / "pyproject.toml"
    assert load_settings(start=deep).fail_on == "warning"
    (deep / "lrdoctor.toml").write_text('fail-on = "info"\n')
    assert load_settings(start=deep).fail_on == "info"


def test_lrdoctor_toml_accepts_tool_table_too(tmp_path):
    (tmp_path / "lrdoctor.toml").write_text('[tool.lrdoctor]\nignore = ["NF"]\n')
    assert load_settings(tmp_path / "lrdoctor.toml").ignore == ("NF",)


@pytest.mark.parametrize(
    "text, needle",
    [
        ('selekt = ["NF"]', "unknown key 'selekt' — did you mean 'select'? (valid keys: select"),
        ('select = "NF"\nfail-on = 3', "fail-on: 3 is not one of"),
        ("ignore = [1]", "ignore: expected a list of strings"),
        ('[columns]\nlos = "x"', "unknown signal 'los'"),
        ('optimizer = "adamm"', "unknown optimizer 'adamm'"),
        ('rules-dirs = ["../elsewhere"]', "leads outside"),
        ("rules = 3", "expected tables like"),
        ("select = [", "not a valid TOML file"),
    ],
)
def test_invalid_config_names_the_key(tmp_path, text, needle):
    (tmp_path / "lrdoctor.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "lrdoctor.toml")
    assert needle in str(err.value)


def test_bad_rule_table_exits_2_listing_valid(tmp_path):
    cfg = tmp_path / "lrdoctor.toml"
    cfg.write_text("[rules.NF001]\nwindoww = 0.2\n")
    result = runner.invoke(app, ["check", str(nan_run(tmp_path / "b.csv")), "--config", str(cfg)])
    assert result.exit_code == 2 and "valid: window" in result.output


def test_precedence_cli_over_file_over_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = nan_run(tmp_path / "b.csv")
    args = ["check", str(bad), "--format", "json"]
    # catalogue default: NF001 is an error -> exit 1
    assert runner.invoke(app, args).exit_code == 1
    # file lowers it to a warning -> passes at the default fail level
    (tmp_path / "lrdoctor.toml").write_text('[rules.NF001]\nseverity = "warning"\n')
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert json.loads(result.output)["runs"][0]["findings"][0]["severity"] == "warning"
    # the file's fail-on catches it again; the command line overrides both
    (tmp_path / "lrdoctor.toml").write_text(
        'fail-on = "warning"\n[rules.NF001]\nseverity = "warning"\n'
    )
    assert runner.invoke(app, args).exit_code == 1
    assert runner.invoke(app, [*args, "--fail-on", "error"]).exit_code == 0
    assert (
        runner.invoke(app, [*args, "--set", "NF001.severity=error", "--fail-on", "error"]).exit_code
        == 1
    )


def test_file_select_replaced_by_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lrdoctor.toml").write_text('ignore = ["NF001"]\n')
    bad = nan_run(tmp_path / "b.csv")
    assert "NF001" not in runner.invoke(app, ["check", str(bad), "-f", "json"]).output
    result = runner.invoke(app, ["check", str(bad), "-f", "json", "--extend-select", "NF001"])
    assert result.exit_code == 1


def test_colour_choice():
    assert color_wanted("auto", True, {}) is True
    assert color_wanted("auto", True, {"NO_COLOR": "1"}) is False
    assert color_wanted("auto", False, {"FORCE_COLOR": "1"}) is True
    assert color_wanted("never", True, {"FORCE_COLOR": "1"}) is False


CUSTOM = """
id = "CU010"
name = "loss-above"
category = "other"
severity = "error"
detector = "threshold"
signal = "loss"
summary = "The loss must stay below a value."
message = "{signal} was {value} at step {worst_step}"
recommendation = "look at the data"

[params.value]
default = 10.0
"""


def test_parameter_precedence_and_rules_dirs_relative_to_the_file(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "ci" / "rules").mkdir(parents=True)
    (project / "ci" / "rules" / "cu.toml").write_text(CUSTOM)
    (project / "pyproject.toml").write_text('[tool.lrdoctor]\nrules-dirs = ["ci/rules"]\n')
    log = nan_run(tmp_path / "b.csv", nan_at=399)
    monkeypatch.chdir(project)
    args = ["check", str(log), "--select", "CU010", "-f", "json"]

    def fired(*extra):
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code in (0, 1), result.output
        return [f["rule"] for f in json.loads(result.output)["runs"][0]["findings"]]

    assert fired() == []  # rule default: the loss (< 1.2) stays below 10
    (project / "pyproject.toml").write_text(
        '[tool.lrdoctor]\nrules-dirs = ["ci/rules"]\n[tool.lrdoctor.rules.CU010]\nvalue = 0.5\n'
    )
    assert fired() == ["CU010"]  # the file lowers the limit
    assert fired("--set", "CU010.value=10") == []  # the command line wins over the file
    assert fired("--set", "CU010.value=0.5", "--set", "CU010.value=20") == []  # last --set wins


def test_explicit_config_must_exist_and_pyproject_needs_table(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "missing.toml")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"no \[tool.lrdoctor\] table"):
        load_settings(tmp_path / "pyproject.toml")


def test_columns_table_accepts_every_signal(tmp_path):
    cfg = tmp_path / "lrdoctor.toml"
    cfg.write_text('[columns]\nval_accuracy = "acc_v"\nweight_norm = "wn"\nloss = "obj"\n')
    assert load_settings(cfg).columns == {
        "val_accuracy": "acc_v",
        "weight_norm": "wn",
        "loss": "obj",
    }
